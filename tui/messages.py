"""The review app's own messages (one place, as Harlequin keeps them)."""
from __future__ import annotations

from textual.message import Message


class PlansUpdated(Message):
    """The queue's poll found the plans in `.wopt/plans/` (a thread worker posts it; a backlog
    collapses to the latest)."""

    def __init__(self, rows: list, errors: dict[str, str], waiting: set[str]) -> None:
        super().__init__()
        self.rows = rows
        self.errors = errors
        self.waiting = waiting

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, PlansUpdated)


class ReviewChanged(Message):
    """A decision on a plan was saved: the queue updates its progress column."""

    def __init__(self, plan_id: str) -> None:
        super().__init__()
        self.plan_id = plan_id


class OpenPlan(Message):
    """Open the review of one plan."""

    def __init__(self, plan_id: str) -> None:
        super().__init__()
        self.plan_id = plan_id
