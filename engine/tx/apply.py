"""The API the CLI and the TUI call to apply, undo and preview: lock, recovery, precondition
check under the lock, commit order, validation, the transaction, history, the review's record.

    apply_plan(ws, plan, step_ids=None, *, mode="rename", edited=None, hunks=None, rebased=None,
               on_event=None, lock_timeout=10.0, allow_invalid=False, review=None) -> TxResult
    undo(ws, tx_id=None, on_event=None, *, lock_timeout=10.0) -> TxResult
    preview(ws, plan, step_ids=None, edited=None, hunks=None) -> Preview
"""
from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Sequence

from ..model import events as ev
from ..store import fsio
from . import transaction as txn
from ..store.effects import Change, Outcome, compute, read_entry
from ..model.errors import ApplyError, InternalError, NotFound, Stale, StaleError, StepError, UndoRefused, WoptError
from ..model.events import Event
from ..model.plan import ABSENT, MoveStep, Plan, sha256
from ..store.workspace import Workspace

if TYPE_CHECKING:
    from ..store.history_record import HistoryRecord

Listener = Callable[[Event], None]


@dataclass
class TxResult:
    """What an apply or an undo did (`to_json` is what `wopt apply --json` prints)."""

    tx: str                           # "" for a noop (no transaction was needed)
    plan: str | None
    mode: str                         # rename | journal
    outcome: str                      # committed | rolled_back | refused | noop
    files: int = 0
    bytes: int = 0                    # bytes written
    ops: dict[str, int] = field(default_factory=dict)           # create, replace, delete, chmod, move
    durations: dict[str, float] = field(default_factory=dict)   # phase -> seconds
    fsyncs: int = 0
    changes: list[Change] = field(default_factory=list)         # the net changes, in commit order
    kind: str = "apply"               # apply | undo
    steps: list[str] = field(default_factory=list)              # the step ids, in commit order
    undoes: str | None = None         # an undo: the transaction it undid
    error: str | None = None
    pending_plan: str | None = None   # where the plan's steps this apply left pending went

    @property
    def paths(self) -> list[str]:
        return [c.path for c in self.changes]

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {"tx": self.tx, "plan": self.plan, "kind": self.kind, "mode": self.mode,
             "outcome": self.outcome, "files": self.files, "bytes": self.bytes, "ops": self.ops,
             "durations": self.durations, "fsyncs": self.fsyncs, "steps": self.steps,
             "paths": self.paths,
             "changes": [{"path": c.path, "kind": c.kind, "before": c.before_hash,
                          "after": c.after_hash, "steps": c.steps} for c in self.changes]}
        if self.undoes:
            d["undoes"] = self.undoes
        if self.error:
            d["error"] = self.error
        if self.pending_plan:
            d["pending_plan"] = self.pending_plan
        return d


@dataclass
class Preview:
    """What an apply would do now (`to_json` is what `wopt apply --json` prints unasked)."""

    plan: str
    steps: list[str]                  # the selected step ids, in commit order
    files: int
    bytes: int                        # bytes the apply would write
    creates: list[str]                # paths, by the kind of their net change
    replaces: list[str]
    deletes: list[str]
    chmods: list[str]
    moves: int
    stale: list[Stale]                # steps whose precondition no longer holds
    errors: list[str]                 # steps that cannot be carried out, each said in words
    changes: list[Change]

    @property
    def ok(self) -> bool:
        return not self.stale and not self.errors

    def to_json(self) -> dict[str, Any]:
        return {"plan": self.plan, "steps": self.steps, "files": self.files, "bytes": self.bytes,
                "creates": self.creates, "replaces": self.replaces, "deletes": self.deletes,
                "chmods": self.chmods, "moves": self.moves,
                "stale": [{"step": s, "path": p, "expected": e, "found": f} for s, p, e, f in self.stale],
                "errors": self.errors, "ok": self.ok}


# ---------------------------------------------------------------------------- helpers

def _now() -> str:
    from ..store.spool import now_iso
    return now_iso()


def _selection(plan: Plan, step_ids, edited, hunks, review, rebased=None):
    """(step ids, edited contents, kept hunks, rebased preconditions) of an apply. With a
    review, the steps are its approved ones unless the caller names them (`--only` chooses
    steps, not content): either way the review's edits, hunk picks and rebases shape them, so
    the bytes that land are the ones the person approved."""
    if rebased is None:
        rebased = dict(review.rebased) if review is not None and getattr(review, "rebased", None) else None
    if review is not None:
        if step_ids is None:
            step_ids = review.approved([s.id for s in plan.steps])
        if edited is None and (review.edited or review.edited_raw):
            edited = review.edited_contents()
        if hunks is None and review.hunks:
            hunks = review.picks()
    if step_ids is None:
        step_ids = [s.id for s in plan.steps]
    if edited:
        edited = {k: (v.encode("utf-8", "surrogateescape") if isinstance(v, str) else v)
                  for k, v in edited.items()}
    return list(step_ids), edited, hunks, rebased


def order_steps(ws: Workspace, plan: Plan, step_ids: Sequence[str], review=None,
                contents: Mapping[str, bytes | None] | None = None) -> list[str]:
    """The selected steps in commit order: a person's order override first, else the
    analysis' dependency order. An internal error of the ordering stops the apply (no
    fallback: the order decides each file's net bytes, and the review showed this order)."""
    wanted = list(dict.fromkeys(step_ids))
    chosen = set(wanted)
    base: list[str] | None = None
    if review is not None and getattr(review, "order", None):
        base = list(review.order)
    else:
        from ..analysis.ordering import commit_order
        try:
            base = list(commit_order(plan, ws, contents=contents) if contents is not None
                        else commit_order(plan, ws))
        except WoptError:
            raise
        except Exception as e:   # a bug in wopt's ordering: fail closed
            raise InternalError(f"ordering the steps of plan {plan.id}", e) from e
    if not base:
        return wanted
    out = [s for s in dict.fromkeys(base) if s in chosen]
    seen = set(out)
    out += [s for s in wanted if s not in seen]
    return out


def _ordered_outcome(ws: Workspace, plan: Plan, ids: list[str], review, edited, hunks, rebased=None,
                     cc=None):
    """(commit order, outcome in that order), reading and computing the files once: the
    steps run in plan order give the contents the ordering needs; when the commit order keeps
    each file's steps in the same relative order, the net changes are the same and are only
    re-sorted; otherwise they are computed again in commit order."""
    pos = {s.id: i for i, s in enumerate(plan.steps)}
    plan_ids = sorted(dict.fromkeys(ids), key=lambda s: pos.get(s, len(pos)))
    out = compute(ws, plan, plan_ids, edited=edited, hunks=hunks, rebased=rebased)
    contents = {sid: r.after for sid, r in out.results.items()}
    if not (review is not None and getattr(review, "order", None)):
        # the ordering reads each Python file's imports: from the content cache (an analysis
        # of these contents kept them), else parsed once here for the imports and the syntax
        # check together, which the validation then finds in the cache
        # (`cc`: the content cache the validation then reads and saves, once)
        from ..analysis.cache import ContentCache, seed_imports
        seed_imports(cc if cc is not None else ContentCache(ws), contents, {s.id: s for s in plan.steps})
    ordered = order_steps(ws, plan, plan_ids, review, contents=contents)
    if ordered == plan_ids:
        return ordered, out
    rank = {s: i for i, s in enumerate(ordered)}
    for c in out.changes:
        ranks = [rank.get(s, -1) for s in c.steps]
        if ranks != sorted(ranks) or -1 in ranks:
            return ordered, compute(ws, plan, ordered, edited=edited, hunks=hunks, rebased=rebased)
    out.changes.sort(key=lambda c: min(rank[s] for s in c.steps) if c.steps else -1)
    return ordered, out


def _validate(changes: list[Change], allow_invalid: bool, cc) -> list:
    """The findings on the net changes (each content's syntax check kept in, or taken from,
    the content cache `cc`, which is saved); invalid content (what the plan breaks) refuses the
    apply unless `allow_invalid`. A validator that raises or cannot be imported is wopt's
    internal error: it refuses the apply too (fail closed), unless `allow_invalid`, the
    person's explicit choice to apply without validation."""
    try:
        # each content's syntax check once: an analysis of the same contents already did it
        from ..analysis.cache import validate_changes_cached
        findings = list(validate_changes_cached(changes, None, cc))
        cc.save()
    except Exception as e:
        if isinstance(e, WoptError) and not isinstance(e, InternalError):
            raise
        if allow_invalid:
            return []
        if isinstance(e, InternalError):
            what, exc = e.what, e.exc
        else:
            names = [c.path for c in changes if c.after is not None]
            what = "validating " + ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
            exc = e
        raise InternalError(what, exc, hint="this is a bug in wopt, not a problem in the plan; nothing "
                            "was written. To apply without validation, check the files yourself and "
                            "pass --allow-invalid; please report the bug with `wopt --version` and the "
                            "plan") from e
    errors = [f for f in findings if getattr(f, "severity", "error") == "error"]
    if errors and not allow_invalid:
        lines = []
        for f in errors[:20]:
            loc = f.path + (f":{f.line}" if getattr(f, "line", None) else "")
            lines.append(f"{loc}: {f.message} (step {f.step}, {f.checker})")
        more = f" and {len(errors) - 20} more" if len(errors) > 20 else ""
        raise ApplyError("invalid content: " + "; ".join(lines) + more,
                         hint="fix the steps, or apply anyway with --allow-invalid; nothing was written")
    return findings


def _moves(plan: Plan, ids: Sequence[str], out: Outcome) -> int:
    by_id = {s.id: s for s in plan.steps}
    return sum(1 for s in ids if isinstance(by_id.get(s), MoveStep) and s in out.results)


def _history_record(res: TxResult, started: str, optimization_rate: float | None = None) -> HistoryRecord:
    from ..store.history_record import HistoryRecord
    rec = HistoryRecord(tx=res.tx, plan=res.plan, kind=res.kind, mode=res.mode, outcome=res.outcome,
                        started=started, files=res.files, bytes=res.bytes, durations=res.durations,
                        fsyncs=res.fsyncs, steps=res.steps, paths=res.paths, error=res.error,
                        undoes=res.undoes, optimization_rate=optimization_rate)
    if res.ops:
        rec.ops = res.ops
    return rec


def _record(ws: Workspace, res: TxResult, started: str, optimization_rate: float | None = None) -> None:
    from ..store.history import append
    try:
        append(ws, _history_record(res, started, optimization_rate))
    except OSError:
        pass  # history is a record, not part of the transaction


def _model_rate(model) -> float | None:
    rate = getattr(model, "optimization_rate", None)
    return round(rate, 4) if rate is not None else None


def _outcome_rate(plan: Plan, ordered: list[str], out) -> float | None:
    """The optimization rate of what this apply ran, when the caller brought no model (a
    headless apply): counted from the apply's own effects, not by analysing the plan again."""
    from ..analysis import outcome_rate
    try:
        return round(outcome_rate(plan, ordered, out.results), 4)
    except Exception as e:   # a bug in the count: stop before anything is written (fail closed)
        raise InternalError(f"counting the optimization rate of plan {plan.id}", e) from e


def _save_families(ws: Workspace, model, review) -> None:
    """Learn the families a person approved whole; a failure here never fails the apply."""
    try:
        from ..store.templates_store import save_approved_families
        save_approved_families(ws, model, review)
    except (OSError, WoptError):
        pass


def _errors_message(errors: list[WoptError]) -> str:
    return "; ".join(str(e) for e in errors[:20]) + (f" and {len(errors) - 20} more" if len(errors) > 20 else "")


# ---------------------------------------------------------------------------- apply

def apply_plan(ws: Workspace, plan: Plan, step_ids: Sequence[str] | None = None, *, mode: str = "rename",
               edited: Mapping[str, bytes | str] | None = None,
               hunks: Mapping[str, Sequence[int]] | None = None,
               rebased: Mapping[str, str] | None = None,
               on_event: Listener | None = None, lock_timeout: float = 10.0,
               allow_invalid: bool = False, review=None, model=None) -> TxResult:
    """Apply the selected steps of `plan` as one atomic transaction.

    `edited`, `hunks` and `rebased` shape the steps as a review does (a step's edited content,
    the hunks kept, the precondition a rebased step is checked against instead of its own);
    without them they come from `review`, when given.

    `model` is the plan's review model (`analysis.analyze`) when the caller has one: its
    optimization rate goes into the history record, and the template families the review
    approved whole are saved to `.wopt/templates/` once the transaction commits."""
    from ..store.lock import file_lock
    from .recovery import recover

    if mode not in txn.MODES:
        raise ApplyError(f"unknown mode {mode!r}", hint="use rename or journal")
    emit = on_event or ev.null_listener
    ids, edited, hunks, rebased = _selection(plan, step_ids, edited, hunks, review, rebased)
    if not ids:
        raise ApplyError(f"plan {plan.id}: no step selected to apply",
                         hint="approve steps in the review, or name them with --only")
    txn.ensure_spool(ws)
    started = _now()
    durations: dict = {}
    tx = txn.new_tx_id()
    t0 = time.perf_counter()
    emit(Event(ev.LOCK, 0, 1, tx=tx, message="waiting for the workspace lock"))
    with file_lock(ws.spool / "lock", timeout=lock_timeout, what=f"wopt apply {plan.id}"):
        durations[ev.LOCK] = round(time.perf_counter() - t0, 6)
        emit(Event(ev.LOCK, 1, 1, tx=tx))
        recovered = recover(ws, locked=True)
        for line in recovered:
            emit(Event(ev.RECOVER, 1, 1, message=line))
        t1 = time.perf_counter()
        from ..analysis.cache import ContentCache
        cc = ContentCache(ws)
        ordered, out = _ordered_outcome(ws, plan, ids, review, edited, hunks, rebased, cc=cc)
        durations[ev.CHECK] = round(time.perf_counter() - t1, 6)
        base = TxResult(tx=tx, plan=plan.id, mode=mode, outcome="refused", steps=ordered,
                        changes=out.changes, durations=durations)
        err: WoptError
        if out.stale:
            err = StaleError(out.stale)
            base.error = str(err)
            _record(ws, base, started)
            raise err
        if out.errors:
            err = StepError(_errors_message(out.errors),
                            hint="fix or reject those steps; nothing was written")
            if len(out.errors) == 1:
                err = out.errors[0]
            base.error = str(err)
            _record(ws, base, started)
            raise err
        try:
            _validate(out.changes, allow_invalid, cc)
        except (ApplyError, InternalError) as err:
            base.error = str(err)
            _record(ws, base, started)
            raise
        if not out.changes:
            res = TxResult(tx="", plan=plan.id, mode=mode, outcome="noop", steps=ordered,
                           durations=durations)
            emit(Event(ev.DONE, 0, 0, message="nothing to change: the files already hold these contents"))
            return res
        rate = _model_rate(model) if model is not None else _outcome_rate(plan, ordered, out)
        try:
            stats = txn.commit(ws, out.changes, mode=mode, tx=tx, kind="apply", plan_id=plan.id,
                               steps=ordered, on_event=emit, moves=_moves(plan, ordered, out),
                               durations=durations)
        except ApplyError as err:
            st = err.stats
            base.outcome = "refused" if isinstance(err, txn.Refused) else "rolled_back"
            base.error = str(err)
            if st is not None:
                base.ops, base.fsyncs, base.files, base.bytes = st.ops, st.fsyncs, st.files, st.bytes
            _record(ws, base, started)
            emit(Event(ev.FAILED, 0, 0, tx=tx, message=str(err)))
            raise
        res = TxResult(tx=tx, plan=plan.id, mode=mode, outcome="committed", files=stats.files,
                       bytes=stats.bytes, ops=stats.ops, durations=stats.durations,
                       fsyncs=stats.fsyncs, changes=out.changes, steps=ordered)
        with _line_lock(ws, plan):
            _record(ws, res, started, rate)
            try:
                res.pending_plan = _settle(ws, plan, ordered, tx, review)
            except (OSError, WoptError) as e:
                res.error = (f"applied, but the plan's record could not be updated ({e}); "
                             "`wopt list --all` shows the plan")
        if model is not None and review is not None:
            _save_families(ws, model, review)
        try:
            txn.prune(ws)
        except OSError:
            pass
    return res


@contextmanager
def _line_lock(ws: Workspace, plan: Plan):
    """The lock of the plan's line in the spool (the one the hook queues under), so a hook
    call never sees the plan applied without the steps left pending. The apply has committed
    by then: when the lock cannot be had in bounded time it settles without it (the hook holds
    it only briefly)."""
    from ..store import spool
    from ..model.lines import plan_line

    try:
        held = spool.plan_lock(ws, plan_line(plan) or spool.lineage(plan.id or "-"), timeout=30.0)
        held.__enter__()
    except (WoptError, OSError):
        held = None
    try:
        yield
    finally:
        if held is not None:
            held.__exit__(None, None, None)


def _settle(ws: Workspace, plan: Plan, ordered: Sequence[str], tx: str, review) -> str | None:
    """The stored plan after a committed apply of `ordered`: its review records the
    transaction (so the plan leaves `wopt list`), and every step this apply did not carry out
    and the person did not reject becomes a new pending plan, the next of the plan's line
    (`p-2`, or the hook session's next plan, which the hook's later calls join), with its
    decisions and edits. Returns that plan's id, or None when nothing is left.

    The plan is read again from the spool: steps the hook queued during the apply are kept;
    a step that changed since it was read (the hook folded a later edit into it) was not
    applied as it now stands, so it stays pending too. The review is read again too, under
    its lock (`_saved_review`): what the person decided while the apply ran (`wopt approve`,
    the review app, a gate hook) is kept, and decides which steps are carried."""
    from ..store import spool
    from ..model.lines import is_gate_plan, plan_line
    from ..model.review import REJECTED, Review

    stored = None
    if plan.id and spool.check_plan_id(plan.id) is None and spool.plan_file(ws, plan.id).is_file():
        stored = spool.load_plan(ws, plan.id)
        if is_gate_plan(stored):
            stored = None   # its calls leave it as they are decided; the others still wait in it
    mine = {s.id: s for s in plan.steps}
    applied: set[str] = set()
    if stored is not None:
        cur = {s.id: s for s in stored.steps}
        applied = {sid for sid in ordered if sid in cur and cur[sid] == mine.get(sid)}
        if not applied:
            stored = None   # another plan under the same id (a plan file applied by path)
    if stored is None:
        if review is not None:
            with spool.review_lock(ws, review.plan_id):
                rv = _saved_review(ws, review.plan_id, review, ordered)
                rv.applied.append(tx)
                spool.save_review(ws, rv)
        return None
    rid = review.plan_id if review is not None else plan.id
    with spool.review_lock(ws, rid):
        rv = _saved_review(ws, rid, review, applied)
        rest = [s for s in stored.steps if s.id not in applied and rv.decision(s.id) != REJECTED]
        new_id = None
        if rest:
            new_id = spool.next_generation(ws, plan_line(stored) or spool.lineage(stored.id))
            ids = {s.id for s in rest}
            for s in rest:
                s.depends_on = [d for d in s.depends_on if d in ids]   # the others are on disk
            spool.save_plan(ws, Plan(id=new_id, title=stored.title, source=stored.source, agent=stored.agent,
                                     session_id=stored.session_id, created=stored.created,
                                     templates=dict(stored.templates), steps=rest))
            carried = Review(plan_id=new_id,
                             decisions={k: v for k, v in rv.decisions.items() if k in ids},
                             reasons={k: v for k, v in rv.reasons.items() if k in ids},
                             edited={k: v for k, v in rv.edited.items() if k in ids},
                             edited_raw={k: v for k, v in rv.edited_raw.items() if k in ids},
                             hunks={k: v for k, v in rv.hunks.items() if k in ids},
                             lines_off={k: v for k, v in rv.lines_off.items() if k in ids},
                             rebased={k: v for k, v in rv.rebased.items() if k in ids},
                             order=[k for k in rv.order if k in ids])
            if carried.decisions or carried.edited or carried.edited_raw or carried.hunks or carried.order \
                    or carried.lines_off or carried.rebased:
                spool.save_review(ws, carried)
        # the rest is saved first: a crash in between shows it twice, never loses it
        rv.applied.append(tx)
        spool.save_review(ws, rv)
    return new_id


def _saved_review(ws: Workspace, plan_id: str, given, acted: Iterable[str]):
    """The review an apply's record is written to, read under the review's lock: the saved
    one, with whatever was decided while the apply ran. The caller's review (read before the
    apply, and maybe changed in memory) adds only what the saved one lacks for the steps the
    apply carried out (`acted`: the record of what was applied; a decision made meanwhile on
    such a step stays as it was made). A review never saved is the caller's, as given."""
    from ..store import spool
    from ..model.review import FIELDS

    if given is None:
        return spool.load_review(ws, plan_id)
    if not spool.review_file(ws, plan_id).is_file():
        return given      # nothing was saved, so nothing was decided meanwhile
    rv = spool.load_review(ws, plan_id)
    for sid in acted:
        for f in FIELDS:
            mine, saved = getattr(given, f), getattr(rv, f)
            if sid in mine and sid not in saved:
                saved[sid] = mine[sid]
    return rv


# ---------------------------------------------------------------------------- undo

def _last_undoable(ws: Workspace) -> str:
    for tx, state in reversed(txn.list_transactions(ws)):
        if state != txn.COMMITTED:
            continue
        got = txn.load_committed(ws, tx)
        if got is not None and got[2] == txn.COMMITTED and got[0].kind == "apply":
            return tx
    raise NotFound("no applied transaction to undo", hint="`wopt history` lists the transactions")


def undo(ws: Workspace, tx_id: str | None = None, on_event: Listener | None = None, *,
         lock_timeout: float = 10.0, mode: str | None = None) -> TxResult:
    """Undo a committed transaction (default: the last applied one not yet undone) as a
    transaction of its own. Refused, naming the files, when its targets changed since.

    The undo's bookkeeping is part of it: its commit point renames its manifest to
    `<tx>.finishing`; marking the undone transaction, removing that transaction's new
    directories and the history record follow (`txn.finish_undo`), and whatever of them an
    interruption or an I/O error leaves undone, the next wopt command's recovery completes.
    Once the commit point is passed the undo has taken effect, and says so."""
    from ..store.lock import file_lock
    from .recovery import recover

    emit = on_event or ev.null_listener
    txn.ensure_spool(ws)
    started = _now()
    durations: dict = {}
    t0 = time.perf_counter()
    with file_lock(ws.spool / "lock", timeout=lock_timeout, what="wopt undo"):
        durations[ev.LOCK] = round(time.perf_counter() - t0, 6)
        recover(ws, locked=True)
        target_tx = tx_id or _last_undoable(ws)
        if tx_id:
            matches = [t for t, s in txn.list_transactions(ws) if t.startswith(tx_id) and s != txn.PENDING]
            if len(matches) > 1 and tx_id not in matches:
                raise NotFound(f"transaction {tx_id!r} is ambiguous: {', '.join(matches[:5])}",
                               hint="give more of the id")
            target_tx = tx_id if tx_id in matches else (matches[0] if matches else tx_id)
        got = txn.load_committed(ws, target_tx)
        if got is None:
            raise NotFound(f"no committed transaction {target_tx!r} in .wopt/journal/",
                           hint="`wopt history` lists the transactions")
        m, blobs, state = got
        if state == txn.UNDONE:
            raise UndoRefused(f"transaction {target_tx} is already undone",
                              hint="undo the undo transaction to redo it")
        t1 = time.perf_counter()
        changed: list[str] = []
        changes: list[Change] = []
        for e in reversed(m.entries):
            rel = e.path
            cur, cur_mode = read_entry(ws, rel)  # a symlink is its own entry, not followed
            cur_hash = ABSENT if cur is None else sha256(cur)
            if cur_hash != e.after or (cur is not None and e.after_mode is not None
                                       and cur_mode != e.after_mode):
                why = "deleted" if cur is None else ("its mode changed" if cur_hash == e.after else "changed")
                changed.append(f"{rel} ({why})")
                continue
            orig = txn.committed_original(ws, m, blobs, e)
            if e.before != ABSENT and (orig is None or sha256(orig) != e.before):
                raise UndoRefused(f"{rel}: the original bytes of transaction {target_tx} are missing "
                                  "from .wopt/journal/", hint="restore it from version control")
            changes.append(Change(rel, cur, cur_mode, orig,
                                  e.before_mode if orig is not None else None, list(e.steps)))
        durations[ev.CHECK] = round(time.perf_counter() - t1, 6)
        tx = txn.new_tx_id()
        use_mode = mode or m.mode
        if changed:
            err = UndoRefused(f"cannot undo {target_tx}: changed since it was applied: " + ", ".join(changed),
                              hint="revert those files by hand first; nothing was written")
            _record(ws, TxResult(tx=tx, plan=m.plan, mode=use_mode, outcome="refused",
                                 kind="undo", undoes=target_tx, error=str(err), durations=durations),
                    started)
            raise err
        try:
            stats = txn.commit(ws, changes, mode=use_mode, tx=tx, kind="undo", plan_id=m.plan,
                               steps=m.steps, undoes=target_tx, on_event=emit,
                               durations=durations, final_state=txn.FINISHING)
        except ApplyError as err:
            res = TxResult(tx=tx, plan=m.plan, mode=use_mode, kind="undo", undoes=target_tx,
                           outcome="refused" if isinstance(err, txn.Refused) else "rolled_back",
                           error=str(err), changes=changes, durations=durations)
            _record(ws, res, started)
            raise
        # past the commit point: the undo has taken effect, whatever follows
        res = TxResult(tx=tx, plan=m.plan, mode=use_mode, outcome="committed", kind="undo",
                       undoes=target_tx, files=stats.files, bytes=stats.bytes, ops=stats.ops,
                       durations=stats.durations, fsyncs=stats.fsyncs, changes=changes,
                       steps=list(m.steps))
        try:
            with fsio.in_phase("finish"):
                txn.finish_undo(ws, tx, record=_history_record(res, started))
        except (OSError, WoptError) as e:
            why = f"{e.strerror}{' on ' + str(e.filename) if e.filename else ''}" \
                if isinstance(e, OSError) else str(e)
            emit(Event(ev.DONE, len(changes), len(changes), tx=tx,
                       message=f"undone; its records could not all be written now ({why}): the next "
                       "wopt command completes them"))
    return res


def _remove_created_dirs(ws: Workspace, dirs: list[str]) -> None:
    """After an undo: the directories the undone transaction created, if now empty (through
    verified directory handles; a symlink in their place is left alone)."""
    with txn.tree(ws) as t:
        txn.remove_dirs(t, dirs)


# ---------------------------------------------------------------------------- preview

def preview(ws: Workspace, plan: Plan, step_ids: Sequence[str] | None = None,
            edited: Mapping[str, bytes | str] | None = None,
            hunks: Mapping[str, Sequence[int]] | None = None, *, review=None) -> Preview:
    """What an apply would do now (no lock, no writes): for a confirmation prompt."""
    ids, edited, hunks, rebased = _selection(plan, step_ids, edited, hunks, review)
    ordered, out = _ordered_outcome(ws, plan, ids, review, edited, hunks, rebased)
    ch = out.changes
    return Preview(plan=plan.id, steps=ordered, files=len(ch),
                   bytes=sum(len(c.after) for c in ch if c.after is not None),
                   creates=[c.path for c in ch if c.kind == "create"],
                   replaces=[c.path for c in ch if c.kind == "replace"],
                   deletes=[c.path for c in ch if c.kind == "delete"],
                   chmods=[c.path for c in ch if c.kind == "chmod"],
                   moves=_moves(plan, ordered, out), stale=list(out.stale),
                   errors=[str(e) for e in out.errors], changes=ch)
