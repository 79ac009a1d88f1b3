"""Hostile or damaged input meets a clear error, never a traceback: exit 1 or 2, a message
naming what is wrong, and nothing changed (the tree and `.wopt/` byte for byte)."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from conftest import WOPT

from wopt.engine.tx import transaction as txn


def wopt(root: Path, *args: str, stdin: bytes | None = None, timeout: float = 60):
    r = subprocess.run([*WOPT, *args, "--root", str(root)], cwd=str(root), input=stdin,
                       capture_output=True, timeout=timeout,
                       env={**os.environ, "COLUMNS": "200"})
    return r.returncode, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")


def everything(root: Path) -> dict:
    """Every file under root, `.wopt/` included: {rel: bytes}, plus every directory."""
    out = {}
    for dp, dns, fns in os.walk(root):
        for d in dns:
            out[(Path(dp) / d).relative_to(root).as_posix() + "/"] = None
        for f in fns:
            p = Path(dp) / f
            out[p.relative_to(root).as_posix()] = p.read_bytes()
    return out


@pytest.fixture
def root(tmp_path) -> Path:
    r = tmp_path / "proj"
    r.mkdir()
    (r / ".git").mkdir()
    (r / "a.txt").write_text("a\n")
    return r


def assert_clear(rc: int, out: str, err: str, *words: str, codes=(1, 2)) -> None:
    assert rc in codes, (rc, out, err)
    assert "Traceback" not in out + err, err
    assert err.startswith("wopt") or "wopt: error:" in err, err
    for w in words:
        assert w in err, (w, err)


# ------------------------------------------------------------------ deep nesting at ingest

@pytest.mark.parametrize("shape", ["[" * 100_000, '{"steps": ' + "[" * 100_000,
                                   '{"a":' * 50_000 + "1" + "}" * 50_000],
                         ids=["list", "steps-list", "objects"])
def test_deeply_nested_input_is_refused(root, shape):
    (root / "deep.json").write_text(shape)
    before = everything(root)
    rc, out, err = wopt(root, "ingest", "deep.json")
    assert_clear(rc, out, err, "deep.json", "nested")
    assert everything(root) == before


def test_deeply_nested_input_on_stdin_with_a_format(root):
    before = everything(root)
    for fmt in ("native", "claude-hook", "claude-transcript"):
        rc, out, err = wopt(root, "ingest", "-", "--format", fmt, stdin=b"[" * 100_000)
        assert_clear(rc, out, err, "nested")
    assert everything(root) == before


def test_huge_number_in_a_hook_payload_line_is_a_clear_error(root):
    # json.loads raises a plain ValueError (no .msg) for an integer past Python's digit limit
    lines = b'{"tool_name": "Write"}\n{"n": ' + b"1" * 5000 + b"}\n"
    (root / "hooks.jsonl").write_bytes(lines)
    before = everything(root)
    rc, out, err = wopt(root, "ingest", "hooks.jsonl", "--format", "claude-hook")
    assert_clear(rc, out, err, "hooks.jsonl", "line 2", "not valid JSON")
    assert everything(root) == before


def test_moderate_nesting_still_reads(root):
    # a plan holding a render step with nested vars 100 deep is fine
    nested: object = "leaf"
    for _ in range(100):
        nested = [nested]
    plan = {"id": "p", "templates": {"t": "{{ v|length }}\n"},
            "steps": [{"kind": "render", "id": "s1", "path": "out.txt", "template": "t", "vars": {"v": nested}}]}
    (root / "p.json").write_text(json.dumps(plan))
    rc, out, err = wopt(root, "ingest", "p.json")
    assert rc == 0, err


# ------------------------------------------------------------------ templates

@pytest.mark.parametrize("src", ["{{ 'a' * 10**12 }}", "{{ 'ab' * 999999999 }}", "{{ ['x'] * 10**12 }}",
                                 "{{ 2 ** (10**10) }}", "{{ 'a'|center(10**12) }}", "{{ 'a'|indent(10**12) }}",
                                 "{{ '%*s' % (10**12, 'a') }}",
                                 "{% for i in range(100000) %}{{ 'x' * 10000 }}{% endfor %}"])
def test_huge_template_output_is_refused(root, src):
    plan = {"id": "tpl", "templates": {"t": src},
            "steps": [{"kind": "render", "id": "s1", "path": "x.txt", "template": "t"}]}
    (root / "tpl.json").write_text(json.dumps(plan))
    before = everything(root)
    rc, out, err = wopt(root, "ingest", "tpl.json")
    assert_clear(rc, out, err, "x.txt", "s1", "template")
    assert "too large" in err or "too big" in err
    assert everything(root) == before


def test_ordinary_template_renders(root):
    plan = {"id": "tpl", "templates": {"t": "{% for i in range(3) %}{{ name * 2 }}{{ i ** 2 }}\n{% endfor %}"},
            "steps": [{"kind": "render", "id": "s1", "path": "x.txt", "template": "t", "vars": {"name": "ab"}}]}
    (root / "tpl.json").write_text(json.dumps(plan))
    rc, out, err = wopt(root, "ingest", "tpl.json")
    assert rc == 0, err
    rc, out, err = wopt(root, "apply", "tpl", "--yes")
    assert rc == 0, err
    assert (root / "x.txt").read_text() == "abab0\nabab1\nabab4\n"


# ------------------------------------------------------------------ plan ids

@pytest.mark.parametrize("pid", ["a\x00b", "a\nb", "a\\b", "..", "x" * 300, " lead"],
                         ids=["nul", "newline", "backslash", "dotdot", "long", "space"])
def test_bad_plan_id_is_refused(root, pid):
    (root / "p.json").write_text(json.dumps({"id": pid, "steps": [
        {"kind": "write", "id": "s1", "path": "x.txt", "content": "x"}]}))
    before = everything(root)
    rc, out, err = wopt(root, "ingest", "p.json")
    assert_clear(rc, out, err, "plan id")
    assert everything(root) == before


def test_plan_ref_holding_nul_is_a_clear_error(root):
    before = everything(root)
    for cmd in (["show"], ["apply", "--yes"], ["approve"], ["check"]):
        rc, out, err = wopt(root, *cmd, "a\x01b")
        assert_clear(rc, out, err)
    assert everything(root) == before


# ------------------------------------------------------------------ history

def _history(root: Path, *recs) -> None:
    (root / ".wopt").mkdir(exist_ok=True)
    (root / ".wopt" / "history.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))


GOOD = {"tx": "20260101-000000-aaaa", "plan": "p", "kind": "apply", "mode": "rename", "outcome": "committed",
        "files": 1, "bytes": 3, "ops": {"create": 1}, "durations": {"commit": 0.01}, "fsyncs": 2,
        "steps": ["s1"], "paths": ["x.txt"]}


@pytest.mark.parametrize("bad", [{"undoes": ["a"]}, {"undoes": {"x": 1}}, {"plan": ["p"]}, {"tx": [1]},
                                 {"error": 5}, {"bytes": "many"}, {"durations": [1]}, {"outcome": ["committed"]}])
def test_history_record_of_the_wrong_shape(root, bad):
    _history(root, GOOD, {"tx": "20260101-000001-bbbb", "kind": "undo", "outcome": "committed", **bad})
    before = everything(root)
    for cmd in ("history", "stats"):
        rc, out, err = wopt(root, cmd)
        assert_clear(rc, out, err, ".wopt/history.jsonl", "line 2", codes=(1,))
        assert "20260101-000000-aaaa" in out or cmd == "stats"
        rc, out, err = wopt(root, cmd, "--json")
        assert rc == 1 and "Traceback" not in err
        json.loads(out)   # the good records are still printed
    assert everything(root) == before


# ------------------------------------------------------------------ journal manifest

def test_manifest_without_entries_is_a_clear_error(root):
    jd = root / ".wopt" / "journal"
    jd.mkdir(parents=True)
    tx = "20260101-000000-dead"
    (jd / f"{tx}{txn.PENDING}").write_bytes(txn.encode_manifest({"tx": tx, "kind": "apply", "mode": "rename"}))
    before = everything(root)
    for cmd in (["list"], ["recover"], ["history"]):
        rc, out, err = wopt(root, *cmd)
        assert_clear(rc, out, err, tx, codes=(1,))
        assert "no list of entries" in err and "recover --resolve" in err
    after = everything(root)
    after.pop(".wopt/lock", None)       # the lock recovery took: empty, wopt's own
    assert after == before
