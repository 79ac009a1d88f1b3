"""`wopt hook gemini` in a subprocess with real stdin and stdout: Gemini CLI's BeforeTool payload
for write_file and replace, answered in Gemini's format (`{"decision": "deny", "reason": ...}`,
`{"decision": "allow"}`, `hookSpecificOutput.tool_input` to rewrite the call); always exit 0
and one JSON object."""
from __future__ import annotations

import json
import os
import subprocess
import time
from functools import partial
from pathlib import Path

import pytest

from hook_helpers import CART, WOPT, approve_with_edit, gate_async, run_hook, shop, wait_pending, wopt
from wopt.engine.store import spool
from wopt.engine.store.effects import compute
from wopt.engine.model.plan import ABSENT, EditStep, sha256
from wopt.engine.store.workspace import Workspace

SID = "6f1c2a9e-4b7d-4e0a-9c3f-2d8e1b5a7c40"
DISCOUNTS = "def apply_discount(price: float, pct: float) -> float:\n    return round(price * (1 - pct / 100), 2)\n"


hook = partial(run_hook, "gemini")


@pytest.fixture
def root(tmp_path) -> Path:
    return shop(tmp_path)


def denied(out: dict) -> str:
    assert set(out) == {"decision", "reason"} and out["decision"] == "deny", out
    assert isinstance(out["reason"], str) and out["reason"].strip()
    return out["reason"]


def call(root: Path, tool: str, inp: dict, session: str = SID, cwd: Path | None = None) -> dict:
    """The shape of the recorded samples (shared/fixtures/agents/gemini_beforetool_*.json)."""
    return {"session_id": session,
            "transcript_path": f"/home/dev/.gemini/tmp/shop/chats/session-2026-11-30T10-20-{session[:8]}.jsonl",
            "cwd": str(cwd or root), "hook_event_name": "BeforeTool", "timestamp": "2026-11-30T10:21:07.412Z",
            "tool_name": tool, "tool_input": inp}


def write(root: Path, path: str, content: str, **kw) -> dict:
    return call(root, "write_file", {"file_path": path, "content": content}, **kw)


def replace(root: Path, path: str, old: str, new: str, *, every: bool | None = None, **kw) -> dict:
    inp = {"file_path": path, "instruction": "Apply each item's discount when computing the cart total.",
           "old_string": old, "new_string": new}
    if every is not None:
        inp["allow_multiple"] = every
    return call(root, "replace", inp, **kw)


PID = f"gemini-{SID}"


def test_recorded_calls_queue_into_one_plan_and_nothing_is_written(root):
    why = denied(hook(root, write(root, str(root / "src/shop/discounts.py"), DISCOUNTS)))
    assert PID in why and "queued" in why and "step 1" in why and "carry on as if" in why.lower()
    why = denied(hook(root, replace(root, str(root / "src/shop/cart.py"), "        return sum(i.price for i in self.items)",
                                    "        return sum(apply_discount(i.price, i.discount) for i in self.items)")))
    assert "step 2" in why and "src/shop/cart.py" in why
    assert not (root / "src/shop/discounts.py").exists() and (root / "src/shop/cart.py").read_text() == CART
    ws = Workspace(root)
    plan = spool.load_plan(ws, PID)
    assert plan.source == "gemini-hook" and plan.agent == "gemini" and plan.session_id == SID
    d, c = plan.steps
    assert d.path == "src/shop/discounts.py" and d.precondition == ABSENT and d.content == DISCOUNTS
    assert isinstance(c, EditStep) and c.precondition == sha256(CART.encode())
    assert c.origin[0].summary.startswith("Apply each item's discount")


def test_a_later_replace_of_a_queued_file_applies_to_the_queued_content(root):
    hook(root, write(root, "src/shop/discounts.py", DISCOUNTS))      # relative to cwd
    why = denied(hook(root, replace(root, "src/shop/discounts.py", "round(", "int(")))
    assert "folded into" in why and "step 1" in why
    ws = Workspace(root)
    [s] = spool.load_plan(ws, PID).steps
    assert {c.path: c.after for c in compute(ws, spool.load_plan(ws, PID)).changes}[s.path] == \
        DISCOUNTS.replace("round(", "int(").encode()
    # a replace that matches neither the queue nor the disk: denied, naming the file; plan unchanged
    plan = spool.load_plan(ws, PID)
    why = denied(hook(root, replace(root, "src/shop/discounts.py", "round(", "x(")))
    assert "src/shop/discounts.py" in why and "'round('" in why
    assert spool.load_plan(ws, PID) == plan


def test_replace_semantics_allow_multiple_and_create(root):
    (root / "m.txt").write_text("a a a\n")
    why = denied(hook(root, replace(root, "m.txt", "a", "b")))          # three matches, one expected
    assert "3 times" in why
    denied(hook(root, replace(root, "m.txt", "a", "b", every=True)))
    denied(hook(root, replace(root, "new.txt", "", "fresh\n")))         # empty old_string creates
    why = denied(hook(root, replace(root, "m.txt", "", "x")))           # ... but never over a file
    assert "already exists" in why
    ws = Workspace(root)
    after = {c.path: c.after for c in compute(ws, spool.load_plan(ws, PID)).changes}
    assert after == {"m.txt": b"b b b\n", "new.txt": b"fresh\n"}


def test_relative_file_path_is_taken_from_cwd(root):
    denied(hook(root, write(root, "util.py", "x = 1\n", cwd=root / "src" / "shop")))
    [s] = spool.load_plan(Workspace(root), PID).steps
    assert s.path == "src/shop/util.py"


@pytest.mark.parametrize("path", ["../outside.txt", "/etc/passwd", ".git/config", ".wopt/plans/x.json"])
def test_path_escape_is_denied_and_nothing_is_queued(root, path):
    why = denied(hook(root, write(root, path, "x")))
    assert "not made" in why
    assert not list(root.glob(".wopt/plans/*.json"))


def test_symlink_escape_is_denied(root, tmp_path):
    (tmp_path / "elsewhere").mkdir()
    os.symlink(tmp_path / "elsewhere", root / "link")
    denied(hook(root, write(root, "link/x.txt", "x")))
    assert not list(root.glob(".wopt/plans/*.json"))


@pytest.mark.parametrize("raw", [b"", b"not json", b"[]", b"\xff\xfe", b'{"tool_name": 5}',
                                 b'{"tool_name": "write_file", "tool_input": "x"}',
                                 b'{"tool_name": "write_file", "tool_input": {"file_path": "a"}}',
                                 b'{"tool_name": "write_file", "tool_input": {"content": "a"}}',
                                 b'{"tool_name": "replace", "tool_input": {"file_path": "a", "old_string": "x"}}',
                                 b'{"tool_name": "replace", "tool_input": {"file_path": "a", "old_string": "x", '
                                 b'"new_string": "y", "allow_multiple": "yes"}}'])
def test_malformed_input_is_denied_with_a_reason(root, raw):
    why = denied(hook(root, None, raw=raw))
    assert "wopt" in why
    assert not list(root.glob(".wopt/plans/*.json"))


def test_other_tools_get_no_opinion(root):
    assert hook(root, call(root, "read_file", {"file_path": "src/shop/cart.py"})) == {}


def test_internal_error_fails_closed(root):
    (root / ".wopt").write_text("a file where the spool directory should be")
    assert "not" in denied(hook(root, write(root, "a.txt", "x")))


def test_bad_hook_command_line_still_answers_deny_in_gemini_format(root):
    r = subprocess.run([*WOPT, "hook", "gemini", "--timeout", "soon"], input=b"{}", capture_output=True, cwd=str(root))
    assert r.returncode == 0
    why = denied(json.loads(r.stdout))
    assert "misconfigured" in why and ".gemini/settings.json" in why


def test_default_gate_timeout_is_under_geminis_own():
    from wopt.engine.agents.gemini_hook import DEFAULT_GATE_TIMEOUT
    from wopt.engine.cli.cmd_hook import GATE_TIMEOUTS
    assert GATE_TIMEOUTS["gemini"] == DEFAULT_GATE_TIMEOUT < 60


# ------------------------------------------------------------------ gate mode

GATE_PID = f"gemini-{SID}-gate"


def test_gate_approve_allows(root):
    ws = Workspace(root)
    t, box = gate_async("gemini", root, write(root, "g.txt", "g\n"), "--timeout", "30")
    assert wait_pending(ws, GATE_PID).steps[0].path == "g.txt"
    wopt(root, "approve", GATE_PID)
    t.join(30)
    assert box["out"] == {"decision": "allow"}
    assert not (root / "g.txt").exists()                 # Gemini writes it, not wopt
    assert not spool.plan_file(ws, GATE_PID).exists()


def test_gate_reject_denies_with_the_reason(root):
    ws = Workspace(root)
    t, box = gate_async("gemini", root, replace(root, "src/shop/cart.py", "i.price", "i.cost", every=True), "--timeout", "30")
    wait_pending(ws, GATE_PID)
    wopt(root, "reject", GATE_PID, "1", "--reason", "price is the field")
    t.join(30)
    assert "price is the field" in denied(box["out"])


def test_gate_timeout_denies(root):
    t0 = time.monotonic()
    why = denied(hook(root, write(root, "g.txt", "g"), "--mode", "gate", "--timeout", "0.3"))
    assert "no decision" in why and time.monotonic() - t0 < 20
    assert not spool.plan_file(Workspace(root), GATE_PID).exists()


def test_gate_write_file_the_person_edited_is_passed_back(root):
    ws = Workspace(root)
    t, box = gate_async("gemini", root, write(root, "g.txt", "agent\n"), "--timeout", "30")
    approve_with_edit(ws, wait_pending(ws, GATE_PID), "person\n")
    t.join(30)
    assert box["out"] == {"decision": "allow",
                          "hookSpecificOutput": {"hookEventName": "BeforeTool", "tool_input": {"content": "person\n"}}}
    assert not (root / "g.txt").exists()


def test_gate_replace_the_person_edited_is_applied_by_wopt(root):
    ws = Workspace(root)
    t, box = gate_async("gemini", root, replace(root, "src/shop/cart.py", "i.price", "i.cost", every=True), "--timeout", "30")
    edited = CART.replace("total", "grand_total")
    approve_with_edit(ws, wait_pending(ws, GATE_PID), edited)
    t.join(30)
    why = denied(box["out"])
    assert "applied the edited version" in why and "src/shop/cart.py" in why
    assert (root / "src/shop/cart.py").read_text() == edited
    wopt(root, "undo")
    assert (root / "src/shop/cart.py").read_text() == CART
