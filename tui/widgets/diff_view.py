"""The diff of one step, drawn line by line (Textual's Line API): only the visible rows are
rendered, so a 100,000-line diff opens and scrolls as fast as a 10-line one.

Rows are prepared once (`prepare()`, a pure function a thread worker can run) as plain tuples;
`render_line` highlights a row with pygments on demand (cached per line text), adds line
numbers, a `+`/`-` mark (so colour is never the only signal), intra-line spans, and the
current-change cursor. `s` switches between unified and split (side by side) layouts.

The reviewer's tools (keys in `keymap.KEYS`, scope "diff"): `/` searches the diff (`n`/`N`
through the matches, a count in the pane's bottom border, esc clears); `i` ignores whitespace,
`{`/`}` change the context (3, 10, the whole file, 0) - a view only, made by the engine's
`view_diff`: the step's hunks and the bytes it writes stay as planned, and the pane's title
says so; `W` wraps long lines. The gutter (line numbers, `+`/`-`) stays put when the code
scrolls sideways, and a line cut at the right edge ends in `›`, in both layouts.
"""
from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache
from itertools import accumulate

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.syntax import PygmentsSyntaxTheme
from textual import events, work
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from wopt.engine.analysis.diffs import (CONTEXT, describe, display_line, eol_mark, hunk_owners,
                                         trailing_start, view_diff, visible)
from wopt.engine.analysis.model import DiffHunk, DiffLine, StepDiff

from .. import keymap

__all__ = ["DiffView", "Prepared", "UnifiedRows", "ViewOptions", "describe", "prepare", "HEAD", "LINE", "PAIR"]

# row tuples (kept small: a 100k-line diff holds 100k of them)
HEAD = 0      # (HEAD, text, hunk index or -1, position of the view's hunk or -1)
LINE = 1      # (LINE, hunk, DiffLine)
PAIR = 2      # (PAIR, hunk, left DiffLine|None, right DiffLine|None)

CONTEXTS: tuple[int | None, ...] = (3, 10, None, 0)   # `}` goes right, `{` left; None: whole file
CUT = "\u203a"          # › : the line goes on past the right edge
WRAPPED = "\u21aa"      # ↪ : the rest of the line above
MAX_MATCHES = 50_000
_SYNC_BYTES = 64 * 1024    # view options on a diff of files up to this size are applied at once, else in a thread


@dataclass(frozen=True)
class ViewOptions:
    """How a person asked to see diffs: lines of context (None: the whole file) and whether
    changes of whitespace alone are left out. The same for every step until changed."""

    context: int | None = CONTEXT
    ignore_ws: bool = False

    @property
    def default(self) -> bool:
        return self.context == CONTEXT and not self.ignore_ws

    def words(self) -> list[str]:
        out = []
        if self.context != CONTEXT:
            out.append("whole file" if self.context is None else f"context {self.context}")
        if self.ignore_ws:
            out.append("whitespace ignored (view only: writes as planned)")
        return out


DEFAULT_OPTIONS = ViewOptions()


def _head_text(h: DiffHunk) -> str:
    return f"@@ -{h.old_start},{h.old_len} +{h.new_start},{h.new_len} @@"


class UnifiedRows:
    """The unified layout's rows, made on demand: header lines, then each hunk's `@@` line and
    its lines. Holds no per-line tuples, so a 100,000-line diff costs nothing to set up."""

    def __init__(self, heads: list[str], hunks: list, owners: list[list[int]] | None = None,
                 head_owner: list[int] | None = None) -> None:
        self.heads = heads
        self.hunks = hunks
        self.owners = owners            # per hunk, per line: the step's hunk it belongs to
        self.head_owner = head_owner
        self.starts: list[int] = []
        n = len(heads)
        for h in hunks:
            self.starts.append(n)
            n += 1 + len(h.lines)
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> tuple:
        if i < 0:
            i += self.n
        if not 0 <= i < self.n:
            raise IndexError(i)
        if i < len(self.heads):
            return (HEAD, self.heads[i], -1, -1)
        k = bisect_right(self.starts, i) - 1
        h = self.hunks[k]
        off = i - self.starts[k]
        if off == 0:
            return (HEAD, _head_text(h), h.index if self.head_owner is None else self.head_owner[k], k)
        return (LINE, h.index if self.owners is None else self.owners[k][off - 1], h.lines[off - 1])


class Prepared:
    """What the view draws for one diff: rows for both layouts (split made on first use),
    change blocks, widths. `diff` is the step's diff (its hunks are the ones turned on and
    off); `view` the one drawn (`view_diff` of it with `options`)."""

    def __init__(self, diff: StepDiff | None, heads: list[str], blocks_unified: list[int],
                 block_hunk: list[int], width: int, num_width: int, message: str | None = None,
                 *, view: StepDiff | None = None, options: ViewOptions = DEFAULT_OPTIONS,
                 owners: list[list[int]] | None = None, covers: list[list[int]] | None = None) -> None:
        self.diff = diff
        self.view = view if view is not None else diff
        self.options = options
        self.heads = heads
        self.owners = owners
        # per hunk of the view: the step's hunks whose changes it shows
        self.covers = covers if covers is not None else [[h.index] for h in self.hunks]
        head_owner = None if owners is None else [c[0] if c else next((o for o in own if o >= 0), -1)
                                                   for c, own in zip(self.covers, owners)]
        self.head_owner = head_owner
        self.unified = UnifiedRows(heads, self.hunks, owners, head_owner)
        self.blocks_unified = blocks_unified
        self.block_hunk = block_hunk
        self.width = width
        self.num_width = num_width
        self.message = message
        self.lexer_name = diff.path if diff is not None else None
        self._split: list[tuple] | None = None
        self._blocks_split: list[int] | None = None
        self._split_row: dict[int, int] = {}
        self._search: tuple[list[DiffLine], str, list[int]] | None = None
        self._line_starts: list[int] | None = None

    @property
    def hunks(self) -> list[DiffHunk]:
        return self.view.hunks if self.view is not None else []

    def owner(self, k: int, i: int) -> int:
        return self.hunks[k].index if self.owners is None else self.owners[k][i]

    @property
    def split(self) -> list[tuple]:
        if self._split is None:
            self._make_split()
        return self._split  # type: ignore[return-value]

    @property
    def blocks_split(self) -> list[int]:
        if self._blocks_split is None:
            self._make_split()
        return self._blocks_split  # type: ignore[return-value]

    def split_row(self, dl: DiffLine) -> int:
        """The split layout's row of a line of the view."""
        if self._split is None:
            self._make_split()
        return self._split_row.get(id(dl), 0)

    def _make_split(self) -> None:
        rows: list[tuple] = [(HEAD, t, -1, -1) for t in self.heads]
        blocks: list[int] = []
        where: dict[int, int] = {}
        for k, h in enumerate(self.hunks):
            rows.append((HEAD, _head_text(h), h.index if self.head_owner is None else self.head_owner[k], k))
            lines = h.lines
            n = len(lines)
            i = 0
            prev_changed = False
            while i < n:
                dl = lines[i]
                if dl.kind == " ":
                    where[id(dl)] = len(rows)
                    rows.append((PAIR, self.owner(k, i), dl, dl))
                    prev_changed = False
                    i += 1
                    continue
                if not prev_changed:
                    blocks.append(len(rows))
                j = i
                while j < n and lines[j].kind != " ":
                    j += 1
                removed = [(x, self.owner(k, t)) for t, x in enumerate(lines[i:j], i) if x.kind == "-"]
                added = [(x, self.owner(k, t)) for t, x in enumerate(lines[i:j], i) if x.kind == "+"]
                for a in range(max(len(removed), len(added))):
                    left = removed[a] if a < len(removed) else None
                    right = added[a] if a < len(added) else None
                    own = left[1] if left is not None else right[1]  # type: ignore[index]
                    if left is not None:
                        where[id(left[0])] = len(rows)
                    if right is not None:
                        where[id(right[0])] = len(rows)
                    rows.append((PAIR, own, left[0] if left else None, right[0] if right else None))
                i = j
                prev_changed = True
        self._split, self._blocks_split, self._split_row = rows, blocks, where

    def search_index(self) -> tuple[list[DiffLine], str, list[int]]:
        """Every line of the view, their texts joined by newlines, and where each starts in it:
        a search is one regular-expression scan (in C) over the joined text."""
        if self._search is None:
            flat = [dl for h in self.hunks for dl in h.lines]
            text = "\n".join(dl.text for dl in flat)
            starts = list(accumulate((len(dl.text) + 1 for dl in flat[:-1]), initial=0)) if flat else []
            self._search = (flat, text, starts)
        return self._search

    def unified_row(self, g: int) -> int:
        """The unified layout's row of the view's line number `g` (0-based, over all hunks)."""
        u = self.unified
        k = self._hunk_of_line(g)
        assert self._line_starts is not None
        return u.starts[k] + 1 + (g - self._line_starts[k])

    def _hunk_of_line(self, g: int) -> int:
        if self._line_starts is None:
            self._line_starts = list(accumulate((len(h.lines) for h in self.hunks[:-1]), initial=0)) \
                if self.hunks else []
        return bisect_right(self._line_starts, g) - 1


def prepare(diff: StepDiff | None, message: str | None = None, *,
            options: ViewOptions = DEFAULT_OPTIONS) -> Prepared:
    """What the view needs of a diff, seen with `options`: one pass over its lines for the
    change blocks and the widest line. Pure and thread-safe: runs in a worker."""
    heads: list[str] = []
    blocks: list[int] = []
    block_hunk: list[int] = []
    width = 0
    maxno = 1
    view = diff
    owners = covers = None
    if diff is not None:
        view = view_diff(diff, context=options.context, ignore_ws=options.ignore_ws)
        if view is not diff:
            owners = hunk_owners(diff, view)
            covers = [sorted({o for o, dl in zip(own, h.lines) if o >= 0 and dl.kind != " "})
                      for own, h in zip(owners, view.hunks)]
        heads = describe(diff)
        if diff.hunks and not view.hunks:
            heads.append("only whitespace changes: hidden while whitespace is ignored (i shows them)")
        if not diff.hunks and not diff.binary and not heads:
            heads.append("no change to the file's content")
        row = len(heads)
        for k, h in enumerate(view.hunks):
            row += 1                       # the @@ line
            prev = " "
            for i, dl in enumerate(h.lines):
                kind = dl.kind
                if kind != " " and prev == " ":
                    blocks.append(row)
                    block_hunk.append(h.index if owners is None else owners[k][i])
                prev = kind
                row += 1
            if h.lines:
                texts = [dl.text for dl in h.lines]
                joined = "".join(texts)
                if joined.isascii() and joined.isprintable():   # one column a character
                    width = max(width, max(map(len, texts)))
                    if h is view.hunks[-1]:     # only the last hunk may end without a newline
                        width = max([width] + [cells(dl) for dl in h.lines if dl.eol != "\n"])
                else:
                    width = max(width, max(map(cells, h.lines)))
            maxno = max(maxno, h.old_start + h.old_len, h.new_start + h.new_len)
        _lexer_for(diff.path)              # find the lexer here, in the worker, not while drawing
    elif message:
        heads = [message]
    if heads:
        width = max(width, max(len(h) for h in heads))
    return Prepared(diff, heads, blocks, block_hunk, width, len(str(maxno)), message,
                    view=view, options=options, owners=owners, covers=covers)


def cells(dl: DiffLine) -> int:
    """How many columns the line's code takes as drawn (markers, tabs, its line ending's note)."""
    t = dl.text
    if t.isascii() and t.isprintable():    # the common case: one column a character
        return len(t) + (len(eol_mark(dl)) if dl.eol != "\n" else 0)
    return cell_len(display_line(dl))


_EMPTY = prepare(None, "no step selected")


@lru_cache(maxsize=256)
def _lexer_for(path: str | None):
    from pygments.lexers import get_lexer_for_filename
    from pygments.util import ClassNotFound
    if not path:
        return None
    try:
        return get_lexer_for_filename(path, stripnl=False, ensurenl=False)
    except ClassNotFound:
        return None


def _size(d: StepDiff) -> int:
    src = d.sources
    return sum(len(x or b"") for x in src) if src else 0


class _Wrap:
    """Wrapped rows: row i of the layout takes counts[i] screen rows."""

    def __init__(self, counts: list[int]) -> None:
        self.starts = list(accumulate(counts[:-1], initial=0)) if counts else []
        self.total = sum(counts)

    def visual(self, row: int) -> int:
        return self.starts[row] if row < len(self.starts) else self.total

    def base(self, y: int) -> tuple[int, int]:
        i = bisect_right(self.starts, y) - 1
        return i, y - self.starts[i]


def _parts(n: int, width: int) -> int:
    return max(1, -(-n // max(width, 1)))


def _overlay(pieces: list[tuple[str, Style]], ranges: list[tuple[int, int, Style]]) -> list[tuple[str, Style]]:
    """`pieces` (a line's text cut in styled pieces) with `ranges` [start, end) of the text
    (sorted, not overlapping) styled more."""
    if not ranges:
        return pieces
    out: list[tuple[str, Style]] = []
    pos = 0
    ri = 0
    for value, style in pieces:
        end = pos + len(value)
        cut = pos
        while cut < end:
            while ri < len(ranges) and ranges[ri][1] <= cut:
                ri += 1
            if ri < len(ranges) and ranges[ri][0] <= cut:
                stop = min(end, ranges[ri][1])
                out.append((value[cut - pos:stop - pos], style + ranges[ri][2]))
            else:
                stop = min(end, ranges[ri][0]) if ri < len(ranges) else end
                out.append((value[cut - pos:stop - pos], style))
            cut = stop
        pos = end
    return out


class DiffView(ScrollView, can_focus=True):
    """A step's diff; `set_prepared()` shows rows made by `prepare()`."""

    COMPONENT_CLASSES = {
        "diff-view--added", "diff-view--removed", "diff-view--added-span", "diff-view--removed-span",
        "diff-view--context", "diff-view--hunk", "diff-view--gutter", "diff-view--cursor",
        "diff-view--off", "diff-view--blank", "diff-view--match", "diff-view--match-current",
        "diff-view--cut",
    }

    DEFAULT_CSS = """
    DiffView {
        background: $surface;
        border-title-color: $text;
        border-title-style: bold;
        border-subtitle-color: $text;
        border-subtitle-align: left;
        &.-titled { border-top: solid $warning; }
        &.-searching { border-bottom: solid $accent; }
        & > .diff-view--added { background: $success 18%; }
        & > .diff-view--removed { background: $error 18%; }
        & > .diff-view--added-span { background: $success 45%; text-style: bold; }
        & > .diff-view--removed-span { background: $error 45%; text-style: bold; }
        & > .diff-view--context { }
        & > .diff-view--hunk { color: $text-muted; background: $primary 12%; }
        & > .diff-view--gutter { color: $text-muted; background: $panel; }
        & > .diff-view--cursor { color: $text; background: $accent; text-style: bold; }
        & > .diff-view--off { color: $text-disabled; text-style: strike; }
        & > .diff-view--blank { background: $panel 50%; }
        & > .diff-view--match { color: $text; background: $warning 45%; text-style: underline; }
        & > .diff-view--match-current { color: $background; background: $warning; text-style: bold underline; }
        & > .diff-view--cut { color: $text-muted; text-style: bold; }
    }
    DiffView:ansi {
        & > .diff-view--added { background: ansi_green; color: ansi_black; }
        & > .diff-view--removed { background: ansi_red; color: ansi_black; }
        & > .diff-view--match { background: ansi_yellow; color: ansi_black; }
        & > .diff-view--match-current { background: ansi_bright_yellow; color: ansi_black; }
    }
    """

    BINDINGS = [
        Binding("down,j", "scroll_down", "Down", show=False),
        Binding("up,k", "scroll_up", "Up", show=False),
        Binding("pagedown", "page_lines(1)", "Page down", show=False),
        Binding("pageup", "page_lines(-1)", "Page up", show=False),
    ] + keymap.bindings("diff")

    def action_page_lines(self, direction: int) -> None:
        self.page(direction, 1.0)

    split: reactive[bool] = reactive(False)
    change: reactive[int] = reactive(-1)   # index of the current change block, -1 none
    wrap: reactive[bool] = reactive(False)

    class ChangeMoved(Message):
        def __init__(self, view: "DiffView", hunk: int | None) -> None:
            super().__init__()
            self.view = view
            self.hunk = hunk

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None):
        super().__init__(name=name, id=id, classes=classes)
        self.prepared: Prepared = _EMPTY
        self.hunks_off: set[int] = set()          # hunks the person turned off (drawn struck out)
        self.options: ViewOptions = DEFAULT_OPTIONS
        self._styles: dict | None = None
        self._syntax_cache: dict[str, list[tuple[str, Style]]] = {}
        self._token_styles: dict = {}
        self._pyg_theme: PygmentsSyntaxTheme | None = None
        self._wrapped: _Wrap | None = None
        self._wrap_key: tuple | None = None
        # the search: its text (None: none), typing it, its matches (offsets into the view's
        # joined text, sorted), the current one (-1: none yet), and the matches of each line
        self.search_query: str | None = None
        self.typing = False
        self._m_start: list[int] = []
        self._m_end: list[int] = []
        self._m_more = False
        self.match = -1
        self._line_marks: dict[int, list[tuple[int, int, int]]] = {}
        self._search_from = 0
        self._pending: tuple[StepDiff, ViewOptions] | None = None   # options being applied in a thread
        # line selection inside a hunk (unified layout, default view): rows from anchor to
        # cursor, and the lines turned off per hunk (indices into the hunk's lines), struck out
        self.line_anchor: int | None = None
        self.line_cursor: int | None = None
        self.lines_off: dict[int, set[int]] = {}
        self._off_lines: list[DiffLine] = []       # the same lines as objects (split layout)
        self._off_ids: set[int] = set()

    # ---------------------------------------------------------------- content
    def set_prepared(self, prepared: Prepared, *, hunks_off: set[int] | None = None) -> None:
        """Show `prepared` (made with the default view options; re-made here with the person's
        own, at once for files of ordinary size, else in a thread)."""
        hunks = set(hunks_off or ())
        self._pending = None
        if prepared.diff is not None and prepared.options != self.options:
            if _size(prepared.diff) > _SYNC_BYTES:
                self._show(prepare(None, "applying the view options…"), hunks)
                self._pending = (prepared.diff, self.options)
                self._reprepare(prepared.diff, self.options, None)
                return
            prepared = prepare(prepared.diff, prepared.message, options=self.options)
        self._show(prepared, hunks)

    def _show(self, prepared: Prepared, hunks_off: set[int] | None, anchor: int | None = None) -> None:
        self.prepared = prepared
        if hunks_off is not None:
            self.hunks_off = set(hunks_off)
        self._syntax_cache.clear()
        self._wrapped = None
        self.change = -1
        self._update_virtual_size()
        self.scroll_to(0, 0, animate=False)
        if anchor is not None:
            self._scroll_to_row(self._row_near(anchor), margin=0)
        self._run_search(jump=False)
        self._update_title()
        self.refresh()

    @work(thread=True, exclusive=True, group="diff-view-options", exit_on_error=False)
    def _reprepare(self, diff: StepDiff, options: ViewOptions, anchor: int | None) -> None:
        try:
            prepared = prepare(diff, options=options)
        except Exception as e:  # a bug in the view must not take the app down
            prepared = prepare(None, f"cannot show this diff: {type(e).__name__}: {e}")
        self.app.call_from_thread(self._reprepared, diff, options, prepared, anchor)

    def _reprepared(self, diff: StepDiff, options: ViewOptions, prepared: Prepared, anchor: int | None) -> None:
        pending = self._pending
        if pending is None or pending[0] is not diff or pending[1] != options:
            return   # another step or other options since
        self._pending = None
        self._show(prepared, None, anchor)

    def set_message(self, message: str) -> None:
        self.set_prepared(prepare(None, message))

    def set_hunks_off(self, off: set[int]) -> None:
        self.hunks_off = set(off)
        self.refresh()

    def set_options(self, options: ViewOptions) -> None:
        """See every diff with `options` from now on, keeping the line at the top in view."""
        if options == self.options:
            return
        self.options = options
        # the step's diff: shown, or still being made with the options before these
        diff = self._pending[0] if self._pending is not None else self.prepared.diff
        if diff is None:
            self._update_title()
            return
        anchor = self._top_line()
        if _size(diff) > _SYNC_BYTES:
            self._update_title()
            self._pending = (diff, options)
            self._reprepare(diff, options, anchor)
        else:
            self._show(prepare(diff, self.prepared.message, options=options), None, anchor)

    def _top_line(self) -> int | None:
        """The new-file line number of the first line on screen."""
        rows = self.rows
        r0 = self._base(int(self.scroll_y))[0]
        for r in range(r0, min(len(rows), r0 + max(self.size.height, 1))):
            row = rows[r]
            if row[0] == LINE and row[2].new_no is not None:
                return row[2].new_no
            if row[0] == PAIR and row[3] is not None and row[3].new_no is not None:
                return row[3].new_no
            if row[0] == HEAD and row[3] >= 0:
                return self.prepared.hunks[row[3]].new_start
        return None

    def _row_near(self, new_no: int) -> int:
        """The layout's row of the first line at or after new-file line `new_no`."""
        p = self.prepared
        for k, h in enumerate(p.hunks):
            if h.new_start + h.new_len < new_no:
                continue
            for i, dl in enumerate(h.lines):
                if dl.new_no is not None and dl.new_no >= new_no:
                    return p.split_row(dl) if self.split else p.unified.starts[k] + 1 + i
        return 0

    @property
    def rows(self) -> list[tuple] | UnifiedRows:
        return self.prepared.split if self.split else self.prepared.unified

    @property
    def blocks(self) -> list[int]:
        return self.prepared.blocks_split if self.split else self.prepared.blocks_unified

    def _gutter_width(self) -> int:
        return self.prepared.num_width * 2 + 4    # "old new + "

    def _half_widths(self, width: int) -> tuple[int, int, int]:
        """Split layout: the left half's width, the right one's, and each half's gutter."""
        left = (width - 1) // 2
        return left, width - 1 - left, self.prepared.num_width + 3

    def _code_width(self, width: int | None = None) -> int:
        """Columns for code: the unified layout's, or the narrower half's in split."""
        w = self.scrollable_content_region.width if width is None else width
        if self.split:
            left, _, g = self._half_widths(w)
            return max(1, left - g)
        return max(1, w - self._gutter_width())

    def _update_virtual_size(self) -> None:
        p = self.prepared
        width = self.scrollable_content_region.width
        if self.wrap:
            self._wrapped = self._make_wrap(width)
            self.virtual_size = Size(max(width, 1), self._wrapped.total)
            return
        self._wrapped = None
        if self.split:
            # the halves scroll sideways together, far enough for the widest line
            w = width + max(0, p.width + 1 - self._code_width(width))
        else:
            w = self._gutter_width() + p.width + 1
        self.virtual_size = Size(max(w, 1), len(self.rows))

    def _make_wrap(self, width: int) -> _Wrap:
        key = (id(self.prepared), width, self.split)
        if self._wrapped is not None and self._wrap_key == key:
            return self._wrapped
        p = self.prepared
        counts: list[int] = []
        add = counts.append
        if self.split:
            left, right, g = self._half_widths(width)
            cl, cr = max(1, left - g), max(1, right - g)
            for row in p.split:
                if row[0] == HEAD:
                    add(_parts(cell_len(row[1]) + 1, width))
                else:
                    a, b = row[2], row[3]
                    add(max(_parts(cells(a), cl) if a is not None else 1,
                            _parts(cells(b), cr) if b is not None else 1))
        else:
            cw = self._code_width(width)
            for t in p.heads:
                add(_parts(cell_len(t) + 1, width))
            for h in p.hunks:
                add(1)
                for dl in h.lines:
                    n = cells(dl)
                    add(1 if n <= cw else _parts(n, cw))
        self._wrap_key = key
        return _Wrap(counts)

    def _visual(self, row: int) -> int:
        return self._wrapped.visual(row) if self._wrapped is not None else row

    def _base(self, y: int) -> tuple[int, int]:
        if self._wrapped is not None:
            return self._wrapped.base(y) if self._wrapped.total else (0, 0)
        return y, 0

    def on_resize(self, event: events.Resize) -> None:
        self._update_virtual_size()
        self.refresh()

    def watch_split(self) -> None:
        # keep the current change (or match) in view across layouts
        self._update_virtual_size()
        if 0 <= self.match < len(self._m_start):
            self._show_match()
        elif 0 <= self.change < len(self.blocks):
            self._scroll_to_block(self.change)
        else:
            self.scroll_to(0, 0, animate=False)
        self.refresh()

    def watch_wrap(self) -> None:
        anchor = self._top_line() if self.is_mounted else None
        self._update_virtual_size()
        self.scroll_to(x=0, animate=False)
        if anchor is not None:
            self._scroll_to_row(self._row_near(anchor), margin=0)
        self._update_title()
        self.refresh()

    def watch_change(self) -> None:
        self.refresh()

    def _update_title(self) -> None:
        words = self.options.words()
        if self.wrap:
            words.insert(0, "wrapped")
        self.border_title = " · ".join(words) if words else None
        self.set_class(bool(words), "-titled")
        if self.search_query is None:
            self.border_subtitle = None
            self.set_class(False, "-searching")
            return
        n = len(self._m_start)
        more = "+" if self._m_more else ""
        if self.typing:
            sub = f"/{self.search_query}\u258f"
        else:
            sub = f"/{self.search_query}"
        if not self.search_query:
            count = ""
        elif not n:
            count = "no match"
        elif self.match < 0:
            count = f"{n}{more} match{'es' if n != 1 else ''}"
        else:
            count = f"{self.match + 1}/{n}{more}"
        hint = "enter: done · esc: clear" if self.typing else "n/N: next/previous · esc: clear"
        self.border_subtitle = f"{sub}   {count}   ({hint})" if count else f"{sub}   ({hint})"
        self.set_class(True, "-searching")

    # ---------------------------------------------------------------- the person's options
    def action_toggle_whitespace(self) -> None:
        self.set_options(ViewOptions(self.options.context, not self.options.ignore_ws))

    def action_context(self, direction: int) -> None:
        cur = self.options.context
        i = CONTEXTS.index(cur) if cur in CONTEXTS else 0
        self.set_options(ViewOptions(CONTEXTS[(i + direction) % len(CONTEXTS)], self.options.ignore_ws))

    def action_toggle_wrap(self) -> None:
        self.wrap = not self.wrap

    # ---------------------------------------------------------------- search
    def action_search(self) -> None:
        self.focus()
        self.typing = True
        self.search_query = ""
        self._search_from = int(self.scroll_y)
        self._run_search(jump=False)
        self._update_title()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "match":
            return self.search_query is not None and bool(self.search_query) and not self.typing
        if action == "clear_search":
            return self.search_query is not None
        return True

    def action_clear_search(self) -> None:
        self.search_query = None
        self.typing = False
        self._run_search(jump=False)
        self._update_title()
        self.refresh()

    def action_match(self, direction: int) -> None:
        n = len(self._m_start)
        if not n:
            self.app.bell()
            return
        if self.match < 0:
            i = self._first_match_from(self._visual_top(), direction)
        else:
            i = self.match + direction
        if not 0 <= i < n:
            i %= n
            self.notify("search wrapped to the " + ("top" if direction > 0 else "bottom"), timeout=2)
        self.match = i
        self._show_match()
        self._update_title()
        self.refresh()

    def _visual_top(self) -> int:
        return int(self.scroll_y)

    def _first_match_from(self, top: int, direction: int = 1) -> int:
        """The first match on or below the screen's row `top` (above it, backwards)."""
        n = len(self._m_start)
        if direction > 0:
            i = next((k for k in range(n) if self._match_row(k) >= top), 0)
        else:
            i = next((k for k in range(n - 1, -1, -1) if self._match_row(k) < top), n - 1)
        return i

    def _bound_to(self, key: str, action: str) -> bool:
        """Whether `key` runs `action` here (the user's remaps included)."""
        bindings = self._bindings.copy()
        keymap = self.app._keymap
        if keymap:
            bindings.apply_keymap(keymap)
        return any(b.action == action for b in bindings.key_to_bindings.get(key, ()))

    def on_key(self, event: events.Key) -> None:
        if not self.typing:
            # `/` starts the search here, in this widget's own order of keys, so the keys
            # typed right after it (a fast typist, a paste, tmux) are the query, not commands
            if self._bound_to(event.key, "search"):
                event.stop()
                event.prevent_default()
                self.action_search()
            return
        key = event.key
        if key == "escape":
            self.action_clear_search()
        elif key == "enter":
            self.typing = False
            if not self.search_query:
                self.action_clear_search()
                return
        elif key in ("backspace", "ctrl+h"):
            self.search_query = (self.search_query or "")[:-1]
            self._run_search(jump=True)
        elif event.is_printable and event.character:
            self.search_query = (self.search_query or "") + event.character
            self._run_search(jump=True)
        else:
            return     # other keys (tab, arrows, ctrl+p) do what they always do
        event.stop()
        event.prevent_default()
        self._update_title()
        self.refresh()

    def on_blur(self, event: events.Blur) -> None:
        if self.typing:
            self.typing = False
            if not self.search_query:
                self.action_clear_search()
            self._update_title()

    def on_paste(self, event: events.Paste) -> None:
        if self.typing:
            self.search_query = (self.search_query or "") + (event.text.splitlines() or [""])[0]
            self._run_search(jump=True)
            self._update_title()
            event.stop()

    def _run_search(self, *, jump: bool) -> None:
        """Find the query in the view's lines (smart case: any capital makes it exact), and
        with `jump` go to the first match from where the search began."""
        self._m_start, self._m_end, self._line_marks, self._m_more = [], [], {}, False
        self.match = -1
        q = self.search_query
        if not q:
            return
        flat, text, starts = self.prepared.search_index()
        flags = 0 if any(c.isupper() for c in q) else re.IGNORECASE
        ms, me = self._m_start, self._m_end
        for m in re.finditer(re.escape(q), text, flags):
            if m.end() == m.start():
                continue
            ms.append(m.start())
            me.append(m.end())
            if len(ms) >= MAX_MATCHES:
                self._m_more = True
                break
        marks = self._line_marks
        for i, (a, b) in enumerate(zip(ms, me)):
            g = bisect_right(starts, a) - 1
            off = starts[g]
            marks.setdefault(id(flat[g]), []).append((a - off, b - off, i))
        if jump and ms:
            self.match = self._first_match_from(self._search_from)
            self._show_match()

    def _match_line(self, i: int) -> tuple[int, DiffLine, int, int]:
        flat, _, starts = self.prepared.search_index()
        a = self._m_start[i]
        g = bisect_right(starts, a) - 1
        return g, flat[g], a - starts[g], self._m_end[i] - starts[g]

    def _match_row(self, i: int) -> int:
        """The screen row (of the whole view) where match `i` starts."""
        g, dl, s, _ = self._match_line(i)
        p = self.prepared
        row = p.split_row(dl) if self.split else p.unified_row(g)
        if self._wrapped is None:
            return row
        width = self._line_code_width(dl)
        return self._visual(row) + self._col_of(dl, s) // width

    def _line_code_width(self, dl: DiffLine) -> int:
        w = self.scrollable_content_region.width
        if not self.split:
            return self._code_width(w)
        left, right, g = self._half_widths(w)
        return max(1, (right if dl.kind == "+" else left) - g)

    @staticmethod
    def _col_of(dl: DiffLine, offset: int) -> int:
        """The column (in the drawn code) where character `offset` of the line is drawn."""
        piece = dl.text[:offset]
        changed = dl.kind != " "
        trail = trailing_start(dl.text) if changed else len(dl.text)
        all_ws = changed and dl.ws
        return cell_len(visible(piece, trail, all_ws) if (all_ws or offset > trail) else visible(piece))

    def _show_match(self) -> None:
        """Scroll so that the current match is on screen, and its columns too."""
        if not 0 <= self.match < len(self._m_start):
            return
        _, dl, s, e = self._match_line(self.match)
        y = self._match_row(self.match)
        h = max(self.scrollable_content_region.height, 1)
        if not self.scroll_y <= y < self.scroll_y + h:
            self.scroll_to(y=max(0, y - h // 3), animate=False)
        if self._wrapped is None:
            cw = self._line_code_width(dl)
            a, b = self._col_of(dl, s), self._col_of(dl, e)
            x = int(self.scroll_x)
            if a < x or b > x + cw - 1:
                self.scroll_to(x=max(0, min(a - cw // 3, b - cw + 2)), animate=False)

    # ---------------------------------------------------------------- navigation
    def current_hunk(self) -> int | None:
        """The step's hunk of the current change, else of the current match on screen, else
        the first hunk on screen."""
        p = self.prepared
        if 0 <= self.change < len(p.block_hunk) and p.block_hunk[self.change] >= 0:
            return p.block_hunk[self.change]
        rows = self.rows
        top = int(self.scroll_y)
        height = max(self.size.height, 1)
        if 0 <= self.match < len(self._m_start):
            y = self._match_row(self.match)
            if top <= y < top + height:
                r = rows[self._base(y)[0]]
                h = r[2] if r[0] == HEAD else r[1]
                if h >= 0:
                    return h
        r0 = self._base(top)[0]
        r1 = self._base(min(top + height, max(self.virtual_size.height, 1)) - 1)[0] + 1
        for y in range(r0, min(len(rows), r1)):
            r = rows[y]
            h = r[2] if r[0] == HEAD else r[1]
            if h >= 0:
                return h
        return None

    def _scroll_to_row(self, row: int, margin: int | None = None) -> None:
        y = self._visual(row)
        m = max(self.size.height // 3, 1) if margin is None else margin
        self.scroll_to(y=max(0, y - m), animate=False)

    def _scroll_to_block(self, i: int) -> None:
        self._scroll_to_row(self.blocks[i])

    def next_change(self, direction: int = 1) -> bool:
        """Move to the next (or previous) change block; False at the end."""
        blocks = self.blocks
        if not blocks:
            return False
        if self.change < 0:
            # from the screen's position
            top = self._base(int(self.scroll_y))[0]
            if direction > 0:
                cand = [i for i, r in enumerate(blocks) if r >= top]
                i = cand[0] if cand else None
            else:
                cand = [i for i, r in enumerate(blocks) if r < top]
                i = cand[-1] if cand else None
        else:
            i = self.change + direction
            if not 0 <= i < len(blocks):
                i = None
        if i is None:
            return False
        self.change = i
        self._scroll_to_block(i)
        hunk = self.prepared.block_hunk[i]
        self.post_message(self.ChangeMoved(self, hunk if hunk >= 0 else None))
        return True

    def page(self, direction: int, fraction: float = 0.5) -> None:
        step = max(1, int(self.size.height * fraction))
        self.scroll_to(y=self.scroll_y + direction * step, animate=False)

    # ---------------------------------------------------------------- drawing
    def notify_style_update(self) -> None:
        self._styles = None
        self._token_styles.clear()
        self._pyg_theme = None
        super().notify_style_update()

    def _get_styles(self) -> dict:
        if self._styles is None:
            g = self.get_component_rich_style
            base = self.rich_style
            self._styles = {
                "base": base,
                "+": g("diff-view--added"),
                "-": g("diff-view--removed"),
                "+span": g("diff-view--added-span"),
                "-span": g("diff-view--removed-span"),
                " ": g("diff-view--context"),
                "hunk": g("diff-view--hunk"),
                "gutter": g("diff-view--gutter"),
                "cursor": g("diff-view--cursor"),
                "off": g("diff-view--off"),
                "blank": g("diff-view--blank"),
                "match": g("diff-view--match"),
                "match-current": g("diff-view--match-current"),
                "cut": g("diff-view--cut"),
            }
        return self._styles

    def _token_style(self, ttype) -> Style:
        st = self._token_styles.get(ttype)
        if st is None:
            if self._pyg_theme is None:
                dark = self.app.current_theme.dark if self.app.current_theme else True
                self._pyg_theme = PygmentsSyntaxTheme("monokai" if dark else "friendly")
            st = self._pyg_theme.get_style_for_token(ttype)
            st = Style(color=st.color, bold=st.bold, italic=st.italic)
            self._token_styles[ttype] = st
        return st

    def _syntax(self, text: str) -> list[tuple[str, Style]]:
        spans = self._syntax_cache.get(text)
        if spans is not None:
            return spans
        lexer = _lexer_for(self.prepared.lexer_name)
        if lexer is None or len(text) > 2000:
            spans = [(text, Style())]
        else:
            # pygments drops a leading BOM and turns a CR into a newline: lex a same-length
            # stand-in, then cut the line's own characters by the tokens' lengths, so every
            # byte is still there to be drawn (as a marker) and the spans' offsets hold
            src = text
            if "\r" in src or src.startswith("\ufeff"):
                src = src.replace("\r", " ").replace("\ufeff", " ")
            spans = []
            pos = 0
            for t, v in lexer.get_tokens(src):
                if v:
                    spans.append((text[pos:pos + len(v)], self._token_style(t)))
                    pos += len(v)
            if pos != len(text):    # a lexer that changed the text: draw it plain
                spans = [(text, Style())]
        if len(self._syntax_cache) > 4000:
            self._syntax_cache.clear()
        self._syntax_cache[text] = spans
        return spans

    def _code(self, dl: DiffLine, line_style: Style, span_style: Style, styles: dict) -> Strip:
        """The line's code as drawn: syntax colours over the line's background, changed spans
        stronger, search matches marked. Built directly (no rich Text): this runs for every
        drawn line."""
        pieces = [(value, line_style + st if st else line_style) for value, st in self._syntax(dl.text)]
        if dl.spans:
            pieces = _overlay(pieces, [(a, b, span_style) for a, b in dl.spans])
        marks = self._line_marks.get(id(dl)) if self._line_marks else None
        if marks:
            pieces = _overlay(pieces, [(a, b, styles["match-current"] if i == self.match else styles["match"])
                                       for a, b, i in marks])
        # what is drawn for each piece: invisible characters as markers (engine's `visible`);
        # on a changed line its trailing whitespace too, or every space and tab when the
        # line would otherwise look like the one it replaces; then its line ending's marks
        changed = dl.kind != " "
        trail = trailing_start(dl.text) if changed else len(dl.text)
        all_ws = changed and dl.ws
        out = []
        pos = 0
        for t, style in pieces:
            if not t:
                continue
            n = len(t)
            if all_ws or pos + n > trail:
                t = visible(t, trail - pos, all_ws)
            else:
                if "\t" in t:
                    t = t.replace("\t", "    ")
                if not t.isprintable():
                    t = visible(t)
            pos += n
            out.append(Segment(t, style))
        if dl.eol != "\n":
            mark = eol_mark(dl)
            if mark:
                out.append(Segment(mark, line_style + span_style if changed else line_style))
        return Strip(out)

    def _window(self, code: Strip, start: int, width: int, line_style: Style, styles: dict,
                wrapped: bool) -> Strip:
        """`width` columns of the drawn code from column `start`; a line going on past the
        right edge (not wrapped) ends in a `›`."""
        if width <= 0:
            return Strip([])
        if not wrapped and code.cell_length > start + width:
            return Strip.join([code.crop(start, start + width - 1),
                               Strip([Segment(CUT, line_style + styles["cut"])], 1)])
        return code.crop_extend(start, start + width, line_style)

    def _line_style(self, dl: DiffLine, styles: dict, off: bool) -> tuple[Style, Style]:
        kind = dl.kind
        line_style = styles["base"] + styles[kind] if kind != " " else styles["base"]
        if off and kind != " ":
            line_style = line_style + styles["off"]
        span_style = styles[kind + "span"] if kind != " " else Style()
        return line_style, span_style

    def _half(self, dl: DiffLine | None, side: str, width: int, nw: int, styles: dict,
              cursor: bool, off: bool, part: int, scroll_x: int) -> Strip:
        if dl is None:
            return Strip([Segment(" " * width, styles["blank"])], width)
        line_style, span_style = self._line_style(dl, styles, off)
        gutter_w = nw + 3
        code = self._code(dl, line_style, span_style, styles)
        cw = max(0, width - gutter_w)
        wrapped = self._wrapped is not None
        if wrapped and part * max(cw, 1) >= max(code.cell_length, 1) and part:
            return Strip([Segment(" " * width, line_style)], width)   # the other half wraps longer
        no = dl.old_no if side == "-" else dl.new_no
        gutter = styles["cursor"] if cursor else styles["gutter"]
        if part:
            head = [Segment(f"{WRAPPED:>{nw}} ", gutter), Segment("  ", line_style)]
        else:
            head = [Segment(f"{'' if no is None else no:>{nw}} ", gutter), Segment(f"{dl.kind} ", line_style)]
        start = part * cw if wrapped else scroll_x
        body = self._window(code, start, cw, line_style, styles, wrapped)
        return Strip.join([Strip(head, gutter_w), body]).crop_extend(0, width, line_style)

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        styles = self._get_styles()
        rows = self.rows
        vy = scroll_y + y
        total = self._wrapped.total if self._wrapped is not None else len(rows)
        if vy >= total:
            return Strip.blank(width, styles["base"])
        idx, part = self._base(vy)
        row = rows[idx]
        p = self.prepared
        nw = p.num_width
        cur_block = self.change
        blocks = self.blocks
        in_cursor = False
        if 0 <= cur_block < len(blocks):
            start = blocks[cur_block]
            end = blocks[cur_block + 1] if cur_block + 1 < len(blocks) else len(rows)
            if start <= idx < end:
                r = rows[idx]
                in_cursor = (r[0] == LINE and r[2].kind != " ") or (
                    r[0] == PAIR and not (r[2] is r[3] and r[2] is not None and r[2].kind == " "))
        wrapped = self._wrapped is not None
        if row[0] == HEAD:
            text = " " + row[1] + self._off_note(row)
            strip = Strip([Segment(text, styles["hunk"])])
            n = strip.cell_length
            if wrapped:
                return strip.crop_extend(part * width, (part + 1) * width, styles["hunk"])
            # a header moves sideways only as far as it must to show its end
            x = min(scroll_x, max(0, n - width))
            return self._window(strip, x, width, styles["hunk"], styles, False)
        off = row[1] in self.hunks_off
        if row[0] == LINE:
            dl: DiffLine = row[2]
            line_style, span_style = self._line_style(dl, styles, off)
            gutter = styles["cursor"] if in_cursor else styles["gutter"]
            if self.lines_off or self.line_cursor is not None:
                line_style, gutter = self._sel_marks(idx, dl.kind, line_style, gutter, styles)
            gw = self._gutter_width()
            if part:
                head = [Segment(f"{WRAPPED:>{nw * 2 + 1}} ", gutter), Segment("  ", line_style)]
            else:
                old = "" if dl.old_no is None else dl.old_no
                new = "" if dl.new_no is None else dl.new_no
                head = [Segment(f"{old:>{nw}} {new:>{nw}} ", gutter), Segment(f"{dl.kind} ", line_style)]
            code = self._code(dl, line_style, span_style, styles)
            cw = max(0, width - gw)
            body = self._window(code, part * cw if wrapped else scroll_x, cw, line_style, styles, wrapped)
            return Strip.join([Strip(head, gw), body]).crop_extend(0, width, line_style)
        # split pair: the two halves share the view's width and scroll sideways together
        left, right = row[2], row[3]
        lw, rw, _ = self._half_widths(width)
        ls = self._half(left, "-", lw, nw, styles, in_cursor, off or id(left) in self._off_ids, part, scroll_x)
        rs = self._half(right, "+", rw, nw, styles, in_cursor, off or id(right) in self._off_ids, part, scroll_x)
        sep = Strip([Segment("│", styles["gutter"])])
        return Strip.join([ls, sep, rs])

    def _off_note(self, row: tuple) -> str:
        """What a hunk header says of the hunks turned off that it shows."""
        if row[3] < 0 or not self.hunks_off:
            return ""
        p = self.prepared
        covers = p.covers[row[3]] if row[3] < len(p.covers) else []
        off = [c for c in covers if c in self.hunks_off]
        if not off:
            return ""
        if len(off) == len(covers):
            return "   [hunk turned off: its lines stay as they are]" if len(covers) == 1 else \
                f"   [its {len(covers)} hunks off: their lines stay as they are]"
        return f"   [{len(off)} of {len(covers)} hunks off: struck-out lines stay as they are]"

    # ---------------------------------------------------------------- line selection
    def _line_at(self, row: int) -> tuple[int, int] | None:
        """(hunk index, index into its lines) of a unified row, None for other rows."""
        rows = self.prepared.unified
        if self.split or not self.options.default or not 0 <= row < len(rows) or row < len(rows.heads):
            return None
        k = bisect_right(rows.starts, row) - 1
        li = row - rows.starts[k] - 1
        return (rows.hunks[k].index, li) if li >= 0 else None

    def _sel_marks(self, idx: int, kind: str, line_style: Style, gutter: Style, styles: dict) -> tuple[Style, Style]:
        """A line's style and gutter under the line selection: struck out when turned off,
        the gutter marked while selected."""
        at = self._line_at(idx)
        if at is None:
            return line_style, gutter
        if kind != " " and at[1] in self.lines_off.get(at[0], ()):
            line_style = line_style + styles["off"]
        if self.line_cursor is not None and self.line_anchor is not None and \
                min(self.line_anchor, self.line_cursor) <= idx <= max(self.line_anchor, self.line_cursor):
            gutter = styles["cursor"]
        return line_style, gutter

    def set_lines_off(self, off: dict[int, set[int]]) -> None:
        self.lines_off = {h: set(v) for h, v in off.items() if v}
        hunks = self.prepared.diff.hunks if self.prepared.diff is not None else []
        self._off_lines = [h.lines[i] for h in hunks for i in sorted(self.lines_off.get(h.index, ()))
                           if i < len(h.lines) and h.lines[i].kind != " "]
        self._off_ids = {id(dl) for dl in self._off_lines}
        self.refresh()

    def start_line_select(self) -> bool:
        """Start selecting lines at the first changed line of the current change (else of the
        screen); False when there is no line to select, in the split layout, and in a view
        other than the default one (lines are picked in the step's own hunks, unwrapped)."""
        if self.split or not self.options.default or self.wrap:
            return False
        rows = self.prepared.unified
        top = self.blocks[self.change] if 0 <= self.change < len(self.blocks) else int(self.scroll_y)
        for row in range(max(top, 0), len(rows)):
            r = rows[row]
            if r[0] == LINE and r[2].kind != " ":
                self.line_anchor = self.line_cursor = row
                self._line_into_view()
                self.refresh()
                return True
        return False

    def end_line_select(self) -> None:
        self.line_anchor = self.line_cursor = None
        self.refresh()

    def move_line(self, delta: int) -> None:
        """Extend the selection by a line, within the hunk it started in."""
        if self.line_cursor is None or self.line_anchor is None:
            return
        start = self._line_at(self.line_anchor)
        nxt = self._line_at(self.line_cursor + delta)
        if start is None or nxt is None or nxt[0] != start[0]:
            return
        self.line_cursor += delta
        self._line_into_view()
        self.refresh()

    def selected_lines(self) -> tuple[int, list[int]] | None:
        """(hunk index, indices into its lines of the changed lines selected), or None."""
        if self.line_cursor is None or self.line_anchor is None:
            return None
        lo, hi = sorted((self.line_anchor, self.line_cursor))
        rows = self.prepared.unified
        hunk = None
        picked: list[int] = []
        for row in range(lo, hi + 1):
            at = self._line_at(row)
            if at is None:
                continue
            hunk = at[0]
            if rows[row][2].kind != " ":
                picked.append(at[1])
        return None if hunk is None else (hunk, picked)

    def _line_into_view(self) -> None:
        row = self.line_cursor
        if row is None:
            return
        h = max(self.size.height, 1)
        if row < self.scroll_y:
            self.scroll_to(y=row, animate=False)
        elif row >= self.scroll_y + h:
            self.scroll_to(y=row - h + 1, animate=False)

    def action_scroll_down(self) -> None:
        if self.line_cursor is not None:
            self.move_line(1)
        else:
            super().action_scroll_down()

    def action_scroll_up(self) -> None:
        if self.line_cursor is not None:
            self.move_line(-1)
        else:
            super().action_scroll_up()
