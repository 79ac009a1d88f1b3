"""Storing a plan in the spool: missing preconditions are captured from disk first."""
from __future__ import annotations

from .effects import compute
from .plan import ABSENT, Plan, sha256
from .workspace import Workspace


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


def ingest(ws: Workspace, plan: Plan) -> Plan:
    from . import spool
    for s in plan.steps:  # resolve every path before anything is stored
        ws.resolve(s.path, step=s.id)
        if getattr(s, "to", None):
            ws.resolve(s.to, step=s.id)
    capture_preconditions(ws, plan)
    spool.save_plan(ws, plan)
    return plan
