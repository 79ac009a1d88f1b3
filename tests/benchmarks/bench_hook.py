"""Start-up cost of the Claude Code hook: median wall time of `wopt hook claude` answering a
10 KB Write (queue mode, a fresh session each run), against `python -c pass` measured in the
same run. Target: at most 4x. Also checks that the hook imports none of the heavy libraries."""
from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchlib import size, target

BIN = Path(sys.executable).parent
WOPT = [str(BIN / "wopt")] if (BIN / "wopt").exists() else [sys.executable, "-m", "wopt.engine.cli.main"]
RUNS = size(21, 2)
HEAVY = ("rich", "textual", "jinja2", "pygments", "unidiff")


def _median(cmd: list[str], inputs: list[bytes], cwd: Path) -> float:
    times = []
    for data in inputs:
        t = time.perf_counter()
        r = subprocess.run(cmd, input=data, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=str(cwd))
        times.append(time.perf_counter() - t)
        assert r.returncode == 0
    return statistics.median(times)


def _payload(root: Path, i: int) -> bytes:
    content = ("x" * 99 + "\n") * 100  # 10 KB
    return json.dumps({"session_id": f"bench-{i}", "cwd": str(root), "hook_event_name": "PreToolUse",
                       "tool_name": "Write", "tool_use_id": f"t{i}",
                       "tool_input": {"file_path": str(root / "src" / f"f{i}.py"), "content": content}}).encode()


def test_hook_startup_within_4x_python(tmp_path):
    root = tmp_path / "proj"
    (root / ".git").mkdir(parents=True)
    # warm the page cache and check the answer once
    out = subprocess.run([*WOPT, "hook", "claude"], input=_payload(root, 999), capture_output=True, cwd=str(root))
    assert json.loads(out.stdout)["hookSpecificOutput"]["permissionDecision"] == "deny"
    base = _median([sys.executable, "-c", "pass"], [b""] * RUNS, root)
    hook = _median([*WOPT, "hook", "claude"], [_payload(root, i) for i in range(RUNS)], root)
    ratio = hook / base
    print(f"\nhook: median {hook * 1000:.1f} ms, python -c pass: {base * 1000:.1f} ms, ratio {ratio:.2f}x "
          f"(target <= 4x, {RUNS} runs each)")
    target(ratio <= 4.0, f"hook {ratio:.2f}x python -c pass")


def test_hook_imports_nothing_heavy(tmp_path):
    root = tmp_path / "proj"
    (root / ".git").mkdir(parents=True)
    code = "import sys; from wopt.engine.cli.main import main; sys.exit(main(['hook', 'claude']))"
    r = subprocess.run([sys.executable, "-X", "importtime", "-c", code],
                       input=_payload(root, 0), capture_output=True, cwd=str(root))
    assert r.returncode == 0
    mods = {ln.split("|")[-1].strip().split(".")[0] for ln in r.stderr.decode().splitlines() if "|" in ln}
    assert not mods & set(HEAVY), mods & set(HEAVY)
