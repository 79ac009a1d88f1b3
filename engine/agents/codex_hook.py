"""`wopt hook codex`: wopt between Codex CLI and the disk (its PreToolUse hook).

Codex runs the hook before each `apply_patch` call and sends the call as JSON on stdin, the
raw `*** Begin Patch` envelope in `tool_input.command` (paths relative to the session's
`cwd`). Its answer (CONTRACTS: Codex `output_parser.rs`): allow is `{}` (a bare
`permissionDecision: "allow"` is a failed hook, and Codex then runs the tool: fail open);
deny is `hookSpecificOutput.permissionDecision: "deny"` with a non-empty reason.

- queue: every file the patch touches joins the session's pending plan `codex-<session>`
  (a later patch of a queued file applies to the queued content); the answer is a deny
  telling the model the patch is queued for review and to carry on as if it were applied.
- gate: the patch's steps wait in `codex-<session>-gate` until the person decides: all
  approved -> `{}` and Codex applies its patch; one rejected -> deny with the reason; no
  decision within the timeout (default 570 s, under Codex's 600 s) -> deny. Codex rewrites
  a call (`updatedInput`) only for freeform apply_patch calls and the hook cannot tell which
  kind it got, so a patch approved with the person's edits is applied by wopt and denied
  with a reason saying so.

Patches are read by `sources/codex.py`; every error denies, never a crash, always exit 0.
"""
from __future__ import annotations


from . import common
from .hook import Agent

CODEX = Agent("codex", "Codex", "codex-hook", "codex")
DEFAULT_GATE_TIMEOUT = 570.0   # Codex's hook timeout defaults to 600 s


def deny(reason: str) -> dict:
    return {"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": "deny",
                                   "permissionDecisionReason": reason or "wopt denied this write"}}


ALLOW: dict = {}


class _View:
    """The workspace as the session's queued plan leaves it, with the agent's relative paths
    taken from its cwd: what `sources.codex.read` reads a patch against."""

    def __init__(self, ws, cwd, read):
        self._ws = ws
        self._cwd = cwd
        self._read = read

    def relativize(self, path: str, *, step: str | None = None) -> str:
        from ..model.errors import PathError
        try:
            return self._ws.relativize(common.absolute(path, self._cwd), step=step)
        except PathError as e:
            raise PathError(path, e.message.rsplit(": ", 1)[-1], step=step) from None

    def read(self, rel: str, *, step: str | None = None):
        return self._read(rel)

    def __getattr__(self, name):
        return getattr(self._ws, name)


def patch_calls(ws, payload: dict, read) -> list:
    """The patch as fold Calls on the files as `read` gives them (one per resulting step)."""
    from ..model.errors import PlanError
    from ..model.plan import ChmodStep, DeleteStep, EditStep, MoveStep, WriteStep, parse_mode, write_bytes
    from ..sources import codex
    from ..sources.fold import Call

    patch = common.string(common.tool_input(payload), "command", "tool_input", empty=False)
    cid = payload.get("tool_use_id") if isinstance(payload.get("tool_use_id"), str) else None
    try:
        plan = codex.read(patch.encode("utf-8", "surrogatepass"), _View(ws, payload.get("cwd"), read),
                          name="apply_patch")
    except UnicodeEncodeError:
        raise common.HookInputError("the patch is not valid Unicode text") from None
    calls = []
    for s in plan.steps:
        summary = "; ".join(o.summary for o in s.origin if o.summary) or None
        if isinstance(s, WriteStep):
            c = Call("apply_patch", "write", s.path, call_id=cid, summary=summary, content=write_bytes(s),
                     mode=parse_mode(s.mode) if s.mode else None)
        elif isinstance(s, EditStep):
            c = Call("apply_patch", "edit", s.path, call_id=cid, summary=summary,
                     edits=[(e.old_string, e.new_string, e.replace_all) for e in s.edits])
        elif isinstance(s, DeleteStep):
            c = Call("apply_patch", "delete", s.path, call_id=cid, summary=summary)
        elif isinstance(s, MoveStep):
            c = Call("apply_patch", "move", s.path, to=s.to, call_id=cid, summary=summary)
        elif isinstance(s, ChmodStep):
            c = Call("apply_patch", "chmod", s.path, call_id=cid, summary=summary, mode=parse_mode(s.mode))
        else:  # pragma: no cover - the reader makes none of the others
            raise PlanError(f"apply_patch: a {type(s).__name__} step cannot be queued")
        calls.append(c)
    return calls


def handle(payload: dict, *, mode: str = common.QUEUE, timeout: float = DEFAULT_GATE_TIMEOUT,
           root: str | None = None) -> dict:
    from .hook import _workspace
    if common.tool_name(payload) != "apply_patch":
        return ALLOW  # not a file write: no opinion, Codex's own rules decide
    common.string(common.tool_input(payload), "command", "tool_input", empty=False)
    ws = _workspace(payload, root)

    def make(read):
        return patch_calls(ws, payload, read)
    if mode == common.GATE:
        out = common.gate(ws, payload, make, CODEX, timeout)
        if out.decision == "approved":
            return deny(common.applied_reason(out)) if out.applied else ALLOW
        if out.decision == "rejected":
            return deny(common.rejected_reason(out))
        return deny(common.timeout_reason("apply_patch", out, timeout))
    pid, hits, calls, folded = common.queue(ws, payload, make, CODEX)
    return deny(common.queued_reason(pid, hits, calls, folded)
                + " Do not re-send this patch: it is already queued.")


def main(stdin=None, stdout=None, *, mode: str = common.QUEUE, timeout: float = DEFAULT_GATE_TIMEOUT,
         root: str | None = None) -> int:
    return common.main(lambda p: handle(p, mode=mode, timeout=timeout, root=root), deny, stdin, stdout)
