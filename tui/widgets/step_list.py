"""The plan's batches and steps in commit order, one row each, drawn with the Line API (no
widget per step: a plan of 10,000 steps paints as fast as one of ten).

Each step row: a decision mark (`·` pending, `✓` approved, `✗` rejected), a state mark
(`✎` edited, `½` some hunks off, `!` stale, `⚠` invalid, `⊘` imports a module only a step you
rejected creates, or one no file provides after the apply: missing, or deleted by a step in
play), `≡` for a member of a template
family, the kind and the path. Marks are
symbols first, colour second.

A batch header folds (`▸`, its steps hidden, their decisions summed up on the header) and
unfolds (`▾`) by a key or a click; the cursor stops on a folded header, so batch decisions
still reach its steps.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

DECISION_MARK = {"pending": "·", "approved": "✓", "rejected": "✗"}
STATE_MARK = {"edited": "✎", "partial": "½", "nohunks": "∅", "stale": "!", "invalid": "⚠", "import": "⊘",
              "ok": " "}


def _cut(strip: Strip, content: int, scroll_x: int, width: int, base: Style) -> Strip:
    """The visible part of a row; a row cut at the right edge ends in `…`."""
    out = strip.crop(scroll_x, scroll_x + width)
    if content > scroll_x + width and width > 1:
        last = out.crop(width - 1, width)
        style = next((seg.style for seg in last if seg.style), base)
        out = Strip([*out.crop(0, width - 1), Segment("…", style)], width)
    return out


@dataclass(slots=True)
class StepRow:
    step: str
    batch: str
    kind: str
    label: str            # path (and `-> to` for a move)
    decision: str         # pending / approved / rejected
    state: str            # ok / edited / partial / stale / invalid / import
    family: str | None = None
    path: str = ""        # the full workspace path (the label may be relative to the batch)

    def haystack(self) -> str:
        """What the filter matches against."""
        return f"{self.path} {self.label} {self.kind} {self.decision} {self.state} {self.step} {self.family or ''}".lower()


@dataclass(slots=True)
class BatchRow:
    dir: str
    steps: list[str]
    counts: dict[str, int]


def header_text(r: BatchRow, folded: bool) -> str:
    """A batch header: `▾ dir/ (3 steps · 1 approved)`; folded, `▸` and every decision
    counted with its mark, first so a narrow pane still shows them (`▸ ✓1 ✗1 ·1 dir/ (3
    steps)`), since its rows are hidden."""
    n = len(r.steps)
    name = f"{r.dir}/" if r.dir != "." else "./"
    steps = f"{n} step{'s' if n != 1 else ''}"
    if folded:
        parts = [f"{DECISION_MARK[k]}{r.counts[k]}" for k in ("approved", "rejected", "pending") if r.counts.get(k)]
        return f"▸ {' '.join(parts)} {name} ({steps})" if parts else f"▸ {name} ({steps})"
    parts = [f"{r.counts[k]} {k}" for k in ("approved", "rejected") if r.counts.get(k)]
    extra = f" · {', '.join(parts)}" if parts else ""
    return f"▾ {name} ({steps}{extra})"


class StepList(ScrollView, can_focus=True):
    COMPONENT_CLASSES = {
        "step-list--batch", "step-list--cursor", "step-list--approved", "step-list--rejected",
        "step-list--pending", "step-list--warn", "step-list--dim",
    }
    DEFAULT_CSS = """
    StepList {
        overflow-x: hidden;
        & > .step-list--batch { color: $text-accent; text-style: bold; }
        & > .step-list--cursor { background: $block-cursor-background; color: $block-cursor-foreground; text-style: bold; }
        & > .step-list--approved { color: $text-success; }
        & > .step-list--rejected { color: $text-error; }
        & > .step-list--pending { color: $text-muted; }
        & > .step-list--warn { color: $text-warning; text-style: bold; }
        & > .step-list--dim { color: $text-muted; }
    }
    StepList:blur > .step-list--cursor { background: $block-cursor-blurred-background; color: $text; text-style: none; }
    """

    cursor: reactive[int] = reactive(0, always_update=True)

    class Selected(Message):
        """The cursor moved onto a step."""

        def __init__(self, step_list: "StepList", step: str | None) -> None:
            super().__init__()
            self.step_list = step_list
            self.step = step

        @property
        def control(self) -> "StepList":
            return self.step_list

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.rows: list[str | BatchRow] = []     # a step's id, or its batch's header
        self.step_rows: list[int] = []          # row index of each visible step, in order
        self._row_of: dict[str, int] = {}
        self._made: dict[str, StepRow] = {}     # display rows made so far (on demand)
        self._factory: Callable[[str], StepRow] | None = None
        self._styles: dict | None = None
        self.filter_text = ""
        self.folded: set[str] = set()           # batch dirs folded
        self._batches: list[tuple[str, list[str]]] = []
        self._decision_of = None

    # ------------------------------------------------------------------ content
    def set_rows(self, batches: list[tuple[str, list[str]]], factory: Callable[[str], StepRow], *,
                 keep: str | None = None, decision_of=None) -> None:
        """Replace the rows. `batches` are (dir, step ids in order); `factory(step id)` makes a
        step's display row when it is first drawn (so 10,000 steps cost 10,000 list entries,
        not 10,000 rows of text); `decision_of` counts decisions for the batch headers. Keeps
        the cursor on `keep` (or on the step it was on) when that step is still shown."""
        current = keep if keep is not None else (self.current_step or self._header_key())
        self._factory = factory
        self._made = {}
        self._batches = batches
        self._decision_of = decision_of
        decision_of = decision_of or (lambda sid: self.row(sid).decision)
        rows: list[str | BatchRow] = []
        f = self.filter_text.lower()
        width = 1
        for d, steps in batches:
            if f:
                steps = [sid for sid in steps if f in self.row(sid).haystack()]
                if not steps:
                    continue
            counts: dict[str, int] = {}
            for sid in steps:
                dec = decision_of(sid)
                counts[dec] = counts.get(dec, 0) + 1
            rows.append(BatchRow(d, list(steps), counts))
            if d not in self.folded:
                rows.extend(steps)
            width = max(width, len(d) + 40)
        self.rows = rows
        # the cursor's stops: every shown step, and the header of each folded batch
        self.step_rows = [i for i, r in enumerate(rows) if isinstance(r, str) or r.dir in self.folded]
        self._row_of = {(r if isinstance(r, str) else self._HEADER + r.dir): i
                        for i, r in ((i, rows[i]) for i in self.step_rows)}
        self.virtual_size = Size(width, len(rows))
        if current is not None and current not in self._row_of:
            # a step now inside a folded batch: the cursor goes to its header
            folded_in = next((d for d, steps in batches if current in steps), None)
            if folded_in is not None:
                current = self._HEADER + folded_in
        if current in self._row_of:
            self.cursor = self.step_rows.index(self._row_of[current])
        else:
            self.cursor = min(self.cursor, max(len(self.step_rows) - 1, 0))
        self.refresh()

    _HEADER = "\0batch:"      # the key of a folded batch's header among the cursor's stops

    def _header_key(self) -> str | None:
        b = self.current_header
        return None if b is None else self._HEADER + b.dir

    @property
    def current_header(self) -> BatchRow | None:
        """The folded batch header under the cursor, if the cursor is on one."""
        if not self.step_rows or not 0 <= self.cursor < len(self.step_rows):
            return None
        r = self.rows[self.step_rows[self.cursor]]
        return r if isinstance(r, BatchRow) else None

    @property
    def current_batch(self) -> str | None:
        """The batch (directory) under the cursor: a folded header's, or the step's."""
        h = self.current_header
        if h is not None:
            return h.dir
        sid = self.current_step
        if sid is None:
            return None
        return next((d for d, steps in self._batches if sid in steps), None)

    def toggle_fold(self, batch: str | None = None) -> bool | None:
        """Fold or unfold `batch` (default: the cursor's); True when it is now folded, None
        when there is no batch. Folding keeps the cursor on the header, unfolding puts it on
        the batch's first step."""
        batch = self.current_batch if batch is None else batch
        if batch is None or self._factory is None:
            return None
        if batch in self.folded:
            self.folded.discard(batch)
            steps = next((s for d, s in self._batches if d == batch), [])
            keep = steps[0] if steps else None
        else:
            self.folded.add(batch)
            keep = self._HEADER + batch
        self.set_rows(self._batches, self._factory, keep=keep, decision_of=self._decision_of)
        return batch in self.folded

    def row(self, sid: str) -> StepRow:
        r = self._made.get(sid)
        if r is None:
            assert self._factory is not None, "set_rows gives the factory before any row is drawn"
            r = self._made[sid] = self._factory(sid)
        return r

    def update_row(self, row: StepRow) -> None:
        if row.step in self._row_of:
            self._made[row.step] = row
            self.refresh()

    def forget_rows(self) -> None:
        """Decisions or states changed: remake rows as they are drawn."""
        self._made.clear()
        self.refresh()

    @property
    def current_step(self) -> str | None:
        """The step under the cursor (None on a folded batch's header)."""
        if not self.step_rows or not 0 <= self.cursor < len(self.step_rows):
            return None
        r = self.rows[self.step_rows[self.cursor]]
        return r if type(r) is str else None

    def visible_steps(self) -> list[str]:
        return [r for r in (self.rows[i] for i in self.step_rows) if type(r) is str]

    def select(self, step: str) -> bool:
        """Put the cursor on `step`, unfolding its batch when it is folded."""
        i = self._row_of.get(step)
        if i is None:
            d = next((d for d, steps in self._batches if step in steps and d in self.folded), None)
            if d is None or self._factory is None:
                return False
            self.folded.discard(d)
            self.set_rows(self._batches, self._factory, keep=step, decision_of=self._decision_of)
            i = self._row_of.get(step)
            if i is None:
                return False
        self.cursor = self.step_rows.index(i)
        return True

    def move(self, delta: int) -> None:
        if self.step_rows:
            self.cursor = max(0, min(len(self.step_rows) - 1, self.cursor + delta))

    def move_to(self, index: int) -> None:
        if self.step_rows:
            self.cursor = index % len(self.step_rows) if index < 0 else min(index, len(self.step_rows) - 1)

    def watch_cursor(self, old: int, new: int) -> None:
        if self.step_rows:
            row = self.step_rows[new] if 0 <= new < len(self.step_rows) else 0
            # keep the batch header in view for the first step of a batch
            top = row - 1 if row > 0 and isinstance(self.rows[row - 1], BatchRow) else row
            h = max(self.size.height, 1)
            if top < self.scroll_y:
                self.scroll_to(y=top, animate=False)
            elif row >= self.scroll_y + h:
                self.scroll_to(y=row - h + 1, animate=False)
        self.refresh()
        self.post_message(self.Selected(self, self.current_step))

    def on_click(self, event: events.Click) -> None:
        off = event.get_content_offset(self)
        if off is None:
            return
        idx = int(self.scroll_y) + off.y
        if 0 <= idx < len(self.rows):
            r = self.rows[idx]
            if isinstance(r, BatchRow):
                self.toggle_fold(r.dir)     # a click on a header folds or unfolds it
            else:
                self.select(r)
        self.focus()

    # ------------------------------------------------------------------ drawing
    def notify_style_update(self) -> None:
        self._styles = None
        super().notify_style_update()

    def _get_styles(self) -> dict:
        if self._styles is None:
            g = self.get_component_rich_style
            self._styles = {k: g(f"step-list--{k}") for k in
                            ("batch", "cursor", "approved", "rejected", "pending", "warn", "dim")}
            self._styles["base"] = self.rich_style
        return self._styles

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        idx = scroll_y + y
        width = self.scrollable_content_region.width
        st = self._get_styles()
        base = st["base"]
        if idx >= len(self.rows):
            return Strip.blank(width, base)
        r = self.rows[idx]
        if isinstance(r, BatchRow):
            text = header_text(r, r.dir in self.folded)
            style = base + st["batch"]
            is_cursor = 0 <= self.cursor < len(self.step_rows) and self.step_rows[self.cursor] == idx
            if is_cursor:
                style = style + st["cursor"]
            segs = [Segment(text, style)]
            strip = Strip(segs).extend_cell_length(max(width, self.virtual_size.width), style if is_cursor else base)
            return _cut(strip, len(text), scroll_x, width, base)
        row = self.row(r)
        is_cursor = bool(self.step_rows) and self.step_rows[self.cursor] == idx if 0 <= self.cursor < len(self.step_rows) else False
        dstyle = st.get(row.decision, st["pending"])
        warn = row.state in ("stale", "invalid", "import")
        segs = [
            Segment("  ", base),
            Segment(DECISION_MARK.get(row.decision, "?"), base + dstyle),
            Segment(STATE_MARK.get(row.state, " "), base + (st["warn"] if warn else st["dim"])),
            Segment(("≈ " if row.family.startswith("~") else "≡ ") if row.family else "  ", base + st["dim"]),
            Segment(f"{row.kind[:6]:<6} ", base + st["dim"]),
            Segment(row.label, base + (st["rejected"] if row.decision == "rejected" else Style())),
        ]
        content = sum(seg.cell_length for seg in segs)
        strip = Strip(segs).extend_cell_length(max(width, self.virtual_size.width), base)
        if is_cursor:
            cur = st["cursor"]
            strip = Strip([Segment(seg.text, (seg.style or Style()) + cur) for seg in strip], strip.cell_length)
        return _cut(strip, content, scroll_x, width, base)
