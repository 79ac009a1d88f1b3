"""Start-up of the headless commands: what a command imports and reads before it answers
(whole processes: `wopt list`, `history`, `check` run on every agent turn)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from wopt.engine import transaction as txn
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
        heavy = {m for m in _modules(r.stderr) if m in ("wopt.engine.recovery", "wopt.engine.transaction")}
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
    assert "wopt.engine.recovery" in _modules(r.stderr)
    assert not any(n.endswith(".pending.tmp") for n in os.listdir(journal))


def test_the_finished_states_are_the_transaction_layer_s():
    assert common.FINISHED == (txn.COMMITTED, txn.UNDONE)
