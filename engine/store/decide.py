"""A person's decisions on a plan's steps, from any front end: `wopt approve/reject`, the
review app, and the Claude Code hook in gate mode, which waits for them.

Decisions live in the plan's review (`.wopt/reviews/<plan>.json`) and every change is a
read-modify-write under the review's lock, so the shell, the app and a waiting hook never lose
each other's decisions. `wait_decision` polls the review file's stat (cheap) and returns as
soon as the step is decided. While it waits, the hook leaves a marker in `.wopt/waiting/`
(`waiting_on`), so a front end can tell which plans an agent is blocked on (`waiting`).
"""
from __future__ import annotations

import json
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from . import spool
from ..model.errors import NotFound, UsageError
from ..model.plan import Plan
from ..model.review import APPROVED, DECISIONS, PENDING, REJECTED, Review, ReviewPatch
from .workspace import Workspace

if TYPE_CHECKING:
    from ..analysis.rebase import Rebased


def _plan(ws: Workspace, plan_ref: str) -> Plan:
    return spool.load_plan(ws, plan_ref)


def resolve_steps(plan: Plan, step_refs: list[str] | None) -> list[str]:
    """Step ids from ids or 1-based positions ("3" is the third step unless a step is named
    "3"); None or empty means every step. An unknown step is an error naming it."""
    ids = [s.id for s in plan.steps]
    if not step_refs:
        return ids
    out = []
    for ref in step_refs:
        if ref in ids:
            out.append(ref)
        elif ref.isdigit() and 1 <= int(ref) <= len(ids):
            out.append(ids[int(ref) - 1])
        else:
            raise NotFound(f"plan {plan.id} has no step {ref!r}",
                           hint=f"its steps are {', '.join(ids[:8])}{' ...' if len(ids) > 8 else ''}"
                           if ids else "it has no steps")
    return list(dict.fromkeys(out))


def decide(ws: Workspace, plan_ref: str, decisions: dict[str, str], *,
           reasons: dict[str, str] | None = None) -> Review:
    """Set decisions (step id -> approved|rejected|pending) in one locked update; returns the
    saved review. Unknown steps or decisions are refused before anything is saved."""
    plan = _plan(ws, plan_ref)
    known = {s.id for s in plan.steps}
    for sid, d in decisions.items():
        if sid not in known:
            raise NotFound(f"plan {plan.id} has no step {sid!r}")
        if d not in DECISIONS:
            raise UsageError(f"unknown decision {d!r} (known: {', '.join(DECISIONS)})")
    review, _ = update(ws, plan.id, ReviewPatch.decisions(decisions, reasons))
    return review


def update(ws: Workspace, plan_id: str,
           patch: ReviewPatch | Callable[[Review], ReviewPatch]) -> tuple[Review, ReviewPatch]:
    """Apply `patch` (decisions, reasons, hunks, edits, order) to the plan's saved review as one
    read-modify-write under the review's lock, so changes made meanwhile elsewhere to other
    steps are kept. A change that depends on the saved review is given as a function of it,
    called under the lock. Returns the saved review and the patch that undoes this change."""
    with spool.review_lock(ws, plan_id):
        review = spool.load_review(ws, plan_id)
        if callable(patch):
            patch = patch(review)
        undo = patch.apply(review)
        spool.save_review(ws, review)
    return review, undo


def record_rebase(ws: Workspace, plan_id: str, r: Rebased) -> tuple[Review, ReviewPatch]:
    """Record a rebase (`analysis.rebase.rebase`) in the plan's review: the merged content as
    the person's edit of the step (bytes that are not UTF-8 kept as they are), the file it was
    merged onto, and no hunk selection; an approval of the old proposal goes back to pending
    (`r.was_approved` says so). The file merged onto is kept as the base of a later rebase.
    Returns the saved review and the patch that undoes the change."""
    from .bases import keep_base
    keep_base(ws, r.onto_data)
    try:
        text: str | None = r.content.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    fields: dict[str, object] = {"edited": text, "edited_raw": None if text is not None else r.content,
                                 "rebased": r.onto, "hunks": None, "lines_off": None}

    def change(saved: Review) -> ReviewPatch:
        r.was_approved = saved.decision(r.step) == APPROVED
        extra = {"decisions": None, "reasons": None} if r.was_approved else {}
        return ReviewPatch(steps={r.step: {**fields, **extra}})
    return update(ws, plan_id, change)


def _set_all(ws: Workspace, plan_id: str, step_ids: list[str] | None, decision: str,
             reason: str | None = None) -> list[str]:
    plan = _plan(ws, plan_id)
    ids = resolve_steps(plan, step_ids)
    decide(ws, plan.id, {s: decision for s in ids}, reasons={s: reason for s in ids} if reason else None)
    return ids


def approve(ws: Workspace, plan_id: str, step_ids: list[str] | None = None) -> list[str]:
    """Approve steps (default: all); returns the step ids approved."""
    return _set_all(ws, plan_id, step_ids, APPROVED)


def reject(ws: Workspace, plan_id: str, step_ids: list[str] | None = None,
           reason: str | None = None) -> list[str]:
    """Reject steps (default: all) with an optional reason the agent is told."""
    return _set_all(ws, plan_id, step_ids, REJECTED, reason)


def reset(ws: Workspace, plan_id: str, step_ids: list[str] | None = None) -> list[str]:
    """Back to pending (undo of a decision)."""
    return _set_all(ws, plan_id, step_ids, PENDING)


def current(ws: Workspace, plan_id: str, step_id: str) -> tuple[str, str | None]:
    review = spool.load_review(ws, plan_id)
    return review.decision(step_id), review.reasons.get(step_id)


def wait_steps(ws: Workspace, plan_id: str, step_ids: list[str], timeout: float, *,
               poll: float = 0.05) -> tuple[str, Review | None]:
    """Wait until every step is approved or one is rejected: (APPROVED or REJECTED, review);
    (PENDING, the last review read) when `timeout` seconds pass first. Polls the review file's
    stat, re-reading it only when it changed."""
    f = spool.review_file(ws, plan_id)
    deadline = time.monotonic() + max(0.0, timeout)
    last = None
    review = None
    while True:
        try:
            st = os.stat(f)
            sig = (st.st_mtime_ns, st.st_size, st.st_ino)
        except FileNotFoundError:
            sig = None
        if sig != last:
            last = sig
            if sig is not None:
                review = spool.load_review(ws, plan_id)
                ds = [review.decision(i) for i in step_ids]
                if REJECTED in ds:
                    return REJECTED, review
                if all(d == APPROVED for d in ds):
                    return APPROVED, review
        now = time.monotonic()
        if now >= deadline:
            return PENDING, review
        time.sleep(min(poll, deadline - now))


def wait_decision(ws: Workspace, plan_id: str, step_id: str, timeout: float, *,
                  poll: float = 0.05) -> tuple[str, str | None]:
    """Wait until the step is approved or rejected: (decision, reason); ("pending", None) when
    `timeout` seconds pass first."""
    d, review = wait_steps(ws, plan_id, [step_id], timeout, poll=poll)
    if d == PENDING or review is None:
        return PENDING, None
    return d, review.reasons.get(step_id)


# ------------------------------------------------------------------ who is waiting

@dataclass(frozen=True)
class Waiting:
    """A hook call blocked on a decision: its plan and step, the file, the process."""

    plan_id: str
    step_id: str
    pid: int
    path: str | None
    tool: str | None
    since: float
    until: float


def waiting_dir(ws: Workspace):
    return ws.spool / "waiting"


@contextmanager
def waiting_on(ws: Workspace, plan_id: str, step_id: str, timeout: float, *,
               path: str | None = None, tool: str | None = None):
    """Mark (for `waiting`) that this process waits on a decision on `step_id` of `plan_id`
    for at most `timeout` seconds; the marker goes when the block ends, and a marker left by a
    killed process does not count (its pid is dead, or its time is up)."""
    d = waiting_dir(ws)
    from . import fsio
    t, rel = fsio.spool_tree(d / "x")      # .wopt/waiting, walked without following a symlink
    with t:
        fsio.makedirs(t, rel.rsplit("/", 1)[0])
    now = time.time()
    f = d / f"{os.getpid()}-{os.urandom(4).hex()}.json"
    spool.atomic_write(f, json.dumps({"plan": plan_id, "step": step_id, "pid": os.getpid(), "path": path,
                                      "tool": tool, "since": now, "until": now + max(0.0, timeout)}).encode(),
                       fsync=False)
    try:
        yield
    finally:
        try:
            f.unlink()
        except FileNotFoundError:
            pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True   # someone else's process
    return True


def waiting(ws: Workspace, *, slack: float = 5.0) -> list[Waiting]:
    """The hook calls waiting on a decision now, oldest first."""
    try:
        names = sorted(os.listdir(waiting_dir(ws)))
    except (FileNotFoundError, NotADirectoryError):
        return []
    now = time.time()
    out = []
    for n in names:
        if not n.endswith(".json") or n.startswith("."):
            continue
        try:
            rec = json.loads((waiting_dir(ws) / n).read_bytes())
            w = Waiting(plan_id=str(rec["plan"]), step_id=str(rec["step"]), pid=int(rec["pid"]),
                        path=rec.get("path"), tool=rec.get("tool"), since=float(rec["since"]),
                        until=float(rec["until"]))
        except FileNotFoundError:
            continue   # it just ended
        except (OSError, ValueError, KeyError, TypeError):
            continue   # not a marker wopt wrote: it says nothing about a waiting call
        if w.pid > 0 and _alive(w.pid) and now <= w.until + slack:
            out.append(w)
    out.sort(key=lambda w: w.since)
    return out


def unattended(ws: Workspace, plan: Plan, step_ids: list[str]) -> list[str]:
    """The steps of `step_ids` that are gate calls no hook waits on any more: steps of a hook
    session's gate plan with no live waiting marker (the hook was killed or interrupted, or
    its time ran out). A decision on one is recorded for the plan only; the agent is not told."""
    from ..model.lines import is_gate_plan
    if not is_gate_plan(plan):
        return []
    live = {w.step_id for w in waiting(ws) if w.plan_id == plan.id}
    return [s for s in step_ids if s not in live]
