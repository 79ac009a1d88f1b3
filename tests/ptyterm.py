"""A terminal for the app benchmarks: runs a command on a pseudo-terminal of a given size,
types keys as bytes and timestamps everything the program writes, so a figure runs from the
bytes of a key to the frame that shows its answer, as a person at a terminal sees it (the
app's real driver, its real input parsing and rendering; a frame counts once its bytes are
written).

A reader thread drains the terminal all the time, so the program never waits on a full
terminal buffer while it is being timed."""
from __future__ import annotations

import fcntl
import os
import pty
import signal
import struct
import termios
import threading
import time


class Term:
    def __init__(self, argv: list[str], *, cwd, env: dict[str, str] | None = None,
                 size: tuple[int, int] = (120, 36)) -> None:
        cols, rows = size
        env = dict(os.environ if env is None else env, TERM="xterm-256color", COLUMNS=str(cols), LINES=str(rows))
        self.started = time.perf_counter()
        pid, fd = pty.fork()
        if pid == 0:                                   # the child: the program, on the terminal
            try:
                fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
                os.chdir(str(cwd))
                os.execvpe(argv[0], argv, env)
            finally:
                os._exit(127)
        self.pid, self.fd = pid, fd
        self.buf = bytearray()
        self.log: list[tuple[float, int]] = []        # (time read, length of buf after it)
        self.ended: float | None = None               # when the program closed the terminal
        self.status: int | None = None
        self._cond = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self.fd, 1 << 16)
            except OSError:                            # EIO: the program has gone
                data = b""
            now = time.perf_counter()
            with self._cond:
                if not data:
                    self.ended = now
                    self._cond.notify_all()
                    return
                self.buf += data
                self.log.append((now, len(self.buf)))
                self._cond.notify_all()

    def mark(self) -> int:
        """Where the output stands now: wait_for(..., since=mark()) sees only what follows."""
        with self._cond:
            return len(self.buf)

    def send(self, data: bytes) -> float:
        """Type `data`; the time it was written."""
        t = time.perf_counter()
        os.write(self.fd, data)
        return t

    def wait_for(self, marker: str | bytes, since: int, timeout: float = 120) -> float:
        """The time the output after offset `since` first held all of `marker`."""
        m = marker.encode() if isinstance(marker, str) else marker
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                i = self.buf.find(m, since)
                if i >= 0:
                    end = i + len(m)
                    return next(t for t, n in self.log if n >= end)
                if self.ended is not None:
                    raise AssertionError(f"the program ended before showing {marker!r}:\n{self.screen_text()}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{marker!r} not shown in {timeout} s:\n{self.screen_text()}")
                self._cond.wait(min(left, 0.5))

    def quiet(self, for_s: float = 0.05, timeout: float = 10) -> None:
        """Wait until the program has written nothing for `for_s` seconds."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while time.monotonic() < deadline and self.ended is None:
                last = self.log[-1][0] if self.log else self.started
                left = last + for_s - time.perf_counter()
                if left <= 0:
                    return
                self._cond.wait(left)

    def wait_exit(self, timeout: float = 30) -> float:
        """The time the program closed its terminal (it has exited); reaps it."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self.ended is None:
                left = deadline - time.monotonic()
                assert left > 0, f"the program did not exit in {timeout} s:\n{self.screen_text()}"
                self._cond.wait(min(left, 0.5))
            ended = self.ended
        _, status = os.waitpid(self.pid, 0)
        self.status = os.waitstatus_to_exitcode(status)
        os.close(self.fd)
        return ended

    def kill(self) -> None:
        if self.status is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.wait_exit()

    def screen_text(self, tail: int = 3000) -> str:
        """The end of the output with escape sequences dropped (for failure messages)."""
        import re
        text = bytes(self.buf[-tail:]).decode("utf-8", "replace")
        return re.sub(r"\x1b\[[0-9;?<>=$]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>]", "", text)
