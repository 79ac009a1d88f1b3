"""The command palette (ctrl+p): namespaced commands ("plan: approve all", "view: split
diff") for what the current screen can do."""
from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider


class WoptCommands(Provider):
    def _commands(self) -> list[tuple[str, object, str]]:
        from .screens.queue import QueueScreen
        from .screens.review import ReviewScreen
        app = self.app
        screen = self.screen
        cmds: list[tuple[str, object, str]] = []
        if isinstance(screen, ReviewScreen):
            a = screen.run_action
            cmds += [
                ("step: approve", partial(a, "approve"), "approve the selected step"),
                ("step: reject", partial(a, "reject"), "reject the selected step"),
                ("step: reject, saying why", partial(a, "reject_with_reason"), "the agent is told the reason"),
                ("step: reset to pending", partial(a, "pending"), "undecide the selected step"),
                ("step: edit", partial(a, "edit"), "edit the proposed content in the built-in editor"),
                ("step: edit in $EDITOR", partial(a, "edit_external"), "edit in your own editor"),
                ("step: move earlier", partial(a, "move_step(-1)"), "within what the order allows"),
                ("step: move later", partial(a, "move_step(1)"), "within what the order allows"),
                ("hunk: turn on/off", partial(a, "toggle_hunk"), "accept or drop the hunk under the cursor"),
                ("batch: approve", partial(a, "approve_batch"), "approve every step of this directory"),
                ("batch: reject", partial(a, "reject_batch"), "reject every step of this directory"),
                ("family: open", partial(a, "open_family"), "the template family of this step"),
                ("plan: approve all", partial(a, "approve_all"), "approve every step of the plan"),
                ("plan: reject all", partial(a, "reject_all"), "reject every step of the plan"),
                ("plan: apply", partial(a, "apply"), "apply the approved steps as one transaction"),
                ("plan: undo last decision", partial(a, "undo"), ""),
                ("view: split diff", partial(a, "split"), "toggle unified / side by side"),
                ("view: details pane", partial(a, "toggle_details"), "show or hide the details"),
                ("view: filter steps", partial(a, "filter"), "by path, kind or status"),
                ("view: next change", partial(a, "change(1)"), ""),
                ("diff: search", partial(screen.query_one("#diff").run_action, "search"), "find text in the diff; n/N go through the matches"),
                ("diff: ignore whitespace on/off", partial(screen.query_one("#diff").run_action, "toggle_whitespace"), "a view only: the step writes every byte as planned"),
                ("diff: wrap long lines on/off", partial(screen.query_one("#diff").run_action, "toggle_wrap"), ""),
                ("diff: more context", partial(screen.query_one("#diff").run_action, "context(1)"), "3, 10, the whole file, 0 lines around each change"),
                ("diff: less context", partial(screen.query_one("#diff").run_action, "context(-1)"), "the whole file, 10, 3, 0 lines around each change"),
                ("view: back to the queue", partial(a, "back"), ""),
            ]
        if isinstance(screen, QueueScreen):
            cmds.append(("queue: refresh", partial(screen.run_action, "refresh"), "read .wopt/plans/ again"))
            for r in screen.rows:
                if not r.error:
                    cmds.append((f"queue: open {r.id} {r.title}", partial(app.open_plan, r.id), r.source))
        cmds += [
            ("app: history", partial(app.run_action, "history"), "past transactions, undo, stats"),
            ("app: help", partial(app.run_action, "help"), "every key"),
            ("app: quit", partial(app.run_action, "quit"), ""),
        ]
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
