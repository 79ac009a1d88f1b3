"""Benchmark of the plan analysis: `analyze(ws, plan)` on a 10,000-file plan against a
1,000-file plan of the same mix (target: at most 11x, i.e. linear).

The mix, per 10 files: 4 Python modules in packages (importing the package's core module
and often the previous module; `__init__.py`, core.py, base.py per directory), 2 files of a template family (models), 1
JSON config, 1 Markdown doc, 1 test, 1 edit of an existing file; a pyproject.toml on top.
The analysis includes everything `wopt show` needs except the diffs (which are lazy): the
virtual apply of every step, the dependency graph and order, batches, family detection with
outliers, validation of every file, flags.
Run: ./dev bench   (or .venv/bin/pytest tests/benchmarks/bench_analysis.py -s)
"""
from __future__ import annotations

import gc
import json
import statistics
import time

from benchlib import size, target
from wopt.engine.analysis import analyze
from wopt.engine.model.plan import decode_plan
from wopt.engine.store.workspace import Workspace

PER_DIR = 50


def _make(root, n: int):
    steps = [{"kind": "write", "id": "pyproject", "path": "pyproject.toml",
              "content": "[project]\nname = \"bench\"\nversion = \"1.0\"\n"}]
    made_dirs = set()
    for i in range(n - 1):
        d = f"src/pkg{i // PER_DIR:03d}"
        if d not in made_dirs:
            made_dirs.add(d)
            (root / d).mkdir(parents=True, exist_ok=True)
            steps.append({"kind": "write", "id": f"init{i}", "path": f"{d}/__init__.py",
                          "content": "from . import core\n"})
            steps.append({"kind": "write", "id": f"core{i}", "path": f"{d}/core.py", "content": "VALUE = 1\n"})
            steps.append({"kind": "write", "id": f"base{i}", "path": f"{d}/base.py",
                          "content": "class Model:\n    pass\n"})
            continue
        r = i % 10
        sid = f"s{i}"
        if r < 4:
            base = i - i % PER_DIR
            prev = f"from .mod{i - 1} import VALUE as PREV\n" if (i - 1) % 10 < 4 and (i - 1) % PER_DIR else ""
            content = (f"from . import core\nfrom .core import VALUE as OTHER\n{prev}\n"
                       f"VALUE = {i}\n\n\ndef run_{i}(x):\n    return x + VALUE + OTHER + {base}\n")
            path = f"{d}/mod{i}.py"
        elif r < 6:
            content = (f"from .base import Model\n\n\nclass Item{i}(Model):\n    table = \"items_{i}\"\n"
                       f"    limit = {i % 97}\n\n    def label(self):\n        return \"item {i}\"\n")
            path = f"{d}/model_{i}.py"
        elif r == 6:
            content = json.dumps({"name": f"svc{i}", "port": 8000 + i, "replicas": 2}, indent=2) + "\n"
            path = f"deploy/svc{i}.json"
        elif r == 7:
            content = f"# Module {i}\n\nThis module handles case {i}.\n"
            path = f"docs/mod{i}.md"
        elif r == 8:
            content = f"from pkg{i // PER_DIR:03d}.core import VALUE\n\n\ndef test_{i}():\n    assert VALUE\n"
            path = f"tests/test_mod{i}.py"
        else:
            (root / d / f"existing_{i}.py").write_text(f"A = {i}\nB = 2\n" + "# filler\n" * 20)
            steps.append({"kind": "edit", "id": sid, "path": f"{d}/existing_{i}.py",
                          "edits": [{"old_string": "B = 2", "new_string": f"B = {i}"}]})
            continue
        steps.append({"kind": "write", "id": sid, "path": path, "content": content})
    return decode_plan(json.dumps({"version": 1, "id": f"bench{n}", "steps": steps}))


def _once(ws, plan):
    t = time.perf_counter()
    model = analyze(ws, plan, cache=False)   # the analysis itself, not the cache
    return time.perf_counter() - t, model


def _time_in_turn(small, big, runs):
    """(median small, its model, median big, its model): the two timed in turn, small then
    big, so a slow spell of a shared machine falls on both rather than on one. A model is
    kept only from the last turn: the big one, alive, would make the collector's passes
    during the next small analysis walk it too."""
    times: tuple[list, list] = ([], [])
    models: list = [None, None]
    for turn in range(runs):
        for k, (ws, plan) in enumerate((small, big)):
            gc.collect()
            dt, model = _once(ws, plan)
            times[k].append(dt)
            models[k] = model if turn == runs - 1 else None
            del model
    return statistics.median(times[0]), models[0], statistics.median(times[1]), models[1]


def test_analysis_scales_near_linearly(tmp_path):
    small_root, big_root = tmp_path / "small", tmp_path / "big"
    small_root.mkdir()
    big_root.mkdir()
    n = size(1000, 50)
    small, big = _make(small_root, n), _make(big_root, 10 * n)
    ws_s, ws_b = Workspace(small_root), Workspace(big_root)
    analyze(ws_s, small, cache=False)                      # warm imports and lexers
    ts, ms, tb, mb = _time_in_turn((ws_s, small), (ws_b, big), size(5, 1))
    for m, plan in ((ms, small), (mb, big)):
        assert len(m.order) == len(plan.steps)
        assert m.families and len(m.edges) > len(plan.steps)
        assert not m.findings, m.findings[:3]
    ratio = tb / ts
    print(f"\n[bench_analysis] analyze() medians: {len(small.steps):,} steps {ts * 1000:.0f} ms "
          f"({len(ms.edges):,} edges, {len(ms.families)} families); {len(big.steps):,} steps "
          f"{tb * 1000:.0f} ms ({len(mb.edges):,} edges, {len(mb.families)} families); "
          f"ratio {ratio:.2f}x for 10x the steps (target <= 11x)")
    target(ratio <= 11, f"10x the steps took {ratio:.1f}x the time")
