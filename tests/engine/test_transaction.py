"""The transaction in process and through the CLI: bytes and modes, both modes, in-place writes
keeping inodes and hard links, stale detection, the lock, unwritable targets, fsync errors,
progress events, the history record, reviews and previews."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import WOPT, copy_tree, diff_snap, run_wopt, snapshot, w
from wopt.engine.store import fsio, spool
from wopt.engine.model import events as ev
from wopt.engine.tx.apply import apply_plan, preview
from wopt.engine.model.errors import ApplyError, LockBusy, StaleError
from wopt.engine.store.history import read_history
from wopt.engine.store.lock import file_lock
from wopt.engine.model.plan import decode_plan, sha256
from wopt.engine.model.review import Review
from wopt.engine.store.workspace import Workspace


@pytest.fixture(autouse=True)
def _no_faults(monkeypatch):
    monkeypatch.delenv("WOPT_FAULT", raising=False)
    fsio.configure("")
    yield
    fsio.configure("")


def _plan(ws: Workspace, steps: list[dict], pid: str = "p", *, store: bool = True):
    plan = decode_plan(json.dumps({"version": 1, "id": pid, "steps": steps}))
    if not store:
        return plan
    from wopt.engine.store.ingest import ingest
    return ingest(ws, plan)


EXPECTED = {
    "src/new_module.py": (b"VALUE = 42\n", 0o644),
    "README.md": (b"# shop\n\nA bigger shop.\n", 0o644),
    "src/app.py": (b"import util\n\ndef main() -> int:\n    return util.total([1, 2, 3])\n", 0o644),
    "src/util.py": (b"def total(xs):\n    # sum of xs\n    return sum(xs)\n", 0o600),
    "scripts/run.sh": (b"#!/bin/sh\necho run\n", 0o644),
    "scripts/build.sh": (b"#!/bin/sh\necho build\n", 0o755),
    "bin/tool.sh": (b"#!/bin/sh\necho tool\n", 0o755),
    "pkg/a/b/c/__init__.py": (b"C = 1\n", 0o644),
    "pkg/a/__init__.py": (b"", 0o644),
    "pkg/a/b/__init__.py": (b"B = 1\n", 0o644),
    "data/blob.bin": (bytes(range(255, -1, -1)) * 3, 0o644),
    "src/models/user.py": (b"class User:\n    name = 'guest'\n", 0o644),
    "config.json": (b'{"debug": true}\n', 0o644),
    "tests/test_new.py": (b"def test_new():\n    assert 1\n", 0o644),
    "manual/guide.md": (b"# Guide\n\nRead me.\n", 0o644),
    "src/compat/legacy.py": (b"OLD = True\n", 0o644),
    "docs/index.md": (b"index\r\nwith CRLF\r\n", 0o644),
}
GONE = ("docs/old.md", "docs/guide.md", "tests/test_old.py", "src/legacy.py")


@pytest.mark.parametrize("mode", ["rename", "journal"])
def test_apply_writes_exact_bytes_and_modes(mixed_ws, mode):
    os.umask(0o022)
    ws = Workspace(mixed_ws)
    plan = spool.load_plan(ws, "mixed")
    before = snapshot(mixed_ws)
    res = apply_plan(ws, plan, mode=mode)
    assert res.outcome == "committed" and res.mode == mode
    snap = snapshot(mixed_ws)
    for rel, want in EXPECTED.items():
        assert snap["files"][rel] == want, rel
    for rel in GONE:
        assert rel not in snap["files"]
    assert {"bin", "pkg/a/b/c", "manual", "src/compat"} <= snap["dirs"]
    untouched = {k: v for k, v in before["files"].items() if k not in EXPECTED and k not in GONE}
    assert all(snap["files"][k] == v for k, v in untouched.items())
    assert res.files == 21 and res.ops["move"] == 2 and res.ops["delete"] == 4
    chmod_only = ("scripts/run.sh", "scripts/build.sh")
    assert res.bytes == sum(len(EXPECTED[k][0]) for k in EXPECTED if k not in chmod_only)
    assert not list(mixed_ws.rglob("*.wopt-*"))  # no temporaries left
    jd = mixed_ws / ".wopt" / "journal"
    assert (jd / f"{res.tx}.committed").is_file()


def test_journal_mode_writes_in_place_keeping_inode_and_hard_links(tmp_path):
    root = tmp_path / "ws"
    w(root, "a.txt", "one\n", 0o640)
    os.link(root / "a.txt", tmp_path / "outside-link.txt")
    ino = os.stat(root / "a.txt").st_ino
    ws = Workspace(root)
    plan = _plan(ws, [{"kind": "write", "id": "s1", "path": "a.txt", "content": "two two\n"}])
    apply_plan(ws, plan, mode="journal")
    st = os.stat(root / "a.txt")
    assert st.st_ino == ino and st.st_nlink == 2 and (st.st_mode & 0o777) == 0o640
    assert (tmp_path / "outside-link.txt").read_bytes() == b"two two\n"
    # the rename mode gives a new inode (and keeps the old one as the backup for undo)
    plan2 = _plan(ws, [{"kind": "write", "id": "s1", "path": "a.txt", "content": "three\n"}], "p2")
    res = apply_plan(ws, plan2, mode="rename")
    assert os.stat(root / "a.txt").st_ino != ino
    assert (root / "a.txt").read_bytes() == b"three\n"
    assert (root / ".wopt" / "journal" / res.tx).is_dir()


def test_stale_same_size_rewrite_in_the_same_second_is_caught(tmp_path):
    root = tmp_path / "ws"
    w(root, "conf.py", "DEBUG = 1\n")
    ws = Workspace(root)
    plan = _plan(ws, [{"kind": "edit", "id": "e1", "path": "conf.py",
                       "edits": [{"old_string": "DEBUG = 1", "new_string": "DEBUG = 2"}]},
                      {"kind": "write", "id": "w2", "path": "other.py", "content": "x = 1\n"}])
    st = os.stat(root / "conf.py")
    (root / "conf.py").write_bytes(b"DEBUG = 0\n")           # same size
    os.utime(root / "conf.py", ns=(st.st_atime_ns, st.st_mtime_ns))  # same mtime, to the ns
    before = snapshot(root)
    with pytest.raises(StaleError) as ei:
        apply_plan(ws, plan)
    msg = str(ei.value)
    assert "conf.py (step e1) changed since the plan was made" in msg and "nothing was written" in msg
    assert ei.value.stale[0][:2] == ("e1", "conf.py")
    assert snapshot(root) == before  # other.py was not created either
    r = run_wopt("apply", "p", "--yes", root=root)
    assert r.returncode == 1 and "conf.py (step e1)" in r.stderr.decode() and "Traceback" not in r.stderr.decode()
    assert read_history(ws)[-1]["outcome"] == "refused"


def test_stale_refusal_names_every_stale_step(tmp_path):
    root = tmp_path / "ws"
    w(root, "a.txt", "a\n")
    w(root, "b.txt", "b\n")
    ws = Workspace(root)
    plan = _plan(ws, [{"kind": "write", "id": "sa", "path": "a.txt", "content": "A\n"},
                      {"kind": "write", "id": "sb", "path": "b.txt", "content": "B\n"},
                      {"kind": "write", "id": "sc", "path": "c.txt", "content": "C\n"}])
    (root / "a.txt").write_text("changed a\n")
    (root / "c.txt").write_text("appeared\n")
    with pytest.raises(StaleError) as ei:
        apply_plan(ws, plan)
    assert {s[0] for s in ei.value.stale} == {"sa", "sc"}
    assert (root / "b.txt").read_text() == "b\n"


def test_lock_busy_refuses_naming_the_holder(mixed_ws):
    ws = Workspace(mixed_ws)
    before = snapshot(mixed_ws)
    with file_lock(mixed_ws / ".wopt" / "lock", timeout=1, what="wopt apply other-plan"):
        r = run_wopt("apply", "mixed", "--yes", "--lock-timeout", "0.3", root=mixed_ws)
    err = r.stderr.decode()
    assert r.returncode == 1
    assert f"pid {os.getpid()} (wopt apply other-plan)" in err and "waited" in err
    assert snapshot(mixed_ws) == before


def test_second_apply_waits_for_the_lock_then_applies(mixed_ws):
    ws = Workspace(mixed_ws)
    held = threading.Event()

    def hold():
        with file_lock(mixed_ws / ".wopt" / "lock", timeout=1, what="holder"):
            held.set()
            time.sleep(0.6)

    t = threading.Thread(target=hold)
    t.start()
    held.wait(5)
    t0 = time.monotonic()
    res = apply_plan(ws, spool.load_plan(ws, "mixed"), lock_timeout=10)
    t.join()
    assert time.monotonic() - t0 >= 0.4 and res.outcome == "committed"
    assert res.durations[ev.LOCK] >= 0.4


def test_two_concurrent_applies_never_interleave(tmp_path):
    """Two plans over the same 30 files, each made against the tree before: started together,
    one commits, the other is refused as stale, and the tree is wholly one plan's."""
    root = tmp_path / "ws"
    for i in range(30):
        w(root, f"d{i % 3}/f{i}.txt", f"orig {i}\n")
    ws = Workspace(root)
    for name in ("A", "B"):
        _plan(ws, [{"kind": "write", "id": f"s{i}", "path": f"d{i % 3}/f{i}.txt",
                    "content": f"{name} {i}\n" * 50} for i in range(30)], name)
    env = {k: v for k, v in os.environ.items() if not k.startswith("WOPT_FAULT")}
    procs = [subprocess.Popen([*WOPT, "apply", p, "--yes", "--root", str(root)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for p in ("A", "B")]
    outs = [(p.wait(30), p.stderr.read().decode()) for p in procs]
    codes = sorted(c for c, _ in outs)
    assert codes == [0, 1], outs
    loser = [e for c, e in outs if c == 1][0]
    assert "changed since the plan was made" in loser or "locked by" in loser
    contents = {(root / f"d{i % 3}/f{i}.txt").read_text() for i in range(30)}
    winner = "A" if outs[0][0] == 0 else "B"
    assert contents == {f"{winner} {i}\n" * 50 for i in range(30)}


def _make_unwritable(p: Path) -> callable:
    """Make directory `p` unwritable even for root (immutable attribute) or by mode bits."""
    if os.geteuid() != 0:
        os.chmod(p, 0o555)
        return lambda: os.chmod(p, 0o755)
    r = subprocess.run(["chattr", "+i", str(p)], capture_output=True)
    if r.returncode != 0:
        pytest.skip("running as root without chattr: no way to make a directory unwritable here")
    return lambda: subprocess.run(["chattr", "-i", str(p)], check=True)


@pytest.mark.parametrize("mode", ["rename", "journal"])
def test_unwritable_directory_refuses_the_whole_apply_before_anything_changes(mixed_ws, mode):
    undo_it = _make_unwritable(mixed_ws / "docs")
    try:
        before = snapshot(mixed_ws)
        r = run_wopt("apply", "mixed", "--yes", "--mode", mode, root=mixed_ws)
        err = r.stderr.decode()
        assert r.returncode == 1, err
        assert "docs/old.md: its directory docs is not writable" in err and "nothing was written" in err
        assert snapshot(mixed_ws) == before
        assert not [p for p in (mixed_ws / ".wopt" / "journal").iterdir()]
    finally:
        undo_it()
    hist = read_history(Workspace(mixed_ws))
    assert hist[-1]["outcome"] == "refused"


def test_fsync_error_rolls_back_and_is_never_retried(mixed_template, tmp_path):
    ws = Workspace(copy_tree(mixed_template, tmp_path / "count"))
    fsio.configure("count")
    apply_plan(ws, spool.load_plan(ws, "mixed"), mode="rename")
    # the first sync of the sync phase (a directory's fsync, or with mode-only changes the
    # sync pass over those files and the directories)
    syncs = ("fsync_dir", "fsync", "syncfs")
    k = next(n for n, ph, op, _ in fsio.log() if ph == "sync" and op in syncs)
    root = copy_tree(mixed_template, tmp_path / "ws")
    ws = Workspace(root)
    before = snapshot(root)
    fsio.configure(f"eio:{k}")
    with pytest.raises(ApplyError) as ei:
        apply_plan(ws, spool.load_plan(ws, "mixed"), mode="rename")
    assert "Input/output error" in str(ei.value) and "rolled back" in str(ei.value)
    log = fsio.log()
    failing = [e for e in log if e[0] == k][0]
    assert failing[1] == "sync" and failing[2] in syncs
    # nothing after the failed fsync went forward (no retry): only rollback work
    assert all(ph == "rollback" for n, ph, op, p in log if n > k)
    assert snapshot(root) == before
    assert read_history(ws)[-1]["outcome"] == "rolled_back"


def test_progress_events_cover_every_phase(mixed_ws):
    ws = Workspace(mixed_ws)
    seen: list = []
    res = apply_plan(ws, spool.load_plan(ws, "mixed"), mode="rename", on_event=seen.append)
    phases = [e.phase for e in seen]
    order = [ev.LOCK, ev.CHECK, ev.JOURNAL, ev.PREPARE, ev.COMMIT, ev.SYNC, ev.FINALIZE, ev.DONE]
    firsts = [phases.index(p) for p in order]
    assert firsts == sorted(firsts)
    commits = [e for e in seen if e.phase == ev.COMMIT]
    assert [e.done for e in commits] == list(range(1, 22)) and all(e.total == 21 for e in commits)
    assert commits[-1].bytes_done == commits[-1].bytes_total == res.bytes
    assert all(not os.path.isabs(e.path) for e in commits) and commits[0].step
    assert seen[-1].phase == ev.DONE and seen[-1].tx == res.tx


def test_history_record_has_the_shared_shape(mixed_ws):
    ws = Workspace(mixed_ws)
    res = apply_plan(ws, spool.load_plan(ws, "mixed"), mode="journal")
    rec = read_history(ws)[-1]
    assert set(rec) >= {"tx", "plan", "kind", "mode", "outcome", "started", "files", "ops", "bytes",
                        "durations", "fsyncs", "steps", "paths"}
    assert rec["tx"] == res.tx and rec["kind"] == "apply" and rec["outcome"] == "committed"
    assert set(rec["ops"]) == {"create", "replace", "delete", "chmod", "move"}
    assert rec["files"] == 21 and rec["fsyncs"] == res.fsyncs >= 2
    assert {"journal", "commit", "sync", "finalize"} <= set(rec["durations"])
    assert "README.md" in rec["paths"] and len(rec["steps"]) == 21


def test_review_selects_approved_steps_and_records_the_transaction(tmp_path):
    root = tmp_path / "ws"
    w(root, "a.txt", "a\n")
    ws = Workspace(root)
    plan = _plan(ws, [{"kind": "write", "id": "s1", "path": "a.txt", "content": "A\n"},
                      {"kind": "write", "id": "s2", "path": "b.txt", "content": "B\n"},
                      {"kind": "write", "id": "s3", "path": "c.txt", "content": "C\n"}])
    review = Review(plan_id="p")
    review.set("s1", "approved")
    review.set("s2", "rejected")
    review.set("s3", "approved")
    review.edited["s3"] = "edited C\n"
    pv = preview(ws, plan, review=review)
    assert pv.creates == ["c.txt"] and pv.replaces == ["a.txt"] and pv.ok
    res = apply_plan(ws, plan, review=review)
    assert (root / "a.txt").read_text() == "A\n" and not (root / "b.txt").exists()
    assert (root / "c.txt").read_text() == "edited C\n"
    assert spool.load_review(ws, "p").applied == [res.tx]


def test_preview_reports_stale_and_step_errors_without_writing(tmp_path):
    root = tmp_path / "ws"
    w(root, "a.txt", "a\n")
    ws = Workspace(root)
    plan = _plan(ws, [{"kind": "write", "id": "s1", "path": "a.txt", "content": "A\n",
                       "precondition": sha256(b"a\n")},
                      {"kind": "edit", "id": "s2", "path": "a.txt",
                       "edits": [{"old_string": "nope", "new_string": "x"}]}], store=False)
    before = snapshot(root)
    pv = preview(ws, plan)
    assert not pv.ok and pv.errors and "s2" in pv.errors[0]
    assert snapshot(root) == before
    (root / "a.txt").write_text("b\n")
    assert preview(ws, plan, ["s1"]).stale[0][:2] == ("s1", "a.txt")


def test_a_rollback_that_fails_leaves_the_journal_for_recovery(mixed_template, tmp_path, monkeypatch):
    from wopt.engine.tx import recovery
    from wopt.engine.tx import transaction as txn
    root = copy_tree(mixed_template, tmp_path / "ws")
    ws = Workspace(root)
    before = snapshot(root)
    fsio.configure("count")
    apply_plan(Workspace(copy_tree(mixed_template, tmp_path / "probe")), spool.load_plan(ws, "mixed"))
    k = next(n for n, ph, op, _ in fsio.log() if ph == "commit" and op == "rename") + 3
    real = txn.rollback
    calls = []

    def broken(ws_, tx, t=None):  # the disk goes away while rolling back
        calls.append(tx)
        raise OSError(5, "Input/output error", str(root / "src"))

    monkeypatch.setattr(txn, "rollback", broken)
    fsio.configure(f"eio:{k}")
    with pytest.raises(ApplyError) as ei:
        apply_plan(ws, spool.load_plan(ws, "mixed"))
    msg = str(ei.value)
    assert "could not be rolled back" in msg and "wopt recover" in msg and str(root) not in msg
    assert calls and snapshot(root) != before
    monkeypatch.setattr(txn, "rollback", real)
    fsio.configure("")
    assert recovery.needs_recovery(ws)
    lines = recovery.recover(ws)
    assert lines and "rolled back the unfinished apply" in lines[0]
    assert snapshot(root) == before and not recovery.needs_recovery(ws)


def test_files_are_committed_in_dependency_order(mixed_ws):
    """The commit phase moves files into place in the analysis' commit order (dependencies
    first), computing the plan's effects only once."""
    ws = Workspace(mixed_ws)
    plan = spool.load_plan(ws, "mixed")
    try:
        from wopt.engine.analysis.ordering import commit_order
    except ImportError:
        commit_order = None
    order = commit_order(plan, ws) if commit_order else [s.id for s in plan.steps]
    seen: list = []
    res = apply_plan(ws, plan, on_event=seen.append)
    committed = [e.path for e in seen if e.phase == ev.COMMIT]
    rank = {s: i for i, s in enumerate(order)}
    firsts = [min(rank[s] for s in c.steps) for c in res.changes]
    assert firsts == sorted(firsts)
    assert committed == [c.path for c in res.changes]
    assert res.steps == order
