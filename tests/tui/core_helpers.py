"""Shared by the review-app core tests: real workspaces (the demo, or small ones made here),
an app with a fixed clock, and a way to wait until the app's workers are done."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from wopt.engine.store import spool
from wopt.engine.store.demo import make_demo
from wopt.engine.store.ingest import ingest
from wopt.engine.model.plan import Plan, WriteStep
from wopt.engine.store.workspace import Workspace
from wopt.tui.app import WoptApp

FIXED_NOW = datetime(2026, 11, 25, 10, 0, 0, tzinfo=timezone.utc)
SIZE = (120, 36)


def demo_ws(tmp_path: Path) -> Workspace:
    return Workspace(make_demo(tmp_path / "demo"))


def make_app(ws: Workspace, **kw) -> WoptApp:
    kw.setdefault("theme", "wopt-dark")
    kw.setdefault("clock", lambda: FIXED_NOW)
    return WoptApp(ws, **kw)


async def settle(pilot, rounds: int = 3) -> None:
    """Wait for analysis / diff / poll workers and the messages they post."""
    from textual.worker import WorkerCancelled
    for _ in range(rounds):
        try:
            # the queue's poll worker is exclusive and restarts on a timer: on a busy machine
            # the next poll cancels the one being waited for, which is not a failure
            await pilot.app.workers.wait_for_complete()
        except WorkerCancelled:
            pass
        await pilot.pause()
        await pilot.pause(0.05)


async def open_review(pilot, plan_id: str):
    from wopt.tui.screens.review import ReviewScreen
    await settle(pilot)
    pilot.app.open_plan(plan_id)
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, ReviewScreen), screen
    for _ in range(50):
        if screen.model is not None and screen._diff_for is not None:
            break
        await pilot.pause(0.05)
        await settle(pilot, 1)
    assert screen.model is not None, "the analysis did not finish"
    return screen


def numbered(n: int, tag: str = "") -> str:
    return "".join(f"line {i}{tag}\n" for i in range(1, n + 1))


def two_hunk_ws(root: Path) -> tuple[Workspace, Plan, bytes, bytes]:
    """A file of 40 lines and a plan changing line 3 and line 35: two hunks."""
    root.mkdir(parents=True, exist_ok=True)
    before = numbered(40)
    after_lines = before.splitlines(keepends=True)
    after_lines[2] = "line 3 CHANGED\n"
    after_lines[34] = "line 35 CHANGED\n"
    after = "".join(after_lines)
    (root / "notes.txt").write_text(before)
    ws = Workspace(root)
    plan = Plan(id="two-hunks", title="Two changes far apart", steps=[
        WriteStep(id="notes", path="notes.txt", content=after),
        WriteStep(id="extra", path="extra.txt", content="extra\n"),
    ], created="2026-11-25T09:00:00Z")
    ingest(ws, plan)
    return ws, plan, before.encode(), after.encode()


def review_on_disk(ws: Workspace, plan_id: str):
    return spool.load_review(ws, plan_id)
