"""Diffs as data: hunks with line numbers, side-by-side rows, intra-line spans, binary summaries.

The line matcher is an anchored, divide-and-conquer diff built so that CPython's C loops do
the bulk of the work on large files (pure Python, no new dependency):

1. Trim the common prefix and suffix by galloping slice comparison: `a[i:i+k] == b[j:j+k]`
   runs in C, so a run of n equal lines costs O(n) C work and O(log n) Python steps.
2. Walk both sides in step: after each equal run, re-synchronise past the edit by trying the
   nearest shifts (di, dj), replacements first, whose next 4 lines agree (a handful of C
   slice comparisons per edit). Scattered edits of a large file - the common case - finish
   here in O(n) C work plus O(edits) Python, whatever the duplicate lines (blank lines,
   braces) around them. Small gaps are refined with difflib.
3. When no shift within 16 lines re-synchronises (a moved or rewritten block), the rest of
   the region is split with patience anchors: lines occurring on one side only are dropped
   first (set operations, C); if the remaining lines agree in order they are the longest
   common subsequence; otherwise lines unique on both sides, their longest increasing
   subsequence, and recursion between anchors (each sub-region walks again).
4. Small regions without anchors use difflib.SequenceMatcher; big anchorless regions (highly
   repetitive text) let difflib treat very popular lines as junk, so nothing is quadratic.

On a 100,000-line file with 100 scattered one-line changes this runs faster than
`git diff --no-index` (tests/benchmarks/bench_diff.py); difflib alone takes 20-35x there.
"""
from __future__ import annotations

import difflib
import re
from bisect import bisect_right
from dataclasses import replace

from ..model.linediff import (  # noqa: F401  (the line diff lives in the model; its public names stay here)
    CONTEXT, _NONL, _grouped, _lines, apply_hunks, is_binary, matching_blocks, opcodes)

from ..model.plan import sha256
from ..model.plan import is_symlink_mode
from .model import DiffHunk, DiffLine, StepDiff

_INTRALINE_MAX = 2000              # no word-level spans on longer lines


# --------------------------------------------------------------------------- line handling


def _diff_line(kind: str, old_no: int | None, new_no: int | None, line: str) -> DiffLine:
    """A DiffLine of one of `_lines`' lines: its text, and its line ending apart."""
    if line.endswith(_NONL):
        line = line[: -len(_NONL)]
        if line.endswith("\r"):
            return DiffLine(kind, old_no, new_no, line[:-1], [], "\r")
        return DiffLine(kind, old_no, new_no, line, [], "")
    if line.endswith("\r"):
        return DiffLine(kind, old_no, new_no, line[:-1], [], "\r\n")
    return DiffLine(kind, old_no, new_no, line)


# --------------------------------------------------------------------------- what a person sees

NO_NEWLINE = " [no newline at end of file]"
CR_MARK = "\u240d"                 # ␍
_WS_MARK = {" ": "\u00b7", "\t": "\u2192   "}   # · and → (a tab keeps its four columns)
# characters the markers are made of: written literally in a file they could pass for a
# marker, so where every space and tab is shown they are named instead (⟨U+00B7⟩)
_MARKER_CHARS = frozenset("\u00b7\u2192\u27e8\u27e9" + "".join(map(chr, range(0x2400, 0x2427))))
# a replaced block can hold lookalike lines only if one of them has a tab, a marker character
# or the no-newline note as text; the others are drawn differently whenever their bytes differ
_LOOKALIKE = re.compile("[\t\u00b7\u2192\u27e8\u27e9\u2400-\u2426]|\\[no newline at end of file\\]")


def _mark(c: str) -> str:
    o = ord(c)
    if c in _MARKER_CHARS:
        return f"\u27e8U+{o:04X}\u27e9"
    if o < 0x20:
        return chr(0x2400 + o)      # the control pictures: ␍ ␛ ␀ ...
    if o == 0x7F:
        return "\u2421"             # ␡
    if o == 0xFEFF:
        return "\u27e8BOM\u27e9"
    return f"\u27e8U+{o:04X}\u27e9"    # ⟨U+200B⟩: zero-width, bidirectional, non-ASCII spaces


def visible(s: str, trail: int | None = None, all_ws: bool = False) -> str:
    """`s` as drawn: a tab as four columns; every character a terminal would not show or would
    act on (controls, CR, escape, BOM, zero-width and bidirectional marks, non-ASCII spaces) as
    a visible marker; from index `trail` on, and everywhere when `all_ws`, spaces as `·` and
    tabs as `→`. A pure function of each character and its position, so a caller may map a
    line piece by piece (`trail` relative to the piece)."""
    if all_ws:
        trail = 0
    if trail is not None and trail < len(s):
        head, tail = s[:max(trail, 0)], s[max(trail, 0):]
    else:
        head, tail = s, ""
    if "\t" in head:
        head = head.replace("\t", "    ")
    if not head.isprintable():
        head = "".join(c if c.isprintable() else _mark(c) for c in head)
    if tail:
        tail = "".join(_WS_MARK.get(c) or (c if c.isprintable() and not (all_ws and c in _MARKER_CHARS)
                                           else _mark(c)) for c in tail)
    return head + tail


def trailing_start(text: str) -> int:
    """Where a line's trailing spaces and tabs start."""
    return len(text.rstrip(" \t"))


def eol_mark(ln: DiffLine, *, no_newline: bool = True) -> str:
    """What is drawn after a line's text for its line ending: `␍` for a CR on a changed line
    and, with `no_newline`, a note on a last line without a newline."""
    eol = ln.eol
    if eol == "\n":
        return ""
    out = CR_MARK if eol in ("\r\n", "\r") and ln.kind != " " else ""
    if no_newline and eol in ("", "\r"):
        out += NO_NEWLINE
    return out


def display_line(ln: DiffLine, *, no_newline: bool = True) -> str:
    """A diff line's text as a person sees it (without its `-`/`+` mark). On a changed line,
    trailing whitespace and a CR line ending are marked; everywhere, invisible characters."""
    if ln.kind == " ":
        s = visible(ln.text)
    else:
        s = visible(ln.text, trailing_start(ln.text), ln.ws)
    return s + eol_mark(ln, no_newline=no_newline)


def _mark_lookalikes(rem: list[DiffLine], add: list[DiffLine]) -> None:
    """In a replaced block, a removed and an added line that differ in bytes but would be drawn
    alike (a tab against spaces) are drawn with every space and tab visible."""
    if not any(_LOOKALIKE.search(x.text) for x in rem) and not any(_LOOKALIKE.search(y.text) for y in add):
        return
    drawn: dict[str, list[DiffLine]] = {}
    for x in rem:
        drawn.setdefault(display_line(x), []).append(x)
    hit = False
    for y in add:
        for x in drawn.get(display_line(y), ()):
            if x.text != y.text or x.eol != y.eol:
                x.ws = y.ws = True
                hit = True
    if not hit:
        return
    drawn = {}
    for x in rem:
        drawn.setdefault(display_line(x), []).append(x)
    for y in add:
        if any(x.text != y.text or x.eol != y.eol for x in drawn.get(display_line(y), ())):
            for z in rem + add:       # still alike: every line of the block shows its whitespace
                z.ws = True
            return


_BOM = b"\xef\xbb\xbf"


def _endings(data: bytes) -> str | None:
    crlf = data.count(b"\r\n")
    lf = data.count(b"\n") - crlf
    if crlf and lf:
        return f"mixed ({crlf} CRLF, {lf} LF)"
    return "CRLF" if crlf else "LF" if lf else None


def byte_notes(before: bytes | None, after: bytes | None) -> list[str]:
    """The changes a line diff does not spell out, in words: the file's line-ending style, a
    byte order mark, the newline at the end of the file."""
    if not before or not after or before == after:
        return []
    out = []
    e0, e1 = _endings(before), _endings(after)
    if e0 and e1 and e0 != e1:
        out.append(f"line endings {e0} -> {e1}")
    b0, b1 = before.startswith(_BOM), after.startswith(_BOM)
    if b0 != b1:
        out.append("byte order mark " + ("added" if b1 else "removed"))
    n0, n1 = before.endswith(b"\n"), after.endswith(b"\n")
    if n0 != n1:
        out.append("newline at end of file " + ("added" if n1 else "removed"))
    return out


def _size_words(n: int | None) -> str:
    from ..model.sizes import format_size
    return format_size(n)


def describe(d: StepDiff) -> list[str]:
    """Header lines saying what happens to the file beyond its lines: move, creation, deletion,
    mode bits (or, when a symbolic link is involved, what happens to the link: `link_note`),
    binary content, and byte-level changes (line endings, BOM, final newline)."""
    out = []
    if d.old_path and d.old_path != d.path:
        out.append(f"moved {d.old_path} -> {d.path}")
    if d.created:
        out.append(f"new file {d.path} ({_size_words(d.new_size)})")
    elif d.deleted:
        out.append(f"deleted {d.path} ({_size_words(d.old_size)})")
    note = link_note(d)
    if note:
        out.append(note)
    elif d.old_mode is not None and d.new_mode is not None and d.old_mode != d.new_mode:
        out.append(f"mode {d.old_mode & 0o7777:03o} -> {d.new_mode & 0o7777:03o}")
    elif d.created and d.new_mode is not None and d.new_mode & 0o7777 != 0o644:
        out.append(f"mode {d.new_mode & 0o7777:03o}" + (" (executable)" if d.new_mode & 0o111 else ""))
    if d.binary:
        out.append(f"binary file: {_size_words(d.old_size)} -> {_size_words(d.new_size)}")
    out.extend(d.notes)
    return out


# --------------------------------------------------------------------------- the matcher


# --------------------------------------------------------------------------- intra-line spans

_WORD = re.compile(r"\w+|\s+|[^\w\s]")


def word_spans(old: str, new: str) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Changed character ranges [start, end) of `old` and of `new`, at word granularity."""
    if len(old) > _INTRALINE_MAX or len(new) > _INTRALINE_MAX:
        return ([(0, len(old))] if old else []), ([(0, len(new))] if new else [])
    ta, tb = _WORD.findall(old), _WORD.findall(new)
    oa = [0]
    for t in ta:
        oa.append(oa[-1] + len(t))
    ob = [0]
    for t in tb:
        ob.append(ob[-1] + len(t))
    sa: list[tuple[int, int]] = []
    sb: list[tuple[int, int]] = []
    sm = difflib.SequenceMatcher(None, ta, tb, autojunk=False)
    for tag, i1, i2, j1, j2 in sm.get_opcodes():
        if tag == "equal":
            continue
        if i2 > i1:
            _add_span(sa, oa[i1], oa[i2])
        if j2 > j1:
            _add_span(sb, ob[j1], ob[j2])
    return sa, sb


def _add_span(spans: list, s: int, e: int) -> None:
    if spans and spans[-1][1] == s:
        spans[-1] = (spans[-1][0], e)
    else:
        spans.append((s, e))


# --------------------------------------------------------------------------- public API

def _ws_key(line: str) -> str:
    """A line as compared when whitespace is ignored: without any whitespace, its line ending
    (a CR) and the missing final newline included."""
    if line.endswith(_NONL):
        line = line[: -len(_NONL)]
    return "".join(line.split())


def _no_ws_spans(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    return [(s, e) for s, e in spans if text[s:e].strip()]


def hunks_of(a: list[str], b: list[str], *, context: int | None = CONTEXT, spans: bool = True,
             ignore_ws: bool = False) -> list[DiffHunk]:
    """The hunks of the diff of `a` and `b` (lines as `_lines` makes them) with `context` lines
    of context (None: the whole file, one hunk). With `ignore_ws`, lines that differ only in
    whitespace count as equal (`git diff -w`): they are drawn as context, with the new text."""
    out: list[DiffHunk] = []
    n = len(a) + len(b) + 1 if context is None else max(context, 0)
    ops = opcodes([_ws_key(x) for x in a], [_ws_key(y) for y in b]) if ignore_ws else opcodes(a, b)
    for idx, group in enumerate(_grouped(ops, n)):
        lines: list[DiffLine] = []
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                src, lo = (b, j1) if ignore_ws else (a, i1)
                for k in range(i2 - i1):
                    lines.append(_diff_line(" ", i1 + k + 1, j1 + k + 1, src[lo + k]))
                continue
            rem = [_diff_line("-", i1 + k + 1, None, a[i1 + k]) for k in range(i2 - i1)]
            add = [_diff_line("+", None, j1 + k + 1, b[j1 + k]) for k in range(j2 - j1)]
            if tag == "replace":
                if spans:
                    for r, s in zip(rem, add):
                        r.spans, s.spans = word_spans(r.text, s.text)
                        if ignore_ws:
                            r.spans, s.spans = _no_ws_spans(r.text, r.spans), _no_ws_spans(s.text, s.spans)
                _mark_lookalikes(rem, add)
            lines.extend(rem)
            lines.extend(add)
        first, last = group[0], group[-1]
        i1, i2, j1, j2 = first[1], last[2], first[3], last[4]
        # unified-diff convention: an empty range starts at the line before it
        out.append(DiffHunk(idx, i1 + 1 if i2 > i1 else i1, i2 - i1, j1 + 1 if j2 > j1 else j1, j2 - j1, lines))
    return out


def diff_bytes(before: bytes | None, after: bytes | None, *, path: str = "", step: str = "",
               old_path: str | None = None, old_mode: int | None = None,
               new_mode: int | None = None, context: int = CONTEXT, spans: bool = True) -> StepDiff:
    """The diff of one file's content, `None` meaning absent (`spans=False`: without the
    changed words within lines, which only a drawn diff shows)."""
    d = StepDiff(step=step, path=path, old_path=old_path, hunks=[],
                 created=before is None and after is not None,
                 deleted=after is None and before is not None,
                 old_mode=old_mode, new_mode=new_mode,
                 old_size=None if before is None else len(before),
                 new_size=None if after is None else len(after))
    if before is not None and is_symlink_mode(old_mode):
        d.old_link = before.decode("utf-8", "surrogateescape")
    if after is not None and is_symlink_mode(new_mode):
        d.new_link = after.decode("utf-8", "surrogateescape")
    ta, tb = _text(before), _text(after)
    if ta is None or tb is None:
        d.binary = True
        d.old_hash = None if before is None else sha256(before)
        d.new_hash = None if after is None else sha256(after)
        return d
    d.sources = (before, after)
    if before == after:
        return d
    d.hunks = hunks_of(_lines(ta), _lines(tb), context=context, spans=spans)
    d.notes = byte_notes(before, after)
    return d


def _text(data: bytes | None) -> str | None:
    """The text of a file, "" when absent, None when binary (a NUL byte, or not UTF-8)."""
    if not data:
        return ""
    if b"\x00" in data[:8192]:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def view_diff(d: StepDiff, *, context: int | None = CONTEXT, ignore_ws: bool = False) -> StepDiff:
    """`d` as a person asked to see it: `context` lines around each change (None: the whole
    file), and with `ignore_ws`, changes of whitespace alone left out (a hunk of nothing else
    disappears). A view only: what a step writes, and its hunks' numbers (`apply_hunks`,
    the review's accepted hunks), stay those of `d`; `hunk_owners` maps the view's lines to
    them. `d` itself when the options are the defaults or it has no text to diff again."""
    if (context == CONTEXT and not ignore_ws) or d.binary or d.sources is None:
        return d
    before, after = d.sources
    ta, tb = _text(before), _text(after)
    if ta is None or tb is None:
        return d
    hunks = hunks_of(_lines(ta), _lines(tb), context=context, ignore_ws=ignore_ws) if before != after else []
    return replace(d, hunks=hunks)


def hunk_owners(base: StepDiff, view: StepDiff) -> list[list[int]]:
    """For each line of each hunk of `view` (made by `view_diff` from `base`), the index of the
    hunk of `base` that holds it, or -1 (a context line no hunk of `base` shows). A removed or
    context line is found by its old line number, an added line by its new one."""
    if view is base:
        return [[h.index] * len(h.lines) for h in view.hunks]
    olds = [(h.old_start, h.old_start + h.old_len, h.index) for h in base.hunks if h.old_len]
    news = [(h.new_start, h.new_start + h.new_len, h.index) for h in base.hunks if h.new_len]
    old_starts = [r[0] for r in olds]
    new_starts = [r[0] for r in news]

    def find(no: int | None, ranges: list[tuple[int, int, int]], starts: list[int]) -> int:
        if no is None:
            return -1
        k = bisect_right(starts, no) - 1
        if k >= 0 and ranges[k][0] <= no < ranges[k][1]:
            return ranges[k][2]
        return -1

    out: list[list[int]] = []
    for h in view.hunks:
        own: list[int] = []
        for ln in h.lines:
            if ln.kind == "+":
                own.append(find(ln.new_no, news, new_starts))
            else:
                k = find(ln.old_no, olds, old_starts)
                own.append(k if k >= 0 or ln.kind == "-" else find(ln.new_no, news, new_starts))
        out.append(own)
    return out


def link_note(d: StepDiff) -> str | None:
    """One line saying what happens to a symbolic link, or None when no link is involved."""
    old, new = d.old_link, d.new_link
    if old is None and new is None:
        return None
    if old is None:
        return f"{'regular file replaced by a ' if d.old_size is not None else 'new '}symlink {d.path} -> {new}"
    if new is None:
        return (f"symlink {d.path} -> {old} removed" if d.deleted else
                f"symlink {d.path} -> {old} replaced by a regular file")
    return f"symlink {d.path}: target {old} -> {new}"


def unified(d: StepDiff, *, color: bool = False, visible: bool = False) -> str:
    """The diff as unified-diff text (`--- a/path`, `+++ b/path`, hunks), byte for byte (CRs
    kept, `\\ No newline at end of file` lines); with `visible`, as a person reads it in a
    terminal: every invisible byte drawn as a marker (`display_line`), nothing raw, so no
    removed line is drawn like the added line that differs from it only in such bytes."""
    old = "/dev/null" if d.created else f"a/{d.old_path or d.path}"
    new = "/dev/null" if d.deleted else f"b/{d.path}"
    if d.binary:
        return (f"Binary files {old} and {new} differ "
                f"({_size(d.old_size)} {d.old_hash or ''} -> {_size(d.new_size)} {d.new_hash or ''})\n")
    if not d.hunks:
        return ""
    out = [f"--- {old}\n", f"+++ {new}\n"]
    for h in d.hunks:
        out.append(f"@@ -{h.old_start},{h.old_len} +{h.new_start},{h.new_len} @@\n")
        for ln in h.lines:
            eol = ln.eol
            if visible:        # a missing final newline is said on the line itself
                out.append(f"{ln.kind}{display_line(ln)}\n")
                continue
            if eol == "\n":
                out.append(f"{ln.kind}{ln.text}\n")
            else:
                cr = "" if eol == "" else "\r"       # "\r\n", or a bare CR ending the file
                out.append(f"{ln.kind}{ln.text}{cr}\n")
            if eol in ("", "\r"):
                out.append("\\ No newline at end of file\n")
    return "".join(out)


def _size(n: int | None) -> str:
    return "absent" if n is None else f"{n} bytes"


def side_by_side(d: StepDiff) -> list[list[tuple[DiffLine | None, DiffLine | None]]]:
    """Per hunk, rows (left, right): context on both sides, removed lines paired with the added
    lines that replace them, None where a side has no line."""
    out = []
    for h in d.hunks:
        rows: list[tuple[DiffLine | None, DiffLine | None]] = []
        rem: list[DiffLine] = []
        add: list[DiffLine] = []

        def flush():
            for k in range(max(len(rem), len(add))):
                rows.append((rem[k] if k < len(rem) else None, add[k] if k < len(add) else None))
            rem.clear()
            add.clear()

        for ln in h.lines:
            if ln.kind == "-":
                if add:
                    flush()
                rem.append(ln)
            elif ln.kind == "+":
                add.append(ln)
            else:
                flush()
                rows.append((ln, ln))
        flush()
        out.append(rows)
    return out


def stat(d: StepDiff) -> tuple[int, int]:
    """(added, removed) line counts."""
    add = rem = 0
    for h in d.hunks:
        for ln in h.lines:
            if ln.kind == "+":
                add += 1
            elif ln.kind == "-":
                rem += 1
    return add, rem
