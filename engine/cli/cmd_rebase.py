"""wopt rebase: merge a stale step's proposal onto the file as it is now."""
from __future__ import annotations

import argparse

ORDER = 35
COMMANDS = ("rebase",)

DESCRIPTION = """\
A step is stale when its file changed on disk after the agent read it. This merges the step's
proposal onto the current file, three ways: what the agent saw (the copy wopt kept when the
plan was stored), the file now, and the proposal. When it merges cleanly, the merged content
becomes the step's content in the plan's review (as a person's edit, shown by `wopt show` and
the review app) and the step is no longer stale; an approval of the old proposal goes back to
pending. When both changed the same lines, nothing changes and the conflicting lines of the
current file are named. Line endings, a missing final newline and bytes that are not UTF-8 are
kept as they are."""

EPILOG = """\
Exit codes:
  0  rebased (or the step is not stale: nothing to do)
  1  not rebased: conflicting lines, the copy of the file the agent saw was not kept, the file
     is gone, or the step has no content (delete, move, chmod, symlink); nothing was changed
  2  usage: no such plan or step"""


def register(sub, common) -> None:
    p = sub.add_parser("rebase", parents=[common], help="merge a stale step onto the current file",
                       description=DESCRIPTION, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("plan", metavar="PLAN")
    p.add_argument("step", metavar="STEP", help="the step id (`wopt show PLAN` lists them)")
    p.add_argument("--json", action="store_true",
                   help='print {"step", "path", "rebased", "stale", "conflicts": [{"start", "end", "where"}], '
                        '"error"}')
    p.set_defaults(func=cmd_rebase)


def cmd_rebase(args) -> int:
    from ..store import spool
    from ..analysis import rebase as R
    from ..model.errors import NotFound, UsageError, WoptError
    from .common import print_json, workspace

    ws = workspace(args)
    try:
        plan = spool.load_plan(ws, args.plan)
    except NotFound as e:
        raise UsageError(e.message, hint=e.hint) from None
    if not any(s.id == args.step for s in plan.steps):
        raise UsageError(f"plan {plan.id} has no step {args.step!r}", hint=f"`wopt show {plan.id}` lists its steps")
    review = spool.load_review(ws, plan.id)
    path = next(s.path for s in plan.steps if s.id == args.step)
    row: dict = {"step": args.step, "path": path, "rebased": False, "stale": True, "conflicts": [], "error": None}
    try:
        r = R.rebase(ws, plan, args.step, review)
    except R.NotStale as e:
        row["stale"] = False
        if args.json:
            print_json(row)
        else:
            print(f"{e.message}")
        return 0
    except R.RebaseConflict as e:
        if args.json:
            row["conflicts"] = [{"start": c.start, "end": c.end, "where": c.describe()} for c in e.conflicts]
            row["error"] = str(e)
            print_json(row)
            return 1
        raise
    except WoptError as e:
        if args.json:
            row["error"] = str(e)
            print_json(row)
            return 1
        raise
    from ..store.decide import record_rebase
    record_rebase(ws, plan.id, r)
    row.update(rebased=True, stale=False)
    if args.json:
        print_json(row)
        return 0
    print(f"rebased {r.path} (step {r.step}) onto the current file; the merge is the step's content now "
          "(`wopt show` shows it)" + ("; its approval went back to pending" if r.was_approved else ""))
    return 0
