"""`wopt hook gemini`: wopt between Gemini CLI and the disk (its BeforeTool hook).

Gemini CLI runs the hook before `write_file` (`file_path`, `content`) and `replace`
(`file_path`, `instruction`, `old_string`, `new_string`, `allow_multiple`) and sends the call
as JSON on stdin; `file_path` may be relative to the session's `cwd`. The answer is JSON on
stdout, exit 0 (CONTRACTS: GM `hookRunner.ts`, `hook-utils.ts`): `{"decision": "deny",
"reason": ...}` blocks the call and the model sees the reason; `{"decision": "allow"}` runs
it; `hookSpecificOutput.tool_input` is merged over the call's arguments.

- queue: the write joins the session's pending plan `gemini-<session>` (a later `replace`
  of a queued file applies to the queued content); deny, telling the model it is queued.
- gate: the call waits in `gemini-<session>-gate` until the person decides: approve ->
  allow; reject -> deny with the reason; no decision within the timeout (default 50 s, under
  Gemini's 60 s default; the installer raises both) -> deny. A `write_file` the person edited
  is allowed with their content in `hookSpecificOutput.tool_input`; a `replace` cannot carry
  a whole new file, so wopt applies the edited version and denies with a reason saying so.

Every error denies, never a crash, always exit 0 (a crash or a timeout would let the write
through: Gemini fails open).
"""
from __future__ import annotations

from . import common
from .hook import Agent

GEMINI = Agent("gemini", "Gemini", "gemini-hook", "gemini")
DEFAULT_GATE_TIMEOUT = 50.0    # Gemini's hook timeout defaults to 60,000 ms
WRITE_TOOLS = ("write_file", "replace")


def deny(reason: str) -> dict:
    return {"decision": "deny", "reason": reason or "wopt denied this write"}


def allow(tool_input: dict | None = None) -> dict:
    out: dict = {"decision": "allow"}
    if tool_input:
        out["hookSpecificOutput"] = {"hookEventName": "BeforeTool", "tool_input": tool_input}
    return out


def tool_calls(ws, payload: dict, read) -> list:
    """The write_file or replace call as a fold Call on the file as `read` gives it."""
    from ..model.errors import StepError
    from ..sources.fold import Call, agent_path, to_bytes

    tool = payload["tool_name"]
    inp = common.tool_input(payload)
    raw = common.string(inp, "file_path", "tool_input", empty=False)
    rel = agent_path(ws, common.absolute(raw, payload.get("cwd")), what="file_path")
    at = payload.get("timestamp") if isinstance(payload.get("timestamp"), str) else None
    if tool == "write_file":
        content = common.string(inp, "content", "tool_input")
        call = Call(tool, "write", rel, at=at)
        call.content = to_bytes(content, what="content", call=call)
        call.summary = f"write {len(call.content)} bytes"
        return [call]
    old = common.string(inp, "old_string", "tool_input")
    new = common.string(inp, "new_string", "tool_input")
    every = inp.get("allow_multiple", False)
    if every is None:
        every = False
    if not isinstance(every, bool):
        raise common.HookInputError("tool_input.allow_multiple is not true or false")
    instruction = inp.get("instruction")
    summary = instruction if isinstance(instruction, str) and instruction else "replace"
    summary = summary if len(summary) <= 80 else summary[:79] + "…"
    if old == "":
        # Gemini's replace with an empty old_string creates a file that does not exist yet
        call = Call(tool, "transform", rel, at=at, summary=summary)
        data = to_bytes(new, what="new_string", call=call)

        def create(before, data=data):
            if before is not None:
                raise StepError("replace: old_string is empty, but the file already exists", path=rel,
                                hint="give the text to replace, or write the whole file with write_file")
            return data
        call.transform = create
        return [call]
    return [Call(tool, "edit", rel, at=at, summary=summary, edits=[(old, new, every)])]


def handle(payload: dict, *, mode: str = common.QUEUE, timeout: float = DEFAULT_GATE_TIMEOUT,
           root: str | None = None) -> dict:
    from .hook import _workspace
    tool = common.tool_name(payload)
    if tool not in WRITE_TOOLS:
        return {}  # not a write: no opinion, Gemini's own policy decides
    common.string(common.tool_input(payload), "file_path", "tool_input", empty=False)
    ws = _workspace(payload, root)

    def make(read):
        return tool_calls(ws, payload, read)
    if mode == common.GATE:
        def rewrites(out) -> bool:
            # write_file carries the whole content: Gemini writes the person's version
            return tool == "write_file" and len(out.content) == 1 and \
                _text(next(iter(out.content.values()))) is not None
        out = common.gate(ws, payload, make, GEMINI, timeout, rewrites=rewrites)
        if out.decision == "approved":
            if out.applied:
                return deny(common.applied_reason(out))
            if out.content:
                return allow({"content": _text(next(iter(out.content.values())))})
            return allow()
        if out.decision == "rejected":
            return deny(common.rejected_reason(out))
        return deny(common.timeout_reason(tool, out, timeout))
    pid, hits, calls, folded = common.queue(ws, payload, make, GEMINI)
    return deny(common.queued_reason(pid, hits, calls, folded))


def _text(data: bytes | None) -> str | None:
    if data is None:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def main(stdin=None, stdout=None, *, mode: str = common.QUEUE, timeout: float = DEFAULT_GATE_TIMEOUT,
         root: str | None = None) -> int:
    return common.main(lambda p: handle(p, mode=mode, timeout=timeout, root=root), deny, stdin, stdout)
