"""`wopt install-hook codex|gemini`: merging wopt's hook into Codex's hooks.json and Gemini CLI's
settings.json (idempotent, mode switch, timeouts in each agent's unit, uninstall that gives back
the file byte for byte), and a new user's path: install, the agent runs the installed command
on a write, the person applies."""
from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
WOPT = [str(BIN / "wopt")] if (BIN / "wopt").exists() else [sys.executable, "-m", "wopt.engine.cli.main"]


def wopt(*args: str, cwd: Path, home: Path, input: bytes | None = None, env: dict | None = None):
    e = {**os.environ, "HOME": str(home), "COLUMNS": "200"}
    e.pop("CODEX_HOME", None)
    e.update(env or {})
    return subprocess.run([*WOPT, *args], cwd=str(cwd), env=e, input=input, capture_output=True, timeout=60)


@pytest.fixture
def proj(tmp_path) -> Path:
    p = tmp_path / "shop"
    (p / ".git").mkdir(parents=True)
    return p


@pytest.fixture
def home(tmp_path) -> Path:
    h = tmp_path / "home"
    h.mkdir()
    return h


def wopt_hooks(cfg: dict, event: str, agent: str) -> list[tuple[dict, dict]]:
    return [(g, h) for g in cfg.get("hooks", {}).get(event, []) for h in g.get("hooks", [])
            if f" hook {agent}" in h.get("command", "")]


# ------------------------------------------------------------------ Codex

CODEX_OTHER = {"hooks": {
    "PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "audit-shell", "timeout": 5}]}],
    "PostToolUse": [{"matcher": "apply_patch", "hooks": [{"type": "command", "command": "ruff format"}]}]}}


def test_codex_install_merges_is_idempotent_switches_mode_and_uninstalls_byte_stable(proj, home):
    f = proj / ".codex" / "hooks.json"
    f.parent.mkdir()
    original = (json.dumps(CODEX_OTHER, indent=4) + "\n").encode()
    f.write_bytes(original)
    r = wopt("install-hook", "codex", cwd=proj, home=home)
    assert r.returncode == 0, r.stderr.decode()
    assert b".codex/hooks.json" in r.stdout and b"timeout 30 s" in r.stdout and b"/hooks" in r.stdout
    once = f.read_bytes()
    assert wopt("install-hook", "codex", cwd=proj, home=home).returncode == 0
    assert f.read_bytes() == once                                   # idempotent
    cfg = json.loads(once)
    assert cfg["hooks"]["PostToolUse"] == CODEX_OTHER["hooks"]["PostToolUse"]
    assert cfg["hooks"]["PreToolUse"][0] == CODEX_OTHER["hooks"]["PreToolUse"][0]
    [(group, h)] = wopt_hooks(cfg, "PreToolUse", "codex")
    # the shape of shared/fixtures/agents/codex_hooks.json
    assert group["matcher"] == "apply_patch" and set(group) == {"matcher", "hooks"}
    assert h["type"] == "command" and "--mode queue" in h["command"] and h["timeout"] == 30
    assert h["statusMessage"].startswith("wopt:")
    assert once.startswith(b'{\n    "hooks"')                       # the file's own indent is kept
    # gate: Codex's timeout (seconds) outlasts the hook's own wait
    r = wopt("install-hook", "codex", "--mode", "gate", "--timeout", "120", cwd=proj, home=home)
    assert r.returncode == 0
    [(_, h)] = wopt_hooks(json.loads(f.read_text()), "PreToolUse", "codex")
    assert "--mode gate" in h["command"] and "--timeout 120" in h["command"] and h["timeout"] == 150
    wopt("install-hook", "codex", "--mode", "gate", cwd=proj, home=home)
    [(_, h)] = wopt_hooks(json.loads(f.read_text()), "PreToolUse", "codex")
    assert "--timeout 570" in h["command"] and h["timeout"] == 600   # Codex's own default
    r = wopt("install-hook", "codex", "--uninstall", cwd=proj, home=home)
    assert r.returncode == 0 and b"removed" in r.stdout
    assert f.read_bytes() == original
    r = wopt("install-hook", "codex", "--uninstall", cwd=proj, home=home)
    assert r.returncode == 0 and b"nothing changed" in r.stdout


def test_codex_file_of_wopt_alone_goes_away_on_uninstall(proj, home):
    assert wopt("install-hook", "codex", cwd=proj, home=home).returncode == 0
    f = proj / ".codex" / "hooks.json"
    assert f.is_file()
    assert wopt("install-hook", "codex", "--uninstall", cwd=proj, home=home).returncode == 0
    assert not f.exists()


def test_codex_user_scope_and_codex_home(proj, home, tmp_path):
    assert wopt("install-hook", "codex", "--scope", "user", cwd=proj, home=home).returncode == 0
    assert wopt_hooks(json.loads((home / ".codex" / "hooks.json").read_text()), "PreToolUse", "codex")
    ch = tmp_path / "codexhome"
    r = wopt("install-hook", "codex", "--scope", "user", cwd=proj, home=home, env={"CODEX_HOME": str(ch)})
    assert r.returncode == 0 and wopt_hooks(json.loads((ch / "hooks.json").read_text()), "PreToolUse", "codex")
    assert not (proj / ".codex").exists()


def test_codex_notes_when_config_toml_turns_hooks_off(proj, home):
    (proj / ".codex").mkdir()
    (proj / ".codex" / "config.toml").write_text('model = "gpt-5.1-codex"\n[features]\nhooks = false\n')
    r = wopt("install-hook", "codex", cwd=proj, home=home)
    assert r.returncode == 0 and b"turns hooks off" in r.stdout
    assert (proj / ".codex" / "config.toml").read_text().startswith('model = "gpt-5.1-codex"')


def test_local_scope_is_claude_codes_only(proj, home):
    r = wopt("install-hook", "codex", "--scope", "local", cwd=proj, home=home)
    assert r.returncode == 2 and b"local" in r.stderr and not (proj / ".codex").exists()


# ------------------------------------------------------------------ Gemini

GEMINI_OTHER = {"theme": "GitHub", "hooksConfig": {"enabled": True},
                "mcpServers": {"docs": {"command": "docs-mcp"}},
                "hooks": {"BeforeTool": [{"matcher": "run_shell_command",
                                          "hooks": [{"type": "command", "command": "audit", "timeout": 5000}]}]}}


def test_gemini_install_merges_is_idempotent_switches_mode_and_uninstalls_byte_stable(proj, home):
    f = proj / ".gemini" / "settings.json"
    f.parent.mkdir()
    original = (json.dumps(GEMINI_OTHER, indent=2) + "\n").encode()
    f.write_bytes(original)
    r = wopt("install-hook", "gemini", cwd=proj, home=home)
    assert r.returncode == 0, r.stderr.decode()
    assert b"timeout 30000 ms" in r.stdout
    once = f.read_bytes()
    assert wopt("install-hook", "gemini", cwd=proj, home=home).returncode == 0
    assert f.read_bytes() == once
    cfg = json.loads(once)
    for k in ("theme", "hooksConfig", "mcpServers"):
        assert cfg[k] == GEMINI_OTHER[k]
    assert cfg["hooks"]["BeforeTool"][0] == GEMINI_OTHER["hooks"]["BeforeTool"][0]
    [(group, h)] = wopt_hooks(cfg, "BeforeTool", "gemini")
    # the shape of shared/fixtures/agents/gemini_settings_hooks.json
    assert group["matcher"] == "^(write_file|replace)$" and group["sequential"] is True
    assert h["name"] == "wopt-write-gate" and h["type"] == "command" and h["timeout"] == 30000
    r = wopt("install-hook", "gemini", "--mode", "gate", "--timeout", "120", cwd=proj, home=home)
    assert r.returncode == 0
    [(_, h)] = wopt_hooks(json.loads(f.read_text()), "BeforeTool", "gemini")
    assert "--timeout 120" in h["command"] and h["timeout"] == 150_000      # milliseconds
    wopt("install-hook", "gemini", "--mode", "gate", cwd=proj, home=home)
    [(_, h)] = wopt_hooks(json.loads(f.read_text()), "BeforeTool", "gemini")
    assert "--timeout 570" in h["command"] and h["timeout"] == 600_000
    assert wopt("install-hook", "gemini", "--uninstall", cwd=proj, home=home).returncode == 0
    assert f.read_bytes() == original


def test_gemini_user_scope_and_notes(proj, home):
    (home / ".gemini").mkdir()
    (home / ".gemini" / "settings.json").write_text('{"hooksConfig": {"enabled": false}}')
    r = wopt("install-hook", "gemini", "--scope", "user", cwd=proj, home=home)
    assert r.returncode == 0 and b"turns hooks off" in r.stdout
    cfg = json.loads((home / ".gemini" / "settings.json").read_text())
    assert cfg["hooksConfig"] == {"enabled": False} and wopt_hooks(cfg, "BeforeTool", "gemini")


@pytest.mark.parametrize("agent,rel", [("codex", ".codex/hooks.json"), ("gemini", ".gemini/settings.json")])
@pytest.mark.parametrize("bad", ["{not json", "[1, 2]", '{"hooks": 3}'])
def test_broken_config_is_refused_and_left_alone(proj, home, agent, rel, bad):
    f = proj / rel
    f.parent.mkdir()
    f.write_text(bad)
    r = wopt("install-hook", agent, cwd=proj, home=home)
    assert r.returncode == 1 and rel.split("/")[-1].encode() in r.stderr and b"Traceback" not in r.stderr
    assert f.read_text() == bad


# ------------------------------------------------------------------ a new user's path

def _installed_command(proj: Path, agent: str) -> str:
    if agent == "codex":
        cfg, event = json.loads((proj / ".codex/hooks.json").read_text()), "PreToolUse"
    else:
        cfg, event = json.loads((proj / ".gemini/settings.json").read_text()), "BeforeTool"
    [(_, h)] = wopt_hooks(cfg, event, agent)
    return h["command"]


def test_new_user_installs_agent_writes_person_applies(proj, home):
    (proj / "app.py").write_text("x = 1\n")
    for agent in ("codex", "gemini"):
        assert wopt("install-hook", agent, cwd=proj, home=home).returncode == 0
    codex = {"session_id": "s-codex", "turn_id": "t", "transcript_path": None, "cwd": str(proj),
             "hook_event_name": "PreToolUse", "model": "m", "permission_mode": "default",
             "tool_name": "apply_patch", "tool_use_id": "call_1",
             "tool_input": {"command": "*** Begin Patch\n*** Update File: app.py\n-x = 1\n+x = 2\n*** End Patch\n"}}
    gemini = {"session_id": "s-gemini", "transcript_path": "", "cwd": str(proj), "hook_event_name": "BeforeTool",
              "timestamp": "2026-11-30T10:21:07.412Z", "tool_name": "write_file",
              "tool_input": {"file_path": "docs/notes.md", "content": "# Notes\n"}}
    for agent, p in (("codex", codex), ("gemini", gemini)):
        # exactly as the agent runs it: a shell command line, cwd = the session's cwd
        r = subprocess.run(["sh", "-c", _installed_command(proj, agent)], input=json.dumps(p).encode(),
                           capture_output=True, cwd=str(proj), env={**os.environ, "HOME": str(home)}, timeout=60)
        assert r.returncode == 0, r.stderr.decode()
        out = json.loads(r.stdout)
        why = out["hookSpecificOutput"]["permissionDecisionReason"] if agent == "codex" else out["reason"]
        assert "queued" in why
    r = wopt("list", cwd=proj, home=home)
    assert b"codex-s-codex" in r.stdout and b"gemini-s-gemini" in r.stdout
    for pid in ("codex-s-codex", "gemini-s-gemini"):
        r = wopt("apply", pid, "--all", "--yes", cwd=proj, home=home)
        assert r.returncode == 0, r.stderr.decode()
    assert (proj / "app.py").read_text() == "x = 2\n" and (proj / "docs" / "notes.md").read_text() == "# Notes\n"


def test_installed_command_is_a_valid_shell_line(proj, home):
    assert wopt("install-hook", "gemini", "--mode", "gate", cwd=proj, home=home).returncode == 0
    argv = shlex.split(_installed_command(proj, "gemini"))
    assert argv[-6:] == ["hook", "gemini", "--mode", "gate", "--timeout", "570"]
