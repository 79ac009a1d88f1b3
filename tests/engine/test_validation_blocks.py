"""Validation blocks only what the plan breaks: a finding blocks an apply when the file is new,
or was valid before the change and is invalid after it. A file that was already invalid before
(renamed, edited a little, copied) gets a warning in `wopt show`, `wopt check` and the review,
and the apply goes through."""
from __future__ import annotations

import json
from pathlib import Path

from conftest import run_wopt, snapshot
from wopt.engine.analysis.validate import validate_changes
from wopt.engine.store.effects import Change

BROKEN = b"def f(:\n    return 1\n"          # not valid Python, before any plan


def ws_with(tmp_path: Path, files: dict[str, bytes]) -> Path:
    root = tmp_path / "ws"
    (root / ".git").mkdir(parents=True)
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return root


def ingest(root: Path, steps: list[dict], pid: str = "p") -> None:
    f = root.parent / f"{pid}.json"
    f.write_text(json.dumps({"version": 1, "id": pid, "title": "t", "steps": steps}))
    r = run_wopt("ingest", str(f), root=root)
    assert r.returncode == 0, r.stderr.decode()


def out(r) -> str:
    return r.stdout.decode() + r.stderr.decode()


def test_rename_of_an_already_invalid_py_applies_with_a_warning(tmp_path):
    root = ws_with(tmp_path, {"old/mod.py": BROKEN})
    ingest(root, [{"kind": "move", "id": "mv", "path": "old/mod.py", "to": "new/mod.py"}])
    r = run_wopt("check", "p", root=root)
    assert r.returncode == 0, out(r)
    assert "warning new/mod.py:1:" in out(r) and "already invalid before" in out(r)
    r = run_wopt("show", "p", "--no-diff", root=root)
    assert "warning new/mod.py:1:" in out(r) and "already invalid before" in out(r)
    r = run_wopt("apply", "p", "--yes", root=root)
    assert r.returncode == 0, out(r)
    assert (root / "new/mod.py").read_bytes() == BROKEN and not (root / "old/mod.py").exists()


def test_small_edit_of_an_already_invalid_py_applies_with_a_warning(tmp_path):
    root = ws_with(tmp_path, {"mod.py": b"X = 1\n" + BROKEN})
    ingest(root, [{"kind": "edit", "id": "e", "path": "mod.py",
                   "edits": [{"old_string": "X = 1", "new_string": "X = 2"}]}])
    r = run_wopt("check", "p", root=root)
    assert r.returncode == 0, out(r)
    assert "warning mod.py:2:" in out(r)
    r = run_wopt("apply", "p", "--yes", root=root)
    assert r.returncode == 0, out(r)
    assert (root / "mod.py").read_bytes() == b"X = 2\n" + BROKEN


def test_git_rename_with_edit_of_an_invalid_py_applies(tmp_path):
    root = ws_with(tmp_path, {"a.py": b"X = 1\n" + BROKEN})
    diff = ("diff --git a/a.py b/b.py\nsimilarity index 80%\nrename from a.py\nrename to b.py\n"
            "--- a/a.py\n+++ b/b.py\n@@ -1,2 +1,2 @@\n-X = 1\n+X = 2\n def f(:\n")
    (root.parent / "r.diff").write_text(diff)
    r = run_wopt("ingest", str(root.parent / "r.diff"), "--format", "diff", root=root)
    assert r.returncode == 0, out(r)
    pid = r.stdout.decode().strip()
    r = run_wopt("apply", pid, "--yes", root=root)
    assert r.returncode == 0, out(r)
    assert (root / "b.py").read_bytes() == b"X = 2\n" + BROKEN


def test_an_edit_that_breaks_a_valid_py_is_still_blocked(tmp_path):
    root = ws_with(tmp_path, {"mod.py": b"def f():\n    return 1\n"})
    ingest(root, [{"kind": "edit", "id": "e", "path": "mod.py",
                   "edits": [{"old_string": "def f():", "new_string": "def f(:"}]}])
    before = snapshot(root)
    r = run_wopt("check", "p", root=root)
    assert r.returncode == 1 and "error mod.py:1:" in out(r)
    r = run_wopt("apply", "p", "--yes", root=root)
    assert r.returncode == 1 and "invalid content: mod.py:1" in out(r)
    assert snapshot(root) == before


def test_a_new_invalid_file_is_blocked(tmp_path):
    root = ws_with(tmp_path, {})
    ingest(root, [{"kind": "write", "id": "w", "path": "new.py", "content": BROKEN.decode()}])
    r = run_wopt("apply", "p", "--yes", root=root)
    assert r.returncode == 1 and "invalid content: new.py:1" in out(r)
    assert not (root / "new.py").exists()


def test_renaming_text_into_an_invalid_py_is_a_new_invalid_file(tmp_path):
    """notes.txt was never Python: moving it to x.py makes a new, invalid Python file."""
    root = ws_with(tmp_path, {"notes.txt": b"just words (\n"})
    ingest(root, [{"kind": "move", "id": "mv", "path": "notes.txt", "to": "x.py"}])
    r = run_wopt("apply", "p", "--yes", root=root)
    assert r.returncode == 1 and "invalid content: x.py:1" in out(r)


def test_validate_changes_rule():
    """The rule on the net changes the transaction checks: new invalid -> error; valid before,
    invalid after -> error; invalid before -> warning; a copy made from an invalid file (its
    source given) -> warning."""
    ok, bad = b"x = 1\n", BROKEN
    fs = validate_changes([Change("n.py", None, None, bad, 0o644, ["s1"])])
    assert [f.severity for f in fs] == ["error"]
    fs = validate_changes([Change("m.py", ok, 0o644, bad, 0o644, ["s2"])])
    assert [f.severity for f in fs] == ["error"]
    fs = validate_changes([Change("m.py", bad, 0o644, bad + b"y = 2\n", 0o644, ["s3"])])
    assert [f.severity for f in fs] == ["warning"] and "already invalid before" in fs[0].message
    # a move: the source's deletion and the destination's creation share the step
    fs = validate_changes([Change("a.py", bad, 0o644, None, None, ["mv"]),
                           Change("b.py", None, None, bad, 0o644, ["mv"])])
    assert [(f.path, f.severity) for f in fs] == [("b.py", "warning")]
    # a copy: the destination is new, but made from a file that was already invalid
    fs = validate_changes([Change("c.py", None, None, bad, 0o644, ["cp"])], sources={"c.py": ("a.py", bad)})
    assert [f.severity for f in fs] == ["warning"]
    fs = validate_changes([Change("c.py", None, None, bad, 0o644, ["cp"])], sources={"c.py": ("a.py", ok)})
    assert [f.severity for f in fs] == ["error"]
