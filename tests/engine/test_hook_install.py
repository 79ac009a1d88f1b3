"""`wopt install-hook claude`: merging into Claude Code's settings files, and a new user's path
from install to applied files, driving the hook exactly as the settings tell Claude Code to."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
WOPT = [str(BIN / "wopt")] if (BIN / "wopt").exists() else [sys.executable, "-m", "wopt.engine.cli.main"]
DATA = Path(__file__).resolve().parents[1] / "data" / "sources"
SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures"


def sample(name: str) -> bytes:
    p = SHARED / name
    return p.read_bytes() if p.is_file() else (DATA / name).read_bytes()


def wopt(*args: str, cwd: Path, home: Path, input: bytes | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "HOME": str(home), "COLUMNS": "200"}
    return subprocess.run([*WOPT, *args], cwd=str(cwd), env=env, input=input, capture_output=True, timeout=60)


@pytest.fixture
def proj(tmp_path) -> Path:
    p = tmp_path / "shop"
    p.mkdir()
    (p / ".git").mkdir()
    return p


@pytest.fixture
def home(tmp_path) -> Path:
    h = tmp_path / "home"
    h.mkdir()
    return h


def wopt_entries(settings: dict) -> list[dict]:
    return [h for e in settings.get("hooks", {}).get("PreToolUse", []) for h in e.get("hooks", [])
            if " hook claude" in h.get("command", "")]


def test_install_project_keeps_everything_else_and_is_idempotent(proj, home):
    f = proj / ".claude" / "settings.json"
    f.parent.mkdir()
    other = {"permissions": {"allow": ["Bash(ls)"]}, "hooks": {
        "PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "echo bash"}]}],
        "PostToolUse": [{"matcher": "Write", "hooks": [{"type": "command", "command": "fmt"}]}]}}
    f.write_text(json.dumps(other))
    for _ in range(2):
        r = wopt("install-hook", "claude", cwd=proj, home=home)
        assert r.returncode == 0, r.stderr.decode()
    s = json.loads(f.read_text())
    assert s["permissions"] == other["permissions"]
    assert s["hooks"]["PostToolUse"] == other["hooks"]["PostToolUse"]
    assert s["hooks"]["PreToolUse"][0] == other["hooks"]["PreToolUse"][0]
    [h] = wopt_entries(s)
    entry = next(e for e in s["hooks"]["PreToolUse"] if h in e["hooks"])
    assert entry["matcher"] == "Write|Edit|MultiEdit|NotebookEdit"
    assert h["type"] == "command" and "--mode queue" in h["command"] and h["timeout"] == 30
    # switching mode replaces wopt's entry; the gate's timeout outlasts its wait
    r = wopt("install-hook", "claude", "--mode", "gate", "--timeout", "120", cwd=proj, home=home)
    assert r.returncode == 0
    [h] = wopt_entries(json.loads(f.read_text()))
    assert "--mode gate" in h["command"] and "--timeout 120" in h["command"] and h["timeout"] == 150
    r = wopt("install-hook", "claude", "--uninstall", cwd=proj, home=home)
    assert r.returncode == 0 and b"removed" in r.stdout
    assert json.loads(f.read_text()) == other
    r = wopt("install-hook", "claude", "--uninstall", cwd=proj, home=home)
    assert r.returncode == 0 and b"nothing changed" in r.stdout


def test_install_local_and_user_scopes(proj, home):
    assert wopt("install-hook", "claude", "--scope", "local", cwd=proj, home=home).returncode == 0
    assert wopt_entries(json.loads((proj / ".claude" / "settings.local.json").read_text()))
    assert not (proj / ".claude" / "settings.json").exists()
    assert wopt("install-hook", "claude", "--scope", "user", cwd=proj, home=home).returncode == 0
    assert wopt_entries(json.loads((home / ".claude" / "settings.json").read_text()))
    assert wopt("install-hook", "claude", "--scope", "user", "--uninstall", cwd=proj, home=home).returncode == 0
    assert json.loads((home / ".claude" / "settings.json").read_text()) == {}


def test_install_refuses_broken_settings_without_touching_them(proj, home):
    f = proj / ".claude" / "settings.json"
    f.parent.mkdir()
    f.write_text("{ not json")
    r = wopt("install-hook", "claude", cwd=proj, home=home)
    assert r.returncode == 1 and b"settings.json" in r.stderr and b"not valid JSON" in r.stderr
    assert f.read_text() == "{ not json"


def test_new_user_install_feed_recorded_payloads_list_and_apply(proj, home):
    src = proj / "src" / "cart"
    src.mkdir(parents=True)
    (src / "totals.py").write_text("def subtotal(items):\n    return sum(i.price * i.qty for i in items)\n")
    (proj / "notebooks").mkdir()
    (proj / "notebooks" / "sales.ipynb").write_text(json.dumps({"cells": [
        {"cell_type": "code", "id": "a1b2c3d4", "metadata": {}, "source": "x", "outputs": [], "execution_count": None}],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    r = wopt("install-hook", "claude", cwd=proj, home=home)
    assert r.returncode == 0, r.stderr.decode()
    [h] = wopt_entries(json.loads((proj / ".claude" / "settings.json").read_text()))
    # the recorded payloads, in order, as Claude Code would send them from this project
    names = ["claude_pretooluse_edit.json", "claude_pretooluse_multiedit.json",
             "claude_pretooluse_notebookedit.json", "claude_pretooluse_write.json"]
    for name in names:
        data = sample(name).replace(b"/home/dev/shop", str(proj).encode())
        r = subprocess.run(h["command"], shell=True, cwd=str(proj), input=data, capture_output=True,
                           env={**os.environ, "HOME": str(home)}, timeout=h["timeout"])
        assert r.returncode == 0
        out = json.loads(r.stdout)["hookSpecificOutput"]
        assert out["permissionDecision"] == "deny" and "queued" in out["permissionDecisionReason"], out
    assert (src / "totals.py").read_text().startswith("def subtotal(items):\n    return sum(")  # untouched
    r = wopt("list", "--json", cwd=proj, home=home)
    [row] = json.loads(r.stdout)
    assert row["steps"] == 2 and row["source"] == "claude-hook"
    plan = json.loads((proj / ".wopt" / "plans" / f"{row['id']}.json").read_text())
    totals = next(s for s in plan["steps"] if s["path"] == "src/cart/totals.py")
    assert [o["tool"] for o in totals["origin"]] == ["Edit", "MultiEdit", "Write"]  # three calls, one step
    r = wopt("apply", row["id"], "--yes", cwd=proj, home=home)
    assert r.returncode == 0, r.stderr.decode()
    # Edit, then MultiEdit on its result, then a Write that replaces it all: the last Write wins
    assert (src / "totals.py").read_text() == \
        "def subtotal(items):\n    return sum(i.price * i.qty for i in items)\n"
    nb = json.loads((proj / "notebooks" / "sales.ipynb").read_text())
    assert nb["cells"][0]["source"] == "import pandas as pd\ndf = pd.read_csv('sales.csv')"
