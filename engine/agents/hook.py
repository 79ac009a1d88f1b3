"""wopt between Claude Code and the disk: the PreToolUse hook.

Claude Code runs `wopt hook claude` before every Write, Edit, MultiEdit and NotebookEdit and
sends the call as JSON on stdin. The hook answers with one JSON object on stdout and exit 0:

- queue (default): the write joins the session's pending plan in `.wopt/plans/` (one plan per
  session, appended under the plan's lock so calls arriving at once lose nothing; writes to
  one file fold into one step, and a later Edit of a queued file applies to the queued
  content). The answer is `deny` with a reason telling the model the change is queued for
  human review as step N of plan P and to carry on as if it were done. Once a plan of the
  session is applied, even in part, its steps left pending are the session's next plan
  (`claude-<session>-2` ...), which later calls join.
- gate: the call becomes a step of the session's gate plan and the hook waits while the person
  decides (`wopt approve/reject`, or the review app): approve -> `allow` (Claude Code writes),
  reject -> `deny` with the person's reason, no decision in time -> `deny`. A decided gate step
  leaves the gate plan (it holds only calls still waiting). Approved with the person's edits:
  a Write is allowed with their content (`updatedInput`); any other call is applied by wopt
  in its edited version and denied with a reason saying so.

`queue_calls` and `gate_calls` are the agent-neutral core that the Codex and Gemini CLI hooks
(`engine/agents/`) share.

Fails closed: any internal error, a malformed payload or a path outside the workspace gives a
`deny` that says why; never a traceback, never exit 1 (which Claude Code ignores).

Imports stay light (no rich, textual, jinja2, pygments, unidiff): this runs on every write.
"""
from __future__ import annotations

import json
import os
import re
import sys
from typing import NamedTuple

from ..model.lines import HOOK_PREFIXES, _session_key, is_gate_plan, plan_line  # noqa: F401  (importable from the hook)

QUEUE, GATE = "queue", "gate"
DEFAULT_GATE_TIMEOUT = 570.0   # under Claude Code's 600 s default hook timeout


class Agent(NamedTuple):
    """Whose hook this is: plan ids `<prefix>-<session>`, titles, the plan's source and agent."""
    prefix: str
    name: str
    source: str
    agent: str


CLAUDE = Agent("claude", "Claude Code", "claude-hook", "claude-code")


def response(decision: str, reason: str) -> dict:
    return {"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": decision,
                                   "permissionDecisionReason": reason}}


def deny(reason: str) -> dict:
    return response("deny", reason)


def _workspace(payload: dict, root: str | None):
    from ..store.workspace import Workspace, find_root
    if root:
        return Workspace(find_root(root))
    cwd = payload.get("cwd")
    if isinstance(cwd, str) and cwd and os.path.isdir(cwd):
        return Workspace(find_root(cwd=cwd))
    return Workspace(find_root())


def _applied(ws, plan_id: str) -> bool:
    """Whether a transaction has applied (part of) the plan: its review says so, or the
    history has a committed apply of it (an apply with --all records no review)."""
    from ..model.errors import WoptError
    from ..store import spool
    try:
        if spool.load_review(ws, plan_id).applied:
            return True
    except (WoptError, OSError, ValueError):
        return True  # unreadable review: do not fold into that plan
    try:
        data = (ws.spool / "history.jsonl").read_bytes()
    except OSError:
        return False
    needle = json.dumps(plan_id).encode()
    for line in data.splitlines():
        if needle in line:
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if isinstance(rec, dict) and rec.get("plan") == plan_id and rec.get("kind") == "apply" \
                    and rec.get("outcome") == "committed":
                return True
    return False


def session_plan_id(ws, key: str, prefix: str = "claude") -> str:
    """The session's pending plan: `claude-<session>`, or the next generation once a plan of
    the session has been applied."""
    from ..store import spool
    n = 1
    while True:
        pid = f"{prefix}-{key}" if n == 1 else f"{prefix}-{key}-{n}"
        if not spool.plan_file(ws, pid).exists() or not _applied(ws, pid):
            return pid
        n += 1


def _load(ws, pid: str):
    from ..store import spool
    f = spool.plan_file(ws, pid)
    if f.exists():
        return spool.load_plan(ws, pid)
    return None


def queue(ws, payload: dict, call) -> dict:
    pid, steps, [group] = queue_calls(ws, payload, lambda folder: [call])
    n = next((i for i, s in enumerate(steps, 1) if s.id == group.step_id), len(steps))
    verb = "folded into" if len(group.origins) > 1 else "queued as"
    return deny(f"wopt: this {call.tool} of {call.path} is {verb} step {n} ({group.step_id}) of plan "
                f"{pid}, queued for human review in wopt; it has not been written yet. Carry on as if "
                f"the write were done: later edits of {call.path} apply to the queued content. The "
                f"person reviews and applies the plan with `wopt-tui` or `wopt apply {pid}`.")


def queue_calls(ws, payload: dict, make_calls, who: Agent = CLAUDE):
    """Fold calls into the session's pending plan under its lock: (plan id, its steps, the
    fold group of each call). `make_calls(folder)` gives the calls once the folder holds the
    queued content (`folder._state(rel)` reads a path as the plan leaves it)."""
    from ..store import spool
    from ..model.plan import Plan
    from ..model.review import REJECTED
    from ..sources.fold import Folder

    key = _session_key(payload)
    with spool.plan_lock(ws, f"{who.prefix}-{key}"):
        pid = session_plan_id(ws, key, who.prefix)
        plan = _load(ws, pid)
        folder = Folder(ws)
        if plan is not None and plan.steps:
            from ..store.effects import compute
            review = spool.load_review(ws, pid)
            decided = {s.id for s in plan.steps if review.decision(s.id) != "pending"}
            live = [s.id for s in plan.steps if review.decision(s.id) != REJECTED]
            out = compute(ws, plan, live, check_preconditions=False)
            folder.seed(plan, out.results, decided)
        groups = [folder.add(c) for c in make_calls(folder)]
        steps = folder.steps()
        if plan is None:
            sid = payload.get("session_id") if isinstance(payload.get("session_id"), str) else None
            plan = Plan(id=pid, title=f"{who.name} session {key[:8]}", source=who.source,
                        agent=who.agent, session_id=sid)
        plan.steps = steps
        _keep_bases(ws, groups)
        spool.save_plan(ws, plan)
    return pid, steps, groups


def _keep_bases(ws, groups) -> None:
    """Keep the files these calls first acted on (what the agent saw): a step that goes
    stale can then be merged onto the later file (`wopt rebase`, ctrl+b in the review)."""
    from ..store.bases import keep_base
    from ..model.plan import sha256
    for g in groups:
        if g.base is not None and (not g.precondition or g.precondition == sha256(g.base)):
            keep_base(ws, g.base)


def gate(ws, payload: dict, call, timeout: float) -> dict:
    from . import common
    from ..model.review import APPROVED, REJECTED

    def rewrites(out) -> bool:
        # a Write carries the whole content: Claude Code writes the person's version
        return call.tool == "Write" and len(out.content) == 1 and _utf8(next(iter(out.content.values())))

    out = common.gate(ws, payload, lambda read: [call], CLAUDE, timeout, rewrites=rewrites)
    pid, where = out.pid, ", ".join(out.step_ids)
    if out.decision == APPROVED:
        if out.applied:
            return deny(common.applied_reason(out))
        res = response("allow", f"approved in wopt review (plan {pid}, step {where})")
        edited = next(iter(out.content.values()), None)
        if edited is not None:
            res["hookSpecificOutput"]["updatedInput"] = {
                **payload["tool_input"], "content": edited.decode("utf-8")}
            res["hookSpecificOutput"]["permissionDecisionReason"] += " with the reviewer's edit"
        return res
    if out.decision == REJECTED:
        return deny(common.rejected_reason(out))
    return deny(f"wopt: no decision on this {call.tool} of {call.path} within {timeout:g} s "
                f"(plan {pid}, step {where}); it was not written. Ask the person to review it in wopt.")


def _utf8(data: bytes | None) -> bool:
    if data is None:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def gate_calls(ws, payload: dict, make_calls, who: Agent = CLAUDE):
    """Add calls as steps of the session's gate plan (`<prefix>-<session>-gate`, which holds
    only calls still waiting): (plan id, the new steps)."""
    from ..store import spool
    from ..model.plan import Plan
    from ..sources.fold import Folder

    key = _session_key(payload)
    pid = f"{who.prefix}-{key}-gate"
    with spool.plan_lock(ws, pid):
        plan = _load(ws, pid)
        if plan is None:
            sid = payload.get("session_id") if isinstance(payload.get("session_id"), str) else None
            plan = Plan(id=pid, title=f"{who.name} session {key[:8]} (waiting calls)", source=who.source,
                        agent=who.agent, session_id=sid)
        folder = Folder(ws)
        for c in make_calls(folder):
            folder.add(c)
        new = folder.steps()
        used = {s.id for s in plan.steps}
        n = 1 + max((int(s.id[1:]) for s in plan.steps if s.id[1:].isdigit()), default=0)
        for s in new:
            while f"g{n}" in used:
                n += 1
            s.id = f"g{n}"
            used.add(s.id)
        plan.steps.extend(new)
        spool.save_plan(ws, plan)
    return pid, new


def _forget(ws, pid: str, step_ids: list[str]) -> None:
    """Take decided (or abandoned) gate steps out of the gate plan and its review."""
    from ..store import spool
    with spool.plan_lock(ws, pid):
        plan = _load(ws, pid)
        if plan is None:
            return
        plan.steps = [s for s in plan.steps if s.id not in step_ids]
        if plan.steps:
            from ..store.decide import update
            from ..model.review import ReviewPatch
            spool.save_plan(ws, plan)
            update(ws, pid, ReviewPatch.decisions({s: "pending" for s in step_ids}))
            return
        with spool.review_lock(ws, pid):
            for f in (spool.plan_file(ws, pid), spool.review_file(ws, pid)):
                try:
                    f.unlink()
                except FileNotFoundError:
                    pass


def handle(data: bytes, *, mode: str = QUEUE, timeout: float = DEFAULT_GATE_TIMEOUT,
           root: str | None = None) -> dict:
    """The hook's answer to one PreToolUse payload. Never raises."""
    try:
        return _handle(data, mode=mode, timeout=timeout, root=root)
    except BaseException as e:  # noqa: BLE001 - fail closed on anything, even KeyboardInterrupt
        return deny(refusal(e))


def refusal(e: BaseException) -> str:
    """What an agent is told when handling its write failed: wopt's refusal, or an internal
    error; either way the write was not made (every hook denies with it)."""
    from ..model.errors import WoptError
    if isinstance(e, WoptError):
        return f"wopt refused this write: {e}. It was not written."
    return f"wopt could not handle this write (internal error: {type(e).__name__}: {e}); it was not written."


def _handle(data: bytes, *, mode: str, timeout: float, root: str | None) -> dict:
    from ..model.errors import PathError
    try:
        payload = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        return deny(f"wopt: the hook input is not valid JSON ({e}); the write was not made.")
    if not isinstance(payload, dict):
        return deny("wopt: the hook input is not a JSON object; the write was not made.")
    tool = payload.get("tool_name")
    from ..sources.claude_hook import WRITE_TOOLS, payload_call
    if not isinstance(tool, str):
        return deny("wopt: the hook input has no tool_name; the write was not made.")
    if tool not in WRITE_TOOLS:
        return {}  # not a write: no opinion, Claude Code's own permissions decide
    ws = _workspace(payload, root)
    try:
        call = payload_call(ws, payload)
    except PathError as e:
        return deny(f"wopt refused this write: {e.message} (workspace {ws.root}); it was not made.")
    if call is None:
        return {}
    if mode == GATE:
        return gate(ws, payload, call, timeout)
    return queue(ws, payload, call)


def serve(answer, deny, stdin=None, stdout=None) -> int:
    """One hook call, for every agent: read the payload, print `answer(data)` (which never
    raises) as one JSON object, exit 0. If the answer cannot be written, an empty stdout with
    exit 0 would let the write through (Codex reads it as allow), so the reason goes to stderr
    and the exit code is 2, which Claude Code, Codex and Gemini CLI all take as a block."""
    stdin = stdin or sys.stdin.buffer
    stdout = stdout or sys.stdout
    try:
        data = stdin.read()
    except BaseException as e:  # noqa: BLE001 - fail closed: deny
        out = deny(f"wopt could not read the hook input ({e}); the write was not made.")
    else:
        out = answer(data)
    try:
        stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
        stdout.flush()
    except BaseException as e:  # noqa: BLE001 - fail closed: block by the exit code
        try:
            sys.stderr.write(f"wopt could not answer the hook ({e}); the write was not made.\n")
            sys.stderr.flush()
        except OSError:
            pass   # the exit code alone still blocks
        return 2
    return 0


def main(stdin=None, stdout=None, *, mode: str = QUEUE, timeout: float = DEFAULT_GATE_TIMEOUT,
         root: str | None = None) -> int:
    return serve(lambda data: handle(data, mode=mode, timeout=timeout, root=root), deny, stdin, stdout)
