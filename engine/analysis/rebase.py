"""Stale steps: the file changed on disk after the agent read it (its precondition no longer
matches). A stale step stays reviewable: its proposal can be shown against the file the agent
saw and against the file now, and rebased onto the file now with a three-way merge
(base = what the agent saw, ours = the file now, theirs = the proposal).

The file the agent saw is known only by its hash in the plan; wopt keeps a copy of it when a
plan is stored and when a hook queues a write (`engine/store/bases.py`: `.wopt/bases/<sha256>`,
content-addressed), so a later change on disk can be merged. The merge is pure Python (difflib), line by line on bytes: line endings,
a missing final newline and bytes that are not UTF-8 come through as they are.

This module computes and never writes: a clean rebase is recorded by the store
(`store.decide.record_rebase`, one locked review update) as a person's edit of the step (`Review.edited`, or
`Review.edited_raw` for content that is not UTF-8) together with the hash of the file it was
merged onto (`Review.rebased`): the step is checked against that file from then on, so it is no
longer stale until the file changes again.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Literal

from ..store.bases import keep_base, keep_bases, load_base, precondition_hex  # noqa: F401  (keep_bases: importable here)
from ..model.errors import NotFound, StepError, WoptError
from ..model.plan import ABSENT, EditStep, PatchStep, Plan, RenderStep, WriteStep, normalize_relpath, sha256, step_kind
from ..model.review import REJECTED, Review
from ..store.workspace import Workspace
from .model import StepDiff

CONTENT_KINDS = (WriteStep, EditStep, PatchStep, RenderStep)


# --------------------------------------------------------------------------- the merge

@dataclass(frozen=True)
class Conflict:
    """Where the current file and the proposal changed the same lines differently, in line
    numbers of the current file (1-based, inclusive). `end < start` means between lines `end`
    and `start`: the current file removed what the proposal changed there."""

    start: int
    end: int

    def describe(self) -> str:
        if self.end >= self.start:
            return f"line {self.start}" if self.end == self.start else f"lines {self.start}-{self.end}"
        return "at the start" if self.end == 0 else f"after line {self.end}"


@dataclass
class Merge:
    content: bytes | None          # the merged bytes; None when there are conflicts
    conflicts: list[Conflict] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.conflicts


def split_lines(data: bytes) -> list[bytes]:
    """Lines with their endings (`\\n`, `\\r\\n`, a bare `\\r`); the last may have none.
    Joining them gives `data` back exactly."""
    return data.splitlines(keepends=True)


def _matches(a: list[bytes], b: list[bytes]) -> list[tuple[int, int, int]]:
    sm = difflib.SequenceMatcher(None, a, b, autojunk=False)
    return [m for m in sm.get_matching_blocks() if m[2]]


def _sync_regions(base: list[bytes], ours: list[bytes], theirs: list[bytes]):
    """Runs of base lines that both sides kept unchanged, as (base start, base end, ours start,
    ours end, theirs start, theirs end), ending with an empty region at the ends."""
    mo = _matches(base, ours)
    mt = _matches(base, theirs)
    out = []
    i = j = 0
    while i < len(mo) and j < len(mt):
        ob, oo, olen = mo[i]
        tb, tt, tlen = mt[j]
        lo, hi = max(ob, tb), min(ob + olen, tb + tlen)
        if lo < hi:
            os_, ts = oo + (lo - ob), tt + (lo - tb)
            out.append((lo, hi, os_, os_ + hi - lo, ts, ts + hi - lo))
        if ob + olen < tb + tlen:
            i += 1
        else:
            j += 1
    out.append((len(base), len(base), len(ours), len(ours), len(theirs), len(theirs)))
    return out


def merge3(base: bytes, ours: bytes, theirs: bytes) -> Merge:
    """Three-way merge of `theirs` (the proposal, made on `base`) onto `ours` (the file now).

    A region changed on one side only takes that side's lines; changed the same way on both,
    once; changed differently, a conflict (named by its lines in `ours`) and no content. Lines
    are compared as bytes with their endings, so a changed line ending is a change."""
    if ours == theirs or base == theirs:
        return Merge(ours)
    if base == ours:
        return Merge(theirs)
    b, o, t = split_lines(base), split_lines(ours), split_lines(theirs)
    out: list[bytes] = []
    conflicts: list[Conflict] = []
    zb = zo = zt = 0
    for bs, be, os_, oe, ts, te in _sync_regions(b, o, t):
        bc, oc, tc = b[zb:bs], o[zo:os_], t[zt:ts]
        if oc == tc or tc == bc:
            out.extend(oc)
        elif oc == bc:
            out.extend(tc)
        else:
            conflicts.append(Conflict(zo + 1, os_))
        out.extend(o[os_:oe])
        zb, zo, zt = be, oe, te
    if conflicts:
        return Merge(None, conflicts)
    return Merge(b"".join(out))


# --------------------------------------------------------------------------- the files the agent saw

# --------------------------------------------------------------------------- a stale step's views

@dataclass
class StaleView:
    """What a stale step is about: the file the agent saw, the file now, the proposal."""

    step: str
    path: str
    base: bytes | None            # the file the agent saw (None: wopt did not keep it, or it was absent)
    base_known: bool              # base is the file the agent saw (or it saw no file)
    now: bytes | None             # the file the step acts on now (None: absent)
    now_mode: int | None
    proposal: bytes | None        # the step's content made on the file the agent saw (or a person's edit)
    why: str | None = None        # why there is no proposal to show


def _step(plan: Plan, sid: str):
    try:
        return plan.step(sid)
    except KeyError:
        raise NotFound(f"plan {plan.id} has no step {sid!r}",
                       hint=f"`wopt show {plan.id}` lists its steps") from None


class NotStale(WoptError):
    """A rebase asked of a step that is not stale."""


def precondition(step, review: Review | None) -> str | None:
    """What the step is checked against: a person's rebase, else the agent's precondition."""
    if review is not None and step.id in review.rebased and \
            (step.id in review.edited or step.id in review.edited_raw):
        return review.rebased[step.id]
    return step.precondition


def _now(ws: Workspace, plan: Plan, sid: str, review: Review | None) -> tuple[bytes | None, int | None]:
    """The file `sid` acts on now: the disk, after the plan's earlier steps on the same path."""
    from ..store.effects import compute
    step = _step(plan, sid)
    path = normalize_relpath(step.path)
    prior: list[str] = []
    for s in plan.steps:
        if s.id == sid:
            break
        if normalize_relpath(s.path) == path and (review is None or review.decision(s.id) != REJECTED):
            prior.append(s.id)
    if prior:
        out = compute(ws, plan, prior, edited=review.edited_contents() if review else None,
                      hunks=dict(review.hunks) if review else None,
                      rebased=dict(review.rebased) if review else None)
        last = next((out.results[p] for p in reversed(prior) if p in out.results), None)
        if last is not None:
            return last.after, last.after_mode
    return ws.read(path, step=sid)


def stale_view(ws: Workspace, plan: Plan, sid: str, review: Review | None = None) -> StaleView:
    from ..store.effects import compute
    step = _step(plan, sid)
    path = normalize_relpath(step.path)
    now, now_mode = _now(ws, plan, sid, review)
    pre = precondition(step, review)
    if pre == ABSENT:
        base, known = None, True
    else:
        base = load_base(ws, pre)
        known = base is not None
    view = StaleView(sid, path, base, known, now, now_mode, None)
    if not isinstance(step, CONTENT_KINDS):
        view.why = f"a {step_kind(step)} step has no content to compare"
        return view
    if review is not None and sid in review.edited_contents():
        view.proposal = review.edited_contents()[sid]
        return view
    if isinstance(step, (EditStep, PatchStep)) and not known:
        view.why = (f"wopt did not keep the copy of {path} the agent saw, so its edit cannot be shown "
                    "on it")
        return view
    seen = base

    def reader(rel: str, _sid: str) -> tuple[bytes | None, int | None]:
        if rel == path:
            return seen, now_mode
        return ws.read(rel, step=_sid)

    out = compute(ws, plan, [sid], check_preconditions=False, reader=reader)
    r = out.results.get(sid)
    if r is None:
        view.why = "; ".join(str(e) for e in out.errors) or "the step leaves no content"
    else:
        view.proposal = r.after
    return view


def stale_diff(ws: Workspace, plan: Plan, sid: str, review: Review | None = None, *,
               against: Literal["base", "now"] = "now") -> tuple[StepDiff | None, str]:
    """The stale step's proposal as a diff against the file the agent saw (`base`) or the
    file now (`now`), and a line saying what is shown (or why nothing is)."""
    from .diffs import diff_bytes
    v = stale_view(ws, plan, sid, review)
    if v.proposal is None:
        return None, v.why or "no proposal to show"
    if against == "base":
        if not v.base_known:
            return None, (f"wopt did not keep the copy of {v.path} the agent saw (it keeps one when a "
                          "plan is stored); b shows the proposal against the file now")
        return (diff_bytes(v.base, v.proposal, path=v.path, step=sid, old_mode=v.now_mode, new_mode=v.now_mode),
                "the proposal against the file the agent saw (b: against the file now)")
    return (diff_bytes(v.now, v.proposal, path=v.path, step=sid, old_mode=v.now_mode, new_mode=v.now_mode),
            "the proposal against the file now, as it would land over today's changes "
            "(b: against the file the agent saw)")


# --------------------------------------------------------------------------- rebasing

class RebaseConflict(StepError):
    """The proposal and the current file changed the same lines differently."""

    def __init__(self, sid: str, path: str, conflicts: list[Conflict]):
        self.conflicts = conflicts
        where = ", ".join(c.describe() for c in conflicts[:8]) + (
            f" and {len(conflicts) - 8} more" if len(conflicts) > 8 else "")
        super().__init__(f"the proposal does not merge onto the current file: it conflicts at {where} "
                         "of the current file (both changed them); nothing was changed",
                         step=sid, path=path,
                         hint="edit the step by hand (e in the review app), or ask the agent again")


@dataclass
class Rebased:
    step: str
    path: str
    content: bytes                # the merged content, now the step's content
    onto: str                     # precondition of the file it was merged onto
    was_approved: bool = False    # an approval of the old proposal, reset to pending
    onto_data: bytes = field(default=b"", repr=False)   # the file it was merged onto (kept as the next base)


def rebase(ws: Workspace, plan: Plan, sid: str, review: Review | None = None) -> Rebased:
    """The stale step `sid` merged onto the file now. Raises RebaseConflict when it does not
    merge cleanly, WoptError when it cannot be merged at all (not stale, no content, the
    file the agent saw was not kept, the file is gone)."""
    step = _step(plan, sid)
    path = normalize_relpath(step.path)
    now, _mode = _now(ws, plan, sid, review)
    pre = precondition(step, review)
    if not pre or pre == (ABSENT if now is None else sha256(now)):
        raise NotStale(f"{path} (step {sid}) is not stale: nothing to rebase")
    if not isinstance(step, CONTENT_KINDS):
        raise StepError("only a step with content (write, edit, patch, render) can be rebased",
                        step=sid, path=path, hint="reject it, or ask the agent again")
    if now is None:
        raise StepError("the file is gone from disk since the agent read it: nothing to rebase onto",
                        step=sid, path=path, hint="reject the step, or ask the agent again")
    v = stale_view(ws, plan, sid, review)
    if not v.base_known:
        raise StepError(f"wopt did not keep the file the agent saw ({_short(pre)}), so "
                        "there is no base to merge from", step=sid, path=path,
                        hint="edit the step by hand (e), or ask the agent again on the current file")
    if v.proposal is None:
        raise StepError(f"the proposal cannot be made on the file the agent saw: {v.why}", step=sid, path=path)
    m = merge3(v.base or b"", now, v.proposal)
    if m.content is None:
        raise RebaseConflict(sid, path, m.conflicts)
    return Rebased(sid, path, m.content, sha256(now), onto_data=now)


def _short(h: str | None) -> str:
    return "sha256 " + h[7:19] + ".." if h and h.startswith("sha256:") else (h or "no precondition")
