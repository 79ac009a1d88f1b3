"""One template family, shown once: its Jinja2 template with the slots (`{{ name }}`)
highlighted, the table of per-file values, and the outliers with what differs.

`FamilyScreen(model, family_id)` is a `Screen[tuple[str, str] | None]`:
`a` approves the whole family -> `("approve", family_id)`; enter (or a click) on a member or
an outlier opens it -> `("open", step_id)`; escape -> None. The screen only shows what the
analysis computed (`ReviewModel.families`); it reads no files.
"""
from __future__ import annotations

import re

from textual import getters, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from ..widgets.tables import cursor_row_key

SLOT_RE = re.compile(r"\{\{-?\s*([A-Za-z_][A-Za-z0-9_]*)\s*-?\}\}")
SLOT_STYLE = "bold underline $text-warning on $warning-muted"
TAG_STYLE = "italic $text-secondary"
MAX_CELL = 32
MAX_TEMPLATE_CHARS = 200_000


def natural_key(text: str) -> list:
    """`m2` before `m10`: digit runs compare as numbers."""
    import re
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


def _cell(value: str, width: int = MAX_CELL) -> str:
    """A slot value on one line: escapes visible, long values cut with an ellipsis."""
    v = value.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t")
    return v if len(v) <= width else v[: width - 1] + "…"


# the Jinja2 the analysis writes: raw blocks around constant text holding braces, an escaped
# brace, slots `{{ name }}` (possibly with filters), and any other tag or expression
_JINJA_RE = re.compile(
    r"\{%-?\s*raw\s*-?%\}(?P<raw>.*?)\{%-?\s*endraw\s*-?%\}"
    r"|\{\{-?\s*(?P<q>'[{}]'|\"[{}]\")\s*-?\}\}"
    r"|(?P<slot>\{\{-?\s*[A-Za-z_][\w.]*\s*(?:\|[^}]*)?-?\}\})"
    r"|(?P<tag>\{%.*?%\}|\{\{.*?\}\}|\{#.*?#\})", re.S)


def display_parts(template: str) -> list[tuple[str, str]]:
    """The template as a person reads it: (text, kind) with kind "text", "slot" or "tag";
    raw blocks and escaped braces shown as the literal text they render to."""
    parts: list[tuple[str, str]] = []
    pos = 0
    for m in _JINJA_RE.finditer(template):
        if m.start() > pos:
            parts.append((template[pos:m.start()], "text"))
        if m.group("raw") is not None:
            parts.append((m.group("raw"), "text"))
        elif m.group("q") is not None:
            parts.append((m.group("q")[1:-1], "text"))
        elif m.group("slot") is not None:
            parts.append((m.group("slot"), "slot"))
        else:
            parts.append((m.group("tag"), "tag"))
        pos = m.end()
    if pos < len(template):
        parts.append((template[pos:], "text"))
    return parts


def template_content(template: str, path: str | None = None) -> Content:
    """The template syntax-highlighted as its members' language, slots standing out, Jinja
    escapes resolved, with line numbers."""
    from textual.highlight import highlight

    cut = template if len(template) <= MAX_TEMPLATE_CHARS else template[:MAX_TEMPLATE_CHARS]
    parts = display_parts(cut)
    text = "".join(t for t, _k in parts)
    try:
        content = highlight(text, path=path) if path else Content(text)
    except Exception:
        content = Content(text)
    pos = 0
    for t, kind in parts:
        if kind == "slot":
            content = content.stylize(SLOT_STYLE, pos, pos + len(t))
        elif kind == "tag":
            content = content.stylize(TAG_STYLE, pos, pos + len(t))
        pos += len(t)
    lines = content.split("\n", allow_blank=True)
    if lines and not lines[-1].plain and text.endswith("\n"):
        lines = lines[:-1]
    width = len(str(len(lines)))
    out = []
    for i, line in enumerate(lines, 1):
        out.append(Content.assemble((f"{i:>{width}} ", "$text-muted"), line))
    if len(template) > MAX_TEMPLATE_CHARS:
        out.append(Content.styled(f"… {len(template) - MAX_TEMPLATE_CHARS} more characters", "$text-muted"))
    return Content("\n").join(out)


class FamilyScreen(Screen["tuple[str, str] | None"]):
    """A template family: template, values per file, outliers."""

    CSS_PATH = "family.tcss"
    members = getters.query_one("#family-members", DataTable)
    outliers = getters.query_one("#family-outliers", DataTable)

    BINDINGS = [
        Binding("a", "approve", "Approve family", id="family.approve"),
        Binding("enter,o", "open", "Open file", id="family.open", show=True),
        Binding("escape", "close", "Back", id="family.close"),
        Binding("j", "cursor_down", "Down", id="family.down", show=False),
        Binding("k", "cursor_up", "Up", id="family.up", show=False),
    ]

    def __init__(self, model, family_id: str, *, name: str | None = None, id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self.model = model
        self.family_id = family_id
        self.family = next((f for f in getattr(model, "families", []) if f.id == family_id), None)

    # ------------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        fam = self.family
        yield Static(self._title(), id="family-title")
        with Vertical(id="family-body"):
            with VerticalScroll(id="family-template-box") as box:
                box.border_title = "Template"
                if fam is None:
                    yield Static(f"No template family {self.family_id!r} in this plan's analysis.",
                                 id="family-template")
                else:
                    path = fam.members[0].path if fam.members else None
                    yield Static(template_content(fam.template, path), id="family-template")
            with Vertical(id="family-tables"):
                members: DataTable[str] = DataTable(id="family-members", cursor_type="row", zebra_stripes=True)
                members.border_title = "Values per file"
                yield members
                outliers: DataTable[str] = DataTable(id="family-outliers", cursor_type="row")
                outliers.border_title = "Outliers: near the template, but not of it"
                yield outliers
        yield Static("a approve the whole family  ·  enter open a file  ·  tab switch table  ·  "
                     "escape back", id="family-hint")
        yield Footer(show_command_palette=False)

    def _title(self) -> Content:
        fam = self.family
        if fam is None:
            return Content.styled(f"Template family {self.family_id}", "bold")
        parts: list = [("Template family ", "bold"), (fam.id, "bold $text-accent"), ("  ", "")]
        n = len(fam.members)
        parts.append((f"{n} file{'s' if n != 1 else ''} · {len(fam.slots)} slot"
                      f"{'s' if len(fam.slots) != 1 else ''}", ""))
        if fam.outliers:
            parts.append((f" · {len(fam.outliers)} outlier{'s' if len(fam.outliers) != 1 else ''}",
                          "$text-warning"))
        parts.append((" · declared by the plan" if fam.declared else " · detected by wopt", "$text-muted"))
        if fam.saved_as:
            parts.append((f"\nmatches saved template {fam.saved_as} (used {fam.saved_uses} "
                          f"time{'s' if fam.saved_uses != 1 else ''})", "$text-success"))
        return Content.assemble(*parts)

    def on_mount(self) -> None:
        fam = self.family
        members = self.members
        outliers = self.outliers
        if fam is None:
            members.display = outliers.display = False
            return
        decisions = self._decisions()
        members.add_column("", key="mark", width=1)
        members.add_column("file", key="path")
        for slot in fam.slots:
            members.add_column(slot, key=f"slot:{slot}")
        # values get the width the screen has (not a fixed cut), shared by the slot columns
        longest_path = max((len(m.path) for m in fam.members), default=4)
        free = self.app.size.width - longest_path - 8 - 2 * len(fam.slots)
        width = max(MAX_CELL, free // max(1, len(fam.slots)))
        for m in fam.members:
            mark = decisions.get(m.step, " ")
            members.add_row(mark, m.path, *[_cell(m.values.get(s, ""), width) for s in fam.slots], key=m.step)
        if fam.outliers:
            outliers.add_column("file", key="path")
            outliers.add_column("step", key="step")
            outliers.add_column("what differs", key="differs")
            for o in sorted(fam.outliers, key=lambda o: natural_key(o.path)):
                outliers.add_row(o.path, o.step, o.differs, key=o.step)
        else:
            outliers.display = False
        members.focus()

    def _decisions(self) -> dict[str, Content]:
        """A mark per member step from the model's engine status (stale / invalid)."""
        marks: dict[str, Content] = {}
        steps = getattr(self.model, "steps", {}) or {}
        for m in (self.family.members if self.family else []):
            info = steps.get(m.step)
            status = getattr(info, "status", "ok") if info is not None else "ok"
            if status == "stale":
                marks[m.step] = Content.styled("!", "bold $text-warning")
            elif status == "invalid":
                marks[m.step] = Content.styled("✗", "bold $text-error")
        return marks

    # ------------------------------------------------------------------ actions
    def _table(self) -> DataTable:
        focused = self.focused
        if isinstance(focused, DataTable):
            return focused
        return self.members

    def _selected_step(self) -> str | None:
        return cursor_row_key(self._table())

    def action_approve(self) -> None:
        if self.family is not None:
            self.dismiss(("approve", self.family.id))

    def action_open(self) -> None:
        step = self._selected_step()
        if step is not None:
            self.dismiss(("open", step))

    def action_close(self) -> None:
        self.dismiss(None)

    def action_cursor_down(self) -> None:
        self._table().action_cursor_down()

    def action_cursor_up(self) -> None:
        self._table().action_cursor_up()

    @on(DataTable.RowSelected)
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key is not None and event.row_key.value is not None:
            self.dismiss(("open", event.row_key.value))
