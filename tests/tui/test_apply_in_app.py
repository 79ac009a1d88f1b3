"""The apply flow inside the real review app (wopt-tui): approve, edit one step in $EDITOR,
press x, confirm, check the bytes on disk, undo, check again; then the history screen."""
from __future__ import annotations

import asyncio
import stat
import sys

from core_helpers import SIZE, demo_ws, make_app, open_review, review_on_disk, settle
from wopt.engine.store import effects
from wopt.engine.store.spool import load_plan
from wopt.tui.screens.apply import ApplyFlowScreen
from wopt.tui.screens.history import HistoryScreen


def snapshot_tree(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and ".wopt" not in p.relative_to(root).parts}


def test_approve_edit_apply_undo_in_the_app(tmp_path, monkeypatch):
    ws = demo_ws(tmp_path)
    editor = tmp_path / "editor"
    editor.write_text(f"#!{sys.executable}\nimport sys\np = sys.argv[-1]\n"
                      "open(p, 'a').write('# reviewed by a person\\n')\n")
    editor.chmod(editor.stat().st_mode | stat.S_IXUSR)
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setenv("EDITOR", str(editor))
    before = snapshot_tree(ws.root)
    plan = load_plan(ws, "demo-session")
    proposed = effects.compute(ws, plan, check_preconditions=False).results["s2"].after

    async def body():
        app = make_app(ws)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_review(pilot, "demo-session")
            await pilot.press("ctrl+a")                          # approve the whole plan
            from wopt.tui.widgets.step_list import StepList
            screen.query_one(StepList).select("s2")
            await settle(pilot)
            await pilot.press("E")                               # $EDITOR round trip
            await settle(pilot)
            rv = review_on_disk(ws, "demo-session")
            assert rv.edited["s2"].encode() == proposed + b"# reviewed by a person\n"
            await pilot.press("x")
            await settle(pilot)
            flow = app.screen
            assert isinstance(flow, ApplyFlowScreen)
            assert not flow.blocked
            await pilot.press("enter")
            await settle(pilot)
            assert flow.stage == "result" and flow.result.outcome == "committed"
            after = snapshot_tree(ws.root)
            assert after["src/shop/discounts.py"] == proposed + b"# reviewed by a person\n"
            changed = {p for p in set(before) | set(after) if before.get(p) != after.get(p)}
            assert changed == {"src/shop/cart.py", "src/shop/discounts.py", "tests/test_cart.py"}
            assert review_on_disk(ws, "demo-session").applied == [flow.result.tx]
            await pilot.press("u")
            await settle(pilot)
            assert snapshot_tree(ws.root) == before
            await pilot.press("enter")
            await settle(pilot)
            assert app.screen is screen
            await pilot.press("h")
            await settle(pilot)
            hist = app.screen
            assert isinstance(hist, HistoryScreen)
            assert [r["kind"] for r in hist.records] == ["apply", "undo"]
            await pilot.press("escape")
            await settle(pilot)
            assert app.screen is screen

    asyncio.run(body())
