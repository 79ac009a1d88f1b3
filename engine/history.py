"""`.wopt/history.jsonl`: one JSON line per transaction (applied, undone, rolled back, refused).

Shape of a record (read by `wopt history`, `wopt stats` and the TUI's history screen):

    {"tx", "plan", "kind": "apply"|"undo", "mode", "outcome": "committed"|"rolled_back"|"refused",
     "started", "files", "ops": {"create","replace","delete","chmod","move"}, "bytes",
     "durations": {phase: seconds}, "fsyncs", "error"?, "steps": [ids], "paths": [rel paths],
     "optimization_rate"?, "undone_by"?, "undoes"?}

The file is append-only; `undone_by` is filled in by `read_history` from the undo records
(an undo record names the transaction it undoes in `undoes`). It is written through fsio (its
operations counted, cut by fault injection), opened without following any symlink.
"""
from __future__ import annotations

import json

from . import fsio
from .errors import WoptError
from .jsonl import iter_objects
from .workspace import Workspace

HISTORY = ".wopt/history.jsonl"


def history_file(ws: Workspace):
    return ws.spool / "history.jsonl"


def append(ws: Workspace, record: dict, *, sync: bool = False, t: fsio.Tree | None = None) -> None:
    """Append one record (one line, one write, so concurrent readers never see half of it);
    fsync'd with `sync` (an undo's record, part of its bookkeeping)."""
    line = (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
    own = t is None
    t = t or fsio.Tree(ws.root)
    try:
        fsio.makedirs(t, ".wopt")
        fd = fsio.open_append(t, HISTORY)
        try:
            fsio.write(fd, line, HISTORY)
            if sync:
                fsio.fsync(fd, HISTORY)
        finally:
            fsio.close(fd)
    finally:
        if own:
            t.close()


def read_history(ws: Workspace) -> list[dict]:
    """Every record, oldest first; a torn last line (a crash mid-append) is skipped."""
    try:
        with fsio.Tree(ws.root) as t:
            data, _ = t.read(HISTORY)
    except FileNotFoundError:
        return []
    except fsio.Replaced as e:
        raise WoptError(f"{e.filename}: {e.strerror}",
                        hint="wopt reads its history only from a regular file: move that away") from None
    if data is None:
        return []
    out = [rec for _, rec in iter_objects(data) if isinstance(rec, dict)]
    by_tx = {r["tx"]: r for r in out if r.get("outcome") == "committed" and isinstance(r.get("tx"), str)}
    for r in out:
        if r.get("kind") == "undo" and r.get("outcome") == "committed" \
                and isinstance(r.get("undoes"), str) and r["undoes"] in by_tx:
            target = by_tx[r["undoes"]]
            if target.get("undone_by") is None or target.get("undone_by") == r.get("tx"):
                target["undone_by"] = r["tx"]
    # a later undo of the undo (a redo) means the original stands again
    for r in out:
        ub = r.get("undone_by")
        if isinstance(ub, str) and by_tx.get(ub, {}).get("undone_by"):
            r.pop("undone_by", None)
    return out
