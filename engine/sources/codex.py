"""Codex `apply_patch` envelopes, applied by Codex's rules (codex-rs/apply-patch).

`*** Begin Patch` ... `*** End Patch` with sections `*** Add File: P` (lines all `+`),
`*** Delete File: P`, `*** Update File: P` (optionally `*** Move to: Q`) holding chunks: an
optional `@@` or `@@ CONTEXT` line, then ` ` context, `-` removed and `+` added lines, and an
optional `*** End of File` pinning the chunk to the end. Marker and section header lines may
be padded with spaces; the patch text's own CRLFs are not content. The envelope may be wrapped
in a shell heredoc (`apply_patch <<'EOF'` ... `EOF`).

Chunks are located in order, each after the last, the way Codex's seek_sequence does: exact,
then ignoring trailing whitespace, then surrounding whitespace, then with typographic
punctuation read as ASCII; an End of File chunk only at the end. A chunk with no removed or
context lines is added at the end. Line endings as Codex keeps them: lines outside a change
and context lines keep their own bytes, added lines take the file's first line ending (LF in
a file without one), and a last line without an ending gets one. Add File writes LF lines and
replaces an existing file; a Move onto an existing file overwrites it (its step is flagged
"overwrite" in the review). Paths are relative to the workspace. Unlike Codex, which keeps the
sections it applied before one fails, wopt stores nothing when any section does not apply.
"""
from __future__ import annotations


from dataclasses import dataclass, field

from ..model.errors import PlanError, StepError
from ..model.plan import OVERWRITE_NOTE, Plan
from .fold import Call, Folder, agent_path, input_basename, input_text, to_bytes

BEGIN, END = "*** Begin Patch", "*** End Patch"


@dataclass
class Chunk:
    context: str | None = None
    old: list[str] = field(default_factory=list)
    new: list[str] = field(default_factory=list)
    eof: bool = False
    # (index in old, index in new) of each context line: kept as the file has it
    keep: list[tuple[int, int]] = field(default_factory=list)


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


# Codex's last, most lenient matching level: typographic punctuation and odd spaces as ASCII
_PUNCT = str.maketrans({**{c: "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"},
                        **{c: "'" for c in "\u2018\u2019\u201a\u201b"},
                        **{c: '"' for c in "\u201c\u201d\u201e\u201f"},
                        **{c: " " for c in "\u00a0\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
                                          "\u2009\u200a\u202f\u205f\u3000"}})
_LEVELS = (lambda s: s, lambda s: s.rstrip(), lambda s: s.strip(), lambda s: s.strip().translate(_PUNCT))


def _seek(lines: list[str], pattern: list[str], start: int, eof: bool) -> int | None:
    """Codex's seek: the first index at or after `start` where `pattern` matches, trying each
    level (exact, then ignoring trailing, then surrounding whitespace, then with typographic
    punctuation as ASCII) over the whole range before the next. With `eof` only the position
    at the end of the file is tried."""
    if not pattern:
        return start
    if len(pattern) > len(lines):
        return None
    first = len(lines) - len(pattern) if eof else start
    for norm in _LEVELS:
        pat = [norm(p) for p in pattern]
        for i in range(first, len(lines) - len(pattern) + 1):
            if all(norm(lines[i + k]) == pat[k] for k in range(len(pat))):
                return i
    return None


def _split(text: str) -> tuple[list[str], list[str | None], str]:
    """The file as Codex reads it: line texts, each line's own ending ("\\n", "\\r\\n", or None
    for a last line without one), and the file's preferred ending (its first one, LF if none)."""
    texts: list[str] = []
    ends: list[str | None] = []
    parts = text.split("\n")
    for p in parts[:-1]:
        if p.endswith("\r"):
            texts.append(p[:-1])
            ends.append("\r\n")
        else:
            texts.append(p)
            ends.append("\n")
    if parts[-1]:
        texts.append(parts[-1])
        ends.append(None)
    preferred = next((e for e in ends if e), "\n")
    return texts, ends, preferred


def apply_chunks(text: str, chunks: list[Chunk], *, path: str, label: str) -> str:
    """Codex's update: chunks located in order; context lines stay byte for byte as the file
    has them, removed lines go, added lines take the file's preferred line ending; a last line
    without an ending gets one."""
    lines, ends, preferred = _split(text)
    reps: list[tuple[int, int, list[str]]] = []
    idx = 0
    for k, ch in enumerate(chunks, 1):
        if ch.context is not None:
            at = _seek(lines, [ch.context], idx, False)
            if at is None:
                raise StepError(f"{label}: chunk {k}: its context line {ch.context[:60]!r} is not in the file",
                                path=path, hint="the file changed since the patch was made")
            idx = at + 1
        if not ch.old:
            reps.append((len(lines), 0, list(ch.new)))
            continue
        old, new = ch.old, ch.new
        at = _seek(lines, old, idx, ch.eof)
        if at is None and old[-1] == "":
            old, new = old[:-1], (new[:-1] if new and new[-1] == "" else new)
            at = _seek(lines, old, idx, ch.eof)
        if at is None:
            first = next((x for x in ch.old if x.strip()), ch.old[0])
            raise StepError(f"{label}: chunk {k}: the lines starting {first[:60]!r} are not in the file"
                            + (" at its end" if ch.eof else ""), path=path,
                            hint="the file changed since the patch was made")
        o = n = 0
        for ko, kn in ch.keep:
            if ko >= len(old) or kn >= len(new):
                break
            if (o, n) != (ko, kn):
                reps.append((at + o, ko - o, new[n:kn]))
            o, n = ko + 1, kn + 1
        if (o, n) != (len(old), len(new)):
            reps.append((at + o, len(old) - o, new[n:]))
        idx = at + len(old)
    reps.sort(key=lambda r: r[0])
    out: list[str] = []
    pos = 0
    for at, n, new in reps:
        if at < pos:
            raise StepError(f"{label}: two chunks change the same lines", path=path,
                            hint="the patch's chunks overlap")
        out.extend(t + (e or preferred) for t, e in zip(lines[pos:at], ends[pos:at]))
        out.extend(t + preferred for t in new)
        pos = at + n
    out.extend(t + (e or preferred) for t, e in zip(lines[pos:], ends[pos:]))
    return "".join(out)


def _parse(lines: list[str], name: str | None):
    """[(op, path, move_to, add_lines | chunks, line number)]. A section header may be padded
    with spaces, as Codex allows; the lines inside a section are read as Codex reads them."""
    out: list[tuple[str, str, str | None, list[str] | list[Chunk] | None, int]] = []
    i = 0
    while i < len(lines):
        ln = lines[i].strip()
        no = i + 2  # 1-based, after the Begin line
        if not ln:
            i += 1
            continue
        if ln.startswith("*** Add File: "):
            path = ln[len("*** Add File: "):].strip()
            added: list[str] = []
            i += 1
            while i < len(lines) and lines[i].startswith("+"):
                added.append(lines[i][1:])
                i += 1
            if i < len(lines) and lines[i].strip() and not lines[i].strip().startswith("*** "):
                raise PlanError(f"line {i + 2}: a line of an added file must start with '+'", file=name)
            out.append(("add", path, None, added, no))
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
            while i < len(lines):
                s = lines[i]
                if not s.strip():        # blank lines between chunks
                    i += 1
                    continue
                if s.startswith("*"):    # the next file section
                    break
                if s == "@@" or s.startswith("@@ "):
                    cur = Chunk(context=s[3:] if s != "@@" else None)
                    i += 1
                elif chunks:
                    raise PlanError(f"line {i + 2}: expected a `@@` line to start the next chunk, "
                                    f"got {s[:40]!r}", file=name)
                else:
                    cur = Chunk()
                n = 0
                while i < len(lines):
                    s = lines[i]
                    if s == "*** End of File":
                        if not n:
                            break
                        cur.eof = True
                        i += 1
                        break
                    tag, body = (s[:1], s[1:]) if s else (" ", "")
                    if tag == " ":
                        cur.keep.append((len(cur.old), len(cur.new)))
                        cur.old.append(body)
                        cur.new.append(body)
                    elif tag == "-":
                        cur.old.append(body)
                    elif tag == "+":
                        cur.new.append(body)
                    elif n:
                        break            # the next chunk or section
                    else:
                        raise PlanError(f"line {i + 2}: {s[:40]!r} is not a context (' '), '-' or '+' line",
                                        file=name)
                    n += 1
                    i += 1
                if not n:
                    raise PlanError(f"line {i + 1}: a chunk of `*** Update File: {path}` holds no line",
                                    file=name)
                chunks.append(cur)
            if not chunks:
                raise PlanError(f"line {no}: `*** Update File: {path}` holds no change", file=name)
            out.append(("update", path, move, chunks, no))
        else:
            raise PlanError(f"line {no}: {ln[:60]!r} is not a file section "
                            "(*** Add File:, *** Delete File:, *** Update File:)", file=name)
    return out


def read(data: bytes, ws, *, name: str | None = None) -> Plan:
    text = input_text(data, name)
    sections = _parse(_envelope(text, name), name)
    if not sections:
        raise PlanError("the patch holds no file section", file=name)
    folder = Folder(ws, name=name)
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
                g = folder.open.get(dst)
                taken = g.cur is not None if g is not None else folder._state(dst)[0] is not None
                if not taken:
                    folder.add(Call("apply_patch", "move", path, to=dst, call_id=cid, summary=f"move to {dst}"))
                    continue
                # like Codex: the moved file's content is written over the existing destination,
                # then the source is removed; the review flags the overwrite
                moved = folder.open[path].cur

                def over(before, moved=moved):
                    return moved
                folder.add(Call("apply_patch", "transform", dst, call_id=cid, transform=over,
                                summary=f"move from {path}, {OVERWRITE_NOTE}"))
                folder.add(Call("apply_patch", "delete", path, call_id=cid, summary=f"moved to {dst}"))
    return Plan(title="Codex apply_patch" + (f" ({shown})" if (shown := input_basename(name)) else ""),
                source="codex", agent="codex", steps=folder.steps())
