"""`.wopt/history.jsonl`: one JSON line per transaction (applied, undone, rolled back, refused).

Shape of a record (read by `wopt history`, `wopt stats` and the TUI's history screen):

    {"tx", "plan", "kind": "apply"|"undo", "mode", "outcome": "committed"|"rolled_back"|"refused",
     "started", "files", "ops": {"create","replace","delete","chmod","move"}, "bytes",
     "durations": {phase: seconds}, "fsyncs", "error"?, "steps": [ids], "paths": [rel paths],
     "optimization_rate"?, "undone_by"?, "undoes"?}

The file is append-only; `undone_by` is filled in by `read_history` from the undo records
(an undo record names the transaction it undoes in `undoes`).
"""
from __future__ import annotations

import json
import os

from .jsonl import iter_objects
from .workspace import Workspace


def history_file(ws: Workspace):
    return ws.spool / "history.jsonl"


def append(ws: Workspace, record: dict) -> None:
    """Append one record (one line, one write, so concurrent readers never see half of it)."""
    p = history_file(ws)
    p.parent.mkdir(parents=True, exist_ok=True)
    line = (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def read_history(ws: Workspace) -> list[dict]:
    """Every record, oldest first; a torn last line (a crash mid-append) is skipped."""
    try:
        data = history_file(ws).read_bytes()
    except FileNotFoundError:
        return []
    out = [rec for _, rec in iter_objects(data) if rec is not None]
    by_tx = {r.get("tx"): r for r in out if r.get("outcome") == "committed"}
    for r in out:
        if r.get("kind") == "undo" and r.get("outcome") == "committed" and r.get("undoes") in by_tx:
            target = by_tx[r["undoes"]]
            if target.get("undone_by") is None or target.get("undone_by") == r.get("tx"):
                target["undone_by"] = r["tx"]
    # a later undo of the undo (a redo) means the original stands again
    for r in out:
        ub = r.get("undone_by")
        if ub and by_tx.get(ub, {}).get("undone_by"):
            r.pop("undone_by", None)
    return out
