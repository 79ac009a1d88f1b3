"""Start-up cost of the Codex and Gemini CLI hooks, as whole processes: median wall time of
`wopt hook codex` answering an apply_patch of a 10 KB file and of `wopt hook gemini` answering a
10 KB write_file (queue mode, a fresh session each run), against `python -c pass` measured in
the same run. Target: at most 4x. Also checks that neither hook imports a heavy library (nor
the MCP SDK, which only `wopt mcp` loads)."""
from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest
from benchlib import size, target

BIN = Path(sys.executable).parent
WOPT = [str(BIN / "wopt")] if (BIN / "wopt").exists() else [sys.executable, "-m", "wopt.engine.cli.main"]
RUNS = size(21, 3)   # whole processes each; the tiny run checks the answers only
TARGET = 4.0
HEAVY = ("rich", "textual", "jinja2", "pygments", "unidiff", "mcp", "pydantic", "anyio")
CONTENT = ("x" * 99 + "\n") * 100  # 10 KB


def _median(cmd: list[str], inputs: list[bytes], cwd: Path) -> float:
    times = []
    for data in inputs:
        t = time.perf_counter()
        r = subprocess.run(cmd, input=data, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=str(cwd))
        times.append(time.perf_counter() - t)
        assert r.returncode == 0
    return statistics.median(times)


def _codex(root: Path, i: int) -> bytes:
    patch = f"*** Begin Patch\n*** Add File: src/f{i}.py\n" + "".join("+" + ln + "\n" for ln in CONTENT.splitlines()) \
        + "*** End Patch\n"
    return json.dumps({"session_id": f"bench-{i}", "turn_id": "t", "transcript_path": None, "cwd": str(root),
                       "hook_event_name": "PreToolUse", "model": "m", "permission_mode": "default",
                       "tool_name": "apply_patch", "tool_use_id": f"c{i}", "tool_input": {"command": patch}}).encode()


def _gemini(root: Path, i: int) -> bytes:
    return json.dumps({"session_id": f"bench-{i}", "transcript_path": "", "cwd": str(root),
                       "hook_event_name": "BeforeTool", "timestamp": "2026-11-30T10:21:07.412Z",
                       "tool_name": "write_file",
                       "tool_input": {"file_path": f"src/f{i}.py", "content": CONTENT}}).encode()


def _denied(agent: str, out: bytes) -> bool:
    d = json.loads(out)
    return d["hookSpecificOutput"]["permissionDecision"] == "deny" if agent == "codex" else d["decision"] == "deny"


@pytest.mark.parametrize("agent,make", [("codex", _codex), ("gemini", _gemini)])
def test_hook_startup_at_most_4x_python(tmp_path, agent, make):
    root = tmp_path / "proj"
    (root / ".git").mkdir(parents=True)
    # warm the page cache and check the answer once
    out = subprocess.run([*WOPT, "hook", agent], input=make(root, 999), capture_output=True, cwd=str(root))
    assert _denied(agent, out.stdout), out.stdout
    base = _median([sys.executable, "-c", "pass"], [b""] * RUNS, root)
    hook = _median([*WOPT, "hook", agent], [make(root, i) for i in range(RUNS)], root)
    ratio = hook / base
    print(f"\nwopt hook {agent}: median {hook * 1000:.1f} ms, python -c pass: {base * 1000:.1f} ms, "
          f"ratio {ratio:.2f}x (target <= {TARGET:g}x, {RUNS} runs each)")
    target(ratio <= TARGET, f"wopt hook {agent} is {ratio:.2f}x python -c pass (target <= {TARGET:g}x)")


@pytest.mark.parametrize("agent,make", [("codex", _codex), ("gemini", _gemini)])
def test_hook_imports_nothing_heavy(tmp_path, agent, make):
    root = tmp_path / "proj"
    (root / ".git").mkdir(parents=True)
    code = f"import sys; from wopt.engine.cli.main import main; sys.exit(main(['hook', '{agent}']))"
    r = subprocess.run([sys.executable, "-X", "importtime", "-c", code], input=make(root, 0),
                       capture_output=True, cwd=str(root))
    assert r.returncode == 0
    mods = {ln.split("|")[-1].strip().split(".")[0] for ln in r.stderr.decode().splitlines() if "|" in ln}
    assert not mods & set(HEAVY), mods & set(HEAVY)
