"""$EDITOR from the real app in a real terminal (tmux): `E` suspends wopt-tui, the editor
owns the terminal (its output is on the pane), and when it exits the app is back and the
review holds the edited content. Skipped only when tmux is not installed."""
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


def wait_for(name: str, text: str, timeout: float = 30.0) -> str:
    end = time.monotonic() + timeout
    last = ""
    while time.monotonic() < end:
        last = tmux("capture-pane", "-p", "-t", name)
        if text in last:
            return last
        time.sleep(0.2)
    raise AssertionError(f"{text!r} never appeared on the screen; last screen:\n{last}")


def keys(name: str, *ks: str) -> None:
    for k in ks:
        tmux("send-keys", "-t", name, k)
        time.sleep(0.15)


def test_capital_e_hands_the_terminal_to_the_editor_and_comes_back(tmp_path):
    root = make_demo(tmp_path / "demo")
    editor = tmp_path / "editor.py"
    editor.write_text(
        f"#!{sys.executable}\nimport sys, time\np = sys.argv[-1]\n"
        "print('EDITOR RUNNING ON', p.rsplit('/', 1)[-1], flush=True)\n"
        "time.sleep(1.5)\n"
        "open(p, 'a').write('Edited in the terminal.\\n')\n")
    editor.chmod(0o755)
    name = f"wopt-ed-{os.getpid()}-{time.monotonic_ns() % 100000}"
    env = (f"HOME={tmp_path} XDG_CONFIG_HOME={tmp_path}/config TERM=xterm-256color "
           f"EDITOR={editor}")
    cmd = f"cd {root} && env -u COLUMNS -u LINES -u VISUAL {env} {WOPT_TUI} --theme wopt-dark; sleep 5"
    tmux("new-session", "-d", "-s", name, "-x", "120", "-y", "36", cmd)
    try:
        wait_for(name, "Add payment providers")
        keys(name, "Enter")
        wait_for(name, "13 pending")
        keys(name, "/", "d", "o", "c", "s", "/", "Enter")
        wait_for(name, "payments.md")
        keys(name, "E")
        screen = wait_for(name, "EDITOR RUNNING ON payments.md")
        assert "13 pending" not in screen            # the app gave the terminal away
        wait_for(name, "13 pending")                 # and took it back
        end = time.monotonic() + 20
        edited = None
        while time.monotonic() < end:
            edited = spool.load_review(Workspace(root), "demo-payments").edited.get("docs-payments")
            if edited:
                break
            time.sleep(0.2)
        assert edited is not None and edited.endswith("Edited in the terminal.\n")
        assert edited.startswith("# Payments\n")
    finally:
        tmux("kill-session", "-t", name, check=False)
