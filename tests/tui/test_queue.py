"""The queue: live updates from `.wopt/plans/`, a bad plan file, review progress."""
from __future__ import annotations

import asyncio

from core_helpers import SIZE, demo_ws, make_app, settle
from textual.widgets import DataTable
from wopt.engine.store import spool
from wopt.engine.store.decide import approve
from wopt.engine.model.plan import Plan, WriteStep
from wopt.tui.screens.queue import QueueScreen
from wopt.tui.screens.review import ReviewScreen


def run(coro):
    return asyncio.run(coro)


def cells(app) -> list[list[str]]:
    t = app.screen.query_one(DataTable)
    return [[str(c) for c in t.get_row_at(i)] for i in range(t.row_count)]


async def wait_for(pilot, cond, tries: int = 60):
    for _ in range(tries):
        await settle(pilot, 1)
        if cond():
            return True
        await pilot.pause(0.05)
    return cond()


def test_queue_lists_plans_and_updates_live(tmp_path):
    ws = demo_ws(tmp_path)

    async def body():
        app = make_app(ws, poll_seconds=0.1)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            assert isinstance(app.screen, QueueScreen)
            rows = cells(app)
            assert [r[1] for r in rows] == ["demo-payments", "demo-session"]
            pay = rows[0]
            assert pay[2] == "Add payment providers" and pay[5] == "13" and pay[4] == "5d"
            assert pay[8] == "0/13"
            # an agent adds a plan: it shows up without a key press
            spool.save_plan(ws, Plan(id="zz-new", title="Late arrival", created="2026-11-25T09:59:00Z",
                                     steps=[WriteStep(id="n1", path="new.txt", content="new\n")]))
            assert await wait_for(pilot, lambda: any(r[1] == "zz-new" for r in cells(app)))
            row = next(r for r in cells(app) if r[1] == "zz-new")
            assert row[2] == "Late arrival" and row[4] == "1m"
            # a decision made from the shell shows as progress
            approve(ws, "demo-payments", ["docs-payments", "tests-payments"])
            assert await wait_for(pilot, lambda: cells(app)[0][8].startswith("2/13"))

    run(body())


def test_a_bad_plan_file_shows_its_error_and_the_app_keeps_working(tmp_path):
    ws = demo_ws(tmp_path)
    (ws.spool / "plans" / "broken.json").write_text('{"version": 1, "steps": [{"kind": "write"}]}')

    async def body():
        app = make_app(ws)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            rows = cells(app)
            bad = next(r for r in rows if r[1] == "broken")
            assert bad[0] == "⚠" and "unreadable" in bad[2] and "steps[0]" in bad[2]
            assert any("broken.json" in n.message for n in app._notifications)
            # opening it says why and stays on the queue
            t = app.screen.query_one(DataTable)
            t.move_cursor(row=[r[1] for r in rows].index("broken"))
            await pilot.press("enter")
            await settle(pilot)
            assert isinstance(app.screen, QueueScreen)
            # the good plans still open
            t.move_cursor(row=[r[1] for r in rows].index("demo-session"))
            await pilot.press("enter")
            await settle(pilot)
            assert isinstance(app.screen, ReviewScreen)
            assert app.screen.plan.id == "demo-session"
            await pilot.press("escape")
            await settle(pilot)
            assert isinstance(app.screen, QueueScreen)

    run(body())


def test_a_plan_named_on_the_command_line_opens_directly_and_a_wrong_one_says_so(tmp_path):
    ws = demo_ws(tmp_path)

    async def body():
        app = make_app(ws, targets=["demo-sess"])          # a unique prefix is enough
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            assert isinstance(app.screen, ReviewScreen) and app.screen.plan.id == "demo-session"
        app = make_app(ws, targets=["nope"])
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            assert isinstance(app.screen, QueueScreen)
            assert any("no plan 'nope'" in n.message for n in app._notifications)

    run(body())


def test_run_reports_a_bad_root_without_a_traceback(tmp_path, capsys):
    import argparse
    from wopt.tui.app import run
    code = run(argparse.Namespace(targets=[], root=str(tmp_path / "missing"), theme=None, demo=False))
    err = capsys.readouterr().err
    assert code != 0 and "wopt-tui:" in err and "Traceback" not in err
