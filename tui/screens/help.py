"""`?`: every key binding in effect (with its id, for remapping in the config) and what the
marks in the step list mean."""
from __future__ import annotations

from rich.table import Table
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
    ("½", "some hunks turned off"), ("∅", "every hunk turned off: writes nothing"), ("!", "stale: the file changed since the agent read it"),
    ("⚠", "invalid: cannot apply or fails validation"),
    ("≡", "member of a template family (enter opens the family)"),
    ("≈", "an outlier: close to a family's template but not the same"),
]

FLOW = ("Review a plan: move with j/k, read the diff (n jumps to the next change), decide with "
        "a (approve) or r (reject), A/R for the whole batch. space turns the hunk under the "
        "cursor off or on. u undoes. x applies the approved steps as one transaction. "
        "Decisions are saved as you go.")


def help_text(user_keys: dict[str, str]) -> Table:
    t = Table.grid(padding=(0, 2))
    t.add_column(style="bold", no_wrap=True)
    t.add_column()
    t.add_column(style="dim", no_wrap=True)
    group = None
    for k, keys in keymap.effective(user_keys):
        if k.group != group:
            group = k.group
            t.add_row(Text(f"\n{group}", style="bold underline"), "", "")
        t.add_row(keymap.display_key(keys), k.description, k.id)
    t.add_row(Text("\nMarks", style="bold underline"), "", "")
    for m, what in MARKS:
        t.add_row(m, what, "")
    return t


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
