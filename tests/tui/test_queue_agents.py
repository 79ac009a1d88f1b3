"""The queue and the review name each plan's agent: Claude Code, Codex and Gemini through their
hooks, an MCP client by its own name; a hook call waiting at any agent's gate stands out."""
from __future__ import annotations

import asyncio

from core_helpers import SIZE, make_app, settle
from textual.widgets import DataTable, Static
from wopt.engine.store import spool
from wopt.engine.model.plan import Plan, WriteStep
from wopt.engine.store.workspace import Workspace
from wopt.tui.screens.queue import scan
from wopt.tui.screens.review import ReviewScreen


def _ws(tmp_path) -> Workspace:
    root = tmp_path / "proj"
    (root / ".git").mkdir(parents=True)
    ws = Workspace(root)
    for pid, source, agent in (("claude-s1", "claude-hook", "claude-code"), ("codex-s2", "codex-hook", "codex"),
                               ("gemini-s3", "gemini-hook", "gemini"), ("m1", "mcp", "acme-agent"),
                               ("codex-s2-gate", "codex-hook", "codex")):
        spool.save_plan(ws, Plan(id=pid, title=f"plan {pid}", source=source, agent=agent,
                                 created="2026-11-25T09:00:00Z",
                                 steps=[WriteStep(id="s1", path=f"{pid}.txt", content="x\n")]))
    return ws


def test_queue_rows_name_the_agent_and_every_gate_waits(tmp_path):
    from wopt.engine.store.decide import waiting_on
    ws = _ws(tmp_path)
    rows, errors, waiting = scan(ws)
    assert not waiting   # a gate plan nobody waits on (its hook was killed) is not waiting
    with waiting_on(ws, "codex-s2-gate", "s1", 60, path="codex-s2-gate.txt", tool="apply_patch"):
        rows, errors, waiting = scan(ws)
    assert not errors
    assert {r.id: r.source for r in rows} == {
        "claude-s1": "Claude Code hook", "codex-s2": "Codex hook", "gemini-s3": "Gemini hook",
        "m1": "acme-agent via MCP", "codex-s2-gate": "Codex hook"}
    assert "codex-s2-gate" in waiting and "codex-s2" not in waiting


def test_review_header_names_the_mcp_client(tmp_path):
    ws = _ws(tmp_path)

    async def body():
        app = make_app(ws)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            t = app.screen.query_one(DataTable)
            ids = [t.get_row_at(i)[1] for i in range(t.row_count)]
            assert "acme-agent via MCP" in [str(t.get_row_at(i)[3]) for i in range(t.row_count)]
            t.move_cursor(row=ids.index("m1"))
            await pilot.press("enter")
            await settle(pilot)
            assert isinstance(app.screen, ReviewScreen)
            bar = app.screen.query_one("#plan-bar", Static)
            assert "acme-agent via MCP" in str(bar.render())

    asyncio.run(body())
