"""Aider's edit formats, applied by Aider's own rules (aider/coders/editblock_coder.py and
udiff_coder.py).

SEARCH/REPLACE blocks: `<<<<<<< SEARCH`, the old lines, `=======`, the new lines, `>>>>>>>
REPLACE` (5 to 9 marker characters; a second `=======` also ends a block). The file path is
found on the up to three lines before the SEARCH marker, going back only over code-fence lines
(`path` then a fence, or a fence holding the path, as in `diff-fenced`); a `...` line is never a
path; with no path the block uses the previous block's. Fenced shell blocks are skipped.

Each block is applied to the file as Aider reads it (universal newlines: CRLF and lone CR read
as LF), with its text's lines re-joined with LF and a final newline added, as Aider does:
- an empty SEARCH creates the file, or appends the REPLACE text to it;
- otherwise the first run of whole lines equal to the SEARCH lines is replaced (line-anchored);
- then the same ignoring a uniform difference in leading whitespace, the REPLACE lines
  re-indented by the file's indentation;
- then both again without a spurious blank first SEARCH line (SEARCH of 3 lines or more);
- then `...` elision: the SEARCH and REPLACE texts split at `...` lines (the same number in
  each), each SEARCH piece replaced once where it occurs exactly once.
Aider's edit-distance fallback is disabled in Aider itself, so it is not used. A block that
matches nowhere is an error. The file is written as Aider writes it with its default
`--line-endings platform` on a POSIX system: LF line endings throughout, a final newline when
a block replaced text.

Aider's udiff: fenced ```diff blocks with `--- path` / `+++ path` headers (`a/` `b/` stripped
when both are there) and hunks between `@@ ... @@` lines without line numbers; a blank line
just before the next file's headers separates files and is not part of the hunk. Each hunk
is applied as Aider's first, exact strategy applies it: its old text (whitespace-only lines
read as empty) replaced by its new text wherever it occurs (a short old text that occurs more
than once is refused); a hunk with no old text creates the file or appends to it.
"""
from __future__ import annotations

import posixpath
import re

from ..model.errors import PlanError, StepError
from ..model.plan import Plan
from .fold import Call, Folder, agent_path, input_basename, input_text, to_bytes

HEAD = re.compile(r"^<{5,9} SEARCH>?\s*$")
DIVIDER = re.compile(r"^={5,9}\s*$")
UPDATED = re.compile(r"^>{5,9} REPLACE\s*$")
FENCE = "```"
_SHELL_FENCES = tuple(FENCE + x for x in ("bash", "sh", "shell", "cmd", "batch", "powershell", "ps1", "zsh",
                                          "fish", "ksh", "csh", "tcsh"))
_DOTS = re.compile(r"(^\s*\.\.\.\n)", re.M | re.S)


# ------------------------------------------------------------------ reading the reply
def _filename(line: str) -> str | None:
    """A path named on a line before a SEARCH marker, Aider's way (None: not a path)."""
    s = line.strip()
    if s == "...":
        return None
    if s.startswith(FENCE):
        rest = s[len(FENCE):].lstrip("`")
        return rest if rest and ("." in rest or "/" in rest) else None
    s = s.rstrip(":").lstrip("#").strip().strip("`").strip("*")
    return s or None


def _path_before(lines: list[str], i: int) -> str | None:
    """Up to three lines before line i, nearest first, going back only over fence lines; the
    first name with a dot wins, else the nearest name."""
    names = []
    for line in reversed(lines[max(0, i - 3):i]):
        name = _filename(line)
        if name:
            names.append(name)
        if not line.startswith(FENCE):
            break
    return next((n for n in names if "." in n), names[0] if names else None)


def _blocks(text: str, name: str | None) -> list[tuple[str, str, str, int]]:
    lines = text.splitlines(keepends=True)
    out = []
    i = 0
    last_path = None
    while i < len(lines):
        s = lines[i].strip()
        if s.startswith(_SHELL_FENCES) and not any(HEAD.match(lines[k].strip())
                                                   for k in (i + 1, i + 2) if k < len(lines)):
            i += 1     # a shell command block: not an edit
            while i < len(lines) and not lines[i].strip().startswith(FENCE):
                i += 1
            i += 1
            continue
        if not HEAD.match(s):
            i += 1
            continue
        start = i + 1
        path = _path_before(lines, i) or last_path
        if path is None:
            raise PlanError(f"line {start}: a SEARCH block without a file path before it", file=name,
                            hint="put the path alone on the line before the block's fence")
        last_path = path
        i += 1
        old = []
        while i < len(lines) and not DIVIDER.match(lines[i].strip()):
            old.append(lines[i])
            i += 1
        if i >= len(lines):
            raise PlanError(f"line {start}: the SEARCH block is not closed (no `=======`)", file=name)
        i += 1
        new = []
        while i < len(lines) and not (UPDATED.match(lines[i].strip()) or DIVIDER.match(lines[i].strip())):
            new.append(lines[i])
            i += 1
        if i >= len(lines):
            raise PlanError(f"line {start}: the block is not closed (no `>>>>>>> REPLACE`)", file=name)
        i += 1
        out.append((path, "".join(old), "".join(new), start))
    return out


# ------------------------------------------------------------------ Aider's matching
def _unwrap(text: str, path: str, *, label: str, what: str) -> str:
    """A block's text as Aider takes it: a first line ending in the file's name and a code fence
    around it dropped, lines re-joined with LF and ended with one."""
    if not text:
        return text
    lines = text.splitlines()
    if lines[0].strip().endswith(posixpath.basename(path)):
        lines = lines[1:]
        if not lines:
            raise StepError(f"{label}: its {what} text is only a line naming the file, which Aider "
                            "drops and then fails on", path=path)
    if lines[0].startswith(FENCE) and lines[-1].startswith(FENCE):
        lines = lines[1:-1]
    out = "\n".join(lines)
    return out + "\n" if out and not out.endswith("\n") else out


def _with_newline(text: str) -> tuple[str, list[str]]:
    if text and not text.endswith("\n"):
        text += "\n"
    return text, text.splitlines(keepends=True)


def _exact_lines(whole: list[str], part: list[str], repl: list[str]) -> str | None:
    n = len(part)
    for i in range(len(whole) - n + 1):
        if whole[i:i + n] == part:
            return "".join(whole[:i] + repl + whole[i + n:])
    return None


def _indent(s: str) -> int:
    return len(s) - len(s.lstrip())


def _reindented(whole: list[str], part: list[str], repl: list[str]) -> str | None:
    """SEARCH lines found but for a uniform difference in leading whitespace: the REPLACE
    lines, outdented as far as both allow, take the file's extra indentation."""
    widths = [_indent(p) for p in part if p.strip()] + [_indent(r) for r in repl if r.strip()]
    cut = min(widths) if widths else 0
    if cut:
        part = [p[cut:] if p.strip() else p for p in part]
        repl = [r[cut:] if r.strip() else r for r in repl]
    n = len(part)
    for i in range(len(whole) - n + 1):
        window = whole[i:i + n]
        if any(w.lstrip() != p.lstrip() for w, p in zip(window, part)):
            continue
        extra = {w[:len(w) - len(p)] for w, p in zip(window, part) if w.strip()}
        if len(extra) != 1:
            continue
        add = extra.pop()
        repl = [add + r if r.strip() else r for r in repl]
        return "".join(whole[:i] + repl + whole[i + n:])
    return None


def _lines_or_indent(whole: list[str], part: list[str], repl: list[str]) -> str | None:
    return _exact_lines(whole, part, repl) or _reindented(whole, part, repl)


def _elided(whole: str, part: str, repl: str) -> str | None:
    """`...` lines in SEARCH and REPLACE: each piece between them replaced where it occurs
    once. None when there is no `...`, or the pieces do not pair up or match."""
    ps, rs = _DOTS.split(part), _DOTS.split(repl)
    if len(ps) != len(rs) or len(ps) == 1:
        return None
    if any(ps[k] != rs[k] for k in range(1, len(ps), 2)):
        return None
    for p, r in zip(ps[0::2], rs[0::2]):
        if not p and not r:
            continue
        if not p:
            whole = (whole if whole.endswith("\n") else whole + "\n") + r
            continue
        if whole.count(p) != 1:
            return None
        whole = whole.replace(p, r, 1)
    return whole


def replace_block(whole: str, part: str, repl: str) -> str | None:
    """Aider's replace_most_similar_chunk, without its (disabled) edit-distance fallback."""
    whole, wl = _with_newline(whole)
    part, pl = _with_newline(part)
    repl, rl = _with_newline(repl)
    res = _lines_or_indent(wl, pl, rl)
    if res:
        return res
    if len(pl) > 2 and not pl[0].strip():
        res = _lines_or_indent(wl, pl[1:], rl)
        if res:
            return res
    return _elided(whole, part, repl)


def as_aider_reads(data: bytes, *, path: str, label: str) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise StepError(f"{label}: the file is not UTF-8 text", path=path) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


# ------------------------------------------------------------------ SEARCH/REPLACE
def _search_replace(ws, folder: Folder, text: str, name: str | None) -> int:
    blocks = _blocks(text, name)
    for path_raw, old_raw, new_raw, line in blocks:
        path = agent_path(ws, path_raw)
        label = f"SEARCH/REPLACE block at line {line}"
        call = Call("aider", "transform", path, call_id=f"line {line}",
                    summary="create or append" if not old_raw.strip() else "search/replace")

        def run(before, old_raw=old_raw, new_raw=new_raw, path=path, label=label, call=call):
            old = _unwrap(old_raw, path, label=label, what="SEARCH")
            new = _unwrap(new_raw, path, label=label, what="REPLACE")
            if before is None:
                if old.strip():
                    raise StepError(f"{label}: the file does not exist, so SEARCH {old[:60]!r} cannot match",
                                    path=path)
                cur = ""
            else:
                cur = as_aider_reads(before, path=path, label=label)
            res = cur + new if not old.strip() else replace_block(cur, old, new)
            if res is None:
                raise StepError(f"{label}: SEARCH text {old[:60]!r} is not in the file", path=path,
                                hint="the file changed since Aider read it, or the block is wrong")
            if not res:
                raise StepError(f"{label}: the edit leaves the file empty, which Aider refuses", path=path)
            return to_bytes(res, what="REPLACE text", call=call)
        call.transform = run
        folder.add(call)
    return len(blocks)


# ------------------------------------------------------------------ udiff
def _fence_bodies(text: str) -> list[tuple[int, list[str]]]:
    """(line number of the first body line, body lines) of each ```diff block."""
    if not text.endswith("\n"):
        text += "\n"
    lines = text.splitlines(keepends=True)
    out = []
    i = 0
    while i < len(lines):
        if lines[i].startswith("```diff"):
            j = i + 1
            while j < len(lines) and not lines[j].startswith(FENCE):
                j += 1
            out.append((i + 2, lines[i + 1:j]))
            i = j + 1
        else:
            i += 1
    return out


def _udiff_name(minus: str, plus: str) -> str:
    a, b = minus[4:].strip(), plus[4:].strip()
    return b[2:] if (a.startswith("a/") or a == "/dev/null") and b.startswith("b/") else b


def _udiff_hunks(body: list[str], at: int) -> list[tuple[str | None, list[str], int]]:
    """(path or None, hunk lines, line number) as Aider splits a fenced diff."""
    out: list[tuple[str | None, list[str], int]] = []
    block = body + ["@@ @@"]
    fname = None
    if len(block) > 1 and block[0].startswith("--- ") and block[1].startswith("+++ "):
        fname = _udiff_name(block[0], block[1])
        block = block[2:]
        at += 2
    hunk: list[str] = []
    start = at
    changes = False
    for k, line in enumerate(block):
        hunk.append(line)
        if len(line) < 2:
            continue
        if line.startswith("+++ ") and len(hunk) > 1 and hunk[-2].startswith("--- "):
            # the next file: its header lines, and one blank line before them, end this hunk
            cut = 3 if len(hunk) > 2 and hunk[-3] == "\n" else 2
            out.append((fname, hunk[:-cut], start))
            fname = _udiff_name(hunk[-2], line)
            hunk, changes, start = [], False, at + k + 1
            continue
        if line[0] in "-+":
            changes = True
            continue
        if line[0] != "@":
            continue
        if changes:
            out.append((fname, hunk[:-1], start))
        hunk, changes, start = [], False, at + k + 1
    return [h for h in out if h[1]]


def _before_after(hunk: list[str]) -> tuple[str, str]:
    before, after = [], []
    for line in hunk:
        op, body = (" ", line) if len(line) < 2 else (line[0], line[1:])
        if not body.strip():
            # whitespace-only lines are read as their line ending alone
            k = len(body) - len(body.rstrip("\r\n"))
            body = body[-k] if k else body[:1]
        if op in " -":
            before.append(body)
        if op in " +":
            after.append(body)
    return "".join(before), "".join(after)


def _udiff(ws, folder: Folder, text: str, name: str | None) -> int:
    n = 0
    last = None
    seen = set()
    for at, body in _fence_bodies(text):
        for fname, hunk, line in _udiff_hunks(body, at):
            fname = fname or last
            if fname is None:
                raise PlanError(f"line {line}: a diff hunk without a `--- path` / `+++ path` header", file=name)
            last = fname
            before, after = _before_after(hunk)
            if before == after or (fname, before, after) in seen:
                continue
            seen.add((fname, before, after))
            if fname == "/dev/null":
                raise PlanError(f"line {line}: `+++ /dev/null`: Aider's udiff cannot delete a file", file=name)
            path = agent_path(ws, fname)
            label = f"udiff hunk at line {line}"
            call = Call("aider", "transform", path, call_id=f"line {line}",
                        summary="create or append" if not before.strip() else "udiff hunk")
            call.transform = _udiff_run(before, after, path, label, call)
            folder.add(call)
            n += 1
    return n


def _udiff_run(before_text: str, after_text: str, path: str, label: str, call: Call):
    def run(before: bytes | None) -> bytes:
        if before is None:
            if before_text.strip():
                raise StepError(f"{label}: the file does not exist", path=path)
            cur = ""
        else:
            cur = as_aider_reads(before, path=path, label=label)
        if not before_text.strip():
            res = cur + after_text
        else:
            count = cur.count(before_text)
            if not count:
                raise StepError(f"{label}: its lines {before_text[:60]!r} are not in the file", path=path,
                                hint="the file changed since Aider read it, or the hunk is wrong")
            if count > 1 and len("".join(x.strip() for x in before_text.splitlines())) < 10:
                raise StepError(f"{label}: its lines {before_text[:60]!r} occur {count} times", path=path,
                                hint="give more context lines so they occur once")
            res = cur.replace(before_text, after_text)
        if not res:
            raise StepError(f"{label}: the hunk leaves the file empty, which Aider refuses", path=path)
        return to_bytes(res, what="text", call=call)
    return run


def read(data: bytes, ws, *, name: str | None = None) -> Plan:
    text = input_text(data, name)
    folder = Folder(ws, name=name)
    if any(HEAD.match(ln.strip()) for ln in text.splitlines()):
        n = _search_replace(ws, folder, text, name)
    else:
        n = _udiff(ws, folder, text, name)
    if not n:
        raise PlanError("holds no SEARCH/REPLACE block and no ```diff block", file=name,
                        hint="expected Aider's edit format")
    return Plan(title="Aider edits" + (f" ({shown})" if (shown := input_basename(name)) else ""),
                source="aider", agent="aider", steps=folder.steps())
