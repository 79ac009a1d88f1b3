"""A large plan is analysed in another process: the app shows the same review as an
analysis in its own process, and closing the plan or quitting never waits for that process."""
from __future__ import annotations

import asyncio
import sys
import time

from core_helpers import SIZE, demo_ws, make_app, open_review, settle
from wopt.engine.analysis import worker
from wopt.engine.analysis.model import LazySteps
from wopt.tui.screens.review import ReviewScreen
from wopt.tui.widgets.step_list import StepList

SLOW = [sys.executable, "-c", "import sys, time; sys.stdin.buffer.read(); time.sleep(60)"]


def _rows(screen) -> list:
    sl = screen.query_one(StepList)
    return [(sl.row(s).label, sl.row(s).kind, sl.row(s).state, sl.row(s).family) for s in sl.visible_steps()]


def test_a_plan_analysed_in_another_process_shows_the_same_review(tmp_path, monkeypatch):
    ws = demo_ws(tmp_path)

    async def shown(elsewhere: bool):
        monkeypatch.setattr(ReviewScreen, "ELSEWHERE_STEPS", 1 if elsewhere else 10**9)
        app = make_app(ws)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_review(pilot, "demo-payments")
            rows = _rows(screen)
            await pilot.press("j")
            await settle(pilot, 1)
            # the diff while the plan is open (its analysis process ends when the plan closes)
            hunks = screen.model.diff(screen.current).hunks
            return rows, screen.model, screen.current, screen._diff_for, hunks

    local_rows, local, _, _, local_hunks = asyncio.run(shown(False))
    # the in-process run stored the model; a fresh one has to come from the worker
    for p in (ws.spool / "cache" / "models").glob("*.msgpack"):
        p.unlink()
    rows, model, current, diff_for, hunks = asyncio.run(shown(True))
    assert isinstance(model.steps, LazySteps)       # it came from the analysis process
    assert rows == local_rows
    assert dict(model.steps) == dict(local.steps)
    assert model.edges == local.edges and model.families == local.families
    assert current is not None and diff_for == current     # its diff is shown
    assert hunks == local_hunks


def test_quitting_while_a_large_plan_is_analysed_kills_the_analysis_and_exits_at_once(tmp_path, monkeypatch):
    """An analysis that would take a minute: `q` ends the app (and its threads) at once and
    the analysis process is gone."""
    ws = demo_ws(tmp_path)
    monkeypatch.setattr(ReviewScreen, "ELSEWHERE_STEPS", 1)
    monkeypatch.setattr(worker.Elsewhere, "COMMAND", SLOW)
    for p in (ws.spool / "cache" / "models").glob("*.msgpack"):
        p.unlink()
    box: dict = {}

    async def auto(pilot):
        await settle(pilot)
        pilot.app.open_plan("demo-payments")
        screen = pilot.app.screen
        for _ in range(200):
            if screen._elsewhere is not None:
                break
            await pilot.pause(0.05)
        assert screen._elsewhere is not None, "the analysis process never started"
        assert screen.model is None
        box["proc"] = screen._elsewhere.proc
        box["t"] = time.perf_counter()
        await pilot.press("q")

    app = make_app(ws)
    app.run(headless=True, size=SIZE, auto_pilot=auto)
    import threading
    for th in threading.enumerate():       # as the interpreter does before it exits
        if th is not threading.main_thread() and not th.daemon:
            th.join(timeout=30)
    took = time.perf_counter() - box["t"]
    assert took < 5, f"quitting waited {took:.1f} s for the analysis"
    assert box["proc"].poll() is not None, "the analysis process outlived the app"


def test_closing_the_plan_while_it_is_analysed_kills_the_analysis(tmp_path, monkeypatch):
    ws = demo_ws(tmp_path)
    monkeypatch.setattr(ReviewScreen, "ELSEWHERE_STEPS", 1)
    monkeypatch.setattr(worker.Elsewhere, "COMMAND", SLOW)

    async def body():
        app = make_app(ws)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            for p in (ws.spool / "cache" / "models").glob("*.msgpack"):
                p.unlink()
            app.open_plan("demo-payments")
            screen = app.screen
            for _ in range(200):
                if screen._elsewhere is not None:
                    break
                await pilot.pause(0.05)
            proc = screen._elsewhere.proc
            app.pop_screen()
            for _ in range(100):
                if proc.poll() is not None:
                    break
                await pilot.pause(0.05)
            assert proc.poll() is not None, "the analysis process outlived its screen"
            assert not app._notifications or all("analyse" not in str(n.message) for n in app._notifications)

    asyncio.run(body())
