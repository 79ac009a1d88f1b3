"""`wopt show`, `wopt check`, `wopt stats` as a user runs them: real processes, real files,
exit codes and what a person reads."""
import json
import re
import os
import subprocess
import sys

WOPT = [sys.executable, "-m", "wopt.engine.cli.main"]


def wopt(*args, cwd):
    return subprocess.run([*WOPT, *args, "--root", str(cwd)], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"})


def store(tmp_path, steps, pid="p1", title="demo"):
    d = tmp_path / ".wopt" / "plans"
    d.mkdir(parents=True, exist_ok=True)
    (d / f"{pid}.json").write_text(json.dumps({"version": 1, "id": pid, "title": title, "steps": steps}))


def project(tmp_path):
    (tmp_path / "src" / "shop").mkdir(parents=True)
    (tmp_path / "src" / "shop" / "cart.py").write_text("def total(items):\n    return sum(items)\n")
    steps = [
        {"kind": "write", "id": "readme", "path": "README.md", "content": "# Shop\n"},
        {"kind": "edit", "id": "cart", "path": "src/shop/cart.py",
         "edits": [{"old_string": "return sum(items)", "new_string": "return round(sum(items), 2)"}]},
        {"kind": "write", "id": "init", "path": "src/shop/__init__.py", "content": "from .cart import total\n"},
        {"kind": "write", "id": "toml", "path": "pyproject.toml", "content": "[project]\nname = \"shop\"\n"},
    ]
    for i, (name, port) in enumerate((("auth", 1), ("billing", 2), ("search", 3))):
        steps.append({"kind": "write", "id": f"cfg{i}", "path": f"deploy/{name}.json",
                      "content": json.dumps({"service": name, "port": port, "replicas": 2, "probe": "/health"}) + "\n"})
    store(tmp_path, steps)


def test_show_prints_batches_in_commit_order_reasons_families_and_diffs(tmp_path):
    project(tmp_path)
    r = wopt("show", "p1", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "plan p1  demo" in out
    assert "7 steps in 3 batches, 1 template families" in out
    rows = re.findall(r"^ {4} *(\d+)\. (?:write|edit) +(\S+)", out, re.M)
    order = [p for _, p in sorted(rows, key=lambda r: int(r[0]))]
    assert len(order) == 7
    assert order.index("pyproject.toml") < order.index("src/shop/cart.py") < order.index("src/shop/__init__.py")
    assert order[-1] == "README.md"
    assert "after src/shop/cart.py: imports src/shop/cart.py" in out
    assert "config before code" in out
    assert "family-1: 3 files, 2 slots, detected" in out
    assert "deploy/billing.json" in out and "billing" in out
    assert "-    return sum(items)" in out and "+    return round(sum(items), 2)" in out
    assert str(tmp_path) not in out                      # workspace-relative paths only


def test_show_json_is_the_review_model(tmp_path):
    project(tmp_path)
    r = wopt("show", "p1", "--json", "--no-diff", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["plan"] == "p1" and d["title"] == "demo"
    assert d["order"][0] == "toml" and d["order"][-1] == "readme"
    assert {"before": "cart", "after": "init", "reason": "imports src/shop/cart.py"} in d["edges"]
    [fam] = d["families"]
    assert sorted(m["path"] for m in fam["members"]) == ["deploy/auth.json", "deploy/billing.json", "deploy/search.json"]
    assert all("diff" not in s for s in d["steps"])


def test_check_passes_on_a_good_plan_and_fails_on_invalid_stale_and_conflicting(tmp_path):
    project(tmp_path)
    r = wopt("check", "p1", cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "ok: 7 steps check" in r.stdout

    store(tmp_path, [
        {"kind": "write", "id": "bad", "path": "conf/settings.toml", "content": "[a]\nx = \n"},
        {"kind": "write", "id": "ok", "path": "conf/b.json", "content": "{}\n"},
    ], pid="p2")
    r = wopt("check", "p2", cwd=tmp_path)
    assert r.returncode == 1
    assert "error conf/settings.toml:2:5:" in r.stdout and "(toml, step bad)" in r.stdout
    assert "check failed: 1 invalid of 2 steps" in r.stdout
    r = wopt("check", "p2", "--allow-invalid", cwd=tmp_path)
    assert r.returncode == 0 and "1 invalid, allowed" in r.stdout

    store(tmp_path, [
        {"kind": "edit", "id": "gone", "path": "src/shop/cart.py",
         "edits": [{"old_string": "no such text", "new_string": "x"}]},
        {"kind": "write", "id": "old", "path": "src/shop/cart.py", "content": "x\n",
         "precondition": "sha256:" + "0" * 64},
    ], pid="p3")
    r = wopt("check", "p3", "--json", cwd=tmp_path)
    assert r.returncode == 1
    d = json.loads(r.stdout)
    assert d["ok"] is False
    assert [c["step"] for c in d["conflicts"]] == ["gone"] and "not in the file" in d["conflicts"][0]["error"]
    assert [s["step"] for s in d["stale"]] == ["old"]
    assert {"plan": "p1", "paths": ["src/shop/cart.py"]} in d["overlaps"]


def test_unknown_plan_is_a_clear_error_not_a_traceback(tmp_path):
    r = wopt("show", "nope", cwd=tmp_path)
    assert r.returncode == 1
    assert "no plan 'nope'" in r.stderr and "Traceback" not in r.stderr


def test_stats_from_history(tmp_path):
    r = wopt("stats", cwd=tmp_path)
    assert r.returncode == 0 and "no transactions yet" in r.stdout
    (tmp_path / ".wopt").mkdir(exist_ok=True)
    recs = [{"tx": "t1", "plan": "p1", "kind": "apply", "mode": "rename", "outcome": "committed",
             "started": "2026-01-01T00:00:00Z", "files": 3, "ops": {}, "bytes": 300,
             "durations": {"prepare": 0.02, "commit": 0.01}, "fsyncs": 4},
            {"tx": "t2", "plan": "p2", "kind": "apply", "mode": "rename", "outcome": "rolled_back",
             "started": "2026-01-01T00:01:00Z", "files": 1, "ops": {}, "bytes": 0,
             "durations": {"prepare": 0.01}, "fsyncs": 1, "error": "disk full"},
            {"tx": "t3", "plan": "p1", "kind": "undo", "mode": "rename", "outcome": "committed",
             "started": "2026-01-01T00:02:00Z", "files": 3, "ops": {}, "bytes": 0,
             "durations": {"undo": 0.01}, "fsyncs": 2, "undoes": "t1"}]
    (tmp_path / ".wopt" / "history.jsonl").write_text("".join(json.dumps(x) + "\n" for x in recs))
    r = wopt("stats", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "transactions       3" in out and "rollbacks          1" in out and "undos              1" in out
    assert "median apply time  30.0 ms" in out and "files written      3" in out
    r = wopt("stats", "--json", cwd=tmp_path)
    d = json.loads(r.stdout)
    assert d["series"]["rollbacks"] == [0, 1, 0] and d["files"] == 3
