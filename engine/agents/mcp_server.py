"""`wopt mcp`: an MCP server over stdio for agents without write hooks.

Built on the official `mcp` SDK (2.x, `mcp.server.mcpserver.MCPServer`, in `mcp_app.py`),
imported only when the server starts, so no other command pays for it. Tools:

- `propose_plan`: a plan in wopt's own JSON (`wopt schema`), or files to write, edits
  (old_string -> new_string, exactly once unless replace_all) and deletes, applied in that
  order and folded into one step per file. It lands in `.wopt/plans/` as a pending plan whose
  agent is the MCP client's name (from its initialize clientInfo); nothing is written.
- `plan_status`: a plan's steps with the person's decisions and reasons, and whether it was
  applied.
- `wait_for_decision`: the same, once every step is decided or the plan applied, or when the
  wait (at most 600 s) ends.

A person reviews and applies with `wopt-tui`, or `wopt approve/reject` and `wopt apply`. A
wopt error is a tool error that says what and where (`is_error`), never a crash of the server.
"""
from __future__ import annotations

MAX_WAIT = 600.0
DEFAULT_WAIT = 50.0          # many MCP clients give up on a tool call after 60 s
POLL = 0.2
SOURCE = "mcp"

INSTRUCTIONS = """\
wopt puts a person between you and the disk. Do not write files yourself: propose them with
propose_plan (files to write, edits of existing text, deletes; or a plan in wopt's JSON). The
person reviews the plan in wopt and approves, rejects (with a reason) or edits each step, then
applies the approved ones as one undoable transaction. Call wait_for_decision (or plan_status
later) to learn what was decided; on a rejection, read the reason before proposing again."""


def client_name(ctx) -> str:
    try:
        params = ctx.session.client_params
        name = params.client_info.name if params is not None else None
    except AttributeError:
        name = None
    return name.strip() if isinstance(name, str) and name.strip() else "mcp-client"


# ---------------------------------------------------------------------------- the engine side

def propose(ws, agent: str, *, title: str = "", plan: dict | None = None, files=(), edits=(), deletes=()) -> dict:
    """Store a proposal as a pending plan; its status."""
    import json

    from ..store import spool
    from ..model.errors import PlanError, UsageError
    from ..store.ingest import ingest
    from ..model.plan import Plan, decode_plan

    if plan is not None and (files or edits or deletes):
        raise UsageError("give either a plan or files/edits/deletes, not both")
    if plan is not None:
        p = decode_plan(json.dumps(plan, ensure_ascii=False).encode("utf-8", "surrogatepass"), file="plan")
        if p.id and spool.plan_file(ws, p.id).exists():
            raise UsageError(f"a plan {p.id!r} is already in .wopt/plans/", hint="give another id, or none")
        if title:
            p.title = title
    else:
        if not (files or edits or deletes):
            raise UsageError("nothing proposed", hint="give files, edits or deletes, or a plan")
        p = Plan(title=title, steps=_fold(ws, files, edits, deletes))
        if not p.steps:
            raise PlanError("the proposal changes nothing (every file already holds that content)")
    p.source, p.agent = SOURCE, agent
    if not p.title:
        p.title = f"{agent}: " + ", ".join(sorted({s.path for s in p.steps})[:3]) + (" …" if len(p.steps) > 3 else "")
    ingest(ws, p)
    return status(ws, p.id)


def _fold(ws, files, edits, deletes) -> list:
    from ..sources.fold import Call, Folder, agent_path, to_bytes
    folder = Folder(ws)
    for i, f in enumerate(files):
        call = Call("write", "write", agent_path(ws, f["path"], what=f"files[{i}].path"), call_id=f"files[{i}]")
        call.content = to_bytes(f["content"], what="content", call=call)
        call.summary = f"write {len(call.content)} bytes"
        folder.add(call)
    for i, e in enumerate(edits):
        folder.add(Call("edit", "edit", agent_path(ws, e["path"], what=f"edits[{i}].path"), call_id=f"edits[{i}]",
                        edits=[(e["old_string"], e["new_string"], bool(e.get("replace_all")))],
                        summary="edit" + (" (replace_all)" if e.get("replace_all") else "")))
    for i, d in enumerate(deletes):
        folder.add(Call("delete", "delete", agent_path(ws, d, what=f"deletes[{i}]"), call_id=f"deletes[{i}]",
                        summary="delete"))
    return folder.steps()


def _plan(ws, plan_id: str):
    from ..store import spool
    from ..model.errors import NotFound, PlanError
    try:
        f = spool.plan_file(ws, plan_id)
    except PlanError:
        f = None
    if f is None or not f.is_file():  # ids only: a client never names a file to read
        raise NotFound(f"no plan {plan_id!r} in .wopt/plans/", hint="use the id propose_plan returned")
    return spool.load_plan(ws, plan_id)


def status(ws, plan_id: str) -> dict:
    """A plan's steps with the person's decisions, and whether (part of) it was applied."""
    from ..store import spool
    from ..store.history import read_history
    from ..model.plan import step_kind
    from ..model.review import APPROVED, PENDING, REJECTED

    plan = _plan(ws, plan_id)
    review = spool.load_review(ws, plan.id)
    applied = list(review.applied)
    try:
        for rec in read_history(ws):
            tx = rec.get("tx")
            if rec.get("plan") == plan.id and rec.get("kind") == "apply" and rec.get("outcome") == "committed" \
                    and isinstance(tx, str) and tx not in applied:
                applied.append(tx)
    except OSError:
        pass
    steps = []
    counts = {APPROVED: 0, REJECTED: 0, PENDING: 0}
    for s in plan.steps:
        d = review.decision(s.id)
        counts[d] = counts.get(d, 0) + 1
        row = {"id": s.id, "kind": step_kind(s), "path": s.path, "decision": d}
        if getattr(s, "to", None):
            row["to"] = s.to
        if s.id in review.reasons:
            row["reason"] = review.reasons[s.id]
        if s.id in review.edited or s.id in review.hunks:
            row["edited_by_reviewer"] = True
        steps.append(row)
    decided = counts[PENDING] == 0 and bool(plan.steps)
    state = "applied" if applied else "decided" if decided else "pending"
    return {"plan": plan.id, "title": plan.title, "agent": plan.agent, "state": state,
            "approved": counts[APPROVED], "rejected": counts[REJECTED], "pending": counts[PENDING],
            "applied": applied, "steps": steps,
            "next": {"pending": "wait: the person reviews it in wopt (wopt-tui, or wopt approve/reject)",
                     "decided": "decided; the person applies the approved steps with wopt",
                     "applied": "applied: re-read the files before changing them further"}[state]}


def serve(root: str | None = None) -> int:
    """Run the server on stdin/stdout until the client closes it."""
    from ..store.workspace import Workspace, find_root
    from .mcp_app import build
    ws = Workspace(find_root(root))
    build(ws).run()
    return 0
