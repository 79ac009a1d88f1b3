"""`decide.waiting`: which plans a gate-mode hook call is blocked on. The hook marks its wait
in `.wopt/waiting/`; the marker goes when the call is answered, and one left by a killed hook
does not count."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from test_hook import WOPT, call

from wopt.engine.store import decide
from wopt.engine.store.workspace import Workspace


@pytest.fixture
def root(tmp_path) -> Path:
    r = tmp_path / "proj"
    r.mkdir()
    (r / ".git").mkdir()
    return r


def gate(root: Path, name: str, timeout: str = "30") -> subprocess.Popen:
    p = subprocess.Popen([*WOPT, "hook", "claude", "--mode", "gate", "--timeout", timeout],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=str(root))
    p.stdin.write(json.dumps(call(root, "Write", {"file_path": str(root / name), "content": "x\n"})).encode())
    p.stdin.close()
    return p


def until(cond, timeout: float = 20.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        got = cond()
        if got:
            return got
        time.sleep(0.02)
    raise AssertionError("condition never held")


def test_a_waiting_gate_call_is_reported_until_it_is_answered(root):
    ws = Workspace(root)
    assert decide.waiting(ws) == []
    p = gate(root, "g.txt")
    try:
        [w] = until(lambda: decide.waiting(ws))
        assert (w.plan_id, w.pid, w.path, w.tool) == ("claude-sess-A-gate", p.pid, "g.txt", "Write")
        assert w.step_id == "g1" and w.until > w.since
        decide.approve(ws, "claude-sess-A-gate")
        out = p.stdout.read()
        p.wait(30)
        assert json.loads(out)["hookSpecificOutput"]["permissionDecision"] == "allow"
        assert decide.waiting(ws) == []
        assert not list((root / ".wopt" / "waiting").iterdir())
    finally:
        p.kill()


def test_a_killed_gate_call_is_not_waiting(root):
    ws = Workspace(root)
    p = gate(root, "k.txt")
    until(lambda: decide.waiting(ws))
    os.kill(p.pid, signal.SIGKILL)
    p.wait(10)
    # its marker and its gate plan stay behind, but nobody waits on them any more
    assert list((root / ".wopt" / "waiting").iterdir())
    assert decide.waiting(ws) == []


def test_a_marker_past_its_time_or_unreadable_is_not_waiting(root):
    ws = Workspace(root)
    d = root / ".wopt" / "waiting"
    d.mkdir(parents=True)
    now = time.time()
    (d / "1-old.json").write_text(json.dumps({"plan": "p", "step": "g1", "pid": os.getpid(), "since": now - 100,
                                              "until": now - 60}))
    (d / "2-junk.json").write_text("not json")
    (d / "3-live.json").write_text(json.dumps({"plan": "q", "step": "g1", "pid": os.getpid(), "since": now,
                                               "until": now + 60}))
    assert [w.plan_id for w in decide.waiting(ws)] == ["q"]
