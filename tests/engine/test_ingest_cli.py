"""`wopt ingest`, `wopt list`, `wopt schema` as a user runs them: real processes, real files."""
import json
import os
import subprocess
import sys
from pathlib import Path

from wopt.engine.model.plan import sha256

WOPT = [sys.executable, "-m", "wopt.engine.cli.main"]


def wopt(*args, cwd, stdin=None):
    return subprocess.run([*WOPT, *args], cwd=cwd, input=stdin, capture_output=True, text=True,
                          env={**os.environ, "COLUMNS": "200"})


def test_ingest_prints_the_id_alone_and_captures_preconditions(tmp_path):
    (tmp_path / "a.txt").write_text("hello\n")
    plan = {"title": "greet", "steps": [
        {"kind": "edit", "id": "s1", "path": "a.txt", "edits": [{"old_string": "hello", "new_string": "bye"}]},
        {"kind": "write", "id": "s2", "path": "new/b.txt", "content": "b"}]}
    (tmp_path / "plan.json").write_text(json.dumps(plan))
    r = wopt("ingest", "plan.json", "--root", str(tmp_path), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    pid = r.stdout.strip()
    assert "\n" not in pid and pid
    stored = json.loads((tmp_path / ".wopt" / "plans" / f"{pid}.json").read_text())
    assert stored["steps"][0]["precondition"] == sha256(b"hello\n")
    assert stored["steps"][1]["precondition"] == "absent"
    assert (tmp_path / "a.txt").read_text() == "hello\n"   # ingest writes nothing in the tree
    r = wopt("list", "--json", cwd=tmp_path)
    [row] = json.loads(r.stdout)
    assert (row["id"], row["title"], row["steps"], row["files"]) == (pid, "greet", 2, 2)


def test_ingest_from_stdin_with_json(tmp_path):
    plan = {"steps": [{"kind": "write", "id": "s1", "path": "x.txt", "content": "x"}]}
    r = wopt("ingest", "-", "--json", "--root", str(tmp_path), cwd=tmp_path, stdin=json.dumps(plan))
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["format"] == "native" and out["steps"] == 1


def test_bad_plan_is_refused_with_path_and_nothing_stored(tmp_path):
    plan = {"steps": [{"kind": "write", "id": "s1", "path": "ok", "content": ""},
                      {"kind": "write", "id": "s2", "path": "../../etc/passwd", "content": "x"}]}
    (tmp_path / "p.json").write_text(json.dumps(plan))
    r = wopt("ingest", "p.json", "--root", str(tmp_path), cwd=tmp_path)
    assert r.returncode == 1
    assert "steps[1].path (step s2): must not leave the workspace" in r.stderr
    assert "Traceback" not in r.stderr
    assert not (tmp_path / ".wopt" / "plans").exists() or not list((tmp_path / ".wopt" / "plans").glob("*.json"))


def test_missing_file_and_usage_errors(tmp_path):
    r = wopt("ingest", "nope.json", "--root", str(tmp_path), cwd=tmp_path)
    assert r.returncode == 2 and "nope.json: cannot read" in r.stderr
    r = wopt("frobnicate", cwd=tmp_path)
    assert r.returncode == 2 and "Traceback" not in r.stderr


def test_schema_is_json(tmp_path):
    r = wopt("schema", cwd=tmp_path)
    assert r.returncode == 0
    assert "Plan" in json.loads(r.stdout)["$defs"]
