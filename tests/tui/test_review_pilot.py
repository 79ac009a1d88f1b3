"""The review screen driven by the keys a person presses, on real workspaces; every check is
on what the engine saved (`.wopt/reviews/`) or on the files on disk."""
from __future__ import annotations

import asyncio

from core_helpers import SIZE, demo_ws, make_app, open_review, review_on_disk, settle, two_hunk_ws
from wopt.engine.store import spool
from wopt.tui.screens.review import ConfirmScreen, ReviewScreen
from wopt.tui.widgets.diff_view import DiffView
from wopt.tui.widgets.step_list import StepList


def run(coro):
    return asyncio.run(coro)


def test_approve_reject_undo_are_saved_as_you_go(tmp_path):
    ws = demo_ws(tmp_path)

    async def body():
        app = make_app(ws)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_review(pilot, "demo-payments")
            order = screen.query_one(StepList).visible_steps()
            first = screen.current
            await pilot.press("g")
            first = screen.current
            assert first == order[0]
            await pilot.press("a")                     # approve, cursor moves on
            assert review_on_disk(ws, "demo-payments").decision(first) == "approved"
            assert screen.current == order[1]
            await pilot.press("u")                     # undo
            assert review_on_disk(ws, "demo-payments").decision(first) == "pending"
            await pilot.press("j", "j", "k")
            assert screen.current == order[2]
            await pilot.press("G")
            assert screen.current == order[-1]

    run(body())


def test_reject_with_dependents_asks_and_rejects_them_too(tmp_path):
    ws = demo_ws(tmp_path)

    async def body():
        app = make_app(ws)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_review(pilot, "demo-payments")
            sl = screen.query_one(StepList)
            base = "payments-base"
            assert sl.select(base)
            deps = screen.dependents(base)
            assert deps, "the provider base class is needed by the providers"
            await pilot.press("r")
            await settle(pilot, 1)
            assert isinstance(app.screen, ConfirmScreen)
            await pilot.press("y")
            await settle(pilot, 1)
            rv = review_on_disk(ws, "demo-payments")
            assert rv.decision(base) == "rejected"
            for d in deps:
                assert rv.decision(d) == "rejected", d
                assert "payments/base.py" in rv.reasons[d]
            # one undo puts every one of them back
            await pilot.press("u")
            rv = review_on_disk(ws, "demo-payments")
            assert all(rv.decision(s) == "pending" for s in [base] + deps)
            # answering n rejects only the step itself
            sl.select(base)
            await pilot.press("r")
            await settle(pilot, 1)
            await pilot.press("n")
            await settle(pilot, 1)
            rv = review_on_disk(ws, "demo-payments")
            assert rv.decision(base) == "rejected"
            assert all(rv.decision(s) == "pending" for s in deps)

    run(body())


def test_batch_keys_and_filter(tmp_path):
    ws = demo_ws(tmp_path)

    async def body():
        app = make_app(ws)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_review(pilot, "demo-payments")
            sl = screen.query_one(StepList)
            sl.select("provider-stripe")
            batch = screen.model.steps["provider-stripe"].batch
            members = [s for s, i in screen.model.steps.items() if i.batch == batch]
            await pilot.press("A")
            rv = review_on_disk(ws, "demo-payments")
            assert {s for s in members if rv.decision(s) == "approved"} == set(members)
            others = [s for s in screen.model.steps if s not in members]
            assert all(rv.decision(s) == "pending" for s in others)
            await pilot.press("R")
            rv = review_on_disk(ws, "demo-payments")
            assert all(rv.decision(s) == "rejected" for s in members)
            # filter: only README's step stays, and keys act on it
            await pilot.press("slash", *"readme", "enter")
            assert sl.visible_steps() == ["readme-usage"]
            await pilot.press("a")
            assert review_on_disk(ws, "demo-payments").decision("readme-usage") == "approved"
            await pilot.press("slash", "escape")
            assert len(sl.visible_steps()) == len(screen.model.steps)

    run(body())


def test_split_toggle_next_change_and_files(tmp_path):
    ws, plan, before, after = two_hunk_ws(tmp_path / "ws")

    async def body():
        app = make_app(ws)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_review(pilot, plan.id)
            sl = screen.query_one(StepList)
            sl.select("notes")
            await settle(pilot)
            view = screen.query_one(DiffView)
            assert view.prepared.diff is not None and len(view.prepared.diff.hunks) == 2
            await pilot.press("n")
            assert view.change == 0 and view.current_hunk() == 0
            await pilot.press("n")
            assert view.change == 1 and view.current_hunk() == 1
            await pilot.press("s")
            assert view.split is True
            assert view.current_hunk() == 1
            await pilot.press("s")
            assert view.split is False
            await pilot.press("N")
            assert view.change == 0
            await pilot.press("right_square_bracket")
            assert screen.current != "notes"
            await pilot.press("left_square_bracket")
            assert screen.current == "notes"

    run(body())


def test_turning_a_hunk_off_is_saved_and_the_apply_writes_only_accepted_hunks(tmp_path):
    ws, plan, before, after = two_hunk_ws(tmp_path / "ws")

    async def body():
        app = make_app(ws)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_review(pilot, plan.id)
            screen.query_one(StepList).select("notes")
            await settle(pilot)
            await pilot.press("n", "n", "space")        # second hunk off
            assert review_on_disk(ws, plan.id).hunks == {"notes": [0]}
            await pilot.press("a")
            assert review_on_disk(ws, plan.id).decision("notes") == "approved"
            await pilot.press("x")
            await settle(pilot)
            await pilot.press("enter")                   # confirm the apply
            for _ in range(100):
                await settle(pilot, 1)
                if (ws.root / "notes.txt").read_bytes() != before:
                    break
            expected = before.replace(b"line 3\n", b"line 3 CHANGED\n")
            assert (ws.root / "notes.txt").read_bytes() == expected
            assert not (ws.root / "extra.txt").exists()
            await pilot.press("u")                       # the result screen's undo
            for _ in range(100):
                await settle(pilot, 1)
                if (ws.root / "notes.txt").read_bytes() == before:
                    break
            assert (ws.root / "notes.txt").read_bytes() == before

    run(body())


def test_reorder_within_the_order_and_refusal_across_a_dependency(tmp_path):
    from wopt.engine.store.ingest import ingest
    from wopt.engine.model.plan import Plan, WriteStep
    from wopt.engine.store.workspace import Workspace
    root = tmp_path / "ws"
    root.mkdir()
    ws = Workspace(root)
    plan = Plan(id="chain", title="a chain and a loose step", created="2026-11-25T09:00:00Z", steps=[
        WriteStep(id="a", path="lib/a.txt", content="a\n"),
        WriteStep(id="b", path="lib/b.txt", content="b\n", depends_on=["a"]),
        WriteStep(id="c", path="lib/c.txt", content="c\n"),
    ])
    ingest(ws, plan)

    async def body():
        app = make_app(ws)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_review(pilot, "chain")
            sl = screen.query_one(StepList)
            order = screen._order()
            assert order.index("a") < order.index("b")
            # b cannot move before a: refused, nothing saved
            sl.select("b")
            for _ in range(order.index("b") - order.index("a")):
                await pilot.press("K")
            assert screen._order().index("b") > screen._order().index("a")
            assert review_on_disk(ws, "chain").order == []
            # c has no edge: it moves freely, and undo puts it back
            sl.select("c")
            pos = order.index("c")
            await pilot.press("K" if pos > 0 else "J")
            saved = review_on_disk(ws, "chain").order
            assert saved and saved.index("c") == (pos - 1 if pos > 0 else pos + 1)
            assert saved.index("a") < saved.index("b")
            assert sl.visible_steps() == saved
            await pilot.press("u")
            assert review_on_disk(ws, "chain").order == []
            assert screen._order() == order

    run(body())


def test_edit_in_the_builtin_editor_revalidates(tmp_path):
    ws = demo_ws(tmp_path)

    async def body():
        from wopt.tui.screens.editor import EditorScreen
        app = make_app(ws)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_review(pilot, "demo-payments")
            screen.query_one(StepList).select("providers-config")
            await settle(pilot)
            assert screen.model.steps["providers-config"].status == "invalid"
            await pilot.press("e")
            await settle(pilot, 1)
            assert isinstance(app.screen, EditorScreen)
            app.screen.dismiss('{\n  "default": "stripe",\n  "enabled": ["stripe"]\n}\n')
            await settle(pilot)
            for _ in range(40):
                await settle(pilot, 1)
                if screen.model.steps["providers-config"].status == "ok":
                    break
            rv = review_on_disk(ws, "demo-payments")
            assert rv.edited["providers-config"].startswith('{\n  "default"')
            assert screen.model.steps["providers-config"].status == "ok"

    run(body())


def test_resume_where_the_review_stopped(tmp_path):
    ws = demo_ws(tmp_path)
    from wopt.engine.store.decide import approve
    approve(ws, "demo-payments", ["docs-payments"])

    async def body():
        app = make_app(ws)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_review(pilot, "demo-payments")
            assert screen.review.decision("docs-payments") == "approved"
            # opens on the first pending step in commit order
            first_pending = next(s for s in screen._order() if screen.review.decision(s) == "pending")
            assert screen.current == first_pending
            # a decision made in the shell meanwhile is kept when the app saves its own
            approve(ws, "demo-payments", ["tests-payments"])
            screen.query_one(StepList).select("pyproject-deps")
            await pilot.press("a")
            rv = review_on_disk(ws, "demo-payments")
            assert rv.decision("tests-payments") == "approved"
            assert rv.decision("pyproject-deps") == "approved"

    run(body())


def test_mouse_click_selects_a_step_and_a_second_plan_opens(tmp_path):
    ws = demo_ws(tmp_path)

    async def body():
        app = make_app(ws)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_review(pilot, "demo-payments")
            sl = screen.query_one(StepList)
            row = sl.rows.index("docs-payments")
            await pilot.click(StepList, offset=(6, row))
            await settle(pilot)
            assert screen.current == "docs-payments"
            assert screen.query_one(DiffView).prepared.diff.path == "docs/payments.md"
            await pilot.press("escape")
            await settle(pilot)
            from wopt.tui.screens.queue import QueueScreen
            assert isinstance(app.screen, QueueScreen)

    run(body())


def test_reject_with_a_reason_and_half_page_keys(tmp_path):
    ws = demo_ws(tmp_path)

    async def body():
        app = make_app(ws)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_review(pilot, "demo-payments")
            sl = screen.query_one(StepList)
            sl.select("docs-payments")
            await pilot.press("ctrl+r")
            await settle(pilot, 1)
            await pilot.press(*"too vague", "enter")
            await settle(pilot, 1)
            rv = review_on_disk(ws, "demo-payments")
            assert rv.decision("docs-payments") == "rejected" and rv.reasons["docs-payments"] == "too vague"
            # ctrl+d / ctrl+u move half a page through the steps
            await pilot.press("g")
            await pilot.press("ctrl+d")
            moved = sl.cursor
            assert moved > 1
            await pilot.press("ctrl+u")
            assert sl.cursor == 0

    run(body())


def test_tab_moves_between_panes_and_keys_follow_the_focus(tmp_path):
    ws, plan, before, after = two_hunk_ws(tmp_path / "ws")

    async def body():
        from wopt.tui.widgets.details import Details
        app = make_app(ws)
        async with app.run_test(size=(120, 12)) as pilot:
            screen = await open_review(pilot, plan.id)
            screen.query_one(StepList).select("notes")
            await settle(pilot)
            assert isinstance(screen.focused, StepList)
            await pilot.press("tab")
            assert isinstance(screen.focused, DiffView)
            view = screen.query_one(DiffView)
            await pilot.press("j", "j", "j")            # scrolls the diff, the step stays
            assert view.scroll_y == 3 and screen.current == "notes"
            await pilot.press("G")
            assert view.scroll_y == view.max_scroll_y > 3
            await pilot.press("g")
            assert view.scroll_y == 0
            await pilot.press("tab")
            assert isinstance(screen.focused, Details)
            await pilot.press("shift+tab", "shift+tab")
            assert isinstance(screen.focused, StepList)

    run(body())
