"""Start-up of the headless commands: what a command imports and reads before it answers
(whole processes: `wopt list`, `history`, `check` run on every agent turn)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from wopt.engine.tx import transaction as txn
from wopt.engine.cli import common


def _wopt(root: Path, *args: str, importtime: bool = False) -> subprocess.CompletedProcess:
    pre = ["-X", "importtime"] if importtime else []
    return subprocess.run([sys.executable, *pre, "-m", "wopt.engine.cli.main", *args], cwd=str(root),
                          capture_output=True, text=True)


def _modules(stderr: str) -> set[str]:
    return {ln.split("|")[-1].strip() for ln in stderr.splitlines() if ln.startswith("import time:")}


def _applied(tmp_path: Path) -> Path:
    (tmp_path / ".git").mkdir()
    (tmp_path / "a.txt").write_text("one\n")
    plan = {"version": 1, "id": "p1", "steps": [{"kind": "write", "id": "s1", "path": "a.txt", "content": "two\n"}]}
    (tmp_path / "p.json").write_text(json.dumps(plan))
    assert _wopt(tmp_path, "ingest", "p.json").returncode == 0
    r = _wopt(tmp_path, "apply", "p1", "--yes")
    assert r.returncode == 0, r.stderr
    return tmp_path


def test_finished_transactions_in_the_journal_load_no_transaction_layer(tmp_path):
    root = _applied(tmp_path)
    assert any(n.endswith(".committed") for n in os.listdir(root / ".wopt" / "journal"))
    for cmd in ("list", "history"):
        r = _wopt(root, cmd, importtime=True)
        assert r.returncode == 0, r.stderr
        heavy = {m for m in _modules(r.stderr) if m in ("wopt.engine.tx.recovery", "wopt.engine.tx.transaction")}
        assert not heavy, (cmd, heavy)
    assert "committed" in _wopt(root, "history").stdout


def test_an_unfinished_transaction_is_still_rolled_back_first(tmp_path):
    root = _applied(tmp_path)
    journal = root / ".wopt" / "journal"
    [done] = [n for n in os.listdir(journal) if n.endswith(".committed")]
    # a stray temporary beside the finished manifest: recovery runs (and says what it did)
    (journal / (done[: -len(".committed")] + "x.pending.tmp")).write_bytes(b"")
    assert not common.only_finished(common.Workspace(root), os.listdir(journal))
    r = _wopt(root, "list", importtime=True)
    assert r.returncode == 0, r.stderr
    assert "wopt.engine.tx.recovery" in _modules(r.stderr)
    assert not any(n.endswith(".pending.tmp") for n in os.listdir(journal))


def test_the_finished_states_are_the_transaction_layer_s():
    assert common.FINISHED == (txn.COMMITTED, txn.UNDONE)


# --------------------------------------------------------------------------- wopt list's rows

def _plan(root: Path, pid: str, n: int, created: str) -> None:
    steps = [{"kind": "write", "id": f"s{i}", "path": f"f{i}.txt", "content": f"{pid} {i}\n"} for i in range(n)]
    (root / f"{pid}.json").write_text(json.dumps({"version": 1, "id": pid, "created": created, "steps": steps}))
    r = _wopt(root, "ingest", f"{pid}.json")
    assert r.returncode == 0, r.stderr


def _rows(root: Path) -> list[dict]:
    r = _wopt(root, "list", "--all", "--json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_list_reads_rows_it_made_before_without_decoding_a_plan(tmp_path):
    (tmp_path / ".git").mkdir()
    _plan(tmp_path, "b", 2, "2026-01-02T00:00:00Z")
    _plan(tmp_path, "a", 3, "2026-01-01T00:00:00Z")
    first = _rows(tmp_path)
    assert [(r["id"], r["steps"]) for r in first] == [("a", 3), ("b", 2)]
    assert (tmp_path / ".wopt" / "cache" / "plans-v1.json").is_file()
    r = _wopt(tmp_path, "list", importtime=True)
    assert r.returncode == 0 and "a" in r.stdout and "b" in r.stdout
    heavy = {m for m in _modules(r.stderr) if m.split(".")[0] in ("msgspec", "rich")
             or m in ("wopt.engine.model.plan", "wopt.engine.store.spool")}
    # rich draws the table; nothing decodes a plan
    assert {m for m in heavy if not m.startswith("rich")} == set(), heavy
    assert _rows(tmp_path) == first


def test_a_changed_plan_or_review_is_read_again(tmp_path):
    (tmp_path / ".git").mkdir()
    _plan(tmp_path, "a", 3, "2026-01-01T00:00:00Z")
    assert _rows(tmp_path)[0]["steps"] == 3
    # the plan file rewritten in place, same size class, by another tool
    f = tmp_path / ".wopt" / "plans" / "a.json"
    plan = json.loads(f.read_text())
    plan["steps"] = plan["steps"][:1]
    plan["title"] = "edited by hand"
    f.write_text(json.dumps(plan))
    rows = _rows(tmp_path)
    assert rows[0]["steps"] == 1 and rows[0]["title"] == "edited by hand"
    # a review decision changes the row too
    (tmp_path / ".wopt" / "reviews" / "a.json").write_text(
        json.dumps({"plan_id": "a", "decisions": {"s0": "approved"}}))
    assert _rows(tmp_path)[0]["decided"] == 1
    # a broken plan is shown as unreadable, and never kept as a row
    f.write_text("{not json")
    rows = _rows(tmp_path)
    assert rows[0]["id"] == "a" and "not valid JSON" in rows[0]["error"]
    assert _rows(tmp_path) == rows


def test_a_lying_or_corrupt_index_is_not_trusted(tmp_path):
    (tmp_path / ".git").mkdir()
    _plan(tmp_path, "a", 3, "2026-01-01T00:00:00Z")
    good = _rows(tmp_path)
    index = tmp_path / ".wopt" / "cache" / "plans-v1.json"
    data = json.loads(index.read_text())
    data["plans"]["a.json"]["row"]["steps"] = 99          # a row for other bytes than the plan's
    data["plans"]["a.json"]["plan"] = "0" * 64
    index.write_text(json.dumps(data))
    assert _rows(tmp_path) == good
    index.write_text("garbage")
    assert _rows(tmp_path) == good
    data = json.loads(index.read_text())
    data["plans"]["a.json"]["row"] = ["not", "a", "row"]  # right hashes, wrong shape
    index.write_text(json.dumps(data))
    assert _rows(tmp_path) == good


def test_the_apply_progress_bar_is_drawn_only_where_rich_draws_it(monkeypatch):
    import io

    from wopt.engine.cli.cmd_apply import _progress
    for k in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    listener, _ = _progress(True)
    assert listener is None
    monkeypatch.setenv("FORCE_COLOR", "1")      # rich draws on a pipe when told to
    listener, _ = _progress(True)
    assert listener is not None


def test_an_apply_without_a_terminal_loads_neither_rich_nor_jinja2(tmp_path):
    (tmp_path / ".git").mkdir()
    (tmp_path / "a.txt").write_text("one\n")
    plan = {"version": 1, "id": "p1", "steps": [{"kind": "write", "id": "s1", "path": "a.txt", "content": "two\n"}]}
    (tmp_path / "p.json").write_text(json.dumps(plan))
    assert _wopt(tmp_path, "ingest", "p.json").returncode == 0
    env_free = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE")}
    r = subprocess.run([sys.executable, "-X", "importtime", "-m", "wopt.engine.cli.main", "apply", "p1", "--yes"],
                       cwd=str(tmp_path), capture_output=True, text=True, env=env_free)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "a.txt").read_text() == "two\n"
    assert not {m for m in _modules(r.stderr) if m.split(".")[0] in ("rich", "jinja2")}


# --------------------------------------------------------------------------- what a start costs

# modules a quick command must not load: each costs milliseconds at every start (typing alone
# about 8 ms here, more than half of Python's own start), and none is needed to answer
NOT_AT_START = ("typing", "msgspec", "rich", "dataclasses", "inspect", "threading")


def test_quick_answers_import_nothing_they_do_not_need(tmp_path):
    """`wopt history`, `wopt list` written plainly and `wopt check` asked again about an
    unchanged plan, each as the console script runs it (`entry`, which ends the process)."""
    root = _applied(tmp_path)
    _plan(root, "q", 2, "2026-01-01T00:00:00Z")
    env = {**os.environ, "COLUMNS": "200"}
    for k in ("FORCE_COLOR", "TTY_COMPATIBLE"):
        env.pop(k, None)
    # asked twice: the first check analyses and keeps its answer, once the files it depends on
    # are old enough to trust their timestamps (a change of ctime cannot be faked: wait)
    from wopt.engine.analysis.cache import RACY_SECONDS
    time.sleep(RACY_SECONDS + 0.2)
    for first in (["check", "q"], ["list"]):     # list keeps each plan's row on first sight
        assert subprocess.run([sys.executable, "-m", "wopt.engine.cli.main", *first], cwd=str(root),
                              capture_output=True, env=env).returncode == 0
    code = ("import sys, atexit; from wopt.engine.cli.main import entry; "
            "atexit.register(lambda: sys.stderr.write('LOADED ' + ' '.join(sorted(m for m in sys.modules "
            f"if m.split('.')[0] in {NOT_AT_START!r})) + '\\n')); sys.argv[1:] = sys.argv[2:]; entry()")
    for args, says in ((["history"], "committed"), (["list"], "q"), (["check", "q"], "ok: 2 steps check")):
        r = subprocess.run([sys.executable, "-c", code, "x", *args], cwd=str(root), capture_output=True,
                           text=True, env=env)
        assert r.returncode == 0, (args, r.stderr)
        assert says in r.stdout, (args, r.stdout)
        [loaded] = [ln for ln in r.stderr.splitlines() if ln.startswith("LOADED")]
        assert loaded == "LOADED ", (args, loaded)
