"""The user's config (keys and theme) and the themes: remapped keys act, an unknown theme
falls back with a notification, a broken config file is named and does not stop the app."""
from __future__ import annotations

import asyncio

import pytest
from core_helpers import SIZE, demo_ws, make_app, open_review, review_on_disk
from wopt.engine.store.config import builtin_themes, load_config, user_themes
from wopt.engine.model.errors import WoptError
from wopt.tui import keymap
from wopt.tui.themes import DEFAULT_THEME


def run(coro):
    return asyncio.run(coro)


def test_config_reads_theme_and_keys(tmp_path):
    cfg_dir = tmp_path / "wopt"
    cfg_dir.mkdir()
    (cfg_dir / "config.toml").write_text(
        'theme = "wopt-light"\nsurprise = 1\n[keys]\n"review.approve" = "y"\n'
        '"review.reject" = ["x", "delete"]\n"review.undo" = 5\n')
    cfg = load_config(env={"XDG_CONFIG_HOME": str(tmp_path)})
    assert cfg.theme == "wopt-light"
    assert cfg.keys == {"review.approve": "y", "review.reject": "x,delete"}
    assert any("keys.review.undo" in p for p in cfg.problems)
    assert any("surprise" in p for p in cfg.problems)


def test_missing_config_is_empty_and_broken_config_names_the_file(tmp_path):
    assert load_config(env={"XDG_CONFIG_HOME": str(tmp_path)}).keys == {}
    (tmp_path / "wopt").mkdir()
    (tmp_path / "wopt" / "config.toml").write_text("theme = \n")
    with pytest.raises(WoptError) as e:
        load_config(env={"XDG_CONFIG_HOME": str(tmp_path)})
    assert "config.toml" in str(e.value) and "TOML" in str(e.value)


def test_builtin_and_user_themes(tmp_path):
    names = {t.name for t in builtin_themes()}
    assert {"wopt-dark", "wopt-light", "wopt-high-contrast"} <= names
    hc = next(t for t in builtin_themes() if t.name == "wopt-high-contrast")
    # colour-blind safe: additions and removals are blue and orange, not green and red
    assert hc.colors["success"] == "#3b9ede" and hc.colors["error"] == "#e69f00"
    d = tmp_path / "wopt" / "themes"
    d.mkdir(parents=True)
    (d / "mine.toml").write_text('name = "mine"\nprimary = "#ff00ff"\n')
    (d / "bad.toml").write_text('primary = "#ff00ff"\n')
    got, problems = user_themes(env={"XDG_CONFIG_HOME": str(tmp_path)})
    assert [t.name for t in got] == ["mine"]
    assert len(problems) == 1 and "bad.toml" in problems[0] and "needs a name" in problems[0]


def test_every_binding_has_a_unique_id():
    ids = [k.id for k in keymap.KEYS]
    assert len(ids) == len(set(ids))
    assert all("." in i for i in ids)
    good, problems = keymap.check_user_keys({"review.approve": "y", "nope.nothing": "z"})
    assert good == {"review.approve": "y"} and "nope.nothing" in problems[0]


def test_remapped_key_acts_and_the_old_one_does_not(tmp_path):
    ws = demo_ws(tmp_path)

    async def body():
        app = make_app(ws, user_keys={"review.approve": "y"})
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_review(pilot, "demo-payments")
            sid = screen.current
            await pilot.press("a")
            assert review_on_disk(ws, "demo-payments").decision(sid) == "pending"
            await pilot.press("y")
            assert review_on_disk(ws, "demo-payments").decision(sid) == "approved"

    run(body())


@pytest.mark.parametrize("name,expected", [("wopt-light", "wopt-light"), ("high-contrast", "wopt-high-contrast"),
                                           ("no-such-theme", DEFAULT_THEME)])
def test_theme_choice_and_fallback(tmp_path, name, expected):
    ws = demo_ws(tmp_path)

    async def body():
        app = make_app(ws, theme=name)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            assert app.theme == expected
            warned = [n.message for n in app._notifications if "unknown theme" in n.message]
            assert bool(warned) == (name == "no-such-theme")
            if warned:
                assert "wopt-light" in warned[0]

    run(body())
