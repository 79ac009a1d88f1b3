"""Consequences shown as you decide, on the demo: a stale step shows its proposal against the
file the agent saw (b) and the file now, and ctrl+b rebases it; rejecting a module marks the
steps that import it at once (list mark, details line), whichever key rejected it."""
from __future__ import annotations

import asyncio

from core_helpers import SIZE, demo_ws, make_app, open_review, settle

from wopt.engine.store import spool
from wopt.engine.store.demo import PROJECT
from wopt.tui.screens.review import ConfirmScreen, ReasonScreen
from wopt.tui.widgets.details import Details
from wopt.tui.widgets.diff_view import DiffView
from wopt.tui.widgets.step_list import StepList

NEW_LINE = "Pay with any provider in `config/providers.json`."


def run(coro):
    return asyncio.run(coro)


def _details(screen) -> str:
    return str(screen.query_one(Details).query_one("#details-body").render())


def _shown(screen) -> tuple[list[str], list[str]]:
    """(added, removed) lines of the diff the view shows."""
    d = screen.query_one(DiffView).prepared.diff
    assert d is not None, screen.query_one(DiffView).prepared.message
    return ([ln.text for h in d.hunks for ln in h.lines if ln.kind == "+"],
            [ln.text for h in d.hunks for ln in h.lines if ln.kind == "-"])


async def _wait_for(pilot, cond, rounds: int = 60) -> None:
    for _ in range(rounds):
        if cond():
            return
        await settle(pilot, 1)
    assert cond()


def test_stale_step_views_and_rebase(tmp_path):
    ws = demo_ws(tmp_path)

    async def body():
        app = make_app(ws)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_review(pilot, "demo-payments")
            assert screen.model.steps["readme-usage"].stale
            assert screen.query_one(StepList).select("readme-usage")
            await settle(pilot, 2)
            text = _details(screen)
            assert "against the file now" in text and "ctrl+b rebases" in text
            # against the file now: the proposal would also undo today's first line
            added, removed = _shown(screen)
            assert added == ["A small shop backend.", NEW_LINE] and removed == ["A tiny shop backend."]
            await pilot.press("b")
            await settle(pilot, 2)
            assert "against the file the agent saw" in _details(screen)
            # against what the agent saw, only the new line
            assert _shown(screen) == ([NEW_LINE], [])
            await pilot.press("ctrl+b")
            await _wait_for(pilot, lambda: not screen.model.steps["readme-usage"].stale)
            titles = [n.title for n in app._notifications]
            assert "Rebased" in titles, titles
            rv = spool.load_review(ws, "demo-payments")
            merged = PROJECT["README.md"].replace("Run the shop with `make run`.\n",
                                                  f"Run the shop with `make run`.\n{NEW_LINE}\n")
            assert rv.edited["readme-usage"] == merged and "readme-usage" in rv.rebased
            assert screen.query_one(StepList).row("readme-usage").state == "edited"
            assert _shown(screen) == ([NEW_LINE], [])   # the merge against the file now
            await pilot.press("u")       # undo puts the stale step back
            await _wait_for(pilot, lambda: screen.model.steps["readme-usage"].stale is not None)
            rv = spool.load_review(ws, "demo-payments")
            assert "readme-usage" not in rv.edited and "readme-usage" not in rv.rebased
    run(body())


def test_rebase_conflict_names_the_lines(tmp_path):
    ws = demo_ws(tmp_path)
    readme = ws.root / "README.md"
    readme.write_text(PROJECT["README.md"].replace("Run the shop with `make run`.", "Run it with `make serve`."),
                      encoding="utf-8")

    async def body():
        app = make_app(ws)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_review(pilot, "demo-payments")
            assert screen.query_one(StepList).select("readme-usage")
            await settle(pilot, 2)
            before = spool.review_file(ws, "demo-payments").exists()
            await pilot.press("ctrl+b")
            await settle(pilot, 3)
            notes = [n for n in app._notifications if n.title == "Not rebased: conflicting lines"]
            assert notes, [n.title for n in app._notifications]
            assert "line 7 of the current file" in notes[0].message
            assert spool.review_file(ws, "demo-payments").exists() == before
            assert screen.model.steps["readme-usage"].stale
    run(body())


def _reject_klarna_then_check(keys_after_select: list[str], answer: str):
    async def body(ws):
        app = make_app(ws)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_review(pilot, "demo-payments")
            sl = screen.query_one(StepList)
            assert sl.row("payments-init").state != "import"
            assert sl.select("provider-klarna")
            for k in keys_after_select:
                await pilot.press(k)
                await settle(pilot, 1)
            assert isinstance(app.screen, ConfirmScreen)
            await pilot.press(answer)
            await settle(pilot, 2)
            rv = spool.load_review(ws, "demo-payments")
            assert rv.decision("provider-klarna") == "rejected" and rv.decision("payments-init") == "pending"
            # at once, before any x: the row's mark and the details line
            assert sl.row("payments-init").state == "import"
            assert sl.select("payments-init")
            await settle(pilot, 2)
            assert "imports shop.payments.klarna, which you rejected" in _details(screen)
            # nothing else is marked: the other modules are not rejected
            assert [r for r in screen._import_notes] == ["payments-init"]
            # approving klarna again clears it
            assert sl.select("provider-klarna")
            await pilot.press("a")
            await settle(pilot, 1)
            assert sl.row("payments-init").state != "import"
    return body


def test_reject_with_r_answered_no_marks_the_importer(tmp_path):
    ws = demo_ws(tmp_path)
    run(_reject_klarna_then_check(["r"], "n")(ws))


def test_reject_with_ctrl_r_marks_the_importer(tmp_path):
    ws = demo_ws(tmp_path)

    async def body():
        app = make_app(ws)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_review(pilot, "demo-payments")
            sl = screen.query_one(StepList)
            assert sl.select("provider-klarna")
            await pilot.press("ctrl+r")
            await settle(pilot, 1)
            assert isinstance(app.screen, ReasonScreen)
            for ch in "later":
                await pilot.press(ch)
            await pilot.press("enter")
            await settle(pilot, 1)
            assert isinstance(app.screen, ConfirmScreen)
            await pilot.press("n")
            await settle(pilot, 2)
            assert sl.row("payments-init").state == "import"
            assert sl.select("payments-init")
            await settle(pilot, 2)
            assert "imports shop.payments.klarna, which you rejected" in _details(screen)
    run(body())
