"""EditorScreen (built-in editor) and edit_external ($EDITOR with the app suspended), driven
in a small host app the way the review app pushes them."""
from __future__ import annotations

import asyncio
import functools
import stat
import sys

from textual.app import App


from wopt.tui.screens.editor import CodeArea, EditorScreen, edit_external, find_lexer, line_highlights


def run(coro_fn):
    """Run an async pilot test with asyncio (no async pytest plugin needed)."""
    @functools.wraps(coro_fn)
    def wrapper(*a, **kw):
        return asyncio.run(coro_fn(*a, **kw))
    return wrapper


PY = "import os\n\n\ndef total(items):\n    # sum the prices\n    return sum(i.price for i in items)  # café\n"


class Host(App):
    """Pushes one EditorScreen on mount and keeps what it dismisses with."""

    def __init__(self, path="src/shop/cart.py", text=PY, language=None):
        super().__init__()
        self.args = (path, text, language)
        self.results: list = []

    def on_mount(self) -> None:
        self.theme = "textual-dark"
        self.push_screen(EditorScreen(*self.args), self.results.append)


@run
async def test_typing_then_ctrl_s_returns_the_new_text():
    app = Host()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, EditorScreen)
        area = app.screen.query_one(CodeArea)
        area.move_cursor(area.document.end)
        await pilot.press(*"x = 1", "enter")
        await pilot.press("ctrl+s")
        await pilot.pause()
    assert app.results == [PY + "x = 1\n"]


@run
async def test_escape_without_changes_returns_none():
    app = Host()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, EditorScreen)
    assert app.results == [None]


@run
async def test_escape_with_changes_asks_once_then_discards():
    app = Host()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("z")
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, EditorScreen), "one escape must not lose an edit"
        assert "modified" in str(app.screen.query_one("#editor-state").render())
        await pilot.press("escape")
        await pilot.pause()
    assert app.results == [None]


@run
async def test_python_is_highlighted_and_line_endings_are_kept():
    text = "a = 'x'\r\nb = 2\r\n"
    app = Host(path="m.py", text=text)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        area = app.screen.query_one(CodeArea)
        assert area.lexer_name == "Python"
        names = {n for _s, _e, n in area._highlights[0]}
        assert "string" in names
        assert area.theme == "wopt-syntax"
        await pilot.press("ctrl+s")
        await pilot.pause()
    assert app.results == [text]


def test_highlight_ranges_are_utf8_byte_offsets():
    lines = ["s = 'é'  # ü"]
    hl = line_highlights(lines, find_lexer("x.py"))[0]
    comment = [r for r in hl if r[2] == "comment"][0]
    assert comment[0] == len("s = 'é'  ".encode()) and comment[1] == len(lines[0].encode())


@run
async def test_edit_external_runs_editor_and_returns_its_text(tmp_path, monkeypatch):
    script = tmp_path / "ed"
    script.write_text(f"#!{sys.executable}\nimport sys\np = sys.argv[-1]\n"
                      "d = open(p).read()\nopen(p, 'w').write(d.replace('sum the prices', 'add up'))\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setenv("EDITOR", str(script))

    class Plain(App):
        pass

    app = Plain()
    async with app.run_test() as pilot:
        out = edit_external(app, "src/shop/cart.py", PY)
        assert out == PY.replace("sum the prices", "add up")
        monkeypatch.setenv("EDITOR", str(tmp_path / "missing-editor"))
        assert edit_external(app, "src/shop/cart.py", PY) is None
        await pilot.pause()
        assert any("missing-editor" in str(n.message) for n in app._notifications)


def test_snapshot_editor(snap_compare):
    assert snap_compare(Host(), terminal_size=(120, 36))


def test_snapshot_editor_modified(snap_compare):
    assert snap_compare(Host(), press=["down", "down", "down", "end", "enter", *"    pass"],
                        terminal_size=(120, 36))


@run
async def test_large_text_is_highlighted_off_the_keystroke_path():
    import threading
    from unittest import mock

    import wopt.tui.screens.editor as editor

    big = "".join(f"def f{i}(x):\n    return x + {i}  # n\n" for i in range(3000))   # ~100 KB
    app = Host(path="big.py", text=big)
    gate = threading.Event()      # closed: the highlighting thread waits (however fast it is)
    gate.set()
    lex = editor.line_highlights

    def held(lines, lexer):
        gate.wait(60)
        return lex(lines, lexer)

    with mock.patch.object(editor, "line_highlights", held):
        async with app.run_test(size=(100, 30)) as pilot:
            area = app.screen.query_one(CodeArea)
            for _ in range(200):                     # lexed in a thread once mounted (slow on a busy machine)
                await pilot.pause(0.05)
                await area.workers.wait_for_complete()
                if area._highlights.get(0):
                    break
            assert {n for *_r, n in area._highlights[0]} >= {"keyword", "function"}
            gen = area._highlight_gen
            gate.clear()
            await pilot.press(*"# ")                 # line 0 becomes a comment
            await pilot.pause(0.3)
            assert area._highlight_gen > gen
            # the keys were answered while the new colours are still being made: the old ones stay
            assert {n for *_r, n in area._highlights[0]} >= {"keyword"}
            gate.set()
            for _ in range(200):
                await pilot.pause(0.05)
                await area.workers.wait_for_complete()
                if {n for *_r, n in area._highlights[0]} == {"comment"}:
                    break
            assert {n for *_r, n in area._highlights[0]} == {"comment"}
            assert {n for *_r, n in area._highlights[2]} >= {"keyword", "function"}
            await pilot.press("ctrl+s")
            await pilot.pause()
    assert app.results == ["# " + big]
