"""Pure text operations: exact edits (Claude Code's rules) and unified-diff hunks located by
context. Line endings are kept byte for byte: nothing here splits on anything but "\\n"."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from .errors import StepError


def _snip(s: str, n: int = 60) -> str:
    s = s if len(s) <= n else s[: n - 1] + "…"
    return repr(s)


def apply_edits(text: str, edits, *, path: str | None = None, step: str | None = None,
                call: str | None = None) -> str:
    """Apply edits in order, each to the result of the one before. `old_string` must occur
    exactly once unless `replace_all`. Each edit may be an object with old_string/new_string/
    replace_all or a (old, new, replace_all) tuple."""
    for j, e in enumerate(edits):
        old, new, every = (e if isinstance(e, tuple) else (e.old_string, e.new_string, e.replace_all))
        label = f"edit {j + 1}" + (f" of {call}" if call else "")
        if old == "":
            raise StepError(f"{label}: old_string is empty", step=step, path=path)
        n = text.count(old)
        if n == 0:
            raise StepError(f"{label}: old_string {_snip(old)} is not in the file", step=step, path=path,
                            hint="the file changed since the agent read it, or the edit is wrong")
        if n > 1 and not every:
            raise StepError(f"{label}: old_string {_snip(old)} occurs {n} times", step=step, path=path,
                            hint="give more context so it occurs once, or set replace_all")
        text = text.replace(old, new) if every else text.replace(old, new, 1)
    return text


def split_lines(text: str) -> list[str]:
    """Split after each "\\n" only (keeps "\\r\\n" and lone "\\r" inside lines)."""
    if not text:
        return []
    parts = text.split("\n")
    out = [p + "\n" for p in parts[:-1]]
    if parts[-1]:
        out.append(parts[-1])
    return out


_HUNK_RE = re.compile(r"^@@+ *(?:-(\d+)(?:,(\d+))? +\+(\d+)(?:,(\d+))?)?.*?(?:@@+.*)?$")


@dataclass
class Hunk:
    old_start: int | None            # 1-based line hint, None when the header has no numbers
    old: list[str] = field(default_factory=list)   # context and removed lines, with endings
    new: list[str] = field(default_factory=list)   # context and added lines, with endings
    header: str = ""
    _last: str | None = field(default=None, repr=False, compare=False)  # where the last line went

    def feed(self, tag: str, body: str) -> None:
        """Add one hunk line: " " context, "-" removed, "+" added, or "\\" for "No newline at
        end of file", which takes the line ending off the line before."""
        if tag == " ":
            self.old.append(body)
            self.new.append(body)
            self._last = "both"
        elif tag == "-":
            self.old.append(body)
            self._last = "old"
        elif tag == "+":
            self.new.append(body)
            self._last = "new"
        elif tag == "\\":
            if self._last in ("old", "both") and self.old:
                self.old[-1] = _chomp(self.old[-1])
            if self._last in ("new", "both") and self.new:
                self.new[-1] = _chomp(self.new[-1])
        else:
            raise ValueError(tag)


def parse_hunks(diff: str) -> list[Hunk]:
    """The hunks of a unified diff for one file (headers before the first @@ are skipped)."""
    hunks: list[Hunk] = []
    cur: Hunk | None = None
    for raw in split_lines(diff):
        line = raw
        if line.startswith("@@"):
            m = _HUNK_RE.match(line.rstrip("\r\n"))
            start = int(m.group(1)) if m and m.group(1) is not None else None
            cur = Hunk(old_start=start, header=line.rstrip("\r\n"))
            hunks.append(cur)
            continue
        if cur is None:
            continue  # file headers: diff --git, index, ---, +++
        if line.startswith("\\"):
            cur.feed("\\", "")
            continue
        tag, body = (line[0], line[1:]) if line not in ("\n", "\r\n") else (" ", line)
        if tag in " -+":
            cur.feed(tag, body)
        elif line.startswith(("diff ", "--- ", "+++ ", "index ")):
            cur = None  # next file's headers: stop this file
        else:
            raise StepError(f"hunk {len(hunks)}: line {_snip(line.rstrip())} is not context, '-' or '+'")
    return hunks


def _chomp(s: str) -> str:
    if s.endswith("\r\n"):
        return s[:-2]
    if s.endswith("\n"):
        return s[:-1]
    return s


def _norm(s: str) -> str:
    return s.rstrip("\r\n")


def _find(lines: list[str], block: list[str], lo: int, hint: int, key) -> int | None:
    """Index of `block` in lines[lo:], nearest to `hint`."""
    n, m = len(lines), len(block)
    if m == 0:
        return max(lo, min(hint, n))
    kb = [key(b) for b in block]
    first = kb[0]
    best = None
    for i in range(lo, n - m + 1):
        if key(lines[i]) == first and all(key(lines[i + k]) == kb[k] for k in range(1, m)):
            if best is None or abs(i - hint) < abs(best - hint):
                best = i
            elif i > hint:
                break
    return best


def apply_hunks(text: str, hunks: list[Hunk], *, path: str | None = None, step: str | None = None) -> str:
    """Apply hunks in order, each located by its context near its line hint (exact first, then
    ignoring line endings). A hunk that is not found is an error naming it."""
    lines = split_lines(text)
    out: list[str] = []
    pos = 0
    offset = 0
    for k, h in enumerate(hunks):
        hint = (h.old_start - 1 if h.old_start else pos) + offset
        if h.old_start == 0:
            hint = 0
        hint = max(pos, hint)
        at = _find(lines, h.old, pos, hint, lambda s: s)
        loose = False
        if at is None:
            at = _find(lines, h.old, pos, hint, _norm)
            loose = True
        if at is None:
            first = next((ln for ln in h.old if ln.strip()), h.old[0] if h.old else "")
            raise StepError(f"hunk {k + 1} ({h.header or '@@'}) does not apply: its context "
                            f"{_snip(_norm(first))} is not in the file", step=step, path=path,
                            hint="the file changed since the patch was made")
        out.extend(lines[pos:at])
        new = h.new
        if loose:
            eol = "\r\n" if any(ln.endswith("\r\n") for ln in lines[at:at + len(h.old)]) else "\n"
            new = [(_norm(ln) + eol) if ln.endswith("\n") else ln for ln in new]
        out.extend(new)
        offset += len(h.new) - len(h.old)
        pos = at + len(h.old)
    out.extend(lines[pos:])
    return "".join(out)


def apply_patch(text: str, diff: str, *, path: str | None = None, step: str | None = None) -> str:
    hunks = parse_hunks(diff)
    if not hunks:
        raise StepError("the patch holds no hunk", step=step, path=path)
    return apply_hunks(text, hunks, path=path, step=step)
