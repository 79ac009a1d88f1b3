"""A person's path end to end under tmux: start `wopt-tui` on a workspace, type keys, read
the pane, then check the files on disk. Skipped only when tmux is not installed."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from wopt.engine.store import spool
from wopt.engine.store.demo import make_demo
from wopt.engine.store.workspace import Workspace

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")

WOPT_TUI = Path(sys.executable).with_name("wopt-tui")


def tmux(*args: str, check: bool = True) -> str:
    r = subprocess.run(["tmux", *args], capture_output=True, text=True, timeout=20)
    if check and r.returncode != 0:
        raise AssertionError(f"tmux {' '.join(args)}: {r.stderr}")
    return r.stdout


class Pane:
    def __init__(self, name: str):
        self.name = name

    def screen(self) -> str:
        return tmux("capture-pane", "-p", "-t", self.name)

    def keys(self, *keys: str) -> None:
        for k in keys:
            tmux("send-keys", "-t", self.name, k)
            time.sleep(0.15)

    def wait_for(self, text: str, timeout: float = 30.0) -> str:
        end = time.monotonic() + timeout
        last = ""
        while time.monotonic() < end:
            last = self.screen()
            if text in last:
                return last
            time.sleep(0.2)
        raise AssertionError(f"{text!r} never appeared on the screen; last screen:\n{last}")


def wait_until(cond, timeout: float = 30.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.2)
    return cond()


@pytest.fixture(params=[(120, 36), (80, 24)], ids=["120x36", "80x24"])
def pane(tmp_path, request):
    cols, rows = (str(n) for n in request.param)
    root = make_demo(tmp_path / "demo")
    name = f"wopt-e2e-{os.getpid()}-{time.monotonic_ns() % 100000}"
    env = f"HOME={tmp_path} XDG_CONFIG_HOME={tmp_path}/config TERM=xterm-256color COLORTERM=truecolor"
    cmd = f"cd {root} && env -u COLUMNS -u LINES {env} {WOPT_TUI} --theme wopt-dark; sleep 5"
    tmux("new-session", "-d", "-s", name, "-x", cols, "-y", rows, cmd)
    tmux("resize-window", "-t", name, "-x", cols, "-y", rows, check=False)
    try:
        yield Pane(name), Workspace(root)
    finally:
        tmux("kill-session", "-t", name, check=False)


def test_review_and_apply_from_the_keyboard(pane):
    p, ws = pane
    screen = p.wait_for("Add payment providers")
    assert "pending plans" in screen and "demo-payments" in screen
    p.keys("Enter")
    p.wait_for("13 pending")
    # find the docs step with the filter, approve it, and the tests step too
    p.keys("/", "d", "o", "c", "s", "/", "Enter")
    p.wait_for("docs/ (1 step)")
    p.keys("a")
    p.wait_for("1 approved")
    p.keys("/", "C-u", "t", "e", "s", "t", "s", "/", "Enter")
    p.keys("a")
    p.wait_for("2 approved")
    assert spool.load_review(ws, "demo-payments").decision("docs-payments") == "approved"
    # the help screen is one key away and goes away with escape
    p.keys("?")
    p.wait_for("app.help")
    p.keys("Escape")
    # the next key only once the help is gone (as a person would): a key sent while the
    # help is still being drawn can be taken by it, or read with the escape as alt+key
    assert wait_until(lambda: "app.help" not in p.screen()), p.screen()
    # apply: confirm, wait for the files
    p.keys("x")
    time.sleep(1.0)
    p.keys("Enter")
    assert wait_until(lambda: (ws.root / "docs/payments.md").exists()), p.screen()
    assert (ws.root / "docs/payments.md").read_text() == (
        "# Payments\n\nProviders: Stripe, PayPal, Adyen, Mollie, Klarna.\nFees are in `src/shop/payments/`.\n")
    assert (ws.root / "tests/test_payments.py").exists()
    assert not (ws.root / "src/shop/payments/stripe.py").exists()   # not approved, not written


def test_demo_opens_and_q_quits(tmp_path):
    name = f"wopt-demo-{os.getpid()}-{time.monotonic_ns() % 100000}"
    out = tmp_path / "exit"
    env = f"HOME={tmp_path} XDG_CONFIG_HOME={tmp_path}/config TMPDIR={tmp_path} TERM=xterm-256color"
    cmd = f"cd {tmp_path} && env -u COLUMNS -u LINES {env} {WOPT_TUI} --demo; echo $? > {out}; sleep 5"
    tmux("new-session", "-d", "-s", name, "-x", "120", "-y", "36", cmd)
    tmux("resize-window", "-t", name, "-x", "120", "-y", "36", check=False)
    p = Pane(name)
    try:
        screen = p.wait_for("Add payment providers")
        assert "demo-session" in screen
        p.keys("Enter")
        p.wait_for("13 steps")
        p.keys("Escape", "q")
        assert wait_until(lambda: out.exists() and out.read_text().strip() != "")
        assert out.read_text().strip() == "0"
        demos = list(tmp_path.glob("wopt-demo-*"))
        assert demos and (demos[0] / ".wopt" / "plans" / "demo-payments.json").exists()
    finally:
        tmux("kill-session", "-t", name, check=False)
