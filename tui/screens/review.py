"""The review of one plan: batches and steps on the left, the step's diff in the middle, its
details on the right. Every decision is saved as it is made (`.wopt/reviews/`) and can be
undone; analysis and diffs run in thread workers so the screen never waits on them."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Input, Static

from wopt.engine import spool
from wopt.engine.analysis.model import ReviewModel
from wopt.engine.errors import WoptError
from wopt.engine.review import APPROVED, PENDING, REJECTED, Review

from .. import keymap
from ..widgets.key_bar import KeyBar
from ..messages import ReviewChanged
from ..widgets.details import Details, describe_step
from ..widgets.diff_view import DiffView, prepare
from ..widgets.step_list import StepList, StepRow


@dataclass
class Undo:
    """What one action changed, to put it back."""

    label: str
    steps: dict[str, tuple] = field(default_factory=dict)   # sid -> (decision, reason, hunks, edited)
    order: list[str] | None = None


class ConfirmScreen(ModalScreen[str | None]):
    """A question with a few one-key answers: dismisses with the answer's key, or None."""

    BINDINGS = [Binding("escape", "answer(None)", "Cancel")]

    def __init__(self, question: str, answers: list[tuple[str, str]]) -> None:
        super().__init__()
        self.question = question
        self.answers = answers
        for key, _ in answers:
            self._bindings.bind(key, f"answer('{key}')", show=False)

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box"):
            yield Static(self.question, id="confirm-question")
            t = Text()
            for k, label in self.answers + [("esc", "cancel")]:
                t.append(f"{k:>3}", style="bold")
                t.append(f"  {label}\n")
            yield Static(t, id="confirm-answers")

    def action_answer(self, key: str | None) -> None:
        self.dismiss(key)


class ReasonScreen(ModalScreen[str | None]):
    """Why a step is rejected: saved with the decision, and told to the agent (a gate-mode
    hook call answers with it)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box"):
            yield Static(f"Reject {self.path}: why? (the agent is told)", id="confirm-question")
            yield Input(placeholder="e.g. needs a test first", id="reason")
            yield Static(Text("enter rejects · esc cancels", style="dim"))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        self.dismiss(None)


class ReviewScreen(Screen):
    BINDINGS = keymap.bindings("review")

    def __init__(self, ws, plan, review: Review | None = None, *, model: ReviewModel | None = None) -> None:
        super().__init__()
        self.ws = ws
        self.plan = plan
        self.review = review if review is not None else Review(plan_id=plan.id)
        self.model: ReviewModel | None = model
        self.undo_stack: list[Undo] = []
        self._shown: str | None = None
        self._diff_for: str | None = None
        self._split = False
        self._details_wanted: bool | None = None   # None: by the terminal's width
        self._outliers: dict[str, str] = {}
        self._ids: set[str] = set()
        self._gone = False
        self._seen = False
        self.start_at: str | None = None   # the step to show first (the one an agent waits on)
        self._elsewhere = None             # the analysis process running for this screen, if any
        self._elsewhere_lock = threading.Lock()
        self._closed = False

    # ------------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        yield Static("", id="plan-bar")
        with Horizontal(id="panes"):
            with Vertical(id="left"):
                yield StepList(id="steps")
            yield DiffView(id="diff")
            yield Details(id="details")
        yield KeyBar(("review", "app"))

    def on_mount(self) -> None:
        self.query_one(DiffView).set_message("analysing the plan…")
        self._update_bar()
        if self.model is not None:
            self._set_model(self.model)
        else:
            # after the first frame: the analysis is Python work that shares the GIL
            self.call_after_refresh(self.analyze)
        self.query_one(StepList).focus()
        self._layout()
        self.set_interval(self.WATCH_SECONDS, self.watch_plan)

    WATCH_SECONDS = 1.0

    @work(thread=True, exclusive=True, group="watch-plan", exit_on_error=False)
    def watch_plan(self) -> None:
        """Pick up a plan that grew (hook calls extend a session's plan) or shrank (a gate
        call answered and left), without blocking the screen."""
        from wopt.engine.errors import NotFound
        from wopt.engine.plan import encode_plan
        try:
            plan = spool.load_plan(self.ws, self.plan.id)
        except NotFound:
            if self._seen and not self._gone:     # it was in the spool, and now it is not
                self._gone = True
                self.app.call_from_thread(self.notify, "this plan has left the queue (applied, answered "
                                          "or removed); what you see is how it was", timeout=6)
            return
        except WoptError:
            return
        self._gone = False
        self._seen = True
        if encode_plan(plan) != encode_plan(self.plan):
            self.app.call_from_thread(self._plan_changed, plan)

    def _plan_changed(self, plan) -> None:
        added = len({s.id for s in plan.steps} - {s.id for s in self.plan.steps})
        gone = len({s.id for s in self.plan.steps} - {s.id for s in plan.steps})
        self.plan = plan
        try:
            fresh = spool.load_review(self.ws, plan.id)
            for attr in ("decisions", "reasons", "hunks", "edited"):
                setattr(self.review, attr, getattr(fresh, attr))
        except WoptError:
            pass
        parts = [f"{added} new step{'s' if added != 1 else ''}" if added else "",
                 f"{gone} step{'s' if gone != 1 else ''} left" if gone else ""]
        self.notify("the plan changed: " + (", ".join(p for p in parts if p) or "steps updated"), timeout=3)
        self.analyze(self.current)

    # ------------------------------------------------------------------ analysis
    ELSEWHERE_STEPS = 500   # plans this large are analysed in another process

    @work(thread=True, exclusive=True, group="analyze", exit_on_error=False)
    def analyze(self, keep: str | None = None) -> None:
        from textual.worker import get_current_worker
        me = get_current_worker()
        try:
            from wopt.engine.analysis import analyze, cached, worker
            model = cached(self.ws, self.plan, self.review)   # a plan analysed before: at once
            if len(self.plan.steps) >= self.ELSEWHERE_STEPS:
                # a large plan: analysed (or, from the cache, its diffs computed) in another
                # process, so this one and its GIL answer keys; a newer analysis or closing
                # the screen kills it (see _stop_elsewhere)
                with self._elsewhere_lock:
                    if me.is_cancelled or self._closed:
                        return
                    if self._elsewhere is not None:
                        self._elsewhere.cancel()      # a superseded analysis
                    job = self._elsewhere = worker.start(self.ws, self.plan, self.review,
                                                         send_model=model is None)
                if model is None:
                    model = job.result()
                else:
                    model._diff = job.diff
            elif model is None:
                model = analyze(self.ws, self.plan, self.review)
        except WoptError as e:
            if not me.is_cancelled and not self._closed:
                self.app.call_from_thread(self._analysis_failed, str(e))
            return
        except Exception as e:  # a bug in the analysis must not take the app down
            if not me.is_cancelled and not self._closed:
                self.app.call_from_thread(self._analysis_failed, f"the analysis failed: {type(e).__name__}: {e}")
            return
        if model is None or me.is_cancelled or self._closed:
            return      # cancelled: a newer analysis (or none, the screen is gone) shows its model
        self.app.call_from_thread(self._set_model, model, keep)

    def _stop_elsewhere(self) -> None:
        """Kill the analysis process of a superseded run (its thread then returns at once)."""
        with self._elsewhere_lock:
            job, self._elsewhere = self._elsewhere, None
        if job is not None:
            job.cancel()

    def on_unmount(self) -> None:
        # closing the plan or quitting the app never waits for an analysis nobody will see
        self._closed = True
        self._stop_elsewhere()

    def _analysis_failed(self, message: str) -> None:
        self.query_one(DiffView).set_message(message)
        self.notify(message, title="Cannot analyse this plan", severity="error", timeout=10)

    def _set_model(self, model: ReviewModel, keep: str | None = None) -> None:
        self.model = model
        self._outliers = {o.step: f.id for f in model.families for o in f.outliers}
        self._diff_for = None
        if keep is None and self._shown is None:
            keep = self.start_at if self.start_at in model.steps else \
                next((s for s in self._order() if self.review.decision(s) == PENDING), None)
        self._rebuild(keep=keep)
        if self._shown is not None:
            self._show_step(self._shown, force=True)

    def select_step(self, sid: str) -> None:
        """Show `sid` (once the model is there)."""
        if self.model is None:
            self.start_at = sid
        elif sid in self.model.steps:
            self.query_one(StepList).select(sid)

    def _order(self) -> list[str]:
        assert self.model is not None
        known = self.model.steps
        if self.review.order:
            order = [s for s in self.review.order if s in known]
            order += [s for s in self.model.order if s not in set(order)]
            return order
        return list(self.model.order)

    def _row(self, sid: str) -> StepRow:
        info = self.model.steps[sid]
        if info.stale:
            st = "stale"
        elif info.error or (info.findings and info.status == "invalid"):
            st = "invalid"
        elif sid in self.review.edited:
            st = "edited"
        elif sid in self.review.hunks:
            # every hunk off writes nothing: not "some hunks off"
            st = "partial" if self.review.hunks[sid] else "nohunks"
        else:
            st = "ok"
        path = info.path
        label = path
        b = info.batch
        if b != "." and b and label.startswith(b) and label[len(b):len(b) + 1] == "/":
            label = label[len(b) + 1:]          # the batch header shows the directory
        if info.to:
            label += f" -> {info.to}"
        fam = info.family
        if fam is None and sid in self._outliers:
            fam = "~" + self._outliers[sid]
        return StepRow(sid, b, info.kind, label, self.review.decisions.get(sid, PENDING), st, fam, path)

    def family_of(self, sid: str) -> str | None:
        """The family a step belongs to, or is an outlier of."""
        info = self.model.steps.get(sid) if self.model else None
        if info is None:
            return None
        return info.family or self._outliers.get(sid)

    def _rebuild(self, keep: str | None = None) -> None:
        if self.model is None:
            return
        order = self._order()
        pos = {s: i for i, s in enumerate(order)}
        batches = []
        far = 1 << 30
        for b in sorted(self.model.batches, key=lambda b: min((pos.get(s, far) for s in b.steps), default=0)):
            batches.append((b.dir, sorted((s for s in b.steps if s in pos), key=pos.__getitem__)))
        dec = self.review.decisions
        self.query_one(StepList).set_rows(batches, self._row, keep=keep,
                                          decision_of=lambda sid: dec.get(sid, PENDING))
        self._update_bar()

    def _update_bar(self) -> None:
        p = self.plan
        n = len(p.steps)
        ids = self._ids if len(self._ids) == n else {s.id for s in p.steps}
        self._ids = ids
        a = r = 0
        for k, v in self.review.decisions.items():
            if k in ids:
                if v == APPROVED:
                    a += 1
                elif v == REJECTED:
                    r += 1
        t = Text()
        t.append(f" {p.title or p.id}", style="bold")
        t.append(f"  ·  {n} step{'s' if n != 1 else ''}: ")
        t.append(f"✓ {a} approved", style="bold")
        t.append(f" · ✗ {r} rejected · {n - a - r} pending")
        from .queue import source_name
        t.append(f"  ·  {source_name(p)}", style="dim")
        if self.model is None:
            t.append("  ·  analysing…", style="italic")
        self.query_one("#plan-bar", Static).update(t)

    # ------------------------------------------------------------------ showing a step
    @on(StepList.Selected)
    def _selected(self, event: StepList.Selected) -> None:
        if event.step is not None:
            self._show_step(event.step)

    def _show_step(self, sid: str, force: bool = False) -> None:
        if self.model is None or sid not in self.model.steps:
            return
        self._shown = sid
        self._show_details(sid)
        if force or self._diff_for != sid:
            self._diff_for = sid
            self.load_diff(sid)

    def _show_details(self, sid: str) -> None:
        info = self.model.steps[sid]
        n_hunks = None
        d = self.model._diff_cache.get(sid)
        if d is not None:
            n_hunks = len(d.hunks)
        self.query_one(Details).show(describe_step(
            self.model, info, self.review.decision(sid), reason=self.review.reasons.get(sid),
            edited=sid in self.review.edited, hunks=self.review.hunks.get(sid), n_hunks=n_hunks,
            position=self._order().index(sid) if sid in self.model.steps else None))

    @work(thread=True, exclusive=True, group="diff", exit_on_error=False)
    def load_diff(self, sid: str) -> None:
        model = self.model
        try:
            d = model.diff(sid)
            info = model.steps.get(sid)
            why = info and (info.stale or info.error)
            if why and not d.hunks and not d.binary and not (d.created or d.deleted):
                kind = "is stale" if info.stale else "cannot apply"
                prepared = prepare(None, f"no diff to show: this step {kind} (the details say why)")
            else:
                prepared = prepare(d)
        except WoptError as e:
            prepared = prepare(None, str(e))
        except Exception as e:
            prepared = prepare(None, f"cannot show this diff: {type(e).__name__}: {e}")
        self.app.call_from_thread(self._diff_ready, sid, prepared)

    def _diff_ready(self, sid: str, prepared) -> None:
        if sid != self._shown:
            return
        view = self.query_one(DiffView)
        view.set_prepared(prepared, hunks_off=self._hunks_off(sid))
        self._show_details(sid)

    def _hunks_off(self, sid: str) -> set[int]:
        acc = self.review.hunks.get(sid)
        if acc is None or self.model is None:
            return set()
        d = self.model._diff_cache.get(sid)
        if d is None:
            return set()
        return {h.index for h in d.hunks} - set(acc)

    @property
    def current(self) -> str | None:
        return self.query_one(StepList).current_step

    # ------------------------------------------------------------------ decisions
    def _snapshot(self, sids) -> dict[str, tuple]:
        rv = self.review
        return {s: (rv.decisions.get(s), rv.reasons.get(s),
                    list(rv.hunks[s]) if s in rv.hunks else None, rv.edited.get(s)) for s in sids}

    def _save(self, sids=(), *, order: bool = False) -> bool:
        """Save the changes to `sids` (and the order) as one locked read-modify-write, so
        decisions made meanwhile elsewhere (`wopt approve`, another window) are kept; a
        gate-mode hook call waiting on one of these steps sees the file change at once."""
        mine = self.review
        try:
            with spool.review_lock(self.ws, self.plan.id):
                disk = spool.load_review(self.ws, self.plan.id)
                for s in sids:
                    for attr in ("decisions", "reasons", "hunks", "edited"):
                        src, dst = getattr(mine, attr), getattr(disk, attr)
                        if s in src:
                            dst[s] = src[s]
                        else:
                            dst.pop(s, None)
                if order:
                    disk.order = list(mine.order)
                spool.save_review(self.ws, disk)
        except (WoptError, OSError) as e:
            self.notify(f"the review could not be saved: {e}", severity="error", timeout=10)
            return False
        self.review = disk
        self.app.post_message(ReviewChanged(self.plan.id))
        return True

    def decide(self, sids: list[str], decision: str, *, label: str, reason: str | None = None,
               reasons: dict[str, str] | None = None) -> None:
        sids = [s for s in sids if s]
        if not sids:
            return
        self.undo_stack.append(Undo(label, self._snapshot(sids)))
        for s in sids:
            self.review.set(s, decision, (reasons or {}).get(s, reason))
        self._after_change(sids)

    def _after_change(self, sids, *, order: bool = False) -> None:
        self._save(sids, order=order)
        if self.model is not None:
            self._rebuild(keep=self.current)
        self._update_bar()
        if self._shown:
            self._show_details(self._shown)
            self.query_one(DiffView).set_hunks_off(self._hunks_off(self._shown))

    def dependents(self, sid: str) -> list[str]:
        """Every step that needs `sid`, directly or through others, in commit order."""
        if self.model is None:
            return []
        seen: set[str] = set()
        todo = [sid]
        while todo:
            cur = todo.pop()
            info = self.model.steps.get(cur)
            for e in info.needed_by if info else ():
                if e.after not in seen and e.after != sid:
                    seen.add(e.after)
                    todo.append(e.after)
        return [s for s in self._order() if s in seen]

    def action_approve(self) -> None:
        s = self.current
        if s:
            info = self.model.steps.get(s) if self.model is not None else None
            if info is not None and info.stale:
                self.notify(f"{info.path} changed since the agent read it: the apply will refuse "
                            "this step until the agent proposes it again on the current file",
                            title="Approved a stale step", severity="warning", timeout=8)
            self.decide([s], APPROVED, label="approve")
            self.query_one(StepList).move(1)

    def action_reject(self) -> None:
        s = self.current
        if s:
            self._reject(s)

    def _reject(self, s: str, reason: str | None = None) -> None:
        """Reject `s`; when other steps need it, ask whether to reject them too (whatever key
        rejected it: r or ctrl+r)."""
        deps = [d for d in self.dependents(s) if self.review.decision(d) != REJECTED]
        if not deps:
            self.decide([s], REJECTED, label="reject", reason=reason)
            self.query_one(StepList).move(1)
            return
        paths = [self.model.steps[d].path for d in deps]
        shown = "\n".join(f"  · {p}" for p in paths[:8]) + (f"\n  … and {len(paths) - 8} more" if len(paths) > 8 else "")
        q = (f"{self.model.steps[s].path} is needed by {len(deps)} other step{'s' if len(deps) != 1 else ''}:\n"
             f"{shown}\n\nReject them too?")

        def answered(ans: str | None) -> None:
            if ans == "y":
                why = {d: f"needs {self.model.steps[s].path}, which was rejected" for d in deps}
                if reason:
                    why[s] = reason
                self.decide([s] + deps, REJECTED, label="reject with dependents", reasons=why)
            elif ans == "n":
                self.decide([s], REJECTED, label="reject", reason=reason)
            else:
                return
            self.query_one(StepList).move(1)

        self.app.push_screen(ConfirmScreen(q, [("y", f"reject all {len(deps) + 1}"),
                                               ("n", "reject only this step")]), answered)

    def action_reject_with_reason(self) -> None:
        s = self.current
        if not s or self.model is None:
            return

        def done(reason: str | None) -> None:
            if reason is None:
                return
            self._reject(s, reason or None)

        self.app.push_screen(ReasonScreen(self.model.steps[s].path), done)

    def action_pending(self) -> None:
        s = self.current
        if s:
            self.decide([s], PENDING, label="reset")

    def _batch_steps(self) -> list[str]:
        s = self.current
        if not s or self.model is None:
            return []
        b = self.model.steps[s].batch
        return [x for x in self._order() if self.model.steps[x].batch == b]

    def action_approve_batch(self) -> None:
        self.decide(self._batch_steps(), APPROVED, label="approve batch")

    def action_reject_batch(self) -> None:
        self.decide(self._batch_steps(), REJECTED, label="reject batch")

    def action_approve_all(self) -> None:
        if self.model is not None:
            self.decide(self._order(), APPROVED, label="approve all")

    def action_reject_all(self) -> None:
        if self.model is not None:
            self.decide(self._order(), REJECTED, label="reject all")

    def approve_family(self, family_id: str) -> None:
        fam = next((f for f in self.model.families if f.id == family_id), None) if self.model else None
        if fam is not None:
            self.decide([m.step for m in fam.members], APPROVED, label="approve family")

    def action_toggle_hunk(self) -> None:
        s = self._shown
        if not s or self.model is None:
            return
        d = self.model._diff_cache.get(s)
        if d is None or not d.hunks:
            self.notify("this step has no hunks to turn on or off", severity="warning")
            return
        h = self.query_one(DiffView).current_hunk()
        if h is None:
            return
        every = [x.index for x in d.hunks]
        acc = list(self.review.hunks.get(s, every))
        self.undo_stack.append(Undo("hunk", self._snapshot([s])))
        if h in acc:
            acc.remove(h)
        else:
            acc.append(h)
        acc.sort()
        if acc == every:
            self.review.hunks.pop(s, None)
        else:
            self.review.hunks[s] = acc
        self._after_change([s])
        self.notify(f"hunk {h + 1} of {len(every)} {'on' if h in acc else 'off'}: "
                    f"{len(acc)} of {len(every)} hunks accepted", timeout=3)

    def action_undo(self) -> None:
        if not self.undo_stack:
            self.notify("nothing to undo", timeout=2)
            return
        u = self.undo_stack.pop()
        rv = self.review
        for s, (dec, reason, hunks, edited) in u.steps.items():
            if dec is None:
                rv.decisions.pop(s, None)
            else:
                rv.decisions[s] = dec
            if reason is None:
                rv.reasons.pop(s, None)
            else:
                rv.reasons[s] = reason
            if hunks is None:
                rv.hunks.pop(s, None)
            else:
                rv.hunks[s] = hunks
            if edited is None:
                rv.edited.pop(s, None)
            else:
                rv.edited[s] = edited
        if u.order is not None:
            rv.order = u.order
        reanalyze = u.order is not None or any(v[3] != rv.edited.get(s) for s, v in u.steps.items()) \
            or u.label in ("edit",)
        self._after_change(list(u.steps), order=u.order is not None)
        self.notify(f"undone: {u.label}", timeout=2)
        if reanalyze:
            self.analyze(self.current)

    # ------------------------------------------------------------------ reorder
    def action_move_step(self, delta: int) -> None:
        s = self.current
        if not s or self.model is None:
            return
        order = self._order()
        batch = self.model.steps[s].batch
        i = order.index(s)
        j = i + delta
        while 0 <= j < len(order) and self.model.steps[order[j]].batch != batch:
            j += delta
        if not 0 <= j < len(order):
            self.notify("the step is already at the edge of its batch", timeout=2)
            return
        other = order[j]
        new = list(order)
        new.pop(i)
        new.insert(new.index(other) + (1 if delta > 0 else 0), s)
        problem = self._order_problem(new)
        if problem:
            self.notify(problem, title="Order not changed", severity="warning", timeout=6)
            return
        self.undo_stack.append(Undo("reorder", {}, order=list(self.review.order)))
        self.review.order = new
        self._save(order=True)
        self._rebuild(keep=s)
        self._show_details(s)

    def _order_problem(self, order: list[str]) -> str | None:
        """Why `order` breaks a dependency (the engine's check names the edges), or None."""
        from wopt.engine.analysis.ordering import check_order
        warnings = check_order(self.model, order)
        return "; ".join(warnings[:3]) if warnings else None

    # ------------------------------------------------------------------ moving around
    def _focused_diff(self) -> bool:
        return isinstance(self.focused, DiffView)

    def action_cursor(self, delta: int) -> None:
        if self._focused_diff():
            self.query_one(DiffView).scroll_to(y=self.query_one(DiffView).scroll_y + delta, animate=False)
        else:
            self.query_one(StepList).move(delta)

    def action_cursor_to(self, index: int) -> None:
        if self._focused_diff():
            v = self.query_one(DiffView)
            v.scroll_to(y=0 if index == 0 else v.max_scroll_y, animate=False)
        else:
            self.query_one(StepList).move_to(index)

    def action_page(self, direction: int) -> None:
        if isinstance(self.focused, StepList):
            sl = self.query_one(StepList)
            sl.move(direction * max(1, sl.size.height // 2))
        else:
            self.query_one(DiffView).page(direction)

    def action_change(self, direction: int) -> None:
        v = self.query_one(DiffView)
        if not v.next_change(direction):
            # past the last change of this file: go on to the next file's first change
            self.action_file(direction)

    def action_file(self, direction: int) -> None:
        self.query_one(StepList).move(direction)

    def action_pane(self, direction: int) -> None:
        panes = [self.query_one(StepList), self.query_one(DiffView), self.query_one(Details)]
        panes = [p for p in panes if p.display]
        cur = next((i for i, p in enumerate(panes) if p is self.focused or p.has_focus_within), 0)
        panes[(cur + direction) % len(panes)].focus()

    # below these widths the details pane steps aside (d brings it back) and split view
    # shows unified (s again once the terminal is wide enough)
    DETAILS_MIN_WIDTH = 120
    SPLIT_MIN_WIDTH = 100

    def _layout(self) -> None:
        width = self.size.width
        v = self.query_one(DiffView)
        split = self._split and width >= self.SPLIT_MIN_WIDTH
        if v.split != split:
            v.split = split
        if self._details_wanted is not None:
            show = self._details_wanted
        else:
            show = width >= self.DETAILS_MIN_WIDTH and not split
        d = self.query_one(Details)
        if d.display != show:
            d.display = show

    def on_resize(self, event) -> None:
        self._layout()

    def action_split(self) -> None:
        self._split = not self._split
        self._details_wanted = None   # side by side needs the width: details step aside
        if self._split and self.size.width < self.SPLIT_MIN_WIDTH:
            self.notify(f"split view needs {self.SPLIT_MIN_WIDTH} columns (this terminal has "
                        f"{self.size.width}): showing the unified diff until it is wider",
                        severity="warning")
        self._layout()

    def action_toggle_details(self) -> None:
        d = self.query_one(Details)
        self._details_wanted = not d.display
        self._layout()

    def _filter_input(self) -> Input | None:
        found = self.query("#filter")
        return found.first(Input) if found else None

    def action_filter(self) -> None:
        f = self._filter_input()
        if f is None:      # mounted on first use: one widget less on the first paint
            f = Input(placeholder="filter: path, kind, status…", id="filter")
            self.query_one("#left").mount(f, before=0)
        f.display = True
        f.focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        sl = self.query_one(StepList)
        sl.filter_text = event.value.strip()
        self._rebuild(keep=self.current)

    @on(Input.Submitted, "#filter")
    def _filter_done(self, event: Input.Submitted) -> None:
        self.query_one(StepList).focus()
        if not event.value.strip():
            event.input.display = False

    def action_back(self) -> None:
        f = self._filter_input()
        if f is not None and f.has_focus:
            f.value = ""
            f.display = False
            self.query_one(StepList).focus()
            return
        self.dismiss()

    # ------------------------------------------------------------------ other screens
    def action_open_family(self) -> None:
        s = self.current
        if not s or self.model is None:
            return
        fam = self.family_of(s)
        if not fam:
            self.notify("this step is not part of a template family", timeout=2)
            return
        from .family import FamilyScreen

        def done(result) -> None:
            if not result:
                return
            what, arg = result
            if what == "approve":
                self.approve_family(arg)
            elif what == "open":
                self.query_one(StepList).select(arg)

        self.app.push_screen(FamilyScreen(self.model, fam), done)

    def _current_text(self, sid: str) -> str | None:
        if sid in self.review.edited:
            return self.review.edited[sid]
        from wopt.engine import effects
        order = self._order()
        upto = order[: order.index(sid) + 1]
        path = self.model.steps[sid].path
        upto = [s for s in upto if self.model.steps[s].path == path or s == sid]
        try:
            out = effects.compute(self.ws, self.plan, upto, check_preconditions=False)
        except WoptError as e:
            self.notify(str(e), severity="error")
            return None
        res = out.results.get(sid)
        if res is None or res.after is None:
            why = "; ".join(str(e) for e in out.errors) or "the step leaves no file to edit"
            self.notify(f"cannot edit: {why}", severity="warning")
            return None
        try:
            return res.after.decode("utf-8")
        except UnicodeDecodeError:
            self.notify("cannot edit a binary file", severity="warning")
            return None

    def _edited(self, sid: str, old: str, new: str | None) -> None:
        if new is None or new == old:
            return
        self.undo_stack.append(Undo("edit", self._snapshot([sid])))
        self.review.edited[sid] = new
        self.review.hunks.pop(sid, None)
        self._save([sid])
        self.notify("edited: re-validating and re-diffing", timeout=2)
        self.analyze(sid)

    def _edit_target(self) -> tuple[str, str] | None:
        """(step id, its current text) of the step to edit, or None (and say why)."""
        s = self.current
        if not s or self.model is None:
            return None
        if self.model.steps[s].kind in ("delete", "chmod", "move", "symlink"):
            self.notify(f"a {self.model.steps[s].kind} step has no content to edit", timeout=3)
            return None
        text = self._current_text(s)
        return None if text is None else (s, text)

    def action_edit(self) -> None:
        from .editor import EditorScreen
        target = self._edit_target()
        if target is None:
            return
        s, text = target
        self.app.push_screen(EditorScreen(self.model.steps[s].path, text, None),
                             lambda new: self._edited(s, text, new))

    def action_edit_external(self) -> None:
        from .editor import edit_external
        target = self._edit_target()
        if target is None:
            return
        s, text = target
        try:
            new = edit_external(self.app, self.model.steps[s].path, text)
        except WoptError as e:
            self.notify(str(e), severity="error")
            return
        self._edited(s, text, new)

    def _applied(self, result) -> None:
        """After an apply: the plan has left the pending queue (History keeps it, with undo);
        back to the queue, or on to the plan holding the steps this apply left pending."""
        self._gone = True
        self.undo_stack.clear()
        self.app.post_message(ReviewChanged(self.plan.id))
        pending = getattr(result, "pending_plan", None)
        files = getattr(result, "files", 0)
        msg = (f"Applied {files} file{'s' if files != 1 else ''} as transaction {result.tx}; "
               f"it is in History (h), where it can be undone.")
        if pending:
            msg += f" The steps it did not apply wait in plan {pending}."
        self.app.notify(msg, title="Applied", timeout=8)
        self.app.pop_screen()
        if pending:
            self.app.open_plan(pending)

    def action_apply(self) -> None:
        if self.model is None:
            return
        if not self.review.approved(self._order()):
            self.notify("approve at least one step first (a approves a step, ctrl+a all)", severity="warning")
            return
        from .apply import ApplyFlowScreen

        def done(result) -> None:
            if result is None:
                return
            if getattr(result, "outcome", None) == "committed" and getattr(result, "kind", "apply") == "apply":
                self._applied(result)
                return
            try:
                self.review = spool.load_review(self.ws, self.plan.id)
            except WoptError:
                pass
            self.undo_stack.clear()
            self.app.post_message(ReviewChanged(self.plan.id))
            self.analyze(self.current)

        self.app.push_screen(ApplyFlowScreen(self.ws, self.plan, self.review, model=self.model), done)
