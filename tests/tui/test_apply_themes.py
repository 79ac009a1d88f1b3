"""Every screen of the apply flow, history, family and editor renders in each wopt theme
(their stylesheets use theme variables only), and their binding ids are unique and namespaced."""
from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from textual.app import App

from wopt.tui.screens.apply import ApplyFlowScreen
from wopt.tui.screens.editor import EditorScreen
from wopt.tui.screens.family import FamilyScreen
from wopt.tui.screens.history import HistoryScreen
from wopt.tui.themes import load_themes

SCREENS_DIR = Path(__file__).resolve().parents[2] / "tui" / "screens"
THEMES = [t.name for t in load_themes()[0]]


def _sibling(module: str, *names: str):
    """Fixtures-as-functions from a sibling test module, loaded by path (works whether or not
    tests/ is a package)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(f"_wopt_e_{module}", Path(__file__).with_name(module + ".py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return tuple(getattr(mod, n) for n in names)


def test_three_wopt_themes_exist():
    assert {"wopt-dark", "wopt-light", "wopt-high-contrast"} <= set(THEMES)


@pytest.mark.parametrize("theme", ["wopt-dark", "wopt-light", "wopt-high-contrast"])
def test_screens_render_in_theme(theme, tmp_path):
    make_workspace, fake_clock = _sibling("test_apply_flow", "make_workspace", "fake_clock")
    (family_model,) = _sibling("test_family_screen", "family_model")
    (fixed_history,) = _sibling("test_history_screen", "fixed_history")

    ws, plan, review = make_workspace(tmp_path / "a")
    (tmp_path / "f").mkdir()
    model, fam = family_model(tmp_path / "f")
    (tmp_path / "h").mkdir()
    hws = fixed_history(tmp_path / "h")
    screens = [lambda: ApplyFlowScreen(ws, plan, review, clock=fake_clock()),
               lambda: HistoryScreen(hws), lambda: FamilyScreen(model, fam.id),
               lambda: EditorScreen("src/a.py", "x = 1\n", None)]

    class Host(App):
        def on_mount(self) -> None:
            for t in load_themes()[0]:
                self.register_theme(t)
            self.theme = theme

    async def go():
        app = Host()
        async with app.run_test(size=(120, 36)) as pilot:
            for make in screens:
                await app.push_screen(make())
                for _ in range(2):
                    await app.workers.wait_for_complete()
                    await pilot.pause()
                svg = app.export_screenshot()
                assert "Traceback" not in svg
                app.pop_screen()
                await pilot.pause()
    asyncio.run(go())


def test_no_raw_colours_in_stylesheets():
    """Colours come from the theme (so every theme, and 16-colour terminals, stay readable)."""
    for name in ("apply.tcss", "apply.py", "history.py", "family.py", "editor.py"):
        text = (SCREENS_DIR / name).read_text()
        css = text if name.endswith(".tcss") else "".join(re.findall(r'DEFAULT_CSS = """(.*?)"""', text, re.S))
        assert not re.search(r"#[0-9a-fA-F]{3,8}\b|\brgb\(|\b(red|green|blue|yellow|white|black)\b", css), name


def test_binding_ids_are_unique_and_namespaced():
    ids = []
    for cls, prefix in ((ApplyFlowScreen, "apply."), (HistoryScreen, "history."),
                        (FamilyScreen, "family."), (EditorScreen, "editor.")):
        for b in cls.BINDINGS:
            assert b.id and b.id.startswith(prefix), (cls.__name__, b)
            ids.append(b.id)
    assert len(ids) == len(set(ids))
