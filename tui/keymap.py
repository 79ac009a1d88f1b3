"""Every key binding of the review app, each with an id a user can remap in
`~/.config/wopt/config.toml`:

    [keys]
    "review.approve" = "y"

The ids are stable (they are the config's vocabulary); `Textual`'s `App.set_keymap` applies
the user's keys on top of the defaults below.

KEYS is the one table of actions: the screens' bindings, the footers, the help screen (`?`) and
the command palette (every entry with a `palette` name) are all built from it. An entry with no
default keys is a palette command only. Pushed screens (apply flow, history, family, editor)
declare their own bindings; `screen_ids()` finds them by looking through `tui/screens`.
"""
from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding, BindingType


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
    palette: str = ""  # the command palette's name ("step: approve"); "" = not in the palette
    palette_help: str = ""  # the palette's line under the name


KEYS: list[Key] = [
    # app-wide
    Key("app.help", "question_mark", "help", "Help", "app", group="General",
        palette="app: help", palette_help="every key"),
    Key("app.palette", "ctrl+p", "command_palette", "Commands", "app", group="General"),
    Key("app.history", "h", "history", "History", "app", show=False, group="General",
        palette="app: history", palette_help="past transactions, undo, stats"),
    Key("app.waiting", "w", "open_waiting", "Go to the call an agent is waiting on", "app", show=False,
        group="General"),
    Key("app.quit", "q", "quit", "Quit", "app", group="General",
        palette="app: quit"),
    # queue
    Key("queue.open", "enter", "open", "Review", "queue", group="Queue"),
    Key("queue.down", "j", "cursor_down", "Down", "queue", show=False, group="Queue"),
    Key("queue.up", "k", "cursor_up", "Up", "queue", show=False, group="Queue"),
    Key("queue.refresh", "ctrl+r", "refresh", "Refresh", "queue", show=False, group="Queue",
        palette="queue: refresh", palette_help="read .wopt/plans/ again"),
    # review: decisions
    Key("review.approve", "a", "approve", "Approve", "review", group="Decide",
        palette="step: approve", palette_help="approve the selected step"),
    Key("review.reject", "r", "reject", "Reject", "review", group="Decide",
        palette="step: reject", palette_help="reject the selected step"),
    Key("review.reject_reason", "ctrl+r", "reject_with_reason", "Reject, saying why", "review", show=False, group="Decide",
        palette="step: reject, saying why", palette_help="the agent is told the reason"),
    Key("review.approve_batch", "A", "approve_batch", "Approve batch", "review", show=False, group="Decide",
        palette="batch: approve", palette_help="approve every step of this directory"),
    Key("review.reject_batch", "R", "reject_batch", "Reject batch", "review", show=False, group="Decide",
        palette="batch: reject", palette_help="reject every step of this directory"),
    Key("review.approve_all", "ctrl+a", "approve_all", "Approve all", "review", show=False, group="Decide",
        palette="plan: approve all", palette_help="approve every step of the plan"),
    Key("review.pending", "p", "pending", "Reset to pending", "review", show=False, group="Decide",
        palette="step: reset to pending", palette_help="undecide the selected step"),
    Key("review.reject_all", "", "reject_all", "Reject all", "review", show=False, group="Decide",
        palette="plan: reject all", palette_help="reject every step of the plan"),
    Key("review.toggle_hunk", "space", "toggle_hunk", "Hunk or selected lines on/off", "review", show=False, group="Decide",
        palette="hunk: turn on/off", palette_help="accept or drop the hunk under the cursor"),
    Key("review.select_lines", "v", "select_lines", "Select lines (j/k, space)", "review", show=False, group="Decide",
        palette="hunk: select lines", palette_help="turn single added/removed lines on or off"),
    Key("review.undo", "u", "undo", "Undo", "review", group="Decide",
        palette="plan: undo last decision"),
    Key("review.apply", "x", "apply", "Apply", "review", group="Decide",
        palette="plan: apply", palette_help="apply the approved steps as one transaction"),
    Key("review.edit", "e", "edit", "Edit", "review", show=False, group="Decide",
        palette="step: edit", palette_help="edit the proposed content in the built-in editor"),
    Key("review.edit_external", "E", "edit_external", "Edit in $EDITOR", "review", show=False, group="Decide",
        palette="step: edit in $EDITOR", palette_help="edit in your own editor"),
    Key("review.move_up", "K", "move_step(-1)", "Move step earlier", "review", show=False, group="Decide",
        palette="step: move earlier", palette_help="within what the order allows"),
    Key("review.move_down", "J", "move_step(1)", "Move step later", "review", show=False, group="Decide",
        palette="step: move later", palette_help="within what the order allows"),
    Key("review.family", "enter", "open_family", "Open family", "review", show=False, group="Decide",
        palette="family: open", palette_help="the template family of this step"),
    Key("review.rebase", "ctrl+b", "rebase", "Rebase a stale step onto the file now", "review", show=False,
        group="Decide", palette="step: rebase onto the file now",
        palette_help="merge a stale step's proposal onto the current file (three-way)"),
    # review: moving around
    Key("review.down", "j,down", "cursor(1)", "Next step", "review", show=False, group="Move"),
    Key("review.up", "k,up", "cursor(-1)", "Previous step", "review", show=False, group="Move"),
    Key("review.top", "g,home", "cursor_to(0)", "First", "review", show=False, group="Move"),
    Key("review.bottom", "G,end", "cursor_to(-1)", "Last", "review", show=False, group="Move"),
    Key("review.page_down", "ctrl+d,pagedown", "page(1)", "Half page down", "review", show=False, group="Move"),
    Key("review.page_up", "ctrl+u,pageup", "page(-1)", "Half page up", "review", show=False, group="Move"),
    Key("review.next_change", "n", "change(1)", "Next change", "review", group="Move",
        palette="view: next change"),
    Key("review.prev_change", "N", "change(-1)", "Previous change", "review", show=False, group="Move"),
    Key("review.next_file", "right_square_bracket", "file(1)", "Next file", "review", show=False, group="Move"),
    Key("review.prev_file", "left_square_bracket", "file(-1)", "Previous file", "review", show=False, group="Move"),
    Key("review.next_pane", "tab", "pane(1)", "Next pane", "review", show=False, priority=True, group="Move"),
    Key("review.prev_pane", "shift+tab", "pane(-1)", "Previous pane", "review", show=False, priority=True, group="Move"),
    Key("review.filter", "slash", "filter", "Filter", "review", group="View",
        palette="view: filter steps", palette_help="by path, kind or status"),
    Key("review.split", "s", "split", "Split", "review", group="View",
        palette="view: split diff", palette_help="toggle unified / side by side"),
    Key("review.details", "d", "toggle_details", "Details", "review", show=False, group="View",
        palette="view: details pane", palette_help="show or hide the details"),
    Key("review.stale_base", "b", "stale_base", "Stale step: the file seen / now", "review",
        show=False, group="View", palette="view: stale step against the file the agent saw",
        palette_help="or against the file now (toggles)"),
    Key("review.fold", "z", "fold", "Fold/unfold batch", "review", show=False, group="View",
        palette="batch: fold / unfold", palette_help="hide or show the steps of this directory"),
    Key("review.back", "escape", "back", "Back", "review", group="View",
        palette="view: back to the queue"),
    # the diff pane (when it has the focus)
    Key("diff.search", "slash", "search", "Search in the diff", "diff", show=False, group="Diff pane",
        palette="diff: search", palette_help="find text in the diff; n/N go through the matches"),
    Key("diff.next_match", "n", "match(1)", "Next match (while searching)", "diff", show=False, group="Diff pane"),
    Key("diff.prev_match", "N", "match(-1)", "Previous match (while searching)", "diff", show=False, group="Diff pane"),
    Key("diff.clear_search", "escape", "clear_search", "Clear the search", "diff", show=False, group="Diff pane"),
    Key("diff.whitespace", "i", "toggle_whitespace", "Ignore whitespace (view only)", "diff", show=False, group="Diff pane",
        palette="diff: ignore whitespace on/off", palette_help="a view only: the step writes every byte as planned"),
    Key("diff.wrap", "W", "toggle_wrap", "Wrap long lines", "diff", show=False, group="Diff pane",
        palette="diff: wrap long lines on/off"),
    Key("diff.context_more", "}", "context(1)", "More context: 3, 10, whole file, 0", "diff", show=False, group="Diff pane",
        palette="diff: more context", palette_help="3, 10, the whole file, 0 lines around each change"),
    Key("diff.context_less", "{", "context(-1)", "Less context", "diff", show=False, group="Diff pane",
        palette="diff: less context", palette_help="the whole file, 10, 3, 0 lines around each change"),
]

BY_ID = {k.id: k for k in KEYS}


def bindings(scope: str) -> list[BindingType]:
    return [Binding(k.keys, k.action, k.description, show=k.show, priority=k.priority, id=k.id)
            for k in KEYS if k.scope == scope and k.keys]


def known_ids() -> set[str]:
    return {k.id for k in KEYS if k.keys}


# scopes bound by a widget rather than a screen, and how to find that widget on a screen
WIDGET_SCOPES = {"diff": "#diff"}


def palette(scopes: set[str]) -> list[Key]:
    """The palette's commands of these scopes, in table order."""
    return [k for k in KEYS if k.palette and k.scope in scopes]


def screen_ids() -> set[str]:
    """Binding ids the screens of `tui/screens` declare themselves (apply flow, history,
    template family, editor, help): a user may remap those too. Every screen module is looked
    through, so a new screen's bindings need no list here."""
    import importlib
    import pkgutil

    from textual.screen import Screen

    from . import screens
    ids: set[str] = set()
    for info in pkgutil.iter_modules(screens.__path__):
        mod = importlib.import_module(f"{screens.__name__}.{info.name}")
        for obj in vars(mod).values():
            if isinstance(obj, type) and issubclass(obj, Screen) and obj.__module__ == mod.__name__:
                ids |= {b.id for b in obj.BINDINGS if isinstance(b, Binding) and b.id}
    return ids - set(BY_ID)


def _keyset(keys: str) -> set[str]:
    return {k.strip() for k in keys.split(",") if k.strip()}


def check_user_keys(keys: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """The user's remaps that name a known binding id and take no key another binding of the
    same screen (or an app-wide one) already uses, and a message for each one refused."""
    good: dict[str, str] = {}
    problems: list[str] = []
    for bid, k in keys.items():
        if bid in known_ids() or bid in screen_ids():
            good[bid] = k
        else:
            problems.append(f"unknown key binding id {bid!r} in the config (see ? for the ids)")
    # a clash would silently shadow the other binding: refuse the remap, keep the default
    effective_keys = {b.id: _keyset(good.get(b.id, b.keys)) for b in KEYS if b.keys}
    for bid in list(good):
        mine = BY_ID.get(bid)
        if mine is None:
            continue
        for other in KEYS:
            if other.id == bid or not other.keys:
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
    """Each binding with the keys in effect (the user's remap or the default); palette-only
    entries (no keys) are left out."""
    return [(k, keymap.get(k.id, k.keys)) for k in KEYS if k.keys]
