"""The line diff, as pure functions of bytes: lines split as `git diff` reads them (a last line
without a newline is its own line), the diff algorithm (galloping prefix/suffix matching,
re-synchronising walks, patience anchors, difflib for small regions), hunks grouped with their
context, and `apply_hunks`, which writes only the hunks (and lines) a person accepted.

The analysis draws diffs with these; the store's virtual run (`effects`) applies a review's
hunk choices with `apply_hunks`, so both see the same hunks.
"""
from __future__ import annotations

import difflib
from bisect import bisect_left
from itertools import compress
from typing import Callable, Collection, Mapping

from .errors import StepError

CONTEXT = 3
_NONL = "\uffff\x00<no newline>"   # marks a last line without "\n" (never equal to one with it)
_SMALL = 64                        # regions at most this long (both sides) use difflib
_RESYNC = 16                       # the walk tries shifts up to this many lines after an edit
_WINDOW = 4                        # ... and needs this many lines to agree after the shift
_EXACT_MAX = 250_000              # larger anchorless regions use difflib's autojunk heuristic


def is_binary(data: bytes | None) -> bool:
    if not data:
        return False
    if b"\x00" in data[:8192]:
        return True
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def _lines(data: bytes | str | None) -> list[str]:
    """Lines split after each "\\n" only, without the "\\n"; a last line that lacks one is
    marked so it never equals the same text with a newline."""
    if not data:
        return []
    text = data if isinstance(data, str) else data.decode("utf-8", "surrogateescape")
    parts = text.split("\n")
    if parts[-1] == "":
        parts.pop()
    else:
        parts[-1] = parts[-1] + _NONL
    return parts


def _join(lines: list[str]) -> str:
    if not lines:
        return ""
    if lines[-1].endswith(_NONL):
        return "\n".join(lines)[: -len(_NONL)]
    return "\n".join(lines) + "\n"


def _gallop(limit: int, equal: Callable[[int, int], bool]) -> int:
    """The largest n <= limit such that the first n elements of two runs are equal, where the
    first one is known to be and `equal(lo, hi)` compares elements lo..hi-1 of the runs (one
    slice comparison, in C): doubling the stride, then bisecting the first difference."""
    lo, step = 1, 1       # the first lo elements are equal
    while True:
        hi = min(lo + step, limit)
        if hi == lo:
            return lo          # equal up to the limit
        if equal(lo, hi):
            lo = hi
            step *= 2
        else:
            break
    # the first difference is in [lo, hi)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if equal(lo, mid):
            lo = mid
        else:
            hi = mid
    return lo


def _first_positions(seq, lo: int, hi: int, dup: set) -> dict:
    """Index of each line's first occurrence in seq[lo:hi]; a line met again goes into `dup`."""
    pos: dict = {}
    for i in range(lo, hi):
        line = seq[i]
        if line in pos:
            dup.add(line)
        else:
            pos[line] = i
    return pos


def _common_prefix(a, alo, ahi, b, blo, bhi) -> int:
    """Length of the common prefix of a[alo:ahi] and b[blo:bhi], galloping in C."""
    limit = min(ahi - alo, bhi - blo)
    if limit == 0 or a[alo] != b[blo]:
        return 0
    return _gallop(limit, lambda lo, hi: a[alo + lo:alo + hi] == b[blo + lo:blo + hi])


def _common_suffix(a, alo, ahi, b, blo, bhi) -> int:
    """Length of the common suffix of a[alo:ahi] and b[blo:bhi], galloping in C."""
    limit = min(ahi - alo, bhi - blo)
    if limit == 0 or a[ahi - 1] != b[bhi - 1]:
        return 0
    return _gallop(limit, lambda lo, hi: a[ahi - hi:ahi - lo] == b[bhi - hi:bhi - lo])


def _lis(pairs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Longest strictly increasing subsequence in the second coordinate (pairs sorted by the first)."""
    tails: list[int] = []
    tail_idx: list[int] = []
    prev = [-1] * len(pairs)
    for k, (_, j) in enumerate(pairs):
        p = bisect_left(tails, j)
        if p == len(tails):
            tails.append(j)
            tail_idx.append(k)
        else:
            tails[p] = j
            tail_idx[p] = k
        prev[k] = tail_idx[p - 1] if p else -1
    out = []
    k = tail_idx[-1] if tail_idx else -1
    while k >= 0:
        out.append(pairs[k])
        k = prev[k]
    out.reverse()
    return out


def matching_blocks(a: list, b: list) -> list[tuple[int, int, int]]:
    """Equal runs (i, j, n) in increasing order, ending with the sentinel (len(a), len(b), 0)."""
    blocks: list[tuple[int, int, int]] = []
    _match(a, 0, len(a), b, 0, len(b), blocks)
    blocks.sort()
    merged: list[tuple[int, int, int]] = []
    for i, j, n in blocks:
        if n <= 0:
            continue
        if merged and merged[-1][0] + merged[-1][2] == i and merged[-1][1] + merged[-1][2] == j:
            pi, pj, pn = merged[-1]
            merged[-1] = (pi, pj, pn + n)
        else:
            merged.append((i, j, n))
    merged.append((len(a), len(b), 0))
    return merged


def _walk(a, alo, ahi, b, blo, bhi, out: list, stack: list) -> tuple[int, int] | None:
    """Walk both sides in step: match the common run (galloping, in C), then re-synchronise
    after a small edit by trying the nearest shifts (di, dj) whose next lines agree for a
    window of _WINDOW lines. Returns None when done, or the point where no shift within
    _RESYNC re-synchronises (the caller diffs the rest another way)."""
    i, j = alo, blo
    while True:
        n = _common_prefix(a, i, ahi, b, j, bhi)
        if n:
            out.append((i, j, n))
            i += n
            j += n
        if i >= ahi or j >= bhi:
            return None
        found = None
        for s in range(1, _RESYNC + 1):
            # nearest first, and replacements (di == dj) before pure inserts or deletes
            for di in sorted(range(s + 1), key=lambda d: abs(2 * d - s)):
                dj = s - di
                x, y = i + di, j + dj
                if x > ahi or y > bhi:
                    continue
                if x == ahi and y == bhi:
                    found = (x, y)
                    break
                if x < ahi and y < bhi and a[x] == b[y] and a[x:x + _WINDOW] == b[y:y + _WINDOW]:
                    found = (x, y)
                    break
            if found:
                break
        if found is None:
            return (i, j)
        x, y = found
        if x > i and y > j:
            stack.append((i, x, j, y, False))   # a small gap: difflib finds any matches inside
        i, j = x, y


def _match(a, alo, ahi, b, blo, bhi, out: list) -> None:
    # an explicit stack: deep recursion on pathological inputs must not overflow
    stack = [(alo, ahi, blo, bhi, True)]
    while stack:
        alo, ahi, blo, bhi, may_walk = stack.pop()
        n = _common_prefix(a, alo, ahi, b, blo, bhi)
        if n:
            out.append((alo, blo, n))
            alo += n
            blo += n
        n = _common_suffix(a, alo, ahi, b, blo, bhi)
        if n:
            out.append((ahi - n, bhi - n, n))
            ahi -= n
            bhi -= n
        if alo >= ahi or blo >= bhi:
            continue
        if ahi - alo <= _SMALL and bhi - blo <= _SMALL:
            sm = difflib.SequenceMatcher(None, a[alo:ahi], b[blo:bhi], autojunk=False)
            for i, j, k in sm.get_matching_blocks():
                if k:
                    out.append((alo + i, blo + j, k))
            continue
        if may_walk:
            rest = _walk(a, alo, ahi, b, blo, bhi, out, stack)
            if rest is None:
                continue
            alo, blo = rest
            if ahi - alo <= _SMALL and bhi - blo <= _SMALL:
                stack.append((alo, ahi, blo, bhi, False))
                continue
        sa, sb = a[alo:ahi], b[blo:bhi]
        if _filtered(a, alo, ahi, b, blo, bhi, sa, sb, out):
            continue
        # patience anchors: lines unique on both sides of this region
        dup: set = set()
        pos_a = _first_positions(a, alo, ahi, dup)
        pos_b = _first_positions(b, blo, bhi, dup)
        pairs = [(i, pos_b[line]) for line, i in pos_a.items() if line in pos_b and line not in dup]
        if not pairs:
            # no unique anchors (highly repetitive text): exact matching is quadratic here, so
            # large regions let difflib treat very popular lines as junk (fast, still valid)
            big = (ahi - alo) * (bhi - blo) > _EXACT_MAX
            sm = difflib.SequenceMatcher(None, sa, sb, autojunk=big)
            for i, j, k in sm.get_matching_blocks():
                if k:
                    out.append((alo + i, blo + j, k))
            continue
        pairs.sort()
        anchors = _lis(pairs)
        pi, pj = alo, blo
        for i, j in anchors:
            out.append((i, j, 1))
            if i > pi and j > pj:
                stack.append((pi, i, pj, j, True))
            pi, pj = i + 1, j + 1
        if ahi > pi and bhi > pj:
            stack.append((pi, ahi, pj, bhi, True))


def _filtered(a, alo, ahi, b, blo, bhi, sa, sb, out) -> bool:
    """Drop lines that occur on one side only (they match nothing); if what remains is the
    same sequence on both sides, it is the match. True when the region is done."""
    common = set(sa)
    common.intersection_update(sb)
    if not common:
        return True
    keep_a = list(map(common.__contains__, sa))
    keep_b = list(map(common.__contains__, sb))
    ia = list(compress(range(alo, ahi), keep_a))
    ib = list(compress(range(blo, bhi), keep_b))
    fa = list(compress(sa, keep_a))
    fb = list(compress(sb, keep_b))
    if fa == fb:
        _runs(ia, ib, out)
        return True
    if len(fa) < len(sa) or len(fb) < len(sb):
        # match the common-only sequences, then map back to positions
        sub: list[tuple[int, int, int]] = []
        _match(fa, 0, len(fa), fb, 0, len(fb), sub)
        for i, j, k in sub:
            _runs(ia[i:i + k], ib[j:j + k], out)
        return True
    return False


def _runs(ia: list[int], ib: list[int], out: list) -> None:
    """Matched positions ia[k] <-> ib[k], as runs: Python work proportional to the number of
    runs, found by galloping over the position differences."""
    n = len(ia)
    k = 0
    while k < n:
        i0, j0 = ia[k], ib[k]
        # extend while both sides stay consecutive: ia[k+t] == i0+t and ib[k+t] == j0+t
        lo, step = 1, 1
        while True:
            hi = min(lo + step, n - k)
            if hi <= lo:
                break
            if ia[k + hi - 1] - i0 == hi - 1 and ib[k + hi - 1] - j0 == hi - 1:
                lo = hi
                step *= 2
            else:
                # the run ends in [lo, hi): binary search (consecutive ints: a run is monotone)
                while hi - lo > 1:
                    mid = (lo + hi) // 2
                    if ia[k + mid - 1] - i0 == mid - 1 and ib[k + mid - 1] - j0 == mid - 1:
                        lo = mid
                    else:
                        hi = mid
                break
        out.append((i0, j0, lo))
        k += lo


def opcodes(a: list, b: list) -> list[tuple[str, int, int, int, int]]:
    """difflib-style opcodes ("equal", "replace", "delete", "insert") from matching_blocks."""
    ops = []
    i = j = 0
    for ai, bj, n in matching_blocks(a, b):
        tag = ""
        if i < ai and j < bj:
            tag = "replace"
        elif i < ai:
            tag = "delete"
        elif j < bj:
            tag = "insert"
        if tag:
            ops.append((tag, i, ai, j, bj))
        if n:
            ops.append(("equal", ai, ai + n, bj, bj + n))
        i, j = ai + n, bj + n
    return ops


def _grouped(ops, n: int = CONTEXT):
    """Group opcodes into hunks with `n` lines of context (difflib's get_grouped_opcodes rule,
    but without the synthetic hunk for equal inputs)."""
    ops = list(ops)
    if not ops or all(op[0] == "equal" for op in ops):
        return []
    if ops[0][0] == "equal":
        t, i1, i2, j1, j2 = ops[0]
        ops[0] = t, max(i1, i2 - n), i2, max(j1, j2 - n), j2
    if ops[-1][0] == "equal":
        t, i1, i2, j1, j2 = ops[-1]
        ops[-1] = t, i1, min(i2, i1 + n), j1, min(j2, j1 + n)
    groups, group = [], []
    nn = n + n
    for t, i1, i2, j1, j2 in ops:
        if t == "equal" and i2 - i1 > nn:
            group.append((t, i1, min(i2, i1 + n), j1, min(j2, j1 + n)))
            groups.append(group)
            group = []
            i1, j1 = max(i1, i2 - n), max(j1, j2 - n)
        group.append((t, i1, i2, j1, j2))
    if group and not (len(group) == 1 and group[0][0] == "equal"):
        groups.append(group)
    return groups


def apply_hunks(before: bytes, after: bytes, accepted: list[int],
                lines_off: Mapping[int, Collection[int]] | None = None) -> bytes:
    """`before` with only the accepted hunks of diff(before, after) applied (hunk indices as in
    StepDiff.hunks). `lines_off` makes a hunk partial: per hunk, indices into its lines (as in
    DiffHunk.lines, context included) of changes left out - a removed line left out stays, an
    added line left out is not written. A binary file is one change: index 0 takes `after`.
    Raise StepError when a kept last line without a newline would have lines after it (the
    bytes would join two lines)."""
    before = before or b""
    after = after or b""
    if is_binary(before) or is_binary(after):
        return after if 0 in accepted else before
    acc = set(accepted)
    off_of = lines_off or {}
    a, b = _lines(before), _lines(after)
    out: list[str] = []
    pos = 0
    for idx, group in enumerate(_grouped(opcodes(a, b), CONTEXT)):
        i1, i2, j1, j2 = group[0][1], group[-1][2], group[0][3], group[-1][4]
        out.extend(a[pos:i1])
        pos = i2
        if idx not in acc:
            out.extend(a[i1:i2])
            continue
        off = off_of.get(idx)
        if not off:
            out.extend(b[j1:j2])
            continue
        k = 0     # index into the hunk's lines, as hunks_of numbers them
        for tag, o1, o2, n1, n2 in group:
            if tag == "equal":
                out.extend(a[o1:o2])
                k += o2 - o1
                continue
            for x in range(o1, o2):          # removed: a line left out stays
                if k in off:
                    out.append(a[x])
                k += 1
            for x in range(n1, n2):          # added: a line left out is not written
                if k not in off:
                    out.append(b[x])
                k += 1
    out.extend(a[pos:])
    for line in out[:-1]:
        if line.endswith(_NONL):
            raise StepError("this choice of lines keeps the last line without a newline and adds "
                            f"lines after it: {_snip(line[: -len(_NONL)])}",
                            hint="turn on the removal of that line too, or the added lines after it off")
    return _join(out).encode("utf-8", "surrogateescape")


def _snip(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:40] + "…")
