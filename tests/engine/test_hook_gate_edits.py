"""A gated Claude Code call that the person approved with their own edits: a Write is allowed
with their content (updatedInput); an Edit cannot carry a whole file, so wopt applies the
edited version itself and the deny says so (before, Claude Code applied its own edit and the
person's was lost)."""
from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

from wopt.engine.store import spool
from wopt.engine.store.workspace import Workspace

BIN = Path(sys.executable).parent
WOPT = [str(BIN / "wopt")] if (BIN / "wopt").exists() else [sys.executable, "-m", "wopt.engine.cli.main"]


def _gate(root: Path, tool: str, inp: dict) -> tuple[threading.Thread, dict]:
    p = {"session_id": "sess-E", "cwd": str(root), "hook_event_name": "PreToolUse", "tool_name": tool,
         "tool_input": inp, "tool_use_id": "t1"}
    box: dict = {}

    def run():
        r = subprocess.run([*WOPT, "hook", "claude", "--mode", "gate", "--timeout", "30"],
                           input=json.dumps(p).encode(), capture_output=True, cwd=str(root), timeout=60)
        assert r.returncode == 0
        box["out"] = json.loads(r.stdout)
    t = threading.Thread(target=run)
    t.start()
    return t, box


def _approve_with_edit(ws: Workspace, pid: str, content: str) -> None:
    end = time.monotonic() + 20
    while not (spool.plan_file(ws, pid).exists() and spool.load_plan(ws, pid).steps):
        assert time.monotonic() < end, "the gate call never showed up"
        time.sleep(0.02)
    sid = spool.load_plan(ws, pid).steps[0].id
    with spool.review_lock(ws, pid):
        review = spool.load_review(ws, pid)
        review.edited[sid] = content
        review.set(sid, "approved")
        spool.save_review(ws, review)


def test_claude_edit_approved_with_the_persons_edit_is_applied_by_wopt(tmp_path):
    root = tmp_path / "proj"
    (root / ".git").mkdir(parents=True)
    (root / "app.py").write_text("x = 1\n")
    ws = Workspace(root)
    t, box = _gate(root, "Edit", {"file_path": str(root / "app.py"), "old_string": "x = 1", "new_string": "x = 2"})
    _approve_with_edit(ws, "claude-sess-E-gate", "x = 3\n")
    t.join(30)
    h = box["out"]["hookSpecificOutput"]
    assert h["permissionDecision"] == "deny" and "applied the edited version" in h["permissionDecisionReason"]
    assert (root / "app.py").read_text() == "x = 3\n"
    assert not spool.plan_file(ws, "claude-sess-E-gate").exists()


def test_a_gated_edit_the_person_rebased_onto_the_file_now_is_applied_as_rebased(tmp_path):
    """The file changed while the call waited (another write), so the step went stale; the
    person merged it onto the file as it is now (a rebase: their content, and the file's
    current hash as the step's precondition) and approved: that version lands."""
    from wopt.engine.model.plan import sha256
    root = tmp_path / "proj"
    (root / ".git").mkdir(parents=True)
    (root / "app.py").write_text("x = 1\n")
    ws = Workspace(root)
    pid = "claude-sess-E-gate"
    t, box = _gate(root, "Edit", {"file_path": str(root / "app.py"), "old_string": "x = 1", "new_string": "x = 2"})
    end = time.monotonic() + 20
    while not (spool.plan_file(ws, pid).exists() and spool.load_plan(ws, pid).steps):
        assert time.monotonic() < end, "the gate call never showed up"
        time.sleep(0.02)
    (root / "app.py").write_text("x = 1\ny = 5\n")          # changed meanwhile
    sid = spool.load_plan(ws, pid).steps[0].id
    with spool.review_lock(ws, pid):
        review = spool.load_review(ws, pid)
        review.edited[sid] = "x = 2\ny = 5\n"
        review.rebased[sid] = sha256(b"x = 1\ny = 5\n")
        review.set(sid, "approved")
        spool.save_review(ws, review)
    t.join(30)
    h = box["out"]["hookSpecificOutput"]
    assert (root / "app.py").read_text() == "x = 2\ny = 5\n", h
    assert h["permissionDecision"] == "deny" and "applied the edited version" in h["permissionDecisionReason"]
