"""git and unified diffs, applied the way `git apply` applies them, byte for byte.

The diff is read as bytes and split after each LF only: a CR anywhere in a line (CRLF, a bare
CR, a lone CR inside a line) is content. A hunk must hold exactly the lines its header counts
("corrupt patch" otherwise). `\\ No newline at end of file` takes the LF (only the LF, as git
does) off the line before it. Hunks apply in order to the result of the ones before, each
matched exactly (no fuzz, no whitespace or line-ending leniency) at the line its header gives,
else at the nearest line where it matches (searching forward and back alternately, as git
does); a hunk whose header starts at line 0, or at line 1 with no leading context, must match
at the start of the file, and one with no trailing context at its end. A `-U0` diff (no hunk
of the input has any context line) is read as `git apply --unidiff-zero` reads it.

git's extended headers give the rest: new and deleted files (a delete must remove exactly what
is on disk), renames and copies (with or without hunks), mode changes (the executable bit, as
git), symlinks (mode 120000: a `symlink` step whose target is checked against the workspace),
`GIT binary patch` sections (literal and delta, checked against the `index` line's blob id when
it is given in full). A file without "new file mode" or "deleted file mode" is never created or
deleted: a hunk that empties it leaves it empty, one that fills an empty file fills it. Names
may be C-quoted (`"a/t\\303\\251st.txt"`) or end at a TAB (names with spaces). Refused, naming
the file and the diff line: a binary change without its data, a submodule (gitlink, mode
160000) change, a corrupt hunk, a hunk that does not match the file.

Paths: with `strip` (`-p N`, as git) N leading components are removed from every name; without
it, `a/` and `b/` prefixes are removed when the diff uses them (git's default `-p1`) and names
are taken as they are otherwise (`-p0`, for `diff -u x y`).
"""
from __future__ import annotations

import base64
import hashlib
import re
import zlib
from dataclasses import dataclass, field

from ..store.effects import default_file_mode
from ..model.errors import PlanError, StepError
from ..model.plan import SYMLINK_MODE, Plan, check_link_target
from .fold import Call, Folder, agent_path, input_basename

_HUNK_RE = re.compile(rb"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
_INDEX_RE = re.compile(rb"^index ([0-9a-fA-F]+)\.\.([0-9a-fA-F]+)(?: ([0-7]+))?\s*$")
GITLINK = 0o160000


# ------------------------------------------------------------------------ the parsed form

@dataclass
class _Hunk:
    line: int                       # diff line of its @@ header (1-based)
    header: str
    old_pos: int
    old_len: int
    new_pos: int
    new_len: int
    old: list[bytes] = field(default_factory=list)
    new: list[bytes] = field(default_factory=list)
    leading: int = 0
    trailing: int = 0


@dataclass
class _FilePatch:
    line: int                       # diff line of its first header line (1-based)
    git: bool
    old_name: str | None = None
    new_name: str | None = None
    default_name: str | None = None
    is_new: bool = False
    is_delete: bool = False
    is_rename: bool = False
    is_copy: bool = False
    old_mode: int | None = None
    new_mode: int | None = None
    old_id: str | None = None
    hunks: list[_Hunk] = field(default_factory=list)
    binary: tuple[str, bytes] | None = None   # (literal|delta, payload)
    binary_without_data: bool = False


class _Lines:
    def __init__(self, data: bytes):
        parts = data.split(b"\n")
        self.lines = [p + b"\n" for p in parts[:-1]]
        if parts[-1]:
            self.lines.append(parts[-1])
        self.i = 0

    def peek(self, k: int = 0) -> bytes | None:
        j = self.i + k
        return self.lines[j] if j < len(self.lines) else None

    @property
    def lineno(self) -> int:
        return self.i + 1


def _eol(b: bytes) -> bytes:
    return b[:-1] if b.endswith(b"\n") else b


def _show(b: bytes) -> str:
    return b.decode("utf-8", "surrogateescape")


# ------------------------------------------------------------------------ names

_C_ESC = {"a": 7, "b": 8, "t": 9, "n": 10, "v": 11, "f": 12, "r": 13, '"': 34, "\\": 92}


def _unquote(s: bytes) -> tuple[bytes, bytes] | None:
    """A C-quoted name at the start of `s` (which starts with a quote): (name, rest)."""
    out = bytearray()
    i = 1
    while i < len(s):
        c = s[i:i + 1]
        if c == b'"':
            return bytes(out), s[i + 1:]
        if c == b"\\":
            n = s[i + 1:i + 2].decode("latin-1")
            if n in "0123" and re.match(rb"[0-7]{3}", s[i + 1:i + 4]):
                out.append(int(s[i + 1:i + 4], 8))
                i += 4
                continue
            if n in _C_ESC:
                out.append(_C_ESC[n])
                i += 2
                continue
            return None
        out += c
        i += 1
    return None


def _strip(name: bytes, p: int) -> bytes | None:
    """`name` without its first `p` components (git's -p), or None when it has fewer."""
    for _ in range(p):
        k = name.find(b"/")
        if k < 0:
            return None
        name = name[k + 1:].lstrip(b"/")
    return name or None


def _name(raw: bytes, p: int) -> bytes | None:
    """A name from a ---, +++, rename or copy line: quoted, or up to a TAB (git appends one to
    names with spaces; plain diffs put a timestamp after it)."""
    raw = _eol(raw)
    if raw.startswith(b'"'):
        got = _unquote(raw)
        if got is None:
            return None
        return _strip(got[0], p)
    raw = raw.split(b"\t")[0]
    if raw.endswith(b"\r"):
        raw = raw[:-1]
    return _strip(raw, p)


def _header_name(rest: bytes, p: int) -> bytes | None:
    """The name a `diff --git A B` line gives when A and B name the same file (git's rule:
    accept a name only if it shows up twice)."""
    rest = _eol(rest)
    if rest.startswith(b'"'):
        got = _unquote(rest)
        if got is None:
            return None
        quoted, tail = got
        first = _strip(quoted, p)
        tail = tail.lstrip(b" ")
        second = _name(tail, p) if tail.startswith(b'"') else _strip(tail, p)
        return first if first is not None and first == second else None
    if b'"' in rest:
        k = rest.find(b' "')
        if k >= 0:
            first = _strip(rest[:k], p)
            got = _unquote(rest[k + 1:])
            second = _strip(got[0], p) if got else None
            return first if first is not None and first == second else None
    for k in range(len(rest)):
        if rest[k:k + 1] != b" ":
            continue
        a, b = _strip(rest[:k], p), _strip(rest[k + 1:], p)
        if a is not None and a == b:
            return a
    return None


def _has_ab(data: bytes) -> bool:
    """Whether the diff names its files with git's a/ b/ prefixes (then -p1 is its default)."""
    for m in re.finditer(rb"^(diff --git |--- |\+\+\+ )(.*)$", data, re.M):
        head, rest = m.group(1), m.group(2)
        if rest.startswith(b"/dev/null"):
            continue
        rest = rest.lstrip(b'"')
        if head == b"diff --git ":
            return rest.startswith(b"a/")
        return rest.startswith(b"a/") or rest.startswith(b"b/")
    return False


# ------------------------------------------------------------------------ parsing

def _bad(fp_name: str, line: int, what: str, name: str | None) -> PlanError:
    return PlanError(f"{fp_name}: diff line {line}: {what}", file=name,
                     hint="the diff is damaged; regenerate it (git apply refuses it too)")


def _parse(data: bytes, p: int, name: str | None) -> list[_FilePatch]:
    src = _Lines(data)
    out: list[_FilePatch] = []
    while (ln := src.peek()) is not None:
        if ln.startswith(b"diff --git "):
            out.append(_parse_git(src, p, name))
        elif ln.startswith(b"--- ") and (src.peek(1) or b"").startswith(b"+++ ") \
                and (src.peek(2) or b"").startswith(b"@@ -"):
            out.append(_parse_traditional(src, p, name))
        else:
            src.i += 1  # prose, commit headers, anything git apply skips too
    return out


def _mode(v: bytes) -> int:
    return int(_eol(v).strip(), 8)


def _parse_git(src: _Lines, p: int, name: str | None) -> _FilePatch:
    fp = _FilePatch(line=src.lineno, git=True)
    first = src.peek() or b""
    src.i += 1
    d = _header_name(first[len(b"diff --git "):], p)
    fp.default_name = _show(d) if d is not None else None
    shown = fp.default_name or _show(_eol(first[len(b"diff --git "):]))
    old_set = new_set = False
    while (ln := src.peek()) is not None:
        t = _eol(ln)
        try:
            if t.startswith(b"old mode "):
                fp.old_mode = _mode(t[9:])
            elif t.startswith(b"new mode "):
                fp.new_mode = _mode(t[9:])
            elif t.startswith(b"deleted file mode "):
                fp.is_delete, fp.old_mode = True, _mode(t[18:])
            elif t.startswith(b"new file mode "):
                fp.is_new, fp.new_mode = True, _mode(t[14:])
            elif t.startswith(b"rename from ") or t.startswith(b"rename old "):
                fp.is_rename, fp.old_name, old_set = True, _dec(_name(t[11 + (t[7:8] == b"f"):], max(p - 1, 0))), True
            elif t.startswith(b"rename to ") or t.startswith(b"rename new "):
                fp.is_rename, fp.new_name, new_set = True, _dec(_name(t[10 + (t[7:8] == b"n"):], max(p - 1, 0))), True
            elif t.startswith(b"copy from "):
                fp.is_copy, fp.old_name, old_set = True, _dec(_name(t[10:], max(p - 1, 0))), True
            elif t.startswith(b"copy to "):
                fp.is_copy, fp.new_name, new_set = True, _dec(_name(t[8:], max(p - 1, 0))), True
            elif t.startswith(b"similarity index ") or t.startswith(b"dissimilarity index "):
                pass
            elif t.startswith(b"index "):
                m = _INDEX_RE.match(t)
                if m:
                    fp.old_id = m.group(1).decode()
                    if m.group(3):
                        fp.old_mode = fp.new_mode = int(m.group(3), 8)
            elif t.startswith(b"--- ") and (src.peek(1) or b"").startswith(b"+++ "):
                a = None if t[4:].startswith(b"/dev/null") else _name(t[4:], p)
                b = None if _eol(src.peek(1) or b"")[4:].startswith(b"/dev/null") else _name(_eol(src.peek(1) or b"")[4:], p)
                if not old_set and not fp.is_new:
                    fp.old_name = _dec(a)
                if not new_set and not fp.is_delete:
                    fp.new_name = _dec(b)
                src.i += 2
                break
            elif t.startswith(b"Binary files ") or t.startswith(b"Files "):
                fp.binary_without_data = True
                src.i += 1
                break
            elif t == b"GIT binary patch":
                break
            else:
                break
        except ValueError:
            raise _bad(shown, src.lineno, f"the header line {_show(t)[:60]!r} is damaged", name) from None
        src.i += 1
    if fp.is_new:
        fp.old_name = None
        fp.new_name = fp.new_name or fp.default_name
    elif fp.is_delete:
        fp.new_name = None
        fp.old_name = fp.old_name or fp.default_name
    else:
        fp.old_name = fp.old_name or fp.default_name
        fp.new_name = fp.new_name or fp.default_name
    shown = fp.new_name or fp.old_name or shown
    if fp.old_name is None and fp.new_name is None:
        raise _bad(shown, fp.line, "the header names no file (with -p, does the diff have that many "
                   "leading directories?)", name)
    if GITLINK in (fp.old_mode, fp.new_mode):
        raise PlanError(f"{shown}: diff line {fp.line}: a submodule (gitlink, mode 160000) change; wopt "
                        "applies file changes only", file=name,
                        hint="update the submodule with git (`git submodule update`), and remove its "
                        "section from the diff")
    if (src.peek() or b"").rstrip(b"\r\n") == b"GIT binary patch":
        fp.binary = _binary(src, shown, name)
    elif not fp.binary_without_data:
        _hunks(src, fp, shown, name)
    return fp


def _dec(b: bytes | None) -> str | None:
    return None if b is None else _show(b)


def _parse_traditional(src: _Lines, p: int, name: str | None) -> _FilePatch:
    fp = _FilePatch(line=src.lineno, git=False)
    a_raw, b_raw = _eol(src.peek() or b"")[4:], _eol(src.peek(1) or b"")[4:]
    src.i += 2
    a = None if a_raw.startswith(b"/dev/null") else _name(a_raw, p)
    b = None if b_raw.startswith(b"/dev/null") else _name(b_raw, p)
    fp.is_new, fp.is_delete = a is None, b is None
    if a is not None and b is not None and len(a) < len(b) and b.startswith(a):
        b = a  # git prefers the shorter name ("x" over "x.orig")
    if not fp.is_new and not fp.is_delete:
        a = b
    fp.old_name, fp.new_name = _dec(a), _dec(b)
    shown = fp.new_name or fp.old_name or _show(b_raw)
    if fp.old_name is None and fp.new_name is None:
        raise _bad(shown, fp.line, "names neither a source nor a target file", name)
    _hunks(src, fp, shown, name)
    return fp


def _hunks(src: _Lines, fp: _FilePatch, shown: str, name: str | None) -> None:
    while (ln := src.peek()) is not None and ln.startswith(b"@@ -"):
        m = _HUNK_RE.match(ln)
        if not m:
            raise _bad(shown, src.lineno, f"the hunk header {_show(_eol(ln))[:60]!r} is damaged", name)
        h = _Hunk(line=src.lineno, header=_show(_eol(ln)).split(" @@")[0] + " @@",
                  old_pos=int(m.group(1)), old_len=1 if m.group(2) is None else int(m.group(2)),
                  new_pos=int(m.group(3)), new_len=1 if m.group(4) is None else int(m.group(4)))
        src.i += 1
        olds, news = h.old_len, h.new_len
        added = deleted = 0
        last: str | None = None
        while olds or news:
            ln = src.peek()
            if ln is None or not ln.endswith(b"\n"):
                raise _bad(shown, src.lineno if ln is not None else src.lineno - 1,
                           f"corrupt hunk {h.header}: the diff ends before its last line", name)
            c = ln[:1]
            if c in (b" ", b"\n"):
                body = ln[1:] if c == b" " else ln
                h.old.append(body)
                h.new.append(body)
                olds -= 1
                news -= 1
                if not added and not deleted:
                    h.leading += 1
                h.trailing += 1
                last = "both"
            elif c == b"-" or c == b"+":
                if c == b"-":
                    h.old.append(ln[1:])
                    olds -= 1
                    deleted += 1
                    last = "old"
                else:
                    h.new.append(ln[1:])
                    news -= 1
                    added += 1
                    last = "new"
                h.trailing = 0
            elif c == b"\\" and len(ln) >= 12 and ln.startswith(b"\\ "):
                _no_newline(h, last)
                last = None
            else:
                raise _bad(shown, src.lineno, f"corrupt hunk {h.header}: line {_show(_eol(ln))[:40]!r} "
                           "is not context, '-' or '+'", name)
            if olds < 0 or news < 0:
                raise _bad(shown, src.lineno, f"corrupt hunk {h.header}: more lines than its header counts", name)
            src.i += 1
        nxt = src.peek()
        if nxt is not None and nxt.startswith(b"\\ ") and len(nxt) >= 12:
            _no_newline(h, last)
            src.i += 1
        if not added and not deleted:
            raise _bad(shown, h.line, f"hunk {h.header} changes nothing", name)
        fp.hunks.append(h)
    if fp.is_new and any(h.old for h in fp.hunks):
        raise _bad(shown, fp.line, "a new file's diff depends on old contents", name)
    if fp.is_delete and any(h.new for h in fp.hunks):
        raise _bad(shown, fp.line, "a deleted file's diff still has contents", name)


def _no_newline(h: _Hunk, last: str | None) -> None:
    """`\\ No newline at end of file`: the line before it loses its LF (git removes the LF
    only: a CR before it stays)."""
    if last in ("old", "both") and h.old and h.old[-1].endswith(b"\n"):
        h.old[-1] = h.old[-1][:-1]
    if last in ("new", "both") and h.new and h.new[-1].endswith(b"\n"):
        h.new[-1] = h.new[-1][:-1]


# ------------------------------------------------------------------------ binary patches

def _b85_line(ln: bytes, shown: str, lineno: int, name: str | None) -> bytes:
    t = ln.rstrip(b"\r\n")
    c = chr(t[0])
    if "A" <= c <= "Z":
        n = ord(c) - ord("A") + 1
    elif "a" <= c <= "z":
        n = ord(c) - ord("a") + 27
    else:
        raise _bad(shown, lineno, "corrupt binary patch (bad length character)", name)
    try:
        data = base64.b85decode(t[1:])
    except ValueError:
        raise _bad(shown, lineno, "corrupt binary patch (bad base85)", name) from None
    if len(data) < n:
        raise _bad(shown, lineno, "corrupt binary patch (short line)", name)
    return data[:n]


def _binary(src: _Lines, shown: str, name: str | None) -> tuple[str, bytes]:
    """The forward hunk of a GIT binary patch (the reverse one is read and dropped)."""
    src.i += 1
    result = None
    for _ in range(2):
        ln = src.peek()
        m = re.match(rb"^(literal|delta) (\d+)\s*$", ln or b"")
        if not m:
            if result is not None:
                break  # a patch without its reverse hunk
            raise _bad(shown, src.lineno, "corrupt binary patch (expected `literal` or `delta`)", name)
        start = src.lineno
        src.i += 1
        raw = bytearray()
        while (ln := src.peek()) is not None and ln.strip():
            raw += _b85_line(ln, shown, src.lineno, name)
            src.i += 1
        if src.peek() is not None:
            src.i += 1  # the blank line that ends it
        try:
            payload = zlib.decompress(bytes(raw))
        except zlib.error:
            raise _bad(shown, start, "corrupt binary patch (bad zlib data)", name) from None
        if len(payload) != int(m.group(2)):
            raise _bad(shown, start, "corrupt binary patch (size differs)", name)
        if result is None:
            result = (m.group(1).decode(), payload)
    assert result is not None
    return result


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


def _blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


# ------------------------------------------------------------------------ applying hunks

def _split(data: bytes) -> list[bytes]:
    parts = data.split(b"\n")
    out = [x + b"\n" for x in parts[:-1]]
    if parts[-1]:
        out.append(parts[-1])
    return out


def _find(img: list[bytes], pre: list[bytes], line: int, begin: bool, end: bool) -> int | None:
    """git apply's find_pos: the first place, trying `line` then alternately one further forward
    and one further back, where `pre` matches exactly (at the start / the end when required)."""
    n, m = len(img), len(pre)
    if m > n:
        return None
    if begin:
        line = 0
    elif end:
        line = n - m
    line = min(max(line, 0), n)

    def match(at: int) -> bool:
        if at + m > n:
            return False
        if end and at + m != n:
            return False
        if begin and at:
            return False
        return img[at:at + m] == pre

    back = fwd = cur = line
    i = 0
    while True:
        if match(cur):
            return cur
        while True:
            if back == 0 and fwd == n:
                return None
            if i & 1:
                if back == 0:
                    i += 1
                    continue
                back -= 1
                cur = back
            else:
                if fwd == n:
                    i += 1
                    continue
                fwd += 1
                cur = fwd
            i += 1
            break


def _apply(before: bytes, hunks: list[_Hunk], *, zero: bool, path: str, label: str) -> bytes:
    img = _split(before)
    for k, h in enumerate(hunks):
        begin = h.old_pos == 0 or (h.old_pos == 1 and not zero)
        end = not zero and h.trailing == 0
        pos = h.new_pos - 1 if h.new_pos else 0
        at = _find(img, h.old, pos, begin, end)
        if at is None:
            have = set(img)
            first = next((x for x in h.old if x not in have), None)
            what = (f"its line {_show(first)[:60]!r} is not in the file" if first is not None
                    else "its lines are in the file, but not in that order" if h.old
                    else "it does not fit the file")
            if h.old and (begin or end) and _find(img, h.old, pos, False, False) is not None:
                what = f"its lines are in the file, but not at its {'start' if begin else 'end'}"
            raise StepError(f"{label}: hunk {k + 1} ({h.header}, diff line {h.line}) does not apply: {what}",
                            path=path, hint="the file changed since the diff was made (git apply refuses it too)")
        img[at:at + len(h.old)] = h.new
    return b"".join(img)


def _exec_mode(git_mode: int | None) -> int | None:
    """The permission bits git apply leaves for `git_mode` (0777 or 0666 less the umask)."""
    if git_mode is None:
        return None
    umask = 0o666 & ~default_file_mode()
    return (0o777 if git_mode & 0o100 else 0o666) & ~umask


# ------------------------------------------------------------------------ plan

def read(data: bytes, ws, *, name: str | None = None, strip: int | None = None) -> Plan:
    if strip is not None and strip < 0:
        raise PlanError(f"-p {strip}: must be 0 or more", file=name)
    p = strip if strip is not None else (1 if _has_ab(data) else 0)
    patches = _parse(data, p, name)
    if not patches:
        raise PlanError("holds no file diff", file=name, hint="expected `diff --git` or `---`/`+++` headers")
    zero = all(h.leading == 0 and h.trailing == 0 for fp in patches for h in fp.hunks) and \
        any(fp.hunks for fp in patches)
    folder = Folder(ws, name=name)
    for fp in patches:
        _file(ws, folder, fp, zero, name)
    return Plan(title="diff" + (f" {shown}" if (shown := input_basename(name)) else ""), source="diff",
                steps=folder.steps())


def _file(ws, folder: Folder, fp: _FilePatch, zero: bool, name: str | None) -> None:
    shown = fp.new_name or fp.old_name or "?"
    src = agent_path(ws, fp.old_name, what="source path") if fp.old_name else None
    dst = agent_path(ws, fp.new_name, what="target path") if fp.new_name else None
    path = dst or src
    assert path is not None
    cid = f"line {fp.line}"
    label = f"diff line {fp.line}"
    if fp.binary_without_data:
        raise PlanError(f"{shown}: diff line {fp.line}: the diff holds a binary change without its data",
                        file=name, hint="regenerate it with `git diff --binary`; nothing was stored")
    if _git_type(fp.new_mode) is not None or _git_type(fp.old_mode) is not None:
        _symlink(ws, folder, fp, src, dst, cid, label)
        return
    old_m, new_m = fp.old_mode, fp.new_mode

    def transform(before: bytes | None) -> bytes | None:
        before = _section_base(before, fp, label, path=path, missing_path=src or path,
                               exists="the diff creates the file, but it already exists",
                               missing="the file to change does not exist")
        if fp.binary is not None:
            kind, payload = fp.binary
            if fp.old_id and len(fp.old_id) == 40 and set(fp.old_id) != {"0"} and _blob_id(before) != fp.old_id:
                raise StepError(f"{label}: the file is not the one the binary patch was made from",
                                path=path, hint="the file changed since the diff was made")
            if kind == "literal":
                after = payload
            else:
                try:
                    after = _apply_delta(before, payload)
                except (ValueError, IndexError):
                    raise StepError(f"{label}: the binary delta does not apply to the file", path=path,
                                    hint="the file changed since the diff was made") from None
        elif fp.is_delete:
            if b"".join(x for h in fp.hunks for x in h.old) != before:
                raise StepError(f"{label}: the file differs from the text the diff deletes", path=path,
                                hint="the file changed since the diff was made (git apply refuses it too)")
            after = b""
        else:
            after = _apply(before, fp.hunks, zero=zero, path=path, label=label)
        if fp.is_delete:
            if after:
                raise StepError(f"{label}: the file differs from the text the diff deletes", path=path,
                                hint="the file changed since the diff was made")
            return None
        return after

    if fp.is_copy:
        if src is None or dst is None:
            raise PlanError(f"{shown}: diff line {fp.line}: a copy needs both `copy from` and `copy to`", file=name)
        data, mode = folder._state(src) if src not in folder.open else (folder.open[src].cur, folder.open[src].mode)
        if data is None:
            raise StepError(f"{label}: the file to copy does not exist", path=src,
                            hint="the workspace is not at the diff's base")
        fp_new = fp

        def copy(before: bytes | None, data=data) -> bytes | None:
            if before is not None:
                raise StepError(f"{label}: the copy's target already exists", path=dst,
                                hint="the workspace is not at the diff's base")
            return _apply(data, fp_new.hunks, zero=zero, path=dst, label=label) if fp_new.hunks else data
        mode = _exec_mode(new_m) if new_m is not None else mode
        folder.add(Call("diff", "transform", dst, call_id=cid, transform=copy, summary=f"copy of {src}",
                        mode=mode))
        return
    if src and dst and src != dst:
        folder.add(Call("diff", "move", src, to=dst, call_id=cid, summary=f"rename {src} -> {dst}"))
    if fp.is_new:
        folder.add(Call("diff", "transform", path, call_id=cid, transform=transform,
                        mode=_exec_mode(new_m) if new_m is not None and new_m & 0o100 else None,
                        summary="new file" + (" (binary)" if fp.binary else "")))
        return
    if fp.is_delete:
        folder.add(Call("diff", "transform", path, call_id=cid, transform=transform,
                        summary="delete" + (" (binary)" if fp.binary else "")))
        return
    if fp.hunks or fp.binary:
        n = len(fp.hunks)
        folder.add(Call("diff", "transform", path, call_id=cid, transform=transform,
                        summary=f"binary {fp.binary[0]}" if fp.binary else f"{n} hunk{'s' * (n != 1)}"))
    if new_m is not None and old_m is not None and old_m != new_m:
        folder.add(Call("diff", "chmod", path, call_id=cid, mode=_exec_mode(new_m),
                        summary=f"mode {old_m & 0o777:03o} -> {new_m & 0o777:03o}"))


def _section_base(before: bytes | None, fp: _FilePatch, label: str, *, path: str, missing_path: str,
                  exists: str, missing: str) -> bytes:
    """The content a section of `fp` applies to: nothing for a section that creates its path
    (which must not exist), else the path's current content (which must exist). StepError
    `exists` or `missing` otherwise: the workspace is not at the diff's base."""
    if fp.is_new:
        if before is not None:
            raise StepError(f"{label}: {exists}", path=path, hint="the workspace is not at the diff's base")
        return b""
    if before is None:
        raise StepError(f"{label}: {missing}", path=missing_path, hint="the workspace is not at the diff's base")
    return before


def _git_type(mode: int | None) -> int | None:
    return None if mode is None else (SYMLINK_MODE if mode & 0o170000 == 0o120000 else None)


def _symlink(ws, folder: Folder, fp: _FilePatch, src: str | None, dst: str | None, cid: str, label: str) -> None:
    """A change of a symbolic link (mode 120000 on either side): its "content" is its target."""
    path = dst or src
    assert path is not None
    old_link = _git_type(fp.old_mode) is not None
    new_link = _git_type(fp.new_mode) is not None
    if fp.binary is not None:
        raise StepError(f"{label}: a symlink given as a binary patch", path=path,
                        hint="regenerate the diff with `git diff`")
    if (fp.old_mode is not None and fp.new_mode is not None and old_link != new_link):
        raise StepError(f"{label}: changes a file into a symlink (or back) in one section", path=path,
                        hint="git diff writes that as a delete and a create; regenerate the diff")
    moved: dict[str, bytes] = {}
    if src and dst and src != dst:
        def take(before: bytes | None) -> bytes | None:
            if before is None:
                raise StepError(f"{label}: the symlink to rename does not exist", path=src,
                                hint="the workspace is not at the diff's base")
            moved["target"] = before
            return None
        folder.add(Call("diff", "symlink", src, call_id=cid, transform=take, summary=f"rename to {dst}"))

    def retarget(before: bytes | None) -> bytes | None:
        if "target" in moved:
            if before is not None:
                raise StepError(f"{label}: the symlink is renamed onto {dst}, which exists", path=src,
                                hint="the workspace is not at the diff's base")
            before = moved["target"]
        else:
            before = _section_base(before, fp, label, path=path, missing_path=path,
                                   exists="the diff creates the symlink, but the path already exists",
                                   missing="the symlink to change does not exist")
        after = _apply(before, fp.hunks, zero=False, path=path, label=label) if fp.hunks else before
        if fp.is_delete:
            if after:
                raise StepError(f"{label}: the symlink's target differs from the one the diff deletes",
                                path=path, hint="the link changed since the diff was made")
            return None
        target = _show(after)
        why = check_link_target(path, target)
        if why:
            raise StepError(f"{label}: the symlink {why}", path=path,
                            hint="wopt creates links that stay inside the workspace; nothing was stored")
        return after

    if fp.hunks or fp.is_new or fp.is_delete or (src and dst and src != dst):
        what = "new symlink" if fp.is_new else ("delete symlink" if fp.is_delete else "retarget symlink")
        folder.add(Call("diff", "symlink", path, call_id=cid, transform=retarget, summary=what))
