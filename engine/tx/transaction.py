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
  sync      one fsync per touched directory; with mode-only changes, one sync pass over those
            files and the touched directories (a chmod is not an entry of its directory);
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

A symbolic link is a change whose mode is SYMLINK_MODE and whose content is its target. Rename
mode creates it at the temporary name and renames it over the target (no file fsync: the
directory fsync makes it durable) and backs an original link up as a link; journal mode never
writes through a link: a link replacing a file, or replaced by one, is unlinked and created
anew. A rollback reads a link as (target, SYMLINK_MODE) where the manifest says the path is or
was one (anywhere else a link is a person's change), and restores an original link as a link.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

from ..model import events as ev
from ..store import fsio
from ..store.effects import Change
from ..model.errors import ApplyError, PathError
from ..model.events import Event
from ..model.plan import ABSENT, SYMLINK_MODE, check_relpath, is_symlink_mode, normalize_relpath, sha256
from ..store.workspace import Workspace

if TYPE_CHECKING:
    from ..store.history_record import HistoryRecord

MODES = ("rename", "journal")
MAGIC = b"WOPTJ1"
PENDING, COMMITTED, UNDONE = ".pending", ".committed", ".undone"
# an undo past its commit point whose bookkeeping (the undone mark of the transaction it
# undoes, the removal of that transaction's new directories, its history record) is not yet
# complete; recovery completes it
FINISHING = ".finishing"
STATES = (PENDING, COMMITTED, UNDONE, FINISHING)
JOURNAL = ".wopt/journal"       # workspace-relative: every operation goes through fsio.Tree


# ---------------------------------------------------------------------------- names

def new_tx_id() -> str:
    now = datetime.now(timezone.utc)
    return now.strftime("%Y%m%d-%H%M%S-") + f"{now.microsecond:06d}" + os.urandom(1).hex()


def journal_dir(ws: Workspace) -> Path:
    return ws.spool / "journal"


def manifest_path(ws: Workspace, tx: str, state: str = PENDING) -> Path:
    return journal_dir(ws) / f"{tx}{state}"


def backup_dir(ws: Workspace, tx: str) -> Path:
    return journal_dir(ws) / tx


def manifest_rel(tx: str, state: str = PENDING) -> str:
    return f"{JOURNAL}/{tx}{state}"


def backup_rel(tx: str) -> str:
    return f"{JOURNAL}/{tx}"


def tree(ws: Workspace) -> fsio.Tree:
    """Verified directory handles of the workspace (see fsio.Tree)."""
    return fsio.Tree(ws.root)


def tmp_name(tx: str, i: int) -> str:
    """A target's temporary file: short (any target name, up to NAME_MAX, still fits), hidden,
    unique per transaction and entry."""
    return f".wopt-{tx}.{i}"


_TX_RE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z_-]{0,80}$")


def valid_tx(tx: str) -> bool:
    return bool(_TX_RE.match(tx or ""))


class Refused(ApplyError):
    """The apply was refused before anything changed (a target cannot be written)."""


# ---------------------------------------------------------------------------- manifest

@dataclass(slots=True)
class JournalEntry:
    """One target of a transaction in its manifest. `before`/`after` are hashes
    (`sha256:...` or `absent`), the modes None where the path is absent. Rename mode names the
    target's temporary file (`tmp`) and its original's backup in `.wopt/journal/<tx>/`
    (`backup`); journal mode the offset and length of the original bytes in the journal's blob
    area (`off`, `len`) and, for what it writes in place, its length, 4 KB page hashes and the
    hash of the page a restore cuts (`alen`, `apages`, `acut`)."""

    path: str
    op: str                       # create | replace | delete | chmod
    before: str
    after: str
    before_mode: int | None
    after_mode: int | None
    steps: list[str] = field(default_factory=list)
    tmp: str | None = None
    backup: str | None = None
    off: int | None = None
    len: int | None = None
    alen: int | None = None
    apages: list[str] | None = None
    acut: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The entry as written (the optional keys only where they apply, in this order)."""
        d: dict[str, Any] = {"path": self.path, "op": self.op, "before": self.before, "after": self.after,
                             "before_mode": self.before_mode, "after_mode": self.after_mode,
                             "steps": self.steps}
        for k in _ENTRY_OPTIONAL:
            v = getattr(self, k)
            if v is not None:
                d[k] = v
        return d

    @classmethod
    def from_json(cls, e: dict[str, Any]) -> "JournalEntry":
        """From an entry `check_manifest` accepted (older manifests may lack `steps`)."""
        steps = e.get("steps", [])
        return cls(path=e["path"], op=e["op"], before=e["before"], after=e["after"],
                   before_mode=e.get("before_mode"), after_mode=e.get("after_mode"),
                   steps=[x for x in steps if isinstance(x, str)] if isinstance(steps, list) else [],
                   **{k: e.get(k) for k in _ENTRY_OPTIONAL})


_ENTRY_OPTIONAL = ("tmp", "backup", "off", "len", "alen", "apages", "acut")


@dataclass(slots=True)
class Manifest:
    """A transaction's manifest (`.wopt/journal/<tx>.<state>`): what it changes, written and
    made durable before anything in the workspace changes."""

    tx: str
    mode: str                     # rename | journal
    entries: list[JournalEntry]
    kind: str = "apply"           # apply | undo
    plan: str | None = None
    undoes: str | None = None     # an undo: the transaction it undoes
    started: str | None = None
    steps: list[str] = field(default_factory=list)
    dirs: list[str] = field(default_factory=list)   # directories it creates, parents first

    def to_json(self) -> dict[str, Any]:
        return {"tx": self.tx, "kind": self.kind, "mode": self.mode, "plan": self.plan,
                "undoes": self.undoes, "started": self.started, "steps": self.steps,
                "dirs": self.dirs, "entries": [e.to_json() for e in self.entries]}

    @classmethod
    def from_json(cls, m: dict[str, Any]) -> "Manifest":
        """From a decoded manifest `check_manifest` accepted; fields it does not act on that
        have the wrong type (a hand edit) read as absent."""
        def opt_str(k: str) -> str | None:
            v = m.get(k)
            return v if isinstance(v, str) else None
        steps = m.get("steps", [])
        return cls(tx=m["tx"], mode=m["mode"], kind=m.get("kind", "apply"),
                   entries=[JournalEntry.from_json(e) for e in m["entries"]],
                   plan=opt_str("plan"), undoes=opt_str("undoes"), started=opt_str("started"),
                   steps=[x for x in steps if isinstance(x, str)] if isinstance(steps, list) else [],
                   dirs=list(m.get("dirs", [])))


def parse_manifest(m: Any, tx: str, blobs: bytes) -> Manifest | str:
    """The manifest of transaction `tx`, or why it must not be acted on (`check_manifest`)."""
    why = check_manifest(m, tx, blobs)
    return why if why is not None else Manifest.from_json(m)


# ---------------------------------------------------------------------------- manifest file

def encode_manifest(manifest: Manifest | dict[str, Any], blobs: Sequence[bytes] = ()) -> bytes:
    """`WOPTJ1 <json length> <sha256 of json+blobs>\\n` + json + blobs. The checksum tells a
    torn (never synced) journal from a complete one. (A dict is written as it is: tests forge
    manifests.)"""
    if isinstance(manifest, Manifest):
        manifest = manifest.to_json()
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
        _, size, digest = data[:nl].split(b" ")
        n = int(size)
    except ValueError:
        return None
    rest = data[nl + 1:]
    if len(rest) < n or hashlib.sha256(rest).hexdigest().encode() != digest:
        return None
    try:
        return json.loads(rest[:n]), rest[n:]
    except ValueError:
        return None


def read_manifest(path: Path | str, t: fsio.Tree | None = None) -> tuple[dict, bytes] | None:
    """Decode a manifest: `path` workspace-relative with a Tree (read without following any
    symlink), else a plain path. None if absent, torn or not a wopt journal."""
    try:
        if t is not None:
            data, _ = t.read(str(path))
            if data is None:
                return None
        else:
            data = Path(path).read_bytes()
    except FileNotFoundError:
        return None
    return decode_manifest(data)


_HASH_RE = re.compile(r"^(absent|sha256:[0-9a-f]{64})$")
_OPS = ("create", "replace", "delete", "chmod")


def check_manifest(m, tx: str, blobs: bytes) -> str | None:
    """Why the decoded manifest `m` of transaction `tx` must not be acted on, or None. Every
    path is held to the rules of a plan path (relative, no `..`, not in .wopt/ or .git/);
    temporaries, backups and blob offsets to what this transaction itself writes."""
    if not isinstance(m, dict):
        return "is not a manifest"
    if m.get("tx") != tx:
        return f"names transaction {m.get('tx')!r}, not {tx}"
    if m.get("mode") not in MODES:
        return f"has an unknown mode {m.get('mode')!r}"
    if m.get("kind", "apply") not in ("apply", "undo"):
        return f"has an unknown kind {m.get('kind')!r}"
    entries = m.get("entries")
    if not isinstance(entries, list):
        return "has no list of entries"
    dirs = m.get("dirs", [])
    if not isinstance(dirs, list):
        return "has a bad list of directories"

    def bad_path(p) -> str | None:
        if not isinstance(p, str):
            return f"names a path that is not text ({p!r})"
        why = check_relpath(p)
        if why is None and normalize_relpath(p) != p:
            why = "is not in normal form"
        return f"names {p!r}, which {why}" if why else None

    for d in dirs:
        why = bad_path(d)
        if why:
            return why
    for i, e in enumerate(entries):
        if not isinstance(e, dict):
            return f"entry {i} is not an object"
        why = bad_path(e.get("path"))
        if why:
            return why
        if e.get("op") not in _OPS:
            return f"entry {e['path']}: unknown operation {e.get('op')!r}"
        for k in ("before", "after"):
            if not isinstance(e.get(k), str) or not _HASH_RE.match(e[k]):
                return f"entry {e['path']}: bad {k} hash"
        for k in ("before_mode", "after_mode"):
            v = e.get(k)
            if v is not None and (not isinstance(v, int) or isinstance(v, bool)
                                  or not (0 <= v <= 0o7777 or v == SYMLINK_MODE)):
                return f"entry {e['path']}: bad {k}"
        if "tmp" in e:
            t = e["tmp"]
            d = e["path"].rpartition("/")[0]
            ok = isinstance(t, str) and t.rpartition("/")[0] == d and (
                re.fullmatch(re.escape(f".wopt-{tx}.") + r"\d{1,9}", t.rpartition("/")[2])
                or t.rpartition("/")[2] == f".{e['path'].rpartition('/')[2]}.wopt-{tx}")
            if not ok:
                return f"entry {e['path']}: bad temporary file name {t!r}"
        if "backup" in e and not (isinstance(e["backup"], str) and e["backup"].isdigit()
                                  and len(e["backup"]) < 10):
            return f"entry {e['path']}: bad backup name {e['backup']!r}"
        if "off" in e or "len" in e:
            o, n = e.get("off"), e.get("len")
            if not (isinstance(o, int) and isinstance(n, int) and 0 <= o and 0 <= n and o + n <= len(blobs)):
                return f"entry {e['path']}: bad offset of its original bytes"
        if "alen" in e or "apages" in e:
            pg = e.get("apages")
            if not (isinstance(e.get("alen"), int) and isinstance(pg, list)
                    and all(isinstance(x, str) and len(x) == 16 for x in pg)):
                return f"entry {e['path']}: bad page hashes"
        if "acut" in e and not (isinstance(e["acut"], str) and len(e["acut"]) == 16):
            return f"entry {e['path']}: bad page hash"
        if m["mode"] == "rename" and e["op"] in ("replace", "delete") and e["before"] != ABSENT \
                and "backup" not in e:
            return f"entry {e['path']}: no backup named"
        if m["mode"] == "journal" and e["op"] in ("replace", "delete") and "off" not in e:
            return f"entry {e['path']}: no original bytes"
    return None


def salvage_paths(data: bytes) -> list[str]:
    """The paths a damaged manifest still shows (for the message only; never acted on)."""
    out: list[str] = []
    for mt in re.finditer(rb'"path":"((?:[^"\\]|\\.){1,4096})"', data[:1 << 24]):
        try:
            p = json.loads(b'"' + mt.group(1) + b'"')
        except ValueError:
            continue
        if isinstance(p, str) and check_relpath(p) is None and p not in out:
            out.append(p)
    return out


# ---------------------------------------------------------------------------- results

@dataclass
class CommitStats:
    tx: str
    mode: str
    files: int = 0
    bytes: int = 0
    ops: dict[str, int] = field(default_factory=lambda: {"create": 0, "replace": 0, "delete": 0, "chmod": 0,
                                                         "move": 0})
    durations: dict[str, float] = field(default_factory=dict)
    fsyncs: int = 0
    created_dirs: list[str] = field(default_factory=list)


class _Phases:
    def __init__(self, durations: dict):
        self.d = durations
        self.name: str | None = None
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

def _dirs_to_create(t: fsio.Tree, changes: Sequence[Change]) -> list[str]:
    need: list[str] = []
    seen: set[str] = set()
    for c in changes:
        if c.after is None or c.before is not None:
            continue
        parts = c.path.split("/")[:-1]
        missing = False
        for i in range(1, len(parts) + 1):
            rel = "/".join(parts[:i])
            if rel in seen:
                missing = missing or rel in need
                continue
            seen.add(rel)
            if missing:
                need.append(rel)
                continue
            st = t.lstat(rel)
            if st is None:
                need.append(rel)
                missing = True
            elif not stat.S_ISDIR(st.st_mode):
                raise PathError(c.path, f"{rel} is a file or a symlink, not a directory")
    return need


def _shared_inodes(t: fsio.Tree, changes: Sequence[Change]) -> list[list[str]]:
    """Groups of targets that are one file under several names (hard links)."""
    by_inode: dict[tuple[int, int], list[str]] = {}
    for c in changes:
        if c.before is None:
            continue
        st = t.lstat(c.path)
        if st is not None and stat.S_ISREG(st.st_mode) and st.st_nlink > 1:
            by_inode.setdefault((st.st_dev, st.st_ino), []).append(c.path)
    return [g for g in by_inode.values() if len(g) > 1]


def check_writable(ws: Workspace, changes: Sequence[Change], mode: str, t: fsio.Tree | None = None) -> None:
    """Refuse (before anything changes) when a target or its directory cannot be written."""
    own = t is None
    t = t or tree(ws)
    try:
        _check_writable(ws, changes, mode, t)
    finally:
        if own:
            t.close()


def _check_writable(ws: Workspace, changes: Sequence[Change], mode: str, t: fsio.Tree) -> None:
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
            st = t.lstat(c.path)
            if st is None:
                bad.append(f"{c.path}: vanished")
                continue
            if uid not in (None, 0) and st.st_uid != uid and c.after_mode != c.before_mode \
                    and not is_symlink_mode(c.before_mode) and not is_symlink_mode(c.after_mode):
                bad.append(f"{c.path}: owned by another user, its mode cannot be changed")
            # a link is never written through (journal mode replaces it whole), so only its
            # directory must be writable
            if mode == "journal" and c.after is not None and c.after != c.before \
                    and not is_symlink_mode(c.before_mode) and not is_symlink_mode(c.after_mode) \
                    and not os.access(target, os.W_OK):
                bad.append(f"{c.path}: is not writable")
    if mode == "journal":
        for group in _shared_inodes(t, changes):
            raise Refused(f"{' and '.join(group)} are one file under several names (hard links): "
                          "journal mode writes a file in place, so writing one would write them all",
                          hint="apply with --mode rename (each name gets its own file, as an editor's "
                          "save does), or drop all but one of those steps; nothing was written")
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
    from ..store import spool
    try:
        spool.ensure(ws)
    except OSError as e:
        what = f"{e.strerror}" + (f" ({e.filename})" if isinstance(e, fsio.Replaced) and e.filename else "")
        raise Refused(f".wopt/ (wopt's spool) is not writable: {what}",
                      hint="fix the permissions (or the read-only mount; a symlink in .wopt/ must go) "
                      "and apply again; nothing was written", phase=ev.CHECK, errno=e.errno,
                      path=".wopt") from None


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


def _parent(rel: str) -> str:
    return rel.rpartition("/")[0]


# ---------------------------------------------------------------------------- commit

def commit(ws: Workspace, changes: Sequence[Change], *, mode: str = "rename", tx: str | None = None,
           kind: str = "apply", plan_id: str | None = None, steps: Sequence[str] = (),
           undoes: str | None = None, on_event: Callable[[Event], None] | None = None,
           moves: int = 0, durations: dict | None = None, final_state: str = COMMITTED) -> CommitStats:
    """Commit `changes` (in commit order) atomically. The caller holds the workspace lock and
    has checked preconditions. Raises Refused (nothing touched) or ApplyError (rolled back).
    `final_state` FINISHING leaves bookkeeping to `finish_undo` (an undo)."""
    with tree(ws) as t:
        return _commit(ws, t, changes, mode=mode, tx=tx, kind=kind, plan_id=plan_id, steps=steps,
                       undoes=undoes, on_event=on_event, moves=moves, durations=durations,
                       final_state=final_state)


def _commit(ws, t, changes, *, mode, tx, kind, plan_id, steps, undoes, on_event, moves, durations,
            final_state) -> CommitStats:
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
    # every path was resolved (escape checks) by effects.compute under this same lock; from here
    # on every operation goes through `t`'s verified directory handles
    try:
        new_dirs = _dirs_to_create(t, changes)
        check_writable(ws, changes, mode, t)
        t.dir(JOURNAL)
    except fsio.Replaced as err:
        raise Refused(f"{err.filename}: {err.strerror}",
                      hint="remove the symlink (or put the directory back) and apply again; nothing was written",
                      phase=ev.CHECK, errno=err.errno, path=err.filename) from None
    emit(Event(ev.CHECK, n, n, 0, total_bytes, tx=tx, message="preconditions hold"))

    entries: list[JournalEntry] = []
    blobs: list[bytes] = []
    off = 0
    for i, c in enumerate(changes):
        e = JournalEntry(path=c.path, op=c.kind, before=c.before_hash, after=c.after_hash,
                         before_mode=c.before_mode, after_mode=c.after_mode, steps=list(c.steps))
        if mode == "rename":
            if c.kind in ("create", "replace"):  # a file <-> link change with equal bytes too
                d = _parent(c.path)
                e.tmp = (f"{d}/" if d else "") + tmp_name(tx, i)
            if c.before is not None and c.kind in ("replace", "delete"):
                e.backup = str(i)
        else:
            if c.before is not None and c.kind in ("replace", "delete"):
                e.off, e.len = off, len(c.before)
                blobs.append(c.before)
                off += len(c.before)
            if c.after is not None and c.kind in ("create", "replace"):  # a file <-> link change with equal bytes too
                e.alen, e.apages = len(c.after), page_hashes(c.after)
                lb = len(c.before) if c.before is not None else 0
                if c.before is not None and lb < len(c.after) and lb % PAGE:
                    # a restore truncates to the original's length first: its last page then
                    e.acut = _h16(c.after[lb - lb % PAGE:lb])
        entries.append(e)
    manifest = Manifest(tx=tx, kind=kind, mode=mode, plan=plan_id, undoes=undoes,
                        started=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                        steps=list(steps), dirs=new_dirs, entries=entries)
    stats.created_dirs = new_dirs
    mrel = manifest_rel(tx)
    mtmp = mrel + ".tmp"

    wrote_manifest = False
    finalized = False
    try:
        # ---- journal: the manifest (and, in journal mode, the originals) durable first. It is
        # written under a temporary name and renamed into place, so a `.pending` manifest is
        # always whole: one that does not decode was damaged, and is never taken for "nothing
        # happened yet".
        ph.start(ev.JOURNAL)
        data = encode_manifest(manifest, blobs)
        emit(Event(ev.JOURNAL, 0, 1, 0, len(data), path=".wopt/journal", tx=tx))
        fd = fsio.open_new(t, mtmp, 0o600)
        try:
            fsio.write(fd, data, mtmp)
            fsio.fsync(fd, mtmp)
        finally:
            fsio.close(fd)
        wrote_manifest = True
        fsio.rename(t, mtmp, mrel)
        fsio.fsync_dir(t, JOURNAL)
        emit(Event(ev.JOURNAL, 1, 1, len(data), len(data), path=".wopt/journal", tx=tx))

        if mode == "rename":
            _commit_rename(t, tx, changes, entries, new_dirs, ph, emit, total_bytes)
        else:
            _commit_journal(t, tx, changes, entries, new_dirs, ph, emit, total_bytes)

        # ---- finalize: one atomic rename
        ph.start(ev.FINALIZE)
        fsio.rename(t, mrel, manifest_rel(tx, final_state))
        finalized = True
        fsio.fsync_dir(t, JOURNAL)
        emit(Event(ev.FINALIZE, 1, 1, total_bytes, total_bytes, tx=tx, message="committed"))
    except BaseException as exc:
        where = fsio.last_op() if fsio.log() else fsio.phase()
        failed = _failure(ws, exc)
        if not wrote_manifest:
            ph.stop()
            stats.fsyncs = fsio.fsync_count() - fs0
            _drop_quietly(t, mtmp)
            raise _as_apply_error(exc, where, failed, rolled_back=True, stats=stats, ws=ws) from None
        ph.start(ev.ROLLBACK)
        emit(Event(ev.ROLLBACK, 0, n, tx=tx, message=f"rolling back: {_why(exc)}"))
        t.loose = True  # take back what was written through these handles, wherever inside
        try:
            with fsio.rolling_back():
                if finalized:
                    # the commit rename is not known durable (its directory fsync failed):
                    # take it back, then roll back like any unfinished transaction
                    fsio.rename(t, manifest_rel(tx, final_state), mrel)
                elif t.exists(mtmp):
                    fsio.rename(t, mtmp, mrel)
                res = rollback(ws, tx, t=t)
        except BaseException as rb:
            ph.stop()
            stats.fsyncs = fsio.fsync_count() - fs0
            raise ApplyError(_relmsg(ws, f"transaction {tx} failed ({_why(exc)}) and could not be rolled "
                                     f"back now ({_why(rb)}: {getattr(rb, 'filename', '') or ''})"),
                             hint="run `wopt recover` to restore the tree before the apply",
                             stats=stats, **failed) from None
        ph.stop()
        stats.fsyncs = fsio.fsync_count() - fs0
        restored = res.restored
        for i, p in enumerate(restored):
            emit(Event(ev.ROLLBACK, i + 1, len(restored), path=p, batch=_batch(p), tx=tx))
        if not res.ok:
            emit(Event(ev.ROLLBACK, n, n, tx=tx, message="rolled back in part"))
            raise ApplyError(_relmsg(ws, f"transaction {tx} failed ({_why(exc)}: "
                                     f"{getattr(exc, 'filename', '') or where}); " + res.summary()),
                             hint=res.hint(), stats=stats, **failed) from None
        emit(Event(ev.ROLLBACK, n, n, tx=tx, message="rolled back"))
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise _as_apply_error(exc, where, failed, rolled_back=True, stats=stats, ws=ws) from None
    ph.stop()
    stats.fsyncs = fsio.fsync_count() - fs0
    emit(Event(ev.DONE, n, n, total_bytes, total_bytes, tx=tx, message="committed"))
    return stats


def _drop_quietly(t: fsio.Tree, rel: str) -> None:
    """Remove a temporary manifest that never became a journal (nothing else happened)."""
    try:
        with fsio.rolling_back():
            if t.exists(rel):
                fsio.unlink(t, rel)
    except OSError:
        pass  # recovery removes a stray `.tmp` in the journal directory


def _why(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        return f"{exc.strerror or exc}"
    return str(exc) or type(exc).__name__


def _relmsg(ws: Workspace, text: str) -> str:
    """User-visible text shows workspace-relative paths."""
    return text.replace(str(ws.root) + os.sep, "").replace(str(ws.root), ".")


def _failure(ws: Workspace, exc: BaseException) -> dict[str, Any]:
    """The structured fields of a failure inside the transaction (read as it propagates): the
    phase in hand, and for a failed system call its operation, errno and path (the target of
    a rename or a link's source, workspace-relative)."""
    if isinstance(exc, ApplyError):
        return {"phase": exc.phase or fsio.phase(), "operation": exc.operation, "errno": exc.errno,
                "path": exc.path}
    if not isinstance(exc, OSError):
        return {"phase": fsio.phase(), "operation": None, "errno": None, "path": None}
    name = exc.filename
    path = None
    if name is not None:
        path = _relmsg(ws, str(name).rpartition(" -> ")[2] if isinstance(name, str) else os.fsdecode(name))
    return {"phase": fsio.phase(), "operation": fsio.current_op()[0] or None, "errno": exc.errno,
            "path": path}


def _as_apply_error(exc: BaseException, where: str, failed: dict[str, Any], *, rolled_back: bool,
                    stats: CommitStats, ws: Workspace) -> BaseException:
    if isinstance(exc, ApplyError):
        exc.stats = stats
        exc.phase = failed["phase"]
        return exc
    if not isinstance(exc, Exception):
        return exc
    fname = getattr(exc, "filename", None)
    msg = f"apply failed: {_why(exc)}"
    if fname:
        msg = f"apply failed: {fname}: {_why(exc)}" if isinstance(exc, fsio.Replaced) else msg + f" on {fname}"
    hint = "the transaction was rolled back; the tree is as before" if rolled_back else None
    if rolled_back and isinstance(exc, fsio.Replaced):
        hint = ("the transaction was rolled back, through the directory handles it had opened (so in "
                "a directory moved within the workspace too); nothing was written through the symlink. "
                "Put the directory back and apply again")
    return ApplyError(_relmsg(ws, msg + f" (at {where})"), hint=hint, stats=stats,
                      rolled_back=rolled_back, **failed)


def _batch(path: str) -> str:
    d = os.path.dirname(path)
    return d or "."


def _commit_rename(t, tx, changes, entries, new_dirs, ph, emit, total_bytes) -> None:
    n = len(changes)
    ph.start(ev.PREPARE)
    for d in new_dirs:
        fsio.mkdir(t, d)
    bdir = backup_rel(tx)
    fsio.mkdir(t, bdir, 0o700)
    written: list[str] = []
    done_bytes = 0
    for i, (c, e) in enumerate(zip(changes, entries)):
        if e.tmp is not None:
            if is_symlink_mode(c.after_mode):
                fsio.symlink(t, c.after, e.tmp)  # durable by the fsync of its directory after the rename
            else:
                fsio.write_new_file(t, e.tmp, c.after, c.after_mode if c.after_mode is not None else 0o644,
                                    sync=False)
                written.append(e.tmp)
            done_bytes += len(c.after)
        if e.backup is not None:
            dst = f"{bdir}/{e.backup}"
            try:
                fsio.link(t, c.path, dst)
            except OSError as x:
                if x.errno not in (18, 1):  # EXDEV, EPERM (no hard links here): copy instead
                    raise
                if is_symlink_mode(c.before_mode):
                    fsio.symlink(t, c.before, dst)  # an original link is backed up as a link
                else:
                    fsio.write_new_file(t, dst, c.before, c.before_mode if c.before_mode is not None else 0o644,
                                        sync=False)
                    written.append(dst)
        emit(Event(ev.PREPARE, i + 1, n, done_bytes, total_bytes, path=c.path,
                   step=",".join(c.steps), batch=_batch(c.path), tx=tx))
    sync_dirs = {bdir, JOURNAL}  # the backups and the backup directory's own entry
    for d in new_dirs:
        sync_dirs.add(_parent(d))
    fsio.sync_files(t, written, dirs=sorted(sync_dirs))

    ph.start(ev.COMMIT)
    touched: set[str] = set()
    chmodded: list[str] = []   # mode-only changes: the inode itself must be synced
    done_bytes = 0
    for i, (c, e) in enumerate(zip(changes, entries)):
        if e.tmp is not None:
            fsio.rename(t, e.tmp, c.path)
            done_bytes += len(c.after)
            touched.add(_parent(c.path))
        elif c.after is None:
            fsio.unlink(t, c.path)
            touched.add(_parent(c.path))
        elif c.after_mode is not None and c.after_mode != c.before_mode:
            fsio.chmod(t, c.path, c.after_mode)
            chmodded.append(c.path)
        emit(Event(ev.COMMIT, i + 1, n, done_bytes, total_bytes, path=c.path,
                   step=",".join(c.steps), batch=_batch(c.path), tx=tx))

    ph.start(ev.SYNC)
    for d in new_dirs:
        touched.add(_parent(d))
    dirs = sorted(touched)
    if chmodded:
        # a chmod changes the inode, not a directory entry: a directory fsync does not make it
        # durable. One pass over those files and the touched directories (one syncfs, or an
        # fsync of each)
        fsio.sync_files(t, chmodded, dirs=dirs)
        emit(Event(ev.SYNC, 1, 1, total_bytes, total_bytes, tx=tx))
        return
    for j, d in enumerate(dirs):
        fsio.fsync_dir(t, d)
        emit(Event(ev.SYNC, j + 1, len(dirs), total_bytes, total_bytes, batch=d or ".", tx=tx))


def _commit_journal(t, tx, changes, entries, new_dirs, ph, emit, total_bytes) -> None:
    n = len(changes)
    ph.start(ev.COMMIT)
    for d in new_dirs:
        fsio.mkdir(t, d)
    written: list[str] = []
    touched: set[str] = set()
    done_bytes = 0
    for i, c in enumerate(changes):
        target = c.path
        if c.after is None:
            fsio.unlink(t, target)
            touched.add(_parent(target))
        elif c.before is None or is_symlink_mode(c.before_mode) or is_symlink_mode(c.after_mode):
            if c.before is not None:  # a link replaced, or replaced by a link: never written through
                fsio.unlink(t, target)
            if is_symlink_mode(c.after_mode):
                fsio.symlink(t, c.after, target)
            else:
                fsio.write_new_file(t, target, c.after, c.after_mode if c.after_mode is not None else 0o644,
                                    sync=False)
                written.append(target)
            touched.add(_parent(target))
            done_bytes += len(c.after)
        else:
            if c.after != c.before:
                fsio.overwrite_file(t, target, c.after, sync=False)
                written.append(target)
                done_bytes += len(c.after)
            if c.after_mode is not None and c.after_mode != c.before_mode:
                fsio.chmod(t, target, c.after_mode)
                if target not in written:
                    written.append(target)
        emit(Event(ev.COMMIT, i + 1, n, done_bytes, total_bytes, path=c.path,
                   step=",".join(c.steps), batch=_batch(c.path), tx=tx))
    ph.start(ev.SYNC)
    for d in new_dirs:
        touched.add(_parent(d))
    fsio.sync_files(t, written, dirs=sorted(touched))
    emit(Event(ev.SYNC, 1, 1, total_bytes, total_bytes, tx=tx))


# ---------------------------------------------------------------------------- rollback

@dataclass
class Rollback:
    """What a rollback did. `kept`: paths it left alone, each with why (a person's later work,
    or a place wopt cannot reach safely); `damaged`: why the manifest could not be acted on.
    Either keeps the journal (manifest and backups) until a person decides."""

    tx: str
    manifest: Manifest | None = None
    restored: list[str] = field(default_factory=list)
    kept: list[tuple[str, str]] = field(default_factory=list)
    damaged: str | None = None
    known_paths: list[str] = field(default_factory=list)
    saved: str | None = None      # where the originals of the kept paths were copied

    @property
    def ok(self) -> bool:
        return not self.kept and self.damaged is None

    def summary(self) -> str:
        if self.damaged is not None:
            known = ""
            if self.known_paths:
                shown = ", ".join(self.known_paths[:10])
                more = f" and {len(self.known_paths) - 10} more" if len(self.known_paths) > 10 else ""
                known = f"; the readable part of it names {shown}{more}"
            return (f"the journal of transaction {self.tx} (.wopt/journal/{self.tx}.pending) {self.damaged}, "
                    f"so wopt cannot prove what it changed and changes nothing; it keeps that journal "
                    f"and its backups (.wopt/journal/{self.tx}/){known}")
        shown = ", ".join(f"{p} ({why})" for p, why in self.kept[:10])
        more = f" and {len(self.kept) - 10} more" if len(self.kept) > 10 else ""
        done = f"; restored {len(self.restored)} other file(s)" if self.restored else ""
        saved = f"; the originals are copied to {self.saved}/" if self.saved else ""
        return (f"transaction {self.tx}: {len(self.kept)} path(s) need your decision, left as they "
                f"are: {shown}{more}{done}{saved}")

    def hint(self) -> str:
        if self.damaged is not None:
            return (f"check those files (`wopt history`, version control), restore what you need from "
                    f"the backups, then run `wopt recover --resolve {self.tx}` to drop that journal")
        return (f"keep or replace each of those files as you want, then run "
                f"`wopt recover --resolve {self.tx}` to close the transaction (its backups stay in "
                f".wopt/journal/{self.tx}/ until then)")


PAGE = 4096


def page_hashes(data: bytes) -> list[str]:
    """Short hashes of each 4 KB page of `data` (journal mode records them for what it writes
    in place, so recovery can recognise a page of its own in a file torn by a crash)."""
    return [hashlib.sha256(data[i:i + PAGE]).hexdigest()[:16] for i in range(0, len(data), PAGE)]


def _h16(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def _torn(cur: bytes, orig: bytes | None, e: JournalEntry | None) -> bool:
    """True if `cur` is what an interrupted in-place write of the entry's new content over
    `orig` (or a file created for it: `orig` None), or of `orig` back over it, can leave (a
    kill, or a power cut that lost some of its pages: a filesystem writes data back in whole
    pages, and leaves a block whose data never reached the disk zero-filled): no longer than
    the longer of the two, and each 4 KB page the original's (its last page possibly followed
    by zeros, or cut where the new content ends), the new content's (by its recorded hash),
    zeros, the new content's last page then the original's tail, or the new content cut where
    the original ends (a restore truncates first). Anything else is a person's."""
    orig = orig or b""
    pages = (e.apages if e is not None else None) or []
    alen = (e.alen if e is not None else None) or 0
    acut = e.acut if e is not None else None
    olen = len(orig)
    n = len(cur)
    if n > max(olen, alen):
        return False
    for k, i in enumerate(range(0, n, PAGE)):
        block = cur[i:i + PAGE]
        o = orig[i:i + PAGE]
        if block == o or not block.strip(b"\0"):
            continue
        if o and block[:len(o)] == o and not block[len(o):].strip(b"\0"):
            continue  # the original's last page, the blocks past its end never written
        if n == alen and i + len(block) == n and block == o[:len(block)]:
            continue  # the original's page, cut where the new content ends
        if k < len(pages):
            cut = min(PAGE, alen - i)
            if _h16(block[:cut]) == pages[k] and block[cut:] == orig[i + cut:i + len(block)]:
                continue
        if acut and i < olen < i + PAGE and len(block) == olen - i and _h16(block) == acut:
            continue
        return False
    return True


def _links(e: JournalEntry) -> bool:
    """Whether the entry's path was a symlink before the transaction or is one after it."""
    return is_symlink_mode(e.before_mode) or is_symlink_mode(e.after_mode)


def _read_state(t: fsio.Tree, rel: str, *, links: bool = False) -> tuple[bytes | None, int | None]:
    """(content, mode) of `rel`; (None, None) if it (or its directory) is absent. With `links`
    (the manifest says the path is or was a symlink), a symlink reads as (its target,
    SYMLINK_MODE), never followed. Raises fsio.Replaced where something else than a regular
    file (or such a link) stands, or a directory on the way was replaced."""
    try:
        if links:
            st = t.lstat(rel)
            if st is not None and stat.S_ISLNK(st.st_mode):
                return t.readlink(rel), SYMLINK_MODE
        return t.read(rel)
    except FileNotFoundError:
        return None, None
    except NotADirectoryError:
        raise fsio.Replaced(20, "a directory on the way is a file now", rel) from None


def _judge(m: Manifest, e: JournalEntry, cur: bytes | None, cur_mode: int | None, orig: bytes | None) -> str:
    """'before' (nothing of the transaction there), 'ours' (exactly what the transaction wrote,
    or what an interrupted write of it leaves) or 'theirs' (anything else: a person's work)."""
    op = e.op
    h = ABSENT if cur is None else sha256(cur)
    if cur is None:
        if op == "create":
            return "before"
        if op == "delete":
            return "ours"
        if m.mode == "journal" and _links(e):
            return "ours"  # journal mode removes a link, or a file a link replaces, before creating anew
        return "theirs"  # the transaction never removes a replaced file: a person deleted it
    if h == e.before and cur_mode == e.before_mode:
        return "before"
    if h == e.after and cur_mode == e.after_mode:
        return "ours"
    modes = {e.before_mode, e.after_mode}
    if _links(e):
        return _judge_link(m, e, cur, cur_mode, orig)
    if m.mode == "journal":
        if op == "create":
            # created with mode 0600, written, then given its mode
            if cur_mode in (0o600, e.after_mode) and _torn(cur, None, e):
                return "ours"
        elif op == "replace":
            if cur_mode in modes and orig is not None and _torn(cur, orig, e):
                return "ours"
        elif op == "chmod":
            if h == e.before and cur_mode in modes:
                return "ours"
        elif op == "delete":
            # a restore re-creates it with mode 0600, writes it, then gives it its mode
            if cur_mode in modes | {0o600} and orig is not None and _torn(cur, orig, None):
                return "ours"
    elif op == "chmod" and h == e.before and cur_mode in modes:
        return "ours"
    return "theirs"


def _judge_link(m: Manifest, e: JournalEntry, cur: bytes, cur_mode: int | None, orig: bytes | None) -> str:
    """`_judge` for an entry whose path is or was a symlink, where `cur` (present) is neither
    exactly the before nor the after state. A link is created and removed whole, so only a
    regular file can be a state between: in journal mode, the new file written where the
    transaction removed a link, or the original file being restored where it removed the link
    it made. A link with another target is a person's."""
    if m.mode != "journal" or is_symlink_mode(cur_mode):
        return "theirs"
    if is_symlink_mode(e.before_mode) and not is_symlink_mode(e.after_mode) and e.after != ABSENT:
        # a link replaced by a file: created with mode 0600, written, then given its mode
        if cur_mode in (0o600, e.after_mode) and _torn(cur, None, e):
            return "ours"
    elif is_symlink_mode(e.after_mode) and e.before != ABSENT and not is_symlink_mode(e.before_mode):
        # a file replaced by a link: a rollback re-creates the file with mode 0600, writes it,
        # then gives it its mode
        if cur_mode in (e.before_mode, 0o600) and orig is not None and _torn(cur, orig, None):
            return "ours"
    return "theirs"


def rollback(ws: Workspace, tx: str, t: fsio.Tree | None = None) -> Rollback:
    """Restore the tree before transaction `tx` from its pending manifest, path by path, only
    where the path still holds what the transaction wrote: a person's later work is left alone
    (and reported, with the original kept). Drops the journal once nothing is left to decide.
    Looks only at the disk, so it can be interrupted and run again."""
    if t is None:
        with tree(ws) as own:
            return _rollback(ws, tx, own)
    return _rollback(ws, tx, t)


def _rollback(ws: Workspace, tx: str, t: fsio.Tree) -> Rollback:
    out = Rollback(tx)
    mrel = manifest_rel(tx)
    try:
        data, _ = t.read(mrel)
    except fsio.Replaced as err:
        out.damaged = f"is not a regular file ({err.strerror})"
        return out
    if data is None:
        # no manifest at all: only its stray backup directory (an interrupted prune)
        _drop(t, tx)
        fsio.fsync_dir(t, JOURNAL)
        return out
    got = decode_manifest(data)
    if got is None:
        out.damaged = "is damaged (truncated or altered: its checksum does not match)"
        out.known_paths = salvage_paths(data)
        return out
    raw, blobs = got
    m = parse_manifest(raw, tx, blobs)
    if isinstance(m, str):
        out.damaged = f"is not trustworthy: it {m}"
        return out
    out.manifest = m
    rewritten: list[str] = []
    touched: set[str] = set()
    kept_orig: list[tuple[str, bytes | None, bool]] = []
    for e in reversed(m.entries):
        rel = e.path
        try:
            orig = _original(t, m, blobs, e)
            cur, cur_mode = _read_state(t, rel, links=_links(e))
            verdict = _judge(m, e, cur, cur_mode, orig)
            if verdict == "theirs":
                out.kept.append((rel, "deleted since" if cur is None else "changed since"))
                kept_orig.append((rel, orig, is_symlink_mode(e.before_mode)))
            elif verdict == "ours":
                if m.mode == "rename":
                    _undo_rename_entry(t, tx, e, cur, orig, out, touched, rewritten)
                else:
                    _undo_journal_entry(t, e, cur, cur_mode, orig, out, touched, rewritten)
            if m.mode == "rename" and e.tmp and t.lstat(e.tmp) is not None:
                fsio.unlink(t, e.tmp)
                touched.add(_parent(e.tmp))
        except fsio.Replaced as x:
            if t.loose and not t.opened(rel) and not (e.tmp and t.opened(e.tmp)):
                continue  # in process: this transaction never reached that directory
            out.kept.append((rel, f"{x.filename}: {x.strerror}"))
            kept_orig.append((rel, None, False))
    for d in reversed(m.dirs):
        try:
            if t.is_dir(d):
                fsio.rmdir(t, d)
                touched.add(_parent(d))
        except fsio.Replaced:
            continue
        except OSError as x:
            if x.errno not in (39, 66, 17, 2):  # ENOTEMPTY (Linux, macOS), EEXIST, ENOENT
                raise
    live = []
    for d in sorted(touched):
        try:
            if d == "" or t.is_dir(d):   # the root first: is_dir("") is not a plain path
                live.append(d)
        except (fsio.Replaced, FileNotFoundError):
            continue
    fsio.sync_files(t, [p for p in rewritten if _reachable(t, p)], dirs=live)
    out.restored = sorted(set(out.restored))
    if out.kept:
        out.saved = _save_originals(t, tx, kept_orig)
        return out
    _drop(t, tx)
    fsio.unlink(t, mrel)
    fsio.fsync_dir(t, JOURNAL)
    return out


def _reachable(t: fsio.Tree, rel: str) -> bool:
    try:
        return t.lstat(rel) is not None
    except (fsio.Replaced, FileNotFoundError):
        return False


def _original(t: fsio.Tree, m: Manifest, blobs: bytes, e: JournalEntry) -> bytes | None:
    if e.before == ABSENT:
        return None
    if m.mode == "journal":
        return blobs[e.off:e.off + e.len] if e.off is not None and e.len is not None else None
    if e.backup is not None:
        try:
            data, _ = _read_state(t, f"{backup_rel(m.tx)}/{e.backup}",
                                  links=is_symlink_mode(e.before_mode))
        except fsio.Replaced:
            return None
        if data is not None and sha256(data) == e.before:
            return data
    return None


def _remove_created(t: fsio.Tree, rel: str, out: Rollback, touched: set[str]) -> None:
    """Roll back a file the transaction created: remove it."""
    fsio.unlink(t, rel)
    out.restored.append(rel)
    touched.add(_parent(rel))


def _undo_rename_entry(t, tx, e, cur, orig, out, touched, rewritten) -> None:
    rel, op = e.path, e.op
    if op == "create":
        _remove_created(t, rel, out, touched)
    elif op in ("replace", "delete"):
        if orig is None:
            out.kept.append((rel, f"its backup in .wopt/journal/{tx}/ is missing or damaged"))
            return
        fsio.rename(t, f"{backup_rel(tx)}/{e.backup}", rel)  # the original inode, or a copy
        out.restored.append(rel)
        touched.add(_parent(rel))
    elif op == "chmod":
        fsio.chmod(t, rel, e.before_mode)
        out.restored.append(rel)
        rewritten.append(rel)


def _undo_journal_entry(t, e, cur, cur_mode, orig, out, touched, rewritten) -> None:
    rel, op = e.path, e.op
    if op == "create":
        _remove_created(t, rel, out, touched)
        return
    if op in ("replace", "delete"):
        if cur is not None and (is_symlink_mode(cur_mode) or is_symlink_mode(e.before_mode)) \
                and (cur != orig or cur_mode != e.before_mode):
            fsio.unlink(t, rel)  # a link is replaced whole, never written through
            touched.add(_parent(rel))
            cur = None
        if cur is None and is_symlink_mode(e.before_mode):
            fsio.symlink(t, orig, rel)
            touched.add(_parent(rel))
            out.restored.append(rel)
            return
        if cur is None:
            fsio.write_new_file(t, rel, orig, e.before_mode, sync=False)
            rewritten.append(rel)
            touched.add(_parent(rel))
            out.restored.append(rel)
            return
        if cur != orig:
            fsio.restore_file(t, rel, orig)
            rewritten.append(rel)
            out.restored.append(rel)
    if cur_mode != e.before_mode:
        fsio.chmod(t, rel, e.before_mode)
        if rel not in rewritten:
            rewritten.append(rel)
        out.restored.append(rel)


RECOVERED = ".wopt/recovered"


def _save_originals(t: fsio.Tree, tx: str, kept: list[tuple[str, bytes | None, bool]]) -> str | None:
    """Copy the originals of the paths left for a person's decision to
    `.wopt/recovered/<tx>/<path>` (once), so they can be compared and taken back by hand."""
    base = f"{RECOVERED}/{tx}"
    saved = False
    for rel, orig, link in kept:
        if orig is None:
            continue
        dst = f"{base}/{rel}"
        try:
            fsio.makedirs(t, _parent(dst))
            if t.lstat(dst) is None:
                if link:
                    fsio.symlink(t, orig, dst)  # an original link, as a link (never followed by wopt)
                else:
                    fsio.write_new_file(t, dst, orig, 0o600)
            saved = True
        except fsio.Replaced:
            continue
    if saved:
        fsio.fsync_dir(t, base)
    return base if saved else None


def resolve(ws: Workspace, tx: str) -> None:
    """A person decided about every path of an interrupted transaction: drop its journal (the
    files stay as they are; `.wopt/recovered/<tx>/` stays for the person to delete)."""
    with tree(ws) as t:
        mrel = manifest_rel(tx)
        _drop(t, tx)
        if t.lstat(mrel) is not None:
            fsio.unlink(t, mrel)
        fsio.fsync_dir(t, JOURNAL)


def _drop(t: fsio.Tree, tx: str) -> None:
    bdir = backup_rel(tx)
    st = t.lstat(bdir)
    if st is None:
        return
    if not stat.S_ISDIR(st.st_mode):
        fsio.unlink(t, bdir)
        return
    for name in sorted(t.listdir(bdir)):
        fsio.unlink(t, f"{bdir}/{name}")
    fsio.rmdir(t, bdir)


# ---------------------------------------------------------------------------- committed journals

def committed_original(ws: Workspace, m: Manifest, blobs: bytes, entry: JournalEntry,
                       t: fsio.Tree | None = None) -> bytes | None:
    """The bytes a committed transaction's entry had before it (None: absent)."""
    if entry.before == ABSENT:
        return None
    if m.mode == "journal":
        if entry.off is not None and entry.len is not None:
            return blobs[entry.off:entry.off + entry.len]
    own = t is None
    t = t or tree(ws)
    try:
        if m.mode != "journal" and entry.backup is not None:
            # an original link was backed up as a link: its target
            return _read_state(t, f"{backup_rel(m.tx)}/{entry.backup}",
                               links=is_symlink_mode(entry.before_mode))[0]
        # chmod-only: the content never changed
        return t.read(entry.path)[0]
    except (fsio.Replaced, FileNotFoundError):
        return None
    finally:
        if own:
            t.close()


def load_committed(ws: Workspace, tx: str) -> tuple[Manifest, bytes, str] | None:
    """(manifest, blob area, state) of a finished transaction `tx`, or None."""
    if not valid_tx(tx):
        return None
    with tree(ws) as t:
        for state in (COMMITTED, FINISHING, UNDONE):
            try:
                got = read_manifest(manifest_rel(tx, state), t)
            except (fsio.Replaced, FileNotFoundError):
                got = None
            m = parse_manifest(got[0], tx, got[1]) if got is not None else None
            if isinstance(m, Manifest) and got is not None:
                return m, got[1], state
    return None


def list_transactions(ws: Workspace) -> list[tuple[str, str]]:
    """(tx id, state) of every journal file, oldest first."""
    try:
        with tree(ws) as t:
            names = t.listdir(JOURNAL)
    except (FileNotFoundError, fsio.Replaced):
        return []
    out = []
    for n in names:
        for state in STATES:
            if n.endswith(state) and valid_tx(n[: -len(state)]):
                out.append((n[: -len(state)], state))
    out.sort()
    return out


def mark_undone(ws: Workspace, tx: str, t: fsio.Tree | None = None) -> None:
    own = t is None
    t = t or tree(ws)
    try:
        src = manifest_rel(tx, COMMITTED)
        if t.lstat(src) is not None:
            fsio.rename(t, src, manifest_rel(tx, UNDONE))
            fsio.fsync_dir(t, JOURNAL)
    finally:
        if own:
            t.close()


KEEP = 200  # committed transactions whose originals are kept for undo


def prune(ws: Workspace, keep: int | None = None) -> list[str]:
    """Drop the journals of all but the newest `keep` finished transactions (their undo is no
    longer possible). The manifest goes first, so an interrupted prune leaves only a stray
    backup directory, which recovery removes. Returns the dropped tx ids."""
    keep = KEEP if keep is None else keep
    done = [tx for tx, state in list_transactions(ws) if state in (COMMITTED, UNDONE)]
    old = done[:-keep] if keep > 0 else done
    if not old:
        return old
    with tree(ws) as t:
        for tx in old:
            for state in (COMMITTED, UNDONE):
                rel = manifest_rel(tx, state)
                if t.lstat(rel) is not None:
                    fsio.unlink(t, rel)
            _drop(t, tx)
    return old


# ---------------------------------------------------------------------------- undo bookkeeping

def remove_dirs(t: fsio.Tree, dirs: Sequence[str]) -> list[str]:
    """Remove the directories `dirs` (deepest first) that are empty now; fsync their parents.
    A directory that is not empty, gone, or no longer a directory stays as it is."""
    parents: set[str] = set()
    removed: list[str] = []
    for d in sorted(dirs, key=lambda x: (-x.count("/"), x)):
        try:
            if t.is_dir(d) and not t.listdir(d):
                fsio.rmdir(t, d)
                removed.append(d)
                parents.add(_parent(d))
        except (fsio.Replaced, FileNotFoundError, NotADirectoryError):
            continue
        except OSError as x:
            if x.errno not in (39, 66, 17, 2):
                raise
    for p in sorted(parents):
        if p in removed:
            continue
        try:
            fsio.fsync_dir(t, p)
        except (fsio.Replaced, FileNotFoundError):
            continue
    return removed


def finish_undo(ws: Workspace, tx: str, *, record: HistoryRecord | None = None,
                t: fsio.Tree | None = None) -> str | None:
    """Complete the bookkeeping of undo `tx` past its commit point (`<tx>.finishing`): mark
    the transaction it undoes undone, remove that transaction's new directories if empty,
    append the undo's history record (once), then rename the manifest to `<tx>.committed`.
    Each step is idempotent, so an interruption anywhere is completed by recovery. Returns the
    id of the undone transaction."""
    own = t is None
    t = t or tree(ws)
    try:
        got = read_manifest(manifest_rel(tx, FINISHING), t)
        m = parse_manifest(got[0], tx, got[1]) if got is not None else None
        if not isinstance(m, Manifest):
            raise ApplyError(f".wopt/journal/{tx}{FINISHING} is damaged: the undo {tx} is in effect but its "
                             "records cannot be completed",
                             hint="check `wopt history`, then remove that file by hand")
        target = m.undoes
        if target is not None and valid_tx(target):
            mark_undone(ws, target, t)
            orig = read_manifest(manifest_rel(target, UNDONE), t)
            undone = parse_manifest(orig[0], target, orig[1]) if orig is not None else None
            if isinstance(undone, Manifest):
                remove_dirs(t, undone.dirs)
        else:
            target = None
        from ..store.history import append, read_history
        from ..store.history_record import HistoryRecord
        if not any(r.get("tx") == tx for r in read_history(ws)):
            rec = record or HistoryRecord(tx=tx, plan=m.plan, kind="undo", mode=m.mode, outcome="committed",
                                          started=m.started, files=len(m.entries), steps=m.steps,
                                          paths=[e.path for e in m.entries], undoes=target)
            append(ws, rec, t=t, sync=True)
        fsio.rename(t, manifest_rel(tx, FINISHING), manifest_rel(tx, COMMITTED))
        fsio.fsync_dir(t, JOURNAL)
        return target
    finally:
        if own:
            t.close()
