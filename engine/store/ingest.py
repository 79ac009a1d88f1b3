"""Storing a plan in the spool: missing preconditions are captured from disk first; a plan
never silently replaces a stored plan of the same id; input nested deeper than any agent
output is refused before it is parsed."""
from __future__ import annotations

import re

from .effects import compute
from ..model.errors import PlanError, WoptError
from ..model.plan import ABSENT, Plan, sha256
from .workspace import Workspace

MAX_NESTING = 256   # agent output nests a few dozen levels; Python's parsers recurse per level

_STRING = re.compile(rb'"[^"\\\n]*(?:\\.[^"\\\n]*)*"')
_NOT_BRACKET = re.compile(rb"[^\[\]{}]+")


def nesting_depth(data: bytes, limit: int = MAX_NESTING) -> int:
    """The deepest nesting of JSON arrays and objects in `data` (JSON or JSON Lines), strings
    left out; stops counting once past `limit`."""
    brackets = _NOT_BRACKET.sub(b"", _STRING.sub(b"", data))
    depth = deepest = 0
    for c in brackets:
        if c in (0x5B, 0x7B):
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    break
        elif depth:
            depth -= 1
    return deepest


def check_nesting(data: bytes, name: str, limit: int = MAX_NESTING) -> None:
    """Refuse input nested deeper than `limit` (a parser would run out of stack on it)."""
    if not data.lstrip()[:1] in (b"[", b"{") and b"\n{" not in data[:65536] and b"\n[" not in data[:65536]:
        return   # not JSON: diffs, patches, Aider blocks
    if data.count(b"[") + data.count(b"{") > limit and nesting_depth(data, limit) > limit:
        raise PlanError(f"the input is nested more than {limit} levels deep", file=name,
                        hint="no agent writes that; nothing was stored")


def capture_preconditions(ws: Workspace, plan: Plan) -> None:
    """Give every step without a precondition the hash of what it would act on now (the disk,
    or the result of the plan's earlier steps on the same file)."""
    if all(s.precondition for s in plan.steps):
        return
    out = compute(ws, plan, check_preconditions=False)
    if out.errors:
        raise out.errors[0]
    for s in plan.steps:
        if not s.precondition and s.id in out.results:
            before = out.results[s.id].before
            s.precondition = ABSENT if before is None else sha256(before)


def ingest(ws: Workspace, plan: Plan, *, replace: bool = False, replaced: list | None = None) -> Plan:
    """Store `plan` and return it; the plan it replaced (with `replace`) is appended to
    `replaced`.

    A plan whose id names a stored plan is refused unless `replace`; replacing also drops the
    old plan's review (its decisions were about other content). A Claude Code hook session's
    plan is replaced only with `replace` too, and the caller says so."""
    from . import spool
    from ..model.lines import plan_line
    if plan.id:
        spool.plan_file(ws, plan.id)   # a clear error for an id that cannot name a file
    for s in plan.steps:  # resolve every path before anything is stored
        ws.resolve(s.path, step=s.id)
        to = getattr(s, "to", None)
        if to:
            ws.resolve(to, step=s.id)
    capture_preconditions(ws, plan)
    from .bases import keep_bases
    keep_bases(ws, plan)   # the files the agent saw: a stale step can be merged onto a later change
    if not plan.id:
        spool.save_plan(ws, plan)
        return plan
    old_line = None
    f = spool.plan_file(ws, plan.id)
    if f.exists():
        try:
            old_line = plan_line(spool.load_plan(ws, plan.id))
        except WoptError:
            old_line = None
    with spool.plan_lock(ws, old_line or spool.lineage(plan.id)):
        old = None
        if f.exists():
            try:
                old = spool.load_plan(ws, plan.id)
            except WoptError:
                old = None   # an unreadable plan file: replaced only with --replace too
            if not replace:
                what = ("the pending plan of Claude Code session " + (old.session_id or "?")
                        if old is not None and plan_line(old) else "a stored plan")
                raise PlanError(f"plan id {plan.id!r} is already {what} (.wopt/plans/{plan.id}.json)",
                                hint="give the plan another id (or none), or pass --replace to replace "
                                "it and drop its review; nothing was stored")
        with spool.review_lock(ws, plan.id):
            spool.save_plan(ws, plan)
            # a new plan starts unreviewed: decisions on another plan of this id do not carry over
            try:
                spool.review_file(ws, plan.id).unlink()
            except FileNotFoundError:
                pass
    if old is not None and replaced is not None:
        replaced.append(old)
    return plan
