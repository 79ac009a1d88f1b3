"""The review of one plan: batches and steps on the left, the step's diff in the middle, its
details on the right. Every decision is saved as it is made (`.wopt/reviews/`) and can be
undone; analysis and diffs run in thread workers so the screen never waits on them."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual import getters, on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Input, Static

from wopt.engine.store import decide as decisions, spool
from wopt.engine.analysis.model import ReviewModel
from wopt.engine.model.errors import WoptError
from wopt.engine.model.review import APPROVED, PENDING, REJECTED, Review, ReviewPatch

from .. import gcpolicy, keymap
from ..widgets.key_bar import KeyBar
from .dialogs import ConfirmScreen, ReasonScreen
from ..messages import ReviewChanged
from ..widgets.details import Details, describe_step
from ..widgets.diff_view import DiffView, prepare
from ..widgets.step_list import StepList, StepRow

if TYPE_CHECKING:
    from wopt.engine.analysis.missing import ImportCheck
    from wopt.engine.analysis.worker import Elsewhere

    from ..app import WoptApp


@dataclass
class Undo:
    """What one action changed, to put it back: the engine's inverse patch of the change."""

    label: str
    patch: ReviewPatch = field(default_factory=ReviewPatch)

    @property
    def steps(self) -> list[str]:
        return self.patch.step_ids

    @property
    def order(self) -> list[str] | None:
        return self.patch.order


class ReviewScreen(Screen):
    CSS_PATH = "review.tcss"
    step_list = getters.query_one(StepList)
    diff_view = getters.query_one(DiffView)
    details_pane = getters.query_one(Details)
    plan_bar = getters.query_one("#plan-bar", Static)
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
        self._plan_stamp: tuple[int, int, int] | None = None   # the plan file as last compared
        self.start_at: str | None = None   # the step to show first (the one an agent waits on)
        self._stale_base = False   # b: a stale step's proposal against the file the agent saw
        self._import_notes: dict[str, list[str]] = {}   # step -> "imports X, which you rejected"
        # step -> "imports X, which no file provides after the apply", and what it was found for
        self._missing_notes: dict[str, list[str]] = {}
        self._missing_key: tuple | None = None
        self._model_gen = 0     # counts the models shown: what the import check was run for
        self._import_check: tuple[tuple, ImportCheck] | None = None   # the engine's check, by what it ran
        self._elsewhere: Elsewhere | None = None   # the analysis process running for this screen, if any
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
        self.diff_view.set_message("analysing the plan…")
        self._update_bar()
        if self.model is not None:
            self._set_model(self.model)
        else:
            # after the first frame: the analysis is Python work that shares the GIL
            self.call_after_refresh(self.analyze)
        self.step_list.focus()
        self._layout()
        self.set_interval(self.WATCH_SECONDS, self.watch_plan)

    WATCH_SECONDS = 1.0

    @work(thread=True, exclusive=True, group="watch-plan", exit_on_error=False)
    def watch_plan(self) -> None:
        """Pick up a plan that grew (hook calls extend a session's plan) or shrank (a gate
        call answered and left), without blocking the screen."""
        from wopt.engine.model.errors import NotFound
        from wopt.engine.model.plan import encode_plan
        try:
            stamp = spool.plan_stamp(self.ws, self.plan.id)
        except WoptError:
            return
        if stamp is not None and stamp == self._plan_stamp:
            return      # unchanged: no decoding (a 10,000-step plan would hold the GIL each second)
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
        self._plan_stamp = stamp
        if encode_plan(plan) != encode_plan(self.plan):
            self.app.call_from_thread(self._plan_changed, plan)

    def _plan_changed(self, plan) -> None:
        added = len({s.id for s in plan.steps} - {s.id for s in self.plan.steps})
        gone = len({s.id for s in self.plan.steps} - {s.id for s in plan.steps})
        self.plan = plan
        try:
            fresh = spool.load_review(self.ws, plan.id)
            for attr in ("decisions", "reasons", "hunks", "edited", "lines_off", "rebased", "edited_raw"):
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
        gcpolicy.release()

    def _analysis_failed(self, message: str) -> None:
        gcpolicy.settle()
        self.diff_view.set_message(message)
        self.notify(message, title="Cannot analyse this plan", severity="error", timeout=10)

    def _set_model(self, model: ReviewModel, keep: str | None = None) -> None:
        self.model = model
        self._model_gen += 1
        self._outliers = {o.step: f.id for f in model.families for o in f.outliers}
        self._diff_for = None
        if keep is None and self._shown is None:
            keep = self.start_at if self.start_at in model.steps else \
                next((s for s in self._order() if self.review.decision(s) == PENDING), None)
        self._rebuild(keep=keep)
        if self._shown is not None:
            self._show_step(self._shown, force=True)
        self.app.call_after_refresh(gcpolicy.settle)     # the model lives as long as the screen

    def select_step(self, sid: str) -> None:
        """Show `sid` (once the model is there)."""
        if self.model is None:
            self.start_at = sid
        elif sid in self.model.steps:
            self.step_list.select(sid)

    def _order(self) -> list[str]:
        assert self.model is not None
        known = self.model.steps
        if self.review.order:
            order = [s for s in self.review.order if s in known]
            order += [s for s in self.model.order if s not in set(order)]
            return order
        return list(self.model.order)

    def _row(self, sid: str) -> StepRow:
        assert self.model is not None
        info = self.model.steps[sid]
        if info.stale:
            st = "stale"
        elif info.error or (info.findings and info.status == "invalid"):
            st = "invalid"
        elif sid in self.review.edited or sid in self.review.edited_raw:
            st = "edited"
        elif sid in self.review.hunks:
            # every hunk off writes nothing: not "some hunks off"
            st = "partial" if self.review.hunks[sid] else "nohunks"
        else:
            st = "ok"
        if (sid in self._import_notes or sid in self._missing_notes) and st not in ("stale", "invalid"):
            st = "import"
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
        self._note_imports()
        self.step_list.set_rows(batches, self._row, keep=keep,
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
        self.plan_bar.update(t)

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
        assert self.model is not None
        info = self.model.steps[sid]
        n_hunks = None
        d = self.model.cached_diff(sid)
        if d is not None:
            n_hunks = len(d.hunks)
        self.details_pane.show(describe_step(
            self.model, info, self.review.decision(sid), reason=self.review.reasons.get(sid),
            edited=sid in self.review.edited or sid in self.review.edited_raw, hunks=self.review.hunks.get(sid),
            n_hunks=n_hunks, position=self._order().index(sid) if sid in self.model.steps else None,
            imports=self._import_notes.get(sid), missing=self._missing_notes.get(sid),
            stale_base=self._stale_base,
            rebased=sid in self.review.rebased))

    @work(thread=True, exclusive=True, group="diff", exit_on_error=False)
    def load_diff(self, sid: str) -> None:
        model = self.model
        try:
            assert model is not None
            info = model.steps.get(sid)
            if info is not None and info.stale and info.kind in ("write", "edit", "patch", "render"):
                self._load_stale_diff(sid)
                return
            d = model.diff(sid)
            why = info and (info.stale or info.error)
            if info is not None and why and not d.hunks and not d.binary and not (d.created or d.deleted):
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
        view = self.diff_view
        view.set_prepared(prepared, hunks_off=self._hunks_off(sid))
        view.end_line_select()
        view.set_lines_off(self._lines_off(sid))
        self._show_details(sid)

    def _hunks_off(self, sid: str) -> set[int]:
        acc = self.review.hunks.get(sid)
        if acc is None or self.model is None:
            return set()
        d = self.model.cached_diff(sid)
        if d is None:
            return set()
        return {h.index for h in d.hunks} - set(acc)

    @property
    def current(self) -> str | None:
        return self.step_list.current_step

    # ------------------------------------------------------------------ decisions
    def _snapshot(self, sids, *, order: bool = False) -> ReviewPatch:
        """The patch that puts these steps (and the order) back as the screen has them now."""
        return ReviewPatch.snapshot(self.review, list(sids), order=order)

    def _change(self, patch: ReviewPatch, label: str | None = None) -> bool:
        """Apply `patch` to the saved review through the engine (one locked read-modify-write,
        so decisions made meanwhile elsewhere, by `wopt approve` or another window, are kept;
        a gate-mode hook call waiting on one of these steps sees the file change at once).
        With a label, its inverse goes on the undo stack."""
        try:
            self.review, undo = decisions.update(self.ws, self.plan.id, patch)
        except (WoptError, OSError) as e:
            self.notify(f"the review could not be saved: {e}", severity="error", timeout=10)
            return False
        if label is not None:
            self.undo_stack.append(Undo(label, undo))
        self.app.post_message(ReviewChanged(self.plan.id))
        return True

    def _save(self, sids=(), *, order: bool = False) -> bool:
        """Save what the screen's review has for `sids` (and the order) to the saved review."""
        return self._change(self._snapshot(sids, order=order))

    def decide(self, sids: list[str], decision: str, *, label: str, reason: str | None = None,
               reasons: dict[str, str] | None = None) -> None:
        sids = [s for s in sids if s]
        if not sids:
            return
        why = {s: r for s in sids if (r := (reasons or {}).get(s, reason))}
        # asked before the save: a live hook answered by it takes its marker away at once
        gone = self._unattended(sids) if decision != PENDING else []
        self._change(ReviewPatch.decisions({s: decision for s in sids}, why), label)
        self._refresh(sids)
        if gone:
            self._tell_unattended(gone, decision)

    def _after_change(self, sids, *, order: bool = False) -> None:
        """Save what the screen's review has for `sids` (and the order), then show it."""
        self._save(sids, order=order)
        self._refresh(sids)

    def _refresh(self, sids=()) -> None:
        """Show the review as it is now: step marks, the plan bar, the details and hunks."""
        if self.model is not None:
            self._rebuild(keep=self.current)
        self._update_bar()
        if self._shown:
            self._show_details(self._shown)
            self.diff_view.set_hunks_off(self._hunks_off(self._shown))
            self.diff_view.set_lines_off(self._lines_off(self._shown))

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
                            "this step until it is rebased onto the file now (ctrl+b) or the agent "
                            "proposes it again",
                            title="Approved a stale step", severity="warning", timeout=8)
            self.decide([s], APPROVED, label="approve")
            self.step_list.move(1)

    def action_reject(self) -> None:
        s = self.current
        if s:
            self._reject(s)

    def _reject(self, s: str, reason: str | None = None) -> None:
        """Reject `s`; when other steps need it, ask whether to reject them too (whatever key
        rejected it: r or ctrl+r)."""
        assert self.model is not None
        deps = [d for d in self.dependents(s) if self.review.decision(d) != REJECTED]
        if not deps:
            self.decide([s], REJECTED, label="reject", reason=reason)
            self.step_list.move(1)
            return
        paths = [self.model.steps[d].path for d in deps]
        shown = "\n".join(f"  · {p}" for p in paths[:8]) + (f"\n  … and {len(paths) - 8} more" if len(paths) > 8 else "")
        q = (f"{self.model.steps[s].path} is needed by {len(deps)} other step{'s' if len(deps) != 1 else ''}:\n"
             f"{shown}\n\nReject them too?")
        model = self.model

        def answered(ans: str | None) -> None:
            if ans == "y":
                why = {d: f"needs {model.steps[s].path}, which was rejected" for d in deps}
                if reason:
                    why[s] = reason
                self.decide([s] + deps, REJECTED, label="reject with dependents", reasons=why)
            elif ans == "n":
                self.decide([s], REJECTED, label="reject", reason=reason)
            else:
                return
            self.step_list.move(1)

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
        """Every step of the batch under the cursor (a step's, or a folded header's)."""
        b = self.query_one(StepList).current_batch if self.model is not None else None
        if b is None or self.model is None:
            return []
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
        if self._unfold_here() or self._toggle_lines():
            return
        s = self._shown
        if not s or self.model is None:
            return
        d = self.model.cached_diff(s)
        if d is None or not d.hunks:
            self.notify("this step has no hunks to turn on or off", severity="warning")
            return
        h = self.diff_view.current_hunk()
        if h is None:
            return
        every = [x.index for x in d.hunks]
        acc = list(self.review.hunks.get(s, every))
        if h in acc:
            acc.remove(h)
        else:
            acc.append(h)
        acc.sort()
        self._change(ReviewPatch(steps={s: {"hunks": None if acc == every and s not in self.review.lines_off else acc}}), "hunk")
        self._refresh([s])
        self.notify(f"hunk {h + 1} of {len(every)} {'on' if h in acc else 'off'}: "
                    f"{len(acc)} of {len(every)} hunks accepted", timeout=3)

    def action_undo(self) -> None:
        if not self.undo_stack:
            self.notify("nothing to undo", timeout=2)
            return
        u = self.undo_stack.pop()
        reanalyze = u.order is not None or u.label in ("edit", "rebase") or any(
            "edited" in fields and fields["edited"] != self.review.edited.get(s)
            for s, fields in u.patch.steps.items())
        self._change(u.patch)
        self._refresh(u.steps)
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
        self._change(ReviewPatch(order=new), "reorder")
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
            self.diff_view.scroll_to(y=self.diff_view.scroll_y + delta, animate=False)
        else:
            self.step_list.move(delta)

    def action_cursor_to(self, index: int) -> None:
        if self._focused_diff():
            v = self.diff_view
            v.scroll_to(y=0 if index == 0 else v.max_scroll_y, animate=False)
        else:
            self.step_list.move_to(index)

    def action_page(self, direction: int) -> None:
        if isinstance(self.focused, StepList):
            sl = self.step_list
            sl.move(direction * max(1, sl.size.height // 2))
        else:
            self.diff_view.page(direction)

    def action_change(self, direction: int) -> None:
        v = self.diff_view
        if not v.next_change(direction):
            # past the last change of this file: go on to the next file's first change
            self.action_file(direction)

    def action_file(self, direction: int) -> None:
        self.step_list.move(direction)

    def action_pane(self, direction: int) -> None:
        panes = [self.step_list, self.diff_view, self.details_pane]
        panes = [p for p in panes if p.display]
        cur = next((i for i, p in enumerate(panes) if p is self.focused or p.has_focus_within), 0)
        panes[(cur + direction) % len(panes)].focus()

    # below these widths the details pane steps aside (d brings it back) and split view
    # shows unified (s again once the terminal is wide enough)
    DETAILS_MIN_WIDTH = 120
    SPLIT_MIN_WIDTH = 100

    def _layout(self) -> None:
        width = self.size.width
        v = self.diff_view
        split = self._split and width >= self.SPLIT_MIN_WIDTH
        if v.split != split:
            v.split = split
        if self._details_wanted is not None:
            show = self._details_wanted
        else:
            show = width >= self.DETAILS_MIN_WIDTH and not split
        d = self.details_pane
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
        d = self.details_pane
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
        sl = self.step_list
        sl.filter_text = event.value.strip()
        self._rebuild(keep=self.current)

    @on(Input.Submitted, "#filter")
    def _filter_done(self, event: Input.Submitted) -> None:
        self.step_list.focus()
        if not event.value.strip():
            event.input.display = False

    def action_back(self) -> None:
        if self._end_lines():
            return
        f = self._filter_input()
        if f is not None and f.has_focus:
            f.value = ""
            f.display = False
            self.step_list.focus()
            return
        self.dismiss()

    # ------------------------------------------------------------------ other screens
    def action_open_family(self) -> None:
        if self._unfold_here():
            return
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
                self.step_list.select(arg)

        self.app.push_screen(FamilyScreen(self.model, fam), done)

    def _current_text(self, sid: str) -> str | None:
        if sid in self.review.edited:
            return self.review.edited[sid]
        from wopt.engine.store import effects
        assert self.model is not None
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
        self._change(ReviewPatch(steps={sid: {"edited": new, "hunks": None, "lines_off": None}}), "edit")
        self.notify("edited: re-validating and re-diffing", timeout=2)
        self.analyze(sid)

    def _edit_target(self) -> tuple[str, str, str] | None:
        """(step id, its path, its current text) of the step to edit, or None (and say why)."""
        s = self.current
        if not s or self.model is None:
            return None
        step = self.model.steps[s]
        if step.kind in ("delete", "chmod", "move", "symlink"):
            self.notify(f"a {step.kind} step has no content to edit", timeout=3)
            return None
        text = self._current_text(s)
        return None if text is None else (s, step.path, text)

    def action_edit(self) -> None:
        from .editor import EditorScreen
        if (target := self._edit_target()) is not None:
            s, path, text = target
            self.app.push_screen(EditorScreen(path, text, None), lambda new: self._edited(s, text, new))

    def action_edit_external(self) -> None:
        from .editor import edit_external
        if (target := self._edit_target()) is None:
            return
        s, path, text = target
        try:
            new = edit_external(self.app, path, text)
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
            cast("WoptApp", self.app).open_plan(pending)

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

    # ------------------------------------------------------------------ folding batches
    def action_fold(self) -> None:
        """Fold or unfold the batch under the cursor (z; a click on its header)."""
        folded = self.query_one(StepList).toggle_fold()
        if folded is None:
            self.notify("no batch here to fold", timeout=2)

    def _unfold_here(self) -> bool:
        """Enter or space on a folded batch's header unfolds it."""
        sl = self.query_one(StepList)
        if sl.has_focus and sl.current_header is not None:
            sl.toggle_fold()
            return True
        return False

    # ------------------------------------------------------------------ lines of a hunk
    def _lines_off(self, sid: str) -> dict[int, set[int]]:
        if sid not in self.review.hunks:
            return {}
        return {h: set(v) for h, v in self.review.lines_off.get(sid, {}).items()}

    def action_select_lines(self) -> None:
        """Start selecting lines in the diff (v): j/k extend the range within its hunk, space
        turns the selected added/removed lines on or off, escape ends the selection."""
        view = self.query_one(DiffView)
        s = self._shown
        d = self.model.cached_diff(s) if (s and self.model is not None) else None
        if d is None or not d.hunks:
            self.notify("this step has no lines to select", severity="warning", timeout=3)
            return
        if view.split:
            self.notify("lines are selected in the unified view: s switches to it", severity="warning", timeout=4)
            return
        if not view.options.default or view.wrap:
            self.notify("lines are picked in the default diff view: 3 lines of context, whitespace "
                        "counted, no wrapping (i, { } and W change the view)", severity="warning", timeout=5)
            return
        if view.line_cursor is not None:
            view.end_line_select()
            return
        if view.start_line_select():
            view.focus()
            self.notify("selecting lines: j/k extend, space turns them on/off, esc ends", timeout=3)

    def _toggle_lines(self) -> bool:
        """Space with a line selection: the selected changes off (or on when they are all off
        already). False when no lines are selected."""
        view = self.query_one(DiffView)
        sel = view.selected_lines()
        s = self._shown
        if sel is None or not s or self.model is None:
            return False
        hunk, picked = sel
        view.end_line_select()
        d = self.model.cached_diff(s)
        if d is None or not picked:
            self.notify("no added or removed line selected (context lines always stay)", timeout=3)
            return True
        every = [x.index for x in d.hunks]
        cur = set(self.review.lines_off.get(s, {}).get(hunk, ()))
        acc = self.review.hunks.get(s, every)
        changed_idx = {k for k, ln in enumerate(d.hunks[hunk].lines) if ln.kind != " "}
        if hunk not in acc:          # a hunk that was off: it comes back with only these lines
            cur = changed_idx
        now_on = bool(set(picked) - cur)     # any of them on: all off; all off: all on
        new = (cur | set(picked)) if now_on else (cur - set(picked))
        if hunk not in acc:          # lines of a hunk that was off: the hunk comes back on
            self.review.hunks[s] = sorted(set(acc) | {hunk})
        self.review.set_lines_off(s, hunk, new, every)
        self._change(self._snapshot([s]), "lines")
        self._refresh([s])
        n = len(picked)
        changed = len(changed_idx)
        self.notify(f"{n} line{'s' if n != 1 else ''} {'off' if now_on else 'on'}: hunk {hunk + 1} writes "
                    f"{changed - len(new)} of its {changed} changed lines", timeout=3)
        return True

    def _end_lines(self) -> bool:
        view = self.query_one(DiffView)
        if view.line_cursor is None:
            return False
        view.end_line_select()
        return True

    # ------------------------------------------------------------------ gate calls nobody waits on
    def _unattended(self, sids: list[str]) -> list[str]:
        """The gate calls among `sids` whose hook stopped waiting (killed, interrupted, out
        of time)."""
        from wopt.engine.store import decide as D
        try:
            return D.unattended(self.ws, self.plan, sids)
        except (WoptError, OSError) as e:
            self.notify(f"cannot tell whether the agent still waits: {e}", severity="warning", timeout=6)
            return []

    def _tell_unattended(self, gone: list[str], decision: str) -> None:
        """A decision on a gate call nobody waits on reaches no agent: say so, and that it is
        recorded for the plan only."""
        paths = [self.model.steps[s].path if self.model and s in self.model.steps else s for s in gone]
        what = paths[0] if len(paths) == 1 else f"{len(paths)} calls ({paths[0]}, …)"
        verb = "approval" if decision == APPROVED else "rejection"
        self.notify(f"The agent stopped waiting on {what} (its hook call ended: interrupted or "
                    f"killed). Your {verb} is recorded for this plan only; the agent is not told"
                    + (". Apply the plan (x) to write it." if decision == APPROVED else "."),
                    title="Nobody is waiting on this call", severity="warning", timeout=12)

    # ------------------------------------------------------------------ consequences, stale steps
    def _note_imports(self) -> None:
        """Which steps import a module that only a rejected step creates (marked in the list,
        said in the details) — at once on the reject, not only when the apply blocks."""
        from wopt.engine.analysis.flags import on_disk, rejected_imports
        if self.model is None:
            self._import_notes = {}
            return
        dec = self.review.decisions
        self._import_notes = rejected_imports(self.model, lambda s: dec.get(s, PENDING), on_disk(self.ws))
        # the imports no file provides after the apply of the steps in play: found by the
        # engine in a thread (it runs the steps on a virtual tree), again whenever a decision,
        # a hunk or the analysis changes
        from wopt.engine.analysis.missing import ImportCheck
        content = (self._model_gen, repr(sorted(self.review.hunks.items())),
                   repr(sorted(self.review.lines_off.items())))
        key = (content, tuple(sorted(dec.items())))
        # (not on a plan analysed in another process: the check runs its steps again, here,
        # in the UI's interpreter, on each decision, and the keys must stay answered)
        if key != self._missing_key and len(self.plan.steps) < self.ELSEWHERE_STEPS:
            self._missing_key = key
            if self._import_check is None or self._import_check[0] != content:
                # the steps' results change with the analysis (edits) and the hunks only
                self._import_check = (content, ImportCheck(self.ws, self.plan, self.review))
            self._find_missing(key, self._import_check[1], dict(dec))

    @work(thread=True, exclusive=True, group="missing-imports", exit_on_error=False)
    def _find_missing(self, key: tuple, check: ImportCheck, dec: dict[str, str]) -> None:
        from textual.worker import get_current_worker
        me = get_current_worker()
        try:
            found = check.find(lambda s: dec.get(s, PENDING))
        except WoptError as e:
            if not me.is_cancelled and not self._closed:
                self.app.call_from_thread(self.notify, f"cannot check the plan's imports: {e}",
                                          severity="warning", timeout=6)
            return
        except Exception as e:  # a bug in the check must not take the app down: said, not hidden
            if not me.is_cancelled and not self._closed:
                self.app.call_from_thread(self.notify, f"the import check failed: {type(e).__name__}: {e}",
                                          severity="error", timeout=10)
            return
        if not me.is_cancelled and not self._closed:
            self.app.call_from_thread(self._missing_found, key, found)

    def _missing_found(self, key: tuple, found: dict[str, list[str]]) -> None:
        if key != self._missing_key or found == self._missing_notes:
            return      # a newer decision is being checked, or nothing changed
        self._missing_notes = found
        self.step_list.forget_rows()
        if self._shown:
            self._show_details(self._shown)

    def _load_stale_diff(self, sid: str) -> None:
        """(in the diff worker) A stale step: its proposal against the file now, or (b) against
        the file the agent saw."""
        from wopt.engine.analysis.rebase import stale_diff
        d, what = stale_diff(self.ws, self.plan, sid, self.review, against="base" if self._stale_base else "now")
        if d is None:
            prepared = prepare(None, f"{what}")
        elif not d.hunks and not d.binary and not (d.created or d.deleted) and not d.notes:
            prepared = prepare(None, f"no difference: {what}")
        else:
            prepared = prepare(d)
        self.app.call_from_thread(self._diff_ready, sid, prepared)

    def action_stale_base(self) -> None:
        s = self.current
        info = self.model.steps.get(s) if s and self.model is not None else None
        if s is None or info is None or not info.stale:
            self.notify("b compares a stale step (marked !) with the file the agent saw; this step is "
                        "not stale", timeout=3)
            return
        self._stale_base = not self._stale_base
        self.notify("showing the proposal against " + ("the file the agent saw" if self._stale_base
                                                       else "the file now"), timeout=2)
        self._show_step(s, force=True)

    def action_rebase(self) -> None:
        s = self.current
        info = self.model.steps.get(s) if s and self.model is not None else None
        if info is None:
            return
        if not info.stale:
            self.notify("ctrl+b rebases a stale step (marked !) onto the file now; this step is not stale",
                        timeout=3)
            return
        self._rebase_step(s)

    @work(thread=True, exclusive=True, group="rebase", exit_on_error=False)
    def _rebase_step(self, sid: str) -> None:
        from wopt.engine.analysis import rebase as R
        try:
            r = R.rebase(self.ws, self.plan, sid, self.review)
        except WoptError as e:
            self.app.call_from_thread(self._rebase_refused, e)
            return
        self.app.call_from_thread(self._rebased, r)

    def _rebase_refused(self, err: WoptError) -> None:
        from wopt.engine.analysis.rebase import RebaseConflict
        title = "Not rebased: conflicting lines" if isinstance(err, RebaseConflict) else "Not rebased"
        self.notify(str(err), title=title, severity="warning", timeout=12)

    def _rebased(self, r) -> None:
        try:
            self.review, undo = decisions.record_rebase(self.ws, self.plan.id, r)
        except (WoptError, OSError) as e:
            self.notify(f"the rebase could not be saved: {e}", severity="error", timeout=10)
            return
        self.undo_stack.append(Undo("rebase", undo))
        self.app.post_message(ReviewChanged(self.plan.id))
        self._stale_base = False
        self.notify(f"{r.path} merged onto the file now: the merge is the step's content (✎, u undoes)"
                    + ("; its approval went back to pending: approve the merge" if r.was_approved else ""),
                    title="Rebased", timeout=8)
        self.analyze(r.step)
