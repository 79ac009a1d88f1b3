"""A step whose Python import names a module no file provides after the apply is marked `⊘`
before any x, with a details line naming the import and the paths that would provide it; the
mark follows the decisions (rejecting the step that deletes the module clears it). The demo
plan, whose imports all resolve, gets no such mark."""
from __future__ import annotations

import asyncio
from pathlib import Path

from core_helpers import SIZE, demo_ws, make_app, open_review, settle

from wopt.engine.model.plan import DeleteStep, Plan, WriteStep
from wopt.engine.store import spool
from wopt.engine.store.ingest import ingest
from wopt.engine.store.workspace import Workspace
from wopt.tui.screens.review import ConfirmScreen
from wopt.tui.widgets.details import Details
from wopt.tui.widgets.step_list import StepList


def run(coro):
    return asyncio.run(coro)


def _details(screen) -> str:
    return str(screen.query_one(Details).query_one("#details-body").render())


def shop_ws(root: Path) -> Workspace:
    (root / "shop").mkdir(parents=True)
    (root / "shop/__init__.py").write_text("")
    (root / "shop/pricing.py").write_text("def total(items):\n    return sum(items)\n")
    ws = Workspace(root)
    plan = Plan(id="shop", title="Cart and checkout", steps=[
        WriteStep(id="cart", path="shop/cart.py",
                  content="from .pricing import total\nfrom .tax import vat\n\n\ndef pay(items):\n"
                          "    return total(items) + vat(items)\n"),
        WriteStep(id="checkout", path="shop/checkout.py",
                  content="try:\n    from ._fast import speed\nexcept ImportError:\n    speed = None\n"
                          "from .pricing import total\n"),
        DeleteStep(id="drop-pricing", path="shop/pricing.py"),
    ], created="2026-11-25T09:00:00Z")
    ingest(ws, plan)
    return ws


async def _reject(pilot, sl, sid: str) -> None:
    assert sl.select(sid)
    await pilot.press("r")
    await settle(pilot, 2)
    if isinstance(pilot.app.screen, ConfirmScreen):
        await pilot.press("n")       # reject this step only
        await settle(pilot, 2)


def test_missing_and_deleted_modules_are_marked_before_apply(tmp_path):
    ws = shop_ws(tmp_path / "ws")

    async def body():
        app = make_app(ws)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_review(pilot, "shop")
            await settle(pilot, 2)
            sl = screen.query_one(StepList)
            # before any decision or x: .tax exists nowhere; .pricing is deleted by a step
            assert sl.row("cart").state == "import"
            assert sl.row("checkout").state == "import"     # its guarded ._fast is not the reason
            assert sl.row("drop-pricing").state != "import"
            assert sl.select("cart")
            await settle(pilot, 2)
            text = _details(screen)
            assert ("⊘ imports .tax (line 2), which no file provides after the apply "
                    "(no shop/tax.py or shop/tax/)") in text
            assert ("⊘ imports .pricing (line 1), which no file provides after the apply (no "
                    "shop/pricing.py or shop/pricing/; step drop-pricing deletes shop/pricing.py)") in text
            assert sl.select("checkout")
            await settle(pilot, 2)
            text = _details(screen)
            assert "imports .pricing (line 5)" in text and "_fast" not in text
            # the person keeps the module: the importers of pricing are no longer marked
            await _reject(pilot, sl, "drop-pricing")
            assert spool.load_review(ws, "shop").decision("drop-pricing") == "rejected"
            assert sl.row("checkout").state != "import"
            assert sl.row("cart").state == "import"          # .tax is still missing
            assert sl.select("cart")
            await settle(pilot, 2)
            text = _details(screen)
            assert "imports .tax (line 2)" in text and ".pricing" not in text
            # rejecting the importer itself takes its mark away
            await _reject(pilot, sl, "cart")
            assert sl.row("cart").state != "import"
    run(body())


def test_demo_plan_has_no_missing_import_and_reject_keeps_its_words(tmp_path):
    ws = demo_ws(tmp_path)

    async def body():
        app = make_app(ws)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_review(pilot, "demo-payments")
            await settle(pilot, 2)
            sl = screen.query_one(StepList)
            assert screen._missing_notes == {}
            assert not [s for s in screen.model.steps if sl.row(s).state == "import"]
            # rejecting the step that creates a module: its importer says "which you rejected",
            # once (not a second time as a missing module)
            await _reject(pilot, sl, "provider-klarna")
            assert sl.row("payments-init").state == "import"
            assert sl.select("payments-init")
            await settle(pilot, 2)
            text = _details(screen)
            assert "imports shop.payments.klarna, which you rejected" in text
            assert "klarna" not in text.split("which you rejected", 1)[1].split("\n", 2)[1]
            assert screen._missing_notes == {}
    run(body())


def test_a_plan_analysed_in_another_process_runs_no_import_check_in_the_app(tmp_path, monkeypatch):
    """On a plan large enough to be analysed in another process, the live check (which runs
    the plan's steps again in the UI's interpreter on each decision) does not run, so the
    keys stay answered; the steps carry no missing-import mark."""
    from wopt.engine.analysis import missing
    from wopt.tui.screens.review import ReviewScreen
    ws = shop_ws(tmp_path / "ws")
    monkeypatch.setattr(ReviewScreen, "ELSEWHERE_STEPS", 3)       # the shop plan has 3 steps
    found = []
    real = missing.ImportCheck.find
    monkeypatch.setattr(missing.ImportCheck, "find", lambda self, *a: found.append(1) or real(self, *a))

    async def body():
        app = make_app(ws)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_review(pilot, "shop")
            for _ in range(20):
                if screen.model is not None:
                    break
                await settle(pilot, 2)
            assert screen.model is not None
            sl = screen.query_one(StepList)
            await _reject(pilot, sl, "drop-pricing")
            assert sl.row("cart").state != "import"
    run(body())
    assert found == []
