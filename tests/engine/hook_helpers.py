"""What the agent-hook tests (`wopt hook claude|codex|gemini`) share: the real `wopt` console
script run with a payload on stdin, a workspace to run it in, and the gate mode's moving parts
(a hook call waiting in a thread, its pending plan, a decision made from the command line or
saved in the review as a person's edit)."""
from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from wopt.engine.store import spool
from wopt.engine.store.workspace import Workspace

BIN = Path(sys.executable).parent
WOPT = [str(BIN / "wopt")] if (BIN / "wopt").exists() else [sys.executable, "-m", "wopt.engine.cli.main"]
CART = "class Cart:\n    def total(self):\n        return sum(i.price for i in self.items)\n"


def run_hook(agent: str, root: Path, payload: Any, *args: str, raw: bytes | None = None,
             timeout: float = 60) -> dict:
    """`wopt hook AGENT ARGS` with the payload as JSON on stdin: exit 0 and one JSON object."""
    data = raw if raw is not None else json.dumps(payload).encode()
    r = subprocess.run([*WOPT, "hook", agent, *args], input=data, capture_output=True, cwd=str(root),
                       timeout=timeout)
    assert r.returncode == 0, r.stderr.decode()
    assert r.stdout.count(b"\n") == 1, r.stdout
    return json.loads(r.stdout)


def shop(tmp_path: Path) -> Path:
    """A git checkout `shop/` with src/shop/cart.py (CART)."""
    r = tmp_path / "shop"
    (r / ".git").mkdir(parents=True)
    (r / "src" / "shop").mkdir(parents=True)
    (r / "src" / "shop" / "cart.py").write_text(CART)
    return r


def gate_async(agent: str, root: Path, payload: dict, *args: str) -> tuple[threading.Thread, dict]:
    """A gate-mode hook call left waiting in a thread; its answer lands in box["out"]."""
    box: dict = {}

    def run() -> None:
        box["out"] = run_hook(agent, root, payload, "--mode", "gate", *args)
    t = threading.Thread(target=run)
    t.start()
    return t, box


def wait_pending(ws: Workspace, pid: str, timeout: float = 20.0):
    """The gate plan once the waiting call has put its steps in it."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if spool.plan_file(ws, pid).exists():
            plan = spool.load_plan(ws, pid)
            if plan.steps:
                return plan
        time.sleep(0.02)
    raise AssertionError("the gate call never showed up")


def wopt(root: Path, *args: str) -> subprocess.CompletedProcess:
    """`wopt ARGS --root ROOT`, which must succeed."""
    r = subprocess.run([*WOPT, *args, "--root", str(root)], capture_output=True)
    assert r.returncode == 0, r.stderr.decode()
    return r


def approve_with_edit(ws: Workspace, plan, content: str) -> None:
    """What the review app saves when a person edits the first step and approves it."""
    sid = plan.steps[0].id
    with spool.review_lock(ws, plan.id):
        review = spool.load_review(ws, plan.id)
        review.edited[sid] = content
        review.set(sid, "approved")
        spool.save_review(ws, review)
