"""`wopt hook claude` in a subprocess with real stdin and stdout: every answer is exit 0 and one
valid JSON object; queue and gate modes; concurrent calls of one session lose no write."""
from __future__ import annotations

import json
import os
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

import pytest

from hook_helpers import WOPT, approve_with_edit, gate_async, run_hook, wait_pending, wopt
from wopt.engine.store import decide, spool
from wopt.engine.store.effects import compute
from wopt.engine.model.plan import ABSENT, EditStep, WriteStep, sha256
from wopt.engine.store.workspace import Workspace


hook = partial(run_hook, "claude")


def decision(out: dict) -> tuple[str, str]:
    h = out["hookSpecificOutput"]
    assert h["hookEventName"] == "PreToolUse"
    return h["permissionDecision"], h["permissionDecisionReason"]


def call(root: Path, tool: str, inp: dict, cid: str = "toolu_1", session: str = "sess-A") -> dict:
    return {"session_id": session, "transcript_path": "/dev/null", "cwd": str(root),
            "permission_mode": "default", "hook_event_name": "PreToolUse", "tool_name": tool,
            "tool_input": inp, "tool_use_id": cid}


@pytest.fixture
def root(tmp_path) -> Path:
    r = tmp_path / "proj"
    r.mkdir()
    (r / ".git").mkdir()
    (r / "app.py").write_text("def f():\n    return 1\n")
    return r


def test_queue_denies_and_stores_the_write(root):
    d, why = decision(hook(root, call(root, "Write", {"file_path": str(root / "new.txt"), "content": "hi\n"})))
    assert d == "deny"
    assert "queued" in why and "step 1" in why and "claude-sess-A" in why and "carry on as if" in why.lower()
    assert not (root / "new.txt").exists()
    plan = spool.load_plan(Workspace(root), "claude-sess-A")
    assert plan.session_id == "sess-A" and plan.source == "claude-hook"
    [s] = plan.steps
    assert isinstance(s, WriteStep) and s.path == "new.txt" and s.content == "hi\n" and s.precondition == ABSENT


def test_queue_later_edit_applies_to_queued_content(root):
    hook(root, call(root, "Edit", {"file_path": str(root / "app.py"), "old_string": "return 1",
                                   "new_string": "return 2"}, "t1"))
    hook(root, call(root, "Write", {"file_path": str(root / "b.txt"), "content": "b\n"}, "t2"))
    # "return 2" exists only in the queued content, not on disk
    d, why = decision(hook(root, call(root, "Edit", {"file_path": str(root / "app.py"), "old_string": "return 2",
                                                     "new_string": "return 3"}, "t3")))
    assert d == "deny" and "step 1" in why and "folded" in why
    ws = Workspace(root)
    plan = spool.load_plan(ws, "claude-sess-A")
    assert [s.path for s in plan.steps] == ["app.py", "b.txt"]
    edit = plan.steps[0]
    assert isinstance(edit, EditStep) and edit.precondition == sha256(b"def f():\n    return 1\n")
    assert [o.call_id for o in edit.origin] == ["t1", "t3"]
    out = compute(ws, plan)
    assert {c.path: c.after for c in out.changes}["app.py"] == b"def f():\n    return 3\n"
    # an edit that matches neither the queue nor the disk is refused, naming it; the plan is unchanged
    d, why = decision(hook(root, call(root, "Edit", {"file_path": str(root / "app.py"), "old_string": "return 1",
                                                     "new_string": "x"}, "t4")))
    assert d == "deny" and "app.py" in why and "t4" in why and "'return 1'" in why
    assert spool.load_plan(ws, "claude-sess-A") == plan


def test_decided_step_is_not_folded_into(root):
    hook(root, call(root, "Write", {"file_path": str(root / "a.txt"), "content": "1\n"}, "t1"))
    ws = Workspace(root)
    decide.approve(ws, "claude-sess-A")
    hook(root, call(root, "Edit", {"file_path": str(root / "a.txt"), "old_string": "1", "new_string": "2"}, "t2"))
    plan = spool.load_plan(ws, "claude-sess-A")
    assert len(plan.steps) == 2
    assert plan.steps[0].content == "1\n"
    assert plan.steps[1].precondition == sha256(b"1\n")   # on top of the approved step's result


def test_applied_plan_starts_a_new_one(root):
    hook(root, call(root, "Write", {"file_path": str(root / "a.txt"), "content": "1\n"}, "t1"))
    wopt(root, "apply", "claude-sess-A", "--yes", "--all")
    assert (root / "a.txt").read_bytes() == b"1\n"
    d, why = decision(hook(root, call(root, "Edit", {"file_path": str(root / "a.txt"), "old_string": "1",
                                                     "new_string": "2"}, "t2")))
    assert "claude-sess-A-2" in why
    [s] = spool.load_plan(Workspace(root), "claude-sess-A-2").steps
    assert s.precondition == sha256(b"1\n")


@pytest.mark.parametrize("raw", [b"", b"not json", b"[]", b'{"tool_name": 5}', b"\xff\xfe\x00",
                                 b'{"tool_name": "Write", "tool_input": "x"}',
                                 b'{"tool_name": "Write", "cwd": "/", "tool_input": {"file_path": "/etc/x"}}'])
def test_malformed_payload_is_denied(root, raw):
    d, why = decision(hook(root, None, raw=raw))
    assert d == "deny" and "wopt" in why


def test_outside_paths_denied(root, tmp_path):
    for bad in ("/etc/passwd", str(tmp_path / "elsewhere.txt"), str(root / ".git" / "config"),
                str(root / ".wopt" / "plans" / "x.json")):
        d, why = decision(hook(root, call(root, "Write", {"file_path": bad, "content": "x"})))
        assert d == "deny" and "not made" in why
    assert not list(root.glob(".wopt/plans/*.json"))


def test_symlink_escape_denied(root, tmp_path):
    (tmp_path / "outside").mkdir()
    os.symlink(tmp_path / "outside", root / "link")
    d, _ = decision(hook(root, call(root, "Write", {"file_path": str(root / "link" / "x"), "content": "x"})))
    assert d == "deny"


def test_other_tools_get_no_opinion(root):
    out = hook(root, call(root, "Bash", {"command": "ls"}))
    assert out == {}


def test_internal_error_fails_closed(root):
    (root / ".wopt").write_text("a file where the spool directory should be")
    d, why = decision(hook(root, call(root, "Write", {"file_path": str(root / "a.txt"), "content": "x"})))
    assert d == "deny" and "not" in why


def test_concurrent_calls_of_one_session_lose_no_write(root):
    n = 16

    def one(i: int):
        p = call(root, "Write", {"file_path": str(root / f"f{i:02d}.txt"), "content": f"{i}\n"}, f"t{i}")
        return decision(hook(root, p))[0]

    with ThreadPoolExecutor(8) as ex:
        assert set(ex.map(one, range(n))) == {"deny"}
    plan = spool.load_plan(Workspace(root), "claude-sess-A")
    assert sorted(s.path for s in plan.steps) == [f"f{i:02d}.txt" for i in range(n)]
    assert len({s.id for s in plan.steps}) == n


def test_sessions_get_their_own_plans(root):
    hook(root, call(root, "Write", {"file_path": str(root / "a"), "content": "a"}, session="one"))
    hook(root, call(root, "Write", {"file_path": str(root / "b"), "content": "b"}, session="two/../x"))
    ids = sorted(e.id for e in spool.list_plans(Workspace(root)))
    assert ids == ["claude-one", "claude-two____x"]


# ------------------------------------------------------------------ gate mode

def test_gate_approve_allows(root):
    ws = Workspace(root)
    t, box = gate_async("claude", root, call(root, "Write", {"file_path": str(root / "g.txt"), "content": "g\n"}), "--timeout", "30")
    plan = wait_pending(ws, "claude-sess-A-gate")
    assert plan.steps[0].path == "g.txt"
    wopt(root, "approve", "claude-sess-A-gate")
    t.join(30)
    d, why = decision(box["out"])
    assert d == "allow" and "approved" in why
    assert not (root / "g.txt").exists()           # Claude Code writes it, not wopt
    assert not spool.plan_file(ws, "claude-sess-A-gate").exists()  # decided calls leave the gate plan


def test_gate_reject_denies_with_reason(root):
    ws = Workspace(root)
    t, box = gate_async("claude", root, call(root, "Edit", {"file_path": str(root / "app.py"), "old_string": "1",
                                                   "new_string": "2"}), "--timeout", "30")
    wait_pending(ws, "claude-sess-A-gate")
    wopt(root, "reject", "claude-sess-A-gate", "1", "--reason", "needs a test first")
    t.join(30)
    d, why = decision(box["out"])
    assert d == "deny" and "needs a test first" in why


def test_gate_timeout_denies(root):
    t0 = time.monotonic()
    d, why = decision(hook(root, call(root, "Write", {"file_path": str(root / "g.txt"), "content": "g"}),
                           "--mode", "gate", "--timeout", "0.3"))
    assert d == "deny" and "no decision" in why and time.monotonic() - t0 < 20
    assert not spool.plan_file(Workspace(root), "claude-sess-A-gate").exists()


def test_bad_hook_command_line_still_answers_deny(root):
    p = call(root, "Write", {"file_path": str(root / "a.txt"), "content": "x"})
    r = subprocess.run([*WOPT, "hook", "claude", "--mode", "bogus"], input=json.dumps(p).encode(),
                       capture_output=True, cwd=str(root))
    assert r.returncode == 0
    d, why = decision(json.loads(r.stdout))
    assert d == "deny" and "misconfigured" in why and "bogus" in why


def test_gate_approve_with_reviewer_edit_passes_updated_input(root):
    ws = Workspace(root)
    t, box = gate_async("claude", root, call(root, "Write", {"file_path": str(root / "g.txt"), "content": "agent\n"}),
                         "--timeout", "30")
    approve_with_edit(ws, wait_pending(ws, "claude-sess-A-gate"), "person\n")
    t.join(30)
    h = box["out"]["hookSpecificOutput"]
    assert h["permissionDecision"] == "allow" and "edit" in h["permissionDecisionReason"]
    assert h["updatedInput"] == {"file_path": str(root / "g.txt"), "content": "person\n"}


def test_relative_path_is_taken_from_cwd_and_no_rebasing_outside(root, tmp_path):
    (root / "sub").mkdir()
    p = call(root, "Write", {"file_path": "rel.txt", "content": "r\n"})
    p["cwd"] = str(root / "sub")
    assert decision(hook(root, p, "--root", str(root)))[0] == "deny"
    [s] = spool.load_plan(Workspace(root), "claude-sess-A").steps
    assert s.path == "sub/rel.txt"
    # Claude Code running elsewhere: its paths are outside this workspace, never mapped into it
    other = tmp_path / "other"
    other.mkdir()
    p = call(other, "Write", {"file_path": str(other / "x.txt"), "content": "x"}, session="S2")
    d, why = decision(hook(root, p, "--root", str(root)))
    assert d == "deny" and "outside the workspace" in why
    assert not spool.plan_file(Workspace(root), "claude-S2").exists()
