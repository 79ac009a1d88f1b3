"""$EDITOR from the real app in a real terminal (tmux): `E` suspends wopt-tui, the editor
owns the terminal (its output is on the pane, the keys typed go to it), and when it exits the
app is back and the review holds the edited content. Skipped only when tmux is not installed.

Every key waits for the screen to show what the key before it did (see tests/tmux_pane.py)."""
from __future__ import annotations

import sys

import pytest

from tmux_pane import START_TIMEOUT, WOPT_TUI, needs_tmux, tmux_server
from wopt.engine.store import spool
from wopt.engine.store.demo import make_demo
from wopt.engine.store.workspace import Workspace

pytestmark = needs_tmux


@pytest.fixture
def server(tmp_path):
    yield from tmux_server(tmp_path)


def test_capital_e_hands_the_terminal_to_the_editor_and_comes_back(tmp_path, server):
    root = make_demo(tmp_path / "demo")
    editor = tmp_path / "editor.py"
    # the editor shows which file it has, then appends the line typed on the terminal: it exits
    # when the test has seen it own the screen and typed to it, not after a guessed time
    editor.write_text(
        f"#!{sys.executable}\nimport sys\np = sys.argv[-1]\n"
        "print('EDITOR RUNNING ON', p.rsplit('/', 1)[-1], flush=True)\n"
        "line = sys.stdin.readline()\n"
        "open(p, 'a').write(line.strip() + '\\n')\n")
    editor.chmod(0o755)
    env = (f"HOME={tmp_path} XDG_CONFIG_HOME={tmp_path}/config TERM=xterm-256color "
           f"EDITOR={editor}")
    cmd = f"cd {root} && env -u COLUMNS -u LINES -u VISUAL {env} {WOPT_TUI} --theme wopt-dark"
    p = server.start(cmd, 120, 36)
    p.wait_for("Add payment providers", START_TIMEOUT)
    p.press("Enter")
    p.wait_for("13 pending")
    p.wait_focused_row("pyproject")
    p.press("/")
    p.wait_unfocused_row("pyproject")       # the filter box has the focus
    p.type("docs/")
    p.wait_for("docs/ (1 step")
    p.press("Enter")
    p.wait_focused_row("payments.")         # the list again, on the docs step
    p.press("E")
    screen = p.wait_for("EDITOR RUNNING ON payments.md")
    assert "13 pending" not in screen            # the app gave the terminal away
    p.type("Edited in the terminal.")
    p.wait_for("Edited in the terminal.")        # echoed by the terminal the editor owns
    p.press("Enter")
    p.wait_for("13 pending")                     # and took it back
    ws = Workspace(root)
    p.wait_until(lambda: spool.load_review(ws, "demo-payments").edited.get("docs-payments") is not None,
                 "the review never held the edited content")
    edited = spool.load_review(ws, "demo-payments").edited.get("docs-payments")
    assert edited is not None and edited.endswith("Edited in the terminal.\n")
    assert edited.startswith("# Payments\n")
