"""A person's decisions on one plan: saved in `.wopt/reviews/`, resumable, replayable."""
from __future__ import annotations

from msgspec import Struct, field

PENDING, APPROVED, REJECTED = "pending", "approved", "rejected"
DECISIONS = (PENDING, APPROVED, REJECTED)


class Review(Struct, omit_defaults=True, kw_only=True):
    plan_id: str
    decisions: dict[str, str] = field(default_factory=dict)   # step id -> approved|rejected
    reasons: dict[str, str] = field(default_factory=dict)     # step id -> why rejected
    edited: dict[str, str] = field(default_factory=dict)      # step id -> edited full content (text)
    hunks: dict[str, list[int]] = field(default_factory=dict) # step id -> accepted hunk indices
    # step id -> precondition of the file its edited content was rebased onto (a stale step the
    # person merged onto the current file); it counts only together with that step's `edited`
    rebased: dict[str, str] = field(default_factory=dict)
    # step id -> edited full content that is not UTF-8 (a rebase of such a file keeps its bytes);
    # `edited` holds the rest, as text
    edited_raw: dict[str, bytes] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)            # a person's order of step ids
    applied: list[str] = field(default_factory=list)          # transaction ids applied from this plan
    updated: str | None = None

    def decision(self, step_id: str) -> str:
        return self.decisions.get(step_id, PENDING)

    def set(self, step_id: str, decision: str, reason: str | None = None) -> None:
        if decision == PENDING:
            self.decisions.pop(step_id, None)
            self.reasons.pop(step_id, None)
            return
        self.decisions[step_id] = decision
        if reason:
            self.reasons[step_id] = reason
        else:
            self.reasons.pop(step_id, None)

    def edited_contents(self) -> dict[str, bytes]:
        """Every edited step's content as bytes (text edits and byte-exact ones)."""
        out = {k: v.encode("utf-8", "surrogateescape") for k, v in self.edited.items()}
        out.update(self.edited_raw)
        return out

    def approved(self, step_ids: list[str]) -> list[str]:
        return [s for s in step_ids if self.decisions.get(s) == APPROVED]
