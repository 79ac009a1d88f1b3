"""A Claude Code hook call in gate mode waits for the person: the queue marks its plan, and
the hook gets its answer the moment the person decides in the app."""
from __future__ import annotations

import asyncio
import json
import threading

from core_helpers import SIZE, make_app, settle
from test_queue import cells, wait_for
from wopt.engine.agents import hook
from wopt.engine.store.workspace import Workspace
from wopt.tui.screens.review import ReviewScreen


def payload(root, path: str, content: str, cid: str) -> bytes:
    return json.dumps({"session_id": "sess-G", "transcript_path": "/dev/null", "cwd": str(root),
                       "permission_mode": "default", "hook_event_name": "PreToolUse", "tool_name": "Write",
                       "tool_input": {"file_path": str(root / path), "content": content},
                       "tool_use_id": cid}).encode()


def test_gate_call_stands_out_and_gets_the_decision(tmp_path):
    root = tmp_path / "proj"
    root.mkdir()
    (root / ".git").mkdir()
    ws = Workspace(root)
    box: dict = {}

    def call_hook(name: str, path: str) -> threading.Thread:
        def go():
            box[name] = hook.handle(payload(root, path, f"{name}\n", f"toolu_{name}"), mode=hook.GATE,
                                    timeout=30, root=str(root))
        t = threading.Thread(target=go, daemon=True)
        t.start()
        return t

    async def body():
        app = make_app(ws, poll_seconds=0.1)
        async with app.run_test(size=SIZE) as pilot:
            t1 = call_hook("one", "one.txt")
            assert await wait_for(pilot, lambda: any(r[1].endswith("-gate") for r in cells(app)))
            row = next(r for r in cells(app) if r[1].endswith("-gate"))
            assert row[0] == "◉" and "waiting" in row[8]
            await pilot.press("enter")
            await settle(pilot)
            screen = app.screen
            assert isinstance(screen, ReviewScreen)
            for _ in range(40):
                if screen.model is not None:
                    break
                await settle(pilot, 1)
            await pilot.press("a")
            await asyncio.get_running_loop().run_in_executor(None, t1.join, 20)
            assert box["one"]["hookSpecificOutput"]["permissionDecision"] == "allow"
            # a second call arriving while the plan is open shows up in it, then gets rejected
            t2 = call_hook("two", "two.txt")
            assert await wait_for(pilot, lambda: screen.model is not None
                                  and any(i.path == "two.txt" for i in screen.model.steps.values()), tries=120)
            sid = next(s for s, i in screen.model.steps.items() if i.path == "two.txt")
            screen.query_one("#steps").select(sid)
            await pilot.press("r")
            await settle(pilot, 1)
            await asyncio.get_running_loop().run_in_executor(None, t2.join, 20)
            assert box["two"]["hookSpecificOutput"]["permissionDecision"] == "deny"
            assert not (root / "one.txt").exists() and not (root / "two.txt").exists()

    asyncio.run(body())


def test_only_a_live_gate_call_is_marked_waiting(tmp_path):
    """A gate plan whose hook was killed (its steps stay, nobody waits) is an ordinary row; a
    live call's plan is marked, first."""
    from wopt.engine.store import spool
    from wopt.engine.model.plan import Plan, WriteStep

    root = tmp_path / "proj"
    root.mkdir()
    (root / ".git").mkdir()
    ws = Workspace(root)
    spool.save_plan(ws, Plan(id="claude-dead-gate", title="left by a killed hook", source="claude-hook",
                             session_id="dead", created="2026-11-25T09:00:00Z",
                             steps=[WriteStep(id="g1", path="d.txt", content="d\n")]))
    box: dict = {}

    async def body():
        app = make_app(ws, poll_seconds=0.1)
        async with app.run_test(size=SIZE) as pilot:
            assert await wait_for(pilot, lambda: any(r[1] == "claude-dead-gate" for r in cells(app)))
            dead = next(r for r in cells(app) if r[1] == "claude-dead-gate")
            assert dead[0] == "" and "waiting" not in dead[8]
            t = threading.Thread(target=lambda: box.update(out=hook.handle(
                payload(root, "w.txt", "w\n", "toolu_w"), mode=hook.GATE, timeout=30, root=str(root))), daemon=True)
            t.start()
            assert await wait_for(pilot, lambda: cells(app)[0][1] == "claude-sess-G-gate", tries=120)
            live = cells(app)[0]
            assert live[0] == "◉" and "waiting" in live[8]
            dead = next(r for r in cells(app) if r[1] == "claude-dead-gate")
            assert dead[0] == "" and "waiting" not in dead[8]
            from wopt.engine.store.decide import reject
            reject(ws, "claude-sess-G-gate")
            await asyncio.get_running_loop().run_in_executor(None, t.join, 20)
            assert box["out"]["hookSpecificOutput"]["permissionDecision"] == "deny"
            assert await wait_for(pilot, lambda: all(r[0] == "" for r in cells(app)))

    asyncio.run(body())


def test_a_call_that_starts_waiting_cannot_be_missed(tmp_path):
    """The bell and a notice on whatever screen is open; w goes to the waiting step; the mark
    goes when the call is answered."""
    from wopt.engine.store.decide import approve
    from wopt.tui.screens.history import HistoryScreen

    root = tmp_path / "proj"
    root.mkdir()
    (root / ".git").mkdir()
    ws = Workspace(root)
    box: dict = {}

    async def body():
        app = make_app(ws, poll_seconds=0.1)
        bells = []
        app.bell = lambda: bells.append(1)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await pilot.press("h")                     # somewhere else than the queue
            await settle(pilot, 1)
            assert isinstance(app.screen, HistoryScreen)
            t = threading.Thread(target=lambda: box.update(out=hook.handle(
                payload(root, "w.txt", "w\n", "toolu_w"), mode=hook.GATE, timeout=30, root=str(root))),
                daemon=True)
            t.start()
            for _ in range(120):
                await pilot.pause(0.05)
                if bells:
                    break
            assert bells, "no bell when the call started waiting"
            notes = [n for n in app._notifications if n.title == "An agent is waiting"]
            assert notes and "w.txt" in notes[0].message and "press w" in notes[0].message
            await pilot.press("w")
            await settle(pilot, 1)
            assert isinstance(app.screen, ReviewScreen) and app.screen.plan.id == "claude-sess-G-gate"
            for _ in range(60):
                if app.screen.model is not None:
                    break
                await pilot.pause(0.05)
            assert app.screen.current == app.screen.plan.steps[0].id
            approve(ws, "claude-sess-G-gate")
            await asyncio.get_running_loop().run_in_executor(None, t.join, 20)
            assert box["out"]["hookSpecificOutput"]["permissionDecision"] == "allow"
            assert len(bells) == 1                     # one call, one bell
    asyncio.run(body())
