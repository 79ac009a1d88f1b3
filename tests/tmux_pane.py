"""Driving `wopt-tui` in a real terminal (tmux) the way a person does: look at the screen, press
one key, wait until the screen shows what the key did, press the next. No fixed sleeps: on a
loaded machine the app can take seconds to draw, and two keys sent back to back can be read
together (escape then `x` is alt+x) or land on a widget that is still being mounted.

Each `TmuxServer` is a tmux server of its own (`-L` with a unique socket name, no user config),
killed when the test ends, so tests never share or leak a server.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Callable, Iterator

import pytest

WOPT_TUI = Path(sys.executable).with_name("wopt-tui")
TIMEOUT = 30.0      # for one thing to appear on the screen, however loaded the machine is
START_TIMEOUT = 60.0  # the app's first screen (Python start-up, imports, first paint)

needs_tmux = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")

_SGR = re.compile(r"\x1b\[[0-9;]*m")


def _bold_after(bold: bool, params: str) -> bool:
    """Bold on or off after one SGR escape's parameters (colour arguments skipped)."""
    codes = [int(c) if c else 0 for c in params.split(";")]
    i = 0
    while i < len(codes):
        c = codes[i]
        if c in (38, 48, 58):           # extended colour: 5;n or 2;r;g;b
            i += 3 if codes[i + 1:i + 2] == [5] else 5
            continue
        if c in (0, 22):
            bold = False
        elif c == 1:
            bold = True
        i += 1
    return bold


class TmuxServer:
    """One tmux server on its own socket. Its panes stay open after their command exits
    (remain-on-exit), so the last screen of a crashed app can still be read."""

    def __init__(self, tmp_path: Path) -> None:
        self.socket = f"wopt-test-{os.getpid()}-{uuid.uuid4().hex[:10]}"
        self.conf = tmp_path / "tmux.conf"
        # no status line: the pane is exactly the size the test names
        self.conf.write_text("set -g remain-on-exit on\nset -g status off\n")
        self.env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE")}
        self.path = ""              # the socket file, once the server runs

    def __call__(self, *args: str, check: bool = True) -> str:
        r = subprocess.run(["tmux", "-L", self.socket, "-f", str(self.conf), *args],
                           capture_output=True, text=True, timeout=30, env=self.env)
        if check and r.returncode != 0:
            raise AssertionError(f"tmux {' '.join(args)}: {r.stderr}")
        return r.stdout

    def start(self, cmd: str, cols: int, rows: int, name: str = "wopt") -> Pane:
        self("new-session", "-d", "-s", name, "-x", str(cols), "-y", str(rows), cmd)
        self.path = self("display-message", "-p", "#{socket_path}").strip()
        self("resize-window", "-t", name, "-x", str(cols), "-y", str(rows), check=False)
        return Pane(self, name)

    def kill(self) -> None:
        self("kill-server", check=False)
        if self.path:               # tmux leaves the socket file behind
            Path(self.path).unlink(missing_ok=True)


class Pane:
    def __init__(self, server: TmuxServer, name: str) -> None:
        self.server, self.name = server, name

    # ---------------------------------------------------------------- looking
    def screen(self) -> str:
        return self.server("capture-pane", "-p", "-t", self.name)

    def styled(self) -> str:
        """The screen with its colours and attributes (SGR escapes), as a person sees it."""
        return self.server("capture-pane", "-p", "-e", "-t", self.name)

    def dump(self) -> str:
        """For a failure message: the screen with the 200 lines above it (once the app has
        exited, tmux scrolls its last screen up there to say the pane is dead)."""
        return self.server("capture-pane", "-p", "-S", "-200", "-t", self.name)

    def wait_until(self, cond: Callable[[], bool], what: str, timeout: float = TIMEOUT) -> str:
        end = time.monotonic() + timeout
        while True:
            if cond():
                return self.screen()
            if time.monotonic() > end:
                raise AssertionError(f"{what} (waited {timeout:.0f} s); the pane:\n{self.dump()}")
            time.sleep(0.1)

    def wait_for(self, text: str, timeout: float = TIMEOUT) -> str:
        """Wait until `text` is on the screen; the screen then."""
        end = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if text in screen:
                return screen
            if time.monotonic() > end:
                raise AssertionError(f"{text!r} never appeared on the screen (waited {timeout:.0f} s); "
                                     f"the pane:\n{self.dump()}")
            time.sleep(0.1)

    def wait_gone(self, text: str, timeout: float = TIMEOUT) -> str:
        return self.wait_until(lambda: text not in self.screen(), f"{text!r} stayed on the screen",
                               timeout)

    def row_bold(self, text: str) -> bool:
        """Whether a row showing `text` is drawn bold where `text` starts: the selected row of
        a list that has the keyboard focus (the step list's cursor is bold only when focused)."""
        bold = False        # tmux carries attributes over from the line before
        for line in self.styled().splitlines():
            at = _SGR.sub("", line).find(text)
            seen, pos = 0, 0
            for m in [*_SGR.finditer(line), None]:
                chunk = line[pos:m.start() if m else len(line)]
                if seen <= at < seen + len(chunk) and bold:
                    return True
                seen += len(chunk)
                if m is None:
                    break
                bold = _bold_after(bold, m.group()[2:-1])
                pos = m.end()
        return False

    def wait_focused_row(self, text: str, timeout: float = TIMEOUT) -> None:
        """Wait until the list holding `text` has the focus with its cursor on that row."""
        self.wait_until(lambda: self.row_bold(text), f"the row {text!r} never got the focus", timeout)

    def wait_unfocused_row(self, text: str, timeout: float = TIMEOUT) -> None:
        """Wait until the list's cursor row `text` is no longer drawn focused (the focus moved)."""
        self.wait_until(lambda: not self.row_bold(text), f"the row {text!r} kept the focus", timeout)

    # ---------------------------------------------------------------- typing
    def press(self, key: str) -> None:
        """One key (a tmux key name: Enter, Escape, C-u, or one character)."""
        self.server("send-keys", "-t", self.name, key)

    def type(self, text: str) -> None:
        """Printable text, literally (no key names), into whatever has the focus."""
        self.server("send-keys", "-t", self.name, "-l", text)


def tmux_server(tmp_path: Path) -> Iterator[TmuxServer]:
    """For a fixture: a server of the test's own, killed however the test ends."""
    server = TmuxServer(tmp_path)
    try:
        yield server
    finally:
        server.kill()
