"""wopt-tui: the review app. Opens on the queue of pending plans; each plan opens in a review
screen; apply, history, family and editor screens are pushed from there."""
from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from textual import work
from textual.app import App, SystemCommand
from textual.command import CommandPalette
from textual.screen import ModalScreen
from textual.theme import ThemeProvider

from wopt.engine.store import spool
from wopt.engine.model.errors import WoptError
from wopt.engine.store.workspace import Workspace

from . import gcpolicy, keymap
from .commands import WoptCommands
from .messages import OpenPlan, ReviewChanged
from .themes import load_themes, resolve


class WoptThemes(ThemeProvider):
    """The palette's theme list: wopt's own themes only (the diff's colours are defined for
    them; Textual's built-in themes stay registered for Textual's own use)."""

    @property
    def commands(self):
        return [(name, cb) for name, cb in super().commands if name in self.app.wopt_themes]


def home_relative(path: str | Path) -> str:
    """`~/…` for a path under the home directory, else the path as it is."""
    p = Path(path)
    try:
        home = Path.home()
    except RuntimeError:      # no home directory known
        return str(p)
    try:
        rel = p.relative_to(home)
    except ValueError:
        return str(p)
    return "~" if str(rel) == "." else f"~/{rel.as_posix()}"


class WoptApp(App):
    CSS_PATH = str(Path(__file__).with_name("app.tcss"))
    TITLE = "wopt"
    COMMANDS = App.COMMANDS | {WoptCommands}
    BINDINGS = keymap.bindings("app")
    ENABLE_COMMAND_PALETTE = True

    def exit(self, *args, **kwargs) -> None:
        gcpolicy.end()          # no collection while the app quits
        super().exit(*args, **kwargs)

    def get_driver_class(self):
        """Textual's driver for this platform; on Linux one that quits without waiting for
        its input thread (see tui/driver.py)."""
        cls = super().get_driver_class()
        if (cls.__module__, cls.__name__) == ("textual.drivers.linux_driver", "LinuxDriver"):
            from .driver import QuickExitDriver
            return QuickExitDriver
        return cls

    def __init__(self, ws: Workspace, *, targets: list[str] | None = None, theme: str | None = None,
                 user_keys: dict[str, str] | None = None, problems: list[str] | None = None,
                 clock: Callable[[], datetime] | None = None, poll_seconds: float | None = None,
                 demo: bool = False):
        super().__init__()
        self.ws = ws
        self.demo = demo
        # the demo's workspace is a new directory each run: the header names it
        self.sub_title = f"demo workspace {home_relative(ws.root)}" if demo else ""
        self.targets = list(targets or [])
        self.requested_theme = theme
        self.user_keys, key_problems = keymap.check_user_keys(user_keys or {})
        self.problems = list(problems or []) + key_problems
        self.clock = clock
        self.poll_seconds = poll_seconds
        themes, theme_problems = load_themes()
        self.problems += theme_problems
        self.wopt_themes = [t.name for t in themes]
        for t in themes:
            self.register_theme(t)
        name, warn = resolve(theme, list(self.available_themes))
        self.theme = name
        if warn:
            self.problems.append(warn)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # a dialog owns the keyboard: the app's letter keys (h: History) do not reach
        # through it, so a word typed into a dialog cannot open another screen
        if action == "history" and isinstance(self.screen, ModalScreen):
            return False
        return True

    def search_themes(self) -> None:
        self.push_screen(CommandPalette(providers=[WoptThemes], placeholder="Search for themes…"))

    def get_system_commands(self, screen):
        for cmd in super().get_system_commands(screen):
            if cmd.title == "Screenshot":
                yield SystemCommand("Screenshot", "Save an SVG screenshot of the screen in the "
                                    "current directory", lambda: self.set_timer(0.1, self._screenshot_to_cwd))
            else:
                yield cmd

    def _screenshot_to_cwd(self) -> None:
        self.deliver_screenshot(path=str(Path.cwd()))

    def now(self) -> datetime:
        return self.clock() if self.clock else datetime.now(timezone.utc)

    def _theme_class(self, name: str) -> None:
        # high contrast: the diff's backgrounds stronger than the other themes' 18% tints
        self.set_class(name == "wopt-high-contrast", "-high-contrast")

    WAITING_SECONDS = 1.0

    def on_mount(self) -> None:
        self._waiting_seen: set[tuple[str, str]] = set()
        self._waiting: list = []
        self.set_interval(self.poll_seconds or self.WAITING_SECONDS, self.poll_waiting)
        self.watch(self, "theme", self._theme_class, init=True)
        if self.user_keys:
            self.set_keymap(self.user_keys)
        from .screens.queue import QueueScreen
        q = QueueScreen(self.ws)
        if self.poll_seconds is not None:
            q.POLL_SECONDS = self.poll_seconds
        self.push_screen(q)
        for p in self.problems:
            self.notify(p, severity="warning", timeout=8)
        if self.targets:
            self.open_plan(self.targets[0])     # its model settles the collector
        else:
            self.call_after_refresh(gcpolicy.settle)
        self.set_timer(gcpolicy.SETTLE_SECONDS, gcpolicy.settle_late)

    # ------------------------------------------------------------------ gate calls
    @work(thread=True, exclusive=True, group="app-waiting", exit_on_error=False)
    def poll_waiting(self) -> None:
        """Which agent calls wait on a decision now (their markers, from live processes)."""
        from wopt.engine.store import decide
        waits = decide.waiting(self.ws)
        self.call_from_thread(self._waiting_changed, waits)

    def _waiting_changed(self, waits: list) -> None:
        """A call that starts waiting cannot be missed: the bell and a notice on any screen;
        `w` goes to it."""
        self._waiting = waits
        now = {(w.plan_id, w.step_id) for w in waits}
        new = [w for w in waits if (w.plan_id, w.step_id) not in self._waiting_seen]
        self._waiting_seen = now
        if not new:
            return
        self.bell()
        w = new[0]
        what = f"{w.tool or 'a write'} of {w.path}" if w.path else (w.tool or "a write")
        more = f" (and {len(new) - 1} more)" if len(new) > 1 else ""
        self.notify(f"{what} waits for your decision in plan {w.plan_id}{more}; press w to go to it",
                    title="An agent is waiting", severity="warning", timeout=15)

    def action_open_waiting(self) -> None:
        if not self._waiting:
            self.notify("no agent is waiting on a decision", timeout=3)
            return
        from .screens.review import ReviewScreen
        w = self._waiting[0]
        for screen in self.screen_stack:
            if isinstance(screen, ReviewScreen) and screen.plan.id == w.plan_id:
                while self.screen is not screen:
                    self.pop_screen()
                screen.select_step(w.step_id)
                return
        self.open_plan(w.plan_id, step=w.step_id)

    def open_plan(self, ref: str, *, step: str | None = None) -> None:
        from .screens.review import ReviewScreen
        try:
            plan = spool.load_plan(self.ws, ref)
            review = spool.load_review(self.ws, plan.id)
        except WoptError as e:
            self.notify(str(e), title="Cannot open this plan", severity="error", timeout=10)
            return
        screen = ReviewScreen(self.ws, plan, review)
        if step:
            screen.start_at = step
        self.push_screen(screen)

    def on_open_plan(self, msg: OpenPlan) -> None:
        self.open_plan(msg.plan_id)

    def on_review_changed(self, msg: ReviewChanged) -> None:
        from .screens.queue import QueueScreen
        for s in self.screen_stack:
            if isinstance(s, QueueScreen):
                s.poll()

    def action_help(self) -> None:
        from .screens.help import HelpScreen
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_history(self) -> None:
        from .screens.history import HistoryScreen
        self.push_screen(HistoryScreen(self.ws))


def run(args) -> int:
    """`wopt-tui` after argument parsing: the workspace, the config, then the app."""
    from wopt.engine.store.config import load_config
    from wopt.engine.store.workspace import find_root
    try:
        targets = list(getattr(args, "targets", None) or [])
        root = getattr(args, "root", None)
        if getattr(args, "demo", False):
            from wopt.engine.store.demo import make_demo
            root = str(make_demo())
            sys.stderr.write(f"wopt-tui: demo workspace in {root}\n")
        elif targets and not root and Path(targets[0]).is_dir():
            root = targets.pop(0)
        ws = Workspace(find_root(root))
        from wopt.engine.cli.common import run_recovery
        run_recovery(ws, quiet=False)
        problems: list[str] = []
        try:
            cfg = load_config()
            problems += cfg.problems
        except WoptError as e:
            from wopt.engine.store.config import Config
            cfg = Config()
            problems.append(str(e))
        theme = getattr(args, "theme", None) or cfg.theme
        app = WoptApp(ws, targets=targets, theme=theme, user_keys=cfg.keys, problems=problems,
                      demo=bool(getattr(args, "demo", False)))
    except WoptError as e:
        sys.stderr.write(f"wopt-tui: {e}\n")
        return e.exit_code
    app.run()
    return app.return_code or 0
