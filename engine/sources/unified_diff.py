"""git and unified diffs, parsed with unidiff (from bytes, so CRLF content survives byte for
byte).

Handles new files (with or without content), deleted files (the removed text must be what is
on disk), modified files (hunks located by context), renames with and without edits, mode
changes, "\\ No newline at end of file", and `GIT binary patch` sections (literal and delta,
checked against the `index` line's blob id when it is given in full). A binary change without
its data ("Binary files a/x and b/x differ") is refused naming the file: regenerate it with
`git diff --binary`. Paths are relative to the workspace (`a/` `b/` prefixes stripped).
"""
from __future__ import annotations

import base64
import hashlib
import io
import os
import re
import zlib

from ..errors import PlanError, StepError
from ..plan import Plan
from ..textops import Hunk, apply_hunks
from .fold import Call, Folder, agent_path

_GIT_HEADER = re.compile(r"^diff --git ", re.M)
_INDEX_RE = re.compile(r"^index ([0-9a-f]+)\.\.([0-9a-f]+)", re.M)


def _strip_prefix(p: str, git: bool) -> str:
    p = p.split("\t")[0]
    if p.startswith('"') and p.endswith('"') and len(p) >= 2:
        p = _unquote(p[1:-1])
    if git and (p.startswith("a/") or p.startswith("b/")):
        return p[2:]
    return p


def _unquote(s: str) -> str:
    """git's C-style quoting of unusual paths ("\\303\\251" octal UTF-8 bytes, \\t, \\")."""
    out = bytearray()
    i = 0
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            n = s[i + 1]
            if n in "01234567" and re.match(r"[0-7]{3}", s[i + 1:i + 4]):
                out.append(int(s[i + 1:i + 4], 8) & 0xFF)
                i += 4
                continue
            out += {"t": b"\t", "n": b"\n", '"': b'"', "\\": b"\\", "a": b"\a", "b": b"\b",
                    "f": b"\f", "r": b"\r", "v": b"\v"}.get(n, n.encode("utf-8", "surrogateescape"))
            i += 2
            continue
        out += c.encode("utf-8", "surrogateescape")
        i += 1
    return out.decode("utf-8", "surrogateescape")


def _sections(text: str) -> list[tuple[int, str]]:
    """A git diff split per file, with the line each part starts on (unidiff loses files that
    follow a binary patch)."""
    starts = [m.start() for m in _GIT_HEADER.finditer(text)]
    if not starts:
        return [(1, text)]
    return [(text.count("\n", 0, a) + 1, text[a:b]) for a, b in zip(starts, starts[1:] + [len(text)])]


def _mode(m) -> int | None:
    if not m:
        return None
    try:
        v = int(str(m), 8)
    except ValueError:
        return None
    return v & 0o777


# ------------------------------------------------------------------------ binary patches

def _b85_lines(lines: list[str], i: int, path: str) -> tuple[bytes, int]:
    data = bytearray()
    while i < len(lines) and lines[i].strip():
        ln = lines[i].rstrip("\r\n")
        c = ln[0]
        if "A" <= c <= "Z":
            n = ord(c) - ord("A") + 1
        elif "a" <= c <= "z":
            n = ord(c) - ord("a") + 27
        else:
            raise PlanError(f"{path}: the binary patch is corrupt (line {ln[:20]!r})")
        try:
            data += base64.b85decode(ln[1:])[:n]
        except ValueError:
            raise PlanError(f"{path}: the binary patch is corrupt (bad base85)") from None
        i += 1
    return bytes(data), i


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    v = shift = 0
    while True:
        if i >= len(buf):
            raise ValueError("truncated")
        b = buf[i]
        i += 1
        v |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return v, i


def _apply_delta(base: bytes, delta: bytes) -> bytes:
    src, i = _varint(delta, 0)
    dst, i = _varint(delta, i)
    if src != len(base):
        raise ValueError("base size differs")
    out = bytearray()
    while i < len(delta):
        op = delta[i]
        i += 1
        if op & 0x80:
            off = size = 0
            for k in range(4):
                if op & (1 << k):
                    off |= delta[i] << (8 * k)
                    i += 1
            for k in range(3):
                if op & (0x10 << k):
                    size |= delta[i] << (8 * k)
                    i += 1
            size = size or 0x10000
            if off + size > len(base):
                raise ValueError("copy out of range")
            out += base[off:off + size]
        elif op:
            out += delta[i:i + op]
            i += op
        else:
            raise ValueError("reserved op")
    if len(out) != dst:
        raise ValueError("result size differs")
    return bytes(out)


def _binary(section: str, path: str):
    """(kind, payload, old blob id) of a GIT binary patch's forward hunk, or None."""
    lines = section.splitlines(keepends=True)
    try:
        i = next(k for k, ln in enumerate(lines) if ln.rstrip("\r\n") == "GIT binary patch")
    except StopIteration:
        return None
    if i + 1 >= len(lines):
        raise PlanError(f"{path}: the binary patch is cut off")
    m = re.match(r"^(literal|delta) (\d+)\s*$", lines[i + 1])
    if not m:
        raise PlanError(f"{path}: the binary patch is corrupt (expected literal or delta)")
    raw, _ = _b85_lines(lines, i + 2, path)
    try:
        payload = zlib.decompress(raw)
    except zlib.error:
        raise PlanError(f"{path}: the binary patch is corrupt (bad zlib data)") from None
    if len(payload) != int(m.group(2)):
        raise PlanError(f"{path}: the binary patch is corrupt (size differs)")
    idx = _INDEX_RE.search(section)
    old_id = idx.group(1) if idx and len(idx.group(1)) == 40 else None
    return m.group(1), payload, old_id


def _blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


# ------------------------------------------------------------------------ text hunks

def _hunks(pf) -> list[Hunk]:
    out = []
    for h in pf:
        hk = Hunk(old_start=h.source_start, header=f"@@ -{h.source_start},{h.source_length} "
                  f"+{h.target_start},{h.target_length} @@")
        for ln in h:
            if ln.line_type in (" ", "-", "+", "\\"):
                hk.feed(ln.line_type, ln.value)
        out.append(hk)
    return out


def _enc(s: str) -> bytes:
    return s.encode("utf-8", "surrogateescape")


def _dec(b: bytes) -> str:
    return b.decode("utf-8", "surrogateescape")


def _patch_transform(hunks: list[Hunk], path: str, label: str, *, new: bool = False, delete: bool = False):
    def run(before: bytes | None) -> bytes | None:
        if new:
            if before is not None:
                raise StepError(f"{label}: the diff creates the file, but it already exists", path=path,
                                hint="the workspace is not at the diff's base")
            return _enc("".join(x for h in hunks for x in h.new))
        if before is None:
            raise StepError(f"{label}: the file to change does not exist", path=path,
                            hint="the workspace is not at the diff's base")
        if delete:
            old = "".join(x for h in hunks for x in h.old)
            if hunks and _enc(old) != before:
                raise StepError(f"{label}: the file differs from the text the diff deletes", path=path,
                                hint="the file changed since the diff was made")
            return None
        return _enc(apply_hunks(_dec(before), hunks, path=path, step=None))
    return run


def read(data: bytes, ws, *, name: str | None = None) -> Plan:
    import unidiff

    text = data.decode("utf-8", "surrogateescape")
    folder = Folder(ws)
    n_files = 0
    for first_line, section in _sections(text):
        git = section.startswith("diff --git ")
        try:
            ps = unidiff.PatchSet(io.StringIO(section, newline=""))
        except unidiff.UnidiffParseError as e:
            raise PlanError(f"not a diff unidiff can read ({e})", file=name) from None
        except (ValueError, IndexError, TypeError, AttributeError) as e:
            raise PlanError(f"not a diff unidiff can read ({type(e).__name__}: {e})", file=name) from None
        for pf in ps:
            n_files += 1
            at = section.find(f"\n+++ {pf.target_file}") if not git else -1
            line = first_line + (section.count("\n", 0, at) if at >= 0 else 0)
            _file(ws, folder, pf, section, git, line)
    if n_files == 0:
        raise PlanError("holds no file diff", file=name, hint="expected `diff --git` or `---`/`+++` headers")
    return Plan(title="diff" + (f" {os.path.basename(name)}" if name and name != "<stdin>" else ""), source="diff",
                steps=folder.steps())


def _file(ws, folder: Folder, pf, section: str, git: bool, line: int) -> None:
    added, removed = pf.is_added_file, pf.is_removed_file
    src_raw = pf.source_file or ""
    dst_raw = pf.target_file or ""
    if not git:  # a plain diff with git's a/ b/ prefixes (diff -u a/x b/x, or /dev/null on one side)
        sa = src_raw.startswith("a/") or src_raw.startswith("/dev/null")
        sb = dst_raw.startswith("b/") or dst_raw.startswith("/dev/null")
        git = sa and sb and not (src_raw.startswith("/dev/null") and dst_raw.startswith("/dev/null"))
    src = None if added or src_raw.startswith("/dev/null") else _strip_prefix(src_raw, git)
    dst = None if removed or dst_raw.startswith("/dev/null") else _strip_prefix(dst_raw, git)
    shown = dst or src or "?"
    src = agent_path(ws, src, what="source path") if src else None
    dst = agent_path(ws, dst, what="target path") if dst else None
    cid = f"line {line}"
    label = f"diff at line {line}"
    path = dst or src
    if path is None:
        raise PlanError(f"{shown}: the diff names neither a source nor a target file",
                        hint="a file diff cannot be both new and deleted")
    if pf.is_binary_file:
        b = _binary(section, shown)
        if b is None:
            raise PlanError(f"{shown}: the diff holds a binary change without its data",
                            hint="regenerate it with `git diff --binary`; nothing was stored")
        kind, payload, old_id = b
        if src and dst and src != dst:
            folder.add(Call("diff", "move", src, to=dst, call_id=cid, summary=f"rename to {dst}"))
        if removed:
            folder.add(Call("diff", "delete", src or path, call_id=cid, summary="delete (binary)"))
            return

        def run(before: bytes | None, kind=kind, payload=payload, old_id=old_id) -> bytes:
            if old_id and set(old_id) != {"0"} and (before is None or _blob_id(before) != old_id):
                raise StepError(f"{label}: the file is not the one the binary patch was made from",
                                path=path, hint="the file changed since the diff was made")
            if kind == "literal":
                return payload
            if before is None:
                raise StepError(f"{label}: a binary delta needs the file, which does not exist", path=path)
            try:
                return _apply_delta(before, payload)
            except (ValueError, IndexError):
                raise StepError(f"{label}: the binary delta does not apply to the file", path=path,
                                hint="the file changed since the diff was made") from None
        folder.add(Call("diff", "transform", path, call_id=cid, transform=run,
                        mode=_mode(pf.target_mode) if added else None, summary=f"binary {kind}"))
        if not added and _mode(pf.source_mode) != _mode(pf.target_mode) and _mode(pf.target_mode):
            folder.add(Call("diff", "chmod", path, call_id=cid, mode=_mode(pf.target_mode)))
        return
    hunks = _hunks(pf)
    if added:
        folder.add(Call("diff", "transform", path, call_id=cid, summary="new file",
                        transform=_patch_transform(hunks, path, label, new=True),
                        mode=_mode(pf.target_mode) if _mode(pf.target_mode) not in (None, 0o644) else None))
        return
    if removed:
        folder.add(Call("diff", "transform", path, call_id=cid, summary="delete",
                        transform=_patch_transform(hunks, path, label, delete=True)))
        return
    if src and dst and src != dst:
        folder.add(Call("diff", "move", src, to=dst, call_id=cid, summary=f"rename {src} -> {dst}"))
    if hunks:
        folder.add(Call("diff", "transform", path, call_id=cid,
                        summary=f"{len(hunks)} hunk{'s' * (len(hunks) != 1)}",
                        transform=_patch_transform(hunks, path, label)))
    old_m, new_m = _mode(pf.source_mode), _mode(pf.target_mode)
    if new_m is not None and old_m is not None and old_m != new_m:
        folder.add(Call("diff", "chmod", path, call_id=cid, mode=new_m,
                        summary=f"mode {old_m:03o} -> {new_m:03o}"))
