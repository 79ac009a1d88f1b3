"""Confined at the moment of writing: an agent with shell access to the workspace races the
apply (a directory swapped for a symlink mid-apply), plants symlinks and hard links, and
tampers with `.wopt/`; wopt writes nothing outside the workspace and loses nothing."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from conftest import run_wopt, snapshot, w
from wopt.engine.store import fsio
from wopt.engine.tx import transaction as txn
from wopt.engine.tx.apply import apply_plan, undo
from wopt.engine.model.errors import ApplyError
from wopt.engine.model.plan import decode_plan, sha256
from wopt.engine.store.workspace import Workspace

N = 300


@pytest.fixture(autouse=True)
def _no_faults(monkeypatch):
    monkeypatch.delenv("WOPT_FAULT", raising=False)
    fsio.configure("")
    yield
    fsio.configure("")


def _plan(ws: Workspace, steps: list[dict], pid: str = "p"):
    from wopt.engine.store.ingest import ingest
    return ingest(ws, decode_plan(json.dumps({"version": 1, "id": pid, "steps": steps})))


def _files(d: Path) -> dict:
    return {p.name: p.read_bytes() for p in sorted(d.iterdir())} if d.is_dir() else {}


def _swap_mid_apply(monkeypatch, root: Path, outside: Path, after_ops: int) -> dict:
    """Once `.wopt/journal/*.pending` exists and `after_ops` more I/O operations have run:
    `mv d d.real; ln -s OUTSIDE d`, for real, in the middle of the apply."""
    real_op = fsio._op
    jd = root / ".wopt" / "journal"
    state = {"seen": 0, "swapped": False}

    def op(kind, path):
        if not state["swapped"] and any(n.endswith(".pending") for n in os.listdir(jd)):
            state["seen"] += 1
            if state["seen"] > after_ops:
                os.rename(root / "d", root / "d.real")
                os.symlink(outside, root / "d")
                state["swapped"] = True
        return real_op(kind, path)

    monkeypatch.setattr(fsio, "_op", op)
    return state


@pytest.mark.parametrize("after_ops", [0, 40, 500])
def test_rename_mode_never_creates_files_through_a_directory_swapped_mid_apply(tmp_path, monkeypatch, after_ops):
    root, outside = tmp_path / "ws", tmp_path / "outside"
    outside.mkdir()
    w(root, "d/keep.txt", "keep\n")
    ws = Workspace(root)
    plan = _plan(ws, [{"kind": "write", "id": f"s{i:03d}", "path": f"d/f{i:03d}.txt", "content": f"new {i}\n"}
                      for i in range(N)])
    state = _swap_mid_apply(monkeypatch, root, outside, after_ops)
    with pytest.raises(ApplyError) as ei:
        apply_plan(ws, plan, mode="rename")
    assert state["swapped"]
    msg = str(ei.value)
    assert "d: " in msg and ("replaced" in msg or "symlink" in msg), msg
    assert str(root) not in msg
    assert _files(outside) == {}                          # nothing outside
    assert _files(root / "d.real") == {"keep.txt": b"keep\n"}  # the moved directory: rolled back
    assert os.readlink(root / "d") == str(outside)        # the agent's symlink is left as it is
    assert not [n for n in os.listdir(root / ".wopt" / "journal") if n.endswith(".pending")]


@pytest.mark.parametrize("after_ops", [0, 40, 500])
def test_journal_mode_never_overwrites_files_through_a_directory_swapped_mid_apply(tmp_path, monkeypatch, after_ops):
    root, outside = tmp_path / "ws", tmp_path / "outside"
    for i in range(N):
        w(root, f"d/f{i:03d}.txt", f"old {i}\n")
        w(outside, f"f{i:03d}.txt", f"victim {i}\n")
    ws = Workspace(root)
    plan = _plan(ws, [{"kind": "write", "id": f"s{i:03d}", "path": f"d/f{i:03d}.txt", "content": f"new {i}\n"}
                      for i in range(N)])
    victims = _files(outside)
    originals = _files(root / "d")
    state = _swap_mid_apply(monkeypatch, root, outside, after_ops)
    with pytest.raises(ApplyError) as ei:
        apply_plan(ws, plan, mode="journal")
    assert state["swapped"]
    assert "d: " in str(ei.value)
    assert _files(outside) == victims                     # nothing outside changed
    assert _files(root / "d.real") == originals           # what was written in place: restored
    assert not [n for n in os.listdir(root / ".wopt" / "journal") if n.endswith(".pending")]


def test_a_symlinked_target_planted_after_the_check_is_not_followed(tmp_path, monkeypatch):
    """Journal mode writes in place: a target swapped for a symlink mid-apply stops it."""
    root, outside = tmp_path / "ws", tmp_path / "outside"
    w(root, "a.txt", "a\n")
    w(root, "b.txt", "b\n")
    w(outside, "victim.txt", "victim\n")
    ws = Workspace(root)
    plan = _plan(ws, [{"kind": "write", "id": "s1", "path": "a.txt", "content": "A\n"},
                      {"kind": "write", "id": "s2", "path": "b.txt", "content": "B\n"}])
    real_op = fsio._op

    def op(kind, path):
        if kind == "open_write" and str(path).endswith("b.txt") and not (root / "b.txt").is_symlink():
            os.unlink(root / "b.txt")
            os.symlink(outside / "victim.txt", root / "b.txt")
        return real_op(kind, path)

    monkeypatch.setattr(fsio, "_op", op)
    with pytest.raises(ApplyError) as ei:
        apply_plan(ws, plan, mode="journal")
    assert "b.txt" in str(ei.value) and "symlink" in str(ei.value)
    assert (outside / "victim.txt").read_text() == "victim\n"
    assert (root / "a.txt").read_text() == "a\n"


def test_a_lock_file_planted_as_a_symlink_is_not_followed(tmp_path):
    root, outside = tmp_path / "ws", tmp_path / "outside"
    w(root, "a.txt", "a\n")
    w(outside, "victim.txt", "precious\n")
    pf = tmp_path / "plan.json"
    pf.write_text(json.dumps({"version": 1, "id": "p", "steps": [
        {"kind": "write", "id": "s1", "path": "a.txt", "content": "A\n"}]}))
    assert run_wopt("ingest", str(pf), root=root).returncode == 0
    lock = root / ".wopt" / "lock"
    if lock.exists():
        lock.unlink()
    os.symlink(outside / "victim.txt", lock)
    r = run_wopt("apply", "p", "--yes", root=root)
    err = r.stderr.decode()
    assert r.returncode == 1 and ".wopt/lock" in err and "symlink" in err and "Traceback" not in err, err
    assert (outside / "victim.txt").read_text() == "precious\n"
    assert (root / "a.txt").read_text() == "a\n"


def _forge(root: Path, tx: str, entries: list[dict], dirs: list[str] = ()) -> None:
    m = {"tx": tx, "kind": "apply", "mode": "rename", "plan": "p", "undoes": None,
         "started": "2026-01-01T00:00:00Z", "steps": [], "dirs": list(dirs), "entries": entries}
    jd = root / ".wopt" / "journal"
    jd.mkdir(parents=True, exist_ok=True)
    (jd / f"{tx}.pending").write_bytes(txn.encode_manifest(m))


@pytest.mark.parametrize("path", ["../outside/victim.txt", "link/victim.txt", ".git/config"])
def test_a_forged_manifest_is_reported_not_acted_on(tmp_path, path):
    root, outside = tmp_path / "ws", tmp_path / "outside"
    w(root, "a.txt", "a\n")
    w(root, ".git/config", "[core]\n")
    w(outside, "victim.txt", "precious\n")
    os.symlink(outside, root / "link")
    tx = "20260101-000000-000000aa"
    _forge(root, tx, [{"path": path, "op": "create", "before": "absent",
                       "after": sha256(b"x"), "before_mode": None, "after_mode": 0o644, "steps": []}])
    before = snapshot(root)
    r = run_wopt("list", root=root)
    err = r.stderr.decode()
    assert (outside / "victim.txt").read_text() == "precious\n"
    assert (root / ".git" / "config").read_text() == "[core]\n"
    assert snapshot(root) == before
    assert r.returncode == 1 and "Traceback" not in err, err
    assert tx in err and "wopt recover --resolve" in err, err
    assert (root / ".wopt" / "journal" / f"{tx}.pending").exists()   # kept, never acted on


def test_hard_links_are_refused_in_journal_mode(tmp_path):
    root = tmp_path / "ws"
    w(root, "a.txt", "shared\n")
    os.link(root / "a.txt", root / "b.txt")
    ws = Workspace(root)
    plan = _plan(ws, [{"kind": "write", "id": "s1", "path": "a.txt", "content": "A\n"},
                      {"kind": "write", "id": "s2", "path": "b.txt", "content": "B\n"}])
    with pytest.raises(ApplyError) as ei:
        apply_plan(ws, plan, mode="journal")
    msg = str(ei.value)
    assert "a.txt and b.txt" in msg and "hard links" in msg and "--mode rename" in msg
    assert (root / "a.txt").read_text() == (root / "b.txt").read_text() == "shared\n"
    assert os.stat(root / "a.txt").st_ino == os.stat(root / "b.txt").st_ino


def test_hard_links_in_rename_mode_each_get_their_content_and_undo_gives_them_back(tmp_path):
    root = tmp_path / "ws"
    w(root, "a.txt", "shared\n")
    os.link(root / "a.txt", root / "b.txt")
    ws = Workspace(root)
    plan = _plan(ws, [{"kind": "write", "id": "s1", "path": "a.txt", "content": "A\n"},
                      {"kind": "write", "id": "s2", "path": "b.txt", "content": "B\n"}])
    apply_plan(ws, plan, mode="rename")
    assert (root / "a.txt").read_text() == "A\n" and (root / "b.txt").read_text() == "B\n"
    u = undo(ws)
    assert u.outcome == "committed"
    assert (root / "a.txt").read_text() == (root / "b.txt").read_text() == "shared\n"


@pytest.mark.parametrize("mode", ["rename", "journal"])
def test_a_name_of_250_characters_is_written(tmp_path, mode):
    root = tmp_path / "ws"
    name = "n" * 246 + ".txt"
    w(root, "old" + "o" * 243 + ".txt", "old\n")
    ws = Workspace(root)
    plan = _plan(ws, [{"kind": "write", "id": "s1", "path": f"dir/{name}", "content": "new\n"},
                      {"kind": "write", "id": "s2", "path": "old" + "o" * 243 + ".txt", "content": "NEW\n"}])
    apply_plan(ws, plan, mode=mode)
    assert (root / "dir" / name).read_text() == "new\n"
    assert (root / ("old" + "o" * 243 + ".txt")).read_text() == "NEW\n"


def test_spool_and_history_writes_go_through_fsio(tmp_path):
    """Counted and named like every operation, so fault injection cuts them too."""
    from wopt.engine.store import spool
    from wopt.engine.store.history import append, read_history
    root = tmp_path / "ws"
    w(root, "a.txt", "a\n")
    ws = Workspace(root)
    spool.ensure(ws)
    fsio.configure("count")
    spool.save_plan(ws, decode_plan(json.dumps({"version": 1, "id": "p", "steps": [
        {"kind": "write", "id": "s1", "path": "a.txt", "content": "A\n"}]})))
    append(ws, {"tx": "t1", "outcome": "committed"})
    ops = [(op, p) for _, _, op, p in fsio.log()]
    assert ("rename", next(p for op, p in ops if op == "rename")) and \
        any(op == "rename" and p.endswith("-> .wopt/plans/p.json") for op, p in ops)
    assert ("fsync_dir", ".wopt/plans") in ops
    assert ("open_append", ".wopt/history.jsonl") in ops and ("write", ".wopt/history.jsonl") in ops
    # an injected error in the plan's atomic write: refused, no temporary left
    k = next(i for i, (op, p) in enumerate(ops, 1) if op == "write" and p.startswith(".wopt/plans/"))
    fsio.configure(f"eio:{k}")
    with pytest.raises(OSError):
        spool.save_plan(ws, decode_plan(json.dumps({"version": 1, "id": "p", "steps": [
            {"kind": "write", "id": "s1", "path": "a.txt", "content": "B\n"}]})))
    fsio.configure("")
    assert sorted(os.listdir(root / ".wopt" / "plans")) == ["p.json"]
    assert b'"A\\n"' in (root / ".wopt" / "plans" / "p.json").read_bytes()
    assert read_history(ws)[-1]["tx"] == "t1"


def test_a_spool_directory_planted_as_a_symlink_is_not_followed(tmp_path):
    root, outside = tmp_path / "ws", tmp_path / "outside"
    w(root, "a.txt", "a\n")
    pf = tmp_path / "plan.json"
    pf.write_text(json.dumps({"version": 1, "id": "p", "steps": [
        {"kind": "write", "id": "s1", "path": "a.txt", "content": "A\n"}]}))
    assert run_wopt("ingest", str(pf), root=root).returncode == 0
    outside.mkdir()
    os.rename(root / ".wopt" / "journal", outside / "journal")
    os.symlink(outside / "journal", root / ".wopt" / "journal")
    r = run_wopt("apply", "p", "--yes", root=root)
    err = r.stderr.decode()
    assert r.returncode == 1 and "Traceback" not in err and ".wopt/journal" in err, err
    assert os.listdir(outside / "journal") == []
    assert (root / "a.txt").read_text() == "a\n"


@pytest.mark.parametrize("mode", ["rename", "journal"])
def test_a_concurrent_process_swapping_the_directory_cannot_redirect_the_cli(tmp_path, mode):
    """The race as an agent runs it: `wopt apply` in its own process, a watcher that swaps `d`
    for a symlink to outside as soon as the journal's `.pending` appears. Whenever the swap
    lands, nothing outside changes; an apply it interrupts says so and exits 1."""
    import subprocess
    import sys
    import threading
    from conftest import WOPT
    root, outside = tmp_path / "ws", tmp_path / "outside"
    for i in range(N):
        w(root, f"d/f{i:03d}.txt", f"old {i}\n")
        w(outside, f"f{i:03d}.txt", f"victim {i}\n")
    pf = tmp_path / "plan.json"
    pf.write_text(json.dumps({"version": 1, "id": "p", "steps": [
        {"kind": "write", "id": f"s{i:03d}", "path": f"d/f{i:03d}.txt", "content": f"new {i}\n"}
        for i in range(N)]}))
    assert run_wopt("ingest", str(pf), root=root).returncode == 0
    victims = _files(outside)
    jd = root / ".wopt" / "journal"
    swapped = threading.Event()
    stop = threading.Event()

    def watch():
        while not stop.is_set():
            if any(n.endswith(".pending") for n in os.listdir(jd)):
                os.rename(root / "d", root / "d.real")
                os.symlink(outside, root / "d")
                swapped.set()
                return

    th = threading.Thread(target=watch)
    th.start()
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("WOPT_FAULT")}
        r = subprocess.run([*WOPT, "apply", "p", "--yes", "--mode", mode, "--root", str(root)],
                           capture_output=True, env=env, timeout=120)
    finally:
        stop.set()
        th.join()
    assert swapped.is_set()
    assert _files(outside) == victims
    if r.returncode != 0:
        err = r.stderr.decode()
        assert r.returncode == 1 and "d: " in err and "Traceback" not in err, err
        assert all(v.startswith(b"old ") for v in _files(root / "d.real").values())
