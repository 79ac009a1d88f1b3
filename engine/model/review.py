"""A person's decisions on one plan: saved in `.wopt/reviews/`, resumable, replayable."""
from __future__ import annotations

from typing import Iterable, Mapping

from msgspec import Struct, field

PENDING, APPROVED, REJECTED = "pending", "approved", "rejected"
DECISIONS = (PENDING, APPROVED, REJECTED)


class Review(Struct, omit_defaults=True, kw_only=True):
    plan_id: str
    decisions: dict[str, str] = field(default_factory=dict)   # step id -> approved|rejected
    reasons: dict[str, str] = field(default_factory=dict)     # step id -> why rejected
    edited: dict[str, str] = field(default_factory=dict)      # step id -> edited full content (text)
    hunks: dict[str, list[int]] = field(default_factory=dict) # step id -> accepted hunk indices
    # step id -> hunk index -> indices (in that hunk's lines, context included) of the added
    # and removed lines turned off: a partial hunk. Only read for steps listed in `hunks`.
    lines_off: dict[str, dict[int, list[int]]] = field(default_factory=dict)
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
        ReviewPatch.decisions({step_id: decision}, {step_id: reason} if reason else None).apply(self)

    def edited_contents(self) -> dict[str, bytes]:
        """Every edited step's content as bytes (text edits and byte-exact ones)."""
        out = {k: v.encode("utf-8", "surrogateescape") for k, v in self.edited.items()}
        out.update(self.edited_raw)
        return out

    def approved(self, step_ids: list[str]) -> list[str]:
        return [s for s in step_ids if self.decisions.get(s) == APPROVED]

    def picks(self, step_ids: Iterable[str] | None = None) -> dict[str, "HunkPick"]:
        """The hunk selection of each step that has one (all steps, or `step_ids`): the
        accepted hunk indices, carrying the lines turned off inside them."""
        keep = None if step_ids is None else set(step_ids)
        return {sid: HunkPick(acc, self.lines_off.get(sid))
                for sid, acc in self.hunks.items() if keep is None or sid in keep}

    def set_lines_off(self, step_id: str, hunk: int, off: Iterable[int], every: Iterable[int]) -> None:
        """Turn off exactly the lines `off` of hunk `hunk` of step `step_id` (`every`: all
        the step's hunk indices, so a step with no selection yet keeps every hunk on)."""
        off = sorted(set(off))
        per = self.lines_off.setdefault(step_id, {})
        if off:
            per[hunk] = off
            self.hunks.setdefault(step_id, sorted(every))
        else:
            per.pop(hunk, None)
        if not per:
            self.lines_off.pop(step_id, None)
            if self.hunks.get(step_id) == sorted(every):
                self.hunks.pop(step_id, None)

    def forget_selection(self, step_id: str) -> None:
        """Drop a step's hunk and line selection (its content was edited)."""
        self.hunks.pop(step_id, None)
        self.lines_off.pop(step_id, None)


class HunkPick(list):
    """Accepted hunk indices of one step's diff (a list of int, as `hunks` takes them), with
    `lines_off`: per accepted hunk, the indices of its changed lines left as they were."""

    def __init__(self, accepted: Iterable[int], lines_off: Mapping[int, Iterable[int]] | None = None) -> None:
        super().__init__(accepted)
        self.lines_off: dict[int, list[int]] = {int(h): sorted(v) for h, v in (lines_off or {}).items()}


FIELDS = ("decisions", "reasons", "hunks", "edited", "lines_off", "rebased", "edited_raw")   # a step's fields in a review


def _copy(v: object) -> object:
    """A value of a step's field, copied so a patch never shares a list with a review."""
    if isinstance(v, list):
        return list(v)
    if isinstance(v, dict):   # lines_off: hunk -> line indices
        return {k: list(x) for k, x in v.items()}
    return v


class ReviewPatch(Struct, kw_only=True):
    """A change to a review, as data: for each step, the new value of some of its fields
    (None: the field is removed), and optionally a new order. `apply` makes the change and
    returns its inverse, so undo is applying what `apply` returned; `decide.update` applies a
    patch to the saved review as one locked read-modify-write."""
    steps: dict[str, dict[str, object]] = field(default_factory=dict)
    order: list[str] | None = None

    @classmethod
    def decisions(cls, decisions: dict[str, str], reasons: dict[str, str] | None = None) -> ReviewPatch:
        """Set decisions as `Review.set` does: a reason is kept only with a decision."""
        steps: dict[str, dict[str, object]] = {}
        for sid, d in decisions.items():
            why = (reasons or {}).get(sid)
            steps[sid] = ({"decisions": None, "reasons": None} if d == PENDING
                          else {"decisions": d, "reasons": why or None})
        return cls(steps=steps)

    @classmethod
    def snapshot(cls, review: Review, step_ids: list[str] | tuple[str, ...] = (), *,
                 order: bool = False) -> ReviewPatch:
        """What puts every field of these steps (and the order) back as they are in `review`."""
        steps = {sid: {f: _copy(getattr(review, f).get(sid)) for f in FIELDS} for sid in step_ids}
        return cls(steps=steps, order=list(review.order) if order else None)

    def apply(self, review: Review) -> ReviewPatch:
        """Change `review` in place; returns the patch that undoes the change."""
        for fields in self.steps.values():
            for f in fields:
                if f not in FIELDS:
                    raise ValueError(f"a review has no step field {f!r}")
        undo = ReviewPatch(steps={sid: {f: _copy(getattr(review, f).get(sid)) for f in fields}
                                  for sid, fields in self.steps.items()},
                           order=list(review.order) if self.order is not None else None)
        for sid, fields in self.steps.items():
            for f, value in fields.items():
                if value is None:
                    getattr(review, f).pop(sid, None)
                else:
                    getattr(review, f)[sid] = _copy(value)
        if self.order is not None:
            review.order = list(self.order)
        return undo

    @property
    def step_ids(self) -> list[str]:
        return list(self.steps)
