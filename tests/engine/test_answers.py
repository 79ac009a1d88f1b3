"""`wopt check` and `wopt show --json` answered again from `.wopt/cache/answers/` when nothing
they were made from changed, and only then: the same bytes a fresh analysis prints."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import wopt.engine.analysis as A
from wopt.engine.analysis import cache
from wopt.engine.cli import answers
from wopt.engine.cli.main import main
from wopt.engine.model.plan import sha256


@pytest.fixture(autouse=True)
def no_racy_window(monkeypatch):
    # files in a test are seconds old at most: trust their timestamps at once
    monkeypatch.setattr(cache, "RACY_SECONDS", -1e9)
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("NO_COLOR", "1")


def _project(root: Path) -> None:
    (root / ".git").mkdir()
    (root / "pkg").mkdir()
    old = "def f():\n    return 1\n"
    (root / "pkg" / "mod.py").write_text(old)
    steps = [{"kind": "write", "id": "mod", "path": "pkg/mod.py", "content": "def f():\n    return 2\n",
              "precondition": sha256(old.encode())},
             {"kind": "write", "id": "bad", "path": "pkg/bad.py", "content": "def f(:\n"},
             {"kind": "write", "id": "cfg", "path": "deploy/a.json", "content": "{\"port\": 1}\n"}]
    d = root / ".wopt" / "plans"
    d.mkdir(parents=True)
    (d / "p1.json").write_text(json.dumps({"version": 1, "id": "p1", "title": "t", "steps": steps}))


def _run(capsys, root: Path, *args: str) -> tuple[int, str]:
    rc = main([*args, "--root", str(root)])
    out = capsys.readouterr()
    return rc, out.out + out.err


def _no_analysis(monkeypatch) -> None:
    boom = lambda *a, **k: (_ for _ in ()).throw(AssertionError("analysed again"))  # noqa: E731
    monkeypatch.setattr(A, "analyze", boom)
    monkeypatch.setattr(cache, "load_model", boom)


QUESTIONS = [("check",), ("check", "--json"), ("check", "--allow-invalid"), ("show", "--json"),
             ("show", "--json", "--no-diff")]


@pytest.mark.parametrize("question", QUESTIONS, ids=" ".join)
def test_the_second_answer_is_the_first_without_analysis(tmp_path, capsys, monkeypatch, question):
    _project(tmp_path)
    first = _run(capsys, tmp_path, question[0], "p1", *question[1:])
    assert first[0] == (0 if "show" in question or "--allow-invalid" in question else 1), first
    assert list((tmp_path / ".wopt" / "cache" / "answers").glob("*.answer"))
    with monkeypatch.context() as m:
        _no_analysis(m)
        assert _run(capsys, tmp_path, question[0], "p1", *question[1:]) == first


@pytest.mark.parametrize("question", [("check",), ("check", "--json")], ids=" ".join)
def test_a_check_that_found_stale_steps_and_overlaps_answers_again_alike(tmp_path, capsys, monkeypatch, question):
    """Everything a failing check prints (a stale step with its rebase hint, a conflict, another
    plan touching the same file) comes back alike from the kept answer."""
    _project(tmp_path)
    d = tmp_path / ".wopt" / "plans"
    steps = [{"kind": "write", "id": "old", "path": "pkg/mod.py", "content": "x = 1\n",
              "precondition": "sha256:" + "0" * 64},
             {"kind": "edit", "id": "gone", "path": "pkg/mod.py",
              "edits": [{"old_string": "no such text", "new_string": "y"}]}]
    (d / "p2.json").write_text(json.dumps({"version": 1, "id": "p2", "steps": steps}))
    first = _run(capsys, tmp_path, question[0], "p2", *question[1:])
    assert first[0] == 1 and "p1" in first[1] and "not in the file" in first[1], first
    if "--json" in question:
        assert [x["step"] for x in json.loads(first[1])["stale"]] == ["old"]
    else:
        assert "wopt rebase p2 old" in first[1].replace("`", ""), first
    with monkeypatch.context() as m:
        _no_analysis(m)
        assert _run(capsys, tmp_path, question[0], "p2", *question[1:]) == first


def test_a_changed_file_review_or_answer_is_not_trusted(tmp_path, capsys, monkeypatch):
    _project(tmp_path)
    rc, out = _run(capsys, tmp_path, "check", "p1", "--json")
    assert rc == 1 and json.loads(out)["stale"] == []
    # the file the plan edits changes: that step is stale now
    (tmp_path / "pkg" / "mod.py").write_text("def f():\n    return 3\n")
    rc, out = _run(capsys, tmp_path, "check", "p1", "--json")
    assert [s["step"] for s in json.loads(out)["stale"]] == ["mod"]
    # a review edits the bad file's content: the finding goes
    (tmp_path / ".wopt" / "reviews").mkdir(exist_ok=True)
    (tmp_path / ".wopt" / "reviews" / "p1.json").write_text(
        json.dumps({"plan_id": "p1", "edited": {"bad": "def f():\n    pass\n"}}))
    rc, out = _run(capsys, tmp_path, "check", "p1", "--json")
    assert json.loads(out)["findings"] == []
    fresh = _run(capsys, tmp_path, "check", "p1", "--json")
    # an answer that lies (another plan's, edited) or is cut short is not used
    [f] = (tmp_path / ".wopt" / "cache" / "answers").glob("*.answer")
    head, _, payload = f.read_bytes().partition(b"\n")
    h = json.loads(head)
    for bad in ({**h, "key": "0" * 40}, {**h, "code": "old"}, {**h, "fp": "0"}, {**h, "review": None},
                {**h, "data": {**h["data"], "steps": 99}, "size": 5}):
        f.write_bytes(json.dumps(bad).encode() + b"\n" + payload)
        assert _run(capsys, tmp_path, "check", "p1", "--json") == fresh
    f.write_bytes(b"garbage")
    assert _run(capsys, tmp_path, "check", "p1", "--json") == fresh


def test_a_plan_changed_by_one_byte_is_analysed_again(tmp_path, capsys):
    _project(tmp_path)
    _run(capsys, tmp_path, "show", "p1", "--json")
    f = tmp_path / ".wopt" / "plans" / "p1.json"
    f.write_text(f.read_text().replace('"title": "t"', '"title": "u"'))
    rc, out = _run(capsys, tmp_path, "show", "p1", "--json")
    assert rc == 0 and json.loads(out)["title"] == "u"


def test_recent_timestamps_keep_no_answer(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(cache, "RACY_SECONDS", 3600.0)
    _project(tmp_path)
    _run(capsys, tmp_path, "check", "p1")
    assert not list((tmp_path / ".wopt" / "cache").rglob("*.answer"))


def test_the_code_stamp_sees_a_change_to_any_engine_module(tmp_path):
    for rel in ("plan.py", "cli/cmd_show.py", "analysis/sub/deep.py"):
        base = tmp_path / "engine"
        (base / rel).parent.mkdir(parents=True, exist_ok=True)
        (base / rel).write_text("x = 1\n")
        before = answers.tree_stamp(str(base), "s")
        (base / rel).write_text("x = 22\n")
        assert answers.tree_stamp(str(base), "s") != before, rel


def _ok_project(root: Path) -> None:
    (root / ".git").mkdir()
    d = root / ".wopt" / "plans"
    d.mkdir(parents=True)
    steps = [{"kind": "write", "id": "a", "path": "a.txt", "content": "x\n"}]
    (d / "p1.json").write_text(json.dumps({"version": 1, "id": "p1", "steps": steps}))


@pytest.mark.parametrize("env", [{}, {"COLUMNS": "12"}, {"FORCE_COLOR": "1"}], ids=["plain", "narrow", "forced"])
def test_a_passing_check_prints_what_rich_prints(tmp_path, env):
    import io
    import subprocess
    import sys

    from rich.console import Console
    _ok_project(tmp_path)
    base = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "FORCE_COLOR", "NO_COLOR", "TTY_COMPATIBLE")}
    r = subprocess.run([sys.executable, "-X", "importtime", "-m", "wopt.engine.cli.main", "check", "p1"],
                       cwd=str(tmp_path), capture_output=True, env={**base, **env})
    assert r.returncode == 0, r.stderr
    buf = io.StringIO()
    with pytest.MonkeyPatch.context() as m:
        for k, v in env.items():
            m.setenv(k, v)
        m.delenv("NO_COLOR", raising=False)
        Console(file=buf, highlight=False, force_terminal=True if env.get("FORCE_COLOR") else None,
                width=int(env["COLUMNS"]) if "COLUMNS" in env else None).print("[green]ok:[/] 1 steps check")
    assert r.stdout.decode() == buf.getvalue()
    loaded_rich = any(ln.split("|")[-1].strip().startswith("rich") for ln in r.stderr.decode().splitlines())
    assert loaded_rich == bool(env)
