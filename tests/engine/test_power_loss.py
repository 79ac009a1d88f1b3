"""Power-loss crash consistency: durability, not only atomicity.

The crash matrix (test_crash_matrix.py) kills the process after every I/O operation; the page
cache survives a SIGKILL, so it proves atomicity, not durability. Here an apply (both modes,
both sync paths: syncfs and fsync per file), an undo, and recovery itself run in-process with
the `os` module that `engine/store/fsio.py` sees replaced by a recorder (powerloss_model.py): every
write-side call, by path or relative to a directory fd, is recorded as an operation on a model
of the filesystem that knows, per inode and directory, what is volatile and what is durable
under POSIX rules (as ALICE and CrashMonkey model a crash): an fsync of a file makes its data
and mode durable (not its name), an fsync of a directory its entries, syncfs everything;
nothing else is durable. A rename is atomic (as on every journaling filesystem).

At every crash point (after each operation) the states a power cut could leave (durable state
only, every prefix of each directory's unsynced entry operations, file data persisted, lost
or torn per file (in whole 4 KB pages: zero-filled past what reached the disk, or shorter),
metadata without data and the reverse, and the process-crash state) are each written into a
fresh workspace (`.wopt/` included); wopt's recovery runs there, and the tree must then be
byte for byte the tree before or the tree after (files, modes, directories, no stray file),
with `.wopt/` agreeing: an after tree is a committed transaction that `undo` restores, a
before tree has no committed record and no leftovers; for an undo, the history shows it (and
the apply undone by it) exactly when it took effect. Once the call has returned, only the
after tree is acceptable (durability).

Then every fsync, directory fsync and syncfs is shown load-bearing: with that one operation
treated as never done, some crash point breaks the rule; the few the model shows redundant are
named with the reason. And the manifest's fsync and its directory's fsync, removed for real,
are caught.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
from pathlib import Path

import pytest

from conftest import copy_tree, diff_snap, snapshot, w
from powerloss_model import Analysis, NoDurability, Recorder, RecorderError, Verdict, materialize
from wopt.engine.store import fsio, spool
from wopt.engine.tx import transaction as txn
from wopt.engine.tx.apply import apply_plan, undo
from wopt.engine.model.errors import NotFound, WoptError
from wopt.engine.store.history import read_history
from wopt.engine.store.ingest import ingest
from wopt.engine.model.plan import decode_plan
from wopt.engine.tx.recovery import needs_recovery, recover
from wopt.engine.store.workspace import Workspace

# bookkeeping written outside fsio, not part of the commit protocol: the lock's holder record,
# the plan's review record and its locks (a lost review record shows the plan pending again).
# The history goes through fsio.
UNMODELLED = {".wopt/lock", ".wopt/reviews/pl.json", ".wopt/reviews/.pl.lock",
              ".wopt/plans/.pl.lock", ".wopt/reviews/ch.json", ".wopt/reviews/.ch.lock", ".wopt/plans/.ch.lock"}

# several 4 KB pages each, so a power cut can tear them (the model tears whole pages)
NOTES_V1 = "".join(f"notes, first version, line {i}\n" for i in range(300))     # 3 pages
NOTES_V2 = "".join(f"notes, second version, line {i}\n" for i in range(400))    # 4 pages
NEW_PY = "".join(f"NEW_{i} = {i}\n" for i in range(1000))                        # 4 pages

PLAN = {"version": 1, "id": "pl", "title": "power loss", "steps": [
    {"kind": "write", "id": "s1", "path": "notes.txt", "content": NOTES_V2},
    {"kind": "delete", "id": "s2", "path": "old.txt"},
    {"kind": "write", "id": "s3", "path": "src/app.py", "content": "print('v2')\n", "mode": "755"},
    {"kind": "write", "id": "s4", "path": "src/new.py", "content": NEW_PY},
    {"kind": "write", "id": "s5", "path": "pkg/__init__.py", "content": "PKG = 1\n"},
]}


@pytest.fixture(autouse=True)
def _no_faults(monkeypatch):
    monkeypatch.delenv("WOPT_FAULT", raising=False)
    monkeypatch.delenv("WOPT_SYNC", raising=False)
    fsio.configure("")
    yield
    fsio.configure("")


@pytest.fixture
def scratch(tmp_path):
    """Where the power-cut states are written and recovered: a memory filesystem when there is
    one (hundreds of small trees; directory removal on a busy disk is slow), else tmp_path."""
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK | os.X_OK):
        d = Path(tempfile.mkdtemp(prefix="wopt-powerloss-", dir=shm))
        yield d
        shutil.rmtree(d)
    else:
        yield tmp_path / "states"


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """Two directories, four files (one executable), the plan ingested: one replace in each
    directory, one delete, one create, one create in a new directory."""
    root = tmp_path_factory.mktemp("pl-template") / "ws"
    root.mkdir()
    (root / ".git").mkdir()
    w(root, "notes.txt", NOTES_V1)
    w(root, "old.txt", "obsolete\n", 0o640)
    w(root, "src/app.py", "print('v1')\n", 0o755)
    w(root, "src/util.py", "X = 1\n")
    ws = Workspace(root)
    ingest(ws, decode_plan(json.dumps(PLAN)))
    (root / ".wopt" / "lock").touch()
    return root


def _record(monkeypatch, tmp_path, call, ws_dir, drop=None) -> tuple[Recorder, object]:
    rec = Recorder(ws_dir, phase=fsio.phase, drop=drop)
    try:
        with monkeypatch.context() as m:
            rec.patch(m, fsio)
            result = call(Workspace(ws_dir))
    finally:
        assert not rec.errors, f"the recording failed: {rec.errors}"
    rec.check_model_matches_disk(UNMODELLED)
    return rec, result


class Scenario:
    def __init__(self, rec, before, after, evaluate, scratch, label, monkeypatch, tx=None):
        self.rec = rec
        self.tx = tx
        self.before = before
        self.after = after

        @contextlib.contextmanager
        def quiet():
            with monkeypatch.context() as m:
                NoDurability.patch(m, fsio)
                yield
        self.analysis = Analysis(rec, evaluate, scratch, quiet)
        self.label = label


# ---------------------------------------------------------------------------- judges

def _apply_judge(before: dict, after: dict, tx: str):
    def evaluate(path) -> Verdict:
        ws = Workspace(path)
        try:
            recover(ws)
        except Exception as e:  # noqa: BLE001 - any failure of recovery is the finding
            return Verdict(None, [f"recovery failed: {type(e).__name__}: {e}"])
        snap = snapshot(path)
        problems = []
        if needs_recovery(ws):
            problems.append("recovery left an unfinished transaction in .wopt/journal")
        got = txn.load_committed(ws, tx)
        if snap == after:
            if got is None or got[2] != txn.COMMITTED:
                problems.append("the after tree, but no committed record of the apply in .wopt/journal")
                return Verdict("after", problems)
            try:
                undo(ws, lock_timeout=0)
            except WoptError as e:
                problems.append(f"undo of the committed apply failed: {e}")
            else:
                back = snapshot(path)
                if back != before:
                    problems.append("undo of the committed apply did not give the before tree back:\n"
                                    + diff_snap(before, back))
            return Verdict("after", problems)
        if snap == before:
            if got is not None:
                problems.append("the before tree, yet the apply is recorded as committed")
            if txn.backup_dir(ws, tx).exists():
                problems.append("the backups of the rolled-back apply were left in .wopt/journal")
            try:
                undo(ws, lock_timeout=0)
                problems.append("undo found something to undo after a rolled-back apply")
            except NotFound:
                pass
            return Verdict("before", problems)
        return Verdict(None, ["neither the before nor the after tree; against before:\n"
                              + diff_snap(before, snap) + "\nagainst after:\n" + diff_snap(after, snap)])
    return evaluate


def _undo_records(ws: Workspace, apply_tx: str, undo_tx: str) -> tuple[bool, bool]:
    """(the history has the undo's committed record, it shows the apply undone by it)."""
    recs = read_history(ws)
    undo_rec = any(r.get("tx") == undo_tx and r.get("kind") == "undo" and r.get("outcome") == "committed"
                   for r in recs)
    shown = any(r.get("tx") == apply_tx and r.get("undone_by") == undo_tx for r in recs)
    return undo_rec, shown


def _undo_judge(applied: dict, original: dict, apply_tx: str, undo_tx: str):
    """For an undo, "before" is the applied tree and "after" the original one; its records
    must agree (the journal's states, and the history a person reads: the undo's record, the
    apply shown undone by it, exactly when the undo took effect). Problems of the kind issue 7
    had (an interrupted undo leaves the apply marked committed and its new directories behind)
    are reported apart, so they can be told apart."""
    created = applied["dirs"] - original["dirs"]

    def evaluate(path) -> Verdict:
        ws = Workspace(path)
        try:
            recover(ws)
        except Exception as e:  # noqa: BLE001
            return Verdict(None, [f"recovery failed: {type(e).__name__}: {e}"])
        snap = snapshot(path)
        problems, known = [], []
        if needs_recovery(ws):
            problems.append("recovery left an unfinished transaction in .wopt/journal")
        a = txn.load_committed(ws, apply_tx)
        u = txn.load_committed(ws, undo_tx)
        undo_rec, shown = _undo_records(ws, apply_tx, undo_tx)
        if snap == applied:
            if a is None or a[2] != txn.COMMITTED:
                problems.append("the applied tree, but the apply is no longer recorded as committed")
            if u is not None:
                problems.append("the applied tree, yet the undo is recorded as committed")
            if undo_rec or shown:
                problems.append("the applied tree, yet the history shows the undo committed")
            try:
                undo(ws, lock_timeout=0)
            except WoptError as e:
                problems.append(f"undo after the rolled-back undo failed: {e}")
            else:
                back = snapshot(path)
                if back != original:
                    problems.append("the repeated undo did not give the original tree:\n"
                                    + diff_snap(original, back))
            return Verdict("before", problems, known)
        left = snap["dirs"] - original["dirs"]
        if snap["files"] == original["files"] and original["dirs"] <= snap["dirs"] and left <= created:
            if left:
                known.append("the undone apply's new directories stay behind: " + ", ".join(sorted(left)))
            if u is None or u[2] != txn.COMMITTED:
                problems.append("the original tree, but no committed record of the undo")
            if not undo_rec or not shown:
                problems.append("the original tree, but the history does not show the undo "
                                + ("(no record of it)" if not undo_rec else "(the apply is not shown undone)"))
            if a is None or a[2] != txn.UNDONE:
                known.append("the undo took effect, yet the apply is still marked committed "
                             "(a second undo is refused, naming every file)")
            return Verdict("after", problems, known)
        return Verdict(None, ["neither the applied nor the original tree; against the applied tree:\n"
                              + diff_snap(applied, snap) + "\nagainst the original tree:\n"
                              + diff_snap(original, snap)])
    return evaluate


# ---------------------------------------------------------------------------- scenarios

def _apply_scenario(monkeypatch, tmp_path, scratch, template, mode, sync, drop=None) -> Scenario:
    monkeypatch.setenv("WOPT_SYNC", sync)
    ws_dir = copy_tree(template, tmp_path / "rec")
    before = snapshot(ws_dir)
    rec, res = _record(monkeypatch, tmp_path, lambda ws: apply_plan(ws, spool.load_plan(ws, "pl"), mode=mode),
                       ws_dir, drop)
    assert res.outcome == "committed"
    after = snapshot(ws_dir)
    assert after != before
    return Scenario(rec, before, after, _apply_judge(before, after, res.tx), scratch,
                    f"apply --mode {mode}, WOPT_SYNC={sync}", monkeypatch, res.tx)


def _undo_scenario(monkeypatch, tmp_path, scratch, template, mode, sync) -> Scenario:
    monkeypatch.setenv("WOPT_SYNC", sync)
    ws_dir = copy_tree(template, tmp_path / "rec")
    original = snapshot(ws_dir)
    ws = Workspace(ws_dir)
    a = apply_plan(ws, spool.load_plan(ws, "pl"), mode=mode)
    applied = snapshot(ws_dir)
    rec, u = _record(monkeypatch, tmp_path, lambda ws: undo(ws), ws_dir)
    assert u.outcome == "committed" and u.undoes == a.tx
    assert snapshot(ws_dir) == original
    return Scenario(rec, applied, original, _undo_judge(applied, original, a.tx, u.tx),
                    scratch, f"undo of an apply --mode {mode}, WOPT_SYNC={sync}", monkeypatch)


# the plan's review record (`.wopt/reviews/`, written after the commit to say which steps the
# transaction carried out) is bookkeeping outside the commit protocol, as UNMODELLED says: its
# syncs are not the protocol's, and are not required to be load-bearing
BOOKKEEPING = (".wopt/reviews", ".wopt/plans")


def _syncs(rec: Recorder) -> list[int]:
    return [i for i, op in enumerate(rec.ops) if op.is_sync
            and not any(b in op.label for b in BOOKKEEPING)]


def _norm(label: str) -> str:
    """A sync operation's label with the transaction id taken out."""
    return re.sub(r"\d{8}-\d{6}-\d{6}[0-9a-f]{2}", "<tx>", label)


def _assert_consistent(sc: Scenario, **kw) -> None:
    bad = sc.analysis.violations(**kw)
    assert not bad, f"{sc.label}: {len(bad)} violation(s); the first:\n" + "\n".join(map(str, bad[:5]))


def _assert_load_bearing(sc: Scenario, *, tolerate_known: bool = False,
                         redundant: frozenset = frozenset()) -> list[str]:
    """Each sync operation, treated as absent, breaks some crash point, but for the `redundant`
    ones (labels), which must be exactly those that do not. Returns the load-bearing labels."""
    ops = sc.rec.ops
    idle, shown = [], []
    for i in _syncs(sc.rec):
        bad = sc.analysis.violations(absent=i, first_only=True, tolerate_known=tolerate_known)
        (shown if bad else idle).append(_norm(ops[i].label))
    assert set(idle) == set(redundant), f"{sc.label}: not load-bearing in the model: {idle}"
    return shown


# ---------------------------------------------------------------------------- tests

MODES = ("rename", "journal")
SYNCS = ("auto", "fsync")

# Syncs the model shows are not needed, each with the reason; the test requires exactly these
# (so a new redundant sync, or a fix, is noticed):
# - rename mode, fsync path: the prepare pass fsyncs the parent of each new directory; the sync
#   phase fsyncs the same parents again before the commit point, and nothing needs the new
#   directory durable earlier (a crash before the commit point rolls back; the manifest lists
#   the directory). With syncfs, that pass is one call, which the temporaries' data needs.
REDUNDANT_APPLY = {("rename", "fsync"): {"prepare: fsync_dir . (in _commit_rename)"}}
# - an undo (its commit point is the rename of its manifest to `.finishing`; what follows is
#   bookkeeping, which recovery completes from `.finishing`, idempotently):
#   * the finalize's fsync of .wopt/journal and mark_undone's fsync of .wopt/journal are each
#     redundant given the other: nothing is written between them outside .wopt/journal, and a
#     directory fsync persists every earlier entry operation of that directory (the
#     `.finishing` rename, then the apply's `.undone` mark). One of the two is needed (the
#     removal of the apply's new directories must not be durable before `.finishing` is):
#     removing both is caught (test_undo_survives_power_loss_at_every_operation);
#   * finish_undo's last fsync of .wopt/journal persists the rename `.finishing` ->
#     `.committed`: if a power cut loses it, recovery finds `.finishing` and completes it again
#     (the history record already there is not repeated), and the tree, the journal's states
#     and the history then agree.
#   The history's fsync is load-bearing: without it a power cut after the undo returned can
#   lose the undo's record, and nothing would write it again.
REDUNDANT_UNDO = {"finalize: fsync_dir .wopt/journal (in _commit)",
                  "finish: fsync_dir .wopt/journal (in mark_undone)",
                  "finish: fsync_dir .wopt/journal (in finish_undo)"}
# each redundant alone, not together
REDUNDANT_UNDO_PAIR = ("finalize: fsync_dir .wopt/journal (in _commit)",
                       "finish: fsync_dir .wopt/journal (in mark_undone)")


@pytest.mark.parametrize("sync", SYNCS)
@pytest.mark.parametrize("mode", MODES)
def test_apply_survives_power_loss_at_every_operation(mode, sync, template, tmp_path, scratch, monkeypatch):
    sc = _apply_scenario(monkeypatch, tmp_path, scratch, template, mode, sync)
    ops = sc.rec.ops
    assert len(ops) >= 15, [o.label for o in ops]
    if sync == "auto" and fsio._syncfs_fn() is not None:
        assert any(o.kind == "syncfs" for o in ops), "syncfs was available but not recorded"
    if sync == "fsync":
        assert not any(o.kind == "syncfs" for o in ops)
    _assert_consistent(sc)
    assert sc.analysis.runs >= 20  # really many distinct power-cut states, each recovered
    # every fsync, directory fsync and syncfs is load-bearing
    shown = _assert_load_bearing(sc, redundant=REDUNDANT_APPLY.get((mode, sync), set()))
    assert "journal: fsync_dir .wopt/journal (in _commit)" in shown


@pytest.mark.parametrize("sync", SYNCS)
@pytest.mark.parametrize("mode", MODES)
def test_undo_survives_power_loss_at_every_operation(mode, sync, template, tmp_path, scratch, monkeypatch):
    """The undo's files, journal states and history: all-applied or all-original at every
    crash point, its bookkeeping included. Every sync load-bearing but the named ones, and
    the two that cover each other cannot both go."""
    sc = _undo_scenario(monkeypatch, tmp_path, scratch, template, mode, sync)
    _assert_consistent(sc)
    shown = _assert_load_bearing(sc, redundant=REDUNDANT_UNDO)
    assert "finish: fsync .wopt/history.jsonl (in append)" in shown
    pair = {i for i in _syncs(sc.rec) if _norm(sc.rec.ops[i].label) in REDUNDANT_UNDO_PAIR}
    assert len(pair) == 2
    assert sc.analysis.violations(absent=pair, first_only=True), \
        f"{sc.label}: the undo's commit point is never made durable, unnoticed"


def test_undo_bookkeeping_is_atomic_under_power_loss(template, tmp_path, scratch, monkeypatch):
    """Issue 7: a power cut between the undo's commit point and its bookkeeping (the apply's
    undone mark, the removal of its new directories, the history record) never leaves the
    apply marked committed or its directories behind: recovery completes them."""
    sc = _undo_scenario(monkeypatch, tmp_path, scratch, template, "rename", "auto")
    _assert_consistent(sc)


@pytest.mark.parametrize("mode", MODES)
def test_removing_the_manifest_fsyncs_is_caught(mode, template, tmp_path, scratch, monkeypatch):
    """Issue 10's claim: without the manifest's fsync and its directory's fsync (really
    skipped here: the syscalls never run) the test fails."""
    def drop(phase: str, label: str) -> bool:
        return phase == "journal"
    sc = _apply_scenario(monkeypatch, tmp_path, scratch, template, mode, "fsync", drop=drop)
    assert len(sc.rec.dropped) == 2, sc.rec.dropped
    assert any(".pending" in d for d in sc.rec.dropped)
    assert any("fsync_dir .wopt/journal" in d for d in sc.rec.dropped)
    bad = sc.analysis.violations(first_only=True)
    assert bad, "a power cut without the manifest's fsyncs went unnoticed"


def test_recorder_follows_dir_fd_calls(tmp_path, monkeypatch):
    """The recorder models `dir_fd=` calls as it models path calls (the I/O layer may
    operate relative to directory handles)."""
    import os
    root = tmp_path / "ws"
    root.mkdir()
    (root / "d").mkdir()
    w(root, "d/a.txt", "a\n")
    rec = Recorder(root)

    class Fake:
        pass
    fake = Fake()
    fake.os = os
    with monkeypatch.context() as m:
        rec.patch(m, fake)
        px = fake.os
        dfd = px.open(str(root / "d"), os.O_RDONLY | os.O_DIRECTORY)
        fd = px.open("b.txt", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600, dir_fd=dfd)
        px.write(fd, b"bee\n")
        px.fchmod(fd, 0o640)
        px.fsync(fd)
        px.close(fd)
        px.rename("b.txt", "c.txt", src_dir_fd=dfd, dst_dir_fd=dfd)
        px.unlink("a.txt", dir_fd=dfd)
        px.mkdir("sub", 0o755, dir_fd=dfd)
        px.fsync(dfd)
        px.close(dfd)
    rec.check_model_matches_disk(set())
    kinds = [o.kind for o in rec.ops]
    assert kinds == ["create", "write", "chmod", "fsync", "rename", "unlink", "mkdir", "fsync"]
    durable = rec.fs.tree(set(), lambda _i: "d")
    assert durable["d/c.txt"][2:] == (b"bee\n", 0o640) and "d/a.txt" not in durable and "d/sub" in durable
    # a write that bypasses the recorder is noticed
    (root / "d" / "c.txt").write_bytes(b"changed behind its back\n")
    with pytest.raises(RecorderError, match="d/c.txt"):
        rec.check_model_matches_disk(set())



CHMOD_PLAN = {"version": 1, "id": "ch", "title": "modes", "steps": [
    {"kind": "chmod", "id": "c1", "path": "src/util.py", "mode": "600"},
    {"kind": "write", "id": "c2", "path": "notes.txt", "content": "notes, third version\n", "mode": "600"},
]}


@pytest.mark.parametrize("mode,sync", [(m, s) for m in MODES for s in SYNCS])
def test_mode_only_change_survives_power_loss(mode, sync, template, tmp_path, scratch, monkeypatch):
    """A step that changes only a file's mode, beside one that writes another file."""
    monkeypatch.setenv("WOPT_SYNC", sync)
    ws_dir = copy_tree(template, tmp_path / "rec")
    ingest(Workspace(ws_dir), decode_plan(json.dumps(CHMOD_PLAN)))
    before = snapshot(ws_dir)
    rec, res = _record(monkeypatch, tmp_path,
                       lambda ws: apply_plan(ws, spool.load_plan(ws, "ch"), mode=mode), ws_dir)
    after = snapshot(ws_dir)
    assert after["files"]["src/util.py"] == (b"X = 1\n", 0o600)
    sc = Scenario(rec, before, after, _apply_judge(before, after, res.tx), scratch,
                  f"mode-only change, --mode {mode}, WOPT_SYNC={sync}", monkeypatch)
    _assert_consistent(sc)
    _assert_load_bearing(sc)


def _recovery_judge(original: dict, tx: str):
    """After a power cut during recovery, the next recovery gives the original tree. Once
    recovery returned, its outcome must be durable as it is: no manifest comes back for a
    later recovery to act on again (over a person's later work)."""
    def evaluate(path) -> Verdict:
        ws = Workspace(path)
        again = needs_recovery(ws)
        try:
            recover(ws)
        except Exception as e:  # noqa: BLE001
            return Verdict(None, [f"recovery failed: {type(e).__name__}: {e}"])
        snap = snapshot(path)
        problems = []
        if snap != original:
            problems.append("not the tree before the apply:\n" + diff_snap(original, snap))
        if needs_recovery(ws):
            problems.append("recovery left an unfinished transaction in .wopt/journal")
        if txn.load_committed(ws, tx) is not None:
            problems.append("the rolled-back apply is recorded as committed")
        if txn.backup_dir(ws, tx).exists():
            problems.append("the backups of the rolled-back apply were left in .wopt/journal")
        if problems:
            return Verdict(None, problems)
        return Verdict("unfinished, recovery runs again" if again else "after", [])
    return evaluate


@pytest.mark.parametrize("sync", SYNCS)
@pytest.mark.parametrize("mode", MODES)
def test_recovery_survives_power_loss(mode, sync, template, tmp_path, scratch, monkeypatch):
    """A crash just before the commit point (every file in place, the manifest pending), then
    recovery, cut by a power loss after each of its operations: the next recovery still gives
    the tree before the apply; once recovery returned, that tree is durable."""
    ap = _apply_scenario(monkeypatch, tmp_path, scratch, template, mode, sync)
    ops = ap.rec.ops
    fin = next(i for i, o in enumerate(ops) if o.kind == "rename" and ".committed" in o.label)
    fs = ap.rec.initial.clone()
    for op in ops[:fin]:
        fs.apply(op)
    crashed = tmp_path / "crashed"
    crashed.mkdir()
    materialize(fs.tree(None, lambda _i: "v"), crashed)
    assert snapshot(crashed) == ap.after  # every file in place, not yet committed
    assert (crashed / ".wopt" / "journal" / f"{ap.tx}.pending").is_file()
    rec, lines = _record(monkeypatch, tmp_path, lambda ws: recover(ws), crashed)
    assert len(lines) == 1 and "rolled back" in lines[0], lines
    assert snapshot(crashed) == ap.before
    sc = Scenario(rec, None, ap.before, _recovery_judge(ap.before, ap.tx), scratch / "rec",
                  f"recovery of an apply --mode {mode}, WOPT_SYNC={sync}", monkeypatch)
    _assert_consistent(sc)
    _assert_load_bearing(sc)
