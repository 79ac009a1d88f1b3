"""Every key binding of the review app, each with an id a user can remap in
`~/.config/wopt/config.toml`:

    [keys]
    "review.approve" = "y"

The ids are stable (they are the config's vocabulary); `Textual`'s `App.set_keymap` applies
the user's keys on top of the defaults below.
"""
from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding


@dataclass(frozen=True)
class Key:
    id: str            # "review.approve"
    keys: str          # default keys, comma separated
    action: str        # Textual action
    description: str   # what the footer / help says
    scope: str         # app, queue, review, steps, diff
    show: bool = True  # in the footer
    priority: bool = False
    group: str = ""    # help section


KEYS: list[Key] = [
    # app-wide
    Key("app.help", "question_mark", "help", "Help", "app", group="General"),
    Key("app.palette", "ctrl+p", "command_palette", "Commands", "app", group="General"),
    Key("app.history", "h", "history", "History", "app", show=False, group="General"),
    Key("app.waiting", "w", "open_waiting", "Go to the call an agent is waiting on", "app", show=False,
        group="General"),
    Key("app.quit", "q", "quit", "Quit", "app", group="General"),
    # queue
    Key("queue.open", "enter", "open", "Review", "queue", group="Queue"),
    Key("queue.down", "j", "cursor_down", "Down", "queue", show=False, group="Queue"),
    Key("queue.up", "k", "cursor_up", "Up", "queue", show=False, group="Queue"),
    Key("queue.refresh", "ctrl+r", "refresh", "Refresh", "queue", show=False, group="Queue"),
    # review: decisions
    Key("review.approve", "a", "approve", "Approve", "review", group="Decide"),
    Key("review.reject", "r", "reject", "Reject", "review", group="Decide"),
    Key("review.reject_reason", "ctrl+r", "reject_with_reason", "Reject, saying why", "review", show=False, group="Decide"),
    Key("review.approve_batch", "A", "approve_batch", "Approve batch", "review", show=False, group="Decide"),
    Key("review.reject_batch", "R", "reject_batch", "Reject batch", "review", show=False, group="Decide"),
    Key("review.approve_all", "ctrl+a", "approve_all", "Approve all", "review", show=False, group="Decide"),
    Key("review.pending", "p", "pending", "Reset to pending", "review", show=False, group="Decide"),
    Key("review.toggle_hunk", "space", "toggle_hunk", "Hunk on/off", "review", show=False, group="Decide"),
    Key("review.undo", "u", "undo", "Undo", "review", group="Decide"),
    Key("review.apply", "x", "apply", "Apply", "review", group="Decide"),
    Key("review.edit", "e", "edit", "Edit", "review", show=False, group="Decide"),
    Key("review.edit_external", "E", "edit_external", "Edit in $EDITOR", "review", show=False, group="Decide"),
    Key("review.move_up", "K", "move_step(-1)", "Move step earlier", "review", show=False, group="Decide"),
    Key("review.move_down", "J", "move_step(1)", "Move step later", "review", show=False, group="Decide"),
    Key("review.family", "enter", "open_family", "Open family", "review", show=False, group="Decide"),
    # review: moving around
    Key("review.down", "j,down", "cursor(1)", "Next step", "review", show=False, group="Move"),
    Key("review.up", "k,up", "cursor(-1)", "Previous step", "review", show=False, group="Move"),
    Key("review.top", "g,home", "cursor_to(0)", "First", "review", show=False, group="Move"),
    Key("review.bottom", "G,end", "cursor_to(-1)", "Last", "review", show=False, group="Move"),
    Key("review.page_down", "ctrl+d,pagedown", "page(1)", "Half page down", "review", show=False, group="Move"),
    Key("review.page_up", "ctrl+u,pageup", "page(-1)", "Half page up", "review", show=False, group="Move"),
    Key("review.next_change", "n", "change(1)", "Next change", "review", group="Move"),
    Key("review.prev_change", "N", "change(-1)", "Previous change", "review", show=False, group="Move"),
    Key("review.next_file", "right_square_bracket", "file(1)", "Next file", "review", show=False, group="Move"),
    Key("review.prev_file", "left_square_bracket", "file(-1)", "Previous file", "review", show=False, group="Move"),
    Key("review.next_pane", "tab", "pane(1)", "Next pane", "review", show=False, priority=True, group="Move"),
    Key("review.prev_pane", "shift+tab", "pane(-1)", "Previous pane", "review", show=False, priority=True, group="Move"),
    Key("review.filter", "slash", "filter", "Filter", "review", group="View"),
    Key("review.split", "s", "split", "Split", "review", group="View"),
    Key("review.details", "d", "toggle_details", "Details", "review", show=False, group="View"),
    Key("review.back", "escape", "back", "Back", "review", group="View"),
    # the diff pane (when it has the focus)
    Key("diff.search", "slash", "search", "Search in the diff", "diff", show=False, group="Diff pane"),
    Key("diff.next_match", "n", "match(1)", "Next match (while searching)", "diff", show=False, group="Diff pane"),
    Key("diff.prev_match", "N", "match(-1)", "Previous match (while searching)", "diff", show=False, group="Diff pane"),
    Key("diff.clear_search", "escape", "clear_search", "Clear the search", "diff", show=False, group="Diff pane"),
    Key("diff.whitespace", "i", "toggle_whitespace", "Ignore whitespace (view only)", "diff", show=False, group="Diff pane"),
    Key("diff.wrap", "W", "toggle_wrap", "Wrap long lines", "diff", show=False, group="Diff pane"),
    Key("diff.context_more", "}", "context(1)", "More context: 3, 10, whole file, 0", "diff", show=False, group="Diff pane"),
    Key("diff.context_less", "{", "context(-1)", "Less context", "diff", show=False, group="Diff pane"),
]

BY_ID = {k.id: k for k in KEYS}


def bindings(scope: str) -> list[Binding]:
    return [Binding(k.keys, k.action, k.description, show=k.show, priority=k.priority, id=k.id)
            for k in KEYS if k.scope == scope]


def known_ids() -> set[str]:
    return set(BY_ID)


def screen_ids() -> set[str]:
    """Binding ids of the screens the app pushes (apply flow, history, template family,
    editor): they declare their own bindings, and a user may remap those too."""
    from .screens.apply import ApplyFlowScreen
    from .screens.editor import EditorScreen
    from .screens.family import FamilyScreen
    from .screens.history import HistoryScreen
    ids: set[str] = set()
    for screen in (ApplyFlowScreen, HistoryScreen, FamilyScreen, EditorScreen):
        ids |= {b.id for b in screen.BINDINGS if getattr(b, "id", None)}
    return ids


def _keyset(keys: str) -> set[str]:
    return {k.strip() for k in keys.split(",") if k.strip()}


def check_user_keys(keys: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """The user's remaps that name a known binding id and take no key another binding of the
    same screen (or an app-wide one) already uses, and a message for each one refused."""
    good: dict[str, str] = {}
    problems: list[str] = []
    for bid, k in keys.items():
        if bid in BY_ID or bid in screen_ids():
            good[bid] = k
        else:
            problems.append(f"unknown key binding id {bid!r} in the config (see ? for the ids)")
    # a clash would silently shadow the other binding: refuse the remap, keep the default
    effective_keys = {b.id: _keyset(good.get(b.id, b.keys)) for b in KEYS}
    for bid in list(good):
        mine = BY_ID.get(bid)
        if mine is None:
            continue
        for other in KEYS:
            if other.id == bid:
                continue
            if not (other.scope == mine.scope or "app" in (other.scope, mine.scope)):
                continue
            clash = effective_keys[bid] & effective_keys[other.id]
            if clash:
                key = display_key(",".join(sorted(clash)))
                problems.append(f"key {key!r} for {bid!r} in the config is already {other.id!r} "
                                f"({other.description}); {bid} keeps {display_key(mine.keys)!r}")
                del good[bid]
                effective_keys[bid] = _keyset(mine.keys)
                break
    return good, problems


def display_key(keys: str) -> str:
    names = {"question_mark": "?", "slash": "/", "right_square_bracket": "]",
             "left_square_bracket": "[", "space": "space", "escape": "esc"}
    def one(k: str) -> str:
        k = names.get(k, k)
        return "^" + k[5:] if k.startswith("ctrl+") and len(k) == 6 else k   # as Textual's footer
    return " ".join(one(k) for k in keys.split(","))


def effective(keymap: dict[str, str]) -> list[tuple[Key, str]]:
    """Each binding with the keys in effect (the user's remap or the default)."""
    return [(k, keymap.get(k.id, k.keys)) for k in KEYS]
