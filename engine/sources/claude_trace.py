"""claude-trace logs (`.claude-trace/log-*.jsonl`): one request/response pair a line.

Every request repeats the whole conversation, so one tool call appears in many lines: calls
are deduplicated by their tool_use id and kept in order of first appearance. A call is found
in request histories (`request.body.messages`) and in responses: a JSON `body`, or the raw
server-sent events in `body_raw`, where a tool call is a `content_block_start` of type
tool_use followed by `input_json_delta` fragments to join. Write calls whose tool_result
came back with an error are dropped (they wrote nothing); a call whose result is not in the
log (the log ends first, as it often does after the last call) is kept, and its origin says
"its result is not in the log", since the write may well have happened. The
directory the agent ran in ("Working directory: ..." in the system prompt) maps the log's
absolute paths onto the workspace when the log is replayed elsewhere.
"""
from __future__ import annotations

import json
import re

from ..model.errors import PlanError
from ..model.jsonl import iter_objects
from ..model.plan import Plan
from .claude_hook import WRITE_TOOLS, tool_call
from .fold import Folder, input_basename

NO_RESULT = "its result is not in the log"
_CWD_RE = re.compile(r"Working directory: ([^\n\\\"<]+)")


def _sse_tool_uses(raw: str) -> list[dict]:
    """tool_use blocks of a streamed response, their input joined from the fragments."""
    blocks: dict[int, dict] = {}
    parts: dict[int, list[str]] = {}
    out = []
    for line in raw.split("\n"):
        if not line.startswith("data:"):
            continue
        try:
            ev = json.loads(line[5:].strip())
        except ValueError:
            continue
        if not isinstance(ev, dict):
            continue
        t = ev.get("type")
        idx = ev.get("index")
        if not isinstance(idx, int) or isinstance(idx, bool):
            continue
        if t == "content_block_start":
            cb = ev.get("content_block")
            if isinstance(cb, dict) and cb.get("type") == "tool_use":
                blocks[idx] = dict(cb)
                parts[idx] = []
        elif t == "content_block_delta" and idx in blocks:
            d = ev.get("delta")
            if isinstance(d, dict) and d.get("type") == "input_json_delta" and isinstance(d.get("partial_json"), str):
                parts[idx].append(d["partial_json"])
        elif t == "content_block_stop" and idx in blocks:
            b = blocks.pop(idx)
            joined = "".join(parts.pop(idx))
            if joined.strip():
                try:
                    b["input"] = json.loads(joined)
                except ValueError:
                    continue  # cut off: the next request's history holds it whole
            out.append(b)
    return out


def _content_blocks(messages) -> list:
    out: list[dict] = []
    if isinstance(messages, list):
        for m in messages:
            c = m.get("content") if isinstance(m, dict) else None
            if isinstance(c, list):
                out.extend(b for b in c if isinstance(b, dict))
    return out


def read(data: bytes, ws, *, name: str | None = None) -> Plan:
    text = data.decode("utf-8", "replace")
    calls: dict[str, dict] = {}
    order: list[str] = []
    results: dict[str, bool] = {}    # id -> is_error
    base = None
    lines = 0

    def note(b: dict, at) -> None:
        if b.get("type") != "tool_use" or b.get("name") not in WRITE_TOOLS or not isinstance(b.get("id"), str):
            return
        if b["id"] not in calls and isinstance(b.get("input"), dict):
            calls[b["id"]] = {"name": b["name"], "input": b["input"], "at": at}
            order.append(b["id"])

    for line, rec in iter_objects(text):
        if rec is None:
            continue
        lines += 1
        if base is None:
            m = _CWD_RE.search(line)
            if m:
                base = m.group(1).strip()
        req = rec.get("request")
        body = req.get("body") if isinstance(req, dict) else None
        at = rec.get("logged_at") if isinstance(rec.get("logged_at"), str) else None
        for b in _content_blocks(body.get("messages") if isinstance(body, dict) else None):
            if b.get("type") == "tool_result" and isinstance(b.get("tool_use_id"), str):
                results[b["tool_use_id"]] = bool(b.get("is_error"))
            else:
                note(b, at)
        resp = rec.get("response")
        if isinstance(resp, dict):
            rbody = resp.get("body")
            if isinstance(rbody, dict) and isinstance(rbody.get("content"), list):
                for b in rbody["content"]:
                    if isinstance(b, dict):
                        note(b, at)
            if isinstance(resp.get("body_raw"), str):
                for b in _sse_tool_uses(resp["body_raw"]):
                    note(b, at)
    if not lines and text.strip():
        raise PlanError("no JSON record in the log", file=name,
                        hint="expected a claude-trace .jsonl (one request/response pair a line)")
    folder = Folder(ws, name=name)
    for cid in order:
        if results.get(cid, False):
            continue  # the log shows it errored: nothing was written
        c = calls[cid]
        call = tool_call(ws, c["name"], c["input"], call_id=cid, base=base, at=c["at"], replay=True, file=name)
        if call is None:
            continue
        if cid not in results:
            # the log ends before the result came back (usually the last call): it may have run
            call.summary = (call.summary + "; " if call.summary else "") + NO_RESULT
        folder.add(call)
    return Plan(title="claude-trace log" + (f" ({shown})" if (shown := input_basename(name)) else ""),
                source="claude-trace", agent="claude-code", steps=folder.steps())
