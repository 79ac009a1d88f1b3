"""Claude Code session transcripts (`~/.claude/projects/<dir>/<session>.jsonl`).

No public schema, so parsed leniently: `assistant` records hold `message.content` blocks, some
`{"type": "tool_use", "id", "name", "input"}`; the result comes later in a `user` record as
`{"type": "tool_result", "tool_use_id", "is_error"?}`, often with `toolUseResult.originalFile`
(the file as the agent saw it, used as the precondition). Only write calls whose result came
back without an error are writes that happened; a call without a result was never run. Lines
that are not JSON (a session cut off mid-line) are skipped.
"""
from __future__ import annotations

from ..model.errors import PlanError
from ..model.jsonl import iter_objects
from ..model.plan import Plan
from .claude_hook import WRITE_TOOLS, tool_call
from .fold import MISSING, Folder, check_text


def _records(data: bytes, name: str | None) -> list[dict]:
    text = data.decode("utf-8", "replace")
    out, bad = [], 0
    for _, obj in iter_objects(text):
        if obj is None:
            bad += 1
        else:
            out.append(obj)
    if not out and (bad or text.strip()):
        raise PlanError("no JSON record in the transcript", file=name,
                        hint="expected a Claude Code session .jsonl (one JSON record a line)")
    return out


def _blocks(rec: dict) -> list:
    msg = rec.get("message")
    content = msg.get("content") if isinstance(msg, dict) else None
    return content if isinstance(content, list) else []


def read(data: bytes, ws, *, name: str | None = None) -> Plan:
    records = _records(data, name)
    calls: dict[str, dict] = {}      # tool_use id -> {name, input, cwd, at}
    order: list[str] = []
    results: dict[str, tuple[bool, object]] = {}  # id -> (is_error, originalFile or MISSING)
    session = None
    for rec in records:
        if session is None and isinstance(rec.get("sessionId"), str):
            session = check_text(rec["sessionId"], what="sessionId", file=name)
        for b in _blocks(rec):
            if not isinstance(b, dict):
                continue
            if b.get("type") == "tool_use" and b.get("name") in WRITE_TOOLS and isinstance(b.get("id"), str):
                if b["id"] not in calls:
                    calls[b["id"]] = {"name": b["name"], "input": b.get("input"),
                                      "cwd": rec.get("cwd"), "at": rec.get("timestamp")}
                    order.append(b["id"])
            elif b.get("type") == "tool_result" and isinstance(b.get("tool_use_id"), str):
                tur = rec.get("toolUseResult")
                seen = MISSING
                if isinstance(tur, dict) and "originalFile" in tur:
                    of = tur["originalFile"]
                    if of is None or isinstance(of, str):
                        seen = of
                results[b["tool_use_id"]] = (bool(b.get("is_error")), seen)
    folder = Folder(ws, name=name)
    for cid in order:
        if cid not in results or results[cid][0]:
            continue  # never run, or refused / failed
        c = calls[cid]
        seen = results[cid][1]
        if isinstance(seen, str):
            try:
                seen = seen.encode("utf-8")
            except UnicodeEncodeError:
                seen = MISSING
        cwd = c["cwd"] if isinstance(c["cwd"], str) else None
        at = c["at"] if isinstance(c["at"], str) else None
        call = tool_call(ws, c["name"], c["input"], call_id=cid, base=cwd, at=at, seen=seen, replay=True,
                         file=name)
        if call is not None:
            folder.add(call)
    return Plan(title=f"Claude Code session {session[:8]}" if session else "Claude Code transcript",
                source="claude-transcript", agent="claude-code", session_id=session, steps=folder.steps())
