"""Figures over the transaction history (`.wopt/history.jsonl`): what `wopt stats` prints and
the review app draws as sparklines."""
from __future__ import annotations

from statistics import median
from typing import Iterable


def _num(x) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        return 0.0


def apply_seconds(rec: dict) -> float:
    """A transaction's time: the sum of its phase durations."""
    d = rec.get("durations")
    if isinstance(d, dict):
        return sum(_num(v) for v in d.values())
    return 0.0


def stats(history_records: Iterable[dict]) -> dict:
    """Totals and per-transaction series.

    Totals: transactions (every record), applies and undos committed, rollbacks, refusals,
    files and bytes written by committed transactions, median apply time (seconds, committed
    applies), mean optimization rate where recorded. Series (one entry per transaction, oldest
    first): apply seconds, files per second, rollbacks (1 where the transaction rolled back)."""
    recs = [r for r in history_records if isinstance(r, dict)]
    committed = [r for r in recs if r.get("outcome") == "committed"]
    applies = [r for r in committed if r.get("kind", "apply") == "apply"]
    undos = [r for r in committed if r.get("kind") == "undo"]
    rollbacks = sum(1 for r in recs if r.get("outcome") == "rolled_back")
    refused = sum(1 for r in recs if r.get("outcome") == "refused")
    times = [apply_seconds(r) for r in applies]
    rates = [_num(r["optimization_rate"]) for r in recs if r.get("optimization_rate") is not None]
    series_secs: list[float] = []
    series_fps: list[float] = []
    series_rb: list[int] = []
    series_tx: list[str] = []
    for r in recs:
        secs = apply_seconds(r)
        files = int(_num(r.get("files")))
        series_tx.append(str(r.get("tx", "")))
        series_secs.append(round(secs, 6))
        series_fps.append(round(files / secs, 3) if secs > 0 and r.get("outcome") == "committed" else 0.0)
        series_rb.append(1 if r.get("outcome") == "rolled_back" else 0)
    plans = {r.get("plan") for r in applies if isinstance(r.get("plan"), str) and r.get("plan")}
    return {
        "transactions": len(recs),
        "applies": len(applies),
        "undos": len(undos),
        "rollbacks": rollbacks,
        "refused": refused,
        "plans": len(plans),
        "files": int(sum(_num(r.get("files")) for r in applies)),
        "bytes": int(sum(_num(r.get("bytes")) for r in applies)),
        "fsyncs": int(sum(_num(r.get("fsyncs")) for r in committed)),
        "median_apply_seconds": round(median(times), 6) if times else None,
        "total_apply_seconds": round(sum(times), 6),
        "optimization_rate": round(sum(rates) / len(rates), 4) if rates else None,
        "series": {"tx": series_tx, "apply_seconds": series_secs, "files_per_second": series_fps,
                   "rollbacks": series_rb},
    }
