"""The diff pane's tools in the real review app: search (`/`, `n`/`N`, a count, esc), the
whitespace, context and wrap toggles (a view only: the bytes applied stay the plan's), the gutter
that stays put when the code scrolls sideways, with a `›` on cut lines, in both layouts."""
from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from pathlib import Path
from typing import AsyncIterator

import pytest

from core_helpers import make_app, open_review, review_on_disk, settle
from wopt.engine.store.ingest import ingest
from wopt.engine.model.plan import Plan, WriteStep
from wopt.engine.store.workspace import Workspace
from wopt.tui.screens.apply import ApplyFlowScreen
from wopt.tui.widgets.diff_view import DiffView
from wopt.tui.widgets.step_list import StepList

LONG = "x = '" + "".join(f"{i:03d}" for i in range(100)) + "'"     # 306 characters


def app_lines(n: int = 200) -> list[str]:
    return [f"value_{i} = {i}\n" for i in range(1, n + 1)]


def tools_ws(root: Path) -> tuple[Workspace, bytes, bytes]:
    """app.txt: a real change at line 5, a whitespace-only change at line 100 (indent and a
    trailing space), a long line changed at 180; search.txt: a new file, 'needle' 17 times."""
    root.mkdir(parents=True, exist_ok=True)
    before = app_lines()
    after = list(before)
    after[4] = "value_5 = 'five'\n"
    after[99] = "    value_100 = 100 \n"
    after[179] = LONG + "\n"
    b, a = "".join(before).encode(), "".join(after).encode()
    (root / "app.txt").write_bytes(b)
    search = "".join(f"row {i} needle {i}\n" if i % 3 == 0 else f"row {i}\n" for i in range(1, 53))
    ws = Workspace(root)
    plan = Plan(id="tools", title="Diff tools", steps=[
        WriteStep(id="app", path="app.txt", content=a.decode()),
        WriteStep(id="search", path="search.txt", content=search),
    ], created="2026-11-25T09:00:00Z")
    ingest(ws, plan)
    return ws, b, a


@pytest.fixture
def ws(tmp_path) -> Workspace:
    return tools_ws(tmp_path / "ws")[0]


def screen_lines(app) -> list[str]:
    return ["".join(seg.text for seg in strip) for strip in app.screen._compositor.render_strips()]


def pane_lines(v: DiffView) -> list[str]:
    return [v.render_line(y).text for y in range(v.scrollable_content_region.height)]


async def show(pilot, screen, sid: str) -> DiffView:
    screen.query_one(StepList).select(sid)
    await settle(pilot)
    v = screen.query_one(DiffView)
    v.focus()
    await pilot.pause()
    return v


@asynccontextmanager
async def in_review(ws: Workspace, size: tuple[int, int], plan: str = "tools",
                    keymap: dict[str, str] | None = None) -> AsyncIterator[tuple]:
    """The app at `size` (with `keymap` on top of the default keys) on the review of `plan`:
    (app, pilot, review screen)."""
    app = make_app(ws)
    async with app.run_test(size=size) as pilot:
        if keymap:
            app.update_keymap(keymap)
        yield app, pilot, await open_review(pilot, plan)


@asynccontextmanager
async def on_step(ws: Workspace, size: tuple[int, int], step: str, plan: str = "tools",
                  keymap: dict[str, str] | None = None) -> AsyncIterator[tuple]:
    """As in_review, with the diff pane on `step` and focused: (app, pilot, screen, pane)."""
    async with in_review(ws, size, plan, keymap) as (app, pilot, screen):
        yield app, pilot, screen, await show(pilot, screen, step)


def run(coro):
    return asyncio.run(coro)


def test_search_counts_highlights_and_scrolls_to_each_match(ws):
    async def body():
        async with in_review(ws, (120, 24)) as (app, pilot, screen):
            # in the step list, / is still the step filter
            screen.query_one(StepList).focus()
            await pilot.press("slash")
            assert app.focused is not None and app.focused.id == "filter"
            await pilot.press("escape")
            v = await show(pilot, screen, "search")
            await pilot.press("slash", *"needle")
            text = "\n".join(screen_lines(app))
            assert "/needle" in text and "1/17" in text
            # the current match is on screen, drawn in the current-match style
            cur = v._get_styles()["match-current"]
            drawn = [v.render_line(y) for y in range(v.scrollable_content_region.height)]
            hits = [s for strip in drawn for s in strip if s.style is not None and s.style.bgcolor == cur.bgcolor]
            assert [s.text for s in hits] == ["needle"]
            await pilot.press("enter")
            for _ in range(2):
                await pilot.press("n")
            assert "3/17" in "\n".join(screen_lines(app))
            # the last match (row 51) is brought into view
            await pilot.press("N", "N", "N", "N")      # 3 -> 2 -> 1 -> wraps to 17 -> 16
            assert "16/17" in "\n".join(screen_lines(app))
            await pilot.press("n")
            assert "17/17" in "\n".join(screen_lines(app))
            assert any("row 51 needle 51" in t for t in pane_lines(v))
            assert v.scroll_y > 0
            # esc clears: no count, and n is "next change" again
            await pilot.press("escape")
            assert v.search_query is None
            assert not any("/17" in t for t in screen_lines(app))
            v.scroll_to(y=0, animate=False)
            await pilot.pause()
            assert v.change == -1
            await pilot.press("n")
            assert v.change == 0 and screen.current == "search"

    run(body())


def test_search_in_split_view_and_smart_case(ws):
    async def body():
        async with on_step(ws, (140, 30), "app") as (app, pilot, screen, v):
            await pilot.press("s")
            await pilot.pause()
            assert v.split
            await pilot.press("slash", *"VALUE_5 ")
            assert "no match" in "\n".join(screen_lines(app))      # a capital: exact case
            for _ in range(len("VALUE_5 ")):
                await pilot.press("backspace")
            await pilot.press(*"value_5 ", "enter")
            # "value_5 " is on both sides of the changed row: two matches on one split row
            assert "1/2" in "\n".join(screen_lines(app))
            row = next(t for t in pane_lines(v) if "'five'" in t)
            left, right = row.split("│")
            assert "value_5 = 5" in left and "value_5 = 'five'" in right

    run(body())


def test_ignore_whitespace_is_a_view_only_and_the_bytes_written_stay_the_plans(tmp_path):
    ws, before, after = tools_ws(tmp_path / "ws")

    async def body():
        async with on_step(ws, (120, 30), "app") as (app, pilot, screen, v):
            assert len(screen.model.diff("app").hunks) == 3
            await pilot.press("i")
            text = "\n".join(screen_lines(app))
            assert "whitespace ignored" in text and "(view only: writes as planned)" in text
            heads = [r[1] for r in v.rows if r[0] == 0]
            assert heads == ["@@ -2,7 +2,7 @@", "@@ -177,7 +177,7 @@"]   # line 100's hunk is gone
            assert not any(r[0] == 1 and r[2].kind != " " and r[2].new_no == 100 for r in v.rows)
            # the hunks toggled are the step's: the long line's hunk is hunk 3 (index 2)
            await pilot.press("n", "n")                           # the second change on screen
            assert v.change == 1 and v.current_hunk() == 2
            await pilot.press("space")
            await settle(pilot)
            assert review_on_disk(ws, "tools").hunks["app"] == [0, 1]
            assert "hunk turned off" in "\n".join(pane_lines(v))
            await pilot.press("space")                         # back on: every hunk
            await settle(pilot)
            assert "app" not in review_on_disk(ws, "tools").hunks
            await pilot.press("ctrl+a", "x")
            await settle(pilot)
            flow = app.screen
            assert isinstance(flow, ApplyFlowScreen)
            await pilot.press("enter")
            await settle(pilot)
            assert flow.result.outcome == "committed"
            # the whitespace change the view hid is written, byte for byte
            assert (ws.root / "app.txt").read_bytes() == after
            assert b"    value_100 = 100 \n" in after

    run(body())


def test_context_cycles_3_10_whole_file_0_and_hunks_still_toggle(tmp_path):
    ws, before, after = tools_ws(tmp_path / "ws")

    async def body():
        async with on_step(ws, (120, 30), "app") as (app, pilot, screen, v):

            def heads():
                return [r[1] for r in v.rows if r[0] == 0]

            assert heads() == ["@@ -2,7 +2,7 @@", "@@ -97,7 +97,7 @@", "@@ -177,7 +177,7 @@"]
            assert "context" not in "\n".join(screen_lines(app)[:3])
            await pilot.press("}")
            assert heads() == ["@@ -1,15 +1,15 @@", "@@ -90,21 +90,21 @@", "@@ -170,21 +170,21 @@"]
            assert any("context 10" in t for t in screen_lines(app))
            await pilot.press("}")
            assert heads() == ["@@ -1,200 +1,200 @@"] and len(v.rows) == 1 + 203
            assert any("whole file" in t for t in screen_lines(app))
            # in the whole file, the hunk under the screen is still the step's own
            v.scroll_to(y=95, animate=False)
            await pilot.pause()
            assert v.current_hunk() == 1
            await pilot.press("space")
            await settle(pilot)
            assert review_on_disk(ws, "tools").hunks["app"] == [0, 2]
            # the lines of the hunk turned off are struck out, the others not
            y = next(y for y in range(v.scrollable_content_region.height)
                     if v.render_line(y).text.startswith("100     - "))
            assert any(seg.style and seg.style.strike for seg in v.render_line(y))
            y5 = v._visual(next(i for i, r in enumerate(v.rows) if r[0] == 1 and r[2].kind == "-"))
            v.scroll_to(y=0, animate=False)
            await pilot.pause()
            assert "[1 of 3 hunks off" in pane_lines(v)[0]
            assert not any(seg.style and seg.style.strike for seg in v.render_line(y5))
            await pilot.press("}")
            assert heads() == ["@@ -5,1 +5,1 @@", "@@ -100,1 +100,1 @@", "@@ -180,1 +180,1 @@"]
            assert any("context 0" in t for t in screen_lines(app))
            await pilot.press("}")
            assert len(heads()) == 3 and heads()[0] == "@@ -2,7 +2,7 @@"
            assert not any("context" in t for t in screen_lines(app)[:3])
            await pilot.press("{")
            assert heads() == ["@@ -5,1 +5,1 @@", "@@ -100,1 +100,1 @@", "@@ -180,1 +180,1 @@"]

    run(body())


def test_the_gutter_stays_put_when_the_code_scrolls_sideways(ws):
    async def body():
        async with on_step(ws, (120, 30), "app") as (app, pilot, screen, v):
            v.scroll_to(y=len(v.rows) - 8, animate=False)
            await pilot.pause()

            def long_row():
                return next(t for t in pane_lines(v) if " + " in t and "x = '" in t or "+ 00" in t)

            row = long_row()
            assert row.startswith("    180 + x = '000001")           # numbers, mark, code
            assert row.rstrip().endswith("›")                       # cut at the right edge
            width = v.scrollable_content_region.width
            assert len(row) == width
            for _ in range(20):
                await pilot.press("right")
            await pilot.pause()
            x = int(v.scroll_x)
            assert x >= 20
            row = next(t for t in pane_lines(v) if t.startswith("    180 + "))
            code = row[len("    180 + "):]
            assert code.startswith(LONG[x:x + 10])                  # the code moved, not the gutter
            assert row.rstrip().endswith("›")
            ctx = next(t for t in pane_lines(v) if t.startswith("177 177   "))
            assert ctx.startswith("177 177   ")                     # context keeps its numbers too
            # at the far right the line's end is there, and no marker
            v.scroll_to(x=v.max_scroll_x, animate=False)
            await pilot.pause()
            row = next(t for t in pane_lines(v) if t.startswith("    180 + "))
            assert "097098099'" in row and "›" not in row
            # split view: both halves keep their gutters and scroll sideways together
            await pilot.press("s")
            await pilot.pause()
            assert v.split and v.max_scroll_x > 0
            v.scroll_to(x=30, animate=False)
            await pilot.pause()
            row = next(t for t in pane_lines(v) if "│" in t and t.split("│")[1].startswith("180 + "))
            left, right = row.split("│")
            assert left.startswith("180 - value_180 = 180"[:6])
            assert right[len("180 + "):].startswith(LONG[30:40])
            assert right.rstrip().endswith("›")

    run(body())


def test_wrap_shows_a_long_line_whole_on_several_rows(ws):
    async def body():
        async with on_step(ws, (100, 40), "app") as (app, pilot, screen, v):
            await pilot.press("W")
            await pilot.pause()
            assert any("wrapped" in t for t in screen_lines(app))
            v.scroll_to(y=v.max_scroll_y, animate=False)
            await pilot.pause()
            lines = pane_lines(v)
            first = next(i for i, t in enumerate(lines) if t.startswith("    180 + "))
            gw = len("    180 + ")
            parts = [lines[first][gw:]]
            for t in lines[first + 1:]:
                if not t.lstrip().startswith("↪"):
                    break
                parts.append(t[gw:])
            assert len(parts) >= 3
            assert "".join(p.rstrip() for p in parts) == LONG
            assert not any("›" in t for t in lines)
            assert v.max_scroll_x == 0
            # split view wraps each half
            await pilot.press("s")
            await pilot.pause()
            v.scroll_to(y=v.max_scroll_y, animate=False)
            await pilot.pause()
            rows = [t.split("│")[1] for t in pane_lines(v) if "│" in t]
            i = next(k for k, t in enumerate(rows) if t.startswith("180 + "))
            assert rows[i + 1].lstrip().startswith("↪")
            await pilot.press("W")
            await pilot.pause()
            assert not any("wrapped" in t for t in screen_lines(app))

    run(body())


def test_the_palette_runs_the_diff_commands_and_help_lists_their_keys(ws):
    async def body():
        async with on_step(ws, (120, 30), "app") as (app, pilot, screen, v):
            screen.query_one(StepList).focus()
            await pilot.press("ctrl+p")
            await settle(pilot, 1)
            await pilot.press(*"diff: ignore whitespace")
            await pilot.pause(0.5)
            await settle(pilot, 1)
            await pilot.press("enter")
            await settle(pilot)
            assert v.options.ignore_ws
            assert any("whitespace ignored" in t for t in screen_lines(app))
            from wopt.tui.commands import WoptCommands
            names = [n for n, _, _ in WoptCommands(app.screen)._commands()]
            assert {"diff: search", "diff: wrap long lines on/off", "diff: more context",
                    "diff: less context"} <= set(names)
            await pilot.press("question_mark")
            await settle(pilot, 1)
            from wopt.tui.screens.help import help_text
            from rich.console import Console
            c = Console(width=100, record=True)
            c.print(help_text({}))
            out = c.export_text()
            for key, what, bid in [("/", "Search in the diff", "diff.search"), ("i", "Ignore whitespace", "diff.whitespace"),
                                   ("W", "Wrap long lines", "diff.wrap"), ("}", "More context", "diff.context_more"),
                                   ("{", "Less context", "diff.context_less"), ("n", "Next match", "diff.next_match")]:
                assert any(line.split()[:1] == [key] and what in line and bid in line for line in out.splitlines()), key

    run(body())


def test_remapped_diff_keys_work(ws):
    async def body():
        async with on_step(ws, (120, 30), "app", keymap={"diff.whitespace": "ctrl+w", "diff.search": "f"}) as (app, pilot, screen, v):
            await pilot.press("ctrl+w")
            assert v.options.ignore_ws
            await pilot.press("f", *"value_5 ")
            assert v.search_query == "value_5 " and len(v._m_start) == 2

    run(body())


def test_keys_typed_at_once_after_slash_are_the_query_not_commands(tmp_path):
    """A paste, tmux send-keys or a fast typist: the keys arrive before the `/` is handled;
    `r` must not reject the step, `a` not approve it."""
    from textual import events
    ws, _, _ = tools_ws(tmp_path / "ws")

    async def body():
        async with on_step(ws, (120, 30), "search") as (app, pilot, screen, v):
            for key, ch in [("slash", "/"), ("r", "r"), ("a", "a"), ("w", "w"), ("space", " "), ("1", "1")]:
                app.post_message(events.Key(key, ch))
            await settle(pilot)
            assert v.search_query == "raw 1"
            assert screen.review.decision("search") == "pending"
            assert app.screen is screen

    run(body())


def test_a_large_file_gets_its_view_options_in_a_thread(tmp_path):
    """Past 64 KiB the view is re-made in a worker; meanwhile the pane says so, and a toggle
    pressed before it is ready still ends on the view asked for last."""
    root = tmp_path / "ws"
    root.mkdir()
    before = "".join(f"value_{i} = {i}\n" for i in range(1, 8001))
    lines = before.splitlines(keepends=True)
    lines[9] = "    value_10 = 10\n"            # whitespace alone
    lines[7000] = "value_7001 = 'changed'\n"
    (root / "big.txt").write_text(before)
    ws = Workspace(root)
    ingest(ws, Plan(id="big", title="Big", steps=[WriteStep(id="big", path="big.txt", content="".join(lines))],
                    created="2026-11-25T09:00:00Z"))
    assert len(before) > 64 * 1024

    async def body():
        async with on_step(ws, (120, 30), "big", "big") as (app, pilot, screen, v):
            assert [r[1] for r in v.rows if r[0] == 0] == ["@@ -7,7 +7,7 @@", "@@ -6998,7 +6998,7 @@"]
            await pilot.press("i", "}")
            await settle(pilot)
            assert [r[1] for r in v.rows if r[0] == 0] == ["@@ -6991,21 +6991,21 @@"]
            assert any("context 10 · whitespace ignored" in t for t in screen_lines(app))
            # the next step shown (here: the same one again) is made with the options too
            screen._show_step("big", force=True)
            await settle(pilot)
            assert [r[1] for r in v.rows if r[0] == 0] == ["@@ -6991,21 +6991,21 @@"]

    run(body())
