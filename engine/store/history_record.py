"""One transaction's record in `.wopt/history.jsonl`, as the transaction layer writes it (the
shape is described in history.py, which reads the records as plain dicts: `wopt history` and
the queue load no msgspec)."""
from __future__ import annotations

from typing import Any

import msgspec


def _no_ops() -> dict[str, int]:
    return {"create": 0, "replace": 0, "delete": 0, "chmod": 0, "move": 0}


class HistoryRecord(msgspec.Struct, kw_only=True):
    """One transaction as `history.append` writes it (the shape in history.py). `read_history` returns the
    records as dicts of this shape, with `undone_by` filled in."""

    tx: str
    plan: str | None
    kind: str                     # apply | undo
    mode: str | None
    outcome: str                  # committed | rolled_back | refused
    started: str | None
    files: int = 0
    ops: dict[str, int] = msgspec.field(default_factory=_no_ops)
    bytes: int = 0
    durations: dict[str, float] = msgspec.field(default_factory=dict)
    fsyncs: int = 0
    steps: list[str] = msgspec.field(default_factory=list)
    paths: list[str] = msgspec.field(default_factory=list)
    error: str | None = None
    undoes: str | None = None
    optimization_rate: float | None = None

    def to_json(self) -> dict[str, Any]:
        """The record as written: the optional fields only when set."""
        d: dict[str, Any] = {"tx": self.tx, "plan": self.plan, "kind": self.kind, "mode": self.mode,
                             "outcome": self.outcome, "started": self.started, "files": self.files,
                             "ops": self.ops, "bytes": self.bytes, "durations": self.durations,
                             "fsyncs": self.fsyncs, "steps": self.steps, "paths": self.paths}
        if self.error:
            d["error"] = self.error
        if self.undoes:
            d["undoes"] = self.undoes
        if self.optimization_rate is not None:
            d["optimization_rate"] = self.optimization_rate
        return d
