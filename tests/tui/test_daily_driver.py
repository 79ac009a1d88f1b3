"""The review app at 80x24 and its small sharp edges: a wrong --theme is a usage error, a
clashing remap is refused, the palette offers only wopt's themes, help and footers fit 80
columns, narrow terminals fold the details pane and split view, and keys typed into the apply
confirmation stay there."""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys

from core_helpers import SIZE, demo_ws, make_app, open_review, settle
from textual.command import CommandPalette
from textual.widgets import Footer

from wopt.tui import keymap
from wopt.tui.main import main as tui_main
from wopt.tui.widgets.details import Details
from wopt.tui.widgets.diff_view import DiffView
from wopt.tui.widgets.key_bar import KeyBar

SMALL = (80, 24)


def run(coro):
    return asyncio.run(coro)


def test_unknown_theme_is_a_usage_error(capsys):
    try:
        tui_main(["--theme", "nope"])
    except SystemExit as e:
        assert e.code == 2
    else:
        raise AssertionError("wopt-tui --theme nope started")
    err = capsys.readouterr().err
    assert "unknown theme 'nope'" in err and "wopt-dark" in err


def test_unknown_theme_exit_code_as_a_process(tmp_path):
    env = dict(os.environ, XDG_CONFIG_HOME=str(tmp_path))
    p = subprocess.run([sys.executable, "-m", "wopt.tui.main", "--theme", "nope"], env=env,
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 2, p.stderr
    assert "Traceback" not in p.stderr and "unknown theme" in p.stderr


def test_clashing_remap_is_refused_and_named():
    good, problems = keymap.check_user_keys({"review.reject": "j"})
    assert good == {}
    assert len(problems) == 1 and "review.down" in problems[0] and "'j'" in problems[0]
    # moving the other binding away first makes the key free
    good, problems = keymap.check_user_keys({"review.reject": "j", "review.down": "down"})
    assert good == {"review.reject": "j", "review.down": "down"} and problems == []
    # an app-wide key clashes with every screen
    good, problems = keymap.check_user_keys({"review.approve": "q"})
    assert good == {} and "app.quit" in problems[0]


def test_clashing_remap_keeps_the_default_in_the_app(tmp_path):
    ws = demo_ws(tmp_path)

    async def body():
        app = make_app(ws, user_keys={"review.reject": "j"})
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_review(pilot, "demo-payments")
            await pilot.press("j")
            await settle(pilot, 1)
            from wopt.engine.store import spool
            rv = spool.load_review(ws, "demo-payments")
            assert all(rv.decision(s.id) == "pending" for s in screen.plan.steps), \
                "j still moves down: it rejected a step"
    run(body())


def test_palette_theme_list_is_only_wopts_themes(tmp_path):
    ws = demo_ws(tmp_path)

    async def body():
        app = make_app(ws)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            app.search_themes()
            await pilot.pause(0.3)
            palette = app.screen
            assert isinstance(palette, CommandPalette)
            from wopt.tui.app import WoptThemes
            names = [name for name, _ in WoptThemes(palette).commands]
            assert names and all(n.startswith("wopt-") for n in names), names
            assert "textual-light" in app.available_themes   # still there for Textual itself
    run(body())


def test_screenshot_goes_to_the_current_directory(tmp_path, monkeypatch):
    ws = demo_ws(tmp_path)
    shots = tmp_path / "shots"
    shots.mkdir()
    monkeypatch.chdir(shots)
    monkeypatch.setenv("HOME", str(tmp_path / "nohome"))   # no ~/Downloads

    async def body():
        app = make_app(ws)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            cmd = next(c for c in app.get_system_commands(app.screen) if c.title == "Screenshot")
            cmd.callback()
            for _ in range(40):
                await pilot.pause(0.05)
                if list(shots.glob("*.svg")):
                    break
    run(body())
    assert [p.suffix for p in shots.iterdir()] == [".svg"]


def test_help_fits_80_columns(tmp_path):
    ws = demo_ws(tmp_path)

    async def body():
        app = make_app(ws)
        async with app.run_test(size=SMALL) as pilot:
            await settle(pilot)
            await pilot.press("question_mark")
            await pilot.pause(0.2)
            box = app.screen.query_one("#help-box")
            assert box.region.right <= SMALL[0] and box.region.x >= 0
            assert box.outer_size.width <= SMALL[0]
    run(body())


def test_footers_show_help_first_and_the_palette_key_once(tmp_path):
    ws = demo_ws(tmp_path)

    async def body():
        app = make_app(ws)
        async with app.run_test(size=SMALL) as pilot:
            screen = await open_review(pilot, "demo-payments")
            bar = str(screen.query_one(KeyBar).render())
            assert bar.startswith("? Help"), bar
            assert "ctrl+p" not in bar
            await pilot.press("h")
            await settle(pilot, 1)
            footer = app.screen.query_one(Footer)
            assert footer.show_command_palette is False
    run(body())
    assert keymap.display_key("ctrl+p") == "^p"


def test_narrow_terminal_folds_details_and_split(tmp_path):
    ws = demo_ws(tmp_path)

    async def body():
        app = make_app(ws)
        async with app.run_test(size=SMALL) as pilot:
            screen = await open_review(pilot, "demo-payments")
            details = screen.query_one(Details)
            view = screen.query_one(DiffView)
            assert not details.display, "the details pane is folded below 120 columns"
            await pilot.press("d")
            await pilot.pause()
            assert details.display, "d brings it back"
            await pilot.press("d")
            await pilot.pause()
            await pilot.press("s")
            await pilot.pause()
            assert view.split is False, "split view falls back to unified below 100 columns"
            await pilot.resize_terminal(140, 36)
            await pilot.pause(0.2)
            assert view.split is True, "and comes back once the terminal is wide enough"
            await pilot.press("s")
            await pilot.pause()
            assert details.display and view.split is False
    run(body())


def test_wide_terminal_keeps_the_details_pane(tmp_path):
    ws = demo_ws(tmp_path)

    async def body():
        app = make_app(ws)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_review(pilot, "demo-payments")
            assert screen.query_one(Details).display
    run(body())


def test_words_typed_into_the_apply_confirmation_stay_there(tmp_path):
    from wopt.tui.screens.apply import ApplyFlowScreen
    from wopt.tui.screens.history import HistoryScreen
    ws = demo_ws(tmp_path)
    before = {p: p.read_bytes() for p in ws.root.rglob("*") if p.is_file() and ".wopt" not in p.parts}

    async def body():
        app = make_app(ws)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_review(pilot, "demo-payments")
            await pilot.press("a")
            await settle(pilot, 1)
            await pilot.press("x")
            await settle(pilot, 2)
            assert isinstance(app.screen, ApplyFlowScreen)
            for ch in "Screenshot":
                await pilot.press(ch)
            await settle(pilot, 1)
            assert isinstance(app.screen, ApplyFlowScreen), "the typing closed the dialog"
            assert not any(isinstance(s, HistoryScreen) for s in app.screen_stack)
            assert screen.query_one(DiffView).split is False
            await pilot.press("escape")
            await settle(pilot, 1)
            assert app.screen is screen
    run(body())
    after = {p: p.read_bytes() for p in ws.root.rglob("*") if p.is_file() and ".wopt" not in p.parts}
    assert after == before


# ---------------------------------------------------------------- one size, one rate

def test_one_size_formatter_everywhere():
    from wopt.engine.cli.cmd_apply import _human_bytes
    from wopt.engine.model.sizes import format_size
    from wopt.tui.screens.apply import human_bytes
    from wopt.tui.screens.queue import _size as queue_size
    from wopt.engine.analysis.diffs import _size_words as diff_size
    assert format_size(903_000) == "881.8 KiB"
    for f in (_human_bytes, human_bytes, queue_size, diff_size):
        assert f(903_000) == "881.8 KiB", f
        assert f(512) == "512 B", f
        assert f(3 * 1024 * 1024) == "3.0 MiB", f


def test_live_panel_total_is_the_files_bytes_not_the_journals():
    from wopt.engine.model import events as ev
    from wopt.tui.screens.apply import ProgressState
    st = ProgressState(clock=lambda: 0.0)
    st.feed(ev.Event(ev.CHECK, 3, 3, 0, 903_000, tx="t"))
    st.feed(ev.Event(ev.JOURNAL, 0, 1, 0, 1_017_734, path=".wopt/journal", tx="t"))
    st.feed(ev.Event(ev.COMMIT, 1, 3, 300_000, 903_000, path="a.txt", tx="t"))
    assert st.bytes_total == 903_000


def test_history_with_one_transaction_draws_no_solid_blocks(tmp_path):
    from textual.widgets import Sparkline
    from wopt.engine.tx.apply import apply_plan
    from wopt.engine.store.ingest import ingest
    from wopt.engine.model.plan import Plan, WriteStep
    from wopt.engine.store.workspace import Workspace
    from wopt.tui.screens.history import HistoryScreen
    (tmp_path / "a.txt").write_bytes(b"1\n")
    ws = Workspace(tmp_path)
    plan = Plan(id="p", title="one", steps=[WriteStep(id="s1", path="a.txt", content="2\n")])
    ingest(ws, plan)
    apply_plan(ws, plan)

    async def body():
        app = make_app(ws)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            app.push_screen(HistoryScreen(ws))
            await settle(pilot)
            for wid in ("spark-seconds", "spark-rate", "spark-rollbacks"):
                spark = app.screen.query_one(f"#{wid}", Sparkline)
                assert not spark.display, f"{wid} draws one point as a full-width block"
            label = str(app.screen.query_one("#spark-rollbacks-label").render())
            assert "total 0" in label
    run(body())


def test_queue_age_ticks_while_nothing_else_changes(tmp_path):
    from datetime import timedelta
    from textual.widgets import DataTable
    from core_helpers import FIXED_NOW
    ws = demo_ws(tmp_path)
    now = [FIXED_NOW]

    async def body():
        app = make_app(ws, clock=lambda: now[0], poll_seconds=0.2)
        async with app.run_test(size=SIZE) as pilot:
            for _ in range(40):     # (no settle: the exclusive poll worker restarts on a timer)
                await pilot.pause(0.05)
                t = app.screen.query_one(DataTable)
                if t.row_count:
                    break
            before = str(t.get_row_at(0)[4])
            now[0] = FIXED_NOW + timedelta(days=3)
            for _ in range(40):
                await pilot.pause(0.05)
                if str(t.get_row_at(0)[4]) != before:
                    break
            assert str(t.get_row_at(0)[4]) != before, "the age column did not move on"
    run(body())


# ---------------------------------------------------------------- consequences as you decide

def test_moved_step_shows_its_new_place_in_details_and_wopt_show(tmp_path, capsys):
    from wopt.engine.cli.main import main as wopt_main
    from wopt.tui.widgets.step_list import StepList
    ws = demo_ws(tmp_path)

    async def body():
        app = make_app(ws)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_review(pilot, "demo-payments")
            order = screen._order()
            assert screen.query_one(StepList).select("provider-adyen")
            before = order.index("provider-adyen")
            await pilot.press("K")
            await settle(pilot, 1)
            new = screen._order()
            assert new.index("provider-adyen") == before - 1
            details = str(screen.query_one("#details-body").render())
            assert f"#{before} in commit order" in details, details
            return new
    new = run(body())
    capsys.readouterr()
    assert wopt_main(["--root", str(ws.root), "show", "demo-payments", "--json", "--no-diff"]) == 0
    import json
    shown = json.loads(capsys.readouterr().out)
    assert shown["order"] == new


def test_reject_with_a_reason_asks_about_dependents_too(tmp_path):
    from wopt.engine.store import spool
    from wopt.tui.screens.review import ConfirmScreen, ReasonScreen
    from wopt.tui.widgets.step_list import StepList
    ws = demo_ws(tmp_path)

    async def body():
        app = make_app(ws)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_review(pilot, "demo-payments")
            assert screen.query_one(StepList).select("provider-klarna")
            deps = screen.dependents("provider-klarna")
            assert "payments-init" in deps
            await pilot.press("ctrl+r")
            await settle(pilot, 1)
            assert isinstance(app.screen, ReasonScreen)
            for ch in "later":
                await pilot.press(ch)
            await pilot.press("enter")
            await settle(pilot, 1)
            assert isinstance(app.screen, ConfirmScreen), "ctrl+r skipped the dependents question"
            await pilot.press("y")
            await settle(pilot, 1)
            rv = spool.load_review(ws, "demo-payments")
            assert rv.decision("provider-klarna") == "rejected" and rv.reasons["provider-klarna"] == "later"
            assert rv.decision("payments-init") == "rejected"
            assert "klarna.py" in rv.reasons["payments-init"]
    run(body())


def test_approving_a_stale_step_warns(tmp_path):
    from wopt.tui.widgets.step_list import StepList
    ws = demo_ws(tmp_path)

    async def body():
        app = make_app(ws)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_review(pilot, "demo-payments")
            assert screen.model.steps["readme-usage"].stale
            assert screen.query_one(StepList).select("readme-usage")
            await pilot.press("a")
            await settle(pilot, 1)
            titles = [n.title for n in app._notifications]
            assert "Approved a stale step" in titles, titles
    run(body())


# ---------------------------------------------------------------- small sharp edges

def test_plan_bar_says_1_step(tmp_path):
    from wopt.engine.store.ingest import ingest
    from wopt.engine.model.plan import Plan, WriteStep
    from wopt.engine.store.workspace import Workspace
    ws = Workspace(tmp_path)
    ingest(ws, Plan(id="one", title="One", steps=[WriteStep(id="s1", path="a.txt", content="a\n")]))

    async def body():
        app = make_app(ws)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_review(pilot, "one")
            bar = str(screen.query_one("#plan-bar").render())
            assert "1 step:" in bar and "1 steps" not in bar, bar
    run(body())


def test_every_hunk_off_is_not_marked_as_some(tmp_path):
    from core_helpers import two_hunk_ws
    from wopt.tui.widgets.step_list import STATE_MARK, StepList
    ws, plan, _a, _b = two_hunk_ws(tmp_path)

    async def body():
        app = make_app(ws)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_review(pilot, plan.id)
            sid = plan.steps[0].id
            screen.review.hunks[sid] = []
            assert screen._row(sid).state == "nohunks"
            screen.review.hunks[sid] = [0]
            assert screen._row(sid).state == "partial"
    run(body())
    assert STATE_MARK["nohunks"] != STATE_MARK["partial"]


def test_cut_rows_end_in_an_ellipsis(tmp_path):
    from wopt.tui.widgets.step_list import StepList
    ws = demo_ws(tmp_path)

    async def body():
        app = make_app(ws)
        async with app.run_test(size=SMALL) as pilot:
            screen = await open_review(pilot, "demo-payments")
            sl = screen.query_one(StepList)
            lines = ["".join(seg.text for seg in sl.render_line(y)) for y in range(sl.size.height)]
            cut = [ln for ln in lines if ln.rstrip().endswith("…")]
            assert any("src/shop/payments/" in ln or ln.startswith("▾ src/shop/pay") for ln in cut), lines
    run(body())


def test_family_table_sorts_names_naturally_and_uses_the_width():
    from wopt.tui.screens.family import _cell, natural_key
    assert sorted(["m10.py", "m2.py", "m0.py"], key=natural_key) == ["m0.py", "m2.py", "m10.py"]
    long = "x" * 60
    assert _cell(long, 70) == long


def test_the_apply_result_lists_the_files_written(tmp_path):
    from wopt.tui.screens.apply import ApplyFlowScreen
    from wopt.tui.widgets.step_list import StepList
    ws = demo_ws(tmp_path)

    async def body():
        app = make_app(ws)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_review(pilot, "demo-payments")
            for sid in ("docs-payments", "payments-base"):
                assert screen.query_one(StepList).select(sid)
                await pilot.press("a")
                await settle(pilot, 1)
            await pilot.press("x")
            await settle(pilot, 2)
            assert isinstance(app.screen, ApplyFlowScreen)
            await pilot.press("enter")
            for _ in range(100):
                await settle(pilot, 1)
                if app.screen.stage == "result":
                    break
            detail = str(app.screen.query_one("#result-detail").render())
            assert "Files" in detail
            assert "docs/payments.md" in detail and "src/shop/payments/base.py" in detail
            pending = app.screen.result.pending_plan
            assert pending
            # closing the result leaves the applied plan: on to the steps it left pending
            await pilot.press("enter")
            await settle(pilot, 2)
            from wopt.tui.screens.review import ReviewScreen
            for _ in range(50):
                if isinstance(app.screen, ReviewScreen) and app.screen.plan.id == pending:
                    break
                await settle(pilot, 1)
            assert isinstance(app.screen, ReviewScreen) and app.screen.plan.id == pending
            assert len(app.screen.plan.steps) == 11
            from wopt.tui.screens.queue import scan
            assert [r.id for r in scan(ws)[0]] == [pending, "demo-session"]
    run(body())
    assert (ws.root / "docs/payments.md").exists()


async def _polled(pilot, app) -> bool:
    for _ in range(40):
        await pilot.pause(0.05)
        if "demo-session" not in [r.id for r in app.screen.rows]:
            return True
    return False


def test_a_whole_apply_returns_to_the_queue(tmp_path):
    from wopt.engine.store import spool
    from wopt.tui.screens.apply import ApplyFlowScreen
    from wopt.tui.screens.queue import QueueScreen
    ws = demo_ws(tmp_path)

    async def body():
        app = make_app(ws)
        async with app.run_test(size=SIZE) as pilot:
            await open_review(pilot, "demo-session")
            await pilot.press("ctrl+a")
            await settle(pilot, 1)
            await pilot.press("x")
            await settle(pilot, 2)
            assert isinstance(app.screen, ApplyFlowScreen)
            await pilot.press("enter")
            for _ in range(100):
                await settle(pilot, 1)
                if app.screen.stage == "result":
                    break
            assert app.screen.result.outcome == "committed"
            await pilot.press("enter")
            await settle(pilot, 2)
            assert isinstance(app.screen, QueueScreen)
            from wopt.tui.screens.queue import scan
            assert "demo-session" not in [r.id for r in scan(ws)[0]]
            assert "demo-session" not in [r.id for r in app.screen.rows] or await _polled(pilot, app)
            assert any(n.title == "Applied" for n in app._notifications)
    run(body())
