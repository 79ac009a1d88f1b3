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
            from wopt.engine import spool
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
