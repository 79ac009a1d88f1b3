"""The step list and diff, second pass: batch headers fold and unfold (a key, a click) and batch
decisions still reach a folded batch; single lines of a hunk are turned on and off with keys and
the apply writes exactly that; names sort naturally inside what the dependency order allows;
the demo names its workspace in the header; approving a call whose hook was killed says so."""
from __future__ import annotations

import asyncio

from core_helpers import demo_ws, make_app, open_review, settle, two_hunk_ws

from wopt.engine.store import spool
from wopt.engine.tx.apply import apply_plan
from wopt.engine.model.review import APPROVED
from wopt.tui.widgets.diff_view import DiffView
from wopt.tui.widgets.step_list import BatchRow, StepList

SMALL = (80, 24)


def run(coro):
    return asyncio.run(coro)


def _lines(sl: StepList) -> list[str]:
    return ["".join(seg.text for seg in sl.render_line(y)).rstrip() for y in range(sl.size.height)]


# ----------------------------------------------------------------------------- folding batches

def test_z_folds_a_batch_and_batch_decisions_reach_its_hidden_steps(tmp_path):
    ws = demo_ws(tmp_path)

    async def body():
        app = make_app(ws)
        async with app.run_test(size=SMALL) as pilot:
            screen = await open_review(pilot, "demo-payments")
            sl = screen.query_one(StepList)
            sl.focus()
            await pilot.press("g")
            await settle(pilot, 1)
            first = sl.rows[0]
            assert isinstance(first, BatchRow)
            batch, n = first.dir, len(first.steps)
            shown = len(sl.visible_steps())
            await pilot.press("z")
            await settle(pilot, 1)
            assert batch in sl.folded and sl.current_header is not None
            assert len(sl.visible_steps()) == shown - n
            text = _lines(sl)[0]
            assert text.startswith(f"▸ ·{n} {batch}/ ({n} step"), text
            # a batch decision on the folded header: every step of the batch, on disk
            await pilot.press("A")
            await settle(pilot, 1)
            rv = spool.load_review(ws, "demo-payments")
            assert [rv.decision(s) for s in first.steps] == [APPROVED] * n
            assert _lines(sl)[0].startswith(f"▸ ✓{n} {batch}/")
            # enter on the folded header unfolds it, the cursor on its first step
            await pilot.press("enter")
            await settle(pilot, 1)
            assert batch not in sl.folded and sl.current_step == first.steps[0]
            assert _lines(sl)[0].startswith(f"▾ {batch}/")
    run(body())


def test_a_click_on_a_batch_header_folds_and_unfolds_it(tmp_path):
    ws = demo_ws(tmp_path)

    async def body():
        app = make_app(ws)
        async with app.run_test(size=SMALL) as pilot:
            screen = await open_review(pilot, "demo-payments")
            sl = screen.query_one(StepList)
            y = next(i for i, r in enumerate(sl.rows) if isinstance(r, BatchRow) and i > 0)
            batch = sl.rows[y].dir
            await pilot.click(StepList, offset=(3, y))
            await settle(pilot, 1)
            assert batch in sl.folded
            assert _lines(sl)[y].startswith("▸ ·"), _lines(sl)[y]
            await pilot.click(StepList, offset=(3, y))
            await settle(pilot, 1)
            assert batch not in sl.folded
            assert _lines(sl)[y].startswith(f"▾ {batch}/")
    run(body())


def test_selecting_a_step_of_a_folded_batch_unfolds_it(tmp_path):
    ws = demo_ws(tmp_path)

    async def body():
        app = make_app(ws)
        async with app.run_test(size=SMALL) as pilot:
            screen = await open_review(pilot, "demo-payments")
            sl = screen.query_one(StepList)
            first = sl.rows[0]
            sl.toggle_fold(first.dir)
            assert first.dir in sl.folded
            assert sl.select(first.steps[-1])
            assert first.dir not in sl.folded and sl.current_step == first.steps[-1]
    run(body())


# ----------------------------------------------------------------------------- lines of a hunk

def test_v_and_space_turn_one_removed_line_off_and_the_apply_keeps_it(tmp_path):
    ws, plan, before, after = two_hunk_ws(tmp_path / "ws")

    async def body():
        app = make_app(ws)
        async with app.run_test(size=(120, 36)) as pilot:
            screen = await open_review(pilot, "two-hunks")
            sl = screen.query_one(StepList)
            sl.select("notes")
            await settle(pilot)
            view = screen.query_one(DiffView)
            view.focus()
            await pilot.press("v")             # the first changed line: `-line 3`
            await settle(pilot, 1)
            assert view.selected_lines() == (0, [2])
            await pilot.press("space")
            await settle(pilot, 1)
            rv = spool.load_review(ws, "two-hunks")
            assert rv.lines_off == {"notes": {0: [2]}} and rv.hunks == {"notes": [0, 1]}
            assert view.lines_off == {0: {2}} and view.line_cursor is None
            assert sl.row("notes").state == "partial"
            # v j space on the added line: it is left out too -> hunk 0 writes nothing
            await pilot.press("v", "j", "space")
            await settle(pilot, 1)
            assert spool.load_review(ws, "two-hunks").lines_off == {"notes": {0: [2, 3]}}
            await pilot.press("u")              # undo: only the removal is off again
            await settle(pilot, 1)
            assert spool.load_review(ws, "two-hunks").lines_off == {"notes": {0: [2]}}
            await pilot.press("a")
            await settle(pilot, 1)
    run(body())
    rv = spool.load_review(ws, "two-hunks")
    assert rv.decision("notes") == APPROVED
    tx = apply_plan(ws, spool.load_plan(ws, "two-hunks"), review=rv)
    assert tx.outcome == "committed"
    want = before.replace(b"line 3\n", b"line 3\nline 3 CHANGED\n").replace(b"line 35\n", b"line 35 CHANGED\n")
    assert (ws.root / "notes.txt").read_bytes() == want


def test_escape_ends_a_line_selection_without_leaving_the_review(tmp_path):
    ws, plan, before, after = two_hunk_ws(tmp_path / "ws")

    async def body():
        app = make_app(ws)
        async with app.run_test(size=(120, 36)) as pilot:
            screen = await open_review(pilot, "two-hunks")
            screen.query_one(StepList).select("notes")
            await settle(pilot)
            view = screen.query_one(DiffView)
            view.focus()
            await pilot.press("v", "j", "j")
            assert view.selected_lines() == (0, [2, 3])     # context lines are not picked
            await pilot.press("escape")
            await settle(pilot, 1)
            assert view.line_cursor is None and app.screen is screen
            assert spool.load_review(ws, "two-hunks").lines_off == {}
    run(body())


# ----------------------------------------------------------------------------- natural order

def _numbered_plan(ws_root):
    from wopt.engine.store.ingest import ingest
    from wopt.engine.model.plan import Plan, WriteStep
    from wopt.engine.store.workspace import Workspace
    ws_root.mkdir(parents=True, exist_ok=True)
    ws = Workspace(ws_root)
    # as a git diff lists them: m0, m1, m10, m11, m2; m1 needs m11 (declared)
    names = ["m0", "m1", "m10", "m11", "m2"]
    steps = [WriteStep(id=n, path=f"models/{n}.py", content=f"X = {n!r}\n",
                       depends_on=["m11"] if n == "m1" else []) for n in names]
    steps.insert(2, WriteStep(id="zz", path="models/zz.py", content="Z = 1\n"))
    steps.append(WriteStep(id="aa", path="models/aa.py", content="A = 1\n"))
    plan = Plan(id="numbered", title="numbered models", steps=steps, created="2026-11-25T09:00:00Z")
    ingest(ws, plan)
    return ws, plan


def test_numbered_siblings_sort_by_number_after_what_they_need(tmp_path):
    from wopt.engine.analysis.ordering import natural_key, plan_order
    assert sorted(["m10.py", "m2.py", "m0.py"], key=natural_key) == ["m0.py", "m2.py", "m10.py"]
    ws, plan = _numbered_plan(tmp_path / "ws")
    # the numbered siblings take the first one's place, by number, m1 after m11 (it needs
    # it); other names keep the plan's order (zz before aa)
    assert plan_order(plan).order == ["m0", "m2", "m10", "m11", "m1", "zz", "aa"]

    async def body():
        app = make_app(ws)
        async with app.run_test(size=SMALL) as pilot:
            screen = await open_review(pilot, "numbered")
            sl = screen.query_one(StepList)
            assert sl.visible_steps() == ["m0", "m2", "m10", "m11", "m1", "zz", "aa"]
            assert screen._order() == sl.visible_steps()     # the list is the commit order
    run(body())


# ----------------------------------------------------------------------------- the demo's header

def test_the_demo_names_its_workspace_in_the_header_home_relative(tmp_path, monkeypatch):
    from textual.widgets import Static

    from wopt.tui.app import home_relative
    monkeypatch.setenv("HOME", str(tmp_path))
    ws = demo_ws(tmp_path)          # under the (test's) home: tmp_path/demo
    assert home_relative(ws.root) == "~/demo"
    assert home_relative("/elsewhere/x") == "/elsewhere/x"

    async def body():
        app = make_app(ws, demo=True)
        async with app.run_test(size=SMALL) as pilot:
            await settle(pilot)
            title = str(app.screen.query_one("#queue-title", Static).render())
            assert "demo workspace ~/demo" in title, title
        plain = make_app(ws)
        async with plain.run_test(size=SMALL) as pilot:
            await settle(pilot)
            assert "demo" not in str(plain.screen.query_one("#queue-title", Static).render())
    run(body())


def test_wopt_tui_demo_passes_the_demo_flag_to_the_app(monkeypatch, tmp_path):
    import argparse

    from wopt.engine.store import demo
    from wopt.tui import app as app_mod
    seen = {}
    real = demo.make_demo
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    monkeypatch.setattr(demo, "make_demo", lambda dest=None: real(tmp_path / "w"))

    def fake_run(self, *a, **kw):
        seen["sub"] = self.sub_title
    monkeypatch.setattr(app_mod.WoptApp, "run", fake_run)
    assert app_mod.run(argparse.Namespace(demo=True, targets=[], root=None, theme="wopt-dark")) == 0
    assert seen["sub"] == "demo workspace ~/w"


# ----------------------------------------------------------------------------- bug 9: killed hook

def _gate_hook(root, name: str):
    import json
    import subprocess
    import sys
    from pathlib import Path
    bin_ = Path(sys.executable).parent
    wopt = [str(bin_ / "wopt")] if (bin_ / "wopt").exists() else [sys.executable, "-m", "wopt.engine.cli.main"]
    p = subprocess.Popen([*wopt, "hook", "claude", "--mode", "gate", "--timeout", "60"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=str(root))
    payload = {"session_id": "sess-K", "transcript_path": "/dev/null", "cwd": str(root),
               "permission_mode": "default", "hook_event_name": "PreToolUse", "tool_name": "Write",
               "tool_input": {"file_path": str(root / name), "content": "k\n"}, "tool_use_id": "toolu_k"}
    p.stdin.write(json.dumps(payload).encode())
    p.stdin.close()
    return p


def _until(cond, timeout: float = 30.0):
    import time
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        got = cond()
        if got:
            return got
        time.sleep(0.05)
    raise AssertionError("condition never held")


def test_approving_a_call_whose_hook_was_killed_says_nobody_waits(tmp_path):
    import os
    import signal

    from wopt.engine.store import decide
    from wopt.engine.store.workspace import Workspace
    root = tmp_path / "proj"
    root.mkdir()
    (root / ".git").mkdir()
    ws = Workspace(root)
    p = _gate_hook(root, "k.txt")
    try:
        [w] = _until(lambda: decide.waiting(ws))
        os.kill(p.pid, signal.SIGKILL)         # as when the agent interrupts the call
        p.wait(10)
    finally:
        if p.poll() is None:
            p.kill()
    assert decide.waiting(ws) == []
    assert decide.unattended(ws, spool.load_plan(ws, w.plan_id), [w.step_id]) == [w.step_id]

    async def body():
        app = make_app(ws)
        async with app.run_test(size=SMALL) as pilot:
            screen = await open_review(pilot, w.plan_id)
            screen.query_one(StepList).select(w.step_id)
            await pilot.press("a")
            await settle(pilot, 1)
            notes = [n for n in app._notifications if n.title == "Nobody is waiting on this call"]
            assert len(notes) == 1, [n.message for n in app._notifications]
            msg = notes[0].message
            assert "stopped waiting on k.txt" in msg and "recorded for this plan only" in msg, msg
    run(body())
    # the decision is on disk, and nothing was written
    assert spool.load_review(ws, w.plan_id).decision(w.step_id) == APPROVED
    assert not (root / "k.txt").exists()


def test_approving_a_live_gate_call_gives_no_such_notice(tmp_path):
    import json

    from wopt.engine.store import decide
    from wopt.engine.store.workspace import Workspace
    root = tmp_path / "proj"
    root.mkdir()
    (root / ".git").mkdir()
    ws = Workspace(root)
    p = _gate_hook(root, "live.txt")
    try:
        [w] = _until(lambda: decide.waiting(ws))

        async def body():
            app = make_app(ws)
            async with app.run_test(size=SMALL) as pilot:
                screen = await open_review(pilot, w.plan_id)
                screen.query_one(StepList).select(w.step_id)
                await pilot.press("a")
                await settle(pilot, 1)
                assert not [n for n in app._notifications if n.title == "Nobody is waiting on this call"]
        run(body())
        out = p.stdout.read()
        p.wait(30)
        assert json.loads(out)["hookSpecificOutput"]["permissionDecision"] == "allow"
    finally:
        if p.poll() is None:
            p.kill()


def test_lines_turned_off_are_struck_out_in_both_layouts(tmp_path):
    from rich.style import Style
    ws, plan, before, after = two_hunk_ws(tmp_path / "ws")

    async def body():
        app = make_app(ws)
        async with app.run_test(size=(120, 36)) as pilot:
            screen = await open_review(pilot, "two-hunks")
            screen.query_one(StepList).select("notes")
            await settle(pilot)
            view = screen.query_one(DiffView)
            view.focus()
            await pilot.press("v", "space")                  # `-line 3` off
            await settle(pilot, 1)

            def struck(text: str) -> list[bool]:
                out = []
                for y in range(view.size.height):
                    segs = list(view.render_line(y))
                    line = "".join(sg.text for sg in segs)
                    if text in line:
                        out.append(any((sg.style or Style()).strike for sg in segs if text in sg.text or sg.text.strip() == "line"))
                return out
            assert struck("line 3 CHANGED") == [False]
            assert True in struck("line 3")
            await pilot.press("s")                            # side by side
            await settle(pilot, 1)
            assert view.split
            rows = [i for i, r in enumerate(view.rows) if r[0] == 2 and r[2] is not None and r[2].text == "line 3"
                    and r[2].kind == "-"]
            assert rows and id(view.rows[rows[0]][2]) in view._off_ids
            assert id(view.rows[rows[0]][3]) not in view._off_ids
    run(body())
