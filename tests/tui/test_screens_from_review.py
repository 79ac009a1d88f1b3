"""What the review screen opens: the family screen (approve a family at once), the history,
the help, and the command palette's namespaced commands."""
from __future__ import annotations

import asyncio

from core_helpers import SIZE, demo_ws, make_app, open_review, review_on_disk, settle
from wopt.tui.screens.help import HelpScreen
from wopt.tui.screens.review import ReviewScreen
from wopt.tui.widgets.step_list import StepList


def run(coro):
    return asyncio.run(coro)


def test_enter_on_a_family_member_opens_the_family_and_a_approves_it(tmp_path):
    ws = demo_ws(tmp_path)

    async def body():
        from wopt.tui.screens.family import FamilyScreen
        app = make_app(ws)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_review(pilot, "demo-payments")
            fam = screen.model.families[0]
            members = [m.step for m in fam.members]
            screen.query_one(StepList).select(members[0])
            await pilot.press("enter")
            await settle(pilot)
            assert isinstance(app.screen, FamilyScreen)
            await pilot.press("a")
            await settle(pilot)
            assert isinstance(app.screen, ReviewScreen)
            rv = review_on_disk(ws, "demo-payments")
            assert all(rv.decision(s) == "approved" for s in members)
            outliers = [o.step for o in fam.outliers]
            assert all(rv.decision(s) == "pending" for s in outliers)
            # one undo takes the whole family back
            await pilot.press("u")
            rv = review_on_disk(ws, "demo-payments")
            assert all(rv.decision(s) == "pending" for s in members)

    run(body())


def test_history_and_help_open_and_close(tmp_path):
    ws = demo_ws(tmp_path)

    async def body():
        from wopt.tui.screens.history import HistoryScreen
        app = make_app(ws)
        async with app.run_test(size=SIZE) as pilot:
            await open_review(pilot, "demo-payments")
            await pilot.press("question_mark")
            await settle(pilot, 1)
            assert isinstance(app.screen, HelpScreen)
            await pilot.press("escape")
            await settle(pilot, 1)
            assert isinstance(app.screen, ReviewScreen)
            await pilot.press("h")
            await settle(pilot)
            assert isinstance(app.screen, HistoryScreen)
            await pilot.press("escape")
            await settle(pilot)
            assert isinstance(app.screen, ReviewScreen)

    run(body())


def test_palette_command_plan_approve_all(tmp_path):
    ws = demo_ws(tmp_path)

    async def body():
        app = make_app(ws)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_review(pilot, "demo-payments")
            await pilot.press("ctrl+p")
            await settle(pilot, 1)
            await pilot.press(*"plan: approve all")
            await pilot.pause(0.5)
            await settle(pilot, 1)
            await pilot.press("enter")
            await settle(pilot)
            rv = review_on_disk(ws, "demo-payments")
            assert all(rv.decision(s) == "approved" for s in screen.model.steps)
            # and the view commands are there, namespaced
            from wopt.tui.commands import WoptCommands
            names = [n for n, _, _ in WoptCommands(app.screen)._commands()]
            assert "view: split diff" in names and "batch: reject" in names and "theme: wopt-light" in names

    run(body())
