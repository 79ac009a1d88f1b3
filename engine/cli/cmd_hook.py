"""wopt hook claude|codex|gemini, wopt install-hook claude|codex|gemini, wopt approve,
wopt reject, wopt mcp.

Top-level imports stay argparse-only: `wopt hook` runs on every agent write."""
from __future__ import annotations

ORDER = 40
AGENTS = ("claude", "codex", "gemini")
# how long a gate waits for a person by default: under each agent's own default hook timeout
# (Claude Code and Codex: 600 s; Gemini CLI: 60 s)
GATE_TIMEOUTS = {"claude": 570.0, "codex": 570.0, "gemini": 50.0}
CONFIG_FILES = {"claude": ".claude/settings.json", "codex": ".codex/hooks.json", "gemini": ".gemini/settings.json"}
COMMANDS = ('hook', 'install-hook', 'approve', 'reject', 'mcp')   # the commands register() adds (main builds only the one called)


def register(sub, common) -> None:
    register_hook(sub, common)
    register_others(sub, common)


def _quick_args(argv: list[str]):
    """`hook AGENT [--mode M] [--timeout S] [--root DIR]` parsed without argparse (which costs
    a few ms of imports on every agent write); None for anything else (argparse handles it)."""
    if len(argv) < 2 or argv[0] != "hook" or argv[1] not in AGENTS:
        return None
    opts = {"agent": argv[1], "mode": "queue", "timeout": GATE_TIMEOUTS[argv[1]], "root": None}
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
        return _run_hook(quick["agent"], quick["mode"], quick["timeout"], quick["root"])
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
        agent = argv[1] if len(argv) > 1 and argv[1] in AGENTS else "claude"
        reason = (f"wopt's hook is misconfigured ({e}); the write was not made. Fix the hook command in "
                  f"{CONFIG_FILES[agent]}.")
        if agent == "gemini":
            out: dict[str, object] = {"decision": "deny", "reason": reason}
        else:
            out = {"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": "deny",
                                          "permissionDecisionReason": reason}}
        sys.stdout.write(json.dumps(out) + "\n")
        return 0
    return args.func(args)


def register_hook(sub, common) -> None:
    p = sub.add_parser("hook", parents=[common], help="an agent's write hook: Claude Code, Codex, Gemini CLI "
                       "(reads JSON on stdin)",
                       description="Read an agent's hook payload on stdin (Claude Code PreToolUse, Codex "
                       "PreToolUse for apply_patch, Gemini CLI BeforeTool for write_file/replace) and answer "
                       "with a decision on stdout in that agent's format (always exit 0; any error is a "
                       "deny). queue: the write joins the session's pending plan and is denied with a note "
                       "that it is queued. gate: wait for `wopt approve`/`wopt reject` (or the review app).")
    _agent_arguments(p, "gate mode: seconds to wait for a decision before denying (default 570; gemini 50)")
    p.set_defaults(func=cmd_hook)


def _agent_arguments(p, timeout_help: str) -> None:
    """The agent, --mode and --timeout that `hook` and `install-hook` share."""
    p.add_argument("agent", choices=list(AGENTS))
    p.add_argument("--mode", choices=["queue", "gate"], default="queue")
    p.add_argument("--timeout", type=float, default=None, metavar="S", help=timeout_help)


def register_others(sub, common) -> None:
    p = sub.add_parser("install-hook", parents=[common], help="put wopt in an agent's write path "
                       "(Claude Code, Codex, Gemini CLI)",
                       description="Merge wopt's write hook into an agent's configuration, keeping "
                       "everything else. claude: PreToolUse for Write|Edit|MultiEdit|NotebookEdit in "
                       ".claude/settings.json (local: .claude/settings.local.json, user: "
                       "~/.claude/settings.json). codex: PreToolUse for apply_patch in .codex/hooks.json "
                       "(user: ~/.codex/hooks.json). gemini: BeforeTool for write_file|replace in "
                       ".gemini/settings.json (user: ~/.gemini/settings.json). Running it again replaces "
                       "wopt's entry; --uninstall removes it.")
    _agent_arguments(p, "gate mode: seconds the hook waits for a decision (default 570; the agent's own "
                     "timeout is set 30 s above)")
    p.add_argument("--scope", choices=["project", "local", "user"], default="project",
                   help="local is Claude Code's only")
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

    p = sub.add_parser("mcp", parents=[common], help="an MCP server (stdio) for agents without hooks",
                       description="Serve wopt over MCP on stdin/stdout, for agents without write hooks: "
                       "tools to propose a plan (plan JSON, or files and edits), read a plan's status and "
                       "decisions, and wait for a decision. Plans land in .wopt/plans/ under the MCP "
                       "client's name; a person reviews them with wopt-tui or wopt approve/reject.")
    p.set_defaults(func=cmd_mcp)


def _run_hook(agent: str, mode: str, timeout: float, root: str | None) -> int:
    if agent == "codex":
        from ..agents.codex_hook import main
    elif agent == "gemini":
        from ..agents.gemini_hook import main
    else:
        from ..agents.hook import main
    return main(mode=mode, timeout=timeout, root=root)


def cmd_hook(args) -> int:
    timeout = GATE_TIMEOUTS[args.agent] if args.timeout is None else args.timeout
    return _run_hook(args.agent, args.mode, timeout, getattr(args, "root", None))


def cmd_install_hook(args) -> int:
    from ..model.errors import UsageError
    from ..store.workspace import Workspace, find_root

    if args.timeout is not None and (args.timeout <= 0 or args.timeout > 86400):
        raise UsageError("--timeout must be between 0 and 86400 seconds")
    if args.agent != "claude":
        return _install_agent(args)
    from ..agents import claude_settings as cs
    if args.timeout is None:
        args.timeout = GATE_TIMEOUTS["claude"]
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


def _install_agent(args) -> int:
    from ..agents import install as ai
    from ..model.errors import UsageError
    from ..store.workspace import Workspace, find_root

    if args.scope == "local":
        raise UsageError(f"--scope local is Claude Code's only; {args.agent} has project and user scopes")
    root = Workspace(find_root(getattr(args, "root", None))).root
    path = ai.config_path(args.agent, args.scope, root)
    shown = path if args.scope == "user" else path.relative_to(root)
    if args.uninstall:
        if ai.uninstall(args.agent, path):
            print(f"removed wopt's hook from {shown}")
        else:
            print(f"wopt's hook was not in {shown}; nothing changed")
        return 0
    hook = ai.install(args.agent, path, args.mode, args.timeout)
    unit = f"{hook['timeout']} s" if args.agent == "codex" else f"{hook['timeout']} ms"
    print(f"installed wopt's {args.mode} hook in {shown} (timeout {unit}): {hook['command']}")
    for note in ai.notes(args.agent, path, args.scope):
        print(f"note: {note}")
    return 0


def _decide(args, fn, **kw) -> int:
    from ..store import spool
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
    from ..store.decide import approve
    return _decide(args, approve)


def cmd_reject(args) -> int:
    from ..store.decide import reject
    return _decide(args, reject, reason=args.reason)


def cmd_mcp(args) -> int:
    from ..agents.mcp_server import serve
    return serve(getattr(args, "root", None))
