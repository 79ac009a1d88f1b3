"""keymap.KEYS is the one table of actions: the palette offers every entry with a palette name
on the screen of its scope, the help screen lists every binding, and the ids a user may remap
include the bindings every pushed screen declares, found without a list of screens."""
from __future__ import annotations

import asyncio

from core_helpers import SIZE, demo_ws, make_app, open_review, settle
from wopt.tui import keymap
from wopt.tui.commands import WoptCommands
from wopt.tui.screens.help import help_text


def _palette(app) -> dict[str, str]:
    return {n: h for n, _, h in WoptCommands(app.screen)._commands()}


def test_palette_and_help_are_built_from_keys(tmp_path, monkeypatch):
    extra = keymap.Key("review.test_only", "", "approve", "Test only", "review", group="Decide",
                       palette="step: test only", palette_help="added by a test")
    monkeypatch.setattr(keymap, "KEYS", [*keymap.KEYS, extra])
    ws = demo_ws(tmp_path)

    async def body():
        app = make_app(ws)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            queue = _palette(app)
            for k in keymap.KEYS:
                if k.palette and k.scope in ("app", "queue"):
                    assert queue[k.palette] == k.palette_help
            assert not any(n.startswith(("step:", "plan:", "view:")) for n in queue)
            await open_review(pilot, "demo-payments")
            review = _palette(app)
            for k in keymap.KEYS:
                if k.palette and k.scope in ("app", "review"):
                    assert review[k.palette] == k.palette_help
            assert review["step: test only"] == "added by a test"
            assert "queue: refresh" not in review

    asyncio.run(body())


def test_help_lists_every_binding_and_its_id():
    from rich.console import Console
    console = Console(width=200, record=True)
    console.print(help_text({}))
    text = console.export_text()
    for k in keymap.KEYS:
        if k.keys:
            assert k.id in text and k.description in text


def test_pushed_screens_bindings_are_found_without_a_list():
    ids = keymap.screen_ids()
    assert {"apply.confirm", "history.undo", "family.approve", "editor.save"} <= ids
    good, problems = keymap.check_user_keys({"history.undo": "U", "review.reject_all": "Z"})
    assert good == {"history.undo": "U"} and len(problems) == 1
