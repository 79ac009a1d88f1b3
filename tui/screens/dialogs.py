"""Small modal dialogs the review asks through: a one-key question (ConfirmScreen) and why a
step is rejected (ReasonScreen)."""
from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static


class ConfirmScreen(ModalScreen[str | None]):
    """A question with a few one-key answers: dismisses with the answer's key, or None."""

    CSS_PATH = "dialogs.tcss"
    BINDINGS = [Binding("escape", "answer(None)", "Cancel")]

    def __init__(self, question: str, answers: list[tuple[str, str]]) -> None:
        super().__init__()
        self.question = question
        self.answers = answers
        for key, _ in answers:
            self._bindings.bind(key, f"answer('{key}')", show=False)

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box"):
            yield Static(self.question, id="confirm-question")
            t = Text()
            for k, label in self.answers + [("esc", "cancel")]:
                t.append(f"{k:>3}", style="bold")
                t.append(f"  {label}\n")
            yield Static(t, id="confirm-answers")

    def action_answer(self, key: str | None) -> None:
        self.dismiss(key)


class ReasonScreen(ModalScreen[str | None]):
    """Why a step is rejected: saved with the decision, and told to the agent (a gate-mode
    hook call answers with it)."""

    CSS_PATH = "dialogs.tcss"
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box"):
            yield Static(f"Reject {self.path}: why? (the agent is told)", id="confirm-question")
            yield Input(placeholder="e.g. needs a test first", id="reason")
            yield Static(Text("enter rejects · esc cancels", style="dim"))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        self.dismiss(None)
