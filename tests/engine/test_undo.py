"""Undo: gives back bytes, modes and the set of directories; refused (naming the files) when
targets changed since; crash-safe like any transaction; and a property test over random trees
and random plans: apply then undo gives the original tree."""
from __future__ import annotations

import json
import os
import signal
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import copy_tree, diff_snap, run_wopt, snapshot, w
from wopt.engine.store import fsio, spool
from wopt.engine.tx.apply import apply_plan, undo
from wopt.engine.model.errors import NotFound, UndoRefused
from wopt.engine.store.history import read_history
from wopt.engine.store.ingest import ingest
from wopt.engine.model.plan import decode_plan
from wopt.engine.store.workspace import Workspace


@pytest.fixture(autouse=True)
def _no_faults(monkeypatch):
    monkeypatch.delenv("WOPT_FAULT", raising=False)
    fsio.configure("")


@pytest.mark.parametrize("mode", ["rename", "journal"])
def test_undo_gives_back_bytes_modes_and_dirs(mixed_ws, mode):
    ws = Workspace(mixed_ws)
    before = snapshot(mixed_ws)
    res = apply_plan(ws, spool.load_plan(ws, "mixed"), mode=mode)
    assert snapshot(mixed_ws) != before
    u = undo(ws)
    assert u.undoes == res.tx and u.kind == "undo" and u.outcome == "committed"
    snap = snapshot(mixed_ws)
    assert snap == before, diff_snap(before, snap)
    assert snap["files"]["scripts/run.sh"][1] == 0o755 and snap["files"]["src/util.py"][1] == 0o644
    hist = read_history(ws)
    assert hist[-2]["tx"] == res.tx and hist[-2]["undone_by"] == u.tx
    assert hist[-1]["kind"] == "undo" and hist[-1]["undoes"] == res.tx
    with pytest.raises(NotFound):
        undo(ws)  # nothing left to undo
    with pytest.raises(UndoRefused, match="already undone"):
        undo(ws, res.tx)


def test_undo_refused_names_the_changed_files(mixed_ws):
    ws = Workspace(mixed_ws)
    res = apply_plan(ws, spool.load_plan(ws, "mixed"))
    (mixed_ws / "README.md").write_text("edited by hand\n")
    os.chmod(mixed_ws / "bin" / "tool.sh", 0o700)
    (mixed_ws / "src" / "new_module.py").unlink()
    mid = snapshot(mixed_ws)
    r = run_wopt("undo", root=mixed_ws)
    err = r.stderr.decode()
    assert r.returncode == 1
    assert "README.md (changed)" in err and "bin/tool.sh (its mode changed)" in err
    assert "src/new_module.py (deleted)" in err and "nothing was written" in err
    assert "config.json" not in err
    assert snapshot(mixed_ws) == mid
    assert read_history(ws)[-1]["outcome"] == "refused"


def test_undo_default_is_the_last_apply_and_an_undo_can_be_undone(tmp_path):
    root = tmp_path / "ws"
    w(root, "a.txt", "0\n")
    ws = Workspace(root)
    txs = []
    for i in (1, 2):
        plan = ingest(ws, decode_plan(json.dumps({"version": 1, "id": f"p{i}", "steps": [
            {"kind": "write", "id": "s", "path": "a.txt", "content": f"{i}\n"}]})))
        txs.append(apply_plan(ws, plan).tx)
    u2 = undo(ws)
    assert u2.undoes == txs[1] and (root / "a.txt").read_text() == "1\n"
    u1 = undo(ws)
    assert u1.undoes == txs[0] and (root / "a.txt").read_text() == "0\n"
    redo = undo(ws, u1.tx)  # undoing the undo re-applies
    assert redo.undoes == u1.tx and (root / "a.txt").read_text() == "1\n"


@pytest.mark.parametrize("mode", ["rename", "journal"])
def test_undo_killed_midway_is_rolled_back_to_the_applied_tree(mixed_template, tmp_path, mode):
    root = copy_tree(mixed_template, tmp_path / "ws")
    r = run_wopt("apply", "mixed", "--yes", "--mode", mode, root=root)
    assert r.returncode == 0
    applied = snapshot(root)
    cf = tmp_path / "c.json"
    probe = copy_tree(root, tmp_path / "probe")
    r = run_wopt("undo", root=probe, env={"WOPT_FAULT": "count", "WOPT_FAULT_COUNT_FILE": str(cf)})
    assert r.returncode == 0, r.stderr.decode()
    log = json.loads(cf.read_text())["log"]
    fin = next(k for k, ph, op, _ in log if ph == "finalize" and op == "rename")
    for k in sorted({3, fin // 2, fin - 1}):
        ws2 = copy_tree(root, tmp_path / f"k{k}")
        r = run_wopt("undo", root=ws2, env={"WOPT_FAULT": f"kill:{k}"})
        assert r.returncode == -signal.SIGKILL
        rec = run_wopt("recover", root=ws2)
        assert "rolled back the unfinished undo" in rec.stdout.decode() or k <= 4
        assert snapshot(ws2) == applied, diff_snap(applied, snapshot(ws2))
        r = run_wopt("undo", root=ws2)  # and the undo can be run again
        assert r.returncode == 0, r.stderr.decode()
        assert snapshot(ws2) == snapshot(mixed_template)


# ------------------------------------------------------------------------- property

NAMES = ["a.txt", "b.py", "c/d.txt", "c/e.bin", "f/g/h.md", "f/i.sh"]
content = st.binary(max_size=200)
modes = st.sampled_from([0o644, 0o600, 0o755, 0o444])


@st.composite
def tree_and_plan(draw):
    existing = draw(st.dictionaries(st.sampled_from(NAMES), st.tuples(content, modes), max_size=6))
    steps = []
    targets = draw(st.lists(st.sampled_from(NAMES + ["new/x.txt", "new/deep/y.txt", "z.txt"]),
                            unique=True, min_size=1, max_size=6))
    taken = set(existing) | set(targets)
    for i, path in enumerate(targets):
        sid = f"s{i}"
        if path in existing:
            kind = draw(st.sampled_from(["write", "delete", "chmod", "move", "writemode"]))
        else:
            kind = draw(st.sampled_from(["write", "writemode"]))
        if kind == "write":
            steps.append({"kind": "write", "id": sid, "path": path,
                          "content_base64": __import__("base64").b64encode(draw(content)).decode()})
        elif kind == "writemode":
            steps.append({"kind": "write", "id": sid, "path": path, "content": draw(st.text(max_size=50)),
                          "mode": format(draw(modes), "o")})
        elif kind == "delete":
            steps.append({"kind": "delete", "id": sid, "path": path})
        elif kind == "chmod":
            steps.append({"kind": "chmod", "id": sid, "path": path, "mode": format(draw(modes), "o")})
        else:
            dest = f"moved/{i}/{path.replace('/', '_')}"
            if dest in taken:
                continue
            taken.add(dest)
            steps.append({"kind": "move", "id": sid, "path": path, "to": dest})
    mode = draw(st.sampled_from(["rename", "journal"]))
    return existing, steps, mode


@settings(max_examples=40, deadline=None)
@given(tree_and_plan())
def test_apply_then_undo_gives_the_original_tree(case):
    existing, steps, mode = case
    with tempfile.TemporaryDirectory() as d:
        root = Path(d) / "ws"
        root.mkdir()
        for rel, (data, m) in existing.items():
            w(root, rel, data, m)
        ws = Workspace(root)
        original = snapshot(root)
        plan = ingest(ws, decode_plan(json.dumps({"version": 1, "id": "h", "steps": steps})))
        res = apply_plan(ws, plan, mode=mode, allow_invalid=True)  # random bytes in .py files
        if res.outcome == "noop":
            assert snapshot(root) == original
            return
        assert res.outcome == "committed"
        u = undo(ws)
        assert u.outcome == "committed"
        snap = snapshot(root)
        assert snap == original, diff_snap(original, snap)
        assert not [p for p in (root / ".wopt" / "journal").iterdir() if p.name.endswith(".pending")]


def test_old_journals_are_pruned_and_their_undo_refused(tmp_path, monkeypatch):
    from wopt.engine.tx import transaction as txn
    monkeypatch.setattr(txn, "KEEP", 2)
    root = tmp_path / "ws"
    w(root, "a.txt", "0\n")
    ws = Workspace(root)
    txs = []
    for i in range(1, 5):
        plan = ingest(ws, decode_plan(json.dumps({"version": 1, "id": f"p{i}", "steps": [
            {"kind": "write", "id": "s", "path": "a.txt", "content": f"{i}\n"}]})))
        txs.append(apply_plan(ws, plan, mode="rename").tx)
    left = sorted(p.name for p in (root / ".wopt" / "journal").iterdir())
    assert left == sorted([f"{txs[2]}.committed", txs[2], f"{txs[3]}.committed", txs[3]])
    with pytest.raises(NotFound):
        undo(ws, txs[0])
    assert undo(ws).undoes == txs[3] and (root / "a.txt").read_text() == "3\n"
