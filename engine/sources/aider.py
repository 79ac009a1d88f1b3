"""Aider's edit formats.

SEARCH/REPLACE blocks: the file path alone on the line before a code fence (or, `diff-fenced`,
the first line inside it), then `<<<<<<< SEARCH`, the old lines, `=======`, the new lines,
`>>>>>>> REPLACE` (5 to 9 marker characters). An empty SEARCH creates the file (or appends to
it, as Aider does); otherwise the first occurrence is replaced (exact, then line by line
ignoring trailing whitespace). A block without a path line uses the previous block's path.

Aider's udiff: fenced `diff` blocks with `--- path` / `+++ path` and hunks headed `@@ ... @@`
without line numbers, each located by its content anywhere in the file.
"""
from __future__ import annotations

import os
import re

from ..errors import PlanError, StepError
from ..plan import Plan
from ..textops import Hunk, apply_hunks, parse_hunks
from .fold import Call, Folder, agent_path, to_bytes

HEAD = re.compile(r"^<{5,9} SEARCH\s*$")
DIVIDER = re.compile(r"^={5,9}\s*$")
UPDATED = re.compile(r"^>{5,9} REPLACE\s*$")
FENCE = re.compile(r"^(```|~~~)")


def _clean_path(line: str) -> str:
    s = line.strip()
    s = s.rstrip(":").strip()
    s = s.strip("*").strip("`").strip()
    if s.startswith("#"):
        s = s.lstrip("#").strip()
    return s


def _path_before(lines: list[str], i: int) -> str | None:
    """The path named just before a SEARCH marker at line i (skipping one fence line)."""
    for k in range(i - 1, max(-1, i - 4), -1):
        s = lines[k].strip()
        if not s:
            continue
        if FENCE.match(s):
            continue
        if HEAD.match(s) or DIVIDER.match(s) or UPDATED.match(s):
            return None
        cand = _clean_path(s)
        if cand and " " not in cand.strip() or ("/" in cand or "." in cand) and len(cand) < 256:
            return cand or None
        return None
    return None


def _blocks(text: str, name: str | None) -> list[tuple[str, str, str, int]]:
    lines = text.splitlines(keepends=True)
    out = []
    i = 0
    last_path = None
    while i < len(lines):
        if not HEAD.match(lines[i].rstrip("\r\n")):
            i += 1
            continue
        start = i + 1
        path = _path_before([ln.rstrip("\r\n") for ln in lines], i) or last_path
        if path is None:
            raise PlanError(f"line {start}: a SEARCH block without a file path before it", file=name,
                            hint="put the path alone on the line before the block's fence")
        i += 1
        old = []
        while i < len(lines) and not DIVIDER.match(lines[i].rstrip("\r\n")):
            if HEAD.match(lines[i].rstrip("\r\n")) or UPDATED.match(lines[i].rstrip("\r\n")):
                raise PlanError(f"line {i + 1}: expected `=======` in the block from line {start}", file=name)
            old.append(lines[i])
            i += 1
        if i >= len(lines):
            raise PlanError(f"line {start}: the SEARCH block is not closed (no `=======`)", file=name)
        i += 1
        new = []
        while i < len(lines) and not UPDATED.match(lines[i].rstrip("\r\n")):
            if HEAD.match(lines[i].rstrip("\r\n")) or DIVIDER.match(lines[i].rstrip("\r\n")):
                raise PlanError(f"line {i + 1}: expected `>>>>>>> REPLACE` in the block from line {start}",
                                file=name)
            new.append(lines[i])
            i += 1
        if i >= len(lines):
            raise PlanError(f"line {start}: the block is not closed (no `>>>>>>> REPLACE`)", file=name)
        i += 1
        out.append((path, "".join(old), "".join(new), start))
        last_path = path
    return out


def _replace(text: str, old: str, new: str) -> str | None:
    at = text.find(old)
    if at >= 0:
        return text[:at] + new + text[at + len(old):]
    # line by line, ignoring trailing whitespace
    tl = text.splitlines(keepends=True)
    ol = old.splitlines(keepends=True)
    if not ol:
        return None
    key = [s.rstrip() for s in ol]
    for i in range(len(tl) - len(ol) + 1):
        if all(tl[i + k].rstrip() == key[k] for k in range(len(ol))):
            return "".join(tl[:i]) + new + "".join(tl[i + len(ol):])
    return None


def _search_replace(ws, folder: Folder, text: str, name: str | None) -> int:
    blocks = _blocks(text, name)
    for path_raw, old, new, line in blocks:
        path = agent_path(ws, path_raw)
        label = f"SEARCH/REPLACE block at line {line}"
        call = Call("aider", "transform", path, call_id=f"line {line}",
                    summary="create" if not old.strip() else "search/replace")

        def run(before, old=old, new=new, path=path, label=label, call=call):
            if before is None:
                if old.strip():
                    raise StepError(f"{label}: the file does not exist, so SEARCH {old[:60]!r} cannot match",
                                    path=path)
                return to_bytes(new, what="REPLACE text", call=call)
            try:
                cur = before.decode("utf-8")
            except UnicodeDecodeError:
                raise StepError(f"{label}: the file is not UTF-8 text", path=path) from None
            if not old.strip():
                return to_bytes(cur + new, what="REPLACE text", call=call)
            res = _replace(cur, old, new)
            if res is None:
                raise StepError(f"{label}: SEARCH text {old[:60]!r} is not in the file", path=path,
                                hint="the file changed since Aider read it, or the block is wrong")
            return to_bytes(res, what="REPLACE text", call=call)
        call.transform = run
        folder.add(call)
    return len(blocks)


_UDIFF_FENCE = re.compile(r"^```diff[ \t]*\r?\n(.*?)^```[ \t]*$", re.M | re.S)


def _udiff(ws, folder: Folder, text: str, name: str | None) -> int:
    n = 0
    bodies = [m.group(1) for m in _UDIFF_FENCE.finditer(text)] or [text]
    for body in bodies:
        lines = body.splitlines(keepends=True)
        i = 0
        while i < len(lines):
            if not (lines[i].startswith("--- ") and i + 1 < len(lines) and lines[i + 1].startswith("+++ ")):
                i += 1
                continue
            src = lines[i][4:].strip().split("\t")[0]
            dst = lines[i + 1][4:].strip().split("\t")[0]
            j = i + 2
            while j < len(lines) and not (lines[j].startswith("--- ") and j + 1 < len(lines)
                                          and lines[j + 1].startswith("+++ ")):
                j += 1
            hunk_text = "".join(lines[i + 2:j])
            at = i + 1
            i = j
            n += 1
            hunks = parse_hunks(hunk_text)
            for h in hunks:
                h.old_start = None
            target = dst if dst != "/dev/null" else src
            path = agent_path(ws, target)
            label = f"udiff at line {at}"
            call = Call("aider", "transform", path, call_id=f"line {at}",
                        summary="delete" if dst == "/dev/null" else f"{len(hunks)} hunks")
            call.transform = _udiff_run(hunks, path, label, new=src == "/dev/null", delete=dst == "/dev/null",
                                        call=call)
            folder.add(call)
    return n


def _udiff_run(hunks: list[Hunk], path: str, label: str, *, new: bool, delete: bool, call: Call):
    def run(before: bytes | None) -> bytes | None:
        if delete:
            if before is None:
                raise StepError(f"{label}: there is no file to delete", path=path)
            return None
        if before is None:
            if not new and any(ln.strip() for h in hunks for ln in h.old):
                raise StepError(f"{label}: the file does not exist", path=path)
            return to_bytes("".join(ln for h in hunks for ln in h.new), what="text", call=call)
        try:
            cur = before.decode("utf-8")
        except UnicodeDecodeError:
            raise StepError(f"{label}: the file is not UTF-8 text", path=path) from None
        for k, h in enumerate(hunks, 1):
            if not h.old:
                cur = cur + "".join(h.new)
                continue
            cur = apply_hunks(cur, [h], path=path, step=None)
        return to_bytes(cur, what="text", call=call)
    return run


def read(data: bytes, ws, *, name: str | None = None) -> Plan:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise PlanError("not UTF-8 text", file=name) from None
    folder = Folder(ws)
    if any(HEAD.match(ln.rstrip("\r")) for ln in text.split("\n")):
        n = _search_replace(ws, folder, text, name)
    else:
        n = _udiff(ws, folder, text, name)
    if not n:
        raise PlanError("holds no SEARCH/REPLACE block and no diff", file=name,
                        hint="expected Aider's edit format")
    return Plan(title="Aider edits" + (f" ({os.path.basename(name)})" if name and name != "<stdin>" else ""), source="aider",
                agent="aider", steps=folder.steps())
