"""`wopt hook codex` in a subprocess with real stdin and stdout: Codex's PreToolUse payload for
apply_patch (the raw `*** Begin Patch` envelope in tool_input.command), answered in Codex's
format: `{}` to allow (never a bare "allow", which Codex treats as a failed hook), a deny with
a non-empty reason otherwise; always exit 0 and one JSON object."""
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
from wopt.engine.model.plan import ABSENT, sha256
from wopt.engine.store.workspace import Workspace

SID = "0199a3f2-6c1e-7d40-9b7a-3f1e2d4c5b6a"


hook = partial(run_hook, "codex")


@pytest.fixture
def root(tmp_path) -> Path:
    return shop(tmp_path)


def denied(out: dict) -> str:
    """The reason of a deny in Codex's format (and nothing Codex would reject beside it)."""
    assert set(out) == {"hookSpecificOutput"}, out
    h = out["hookSpecificOutput"]
    assert set(h) == {"hookEventName", "permissionDecision", "permissionDecisionReason"}, h
    assert h["hookEventName"] == "PreToolUse" and h["permissionDecision"] == "deny"
    assert isinstance(h["permissionDecisionReason"], str) and h["permissionDecisionReason"].strip()
    return h["permissionDecisionReason"]


def payload(root: Path, patch: str, cid: str = "call_1", session: str = SID, cwd: Path | None = None) -> dict:
    p = _fixture(root)
    p.update(session_id=session, tool_use_id=cid, cwd=str(cwd or root))
    p["tool_input"] = {"command": patch}
    return p


def _fixture(root: Path) -> dict:
    """The recorded sample (shared/fixtures/agents/codex_pretooluse_apply_patch.json), in `root`."""
    p = json.loads(SAMPLE)
    p["cwd"] = str(root)
    return p


SAMPLE = json.dumps({
    "session_id": SID, "turn_id": f"{SID}-turn-3",
    "transcript_path": f"/home/dev/.codex/sessions/2026/11/30/rollout-2026-11-30T10-15-02-{SID}.jsonl",
    "cwd": "/home/dev/shop", "hook_event_name": "PreToolUse", "model": "gpt-5.1-codex",
    "permission_mode": "default", "tool_name": "apply_patch",
    "tool_input": {"command": "*** Begin Patch\n*** Add File: src/shop/discounts.py\n"
                              "+def apply_discount(price: float, pct: float) -> float:\n"
                              "+    return round(price * (1 - pct / 100), 2)\n"
                              "*** Update File: src/shop/cart.py\n@@ def total(self):\n"
                              "-        return sum(i.price for i in self.items)\n"
                              "+        return sum(apply_discount(i.price, i.discount) for i in self.items)\n"
                              "*** End Patch\n"},
    "tool_use_id": "call_7QmZk2xYbN4vR8sT1uW3"})


def test_recorded_payload_is_queued_as_one_plan_and_nothing_is_written(root):
    p = _fixture(root)   # the recorded sample: Add File discounts.py, Update File cart.py
    why = denied(hook(root, p))
    pid = f"codex-{SID}"
    assert pid in why and "queued" in why and "carry on as if" in why.lower()
    assert "src/shop/discounts.py" in why and "src/shop/cart.py" in why
    assert not (root / "src" / "shop" / "discounts.py").exists()
    assert (root / "src" / "shop" / "cart.py").read_text() == CART
    ws = Workspace(root)
    plan = spool.load_plan(ws, pid)
    assert plan.source == "codex-hook" and plan.agent == "codex" and plan.session_id == SID
    assert [s.path for s in plan.steps] == ["src/shop/discounts.py", "src/shop/cart.py"]
    assert plan.steps[0].precondition == ABSENT and plan.steps[1].precondition == sha256(CART.encode())
    assert {o.call_id for s in plan.steps for o in s.origin} == {p["tool_use_id"]}
    after = {c.path: c.after for c in compute(ws, plan).changes}
    assert after["src/shop/cart.py"] == CART.replace("sum(i.price for i in self.items)",
                                                     "sum(apply_discount(i.price, i.discount) for i in self.items)").encode()
    assert after["src/shop/discounts.py"].startswith(b"def apply_discount(")


def test_a_later_patch_of_a_queued_file_applies_to_the_queued_content(root):
    hook(root, payload(root, "*** Begin Patch\n*** Add File: notes.txt\n+one\n+two\n*** End Patch\n", "c1"))
    hook(root, payload(root, "*** Begin Patch\n*** Update File: src/shop/cart.py\n@@ class Cart:\n"
                             "-    def total(self):\n+    def total(self) -> float:\n*** End Patch\n", "c2"))
    # notes.txt exists only in the queue
    why = denied(hook(root, payload(root, "*** Begin Patch\n*** Update File: notes.txt\n one\n-two\n+2\n"
                                          "*** End Patch\n", "c3")))
    assert "folded into" in why and "step 1 (s1)" in why
    ws = Workspace(root)
    plan = spool.load_plan(ws, f"codex-{SID}")
    assert [s.path for s in plan.steps] == ["notes.txt", "src/shop/cart.py"]
    assert [o.call_id for o in plan.steps[0].origin] == ["c1", "c3"]
    assert {c.path: c.after for c in compute(ws, plan).changes}["notes.txt"] == b"one\n2\n"
    # a patch matching neither the queue nor the disk is refused, naming the file; the plan stays
    why = denied(hook(root, payload(root, "*** Begin Patch\n*** Update File: notes.txt\n-two\n+x\n*** End Patch\n", "c4")))
    assert "notes.txt" in why and "'two'" in why and "not" in why
    assert spool.load_plan(ws, f"codex-{SID}") == plan


def test_move_and_delete_fold_into_the_plan(root):
    hook(root, payload(root, "*** Begin Patch\n*** Update File: src/shop/cart.py\n*** Move to: src/shop/basket.py\n"
                             "@@\n-class Cart:\n+class Basket:\n*** End Patch\n"))
    ws = Workspace(root)
    plan = spool.load_plan(ws, f"codex-{SID}")
    out = compute(ws, plan)
    after = {c.path: c.after for c in out.changes}
    assert after["src/shop/cart.py"] is None and after["src/shop/basket.py"].startswith(b"class Basket:")
    assert (root / "src" / "shop" / "cart.py").read_text() == CART


def test_relative_paths_are_taken_from_the_session_cwd(root):
    denied(hook(root, payload(root, "*** Begin Patch\n*** Add File: util.py\n+x = 1\n*** End Patch\n",
                              cwd=root / "src" / "shop")))
    [s] = spool.load_plan(Workspace(root), f"codex-{SID}").steps
    assert s.path == "src/shop/util.py"


@pytest.mark.parametrize("path", ["../outside.txt", "/etc/passwd", ".git/config", ".wopt/plans/x.json",
                                  "src/../../x"])
def test_path_escape_is_denied_and_nothing_is_queued(root, path):
    why = denied(hook(root, payload(root, f"*** Begin Patch\n*** Add File: {path}\n+x\n*** End Patch\n")))
    assert "not made" in why or "not written" in why
    assert path in why
    assert not list(root.glob(".wopt/plans/*.json"))
    assert not (root.parent / "outside.txt").exists()


def test_symlink_escape_is_denied(root, tmp_path):
    (tmp_path / "elsewhere").mkdir()
    os.symlink(tmp_path / "elsewhere", root / "link")
    denied(hook(root, payload(root, "*** Begin Patch\n*** Add File: link/x.txt\n+x\n*** End Patch\n")))
    assert not (tmp_path / "elsewhere" / "x.txt").exists()


@pytest.mark.parametrize("raw", [b"", b"not json", b"[]", b"\xff\xfe", b'{"tool_name": 5}',
                                 b'{"tool_name": "apply_patch", "tool_input": "x"}',
                                 b'{"tool_name": "apply_patch", "tool_input": {}}',
                                 b'{"tool_name": "apply_patch", "tool_input": {"command": "rm -rf /"}}',
                                 b'{"tool_name": "apply_patch", "tool_input": {"command": "*** Begin Patch\\n'
                                 b'*** Frobnicate: x\\n*** End Patch"}}'])
def test_malformed_input_is_denied_with_a_reason(root, raw):
    why = denied(hook(root, None, raw=raw))
    assert "wopt" in why
    assert not list(root.glob(".wopt/plans/*.json"))


def test_other_tools_get_no_opinion(root):
    assert hook(root, {**_fixture(root), "tool_name": "Bash", "tool_input": {"command": "ls"}}) == {}


def test_internal_error_fails_closed(root):
    (root / ".wopt").write_text("a file where the spool directory should be")
    why = denied(hook(root, payload(root, "*** Begin Patch\n*** Add File: a.txt\n+x\n*** End Patch\n")))
    assert "not" in why


def test_bad_hook_command_line_still_answers_deny_in_codex_format(root):
    r = subprocess.run([*WOPT, "hook", "codex", "--mode", "bogus"], input=b"{}", capture_output=True, cwd=str(root))
    assert r.returncode == 0
    why = denied(json.loads(r.stdout))
    assert "misconfigured" in why and ".codex/hooks.json" in why


# ------------------------------------------------------------------ gate mode


GATE_PID = f"codex-{SID}-gate"


def test_gate_approve_allows_with_an_empty_object(root):
    ws = Workspace(root)
    t, box = gate_async("codex", root, _fixture(root), "--timeout", "30")
    plan = wait_pending(ws, GATE_PID)
    assert [s.path for s in plan.steps] == ["src/shop/discounts.py", "src/shop/cart.py"]
    wopt(root, "approve", GATE_PID, "1")
    time.sleep(0.3)
    assert t.is_alive()                       # one of two steps approved: still waiting
    wopt(root, "approve", GATE_PID, "2")
    t.join(30)
    assert box["out"] == {}                   # Codex applies its own patch
    assert not (root / "src" / "shop" / "discounts.py").exists()
    assert not spool.plan_file(ws, GATE_PID).exists()


def test_gate_reject_denies_with_the_reason(root):
    ws = Workspace(root)
    t, box = gate_async("codex", root, _fixture(root), "--timeout", "30")
    wait_pending(ws, GATE_PID)
    wopt(root, "reject", GATE_PID, "2", "--reason", "keep totals exact")
    t.join(30)
    why = denied(box["out"])
    assert "keep totals exact" in why and "src/shop/cart.py" in why
    assert not spool.plan_file(ws, GATE_PID).exists()


def test_gate_timeout_denies_before_the_agent_gives_up(root):
    t0 = time.monotonic()
    why = denied(hook(root, _fixture(root), "--mode", "gate", "--timeout", "0.3"))
    assert "no decision" in why and "0.3 s" in why and time.monotonic() - t0 < 20
    assert not spool.plan_file(Workspace(root), GATE_PID).exists()


def test_gate_approved_with_the_persons_edit_is_applied_by_wopt(root):
    ws = Workspace(root)
    t, box = gate_async("codex", root, payload(root, "*** Begin Patch\n*** Add File: notes.txt\n+agent\n*** End Patch\n"),
                         "--timeout", "30")
    approve_with_edit(ws, wait_pending(ws, GATE_PID), "person\n")
    t.join(30)
    why = denied(box["out"])                 # Codex must not apply its own version
    assert "applied the edited version" in why and "notes.txt" in why
    assert (root / "notes.txt").read_bytes() == b"person\n"
    # an ordinary, undoable transaction
    wopt(root, "undo")
    assert not (root / "notes.txt").exists()


def test_concurrent_patches_of_one_session_lose_no_write(root):
    from concurrent.futures import ThreadPoolExecutor

    def one(i: int) -> str:
        return denied(hook(root, payload(root, f"*** Begin Patch\n*** Add File: f{i:02d}.txt\n+{i}\n*** End Patch\n",
                                         f"c{i}")))
    with ThreadPoolExecutor(6) as ex:
        assert all("queued" in why for why in ex.map(one, range(12)))
    plan = spool.load_plan(Workspace(root), f"codex-{SID}")
    assert sorted(s.path for s in plan.steps) == [f"f{i:02d}.txt" for i in range(12)]
