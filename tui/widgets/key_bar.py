"""The key bar at the bottom: the screen's main keys (as remapped by the user) in one line of
text. One widget, drawn once per screen, where Textual's Footer mounts a widget per key and
recomposes them on every focus change; clicking a key runs its action."""
from __future__ import annotations

from rich.text import Text
from textual import events
from textual.widgets import Static

from .. import keymap


class KeyBar(Static):
    DEFAULT_CSS = """
    KeyBar {
        dock: bottom;
        height: 1;
        background: $footer-background;
        color: $footer-foreground;
        padding: 0 1;
    }
    """

    def __init__(self, scopes: tuple[str, ...], *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.scopes = scopes
        self._regions: list[tuple[int, int, str]] = []   # (start, end, action)

    def on_mount(self) -> None:
        self._draw()
        self.watch(self.app, "theme", lambda *_: self._draw(), init=False)

    def _draw(self) -> None:
        user = getattr(self.app, "user_keys", {}) or {}
        key_style = f"bold {self.app.theme_variables.get('footer-key-foreground', '')}".strip()
        t = Text(no_wrap=True, overflow="ellipsis")
        regions = []
        shown = [(k, keys) for k, keys in keymap.effective(user) if k.show and k.scope in self.scopes]
        # help first (it must stay visible on a narrow terminal), then the screen's own keys
        shown.sort(key=lambda kk: (kk[0].id != "app.help", self.scopes.index(kk[0].scope)))
        for k, keys in shown:
            start = t.cell_len
            t.append(keymap.display_key(keys.split(",")[0]), style=key_style)
            t.append(f" {k.description}")
            regions.append((start, t.cell_len, k.action))
            t.append("  ")
        self._regions = regions
        self.update(t)

    def on_click(self, event: events.Click) -> None:
        off = event.get_content_offset(self)
        if off is None:
            return
        for a, b, action in self._regions:
            if a <= off.x < b:
                self.run_action_on_screen(action)
                return

    def run_action_on_screen(self, action: str) -> None:
        name = action.split("(")[0]
        target = self.screen if hasattr(self.screen, f"action_{name}") else self.app
        self.app.call_later(self.app.run_action, action, target)
