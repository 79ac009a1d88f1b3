"""The command palette (ctrl+p): namespaced commands ("plan: approve all", "view: split
diff") for what the current screen can do. Every entry of `keymap.KEYS` with a palette name is
a command on the screens whose bindings share its scope; the queue adds one per plan and the
app one per theme."""
from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Callable, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

from . import keymap

if TYPE_CHECKING:
    from .app import WoptApp


def _scopes(screen: object) -> set[str]:
    """The KEYS scopes whose bindings this screen has (a screen binds its scope's KEYS)."""
    return {b.id.split(".")[0] for b in getattr(type(screen), "BINDINGS", ())
            if getattr(b, "id", None) and b.id in keymap.BY_ID}


class WoptCommands(Provider):
    def _commands(self) -> list[tuple[str, Callable[[], object], str]]:
        from .screens.queue import QueueScreen
        app = cast("WoptApp", self.app)
        screen = self.screen
        cmds: list[tuple[str, Callable[[], object], str]] = []
        for k in keymap.palette(_scopes(screen) - {"app"}):
            cmds.append((k.palette, partial(screen.run_action, k.action), k.palette_help))
        # widgets that bind a scope of their own: their commands run on the widget
        for scope, selector in keymap.WIDGET_SCOPES.items():
            found = screen.query(selector)
            if found:
                widget = found.first()
                for k in keymap.palette({scope}):
                    cmds.append((k.palette, partial(widget.run_action, k.action), k.palette_help))
        if isinstance(screen, QueueScreen):
            for r in screen.rows:
                if not r.error:
                    cmds.append((f"queue: open {r.id} {r.title}", partial(app.open_plan, r.id), r.source))
        for k in keymap.palette({"app"}):
            cmds.append((k.palette, partial(app.run_action, k.action), k.palette_help))
        for name in sorted(n for n in app.available_themes if n.startswith("wopt-")):
            cmds.append((f"theme: {name}", partial(setattr, app, "theme", name), "colour theme"))
        return cmds

    async def discover(self) -> Hits:
        for name, cb, help in self._commands():
            yield DiscoveryHit(name, cb, help=help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, cb, help in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), cb, help=help)
