"""The analysis cache under `.wopt/cache/`: a model made once is reused while nothing it was
made from changes, never after; a corrupt entry is ignored and rebuilt; each content is
validated once; a check or a plain apply detects no families; CLI start-up imports little."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from wopt.engine.store import spool
from wopt.engine.analysis import analyze, cache, model_to_dict
from wopt.engine.analysis import templates as T
from wopt.engine.analysis import validate as V
from wopt.engine.tx.apply import apply_plan
from wopt.engine.model.plan import decode_plan, sha256
from wopt.engine.store.workspace import Workspace


@pytest.fixture(autouse=True)
def no_racy_window(monkeypatch):
    # files in a test are seconds old at most: trust their timestamps at once
    monkeypatch.setattr(cache, "RACY_SECONDS", -1e9)


def _ws(tmp_path: Path) -> tuple[Workspace, object]:
    (tmp_path / "pkg").mkdir()
    old = "def f():\n    return 1\n"
    (tmp_path / "pkg" / "mod.py").write_text(old)
    steps = [{"kind": "write", "id": "mod", "path": "pkg/mod.py", "content": "def f():\n    return 2\n",
              "precondition": sha256(old.encode())},
             {"kind": "write", "id": "bad", "path": "pkg/bad.py", "content": "def f(:\n"}]
    for i, name in enumerate(("auth", "billing", "search")):
        steps.append({"kind": "write", "id": f"cfg{i}", "path": f"deploy/{name}.json",
                      "content": json.dumps({"service": name, "port": 8000 + i}) + "\n"})
    ws = Workspace(tmp_path)
    spool.ensure(ws)
    return ws, decode_plan(json.dumps({"version": 1, "id": "p1", "steps": steps}))


def _dict(model) -> dict:
    return model_to_dict(model, diffs=True)


def test_second_analysis_comes_from_the_cache_and_equals_a_fresh_one(tmp_path, monkeypatch):
    ws, plan = _ws(tmp_path)
    fresh = _dict(analyze(ws, plan, cache=False))
    first = _dict(analyze(ws, plan))
    assert first == fresh and fresh["families"] and fresh["findings"]
    assert list((ws.spool / "cache" / "models").glob("*.msgpack"))

    import wopt.engine.analysis as A

    def boom(*a, **k):
        raise AssertionError("analysed again")
    monkeypatch.setattr(A, "_analyze", boom)
    again = analyze(ws, plan)
    assert _dict(again) == fresh                     # diffs too (computed lazily from the files)
    assert again.steps["mod"].origin == list(plan.steps[0].origin)


def test_a_changed_file_is_analysed_again(tmp_path):
    ws, plan = _ws(tmp_path)
    assert analyze(ws, plan).steps["mod"].stale is None
    (tmp_path / "pkg" / "mod.py").write_text("def f():\n    return 9\n")   # same size
    assert analyze(ws, plan).steps["mod"].stale, "a stale step went unseen: the cache was trusted"


def test_a_corrupt_cache_is_ignored_and_rebuilt(tmp_path):
    ws, plan = _ws(tmp_path)
    fresh = _dict(analyze(ws, plan))
    for p in (ws.spool / "cache").rglob("*.msgpack"):
        p.write_bytes(b"\x93garbage" + os.urandom(64))
    assert _dict(analyze(ws, plan)) == fresh
    # and a well-formed entry under another key is not taken
    models = list((ws.spool / "cache" / "models").glob("*.msgpack"))
    assert models
    assert _dict(analyze(ws, plan)) == fresh


def test_a_lying_content_entry_is_not_trusted_for_families(tmp_path):
    ws, plan = _ws(tmp_path)
    cc = cache.ContentCache(ws)
    for s in plan.steps:   # every content claims one shape signature
        data = s.content.encode()
        cc.put(cache.content_key("sig", data, type(T._lexer(s.path)).__name__), ["same", 10])
    cc.save()
    fams = analyze(ws, plan, cache=False).families
    assert analyze(ws, plan).families == fams


def test_check_and_a_plain_apply_detect_no_families(tmp_path, monkeypatch):
    ws, plan = _ws(tmp_path)

    def boom(*a, **k):
        raise AssertionError("families detected")
    monkeypatch.setattr(T, "detect", boom)
    model = analyze(ws, plan, families=False)
    assert model.findings and not model.families


def test_each_content_is_validated_once_per_apply(tmp_path, monkeypatch):
    ws, plan = _ws(tmp_path)
    plan = decode_plan(json.dumps({"version": 1, "id": "p2", "steps": [
        {"kind": "write", "id": f"m{i}", "path": f"m{i}.py", "content": f"X = {i}\n"} for i in range(5)]}))
    calls: list[str] = []
    real, real_parse = V.validate_content, V.python_parse

    def counting(path, data, *, step=""):
        calls.append(path)
        return real(path, data, step=step)

    def counting_parse(path, data):   # the analysis checks a .py content as it reads its imports
        calls.append(path)
        return real_parse(path, data)
    monkeypatch.setattr(V, "validate_content", counting)
    monkeypatch.setattr(V, "python_parse", counting_parse)
    model = analyze(ws, plan, families=False)
    res = apply_plan(ws, plan, mode="journal", model=model)
    assert res.outcome == "committed"
    assert sorted(calls) == [f"m{i}.py" for i in range(5)]


def _imports(args: list[str], cwd: Path) -> set[str]:
    code = f"import sys; from wopt.engine.cli.main import main; sys.exit(main({args!r}))"
    r = subprocess.run([sys.executable, "-X", "importtime", "-c", code], capture_output=True, cwd=str(cwd))
    assert r.returncode == 0, r.stderr.decode()[-2000:]
    return {ln.split("|")[-1].strip() for ln in r.stderr.decode().splitlines() if "|" in ln}


def test_list_and_history_start_light(tmp_path):
    (tmp_path / ".git").mkdir()
    for cmd in (["list"], ["history"]):
        mods = _imports(cmd, tmp_path)
        heavy = {m for m in mods if m.split(".")[0] in ("textual", "pygments", "jinja2", "unidiff")
                 # the format table (wopt.engine.sources itself) is light; no reader is imported
                 or m.startswith(("importlib.metadata", "wopt.engine.sources.", "wopt.engine.analysis",
                                  "wopt.engine.tx.transaction"))}
        assert not heavy, (cmd, sorted(heavy))


def test_version_is_still_reported(tmp_path):
    r = subprocess.run([sys.executable, "-m", "wopt.engine.cli.main", "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("wopt ")


def test_old_timestamps_are_required_before_a_model_is_kept(tmp_path, monkeypatch):
    monkeypatch.setattr(cache, "RACY_SECONDS", 3600.0)
    ws, plan = _ws(tmp_path)
    analyze(ws, plan)
    assert not list((ws.spool / "cache").rglob("models/*.msgpack"))


def test_ingest_offers_every_source_format():
    from wopt.engine.cli.parser import build_parser
    from wopt.engine.sources import FORMATS as READERS
    ingest = build_parser("ingest")._subparsers._group_actions[0].choices["ingest"]
    [fmt] = [a for a in ingest._actions if a.dest == "format"]
    assert tuple(fmt.choices) == READERS


def test_analysis_in_another_process_gives_the_same_model(tmp_path):
    from wopt.engine.analysis import analyze_elsewhere
    ws, plan = _ws(tmp_path)
    fresh = _dict(analyze(ws, plan, cache=False))
    assert _dict(analyze_elsewhere(ws, plan)) == fresh


def test_a_decision_does_not_invalidate_the_cached_model(tmp_path, monkeypatch):
    from wopt.engine.model.review import Review
    import wopt.engine.analysis as A
    ws, plan = _ws(tmp_path)
    review = Review(plan_id=plan.id)
    analyze(ws, plan, review)
    review.decisions["mod"] = "approved"
    monkeypatch.setattr(A, "_analyze", lambda *a, **k: (_ for _ in ()).throw(AssertionError("analysed again")))
    assert A.cached(ws, plan, review) is not None
    analyze(ws, plan, review)


def test_show_json_diffs_are_kept_and_read_back(tmp_path, monkeypatch):
    ws, plan = _ws(tmp_path)
    first = _dict(analyze(ws, plan))
    assert list((ws.spool / "cache" / "models").glob("*.diffs.msgpack"))
    import wopt.engine.analysis as A
    monkeypatch.setattr(A, "_lazy_diff", lambda *a, **k: (lambda sid: (_ for _ in ()).throw(AssertionError("diffed again"))))
    assert _dict(analyze(ws, plan)) == first


def test_print_json_writes_what_json_dumps_writes(capsys):
    from wopt.engine.cli.common import print_json
    obj = {"a": [1, 2.5, {"é": None, "t": True}], "b": [], "c": {}, "p": Path("x/y"), "n": 0.1 + 0.2}
    print_json(obj)
    assert capsys.readouterr().out == json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n"


def test_imports_are_parsed_once_per_content(tmp_path, monkeypatch):
    import shutil

    from wopt.engine.analysis import imports as imp
    ws, plan = _ws(tmp_path)
    plan = decode_plan(json.dumps({"version": 1, "id": "p3", "steps": [
        {"kind": "write", "id": f"m{i}", "path": f"pkg/m{i}.py",
         "content": f"from .m{i - 1} import X\nX = {i}\n" if i else "X = 0\n"} for i in range(4)]}))
    fresh = _dict(analyze(ws, plan))
    shutil.rmtree(ws.spool / "cache" / "models")
    imp._seeded.clear()

    def boom(source):
        raise AssertionError("parsed again")
    monkeypatch.setattr(imp, "_py_imports", boom)
    again = _dict(analyze(ws, plan))
    assert again == fresh and len(again["edges"]) == 3


def test_the_collector_is_paused_while_analysing_and_as_it_was_after(tmp_path, monkeypatch):
    """An analysis runs with the cyclic collector paused (analysis.collector_paused), whether it
    analyses or loads its model from the cache, and leaves it as it found it, after an error
    too."""
    import gc

    import wopt.engine.analysis as A
    ws, plan = _ws(tmp_path)
    seen = []
    real = A._analyze

    def spy(*a, **k):
        seen.append(gc.isenabled())
        return real(*a, **k)
    monkeypatch.setattr(A, "_analyze", spy)
    real_load = cache.load_model

    def load_spy(*a, **k):
        seen.append(gc.isenabled())
        return real_load(*a, **k)
    monkeypatch.setattr(cache, "load_model", load_spy)
    assert gc.isenabled()
    model = analyze(ws, plan)                 # analysed (and kept)
    assert analyze(ws, plan) is not None      # loaded from the cache
    assert seen and not any(seen) and gc.isenabled(), seen
    gc.disable()
    try:
        analyze(ws, plan, cache=False)
        assert not gc.isenabled()             # not turned on by the analysis
    finally:
        gc.enable()

    def boom(*a, **k):
        raise RuntimeError("a bug")
    monkeypatch.setattr(A, "_analyze", boom)
    with pytest.raises(RuntimeError):
        analyze(ws, plan, cache=False)
    assert gc.isenabled()
