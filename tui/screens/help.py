"""`?`: every key binding in effect (with its id, for remapping in the config) and what the
marks in the step list mean."""
from __future__ import annotations

import textwrap

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from .. import keymap

MARKS = [
    ("·", "pending: not decided yet"), ("✓", "approved: will be applied"),
    ("✗", "rejected: will not be applied"), ("✎", "edited by you"),
    ("½", "some hunks or lines turned off"), ("∅", "every hunk turned off: writes nothing"), ("!", "stale: the file changed since the agent read it"),
    ("⚠", "invalid: cannot apply or fails validation"),
    ("≡", "member of a template family (enter opens the family)"),
    ("≈", "an outlier: close to a family's template but not the same"),
    ("⊘", "imports a module only a step you rejected creates, or one no file provides after "
          "the apply"),
    ("▸", "a folded batch (z unfolds it), its decisions counted"),
]

FLOW = ("Review a plan: move with j/k, read the diff (n jumps to the next change), decide with "
        "a (approve) or r (reject), A/R for the whole batch. space turns the hunk under the "
        "cursor off or on. u undoes. x applies the approved steps as one transaction. "
        "Decisions are saved as you go.")


class KeyTable:
    """The keys table, laid out by hand: three columns (keys, what they do, the id), the middle
    one wrapped with a hanging indent. A rich Table measures and renders itself many times per
    frame; this renders in one pass, so `?` opens at once."""

    def __init__(self, rows: list[tuple[str, str, str] | str]) -> None:
        self.rows = rows   # (keys, description, id), or a section name

    def _widths(self) -> tuple[int, int]:
        cells = [r for r in self.rows if not isinstance(r, str)]
        return (max((cell_len(r[0]) for r in cells), default=0),
                max((cell_len(r[2]) for r in cells), default=0))

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        kw, iw = self._widths()
        dw = max((cell_len(r[1]) for r in self.rows if not isinstance(r, str)), default=0)
        return Measurement(min(options.max_width, kw + iw + 24), min(options.max_width, kw + dw + iw + 4))

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        kw, iw = self._widths()
        dw = width - kw - iw - 4
        if dw < 16:            # too narrow for the ids: leave them out
            iw, dw = 0, max(8, width - kw - 2)
        bold, under, dim = Style(bold=True), Style(bold=True, underline=True), Style(dim=True)
        for r in self.rows:
            if isinstance(r, str):
                yield Segment.line()
                yield Segment(r, under)
                yield Segment.line()
                continue
            keys, what, bid = r
            parts = textwrap.wrap(what, dw) or [""]
            for i, part in enumerate(parts):
                yield Segment(f"{keys if i == 0 else '':<{kw}}  ", bold)
                yield Segment(part + " " * (dw - cell_len(part)) if iw else part)
                if iw and i == 0:
                    yield Segment("  ")
                    yield Segment(bid, dim)
                yield Segment.line()


def help_text(user_keys: dict[str, str]) -> KeyTable:
    rows: list[tuple[str, str, str] | str] = []
    group = None
    for k, keys in keymap.effective(user_keys):
        if k.group != group:
            group = k.group
            rows.append(group)
        rows.append((keymap.display_key(keys), k.description, k.id))
    rows.append("Marks")
    rows += [(m, what, "") for m, what in MARKS]
    return KeyTable(rows)


class HelpScreen(ModalScreen[None]):
    CSS_PATH = "help.tcss"
    BINDINGS = [Binding("escape,question_mark,q", "dismiss_help", "Close", id="help.close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Static(Text("wopt-tui: keys", style="bold"), id="help-title")
            yield Static(FLOW, id="help-flow")
            yield Static(help_text(getattr(self.app, "user_keys", {})), id="help-keys")
            yield Static(Text("Remap a key in ~/.config/wopt/config.toml, e.g. [keys] "
                              "\"review.approve\" = \"y\". esc closes.", style="dim"))

    def action_dismiss_help(self) -> None:
        self.dismiss(None)
