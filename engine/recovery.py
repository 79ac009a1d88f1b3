"""Recovery: at the start of every wopt command, roll back any transaction that never reached
finalize (a `.wopt/journal/<tx>.pending` manifest), and say so.

`needs_recovery` is one listdir of `.wopt/journal` (it runs before every command, the hook's
included). `recover` takes the workspace lock first: a pending manifest whose owner still holds
the lock belongs to a live apply and is left alone (flock dies with its process, so a lock that
can be taken means its owner is gone). Rolling back looks only at the disk, so recovery is
idempotent and may itself be interrupted and run again.
"""
from __future__ import annotations

import os

from . import fsio
from . import transaction as txn
from .errors import LockBusy
from .workspace import Workspace


def _scan(ws: Workspace) -> tuple[list[str], list[str], list[str]]:
    """(pending tx ids, stray temporaries, stray backup dirs) in the journal directory."""
    try:
        names = os.listdir(ws.spool / "journal")
    except (FileNotFoundError, NotADirectoryError):
        return [], [], []
    pending, stray, dirs = [], [], []
    known = set()
    for n in names:
        for state in (txn.PENDING, txn.COMMITTED, txn.UNDONE):
            if n.endswith(state):
                known.add(n[: -len(state)])
                if state == txn.PENDING:
                    pending.append(n[: -len(state)])
    for n in names:
        if n.endswith(".tmp"):
            stray.append(n)
        elif "." not in n and n not in known:
            dirs.append(n)
    pending.sort()
    return pending, stray, dirs


def needs_recovery(ws: Workspace) -> bool:
    """True when an unfinished transaction (or its leftovers) is in the journal. One listdir."""
    try:
        names = os.listdir(ws.spool / "journal")
    except (FileNotFoundError, NotADirectoryError):
        return False
    if not names:
        return False
    known = set()
    for n in names:
        if n.endswith(txn.PENDING) or n.endswith(".tmp"):
            return True
        for state in (txn.COMMITTED, txn.UNDONE):
            if n.endswith(state):
                known.add(n[: -len(state)])
    return any("." not in n and n not in known for n in names)


def recover(ws: Workspace, *, lock_timeout: float = 0.0, locked: bool = False) -> list[str]:
    """Roll back every unfinished transaction. Returns human lines (workspace-relative paths).
    Without `locked`, takes the workspace lock; if a live wopt holds it (after `lock_timeout`
    seconds), returns [] when `lock_timeout` is 0 (that apply is not unfinished: it is running)
    and raises LockBusy otherwise."""
    if locked:
        return _recover(ws)
    from .lock import file_lock
    try:
        with file_lock(ws.spool / "lock", timeout=lock_timeout, what="wopt recover"):
            return _recover(ws)
    except LockBusy:
        if lock_timeout <= 0:
            return []
        raise


def _recover(ws: Workspace) -> list[str]:
    pending, stray, dirs = _scan(ws)
    lines: list[str] = []
    if not (pending or stray or dirs):
        return lines
    with fsio.in_phase("recover"):
        jd = ws.spool / "journal"
        for name in stray:
            fsio.unlink(jd / name)
        for tx in pending:
            got = txn.read_manifest(txn.manifest_path(ws, tx))
            restored = txn.rollback(ws, tx)
            if got is None:
                lines.append(f"recovered: dropped transaction {tx}, interrupted before it changed "
                             "any file")
                continue
            m = got[0]
            what = "undo" if m.get("kind") == "undo" else "apply"
            plan = f" of plan {m['plan']}" if m.get("plan") else ""
            n = len(m["entries"])
            if restored:
                shown = ", ".join(restored[:10]) + (f" and {len(restored) - 10} more" if len(restored) > 10 else "")
                lines.append(f"recovered: rolled back the unfinished {what} {tx}{plan} "
                             f"({n} file(s)); restored {shown}")
            else:
                lines.append(f"recovered: rolled back the unfinished {what} {tx}{plan} "
                             f"({n} file(s)); no file had changed yet")
            _record(ws, m)
        for d in dirs:
            txn._drop(ws, d, jd / d)
        if stray or dirs:
            fsio.fsync_dir(jd)
    return lines


def _record(ws: Workspace, m: dict) -> None:
    try:
        from .history import append
        append(ws, {"tx": m["tx"], "plan": m.get("plan"), "kind": m.get("kind", "apply"),
                    "mode": m.get("mode"), "outcome": "rolled_back", "started": m.get("started"),
                    "files": len(m["entries"]), "ops": {}, "bytes": 0, "durations": {},
                    "fsyncs": 0, "error": "interrupted; rolled back by recovery",
                    "steps": m.get("steps", []), "paths": [e["path"] for e in m["entries"]]})
    except Exception:
        pass
