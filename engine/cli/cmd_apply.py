"""wopt apply, wopt undo, wopt recover, wopt history."""
from __future__ import annotations

import sys

ORDER = 30
COMMANDS = ('apply', 'undo', 'recover', 'history')   # the commands register() adds (main builds only the one called)


def register(sub, common) -> None:
    p = sub.add_parser("apply", parents=[common], help="apply a plan as one atomic transaction",
                       description="Apply a plan's steps (those named with --only; else the steps "
                       "approved in its review, if it has one; else all) as one atomic, crash-safe, "
                       "undoable transaction. Asks once when run in a terminal.")
    p.add_argument("plan", metavar="PLAN")
    p.add_argument("--yes", "-y", action="store_true", help="do not ask (required without a terminal)")
    p.add_argument("--only", nargs="+", action="extend", metavar="STEP",
                   help="apply only these steps, whatever the review decided about them, with the "
                   "content it gave them (edits, chosen hunks)")
    p.add_argument("--all", action="store_true", help="apply every step, whatever the review says")
    p.add_argument("--mode", choices=("rename", "journal"), default="rename",
                   help="rename: new inode per file (default); journal: in place behind a rollback journal")
    p.add_argument("--allow-invalid", action="store_true",
                   help="apply even if validation finds errors in files the plan breaks (new, or "
                   "valid before), or cannot run at all (an internal error of wopt's validators); "
                   "a file already invalid before the plan never blocks, it gets a warning")
    p.add_argument("--lock-timeout", type=float, default=10.0, metavar="SECONDS",
                   help="how long to wait for another apply (default 10)")
    _finish(p, cmd_apply, "print the transaction as JSON")

    p = sub.add_parser("undo", parents=[common], help="undo an applied transaction",
                       description="Undo transaction TX (default: the last applied one not yet undone). "
                       "Refused, naming the files, if they changed since.")
    p.add_argument("tx", metavar="TX", nargs="?")
    _finish(p, cmd_undo)

    p = sub.add_parser("recover", parents=[common], help="roll back an interrupted transaction",
                       description="Roll back any transaction that never finished (every wopt command "
                       "also does this first), where its files still hold what it wrote. Paths changed "
                       "since are left as they are and listed (exit 1); --resolve TX closes such a "
                       "transaction once you decided.")
    p.add_argument("--resolve", metavar="TX",
                   help="you decided about the listed paths of interrupted transaction TX: drop its "
                   "journal, leave the files as they are")
    _finish(p, cmd_recover)

    p = sub.add_parser("history", parents=[common], help="list past transactions")
    p.add_argument("--json", action="store_true")
    p.add_argument("-n", "--limit", type=int, default=0, metavar="N", help="only the last N")
    p.set_defaults(func=cmd_history)


def _finish(p, func, json_help: str | None = None) -> None:
    """The `--json` flag each of these commands takes last, and the function it runs."""
    p.add_argument("--json", action="store_true", help=json_help)
    p.set_defaults(func=func)


def _human_bytes(n: int) -> str:
    from ..model.sizes import format_size
    return format_size(n)


def _progress(enabled: bool):
    """(listener, context manager) drawing a rich progress bar on stderr from the events."""
    import os
    from contextlib import nullcontext
    if not enabled:
        return None, nullcontext()
    if not sys.stderr.isatty() and not {"FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"} & set(os.environ):
        return None, nullcontext()   # rich would draw nothing on it: not loaded
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn

    from .common import err_console
    con = err_console()
    if not con.is_terminal:
        return None, nullcontext()
    prog = Progress(TextColumn("[bold]{task.fields[phase]:<9}"), BarColumn(),
                    TextColumn("{task.completed}/{task.total}"), DownloadColumn(),
                    TextColumn("{task.fields[path]}", style="dim"), TimeElapsedColumn(),
                    console=con, transient=True)
    task = prog.add_task("apply", total=1, phase="lock", path="")

    def listener(e) -> None:
        total = e.bytes_total or e.total or 1
        done = e.bytes_done if e.bytes_total else e.done
        prog.update(task, total=total, completed=done, phase=e.phase, path=e.path or e.batch or "")

    return listener, prog


def cmd_apply(args) -> int:
    from ..store import spool
    from ..tx.apply import apply_plan, preview
    from ..model.errors import UsageError
    from .common import print_json, workspace

    ws = workspace(args)
    plan = spool.load_plan(ws, args.plan)
    review = None
    step_ids = None
    if args.only:
        known = {s.id for s in plan.steps}
        unknown = [s for s in args.only if s not in known]
        if unknown:
            raise UsageError(f"plan {plan.id} has no step {', '.join(map(repr, unknown))}",
                             hint="`wopt show PLAN` lists its steps")
        step_ids = list(args.only)
        # the named steps land as the review shaped them (edits, hunks, rebases, order),
        # whatever it decided about them
        review = spool.load_review(ws, plan.id)
    elif not args.all:
        r = spool.load_review(ws, plan.id)
        if r.decisions:
            review = r
            if not args.json:
                n = len(r.approved([s.id for s in plan.steps]))
                sys.stderr.write(f"wopt: applying the {n} step(s) approved in the review of {plan.id} "
                                 "(--all for every step)\n")

    if not args.yes:
        if not sys.stdin.isatty():
            raise UsageError("not a terminal, so wopt cannot ask: pass --yes to apply without asking")
        pv = preview(ws, plan, step_ids, review=review)
        if not pv.ok:
            # apply_plan below refuses with the precise message
            pass
        else:
            what = ", ".join(f"{len(v)} {k}" for k, v in (("created", pv.creates), ("replaced", pv.replaces),
                                                           ("deleted", pv.deletes), ("chmod", pv.chmods)) if v)
            sys.stderr.write(f"apply plan {plan.id}{' (' + plan.title + ')' if plan.title else ''}: "
                             f"{pv.files} file(s), {_human_bytes(pv.bytes)} ({what or 'no change'}) "
                             f"in {ws.root}\n")
            sys.stderr.write("Apply? [y/N] ")
            sys.stderr.flush()
            answer = sys.stdin.readline().strip().lower()
            if answer not in ("y", "yes"):
                sys.stderr.write("wopt: not applied\n")
                return 1

    # a review may have approved a family whole (saved as a template once applied): that needs
    # the plan's model; without one, the apply counts its optimization rate from its own run
    model = _model(ws, plan, review) if review is not None and not args.only else None
    listener, ctx = _progress(not args.json)
    with ctx:
        res = apply_plan(ws, plan, step_ids, mode=args.mode, on_event=listener,
                         lock_timeout=args.lock_timeout, allow_invalid=args.allow_invalid, review=review,
                         model=model)
    if args.json:
        print_json(res.to_json())
        return 0
    if res.outcome == "noop":
        print(f"nothing to change: the files already hold plan {plan.id}'s contents")
        return 0
    total = sum(res.durations.values())
    ops = ", ".join(f"{v} {k}" for k, v in res.ops.items() if v)
    print(f"applied plan {plan.id}: {res.files} file(s), {_human_bytes(res.bytes)} ({ops}) in "
          f"{total:.2f}s, transaction {res.tx} ({res.mode} mode, {res.fsyncs} fsyncs); "
          f"undo with `wopt undo {res.tx}`")
    if res.pending_plan:
        rest = spool.load_plan(ws, res.pending_plan)
        print(f"{len(rest.steps)} step(s) of plan {plan.id} not applied are still pending, as plan "
              f"{res.pending_plan} (`wopt show {res.pending_plan}`)")
    if res.error:
        sys.stderr.write(f"wopt: warning: {res.error}\n")
    return 0


def cmd_undo(args) -> int:
    from ..tx.apply import undo
    from .common import print_json, workspace

    ws = workspace(args)
    listener, ctx = _progress(not args.json)
    with ctx:
        res = undo(ws, args.tx, on_event=listener)
    if args.json:
        print_json(res.to_json())
        return 0
    shown = ", ".join(res.paths[:10]) + (f" and {len(res.paths) - 10} more" if len(res.paths) > 10 else "")
    print(f"undid transaction {res.undoes}{' (plan ' + res.plan + ')' if res.plan else ''}: "
          f"{res.files} file(s) restored ({shown}) by transaction {res.tx}")
    return 0


def cmd_recover(args) -> int:
    from ..tx.recovery import recover
    from .common import print_json, workspace

    ws = workspace(args, recover=False)
    lines = []
    if args.resolve:
        from ..tx.recovery import resolve
        lines.append(resolve(ws, args.resolve))
    lines += recover(ws, lock_timeout=10.0)
    if args.json:
        print_json({"recovered": lines})
        return 0
    if not lines:
        print("nothing to recover: no unfinished transaction")
    for line in lines:
        print(line)
    return 0


def cmd_history(args) -> int:
    from ..store.history import read_history
    from .common import console, plain_table, print_json, workspace, write_bytes

    ws = workspace(args)
    problems: list[str] = []
    recs = read_history(ws, problems)
    if args.limit and args.limit > 0:
        recs = recs[-args.limit:]
    rc = history_problems(problems)
    if args.json:
        print_json(recs)
        return rc
    if not recs:
        print("no transactions yet (`wopt apply PLAN` makes one)")
        return rc
    rows = []
    for r in recs:
        note = [r.get("mode") or ""]
        if r.get("undone_by"):
            note.append(f"undone by {r['undone_by']}")
        elif r.get("undoes"):
            note.append(f"undoes {r['undoes']}")
        elif r.get("error"):
            note.append(r["error"][:120])
        rows.append([str(r.get("tx") or ""), str(r.get("kind") or ""), str(r.get("plan") or ""),
                     str(r.get("outcome", "")), str(r.get("files", "")), _human_bytes(int(r.get("bytes") or 0)),
                     ", ".join(x for x in note if x)])
    header = ["transaction", "kind", "plan", "outcome", "files", "bytes", "note"]
    # plain text written as rich would write it, without loading rich, where that is provably so
    plain = plain_table(header, rows, right=frozenset({4, 5}), min_widths={0: 24, 1: 5, 2: 6, 3: 11},
                        fold=frozenset({2, 6}))
    if plain is not None:
        write_bytes(plain.encode())
        return rc
    from rich.markup import escape
    from rich.table import Table
    t = Table(box=None, header_style="bold")
    # the transaction id is its UTC start time (YYYYMMDD-HHMMSS-...); --json has every field
    t.add_column("transaction", no_wrap=True, min_width=24)
    t.add_column("kind", no_wrap=True, min_width=5)
    t.add_column("plan", overflow="fold", min_width=6)
    t.add_column("outcome", no_wrap=True, min_width=11)
    t.add_column("files", no_wrap=True, justify="right")
    t.add_column("bytes", no_wrap=True, justify="right")
    t.add_column("note", overflow="fold", ratio=1)
    colour = {"committed": "green", "rolled_back": "red", "refused": "yellow"}
    for tx, kind, plan, oc, files, size, text in rows:
        t.add_row(tx, kind, plan, f"[{colour.get(oc, 'white')}]{oc}[/]", files, size, escape(text))
    console().print(t)
    return rc


def history_problems(problems: list[str]) -> int:
    """Name the history records left out (wrong shape) on stderr: exit 1 when there are any."""
    for p in problems[:20]:
        sys.stderr.write(f"wopt: error: {p}\n")
    if len(problems) > 20:
        sys.stderr.write(f"wopt: error: and {len(problems) - 20} more such lines\n")
    if problems:
        sys.stderr.write("wopt: the other records are shown; fix or delete those lines of .wopt/history.jsonl\n")
    return 1 if problems else 0


def _model(ws, plan, review):
    """The plan's review model, for the history's optimization rate and learned templates;
    None when the analysis cannot run (the apply itself reports what is wrong)."""
    from ..analysis import analyze
    from ..model.errors import WoptError
    try:
        # families are detected only when a review may have approved one whole (to save it)
        return analyze(ws, plan, review, families=review is not None)
    except WoptError:  # the apply itself meets the same problem and reports it
        return None
