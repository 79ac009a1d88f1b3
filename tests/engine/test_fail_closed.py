"""Fail closed: an internal error in validation or ordering stops the apply with a message that
says it is wopt's error and what to do, and nothing is written. Applying without validation
takes the explicit --allow-invalid; ordering has no bypass (the order decides the bytes, and
an order nobody reviewed must not be applied). No import guard hides a missing module of wopt."""
from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

import pytest

from conftest import snapshot
from wopt.engine.cli.main import main

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def ws(tmp_path) -> Path:
    root = tmp_path / "ws"
    (root / ".git").mkdir(parents=True)
    (root / "src").mkdir()
    (root / "src/app.py").write_text("import util\n")
    (root / "src/util.py").write_text("X = 1\n")
    plan = {"version": 1, "id": "p", "title": "t", "steps": [
        {"kind": "write", "id": "w1", "path": "src/util.py", "content": "X = 2\n"},
        {"kind": "write", "id": "w2", "path": "src/new.py", "content": "Y = 1\n"}]}
    (tmp_path / "p.json").write_text(json.dumps(plan))
    assert main(["ingest", str(tmp_path / "p.json"), "--root", str(root)]) == 0
    return root


def run(capsys, *argv: str) -> tuple[int, str]:
    capsys.readouterr()
    rc = main(list(argv))
    got = capsys.readouterr()
    return rc, got.out + got.err


def boom(*a, **k):
    raise RuntimeError("validator bug")


def test_validator_crash_refuses_the_apply_and_writes_nothing(ws, capsys, monkeypatch):
    import wopt.engine.analysis.validate as V
    monkeypatch.setattr(V, "validate_changes", boom)
    before = snapshot(ws)
    rc, out = run(capsys, "apply", "p", "--yes", "--root", str(ws))
    assert rc == 1, out
    assert "validating" in out and "src/util.py" in out and "src/new.py" in out
    assert "wopt's internal error" in out and "RuntimeError: validator bug" in out
    assert "--allow-invalid" in out and "nothing was written" in out
    assert "Traceback" not in out
    assert snapshot(ws) == before


def test_validator_crash_on_one_file_names_that_file(ws, capsys, monkeypatch):
    import wopt.engine.analysis.validate as V
    real = V.validate_content

    def crash_on_new(path, data, **k):
        if path == "src/new.py":
            raise ValueError("checker bug")
        return real(path, data, **k)
    monkeypatch.setattr(V, "validate_content", crash_on_new)
    real_parse = V.python_parse

    def parse_crash_on_new(path, data):   # the Python check, run as the analysis reads imports
        if path == "src/new.py":
            raise ValueError("checker bug")
        return real_parse(path, data)
    monkeypatch.setattr(V, "python_parse", parse_crash_on_new)
    before = snapshot(ws)
    rc, out = run(capsys, "apply", "p", "--yes", "--root", str(ws))
    assert rc == 1, out
    assert "validating src/new.py (step w2) failed" in out and "ValueError: checker bug" in out
    assert snapshot(ws) == before


def test_validator_that_cannot_be_imported_refuses_the_apply(ws, capsys, monkeypatch):
    import wopt.engine.analysis as A
    monkeypatch.setitem(sys.modules, "wopt.engine.analysis.validate", None)   # import fails
    monkeypatch.delattr(A, "validate", raising=False)   # (`from . import validate` looks here first)
    before = snapshot(ws)
    rc, out = run(capsys, "apply", "p", "--yes", "--root", str(ws))
    assert rc == 1, out
    assert "wopt's internal error" in out and "nothing was written" in out
    assert snapshot(ws) == before


def test_allow_invalid_applies_without_validation(ws, capsys, monkeypatch):
    import wopt.engine.analysis.validate as V
    monkeypatch.setattr(V, "validate_changes", boom)
    rc, out = run(capsys, "apply", "p", "--yes", "--allow-invalid", "--root", str(ws))
    assert rc == 0, out
    assert (ws / "src/util.py").read_text() == "X = 2\n" and (ws / "src/new.py").read_text() == "Y = 1\n"


def test_ordering_crash_refuses_the_apply_and_writes_nothing(ws, capsys, monkeypatch):
    import wopt.engine.analysis.ordering as O

    def bad(*a, **k):
        raise KeyError("ordering bug")
    monkeypatch.setattr(O, "commit_order", bad)
    before = snapshot(ws)
    rc, out = run(capsys, "apply", "p", "--yes", "--root", str(ws))
    assert rc == 1, out
    assert "ordering the steps of plan p failed" in out and "wopt's internal error" in out
    assert "nothing was written" in out and "Traceback" not in out
    assert snapshot(ws) == before
    # the explicit override for invalid content does not bypass ordering
    rc, out = run(capsys, "apply", "p", "--yes", "--allow-invalid", "--root", str(ws))
    assert rc == 1 and snapshot(ws) == before


def test_show_and_check_report_a_validator_crash_instead_of_skipping_it(ws, capsys, monkeypatch):
    import wopt.engine.analysis.validate as V
    monkeypatch.setattr(V, "validate_changes", boom)
    for cmd in ("show", "check"):
        rc, out = run(capsys, cmd, "p", "--root", str(ws))
        assert rc == 1, out
        assert "wopt's internal error" in out and "RuntimeError: validator bug" in out
        assert "Traceback" not in out


_GUARDED = ["engine/tx/apply.py", "engine/cli/common.py", "tui/main.py", "tui/app.py",
            "tui/screens/apply.py", "tui/screens/history.py"]


@pytest.mark.parametrize("rel", _GUARDED)
def test_no_import_guard_around_wopts_own_modules(rel):
    """`except ImportError` around an import of wopt's own code turns a broken build into a
    silently skipped check: wopt's modules are imported plainly."""
    tree = ast.parse((REPO / rel).read_text())
    for node in ast.walk(tree):
        if not isinstance(node, ast.Try):
            continue
        names = []
        for h in node.handlers:
            t = h.type
            names += [e.id for e in (t.elts if isinstance(t, ast.Tuple) else [t]) if isinstance(e, ast.Name)]
        if "ImportError" not in names and "ModuleNotFoundError" not in names:
            continue
        for sub in node.body:
            for n in ast.walk(sub):
                if isinstance(n, ast.ImportFrom):
                    assert not (n.level or (n.module or "").startswith("wopt")), \
                        f"{rel}:{n.lineno}: an import guard around wopt's own module"


def test_an_internal_bug_is_a_message_not_a_traceback(ws, capsys, monkeypatch):
    import wopt.engine.cli.cmd_plans as P

    def bug(args):
        raise TypeError("unsupported operand")
    monkeypatch.setattr(P, "cmd_list", bug)
    before = snapshot(ws)
    rc, out = run(capsys, "list", "--root", str(ws))
    assert rc == 1
    assert "internal error (TypeError: unsupported operand)" in out and "bug in wopt" in out
    assert "Traceback" not in out
    assert snapshot(ws) == before
