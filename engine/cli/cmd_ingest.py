"""wopt ingest."""
from __future__ import annotations

import sys

ORDER = 10
COMMANDS = ('ingest',)   # the commands register() adds (main builds only the one called)


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
