"""wopt hook claude, wopt install-hook claude, wopt approve, wopt reject.

Top-level imports stay argparse-only: `wopt hook` runs on every agent write."""
from __future__ import annotations

ORDER = 40
COMMANDS = ('hook', 'install-hook', 'approve', 'reject')   # the commands register() adds (main builds only the one called)


def register(sub, common) -> None:
    register_hook(sub, common)
    register_others(sub, common)


def _quick_args(argv: list[str]):
    """`hook claude [--mode M] [--timeout S] [--root DIR]` parsed without argparse (which costs
    a few ms of imports on every agent write); None for anything else (argparse handles it)."""
    if argv[:2] != ["hook", "claude"]:
        return None
    opts = {"mode": "queue", "timeout": 570.0, "root": None}
    rest = argv[2:]
    i = 0
    while i < len(rest):
        key, _, val = rest[i].partition("=")
        if key not in ("--mode", "--timeout", "--root"):
            return None
        if not _:
            if i + 1 >= len(rest):
                return None
            val = rest[i + 1]
            i += 1
        i += 1
        if key == "--mode":
            if val not in ("queue", "gate"):
                return None
            opts["mode"] = val
        elif key == "--timeout":
            try:
                opts["timeout"] = float(val)
            except ValueError:
                return None
        else:
            opts["root"] = val
    return opts


def fast_main(argv: list[str]) -> int:
    """`wopt hook ...` without discovering every command module: it runs on every agent write."""
    quick = _quick_args(argv)
    if quick is not None:
        from ..hook import main
        return main(mode=quick["mode"], timeout=quick["timeout"], root=quick["root"])
    import argparse
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--root", metavar="DIR", default=argparse.SUPPRESS)
    class _Bad(Exception):
        pass

    class _Parser(argparse.ArgumentParser):
        def error(self, message):  # a bad hook command line still answers Claude Code with a deny
            raise _Bad(message)

    p = _Parser(prog="wopt", parents=[common])
    register_hook(p.add_subparsers(dest="command", parser_class=_Parser), common)
    try:
        args = p.parse_args(argv)
    except _Bad as e:
        import json
        import sys
        sys.stderr.write(f"wopt: error: {e} (see `wopt hook --help`)\n")
        reason = f"wopt's hook is misconfigured ({e}); the write was not made. Fix the hook command in .claude/settings.json."
        sys.stdout.write(json.dumps({"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": "deny",
                                                            "permissionDecisionReason": reason}}) + "\n")
        return 0
    return args.func(args)


def register_hook(sub, common) -> None:
    p = sub.add_parser("hook", parents=[common], help="the Claude Code PreToolUse hook (reads JSON on stdin)",
                       description="Read a Claude Code PreToolUse payload on stdin and answer with a "
                       "decision on stdout (always exit 0; any error is a deny). queue: the write joins "
                       "the session's pending plan and is denied with a note that it is queued. gate: "
                       "wait for `wopt approve`/`wopt reject` (or the review app).")
    p.add_argument("agent", choices=["claude"])
    p.add_argument("--mode", choices=["queue", "gate"], default="queue")
    p.add_argument("--timeout", type=float, default=570.0, metavar="S",
                   help="gate mode: seconds to wait for a decision before denying (default 570)")
    p.set_defaults(func=cmd_hook)


def register_others(sub, common) -> None:
    p = sub.add_parser("install-hook", parents=[common], help="install wopt's hook into Claude Code settings",
                       description="Merge wopt's PreToolUse hook for Write|Edit|MultiEdit|NotebookEdit into "
                       "Claude Code's settings (project: .claude/settings.json, local: "
                       ".claude/settings.local.json, user: ~/.claude/settings.json), keeping everything "
                       "else. Running it again replaces wopt's entry; --uninstall removes it.")
    p.add_argument("agent", choices=["claude"])
    p.add_argument("--mode", choices=["queue", "gate"], default="queue")
    p.add_argument("--scope", choices=["project", "local", "user"], default="project")
    p.add_argument("--timeout", type=float, default=570.0, metavar="S",
                   help="gate mode: seconds the hook waits for a decision (Claude Code's timeout is set 30 s above)")
    p.add_argument("--uninstall", action="store_true", help="remove wopt's hook instead")
    p.set_defaults(func=cmd_install_hook)

    p = sub.add_parser("approve", parents=[common], help="approve steps of a plan (default: all)")
    p.add_argument("plan", metavar="PLAN")
    p.add_argument("steps", metavar="STEP", nargs="*", help="step ids or 1-based positions")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_approve)

    p = sub.add_parser("reject", parents=[common], help="reject steps of a plan (default: all)")
    p.add_argument("plan", metavar="PLAN")
    p.add_argument("steps", metavar="STEP", nargs="*", help="step ids or 1-based positions")
    p.add_argument("--reason", help="why (told to the agent)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_reject)


def cmd_hook(args) -> int:
    from ..hook import main
    return main(mode=args.mode, timeout=args.timeout, root=getattr(args, "root", None))


def cmd_install_hook(args) -> int:
    from .. import claude_settings as cs
    from ..errors import UsageError
    from ..workspace import Workspace, find_root

    if args.timeout <= 0 or args.timeout > 86400:
        raise UsageError("--timeout must be between 0 and 86400 seconds")
    root = Workspace(find_root(getattr(args, "root", None))).root
    path = cs.settings_path(args.scope, root)
    shown = path if args.scope == "user" else path.relative_to(root)
    if args.uninstall:
        if cs.uninstall(path):
            print(f"removed wopt's hook from {shown}")
        else:
            print(f"wopt's hook was not in {shown}; nothing changed")
        return 0
    hook = cs.install(path, args.mode, args.timeout)
    print(f"installed wopt's {args.mode} hook in {shown} (timeout {hook['timeout']} s): {hook['command']}")
    return 0


def _decide(args, fn, **kw) -> int:
    from .. import spool
    from .common import print_json, workspace
    ws = workspace(args)
    plan = spool.load_plan(ws, args.plan)
    ids = fn(ws, plan.id, args.steps or None, **kw)
    verb = "approved" if fn.__name__ == "approve" else "rejected"
    if args.json:
        print_json({"plan": plan.id, verb: ids})
    else:
        print(f"{verb} {len(ids)} step{'s' * (len(ids) != 1)} of plan {plan.id}: {', '.join(ids)}")
    return 0


def cmd_approve(args) -> int:
    from ..decide import approve
    return _decide(args, approve)


def cmd_reject(args) -> int:
    from ..decide import reject
    return _decide(args, reject, reason=args.reason)
