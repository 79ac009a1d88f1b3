"""The terminal driver: Textual's own, except that quitting does not wait for its input thread.

Textual's Linux driver reads keys in a thread that looks at its stop flag only between
0.1 s waits for input, then waits 0.1 s more before it ends; quitting the app joins that
thread, so every `q` took 0.1-0.2 s before the terminal was given back. Here the app's end
sets the flag, discards unread input as Textual does, and restores the terminal at once;
the thread ends by itself within 0.2 s, and `wopt.tui.main.entry` ends the process without
waiting for it (`abandoned`). A suspend (the external editor) still waits for the thread, so it
never reads keys meant for the editor."""
from __future__ import annotations

import signal
import termios
import threading

from textual.drivers.linux_driver import LinuxDriver


abandoned: list[threading.Thread] = []     # input threads left to end by themselves


class QuickExitDriver(LinuxDriver):
    _suspending = False

    def suspend_application_mode(self) -> None:
        self._suspending = True
        try:
            super().suspend_application_mode()
        finally:
            self._suspending = False

    def disable_input(self) -> None:
        if self._suspending:
            super().disable_input()
            return
        if self.exit_event.is_set():
            return
        signal.signal(signal.SIGWINCH, signal.SIG_DFL)
        self._disable_mouse_support()
        self.exit_event.set()           # left set: the input thread sees it at its next wake
        if self._key_thread is not None:
            abandoned.append(self._key_thread)
        try:
            termios.tcflush(self.fileno, termios.TCIFLUSH)
        except termios.error:
            pass                        # not a terminal any more (closed): nothing to discard
