"""The atomic transaction: a list of net file changes committed all-or-nothing, crash-safe.

Two durable modes, both following DESIGN.md's commit protocol (SQLite's super-journal model):

`rename` (default): one new inode per written file.
  journal   the manifest `.wopt/journal/<tx>.pending` (every target, its backup, before/after
            hashes and modes, the directories to create) is written, fsync'd, and its
            directory fsync'd BEFORE anything in the workspace changes;
  prepare   new directories created; new contents written to temporary files in each target's
            own directory with their final mode; originals backed up by hard link into
            `.wopt/journal/<tx>/`; one sync pass makes all of it durable;
  commit    temporaries renamed over their targets in commit order, deletes, chmods;
  sync      one fsync per touched directory;
  finalize  `<tx>.pending` renamed to `<tx>.committed`: the one atomic commit point.

`journal`: files written in place (same inode: hard links, owner and inode identity kept).
  journal   one rollback journal file `.wopt/journal/<tx>.pending` holding the manifest and the
            original bytes of every file it will overwrite or delete, fsync'd (file + dir) first;
  commit    targets written in place, created, deleted, chmodded;
  sync      one sync pass (syncfs per filesystem on Linux, else fsync per file and directory);
  finalize  `<tx>.pending` renamed to `<tx>.committed`.

A failure at any point (an fsync error included: never retried) rolls back in-process; a
crash leaves `<tx>.pending`, which `rollback()` (run by recovery at the next start) undoes.
Rolling back only looks at the state on disk, so it is idempotent and may itself be
interrupted and run again. Committed journals keep the originals for undo.
"""
from __future__ import annotations

import hashlib
import json
import os
import secrets
import stat
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Sequence

from . import events as ev
from . import fsio
from .effects import Change
from .errors import ApplyError, PathError
from .events import Event
from .plan import ABSENT, is_symlink_mode, sha256
from .workspace import Workspace

MODES = ("rename", "journal")
MAGIC = b"WOPTJ1"
PENDING, COMMITTED, UNDONE = ".pending", ".committed", ".undone"


# ---------------------------------------------------------------------------- names

def new_tx_id() -> str:
    now = datetime.now(timezone.utc)
    return now.strftime("%Y%m%d-%H%M%S-") + f"{now.microsecond:06d}" + secrets.token_hex(1)


def journal_dir(ws: Workspace) -> Path:
    return ws.spool / "journal"


def manifest_path(ws: Workspace, tx: str, state: str = PENDING) -> Path:
    return journal_dir(ws) / f"{tx}{state}"


def backup_dir(ws: Workspace, tx: str) -> Path:
    return journal_dir(ws) / tx


class Refused(ApplyError):
    """The apply was refused before anything changed (a target cannot be written)."""


# ---------------------------------------------------------------------------- manifest file

def encode_manifest(manifest: dict, blobs: Sequence[bytes] = ()) -> bytes:
    """`WOPTJ1 <json length> <sha256 of json+blobs>\\n` + json + blobs. The checksum tells a
    torn (never synced) journal from a complete one."""
    body = json.dumps(manifest, separators=(",", ":")).encode()
    h = hashlib.sha256(body)
    for b in blobs:
        h.update(b)
    head = MAGIC + b" %d %s\n" % (len(body), h.hexdigest().encode())
    return head + body + b"".join(blobs)


def decode_manifest(data: bytes) -> tuple[dict, bytes] | None:
    """(manifest, blob area) or None if the file is torn or not a wopt journal."""
    nl = data.find(b"\n")
    if nl < 0 or not data.startswith(MAGIC + b" "):
        return None
    try:
        _, n, digest = data[:nl].split(b" ")
        n = int(n)
    except ValueError:
        return None
    rest = data[nl + 1:]
    if len(rest) < n or hashlib.sha256(rest).hexdigest().encode() != digest:
        return None
    try:
        return json.loads(rest[:n]), rest[n:]
    except ValueError:
        return None


def read_manifest(path: Path) -> tuple[dict, bytes] | None:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    return decode_manifest(data)


# ---------------------------------------------------------------------------- results

@dataclass
class CommitStats:
    tx: str
    mode: str
    files: int = 0
    bytes: int = 0
    ops: dict = field(default_factory=lambda: {"create": 0, "replace": 0, "delete": 0, "chmod": 0, "move": 0})
    durations: dict = field(default_factory=dict)
    fsyncs: int = 0
    created_dirs: list = field(default_factory=list)


class _Phases:
    def __init__(self, durations: dict):
        self.d = durations
        self.name = None
        self.t0 = 0.0

    def start(self, name: str) -> None:
        self.stop()
        self.name = name
        self.t0 = time.perf_counter()
        fsio.set_phase(name)

    def stop(self) -> None:
        if self.name is not None:
            self.d[self.name] = round(self.d.get(self.name, 0.0) + time.perf_counter() - self.t0, 6)
            self.name = None


# ---------------------------------------------------------------------------- check phase

def _dirs_to_create(ws: Workspace, changes: Sequence[Change]) -> list[str]:
    need: list[str] = []
    seen: set[str] = set()
    for c in changes:
        if c.after is None or c.before is not None:
            continue
        parts = c.path.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            rel = "/".join(parts[:i])
            if rel in seen:
                continue
            seen.add(rel)
            p = ws.root / rel
            if os.path.lexists(p):
                if not p.is_dir():
                    raise PathError(c.path, f"{rel} is a file, not a directory")
                continue
            need.append(rel)
    return need


def check_writable(ws: Workspace, changes: Sequence[Change], mode: str) -> None:
    """Refuse (before anything changes) when a target or its directory cannot be written."""
    bad: list[str] = []
    jd = journal_dir(ws)
    if not os.access(jd, os.W_OK | os.X_OK):
        bad.append(".wopt/journal (wopt's journal) is not writable")
    dirs_checked: dict[str, tuple[str, bool]] = {}
    uid = os.geteuid() if hasattr(os, "geteuid") else None
    root = str(ws.root)
    for c in changes:
        target = os.path.join(root, c.path)
        d = os.path.dirname(target)
        got = dirs_checked.get(d)
        if got is None:
            parent = d
            while not os.path.exists(parent):
                parent = os.path.dirname(parent)
            got = (parent, os.access(parent, os.W_OK | os.X_OK))
            dirs_checked[d] = got
        if not got[1]:
            bad.append(f"{c.path}: its directory {_rel(ws, Path(got[0]))} is not writable")
            continue
        if c.before is not None:
            try:
                st = os.lstat(target)
            except FileNotFoundError:
                bad.append(f"{c.path}: vanished")
                continue
            if uid not in (None, 0) and st.st_uid != uid and c.after_mode != c.before_mode:
                bad.append(f"{c.path}: owned by another user, its mode cannot be changed")
            if mode == "journal" and c.after is not None and c.after != c.before \
                    and not is_symlink_mode(c.before_mode) and not os.access(target, os.W_OK):
                bad.append(f"{c.path}: is not writable")
    need = _space_needed(changes, mode)
    try:
        sv = os.statvfs(ws.root)
        free = sv.f_bavail * sv.f_frsize
    except (OSError, AttributeError):
        free = None
    if free is not None and need > free:
        bad.append(f"the transaction needs about {need // 1024} KB and the filesystem has "
                   f"{free // 1024} KB free")
    if bad:
        raise Refused("cannot write: " + "; ".join(bad),
                      hint="fix the permissions (or the read-only mount) and apply again; nothing was written")


def ensure_spool(ws: Workspace) -> None:
    from . import spool
    try:
        spool.ensure(ws)
    except OSError as e:
        raise Refused(f".wopt/ (wopt's spool) is not writable: {e.strerror}",
                      hint="fix the permissions (or the read-only mount) and apply again; nothing was written") from None


def _space_needed(changes: Sequence[Change], mode: str) -> int:
    """Bytes of new data the transaction puts on disk before it can free any (a rough
    upper bound: 4 KB per file for blocks and metadata)."""
    n = 0
    for c in changes:
        after = len(c.after) if c.after is not None else 0
        before = len(c.before) if c.before is not None else 0
        if mode == "rename":
            n += after if c.kind in ("create", "replace") else 0
        else:
            n += before if c.kind in ("replace", "delete") else 0
            n += max(0, after - before)
        n += 4096
    return n


def _rel(ws: Workspace, p: Path) -> str:
    try:
        return p.relative_to(ws.root).as_posix() or "."
    except ValueError:
        return str(p)


# ---------------------------------------------------------------------------- commit

def commit(ws: Workspace, changes: Sequence[Change], *, mode: str = "rename", tx: str | None = None,
           kind: str = "apply", plan_id: str | None = None, steps: Sequence[str] = (),
           undoes: str | None = None, on_event: Callable[[Event], None] | None = None,
           moves: int = 0, durations: dict | None = None) -> CommitStats:
    """Commit `changes` (in commit order) atomically. The caller holds the workspace lock and
    has checked preconditions. Raises Refused (nothing touched) or ApplyError (rolled back)."""
    if mode not in MODES:
        raise ApplyError(f"unknown mode {mode!r} (expected rename or journal)")
    emit = on_event or ev.null_listener
    tx = tx or new_tx_id()
    stats = CommitStats(tx=tx, mode=mode)
    if durations is not None:
        stats.durations = durations
    ph = _Phases(stats.durations)
    fs0 = fsio.fsync_count()
    changes = list(changes)
    total_bytes = sum(len(c.after) for c in changes if c.kind in ("create", "replace"))  # bytes written
    for c in changes:
        stats.ops[c.kind] += 1
    stats.ops["move"] = moves
    stats.files = len(changes)
    stats.bytes = total_bytes
    n = len(changes)

    ph.start(ev.CHECK)
    ensure_spool(ws)
    # every path was resolved (escape checks) by effects.compute under this same lock
    new_dirs = _dirs_to_create(ws, changes)
    check_writable(ws, changes, mode)
    emit(Event(ev.CHECK, n, n, 0, total_bytes, tx=tx, message="preconditions hold"))

    entries = []
    blobs: list[bytes] = []
    off = 0
    for i, c in enumerate(changes):
        e = {"path": c.path, "op": c.kind, "before": c.before_hash, "after": c.after_hash,
             "before_mode": c.before_mode, "after_mode": c.after_mode, "steps": list(c.steps)}
        if mode == "rename":
            if c.kind in ("create", "replace"):
                d, name = os.path.split(c.path)
                e["tmp"] = (f"{d}/" if d else "") + f".{name}.wopt-{tx}"
            if c.before is not None and c.kind in ("replace", "delete"):
                e["backup"] = str(i)
        else:
            if c.before is not None and c.kind in ("replace", "delete"):
                e["off"], e["len"] = off, len(c.before)
                blobs.append(c.before)
                off += len(c.before)
        entries.append(e)
    manifest = {"tx": tx, "kind": kind, "mode": mode, "plan": plan_id, "undoes": undoes,
                "started": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "steps": list(steps), "dirs": new_dirs, "entries": entries}
    stats.created_dirs = new_dirs
    mpath = manifest_path(ws, tx)
    jd = journal_dir(ws)

    wrote_manifest = False
    finalized = False
    try:
        # ---- journal: the manifest (and, in journal mode, the originals) durable first
        ph.start(ev.JOURNAL)
        data = encode_manifest(manifest, blobs)
        emit(Event(ev.JOURNAL, 0, 1, 0, len(data), path=".wopt/journal", tx=tx))
        fd = fsio.open_new(mpath, 0o600)
        wrote_manifest = True
        try:
            fsio.write(fd, data, mpath)
            fsio.fsync(fd, mpath)
        finally:
            fsio.close(fd)
        fsio.fsync_dir(jd)
        emit(Event(ev.JOURNAL, 1, 1, len(data), len(data), path=".wopt/journal", tx=tx))

        if mode == "rename":
            _commit_rename(ws, tx, changes, entries, new_dirs, ph, emit, total_bytes)
        else:
            _commit_journal(ws, tx, changes, entries, new_dirs, ph, emit, total_bytes)

        # ---- finalize: one atomic rename
        ph.start(ev.FINALIZE)
        fsio.rename(mpath, manifest_path(ws, tx, COMMITTED))
        finalized = True
        fsio.fsync_dir(jd)
        emit(Event(ev.FINALIZE, 1, 1, total_bytes, total_bytes, tx=tx, message="committed"))
    except BaseException as exc:
        where = fsio.last_op() if fsio.log() else fsio.phase()
        if not wrote_manifest:
            ph.stop()
            stats.fsyncs = fsio.fsync_count() - fs0
            raise _as_apply_error(exc, where, rolled_back=True, stats=stats, ws=ws) from None
        ph.start(ev.ROLLBACK)
        emit(Event(ev.ROLLBACK, 0, n, tx=tx, message=f"rolling back: {_why(exc)}"))
        try:
            with fsio.rolling_back():
                if finalized:
                    # the commit rename is not known durable (its directory fsync failed):
                    # take it back, then roll back like any unfinished transaction
                    fsio.rename(manifest_path(ws, tx, COMMITTED), mpath)
                restored = rollback(ws, tx)
        except BaseException as rb:
            ph.stop()
            stats.fsyncs = fsio.fsync_count() - fs0
            err = ApplyError(_relmsg(ws, f"transaction {tx} failed ({_why(exc)}) and could not be rolled "
                                     f"back now ({_why(rb)}: {getattr(rb, 'filename', '') or ''})"),
                             hint="run `wopt recover` to restore the tree before the apply")
            err.stats = stats  # type: ignore[attr-defined]
            raise err from None
        ph.stop()
        stats.fsyncs = fsio.fsync_count() - fs0
        for i, p in enumerate(restored):
            emit(Event(ev.ROLLBACK, i + 1, len(restored), path=p, batch=_batch(p), tx=tx))
        emit(Event(ev.ROLLBACK, n, n, tx=tx, message="rolled back"))
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise _as_apply_error(exc, where, rolled_back=True, stats=stats, ws=ws) from None
    ph.stop()
    stats.fsyncs = fsio.fsync_count() - fs0
    emit(Event(ev.DONE, n, n, total_bytes, total_bytes, tx=tx, message="committed"))
    return stats


def _why(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        return f"{exc.strerror or exc}"
    return str(exc) or type(exc).__name__


def _relmsg(ws: Workspace, text: str) -> str:
    """User-visible text shows workspace-relative paths."""
    return text.replace(str(ws.root) + os.sep, "").replace(str(ws.root), ".")


def _as_apply_error(exc: BaseException, where: str, *, rolled_back: bool, stats: CommitStats,
                    ws: Workspace) -> BaseException:
    if isinstance(exc, ApplyError):
        exc.stats = stats  # type: ignore[attr-defined]
        return exc
    if not isinstance(exc, Exception):
        return exc
    fname = getattr(exc, "filename", None)
    msg = f"apply failed: {_why(exc)}"
    if fname:
        msg += f" on {fname}"
    err = ApplyError(_relmsg(ws, msg + f" (at {where})"),
                     hint="the transaction was rolled back; the tree is as before" if rolled_back else None)
    err.stats = stats  # type: ignore[attr-defined]
    return err


def _batch(path: str) -> str:
    d = os.path.dirname(path)
    return d or "."


def _commit_rename(ws, tx, changes, entries, new_dirs, ph, emit, total_bytes) -> None:
    root = ws.root
    n = len(changes)
    ph.start(ev.PREPARE)
    for d in new_dirs:
        fsio.mkdir(root / d)
    bdir = backup_dir(ws, tx)
    fsio.mkdir(bdir, 0o700)
    written: list[Path] = []
    done_bytes = 0
    for i, (c, e) in enumerate(zip(changes, entries)):
        if "tmp" in e:
            tmp = root / e["tmp"]
            if is_symlink_mode(c.after_mode):
                fsio.symlink(c.after, tmp)  # made durable by the fsync of its directory after the rename
            else:
                fsio.write_new_file(tmp, c.after, c.after_mode if c.after_mode is not None else 0o644, sync=False)
                written.append(tmp)
            done_bytes += len(c.after)
        if "backup" in e:
            src = root / c.path
            dst = bdir / e["backup"]
            try:
                fsio.link(src, dst)
            except OSError as x:
                if x.errno not in (18, 1):  # EXDEV, EPERM (no hard links here): copy instead
                    raise
                if is_symlink_mode(c.before_mode):
                    fsio.symlink(c.before, dst)
                else:
                    fsio.write_new_file(dst, c.before, c.before_mode if c.before_mode is not None else 0o644,
                                        sync=False)
                    written.append(dst)
        emit(Event(ev.PREPARE, i + 1, n, done_bytes, total_bytes, path=c.path,
                   step=",".join(c.steps), batch=_batch(c.path), tx=tx))
    sync_dirs = {bdir, journal_dir(ws)}  # the backups and the backup directory's own entry
    for d in new_dirs:
        sync_dirs.add((root / d).parent)
    fsio.sync_files(written, dirs=sorted(sync_dirs))

    ph.start(ev.COMMIT)
    touched: set[Path] = set()
    done_bytes = 0
    for i, (c, e) in enumerate(zip(changes, entries)):
        target = root / c.path
        if "tmp" in e:
            fsio.rename(root / e["tmp"], target)
            done_bytes += len(c.after)
            touched.add(target.parent)
        elif c.after is None:
            fsio.unlink(target)
            touched.add(target.parent)
        elif c.after_mode is not None and c.after_mode != c.before_mode:
            fsio.chmod(target, c.after_mode)
            touched.add(target.parent)
        emit(Event(ev.COMMIT, i + 1, n, done_bytes, total_bytes, path=c.path,
                   step=",".join(c.steps), batch=_batch(c.path), tx=tx))

    ph.start(ev.SYNC)
    for d in new_dirs:
        touched.add((root / d).parent)
    dirs = sorted(touched)
    for j, d in enumerate(dirs):
        fsio.fsync_dir(d)
        emit(Event(ev.SYNC, j + 1, len(dirs), total_bytes, total_bytes, batch=_rel(ws, d), tx=tx))


def _commit_journal(ws, tx, changes, entries, new_dirs, ph, emit, total_bytes) -> None:
    root = ws.root
    n = len(changes)
    ph.start(ev.COMMIT)
    for d in new_dirs:
        fsio.mkdir(root / d)
    written: list[Path] = []
    touched: set[Path] = set()
    done_bytes = 0
    for i, c in enumerate(changes):
        target = root / c.path
        if c.after is None:
            fsio.unlink(target)
            touched.add(target.parent)
        elif c.before is None or is_symlink_mode(c.before_mode) or is_symlink_mode(c.after_mode):
            if c.before is not None:  # a link replaced, or replaced by a link: never written through
                fsio.unlink(target)
            if is_symlink_mode(c.after_mode):
                fsio.symlink(c.after, target)
            else:
                fsio.write_new_file(target, c.after, c.after_mode if c.after_mode is not None else 0o644,
                                    sync=False)
                written.append(target)
            touched.add(target.parent)
            done_bytes += len(c.after)
        else:
            if c.after != c.before:
                fsio.overwrite_file(target, c.after, sync=False)
                written.append(target)
                done_bytes += len(c.after)
            if c.after_mode is not None and c.after_mode != c.before_mode:
                fsio.chmod(target, c.after_mode)
                if target not in written:
                    written.append(target)
        emit(Event(ev.COMMIT, i + 1, n, done_bytes, total_bytes, path=c.path,
                   step=",".join(c.steps), batch=_batch(c.path), tx=tx))
    ph.start(ev.SYNC)
    for d in new_dirs:
        touched.add((root / d).parent)
    fsio.sync_files(written, dirs=sorted(touched))
    emit(Event(ev.SYNC, 1, 1, total_bytes, total_bytes, tx=tx))


# ---------------------------------------------------------------------------- rollback

def _file_state(p: Path) -> tuple[bytes | None, int | None]:
    """(content, mode) of a regular file, (target, SYMLINK_MODE) of a symlink, else (None, None)."""
    try:
        st = os.lstat(p)
    except FileNotFoundError:
        return None, None
    if stat.S_ISLNK(st.st_mode):
        return os.fsencode(os.readlink(p)), stat.S_IFLNK | 0o777
    if not stat.S_ISREG(st.st_mode):
        return None, None
    with open(p, "rb") as f:
        return f.read(), stat.S_IMODE(st.st_mode)


def rollback(ws: Workspace, tx: str) -> list[str]:
    """Restore the tree before transaction `tx` from its pending manifest, then drop the
    manifest. Looks only at the disk, so it can be interrupted and run again. Returns the
    workspace-relative paths it restored or removed."""
    mpath = manifest_path(ws, tx)
    got = read_manifest(mpath)
    bdir = backup_dir(ws, tx)
    jd = journal_dir(ws)
    if got is None:
        # torn or absent manifest: written before anything in the workspace changed
        _drop(ws, tx, bdir)
        if mpath.exists():
            fsio.unlink(mpath)
        fsio.fsync_dir(jd)
        return []
    m, blobs = got
    root = ws.root
    restored: list[str] = []
    rewritten: list[Path] = []
    touched: set[Path] = set()
    for e in reversed(m["entries"]):
        target = root / e["path"]
        op = e["op"]
        if m["mode"] == "rename":
            if op == "create":
                if os.path.islink(target) or (os.path.lexists(target) and not target.is_dir()):
                    fsio.unlink(target)
                    restored.append(e["path"])
                    touched.add(target.parent)
            elif op in ("replace", "delete"):
                cur, cur_mode = _file_state(target)
                if cur is not None and sha256(cur) == e["before"] and cur_mode == e["before_mode"]:
                    pass  # never replaced (or already restored)
                else:
                    b = bdir / e["backup"]
                    bdata, _ = _file_state(b)
                    if bdata is None or sha256(bdata) != e["before"]:
                        raise ApplyError(f"{e['path']}: its backup in .wopt/journal/{tx}/ is missing or "
                                         "damaged, so it cannot be restored",
                                         hint="restore it from version control")
                    fsio.rename(b, target)  # a hard link of the original inode, or a copy with its mode
                    restored.append(e["path"])
                    touched.add(target.parent)
            elif op == "chmod":
                _, cur = _file_state(target)
                if cur is not None and cur != e["before_mode"]:
                    fsio.chmod(target, e["before_mode"])
                    restored.append(e["path"])
                    rewritten.append(target)
            if e.get("tmp"):
                tmp = root / e["tmp"]
                if os.path.lexists(tmp):
                    fsio.unlink(tmp)
                    touched.add(tmp.parent)
        else:
            if op == "create":
                if os.path.islink(target) or (os.path.lexists(target) and not target.is_dir()):
                    fsio.unlink(target)
                    restored.append(e["path"])
                    touched.add(target.parent)
                continue
            cur, cur_mode = _file_state(target)
            if op in ("replace", "delete"):
                orig = blobs[e["off"]:e["off"] + e["len"]]
                if cur is not None and (is_symlink_mode(cur_mode) or is_symlink_mode(e["before_mode"])) \
                        and (cur != orig or cur_mode != e["before_mode"]):
                    fsio.unlink(target)  # a link is replaced whole, never written through
                    cur = None
                if cur is None and is_symlink_mode(e["before_mode"]):
                    fsio.symlink(orig, target)
                    touched.add(target.parent)
                    restored.append(e["path"])
                    continue
                if cur is None:
                    fsio.write_new_file(target, orig, e["before_mode"], sync=False)
                    rewritten.append(target)
                    touched.add(target.parent)
                    restored.append(e["path"])
                    continue
                if cur != orig:
                    fsio.overwrite_file(target, orig, sync=False)
                    rewritten.append(target)
                    restored.append(e["path"])
            if cur is not None and cur_mode != e["before_mode"]:
                fsio.chmod(target, e["before_mode"])
                if target not in rewritten:
                    rewritten.append(target)
                if e["path"] not in restored:
                    restored.append(e["path"])
    for d in reversed(m.get("dirs", [])):
        p = root / d
        if p.is_dir() and not p.is_symlink():
            try:
                fsio.rmdir(p)
                touched.add(p.parent)
            except OSError as x:
                if x.errno not in (39, 66, 17):  # ENOTEMPTY (Linux, macOS), EEXIST
                    raise
    touched = {d for d in touched if d.is_dir()}
    fsio.sync_files(rewritten, dirs=sorted(touched))
    _drop(ws, tx, bdir)
    fsio.unlink(mpath)
    fsio.fsync_dir(jd)
    return sorted(set(restored))


def _drop(ws: Workspace, tx: str, bdir: Path) -> None:
    if bdir.is_dir():
        for name in sorted(os.listdir(bdir)):
            fsio.unlink(bdir / name)
        fsio.rmdir(bdir)


# ---------------------------------------------------------------------------- committed journals

def committed_original(ws: Workspace, m: dict, blobs: bytes, entry: dict) -> bytes | None:
    """The bytes a committed transaction's entry had before it (None: absent)."""
    if entry["before"] == ABSENT:
        return None
    if m["mode"] == "journal":
        if "off" in entry:
            return blobs[entry["off"]:entry["off"] + entry["len"]]
    elif "backup" in entry:
        return _file_state(backup_dir(ws, m["tx"]) / entry["backup"])[0]
    # chmod-only: the content never changed
    data, _ = _file_state(ws.root / entry["path"])
    return data


def load_committed(ws: Workspace, tx: str) -> tuple[dict, bytes, str] | None:
    for state in (COMMITTED, UNDONE):
        got = read_manifest(manifest_path(ws, tx, state))
        if got is not None:
            return got[0], got[1], state
    return None


def list_transactions(ws: Workspace) -> list[tuple[str, str]]:
    """(tx id, state) of every journal file, oldest first."""
    try:
        names = os.listdir(journal_dir(ws))
    except FileNotFoundError:
        return []
    out = []
    for n in names:
        for state in (PENDING, COMMITTED, UNDONE):
            if n.endswith(state):
                out.append((n[: -len(state)], state))
    out.sort()
    return out


def mark_undone(ws: Workspace, tx: str) -> None:
    src = manifest_path(ws, tx, COMMITTED)
    if src.exists():
        fsio.rename(src, manifest_path(ws, tx, UNDONE))
        fsio.fsync_dir(journal_dir(ws))


KEEP = 200  # committed transactions whose originals are kept for undo


def prune(ws: Workspace, keep: int | None = None) -> list[str]:
    """Drop the journals of all but the newest `keep` finished transactions (their undo is no
    longer possible). The manifest goes first, so an interrupted prune leaves only a stray
    backup directory, which recovery removes. Returns the dropped tx ids."""
    keep = KEEP if keep is None else keep
    done = [tx for tx, state in list_transactions(ws) if state in (COMMITTED, UNDONE)]
    old = done[:-keep] if keep > 0 else done
    for tx in old:
        for state in (COMMITTED, UNDONE):
            try:
                os.unlink(manifest_path(ws, tx, state))
            except FileNotFoundError:
                pass
        b = backup_dir(ws, tx)
        if b.is_dir():
            for name in os.listdir(b):
                os.unlink(b / name)
            os.rmdir(b)
    return old
