"""approve / reject / wait_decision: the decisions API shared by the CLI, the hook and the app."""
from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from wopt.engine.store import decide, spool
from wopt.engine.model.errors import NotFound, UsageError
from wopt.engine.model.plan import Plan, WriteStep
from wopt.engine.model.review import APPROVED, PENDING, REJECTED
from wopt.engine.store.workspace import Workspace

BIN = Path(sys.executable).parent
WOPT = [str(BIN / "wopt")] if (BIN / "wopt").exists() else [sys.executable, "-m", "wopt.engine.cli.main"]


@pytest.fixture
def ws(tmp_path) -> Workspace:
    w = Workspace(tmp_path)
    plan = Plan(id="p1", title="t", steps=[WriteStep(id=f"s{i}", path=f"f{i}.txt", content="x") for i in (1, 2, 3)])
    spool.save_plan(w, plan)
    return w


def test_approve_all_and_reject_some_with_reason(ws):
    assert decide.approve(ws, "p1") == ["s1", "s2", "s3"]
    assert decide.reject(ws, "p1", ["s2", "3"], reason="no") == ["s2", "s3"]  # id or 1-based position
    r = spool.load_review(ws, "p1")
    assert r.decisions == {"s1": APPROVED, "s2": REJECTED, "s3": REJECTED}
    assert r.reasons == {"s2": "no", "s3": "no"}
    decide.reset(ws, "p1", ["s2"])
    r = spool.load_review(ws, "p1")
    assert r.decision("s2") == PENDING and "s2" not in r.reasons


def test_unknown_step_or_plan_refused_before_saving(ws):
    with pytest.raises(NotFound, match="no step 'zz'"):
        decide.approve(ws, "p1", ["s1", "zz"])
    assert not spool.review_file(ws, "p1").exists()
    with pytest.raises(NotFound):
        decide.approve(ws, "nope")
    with pytest.raises(UsageError):
        decide.decide(ws, "p1", {"s1": "maybe"})


def test_concurrent_deciders_lose_nothing(ws):
    def one(sid):
        for _ in range(20):
            decide.approve(ws, "p1", [sid])
            decide.reject(ws, "p1", [sid], reason=sid)
    ts = [threading.Thread(target=one, args=(s,)) for s in ("s1", "s2", "s3")]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    r = spool.load_review(ws, "p1")
    assert r.decisions == {"s1": REJECTED, "s2": REJECTED, "s3": REJECTED}
    assert r.reasons == {"s1": "s1", "s2": "s2", "s3": "s3"}


def test_wait_decision_returns_as_soon_as_decided(ws):
    def later():
        time.sleep(0.3)
        decide.reject(ws, "p1", ["s2"], reason="because")
    threading.Thread(target=later).start()
    t0 = time.monotonic()
    assert decide.wait_decision(ws, "p1", "s2", timeout=20) == (REJECTED, "because")
    assert time.monotonic() - t0 < 5


def test_wait_decision_times_out_pending(ws):
    t0 = time.monotonic()
    assert decide.wait_decision(ws, "p1", "s1", timeout=0.2) == (PENDING, None)
    assert 0.15 < time.monotonic() - t0 < 5


def test_cli_approve_reject(ws):
    r = subprocess.run([*WOPT, "approve", "p1", "s1", "--json", "--root", str(ws.root)], capture_output=True)
    assert r.returncode == 0 and json.loads(r.stdout) == {"plan": "p1", "approved": ["s1"]}
    r = subprocess.run([*WOPT, "reject", "p1", "--reason", "later", "--root", str(ws.root)], capture_output=True)
    assert r.returncode == 0 and b"rejected 3 steps" in r.stdout
    r = subprocess.run([*WOPT, "reject", "p1", "s9", "--root", str(ws.root)], capture_output=True)
    assert r.returncode == 1 and b"no step 's9'" in r.stderr and b"Traceback" not in r.stderr
