"""wopt ingest, wopt list, wopt schema."""
from __future__ import annotations

import sys

ORDER = 10
COMMANDS = ('ingest', 'list', 'schema')   # the commands register() adds (main builds only the one called)


def register(sub, common) -> None:
    from ..sources import format_names
    p = sub.add_parser("ingest", parents=[common], help="store a proposed plan as pending",
                       description="Read a plan (FILE, or - for stdin), capture missing preconditions "
                       "from disk, store it in .wopt/plans/ and print its id.")
    p.add_argument("file", metavar="FILE|-")
    p.add_argument("--format", default="auto", choices=format_names(), help="input format (default: detect)")
    p.add_argument("-p", type=int, metavar="N", dest="strip",
                   help="diffs: remove N leading components from file names, as `git apply -p N` "
                   "(default: 1 when the diff uses a/ b/ prefixes, else 0)")
    p.add_argument("--title", help="title for the plan")
    p.add_argument("--replace", action="store_true",
                   help="replace a stored plan of the same id (and drop its review)")
    p.add_argument("--json", action="store_true", help="print an object instead of the id")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("list", parents=[common], help="list pending plans")
    p.add_argument("--json", action="store_true")
    p.add_argument("--all", action="store_true", help="include applied plans")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("schema", parents=[common], help="print the plan format's JSON Schema")
    p.set_defaults(func=cmd_schema)


def cmd_ingest(args) -> int:
    from ..model.errors import PlanError, UsageError, WoptError
    from ..store.ingest import check_nesting, ingest
    from ..sources import read
    from .common import print_json, workspace

    ws = workspace(args)
    if args.file == "-":
        data, name = sys.stdin.buffer.read(), "<stdin>"
    else:
        try:
            with open(args.file, "rb") as f:
                data = f.read()
        except OSError as e:
            raise UsageError(f"{args.file}: cannot read ({e.strerror})") from None
        name = args.file
    check_nesting(data, name)
    try:
        plan, fmt = read(data, args.format, ws, name=name, strip=args.strip)
    except RecursionError:
        raise PlanError("the input is nested too deeply to read", file=name,
                        hint="nothing was stored") from None
    if args.title:
        plan.title = args.title
    if not plan.steps:
        raise WoptError(f"{name}: the input holds no file change", hint="nothing was stored")
    replaced: list = []
    ingest(ws, plan, replace=args.replace, replaced=replaced)
    for old in replaced:
        sys.stderr.write(f"wopt: replaced the stored plan {plan.id} ({len(old.steps)} step(s)); "
                         "its review was dropped\n")
    if args.json:
        print_json({"id": plan.id, "format": fmt, "steps": len(plan.steps), "title": plan.title})
    else:
        if args.format == "auto":
            sys.stderr.write(f"wopt: read {name} as {fmt}\n")
        print(plan.id)
    return 0


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
