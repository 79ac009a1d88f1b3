"""`.git/` and `.wopt/` are refused at any depth (a nested repository's hooks run code later),
for every step kind and every reader; a path with a trailing slash names a directory and is
refused, not taken as the file."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from conftest import run_wopt, snapshot, w
from test_hook import WOPT, call, decision, hook

from wopt.engine.model.plan import check_relpath


def _ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    w(root, "keep.txt", "keep\n")
    w(root, "a.txt", "a\n")
    (root / ".git").mkdir()
    w(root, "sub/.git/HEAD", "ref: refs/heads/main\n")
    w(root, "sub/.git/hooks/pre-commit.sample", "#!/bin/sh\n", 0o755)
    w(root, "sub/code.py", "x = 1\n")
    return root


NESTED = [
    ("write-nested-git", {"kind": "write", "path": "sub/.git/hooks/pre-commit", "content": "#!/bin/sh\nevil\n",
                          "mode": "755"}, "inside .git/"),
    ("write-deep-git", {"kind": "write", "path": "a/b/c/.git/config", "content": "x"}, "inside .git/"),
    ("write-nested-wopt", {"kind": "write", "path": "sub/.wopt/plans/x.json", "content": "{}"}, "inside .wopt/"),
    ("write-git-case", {"kind": "write", "path": "sub/.GIT/hooks/post-checkout", "content": "x"}, "inside .git/"),
    ("edit-nested-git", {"kind": "edit", "path": "sub/.git/HEAD",
                         "edits": [{"old_string": "main", "new_string": "evil"}]}, "inside .git/"),
    ("delete-nested-git", {"kind": "delete", "path": "sub/.git/HEAD"}, "inside .git/"),
    ("chmod-nested-git", {"kind": "chmod", "path": "sub/.git/hooks/pre-commit.sample", "mode": "755"},
     "inside .git/"),
    ("move-into-nested-git", {"kind": "move", "path": "keep.txt", "to": "sub/.git/hooks/pre-commit"},
     "inside .git/"),
    ("move-out-of-nested-git", {"kind": "move", "path": "sub/.git/HEAD", "to": "HEAD"}, "inside .git/"),
    ("trailing-slash", {"kind": "write", "path": "a.txt/", "content": "x"}, "trailing"),
    ("trailing-dot", {"kind": "write", "path": "a.txt/.", "content": "x"}, "trailing"),
    ("move-to-trailing-slash", {"kind": "move", "path": "keep.txt", "to": "a.txt/"}, "trailing"),
]


@pytest.mark.parametrize("name,step,why", NESTED, ids=[e[0] for e in NESTED])
def test_nested_reserved_dirs_and_trailing_slash_refused(tmp_path, name, step, why):
    root = _ws(tmp_path)
    plan = {"version": 1, "id": "esc", "steps": [
        {"kind": "write", "id": "ok1", "path": "fine.txt", "content": "fine\n"}, {"id": "bad", **step}]}
    pf = tmp_path / "plan.json"
    pf.write_text(json.dumps(plan))
    before = snapshot(root)
    for cmd in (["ingest", str(pf)], ["apply", str(pf), "--yes"]):
        r = run_wopt(*cmd, root=root)
        err = r.stderr.decode()
        assert r.returncode == 1, (cmd, err)
        assert why in err and "bad" in err and "Traceback" not in err, err
    assert snapshot(root) == before
    assert not (root / ".wopt" / "plans").exists() or not list((root / ".wopt" / "plans").glob("*.json"))


def test_ordinary_names_like_git_still_work():
    for ok in ("gitignore", ".gitignore", "sub/.github/workflows/ci.yml", "x.git/y", "sub/.gitmodules",
               ".woptrc", "docs/.git-blame-ignore-revs", "./a.txt", "a/./b.txt"):
        assert check_relpath(ok) is None, ok


def test_hook_refuses_nested_git_and_trailing_slash(tmp_path):
    root = _ws(tmp_path)
    for bad in (root / "sub" / ".git" / "hooks" / "pre-commit", str(root / "a.txt") + "/",
                root / "x" / ".wopt" / "y"):
        d, why = decision(hook(root, call(root, "Write", {"file_path": str(bad), "content": "#!/bin/sh\n"})))
        assert d == "deny" and "not made" in why, why
    assert not (root / ".wopt" / "plans").exists() or not list((root / ".wopt" / "plans").glob("*.json"))


def test_diff_into_nested_git_refused(tmp_path):
    root = _ws(tmp_path)
    diff = ("diff --git a/sub/.git/hooks/pre-commit b/sub/.git/hooks/pre-commit\nnew file mode 100755\n"
            "--- /dev/null\n+++ b/sub/.git/hooks/pre-commit\n@@ -0,0 +1 @@\n+evil\n")
    before = snapshot(root)
    r = subprocess.run([*WOPT, "ingest", "-", "--root", str(root)], input=diff.encode(), capture_output=True)
    err = r.stderr.decode()
    assert r.returncode == 1 and "inside .git/" in err and "Traceback" not in err, err
    assert snapshot(root) == before
