"""Every path escape is refused with nothing written, through the real `wopt apply`; a symlink
whose target stays inside the workspace is written through to that target."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from conftest import run_wopt, snapshot, w


def _setup(tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "ws"
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret\n")
    w(root, "keep.txt", "keep\n")
    (root / ".git").mkdir()
    (root / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    os.symlink(outside, root / "linkdir")                     # parent symlink pointing outside
    os.symlink(outside / "secret.txt", root / "linkfile")     # file symlink pointing outside
    os.symlink("/dev/null", root / "devnull")                 # device file
    os.symlink(".git", root / "gitlink")                      # symlink into .git
    return root, outside


ESCAPES = [
    ("dotdot", {"kind": "write", "path": "../outside/x.txt", "content": "x"}, "must not leave the workspace"),
    ("dotdot-mid", {"kind": "write", "path": "a/../../outside/x.txt", "content": "x"}, "must not leave the workspace"),
    ("absolute", {"kind": "write", "path": "/tmp/wopt-escape-test.txt", "content": "x"}, "relative to the workspace"),
    ("symlinked-parent", {"kind": "write", "path": "linkdir/x.txt", "content": "x"}, "points outside the workspace"),
    ("symlink-file", {"kind": "write", "path": "linkfile", "content": "x"}, "points outside the workspace"),
    ("device", {"kind": "write", "path": "devnull", "content": "x"}, "outside the workspace"),
    ("git", {"kind": "write", "path": ".git/x", "content": "x"}, "inside .git/"),
    ("wopt", {"kind": "write", "path": ".wopt/x", "content": "x"}, "inside .wopt/"),
    ("git-via-symlink", {"kind": "write", "path": "gitlink/config", "content": "x"}, "inside .git/"),
    ("delete-outside", {"kind": "delete", "path": "linkfile"}, "points outside the workspace"),
    ("chmod-outside", {"kind": "chmod", "path": "linkdir/secret.txt", "mode": "777"}, "points outside the workspace"),
    ("move-to-outside", {"kind": "move", "path": "keep.txt", "to": "linkdir/keep.txt"}, "points outside the workspace"),
    ("move-into-git", {"kind": "move", "path": "keep.txt", "to": ".git/keep.txt"}, "inside .git/"),
]


@pytest.mark.parametrize("name,step,why", ESCAPES, ids=[e[0] for e in ESCAPES])
@pytest.mark.parametrize("mode", ["rename", "journal"])
def test_escape_is_refused_with_nothing_written(tmp_path, name, step, why, mode):
    root, outside = _setup(tmp_path)
    plan = {"version": 1, "id": "esc", "steps": [
        {"kind": "write", "id": "ok1", "path": "fine.txt", "content": "fine\n"},
        {"id": "bad", **step}]}
    pf = tmp_path / "plan.json"
    pf.write_text(json.dumps(plan))
    before, out_before = snapshot(root), snapshot(outside)
    r = run_wopt("apply", str(pf), "--yes", "--mode", mode, root=root)
    err = r.stderr.decode()
    assert r.returncode == 1, err
    assert why in err and "Traceback" not in err and err.startswith("wopt: error:")
    assert "bad" in err  # names the step
    assert snapshot(root) == before and snapshot(outside) == out_before
    assert not Path("/tmp/wopt-escape-test.txt").exists()
    jd = root / ".wopt" / "journal"
    assert not jd.exists() or not [p for p in jd.iterdir() if p.name.endswith((".pending", ".committed"))]


@pytest.mark.parametrize("mode", ["rename", "journal"])
def test_symlink_inside_the_workspace_is_written_through(tmp_path, mode):
    root = tmp_path / "ws"
    w(root, "real/target.txt", "old\n", 0o640)
    os.symlink("real/target.txt", root / "alias.txt")
    os.symlink("real", root / "aliasdir")
    pf = tmp_path / "plan.json"
    pf.write_text(json.dumps({"version": 1, "id": "in", "steps": [
        {"kind": "write", "id": "s1", "path": "alias.txt", "content": "new\n"},
        {"kind": "write", "id": "s2", "path": "aliasdir/other.txt", "content": "other\n"}]}))
    r = run_wopt("apply", str(pf), "--yes", "--mode", mode, root=root)
    assert r.returncode == 0, r.stderr.decode()
    assert os.path.islink(root / "alias.txt") and os.readlink(root / "alias.txt") == "real/target.txt"
    assert (root / "real" / "target.txt").read_text() == "new\n"
    assert (os.stat(root / "real" / "target.txt").st_mode & 0o777) == 0o640
    assert (root / "real" / "other.txt").read_text() == "other\n"
    r = run_wopt("undo", root=root)
    assert r.returncode == 0, r.stderr.decode()
    assert (root / "real" / "target.txt").read_text() == "old\n" and not (root / "real" / "other.txt").exists()
    assert os.path.islink(root / "alias.txt")
