"""The review screen watches its plan file: a plan that grows (a hook adds a call) is picked up,
and an unchanged plan is not read or decoded again (a 10,000-step plan would hold the UI's GIL
every second)."""
from __future__ import annotations

import asyncio

from core_helpers import SIZE, demo_ws, make_app, open_review, settle
from wopt.engine.model.plan import WriteStep
from wopt.engine.store import spool


def test_the_watcher_decodes_the_plan_only_when_its_file_changes(tmp_path, monkeypatch):
    ws = demo_ws(tmp_path)
    loads: list[str] = []
    real = spool.load_plan

    def counting(w, ref):
        loads.append(ref)
        return real(w, ref)

    async def run():
        app = make_app(ws)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_review(pilot, "demo-session")
            screen.watch_plan()                 # the first look reads the plan and notes its file
            await settle(pilot, 1)
            monkeypatch.setattr(spool, "load_plan", counting)
            for _ in range(3):                  # unchanged: the watcher reads no plan
                screen.watch_plan()
                await settle(pilot, 1)
            unchanged = list(loads)
            plan = real(ws, "demo-session")
            plan.steps.append(WriteStep(id="late", path="docs/late.md", content="a late call\n"))
            spool.save_plan(ws, plan)
            screen.watch_plan()
            await settle(pilot, 2)
            for _ in range(50):
                if "late" in {s.id for s in screen.plan.steps}:
                    break
                await pilot.pause(0.05)
            return unchanged, list(loads), {s.id for s in screen.plan.steps}

    unchanged, after, ids = asyncio.run(run())
    assert unchanged == []
    assert after == ["demo-session"]            # read once, when the file changed
    assert "late" in ids
