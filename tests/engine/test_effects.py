"""effects.compute: steps on a virtual tree, one net change per file, stale steps collected."""
import os

import pytest

from wopt.engine.store.effects import compute
from wopt.engine.model.errors import PathError
from wopt.engine.model.plan import ABSENT, decode_plan, sha256
from wopt.engine.store.workspace import Workspace

import json


def mk(tmp_path, files: dict[str, bytes]):
    for rel, data in files.items():
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return Workspace(tmp_path)


def plan(*steps, **extra):
    return decode_plan(json.dumps({**extra, "steps": list(steps)}))


def test_steps_on_one_file_chain_and_fold_into_one_change(tmp_path):
    ws = mk(tmp_path, {"a.py": b"x = 1\n"})
    p = plan({"kind": "edit", "id": "e1", "path": "a.py", "edits": [{"old_string": "1", "new_string": "2"}]},
             {"kind": "patch", "id": "p1", "path": "a.py", "diff": "@@ -1 +1,2 @@\n x = 2\n+y = 3\n"},
             {"kind": "chmod", "id": "c1", "path": "a.py", "mode": "755"})
    out = compute(ws, p)
    assert out.ok
    [ch] = out.changes
    assert (ch.path, ch.before, ch.after, ch.after_mode, ch.steps) == ("a.py", b"x = 1\n", b"x = 2\ny = 3\n", 0o755, ["e1", "p1", "c1"])
    assert out.results["p1"].before == b"x = 2\n"


def test_move_delete_and_create(tmp_path):
    ws = mk(tmp_path, {"old.txt": b"keep me", "gone.txt": b"bye"})
    p = plan({"kind": "move", "id": "m", "path": "old.txt", "to": "new/dir/new.txt"},
             {"kind": "delete", "id": "d", "path": "gone.txt"},
             {"kind": "write", "id": "w", "path": "fresh.txt", "content": "hi", "precondition": "absent"})
    out = compute(ws, p)
    got = {c.path: (c.kind, c.after) for c in out.changes}
    assert got == {"old.txt": ("delete", None), "new/dir/new.txt": ("create", b"keep me"),
                   "gone.txt": ("delete", None), "fresh.txt": ("create", b"hi")}
    # nothing was written
    assert sorted(os.listdir(tmp_path)) == ["gone.txt", "old.txt"]


def test_stale_precondition_is_collected_with_hashes(tmp_path):
    ws = mk(tmp_path, {"a.txt": b"now"})
    p = plan({"kind": "write", "id": "w", "path": "a.txt", "content": "x", "precondition": sha256(b"then")},
             {"kind": "write", "id": "n", "path": "b.txt", "content": "x", "precondition": sha256(b"then")})
    out = compute(ws, p)
    assert out.stale == [("w", "a.txt", sha256(b"then"), sha256(b"now")),
                         ("n", "b.txt", sha256(b"then"), ABSENT)]
    assert out.changes == []


def test_step_errors_are_collected_not_raised(tmp_path):
    ws = mk(tmp_path, {"a.txt": b"one one"})
    p = plan({"kind": "edit", "id": "e", "path": "a.txt", "edits": [{"old_string": "one", "new_string": "two"}]},
             {"kind": "delete", "id": "d", "path": "missing.txt"},
             {"kind": "write", "id": "w", "path": "ok.txt", "content": "fine"})
    out = compute(ws, p)
    assert [str(e) for e in out.errors] == [
        "a.txt (step e): edit 1: old_string 'one' occurs 2 times; give more context so it occurs once, or set replace_all",
        "missing.txt (step d): there is no file to delete"]
    assert [c.path for c in out.changes] == ["ok.txt"]


def test_edited_content_and_render(tmp_path):
    ws = mk(tmp_path, {})
    p = plan({"kind": "render", "id": "r", "path": "m.py", "template": "t", "vars": {"name": "x"}},
             {"kind": "write", "id": "w", "path": "w.txt", "content": "agent"},
             templates={"t": "{{ name }} = 1\n"})
    out = compute(ws, p, edited={"w": b"person"})
    assert {c.path: c.after for c in out.changes} == {"m.py": b"x = 1\n", "w.txt": b"person"}


def test_render_error_names_template_and_line(tmp_path):
    ws = mk(tmp_path, {})
    p = plan({"kind": "render", "id": "r", "path": "m.py", "template": "t", "vars": {}},
             templates={"t": "ok\n{{ missing }}\n"})
    out = compute(ws, p)
    assert "template 't'" in str(out.errors[0]) and "missing" in str(out.errors[0])


def test_symlink_escape_is_an_error(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    ws_root = tmp_path / "ws"
    ws_root.mkdir()
    (ws_root / "link").symlink_to(outside)
    ws = Workspace(ws_root)
    out = compute(ws, plan({"kind": "write", "id": "w", "path": "link/x.txt", "content": "x"}))
    assert isinstance(out.errors[0], PathError)
    assert "points outside the workspace" in str(out.errors[0])
    assert not (outside / "x.txt").exists()


def test_symlink_inside_writes_through_to_target(tmp_path):
    ws = mk(tmp_path, {"real/t.txt": b"old"})
    (tmp_path / "alias.txt").symlink_to(tmp_path / "real" / "t.txt")
    out = compute(ws, plan({"kind": "write", "id": "w", "path": "alias.txt", "content": "new"}))
    assert [(c.path, c.before, c.after) for c in out.changes] == [("real/t.txt", b"old", b"new")]
