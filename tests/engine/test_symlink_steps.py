"""Symlink steps: made, retargeted, removed, replacing a file and replaced by one, in both apply
modes; a failure or a kill at every operation rolls back to the original links and files;
undo restores them; targets that leave the workspace are refused; `wopt show` names them."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from conftest import run_forked, run_wopt, snapshot
from wopt.engine.model.errors import PathError, PlanError
from wopt.engine.model.plan import decode_plan

MODES = ["rename", "journal"]


def _tree(root: Path) -> None:
    root.mkdir(parents=True)
    (root / ".git").mkdir()
    (root / "a.txt").write_bytes(b"a\n")
    (root / "b.txt").write_bytes(b"b\n")
    (root / "f").write_bytes(b"a file\n")
    os.symlink("a.txt", root / "l1")
    os.symlink("a.txt", root / "l")
    (root / "d").mkdir()
    os.symlink("../b.txt", root / "d" / "gone")


PLAN = {"version": 1, "id": "links", "title": "links", "steps": [
    {"kind": "symlink", "id": "s1", "path": "l1", "target": "b.txt"},
    {"kind": "symlink", "id": "s2", "path": "f", "target": "a.txt"},
    {"kind": "symlink", "id": "s3", "path": "l", "target": None},
    {"kind": "write", "id": "s4", "path": "l", "content": "now a file\n"},
    {"kind": "symlink", "id": "s5", "path": "d/new", "target": "../a.txt"},
    {"kind": "symlink", "id": "s6", "path": "d/gone", "target": None},
]}


def _expected_after() -> dict:
    return {"a.txt": (b"a\n", 0o644), "b.txt": (b"b\n", 0o644), "l1": ("symlink", "b.txt"),
            "f": ("symlink", "a.txt"), "l": (b"now a file\n", 0o644), "d/new": ("symlink", "../a.txt")}


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("links") / "ws"
    _tree(root)
    os.chmod(root / "a.txt", 0o644)
    os.chmod(root / "b.txt", 0o644)
    plan = root.parent / "links.json"
    plan.write_text(json.dumps(PLAN))
    r = run_wopt("ingest", str(plan), root=root)
    assert r.returncode == 0, r.stderr.decode()
    return root


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst, symlinks=True)
    return dst


@pytest.fixture(autouse=True)
def _umask():
    old = os.umask(0o022)
    yield
    os.umask(old)


@pytest.mark.parametrize("mode", MODES)
def test_apply_makes_every_kind_of_link_change_and_undo_restores(template, tmp_path, mode):
    ws = _copy(template, tmp_path / "ws")
    before = snapshot(ws)
    r = run_wopt("apply", "links", "--yes", "--mode", mode, root=ws)
    assert r.returncode == 0, r.stderr.decode()
    after = snapshot(ws)
    assert after["files"] == _expected_after()
    assert os.readlink(ws / "l1") == "b.txt" and (ws / "a.txt").read_bytes() == b"a\n"
    r = run_wopt("undo", root=ws)
    assert r.returncode == 0, r.stderr.decode()
    assert snapshot(ws) == before


def _ops(template: Path, tmp_path: Path, mode: str) -> int:
    ws = _copy(template, tmp_path / f"count-{mode}")
    cf = tmp_path / f"count-{mode}.json"
    r = run_wopt("apply", "links", "--yes", "--mode", mode, root=ws,
                 env={"WOPT_FAULT": "count", "WOPT_FAULT_COUNT_FILE": str(cf)})
    assert r.returncode == 0, r.stderr.decode()
    return json.loads(cf.read_text())["ops"]


@pytest.mark.parametrize("mode", MODES)
def test_a_failure_at_any_operation_restores_links_and_files(template, tmp_path, mode):
    n = _ops(template, tmp_path, mode)
    before = snapshot(template)
    for k in range(1, n + 1):
        ws = _copy(template, tmp_path / f"eio-{k}")
        r = run_forked("apply", "links", "--yes", "--mode", mode, root=ws, env={"WOPT_FAULT": f"eio:{k}"})
        got = snapshot(ws)
        if r.returncode == 0:  # the fault hit an operation after the commit point
            assert got["files"] == _expected_after(), k
        else:
            assert got == before, (k, r.stderr.decode())
        shutil.rmtree(ws)


@pytest.mark.parametrize("mode", MODES)
def test_a_kill_at_any_operation_then_recover_leaves_before_or_after(template, tmp_path, mode):
    n = _ops(template, tmp_path, mode)
    before = snapshot(template)
    for k in range(1, n + 1):
        ws = _copy(template, tmp_path / f"kill-{k}")
        r = run_forked("apply", "links", "--yes", "--mode", mode, root=ws, env={"WOPT_FAULT": f"kill:{k}"})
        assert r.returncode in (-9, 0), (k, r.stderr.decode())
        rr = run_forked("recover", root=ws)
        assert rr.returncode == 0, (k, rr.stderr.decode())
        got = snapshot(ws)
        assert got == before or got["files"] == _expected_after(), k
        shutil.rmtree(ws)


def test_a_target_outside_the_workspace_is_refused_by_the_plan_and_on_disk(tmp_path):
    for target in ("../outside", "/etc/passwd", ".git/config", "d/../../x"):
        bad = {"version": 1, "steps": [{"kind": "symlink", "id": "s1", "path": "l", "target": target}]}
        with pytest.raises(PlanError, match="symlink"):
            decode_plan(json.dumps(bad))
    ws = tmp_path / "ws"
    _tree(ws)
    plan = tmp_path / "p.json"
    plan.write_text(json.dumps({"version": 1, "id": "esc", "steps": [
        {"kind": "symlink", "id": "s1", "path": "via", "target": "esc/secret"}]}))
    r = run_wopt("ingest", str(plan), root=ws)
    assert r.returncode == 0, r.stderr.decode()
    os.symlink(str(tmp_path), ws / "esc")  # after the review: a link that leaves the workspace
    r = run_wopt("ingest", str(plan), root=ws)
    assert r.returncode == 1 and "resolves outside the workspace" in r.stderr.decode()
    before = snapshot(ws)
    r = run_wopt("apply", "esc", "--yes", root=ws)
    assert r.returncode == 1
    assert "via" in r.stderr.decode() and "outside the workspace" in r.stderr.decode()
    assert snapshot(ws) == before


def test_show_names_the_link_and_its_target(template, tmp_path):
    ws = _copy(template, tmp_path / "ws")
    r = run_wopt("show", "links", root=ws)
    out = r.stdout.decode()
    assert r.returncode == 0, r.stderr.decode()
    assert "symlink l1: target a.txt -> b.txt" in out
    assert "regular file replaced by a symlink f -> a.txt" in out
    assert "symlink l -> a.txt replaced by a regular file" in out or "symlink l -> a.txt removed" in out
    assert "new symlink d/new -> ../a.txt" in out
    assert "777" not in out  # a link's mode is not shown as permission bits
    assert "d/  1 create, 1 delete" in out  # the batch counts what happens to each link


def test_path_error_type_for_escape_on_compute(tmp_path):
    from wopt.engine.store.effects import compute
    from wopt.engine.model.plan import Plan, SymlinkStep
    from wopt.engine.store.workspace import Workspace
    ws = tmp_path / "ws"
    _tree(ws)
    os.symlink(str(tmp_path), ws / "esc")
    out = compute(Workspace(ws), Plan(steps=[SymlinkStep(id="s1", path="x", target="esc")]))
    assert out.errors and isinstance(out.errors[0], PathError)


DIR_PLAN = {"version": 1, "id": "dirlink", "title": "dirlink", "steps": [
    {"kind": "symlink", "id": "s1", "path": "dl", "target": "d"},
    {"kind": "symlink", "id": "s2", "path": "l1", "target": "d"},
    {"kind": "write", "id": "s3", "path": "f", "content": "new\n"},
]}


def _ingest(ws: Path, plan: dict) -> None:
    p = ws.parent / f"{plan['id']}.json"
    p.write_text(json.dumps(plan))
    r = run_wopt("ingest", str(p), root=ws)
    assert r.returncode == 0, r.stderr.decode()


def _links(ws: Path) -> dict:
    return {n: os.readlink(ws / n) if os.path.islink(ws / n) else None for n in ("dl", "l1", "f")}


@pytest.mark.parametrize("mode", MODES)
def test_rollback_removes_a_created_link_to_a_directory_and_restores_a_retargeted_one(tmp_path, mode):
    src = tmp_path / "src"
    _tree(src)
    _ingest(src, DIR_PLAN)
    ws = _copy(src, tmp_path / "count")
    cf = tmp_path / "count.json"
    r = run_wopt("apply", "dirlink", "--yes", "--mode", mode, root=ws,
                 env={"WOPT_FAULT": "count", "WOPT_FAULT_COUNT_FILE": str(cf)})
    assert r.returncode == 0, r.stderr.decode()
    assert _links(ws) == {"dl": "d", "l1": "d", "f": None}
    before, links_before = snapshot(src), _links(src)
    for k in range(1, json.loads(cf.read_text())["ops"] + 1):
        for fault in ("eio", "kill"):
            ws = _copy(src, tmp_path / f"{fault}-{k}")
            r = run_forked("apply", "dirlink", "--yes", "--mode", mode, root=ws, env={"WOPT_FAULT": f"{fault}:{k}"})
            if fault == "kill":
                rr = run_forked("recover", root=ws)
                assert rr.returncode == 0, (k, rr.stderr.decode())
            if _links(ws) != {"dl": "d", "l1": "d", "f": None}:
                assert snapshot(ws) == before and _links(ws) == links_before, (fault, k, r.stderr.decode())
                assert not os.path.lexists(ws / "dl")
            shutil.rmtree(ws)


@pytest.mark.parametrize("mode", MODES)
def test_recovery_keeps_a_persons_link_where_the_plan_wrote_a_file(tmp_path, mode):
    """A symlink a person put where the interrupted transaction wrote a regular file is their
    change: recovery leaves it and asks for a decision."""
    src = tmp_path / "src"
    _tree(src)
    _ingest(src, DIR_PLAN)
    seen = 0
    for k in range(1, 60):
        ws = _copy(src, tmp_path / f"kill-{k}")
        r = run_forked("apply", "dirlink", "--yes", "--mode", mode, root=ws, env={"WOPT_FAULT": f"kill:{k}"})
        if r.returncode == 0:
            break
        pending = list((ws / ".wopt" / "journal").glob("*.pending"))
        if pending and not os.path.islink(ws / "f") and (ws / "f").read_bytes() == b"new\n":
            os.unlink(ws / "f")
            os.symlink("a.txt", ws / "f")
            rr = run_forked("recover", root=ws)
            assert rr.returncode != 0 and "f" in rr.stderr.decode(), (k, rr.stderr.decode())
            assert os.readlink(ws / "f") == "a.txt"
            seen += 1
        shutil.rmtree(ws)
    assert seen
