"""Claude Code's write tools, as its PreToolUse hook receives them (and as transcripts and
claude-trace logs record them): Write, Edit, MultiEdit, NotebookEdit.

`tool_call()` turns one tool call into a fold `Call`; `read()` reads one PreToolUse payload
(a JSON object), a JSON array of them, or one a line, into a plan. Other tools (Bash, Read...)
are not writes and are skipped by the readers of logs; the hook is only installed for these.
"""
from __future__ import annotations

import json
from typing import Any, overload

from ..model.errors import PlanError, StepError, WoptError
from ..model.plan import Plan
from .fold import MISSING, Call, Folder, agent_path, check_text, input_text, not_unicode, to_bytes

WRITE_TOOLS = ("Write", "Edit", "MultiEdit", "NotebookEdit")


@overload
def _str(inp: dict, key: str, label: str, *, where: str = ..., path: str | None = ...,
         file: str | None = ...) -> str: ...
@overload
def _str(inp: dict, key: str, label: str, *, required: bool, where: str = ..., path: str | None = ...,
         file: str | None = ...) -> str | None: ...


def _str(inp: dict, key: str, label: str, *, required: bool = True, where: str = "tool_input",
         path: str | None = None, file: str | None = None) -> str | None:
    """tool_input's string `key` (at `where`), refused unless it is valid Unicode text."""
    v = inp.get(key)
    if v is None and not required:
        return None
    if not isinstance(v, str):
        raise PlanError(f"{label}: {where}.{key} is {'missing' if v is None else 'not a string'}")
    return check_text(v, what=f"{where}.{key}", label=label, path=path, file=file)


def _replace_all(e: dict, label: str) -> bool:
    ra = e.get("replace_all")
    if ra is not None and not isinstance(ra, bool):
        raise PlanError(f"{label}: replace_all is not true or false")
    if ra:
        return True
    n = e.get("expected_replacements")  # older Claude Code: a count instead of replace_all
    if n is not None:
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise PlanError(f"{label}: expected_replacements is not a positive count")
        return n > 1
    return False


def _edit(e, label: str, where: str, path: str, file: str | None) -> tuple[str, str, bool, int | None]:
    if not isinstance(e, dict):
        raise PlanError(f"{label}: {where} is not an object")
    old = _str(e, "old_string", label, where=where, path=path, file=file)
    new = _str(e, "new_string", label, where=where, path=path, file=file)
    if old == new:
        # Claude Code: new_string must differ from old_string ("No changes to make")
        raise PlanError(f"{label}: {where}: old_string and new_string are the same, which Claude Code "
                        "refuses as a change that changes nothing")
    n = e.get("expected_replacements")
    count = n if isinstance(n, int) and not isinstance(n, bool) and not e.get("replace_all") else None
    return old, new, _replace_all(e, label), count


def _counted_edits(edits, label: str, path: str, call: Call):
    """Edits of older Claude Code with `expected_replacements` N: exactly N occurrences."""
    from ..model.textops import apply_edits

    def run(before: bytes | None) -> bytes:
        if before is None:
            raise StepError(f"{label}: the file does not exist, so old_string {edits[0][0][:60]!r} "
                            "cannot match", path=path)
        try:
            text = before.decode("utf-8")
        except UnicodeDecodeError:
            raise StepError(f"{label}: the file is not UTF-8 text, so a text edit cannot apply",
                            path=path) from None
        for j, (old, new, every, count) in enumerate(edits):
            if count and count > 1:
                found = text.count(old)
                if found != count:
                    raise StepError(f"edit {j + 1} of {label}: old_string {old[:60]!r} occurs {found} "
                                    f"times, expected {count}", path=path,
                                    hint="the file changed since the agent read it")
                text = text.replace(old, new)
            else:
                text = apply_edits(text, [(old, new, every)], path=path, call=label)
        return to_bytes(text, what="new_string", call=call)
    return run


def _created(edits, label: str, path: str, call: Call):
    """Claude Code's way to create a file with Edit/MultiEdit: an empty first old_string on a
    path that does not exist; its new_string is the content, and the later edits apply to it."""
    from ..model.textops import apply_edits

    def run(before: bytes | None) -> bytes:
        if before is not None:
            raise StepError(f"{label}: an empty old_string creates a new file, but the file exists",
                            path=path, hint="the file was created since the agent looked; nothing is stored")
        text = apply_edits(edits[0][1], [(o, n, a) for o, n, a, _c in edits[1:]], path=path, call=label)
        return to_bytes(text, what="new_string", call=call)
    return run


def tool_call(ws, tool: str, inp, *, call_id: str | None = None, base: str | None = None,
              at: str | None = None, seen=MISSING, replay: bool = False, cwd: str | None = None,
              file: str | None = None) -> Call | None:
    """One Claude Code tool call as a fold Call (None for tools that write nothing). A relative
    path is taken from `cwd` (default `base`); `base` also maps a replayed log's absolute paths
    onto the workspace (see fold.agent_path), which the live hook never does. Every string the
    call gives must be valid Unicode text, else a PlanError naming `file` (the input)."""
    if tool not in WRITE_TOOLS:
        return None
    if call_id is not None:
        check_text(call_id, what=f"the tool_use id {call_id!r}", label=tool, file=file)
    label = f"{tool} {call_id}" if call_id else tool
    if at is not None:
        check_text(at, what="the timestamp", label=label, file=file)
    if not isinstance(inp, dict):
        raise PlanError(f"{label}: tool_input is not an object")
    key = "notebook_path" if tool == "NotebookEdit" else "file_path"
    raw_path = _str(inp, key, label, file=file)
    cwd = cwd or base
    if cwd and raw_path and not raw_path.startswith("/") and cwd.startswith("/"):
        raw_path = cwd.rstrip("/") + "/" + raw_path  # relative to where the agent ran
    rel = agent_path(ws, raw_path, base=base, what=key, replay=replay)
    if tool == "Write":
        content = _str(inp, "content", label, path=rel, file=file)
        call = Call(tool, "write", rel, call_id=call_id, at=at, seen=seen, input_name=file)
        call.content = to_bytes(content, what="content", call=call)
        call.summary = f"write {len(call.content)} bytes"
        return call
    if tool in ("Edit", "MultiEdit"):
        if tool == "Edit":
            edits = [_edit(inp, label, "tool_input", rel, file)]
        else:
            raw = inp.get("edits")
            if not isinstance(raw, list) or not raw:
                raise PlanError(f"{label}: tool_input.edits is not a non-empty list")
            edits = [_edit(e, label, f"tool_input.edits[{j}]", rel, file) for j, e in enumerate(raw)]
        for j, (o, *_x) in enumerate(edits):
            if o == "" and j:
                where = "tool_input" if tool == "Edit" else f"edits[{j}]"
                raise PlanError(f"{label}: {where}.old_string is empty; only a first edit may be empty, "
                                "to create a new file")
        call = Call(tool, "edit", rel, call_id=call_id, at=at, seen=seen, input_name=file,
                    edits=[(o, n, a) for o, n, a, _c in edits])
        every = sum(1 for e in edits if e[2])
        call.summary = (f"{len(edits)} edits" if len(edits) > 1 else "edit") + (f" ({every} replace_all)" if every else "")
        if edits[0][0] == "":
            call.summary = "create" + (f", then {len(edits) - 1} edits" if len(edits) > 1 else "")
            call.op, call.transform = "transform", _created(edits, label, rel, call)
        elif any(c and c > 1 for *_x, c in edits):
            call.op, call.transform = "transform", _counted_edits(edits, label, rel, call)
        return call
    # NotebookEdit
    source = _str(inp, "new_source", label, required=False, path=rel, file=file)
    cell_id = _str(inp, "cell_id", label, required=False, path=rel, file=file)
    cell_type = _str(inp, "cell_type", label, required=False, path=rel, file=file)
    mode = _str(inp, "edit_mode", label, required=False, path=rel, file=file) or "replace"
    if mode not in ("replace", "insert", "delete"):
        raise PlanError(f"{label}: edit_mode {mode!r} is not replace, insert or delete")
    if cell_type not in (None, "code", "markdown"):
        raise PlanError(f"{label}: cell_type {cell_type!r} is not code or markdown")
    if mode != "delete" and source is None:
        raise PlanError(f"{label}: tool_input.new_source is missing")
    call = Call(tool, "transform", rel, call_id=call_id, at=at, seen=seen, input_name=file,
                summary=f"{mode} cell {cell_id or '(first)'}")
    call.transform = lambda before: notebook_edit(before, rel, label, cell_id, source, cell_type, mode,
                                                  call_id or "")
    return call


def _find_cell(cells: list, cell_id: str | None, label: str, path: str) -> int:
    for i, c in enumerate(cells):
        if isinstance(c, dict) and c.get("id") == cell_id:
            return i
    # Claude Code also names cells by position: "cell-3" or "3"
    s = cell_id or ""
    s = s[5:] if s.startswith("cell-") else s
    if s.isdigit() and int(s) < len(cells):
        return int(s)
    raise StepError(f"{label}: the notebook has no cell {cell_id!r}", path=path,
                    hint="the notebook changed since the agent read it")


def notebook_edit(before: bytes | None, path: str, label: str, cell_id: str | None, source: str | None,
                  cell_type: str | None, mode: str, call_id: str) -> bytes:
    if before is None:
        raise StepError(f"{label}: the notebook does not exist", path=path,
                        hint="NotebookEdit changes an existing .ipynb; create it with Write")
    try:
        nb = json.loads(before.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise StepError(f"{label}: the file is not a notebook (not JSON)", path=path) from None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise StepError(f"{label}: the file is not a notebook (no cells list)", path=path)
    cells: list = nb["cells"]
    if mode == "insert":
        if cell_type is None:
            raise StepError(f"{label}: inserting a cell needs cell_type", path=path)
        at = 0 if not cell_id else _find_cell(cells, cell_id, label, path) + 1
        import hashlib
        new: dict[str, Any] = {"cell_type": cell_type, "id": hashlib.sha256(f"{call_id}:{at}".encode()).hexdigest()[:8],
               "metadata": {}, "source": source}
        if cell_type == "code":
            new["execution_count"] = None
            new["outputs"] = []
        cells.insert(at, new)
    else:
        if not cells:
            raise StepError(f"{label}: the notebook has no cells", path=path)
        i = _find_cell(cells, cell_id, label, path) if cell_id else 0
        if mode == "delete":
            del cells[i]
        else:
            cell = cells[i]
            if not isinstance(cell, dict):
                raise StepError(f"{label}: cell {cell_id!r} is not an object", path=path)
            cell["source"] = source
            if cell_type:
                cell["cell_type"] = cell_type
            if cell.get("cell_type") == "code":
                cell["execution_count"] = None
                cell["outputs"] = []
            else:
                cell.pop("execution_count", None)
                cell.pop("outputs", None)
    text = json.dumps(nb, indent=1, ensure_ascii=False) + "\n"
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as e:
        # new_source was checked: the notebook on disk holds an escaped lone surrogate
        raise not_unicode(e, what="the notebook's text (an escaped character in the file)",
                          label=label, path=path) from None


def _payloads(data: bytes, name: str | None) -> list:
    text = input_text(data, name)
    try:
        obj = json.loads(text)
        return obj if isinstance(obj, list) else [obj]
    except ValueError:
        pass
    out = []
    for i, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            out.append(json.loads(line))
        except ValueError as e:
            why = e.msg if isinstance(e, json.JSONDecodeError) else str(e)
            raise PlanError(f"line {i}: not valid JSON ({why})", file=name,
                            hint="expected a PreToolUse payload (one JSON object, or one a line)") from None
    return out


def payload_call(ws, obj, *, base: str | None = None, file: str | None = None) -> Call | None:
    """The Call of one PreToolUse payload (None for a tool that writes nothing)."""
    if not isinstance(obj, dict):
        raise PlanError("the hook payload is not a JSON object")
    tool = obj.get("tool_name")
    if not isinstance(tool, str):
        raise PlanError("the hook payload has no tool_name")
    cid = obj.get("tool_use_id")
    cwd = obj.get("cwd")
    return tool_call(ws, tool, obj.get("tool_input"), call_id=cid if isinstance(cid, str) else None,
                     base=base, cwd=cwd if isinstance(cwd, str) else None, file=file)


def read(data: bytes, ws, *, name: str | None = None) -> Plan:
    payloads = _payloads(data, name)
    folder = Folder(ws, name=name)
    session = None
    for i, obj in enumerate(payloads):
        try:
            if isinstance(obj, dict) and isinstance(obj.get("session_id"), str):
                session = session or check_text(obj["session_id"], what="session_id", file=name)
            base = obj.get("cwd") if isinstance(obj, dict) and isinstance(obj.get("cwd"), str) else None
            call = payload_call(ws, obj, base=base, file=name)
        except WoptError as e:
            if len(payloads) > 1:
                e.message = f"payload {i + 1}: {e.message}"
            raise
        if call is not None:
            folder.add(call)
    return Plan(title=f"Claude Code session {session[:8]}" if session else "Claude Code tool calls",
                source="claude-hook", agent="claude-code", session_id=session, steps=folder.steps())
