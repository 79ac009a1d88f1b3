"""Recovery: at the start of every wopt command, finish what an interrupted transaction left,
and say so.

- a `.wopt/journal/<tx>.pending` manifest (an apply or undo that never reached its commit
  point) is rolled back, path by path, but only where the path still holds exactly what the
  transaction wrote (its after-hash, or what an interrupted write of it leaves). A path a
  person changed since (a file created where the plan would create one, a new version saved
  over a replaced one) is left as it is: its original stays in the journal and is copied to
  `.wopt/recovered/<tx>/`, and recovery stops with the paths that need a decision (exit 1)
  until `wopt recover --resolve <tx>`;
- a manifest that does not decode, or names anything a plan could not (`..`, `.wopt/`,
  `.git/`, a foreign temporary or backup), is never acted on and never deletes a backup: it is
  reported, with what its readable part shows;
- a `<tx>.pending.tmp` is a manifest that never became a journal: nothing in the workspace
  changed, and it is dropped;
- a `<tx>.finishing` manifest is an undo past its commit point whose bookkeeping (the undone
  mark, the removal of the undone apply's new directories, the history record) is completed.

`needs_recovery` is one listdir of `.wopt/journal` (it runs before every command, the hook's
included). `recover` takes the workspace lock first: a pending manifest whose owner still holds
the lock belongs to a live apply and is left alone (flock dies with its process, so a lock that
can be taken means its owner is gone). Every operation goes through fsio's verified directory
handles; rolling back looks only at the disk, so recovery is idempotent and may itself be
interrupted and run again.
"""
from __future__ import annotations

import os

from ..store import fsio
from . import transaction as txn
from ..model.errors import LockBusy, NotFound, WoptError
from ..store.workspace import Workspace

MANIFEST_TMP = txn.PENDING + ".tmp"


class NeedsDecision(WoptError):
    """Recovery left paths (or a damaged journal) for a person to decide about."""


def _scan(names: list[str]) -> tuple[list[str], list[str], list[str], list[str], list[str]]:
    """(pending, finishing, unborn tx ids, other stray temporaries, stray backup dirs)."""
    pending, finishing, unborn, stray, dirs = [], [], [], [], []
    known = set()
    for n in names:
        for state in txn.STATES:
            if n.endswith(state):
                tx = n[: -len(state)]
                known.add(tx)
                if state == txn.PENDING:
                    pending.append(tx)
                elif state == txn.FINISHING:
                    finishing.append(tx)
    for n in names:
        if n.endswith(MANIFEST_TMP):
            unborn.append(n[: -len(MANIFEST_TMP)])
        elif n.endswith(".tmp"):
            stray.append(n)
        elif "." not in n and n not in known and txn.valid_tx(n):
            dirs.append(n)
    return sorted(pending), sorted(finishing), sorted(unborn), stray, dirs


def needs_recovery(ws: Workspace) -> bool:
    """True when an unfinished transaction (or its leftovers) is in the journal. One listdir."""
    try:
        names = os.listdir(ws.spool / "journal")
    except (FileNotFoundError, NotADirectoryError):
        return False
    if not names:
        return False
    if os.path.islink(ws.spool) or os.path.islink(ws.spool / "journal"):
        return True  # reported by recover: wopt does not follow it
    p, f, u, s, d = _scan(names)
    return bool(p or f or u or s or d)


def recover(ws: Workspace, *, lock_timeout: float = 0.0, locked: bool = False) -> list[str]:
    """Roll back every unfinished transaction, complete every finishing undo. Returns human
    lines (workspace-relative paths). Raises NeedsDecision (after doing all it safely can)
    when a path or a damaged journal needs a person. Without `locked`, takes the workspace
    lock; if a live wopt holds it (after `lock_timeout` seconds), returns [] when
    `lock_timeout` is 0 (that apply is not unfinished: it is running) and raises LockBusy
    otherwise."""
    if locked:
        return _recover(ws)
    from ..store.lock import file_lock
    try:
        with file_lock(ws.spool / "lock", timeout=lock_timeout, what="wopt recover"):
            return _recover(ws)
    except LockBusy:
        if lock_timeout <= 0:
            return []
        raise


def resolve(ws: Workspace, tx: str, *, lock_timeout: float = 10.0) -> str:
    """A person decided about the paths of interrupted transaction `tx`: drop its journal."""
    from ..store.lock import file_lock
    with file_lock(ws.spool / "lock", timeout=lock_timeout, what="wopt recover --resolve"):
        pending = [t for t, s in txn.list_transactions(ws) if s == txn.PENDING]
        if tx not in pending:
            matches = [t for t in pending if t.startswith(tx)]
            if len(matches) != 1:
                raise NotFound(f"no interrupted transaction {tx!r} waits for a decision"
                               + (f" (it could be {', '.join(matches[:5])})" if matches else ""),
                               hint="`wopt recover` lists them")
            tx = matches[0]
        with fsio.in_phase("recover"):
            txn.resolve(ws, tx)
    return (f"resolved transaction {tx}: dropped its journal; the files stay as they are"
            f" (originals kept in .wopt/recovered/{tx}/ if any: delete it when done)")


def _recover(ws: Workspace) -> list[str]:
    lines: list[str] = []
    problems: list[txn.Rollback] = []
    with txn.tree(ws) as t:
        try:
            names = t.listdir(txn.JOURNAL)
        except FileNotFoundError:
            return lines
        except fsio.Replaced as e:
            raise NeedsDecision(f"{e.filename}: {e.strerror}",
                                hint="wopt keeps its journal in a real directory: move the symlink "
                                "away and run `wopt recover`") from None
        pending, finishing, unborn, stray, dirs = _scan(names)
        if not (pending or finishing or unborn or stray or dirs):
            return lines
        with fsio.in_phase("recover"):
            for tx in unborn:
                fsio.unlink(t, f"{txn.JOURNAL}/{tx}{MANIFEST_TMP}")
                lines.append(f"recovered: dropped transaction {tx}, interrupted before it changed any file")
            for name in stray:
                fsio.unlink(t, f"{txn.JOURNAL}/{name}")
            for tx in pending:
                res = txn.rollback(ws, tx, t)
                if not res.ok:
                    problems.append(res)
                    continue
                m = res.manifest
                if m is None:
                    continue
                what = "undo" if m.kind == "undo" else "apply"
                plan = f" of plan {m.plan}" if m.plan else ""
                n = len(m.entries)
                restored = res.restored
                if restored:
                    shown = ", ".join(restored[:10]) + (f" and {len(restored) - 10} more" if len(restored) > 10 else "")
                    lines.append(f"recovered: rolled back the unfinished {what} {tx}{plan} "
                                 f"({n} file(s)); restored {shown}")
                else:
                    lines.append(f"recovered: rolled back the unfinished {what} {tx}{plan} "
                                 f"({n} file(s)); no file had changed yet")
                _record(ws, t, m)
            for tx in finishing:
                undone = txn.finish_undo(ws, tx, t=t)
                lines.append(f"recovered: completed the records of undo {tx}"
                             + (f" (transaction {undone} is marked undone)" if undone else ""))
            for d in dirs:
                txn._drop(t, d)
            if unborn or stray or dirs:
                fsio.fsync_dir(t, txn.JOURNAL)
    if problems:
        body = "; ".join(p.summary() for p in problems)
        done = (" (" + "; ".join(lines) + ")") if lines else ""
        hint = " and ".join(p.hint() for p in problems)
        raise NeedsDecision(f"recovery stopped: {body}{done}", hint=hint)
    return lines


def _record(ws: Workspace, t: fsio.Tree, m: txn.Manifest) -> None:
    from ..store.history import append
    from ..store.history_record import HistoryRecord
    try:
        append(ws, HistoryRecord(tx=m.tx, plan=m.plan, kind=m.kind, mode=m.mode, outcome="rolled_back",
                                 started=m.started, files=len(m.entries), ops={},
                                 error="interrupted; rolled back by recovery", steps=m.steps,
                                 paths=[e.path for e in m.entries]), t=t)
    except OSError:
        pass  # the history is a record; the rollback itself is done and durable
