"""Snapshots of the core screens (pytest-textual-snapshot): 120x36, fixed themes, a fixed
clock, the demo workspace (only workspace-relative paths on screen)."""
from __future__ import annotations

import pytest
from core_helpers import SIZE, demo_ws, make_app, open_review, settle, two_hunk_ws
from wopt.tui.widgets.step_list import StepList


def review_at(plan_id: str, step: str | None = None, keys: tuple = ()):
    async def run_before(pilot) -> None:
        screen = await open_review(pilot, plan_id)
        if step is not None:
            screen.query_one(StepList).select(step)
        await settle(pilot)
        for k in keys:
            await pilot.press(k)
            await settle(pilot, 1)
        await settle(pilot)
    return run_before


def test_queue(snap_compare, tmp_path):
    assert snap_compare(make_app(demo_ws(tmp_path)), terminal_size=SIZE, run_before=settle)


def test_review_first_pending_step(snap_compare, tmp_path):
    assert snap_compare(make_app(demo_ws(tmp_path)), terminal_size=SIZE,
                        run_before=review_at("demo-payments"))


def test_review_edit_step_split_view(snap_compare, tmp_path):
    assert snap_compare(make_app(demo_ws(tmp_path)), terminal_size=SIZE,
                        run_before=review_at("demo-payments", "checkout-pay", ("s", "n")))


def test_review_invalid_step_findings(snap_compare, tmp_path):
    assert snap_compare(make_app(demo_ws(tmp_path)), terminal_size=SIZE,
                        run_before=review_at("demo-payments", "providers-config"))


def test_review_decisions_marks(snap_compare, tmp_path):
    # approve two, reject one without dependents, a hunk off on another
    assert snap_compare(make_app(demo_ws(tmp_path)), terminal_size=SIZE,
                        run_before=review_at("demo-payments", "docs-payments", ("a", "k", "k", "r", "g", "a")))


def test_review_reject_with_dependents_question(snap_compare, tmp_path):
    assert snap_compare(make_app(demo_ws(tmp_path)), terminal_size=SIZE,
                        run_before=review_at("demo-payments", "payments-base", ("r",)))


def test_review_hunk_turned_off(snap_compare, tmp_path):
    ws, plan, _, _ = two_hunk_ws(tmp_path / "ws")
    assert snap_compare(make_app(ws), terminal_size=SIZE,
                        run_before=review_at(plan.id, "notes", ("n", "n", "space")))


def test_review_filtered(snap_compare, tmp_path):
    assert snap_compare(make_app(demo_ws(tmp_path)), terminal_size=SIZE,
                        run_before=review_at("demo-payments", None, ("slash", "p", "a", "y", "enter")))


def test_help(snap_compare, tmp_path):
    assert snap_compare(make_app(demo_ws(tmp_path)), terminal_size=SIZE,
                        run_before=review_at("demo-payments", None, ("question_mark",)))


@pytest.mark.parametrize("theme", ["wopt-light", "wopt-high-contrast"])
def test_review_themes(snap_compare, tmp_path, theme):
    assert snap_compare(make_app(demo_ws(tmp_path), theme=theme), terminal_size=SIZE,
                        run_before=review_at("demo-payments", "checkout-pay"))


def test_queue_with_a_waiting_gate_call_and_a_broken_plan(snap_compare, tmp_path):
    from wopt.engine.store import spool
    from wopt.engine.model.plan import Plan, WriteStep
    ws = demo_ws(tmp_path)
    spool.save_plan(ws, Plan(id="claude-5b2c8e1a-gate", title="Claude Code session 5b2c8e1a (waiting calls)",
                             source="claude-hook", agent="claude-code", created="2026-11-25T09:58:00Z",
                             steps=[WriteStep(id="g1", path="src/shop/tax.py", content="RATE = 0.2\n")]))
    (ws.spool / "plans" / "broken.json").write_text('{"version": 1, "steps": [{"kind": "write"}]}')
    from wopt.engine.store.decide import waiting_on
    with waiting_on(ws, "claude-5b2c8e1a-gate", "g1", 600, path="src/shop/tax.py", tool="Write"):
        assert snap_compare(make_app(ws), terminal_size=SIZE, run_before=settle)


# ------------------------------------------------------------------ 80x24: the app works there
SMALL = (80, 24)


def test_queue_80x24(snap_compare, tmp_path):
    assert snap_compare(make_app(demo_ws(tmp_path)), terminal_size=SMALL, run_before=settle)


def test_review_80x24(snap_compare, tmp_path):
    assert snap_compare(make_app(demo_ws(tmp_path)), terminal_size=SMALL,
                        run_before=review_at("demo-payments", "checkout-pay"))


def test_help_80x24(snap_compare, tmp_path):
    assert snap_compare(make_app(demo_ws(tmp_path)), terminal_size=SMALL,
                        run_before=review_at("demo-payments", None, ("question_mark",)))


def test_apply_confirmation_80x24(snap_compare, tmp_path):
    assert snap_compare(make_app(demo_ws(tmp_path)), terminal_size=SMALL,
                        run_before=review_at("demo-payments", "docs-payments", ("a", "x")))
