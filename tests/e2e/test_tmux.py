"""A person's path end to end under tmux: start `wopt-tui` on a workspace, type keys, read
the pane, then check the files on disk. Skipped only when tmux is not installed.

Every key waits for the screen to show what the key before it did (see tests/tmux_pane.py):
the tests hold on a loaded machine, where the app can take seconds per screen."""
from __future__ import annotations

import pytest

from tmux_pane import START_TIMEOUT, WOPT_TUI, Pane, needs_tmux, tmux_server
from wopt.engine.store import spool
from wopt.engine.store.demo import make_demo
from wopt.engine.store.workspace import Workspace

pytestmark = needs_tmux


@pytest.fixture
def server(tmp_path):
    yield from tmux_server(tmp_path)


@pytest.fixture(params=[(120, 36), (80, 24)], ids=["120x36", "80x24"])
def pane(tmp_path, server, request):
    cols, rows = request.param
    root = make_demo(tmp_path / "demo")
    env = f"HOME={tmp_path} XDG_CONFIG_HOME={tmp_path}/config TERM=xterm-256color COLORTERM=truecolor"
    cmd = f"cd {root} && env -u COLUMNS -u LINES {env} {WOPT_TUI} --theme wopt-dark"
    yield server.start(cmd, cols, rows), Workspace(root)


def filter_steps(p: Pane, text: str, was: str, row: str) -> None:
    """`/`, the filter text, enter: the step list shows the matching steps and has the focus
    again, its cursor on `row`. `was` is the row the list's cursor is on before."""
    p.wait_focused_row(was)
    p.press("/")
    p.wait_unfocused_row(was)               # the focus moved from the list to the filter box
    p.press("C-u")                          # what an earlier filter left in the box
    p.wait_for("filter: path")              # the empty box shows its placeholder
    p.type(text)
    p.wait_for(f"{text} (1 step")
    p.press("Enter")
    p.wait_focused_row(row)


def test_review_and_apply_from_the_keyboard(pane):
    p, ws = pane
    screen = p.wait_for("Add payment providers", START_TIMEOUT)
    assert "pending plans" in screen and "demo-payments" in screen
    p.press("Enter")
    p.wait_for("13 pending")
    # find the docs step with the filter, approve it, and the tests step too
    filter_steps(p, "docs/", "pyproject", "payments.")
    p.press("a")
    p.wait_for("1 approved")
    filter_steps(p, "tests/", "payments.", "test_paym")
    p.press("a")
    p.wait_for("2 approved")
    assert spool.load_review(ws, "demo-payments").decision("docs-payments") == "approved"
    # the help screen is one key away and goes away with escape
    p.press("?")
    p.wait_for("app.help")
    p.press("Escape")
    # the next key only once the help is gone (as a person would): a key sent while the
    # help is still being drawn can be taken by it, or read with the escape as alt+key
    p.wait_gone("app.help")
    # apply: the confirmation once it has checked the plan, then the result
    p.press("x")
    p.wait_for("Every precondition holds")
    p.press("Enter")
    p.wait_for("Applied 2 files")
    assert (ws.root / "docs/payments.md").read_text() == (
        "# Payments\n\nProviders: Stripe, PayPal, Adyen, Mollie, Klarna.\nFees are in `src/shop/payments/`.\n")
    assert (ws.root / "tests/test_payments.py").exists()
    assert not (ws.root / "src/shop/payments/stripe.py").exists()   # not approved, not written


def test_demo_opens_and_q_quits(tmp_path, server):
    out = tmp_path / "exit"
    env = f"HOME={tmp_path} XDG_CONFIG_HOME={tmp_path}/config TMPDIR={tmp_path} TERM=xterm-256color"
    cmd = f"cd {tmp_path} && env -u COLUMNS -u LINES {env} {WOPT_TUI} --demo; echo $? > {out}"
    p = server.start(cmd, 120, 36)
    screen = p.wait_for("Add payment providers", START_TIMEOUT)
    assert "demo-session" in screen
    p.press("Enter")
    p.wait_for("13 steps")
    p.press("Escape")
    # back on the queue before q (q right after escape would be read as alt+q)
    p.wait_gone("13 steps")
    p.wait_for("pending plans")
    p.press("q")
    p.wait_until(lambda: out.exists() and out.read_text().strip() != "", "wopt-tui did not exit")
    assert out.read_text().strip() == "0"
    demos = list(tmp_path.glob("wopt-demo-*"))
    assert demos and (demos[0] / ".wopt" / "plans" / "demo-payments.json").exists()
