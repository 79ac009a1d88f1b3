"""`.wopt/history.jsonl`: one JSON line per transaction (applied, undone, rolled back, refused).

Shape of a record (read by `wopt history`, `wopt stats` and the TUI's history screen):

    {"tx", "plan", "kind": "apply"|"undo", "mode", "outcome": "committed"|"rolled_back"|"refused",
     "started", "files", "ops": {"create","replace","delete","chmod","move"}, "bytes",
     "durations": {phase: seconds}, "fsyncs", "error"?, "steps": [ids], "paths": [rel paths],
     "optimization_rate"?, "undone_by"?, "undoes"?}

A record is written from a `HistoryRecord` (history_record.py: reading the history needs no
msgspec). The file is append-only; `undone_by` is filled in by `read_history` from the undo records
(an undo record names the transaction it undoes in `undoes`). It is written through fsio (its
operations counted, cut by fault injection), opened without following any symlink.
"""
from __future__ import annotations

import json
TYPE_CHECKING = False   # typing is imported only by the type checker (see model/errors.py)

from . import fsio
from ..model.errors import WoptError
from ..model.jsonl import iter_objects
from .workspace import Workspace

if TYPE_CHECKING:
    from typing import Any

    from .history_record import HistoryRecord

HISTORY = ".wopt/history.jsonl"


def history_file(ws: Workspace):
    return ws.spool / "history.jsonl"


def append(ws: Workspace, record: HistoryRecord | dict[str, Any], *, sync: bool = False,
           t: fsio.Tree | None = None) -> None:
    """Append one record (one line, one write, so concurrent readers never see half of it);
    fsync'd with `sync` (an undo's record, part of its bookkeeping)."""
    if not isinstance(record, dict):
        record = record.to_json()
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


_STR = (str,)
_OPT_STR = (str, type(None))
_NUM = (int, float, type(None))
_SHAPE = {"tx": _OPT_STR, "plan": _OPT_STR, "kind": _OPT_STR, "mode": _OPT_STR, "outcome": _OPT_STR,
          "started": _OPT_STR, "error": _OPT_STR, "undoes": _OPT_STR, "undone_by": _OPT_STR,
          "files": _NUM, "bytes": _NUM, "fsyncs": _NUM, "optimization_rate": _NUM,
          "ops": (dict, type(None)), "durations": (dict, type(None)),
          "steps": (list, type(None)), "paths": (list, type(None))}
_NAMES = {_OPT_STR: "a string", _NUM: "a number", (dict, type(None)): "an object",
          (list, type(None)): "a list"}


def record_problem(rec: dict) -> str | None:
    """Why a history record does not have the shape wopt writes, or None."""
    for k, types in _SHAPE.items():
        v = rec.get(k)
        if not isinstance(v, types) or isinstance(v, bool):
            return f"{k!r} is {type(v).__name__}, not {_NAMES[types]}"
    for k in ("ops", "durations"):
        if any(not isinstance(x, (int, float)) or isinstance(x, bool) for x in (rec.get(k) or {}).values()):
            return f"{k!r} holds a value that is not a number"
    return None


def read_history(ws: Workspace, problems: list[str] | None = None) -> list[dict]:
    """Every record, oldest first; a torn last line (a crash mid-append) is skipped. A record
    of the wrong shape (a hand edit, another tool) is left out, and with `problems` each one
    is described there (`.wopt/history.jsonl line N: ...`)."""
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
    out = []
    for n, raw in enumerate(data.splitlines(), 1):
        if not raw.strip():
            continue
        [(_, rec)] = list(iter_objects(raw)) or [(raw, None)]
        if rec is None:   # a torn line (a crash mid-append): nothing to show
            continue
        if not isinstance(rec, dict):
            why = f"a {type(rec).__name__}, not a record"
        else:
            why = record_problem(rec)
        if why:
            if problems is not None:
                problems.append(f".wopt/history.jsonl line {n}: {why}; left out")
            continue
        out.append(rec)
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
