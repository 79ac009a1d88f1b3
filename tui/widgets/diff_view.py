"""The diff of one step, drawn line by line (Textual's Line API): only the visible rows are
rendered, so a 100,000-line diff opens and scrolls as fast as a 10-line one.

Rows are prepared once (`prepare()`, a pure function a thread worker can run) as plain tuples;
`render_line` highlights a row with pygments on demand (cached per line text), adds line
numbers, a `+`/`-` mark (so colour is never the only signal), intra-line spans, and the
current-change cursor. `s` switches between unified and split (side by side) layouts.
"""
from __future__ import annotations

from bisect import bisect_right
from functools import lru_cache

from rich.segment import Segment
from rich.style import Style
from rich.syntax import PygmentsSyntaxTheme
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from wopt.engine.analysis.diffs import NO_NEWLINE, describe, eol_mark, trailing_start, visible
from wopt.engine.analysis.model import DiffLine, StepDiff

__all__ = ["DiffView", "Prepared", "UnifiedRows", "describe", "prepare", "HEAD", "LINE", "PAIR"]

# row tuples (kept small: a 100k-line diff holds 100k of them)
HEAD = 0      # (HEAD, text, hunk index or -1)
LINE = 1      # (LINE, hunk, DiffLine)
PAIR = 2      # (PAIR, hunk, left DiffLine|None, right DiffLine|None)


class UnifiedRows:
    """The unified layout's rows, made on demand: header lines, then each hunk's `@@` line and
    its lines. Holds no per-line tuples, so a 100,000-line diff costs nothing to set up."""

    def __init__(self, heads: list[str], hunks: list) -> None:
        self.heads = heads
        self.hunks = hunks
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
            return (HEAD, self.heads[i], -1)
        k = bisect_right(self.starts, i) - 1
        h = self.hunks[k]
        off = i - self.starts[k]
        if off == 0:
            return (HEAD, f"@@ -{h.old_start},{h.old_len} +{h.new_start},{h.new_len} @@", h.index)
        return (LINE, h.index, h.lines[off - 1])


class Prepared:
    """What the view draws for one diff: rows for both layouts (split made on first use),
    change blocks, widths."""

    def __init__(self, diff: StepDiff | None, heads: list[str], blocks_unified: list[int],
                 block_hunk: list[int], width: int, num_width: int, message: str | None = None) -> None:
        self.diff = diff
        self.heads = heads
        self.unified = UnifiedRows(heads, diff.hunks if diff is not None else [])
        self.blocks_unified = blocks_unified
        self.block_hunk = block_hunk
        self.width = width
        self.num_width = num_width
        self.message = message
        self.lexer_name = diff.path if diff is not None else None
        self._split: list[tuple] | None = None
        self._blocks_split: list[int] | None = None

    @property
    def split(self) -> list[tuple]:
        if self._split is None:
            self._split, self._blocks_split = self._make_split()
        return self._split

    @property
    def blocks_split(self) -> list[int]:
        if self._blocks_split is None:
            self._split, self._blocks_split = self._make_split()
        return self._blocks_split

    def _make_split(self) -> tuple[list[tuple], list[int]]:
        rows: list[tuple] = [(HEAD, t, -1) for t in self.heads]
        blocks: list[int] = []
        for h in (self.diff.hunks if self.diff is not None else []):
            rows.append((HEAD, f"@@ -{h.old_start},{h.old_len} +{h.new_start},{h.new_len} @@", h.index))
            lines = h.lines
            n = len(lines)
            i = 0
            prev_changed = False
            while i < n:
                dl = lines[i]
                if dl.kind == " ":
                    rows.append((PAIR, h.index, dl, dl))
                    prev_changed = False
                    i += 1
                    continue
                if not prev_changed:
                    blocks.append(len(rows))
                j = i
                while j < n and lines[j].kind != " ":
                    j += 1
                removed = [x for x in lines[i:j] if x.kind == "-"]
                added = [x for x in lines[i:j] if x.kind == "+"]
                for a in range(max(len(removed), len(added))):
                    rows.append((PAIR, h.index, removed[a] if a < len(removed) else None,
                                 added[a] if a < len(added) else None))
                i = j
                prev_changed = True
        return rows, blocks


def prepare(diff: StepDiff | None, message: str | None = None) -> Prepared:
    """What the view needs of a diff: one pass over its lines for the change blocks and the
    widest line. Pure and thread-safe: runs in a worker."""
    heads: list[str] = []
    blocks: list[int] = []
    block_hunk: list[int] = []
    width = 0
    maxno = 1
    if diff is not None:
        heads = describe(diff)
        if not diff.hunks and not diff.binary and not heads:
            heads.append("no change to the file's content")
        row = len(heads)
        for h in diff.hunks:
            row += 1                       # the @@ line
            prev = " "
            for dl in h.lines:
                k = dl.kind
                if k != " " and prev == " ":
                    blocks.append(row)
                    block_hunk.append(h.index)
                prev = k
                row += 1
            if h.lines:
                width = max(width, max(len(dl.text) for dl in h.lines))
                if h is diff.hunks[-1]:     # only the last hunk may hold a line without "\n"
                    width = max([width] + [len(dl.text) + 1 + len(NO_NEWLINE)
                                           for dl in h.lines if dl.eol in ("", "\r")])
            maxno = max(maxno, h.old_start + h.old_len, h.new_start + h.new_len)
        _lexer_for(diff.path)              # find the lexer here, in the worker, not while drawing
    elif message:
        heads = [message]
    if heads:
        width = max(width, max(len(h) for h in heads))
    return Prepared(diff, heads, blocks, block_hunk, width, len(str(maxno)), message)


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


class DiffView(ScrollView, can_focus=True):
    """A step's diff; `set_prepared()` shows rows made by `prepare()`."""

    COMPONENT_CLASSES = {
        "diff-view--added", "diff-view--removed", "diff-view--added-span", "diff-view--removed-span",
        "diff-view--context", "diff-view--hunk", "diff-view--gutter", "diff-view--cursor",
        "diff-view--off", "diff-view--blank",
    }

    DEFAULT_CSS = """
    DiffView {
        background: $surface;
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
    }
    DiffView:ansi {
        & > .diff-view--added { background: ansi_green; color: ansi_black; }
        & > .diff-view--removed { background: ansi_red; color: ansi_black; }
    }
    """

    BINDINGS = [
        Binding("down,j", "scroll_down", "Down", show=False),
        Binding("up,k", "scroll_up", "Up", show=False),
        Binding("pagedown", "page_lines(1)", "Page down", show=False),
        Binding("pageup", "page_lines(-1)", "Page up", show=False),
    ]

    def action_page_lines(self, direction: int) -> None:
        self.page(direction, 1.0)

    split: reactive[bool] = reactive(False)
    change: reactive[int] = reactive(-1)   # index of the current change block, -1 none

    class ChangeMoved(Message):
        def __init__(self, view: "DiffView", hunk: int | None) -> None:
            super().__init__()
            self.view = view
            self.hunk = hunk

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None):
        super().__init__(name=name, id=id, classes=classes)
        self.prepared: Prepared = _EMPTY
        self.hunks_off: set[int] = set()          # hunks the person turned off (drawn struck out)
        # line selection inside a hunk (unified layout): rows from anchor to cursor, and the
        # lines turned off per hunk (indices into the hunk's lines), drawn struck out
        self.line_anchor: int | None = None
        self.line_cursor: int | None = None
        self.lines_off: dict[int, set[int]] = {}
        self._off_lines: list[DiffLine] = []       # the same lines as objects (split layout)
        self._off_ids: set[int] = set()
        self._styles: dict | None = None
        self._syntax_cache: dict[str, list[tuple[str, Style]]] = {}
        self._token_styles: dict = {}
        self._pyg_theme: PygmentsSyntaxTheme | None = None

    # ---------------------------------------------------------------- content
    def set_prepared(self, prepared: Prepared, *, hunks_off: set[int] | None = None) -> None:
        self.prepared = prepared
        self.hunks_off = set(hunks_off or ())
        self._syntax_cache.clear()
        self.change = -1
        self._update_virtual_size()
        self.scroll_to(0, 0, animate=False)
        self.refresh()

    def set_message(self, message: str) -> None:
        self.set_prepared(prepare(None, message))

    def set_hunks_off(self, off: set[int]) -> None:
        self.hunks_off = set(off)
        self.refresh()

    @property
    def rows(self) -> list[tuple] | UnifiedRows:
        return self.prepared.split if self.split else self.prepared.unified

    @property
    def blocks(self) -> list[int]:
        return self.prepared.blocks_split if self.split else self.prepared.blocks_unified

    def _gutter_width(self) -> int:
        return self.prepared.num_width * 2 + 4    # "old new + "

    def _update_virtual_size(self) -> None:
        p = self.prepared
        if self.split:
            w = 1          # side by side fits the view: each half crops its long lines
        else:
            w = self._gutter_width() + p.width + 1
        self.virtual_size = Size(max(w, 1), len(self.rows))

    def watch_split(self) -> None:
        # keep the current change in view across layouts
        self._update_virtual_size()
        if 0 <= self.change < len(self.blocks):
            self._scroll_to_block(self.change)
        else:
            self.scroll_to(0, 0, animate=False)
        self.refresh()

    def watch_change(self) -> None:
        self.refresh()

    # ---------------------------------------------------------------- navigation
    def current_hunk(self) -> int | None:
        """The hunk of the current change, else the first hunk on screen."""
        p = self.prepared
        if 0 <= self.change < len(p.block_hunk):
            return p.block_hunk[self.change]
        rows = self.rows
        for y in range(int(self.scroll_y), min(len(rows), int(self.scroll_y) + max(self.size.height, 1))):
            r = rows[y]
            h = r[2] if r[0] == HEAD else r[1]
            if h >= 0:
                return h
        return None

    def _scroll_to_block(self, i: int) -> None:
        row = self.blocks[i]
        top = max(0, row - max(self.size.height // 3, 1))
        self.scroll_to(y=top, animate=False)

    def next_change(self, direction: int = 1) -> bool:
        """Move to the next (or previous) change block; False at the end."""
        blocks = self.blocks
        if not blocks:
            return False
        if self.change < 0:
            # from the screen's position
            top = int(self.scroll_y)
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
        self.post_message(self.ChangeMoved(self, self.prepared.block_hunk[i]))
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

    def _code(self, dl: DiffLine, width: int, line_style: Style, span_style: Style) -> list[Segment]:
        """The line's code as segments: syntax colours over the line's background, changed
        spans stronger. Built directly (no rich Text): this runs for every drawn line."""
        segs: list[Segment] = []
        spans = dl.spans
        pos = 0
        si = 0
        for value, st in self._syntax(dl.text):
            style = line_style + st if st else line_style
            end = pos + len(value)
            if not spans:
                segs.append(Segment(value, style))
            else:
                cut = pos
                while cut < end:
                    while si < len(spans) and spans[si][1] <= cut:
                        si += 1
                    if si < len(spans) and spans[si][0] <= cut:
                        stop = min(end, spans[si][1])
                        segs.append(Segment(value[cut - pos:stop - pos], style + span_style))
                    else:
                        stop = min(end, spans[si][0]) if si < len(spans) else end
                        segs.append(Segment(value[cut - pos:stop - pos], style))
                    cut = stop
            pos = end
        # what is drawn for each piece: invisible characters as markers (engine's `visible`);
        # on a changed line its trailing whitespace too, or every space and tab when the
        # line would otherwise look like the one it replaces; then its line ending's marks
        changed = dl.kind != " "
        trail = trailing_start(dl.text) if changed else len(dl.text)
        all_ws = changed and dl.ws
        out = []
        pos = 0
        for seg in segs:
            t = seg.text
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
            out.append(Segment(t, seg.style))
        if dl.eol != "\n":
            mark = eol_mark(dl)
            if mark:
                out.append(Segment(mark, line_style + span_style if changed else line_style))
        return out

    def _half(self, dl: DiffLine | None, side: str, width: int, nw: int, styles: dict,
              cursor: bool, off: bool) -> Strip:
        if dl is None:
            return Strip([Segment(" " * width, styles["blank"])], width)
        kind = dl.kind
        no = dl.old_no if side == "-" else dl.new_no
        gutter = styles["cursor"] if cursor else styles["gutter"]
        line_style = styles["base"] + styles[kind] if kind != " " else styles["base"]
        if off and kind != " ":
            line_style = line_style + styles["off"]
        span_style = styles[kind + "span"] if kind != " " else Style()
        segs = [Segment(f"{'' if no is None else no:>{nw}} ", gutter),
                Segment(f"{kind} ", line_style)]
        segs += self._code(dl, width, line_style, span_style)
        strip = Strip(segs)
        text_w = width
        return strip.crop(0, text_w).extend_cell_length(text_w, line_style)

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        idx = scroll_y + y
        width = self.scrollable_content_region.width
        styles = self._get_styles()
        rows = self.rows
        if idx >= len(rows):
            return Strip.blank(width, styles["base"])
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
        if row[0] == HEAD:
            text = row[1]
            if row[2] >= 0 and row[2] in self.hunks_off:
                text += "   [hunk turned off: its lines stay as they are]"
            strip = Strip([Segment(" " + text, styles["hunk"])])
            full = max(width, self.virtual_size.width)
            if self.split:
                return strip.extend_cell_length(width, styles["hunk"]).crop(0, width)
            return strip.extend_cell_length(full, styles["hunk"]).crop(scroll_x, scroll_x + width)
        off = row[1] in self.hunks_off
        if row[0] == LINE:
            dl: DiffLine = row[2]
            kind = dl.kind
            line_style = styles["base"] + styles[kind] if kind != " " else styles["base"]
            if off and kind != " ":
                line_style = line_style + styles["off"]
            gutter = styles["cursor"] if in_cursor else styles["gutter"]
            if self.lines_off or self.line_cursor is not None:
                line_style, gutter = self._line_marks(idx, kind, line_style, gutter, styles)
            old = "" if dl.old_no is None else dl.old_no
            new = "" if dl.new_no is None else dl.new_no
            segs = [Segment(f"{old:>{nw}} {new:>{nw}} ", gutter), Segment(f"{kind} ", line_style)]
            span_style = styles[kind + "span"] if kind != " " else Style()
            segs += self._code(dl, width, line_style, span_style)
            full = max(width, self.virtual_size.width)
            strip = Strip(segs).extend_cell_length(full, line_style)
            return strip.crop(scroll_x, scroll_x + width)
        # split pair: the two halves share the view's width
        left, right = row[2], row[3]
        full = width
        half = (full - 1) // 2
        ls = self._half(left, "-", half, nw, styles, in_cursor, off or id(left) in self._off_ids)
        rs = self._half(right, "+", full - 1 - half, nw, styles, in_cursor, off or id(right) in self._off_ids)
        sep = Strip([Segment("│", styles["gutter"])])
        return Strip.join([ls, sep, rs])

    # ---------------------------------------------------------------- line selection
    def _line_at(self, row: int) -> tuple[int, int] | None:
        """(hunk index, index into its lines) of a unified row, None for other rows."""
        rows = self.prepared.unified
        if self.split or not 0 <= row < len(rows) or row < len(rows.heads):
            return None
        k = bisect_right(rows.starts, row) - 1
        li = row - rows.starts[k] - 1
        return (rows.hunks[k].index, li) if li >= 0 else None

    def _line_marks(self, idx: int, kind: str, line_style: Style, gutter: Style, styles: dict) -> tuple[Style, Style]:
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
        screen); False when there is no line to select (or in the split layout)."""
        if self.split:
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
