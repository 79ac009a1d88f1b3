"""wopt list, wopt schema (and the queue's row of a plan, `plan_summary`). `wopt ingest` is
cmd_ingest.py's: listing builds no parser that needs the readers' table."""
from __future__ import annotations

import sys

ORDER = 10
COMMANDS = ('list', 'schema')   # the commands register() adds (main builds only the one called)


def register(sub, common) -> None:
    p = sub.add_parser("list", parents=[common], help="list pending plans")
    p.add_argument("--json", action="store_true")
    p.add_argument("--all", action="store_true", help="include applied plans")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("schema", parents=[common], help="print the plan format's JSON Schema")
    p.set_defaults(func=cmd_schema)


def plan_summary(ws, entry) -> dict:
    from ..store import spool
    from ..model.review import APPROVED, REJECTED
    plan = entry.plan
    if plan is None:
        return {"id": entry.id, "error": entry.error}
    review = spool.load_review(ws, plan.id)
    n = len(plan.steps)
    decided = sum(1 for s in plan.steps if review.decision(s.id) in (APPROVED, REJECTED))
    size = 0
    for s in plan.steps:
        size += len(getattr(s, "content", None) or "") + len(getattr(s, "diff", None) or "")
    files = len({s.path for s in plan.steps})
    return {"id": plan.id, "title": plan.title, "source": plan.source, "agent": plan.agent,
            "session_id": plan.session_id, "created": plan.created, "steps": n, "files": files,
            "bytes": size, "decided": decided, "applied": list(review.applied)}


def cmd_list(args) -> int:
    from .common import console, print_json, workspace
    from .plan_index import list_rows

    ws = workspace(args)
    rows = list_rows(ws)   # plans decoded before are not decoded again
    if not args.all:
        rows = [r for r in rows if not r.get("applied")]
    if args.json:
        print_json(rows)
        return 0
    if not rows:
        print("no pending plans (agents' proposals land in .wopt/plans/; see `wopt ingest`)")
        return 0
    header = ["plan", "source", "title", "steps", "files", "reviewed", "created"]
    if not any("error" in r for r in rows):
        from .common import plain_table, write_bytes
        # plain text written as rich would write it, without loading rich, where that is
        # provably so (the table fits the width: rich then neither wraps nor truncates a cell)
        plain = plain_table(header, [[r["id"], r["source"], r["title"] or "", str(r["steps"]), str(r["files"]),
                                      f"{r['decided']}/{r['steps']}", r["created"] or ""] for r in rows])
        if plain is not None:
            write_bytes(plain.encode())
            return 0
    from rich.table import Table
    t = Table(box=None, header_style="bold")
    for col in header:
        # a plan's id is what the next command takes: never cut (the other columns give way)
        t.add_column(col, no_wrap=col == "plan")
    for r in rows:
        if "error" in r:
            t.add_row(r["id"], "[red]unreadable[/]", r["error"], "", "", "", "")
            continue
        t.add_row(r["id"], r["source"], r["title"] or "", str(r["steps"]), str(r["files"]),
                  f"{r['decided']}/{r['steps']}", r["created"] or "")
    console().print(t)
    return 0


def cmd_schema(args) -> int:
    import json
    from ..model.plan import plan_json_schema
    print(json.dumps(plan_json_schema(), indent=2))
    return 0
