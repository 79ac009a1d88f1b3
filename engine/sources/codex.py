"""Codex `apply_patch` envelopes.

`*** Begin Patch` ... `*** End Patch` with sections `*** Add File: P` (lines all `+`),
`*** Delete File: P`, `*** Update File: P` (optionally `*** Move to: Q`) holding chunks: an
optional `@@` or `@@ CONTEXT` line, then ` ` context, `-` removed and `+` added lines, and an
optional `*** End of File` pinning the chunk to the end. The envelope may be wrapped in a shell
heredoc (`apply_patch <<'EOF'` ... `EOF`). Chunks are located the way Codex does: from the last
match on, exact first, then ignoring trailing, then surrounding whitespace; a chunk with no
removed or context lines is added at the end. Codex writes every updated file with a final
newline. Paths are relative to the workspace.
"""
from __future__ import annotations

import os

from dataclasses import dataclass, field

from ..errors import PlanError, StepError
from ..plan import Plan
from .fold import Call, Folder, agent_path, to_bytes

BEGIN, END = "*** Begin Patch", "*** End Patch"


@dataclass
class Chunk:
    context: str | None = None
    old: list[str] = field(default_factory=list)
    new: list[str] = field(default_factory=list)
    eof: bool = False


def _envelope(text: str, name: str | None) -> list[str]:
    lines = text.split("\n")
    lines = [ln[:-1] if ln.endswith("\r") else ln for ln in lines]
    try:
        start = next(i for i, ln in enumerate(lines) if ln.strip() == BEGIN)
    except StopIteration:
        raise PlanError(f"no `{BEGIN}` line", file=name, hint="expected a Codex apply_patch envelope") from None
    try:
        end = next(i for i in range(start + 1, len(lines)) if lines[i].strip() == END)
    except StopIteration:
        raise PlanError(f"no `{END}` line after `{BEGIN}`", file=name, hint="the patch is cut off") from None
    return lines[start + 1:end]


def _seek(lines: list[str], pattern: list[str], start: int, eof: bool) -> int | None:
    if not pattern:
        return start
    if len(pattern) > len(lines):
        return None
    first = len(lines) - len(pattern) if eof else start
    for norm in (lambda s: s, lambda s: s.rstrip(), lambda s: s.strip()):
        pat = [norm(p) for p in pattern]
        rng = [first] + [i for i in range(start, len(lines) - len(pattern) + 1) if i != first] if eof else \
            range(start, len(lines) - len(pattern) + 1)
        for i in rng:
            if i < 0:
                continue
            if all(norm(lines[i + k]) == pat[k] for k in range(len(pat))):
                return i
    return None


def apply_chunks(text: str, chunks: list[Chunk], *, path: str, label: str) -> str:
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    reps: list[tuple[int, int, list[str]]] = []
    idx = 0
    for k, ch in enumerate(chunks, 1):
        if ch.context is not None and ch.context.strip():
            at = _seek(lines, [ch.context], idx, False)
            if at is None:
                raise StepError(f"{label}: chunk {k}: its context line {ch.context[:60]!r} is not in the file",
                                path=path, hint="the file changed since the patch was made")
            idx = at + 1
        if not ch.old:
            reps.append((len(lines), 0, ch.new))
            continue
        old, new = ch.old, ch.new
        at = _seek(lines, old, idx, ch.eof)
        if at is None and old and old[-1] == "":
            old, new = old[:-1], (new[:-1] if new and new[-1] == "" else new)
            at = _seek(lines, old, idx, ch.eof)
        if at is None:
            first = next((x for x in ch.old if x.strip()), ch.old[0])
            raise StepError(f"{label}: chunk {k}: the lines starting {first[:60]!r} are not in the file"
                            + (" at its end" if ch.eof else ""), path=path,
                            hint="the file changed since the patch was made")
        reps.append((at, len(old), new))
        idx = at + len(old)
    for at, n, new in sorted(reps, key=lambda r: r[0], reverse=True):
        lines[at:at + n] = new
    return "\n".join(lines) + "\n" if lines else ""


def _parse(lines: list[str], name: str | None):
    """[(op, path, move_to, add_lines | chunks, line number)]"""
    out = []
    i = 0
    while i < len(lines):
        ln = lines[i]
        no = i + 2  # 1-based, after the Begin line
        if not ln.strip():
            i += 1
            continue
        if ln.startswith("*** Add File: "):
            path = ln[len("*** Add File: "):].strip()
            body = []
            i += 1
            while i < len(lines) and not lines[i].startswith("*** "):
                if not lines[i].startswith("+"):
                    if not lines[i].strip() and (i + 1 == len(lines) or lines[i + 1].startswith("*** ")):
                        i += 1
                        continue
                    raise PlanError(f"line {i + 2}: a line of an added file must start with '+'", file=name)
                body.append(lines[i][1:])
                i += 1
            out.append(("add", path, None, body, no))
        elif ln.startswith("*** Delete File: "):
            out.append(("delete", ln[len("*** Delete File: "):].strip(), None, None, no))
            i += 1
        elif ln.startswith("*** Update File: "):
            path = ln[len("*** Update File: "):].strip()
            i += 1
            move = None
            if i < len(lines) and lines[i].startswith("*** Move to: "):
                move = lines[i][len("*** Move to: "):].strip()
                i += 1
            chunks: list[Chunk] = []
            cur: Chunk | None = None
            while i < len(lines) and not (lines[i].startswith("*** ") and lines[i].strip() != "*** End of File"):
                s = lines[i]
                if s.startswith("@@"):
                    ctx = s[2:].strip()
                    cur = Chunk(context=ctx or None)
                    chunks.append(cur)
                elif s.strip() == "*** End of File":
                    if cur is None:
                        raise PlanError(f"line {i + 2}: `*** End of File` outside a chunk", file=name)
                    cur.eof = True
                else:
                    if cur is None:
                        cur = Chunk()
                        chunks.append(cur)
                    tag, body = (s[:1], s[1:]) if s else (" ", "")
                    if tag == " ":
                        cur.old.append(body)
                        cur.new.append(body)
                    elif tag == "-":
                        cur.old.append(body)
                    elif tag == "+":
                        cur.new.append(body)
                    else:
                        raise PlanError(f"line {i + 2}: {s[:40]!r} is not a context (' '), '-' or '+' line",
                                        file=name)
                i += 1
            if not chunks and move is None:
                raise PlanError(f"line {no}: `*** Update File: {path}` holds no change", file=name)
            out.append(("update", path, move, chunks, no))
        else:
            raise PlanError(f"line {no}: {ln[:60]!r} is not a file section "
                            "(*** Add File:, *** Delete File:, *** Update File:)", file=name)
    return out


def read(data: bytes, ws, *, name: str | None = None) -> Plan:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise PlanError("not UTF-8 text", file=name) from None
    sections = _parse(_envelope(text, name), name)
    if not sections:
        raise PlanError("the patch holds no file section", file=name)
    folder = Folder(ws)
    for op, raw, move, body, no in sections:
        path = agent_path(ws, raw)
        cid = f"line {no}"
        if op == "add":
            call = Call("apply_patch", "transform", path, call_id=cid, summary="add file")
            content = to_bytes("".join(x + "\n" for x in body), what="content", call=call)

            def add(before, content=content):
                return content  # like Codex, Add File of an existing file replaces it
            call.transform = add
            folder.add(call)
        elif op == "delete":
            folder.add(Call("apply_patch", "delete", path, call_id=cid, summary="delete file"))
        else:
            dst = agent_path(ws, move) if move else None
            if body:
                label = f"apply_patch {cid}"
                call = Call("apply_patch", "transform", path, call_id=cid,
                            summary=f"update ({len(body)} chunk{'s' * (len(body) != 1)})")

                def upd(before, chunks=body, path=path, label=label, call=call):
                    if before is None:
                        raise StepError(f"{label}: Update File, but the file does not exist", path=path)
                    try:
                        text = before.decode("utf-8")
                    except UnicodeDecodeError:
                        raise StepError(f"{label}: the file is not UTF-8 text", path=path) from None
                    return to_bytes(apply_chunks(text, chunks, path=path, label=label), what="text", call=call)
                call.transform = upd
                folder.add(call)
            if dst and dst != path:
                folder.add(Call("apply_patch", "move", path, to=dst, call_id=cid, summary=f"move to {dst}"))
    return Plan(title="Codex apply_patch" + (f" ({os.path.basename(name)})" if name and name != "<stdin>" else ""),
                source="codex", agent="codex", steps=folder.steps())
