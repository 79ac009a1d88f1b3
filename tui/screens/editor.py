"""The built-in editor for a step's proposed content, and the $EDITOR round trip.

`EditorScreen(path, text, language)` is a `Screen[str | None]`: a TextArea with line numbers
and syntax highlighting (pygments, coloured from the app theme's variables, so it reads in
every wopt theme); ctrl+s dismisses with the text, escape dismisses with None (a second
escape when there are unsaved changes, so one stray key never loses work).

`edit_external(app, path, text)` suspends the app, runs the person's $EDITOR on a temporary
copy (the file I/O is `wopt.engine.model.editing.edit_text`), and returns the new text or None.
"""
from __future__ import annotations

from typing import Any

from pygments.lexer import Lexer
from pygments.lexers import get_lexer_by_name, get_lexer_for_filename
from pygments.token import Token, _TokenType
from pygments.util import ClassNotFound
from rich.style import Style
from textual import getters, on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Static, TextArea
from textual.widgets.text_area import TextAreaTheme

# highlight name -> (theme variable, extra style); the names are ours (no tree-sitter here)
_SYNTAX: dict[str, tuple[str, str]] = {
    "comment": ("text-muted", "italic"),
    "string": ("text-success", ""),
    "string.doc": ("text-success", "italic"),
    "keyword": ("text-accent", "bold"),
    "keyword.constant": ("text-success", "bold"),
    "keyword.namespace": ("text-error", ""),
    "number": ("text-warning", ""),
    "function": ("text-warning", ""),
    "class": ("text-warning", "bold"),
    "builtin": ("text-accent", ""),
    "decorator": ("text-primary", "bold"),
    "tag": ("text-primary", "bold"),
    "attribute": ("text-warning", ""),
    "variable": ("text-secondary", ""),
    "name.constant": ("text-error", ""),
    "operator.word": ("text-error", "bold"),
    "heading": ("text-primary", "bold underline"),
    "subheading": ("text-primary", "bold"),
    "inserted": ("text-success", ""),
    "deleted": ("text-error", ""),
    "error": ("text-error", "underline"),
}

# pygments token (most specific first) -> highlight name
_TOKENS: list[tuple[_TokenType, str]] = [
    (Token.Comment, "comment"),
    (Token.Literal.String.Doc, "string.doc"),
    (Token.Literal.String, "string"),
    (Token.Literal.Number, "number"),
    (Token.Keyword.Constant, "keyword.constant"),
    (Token.Keyword.Namespace, "keyword.namespace"),
    (Token.Keyword, "keyword"),
    (Token.Operator.Word, "operator.word"),
    (Token.Name.Function, "function"),
    (Token.Name.Class, "class"),
    (Token.Name.Builtin, "builtin"),
    (Token.Name.Decorator, "decorator"),
    (Token.Name.Tag, "tag"),
    (Token.Name.Attribute, "attribute"),
    (Token.Name.Variable, "variable"),
    (Token.Name.Constant, "name.constant"),
    (Token.Generic.Heading, "heading"),
    (Token.Generic.Subheading, "subheading"),
    (Token.Generic.Inserted, "inserted"),
    (Token.Generic.Deleted, "deleted"),
    (Token.Error, "error"),
]

HIGHLIGHT_LIMIT = 2_000_000       # characters; larger texts are edited without colours
SYNC_HIGHLIGHT_LIMIT = 8_000      # up to this size, lexed on every keystroke (about 15 ms)
HIGHLIGHT_PAUSE = 0.3             # seconds of no typing before a larger text is lexed again


def _highlight_name(tok: _TokenType, cache: dict) -> str | None:
    try:
        return cache[tok]
    except KeyError:
        name = None
        for base, n in _TOKENS:
            if tok in base:
                name = n
                break
        cache[tok] = name
        return name


def find_lexer(path: str | None, language: str | None = None) -> Lexer | None:
    """A pygments lexer for a language name (pygments alias) or, failing that, a file name."""
    opts: dict[str, Any] = dict(stripnl=False, ensurenl=False)
    if language:
        try:
            return get_lexer_by_name(language, **opts)
        except ClassNotFound:
            pass
    if path:
        try:
            return get_lexer_for_filename(path, **opts)
        except ClassNotFound:
            pass
    return None


def line_highlights(lines: list[str], lexer: Lexer) -> dict[int, list[tuple[int, int | None, str]]]:
    """Per line, (start byte, end byte, highlight name) ranges, as TextArea draws them."""
    out: dict[int, list[tuple[int, int | None, str]]] = {}
    cache: dict = {}
    row = 0
    col = 0  # byte column in the current line
    for tok, value in lexer.get_tokens("\n".join(lines)):
        name = _highlight_name(tok, cache)
        parts = value.split("\n")
        for i, part in enumerate(parts):
            if i:
                row += 1
                col = 0
            if not part:
                continue
            width = len(part) if part.isascii() else len(part.encode("utf-8", "surrogatepass"))
            if name is not None:
                out.setdefault(row, []).append((col, col + width, name))
            col += width
    return out


def syntax_theme(app: App) -> TextAreaTheme:
    """A TextArea theme whose syntax colours come from the app's current theme variables."""
    variables = app.get_css_variables()
    styles: dict[str, Style] = {}
    for name, (var, extra) in _SYNTAX.items():
        colour = variables.get(var, "")
        if not colour.startswith("#"):
            colour = ""
        try:
            styles[name] = Style.parse(f"{extra} {colour}".strip() or "none")
        except Exception:
            styles[name] = Style.parse(extra or "none")
    return TextAreaTheme(name="wopt-syntax", syntax_styles=styles)


class CodeArea(TextArea):
    """A TextArea highlighted with pygments (Textual's own highlighting needs tree-sitter)."""

    def __init__(self, text: str = "", *, path: str | None = None, language: str | None = None,
                 **kwargs) -> None:
        self._lexer = find_lexer(path, language)
        self._highlight_gen = 0
        self._highlight_timer: Timer | None = None
        self._highlight_on_mount = False
        super().__init__(text, **kwargs)

    @property
    def lexer_name(self) -> str:
        return self._lexer.name if self._lexer is not None else "plain text"

    def on_mount(self) -> None:
        self._apply_theme()
        self.app.theme_changed_signal.subscribe(self, lambda _t: self._apply_theme())
        if self._highlight_on_mount:
            self._highlight_on_mount = False
            self._highlight_later()

    def _apply_theme(self) -> None:
        self.register_theme(syntax_theme(self.app))
        if self.theme == "wopt-syntax":
            self._set_theme("wopt-syntax")
            self.refresh()
        else:
            self.theme = "wopt-syntax"

    def _build_highlight_map(self) -> None:
        """Called by TextArea after every edit. Small texts are lexed at once; larger ones
        keep their current colours while the person types and are lexed again in a thread
        once typing pauses, so a keystroke never waits for pygments."""
        self._line_cache.clear()
        lexer = getattr(self, "_lexer", None)
        if lexer is None:
            self._highlights.clear()
            return
        lines = self.document.lines
        size = sum(map(len, lines))
        if size > HIGHLIGHT_LIMIT:
            self._highlights.clear()
            return
        if size <= SYNC_HIGHLIGHT_LIMIT:
            self._highlight_gen += 1
            self._highlights.clear()
            self._highlights.update(line_highlights(lines, lexer))
            return
        self._highlight_gen += 1
        if not self.is_mounted:
            self._highlight_on_mount = True
            return
        if self._highlight_timer is not None:
            self._highlight_timer.stop()
        self._highlight_timer = self.set_timer(HIGHLIGHT_PAUSE, self._highlight_later)

    def _highlight_later(self) -> None:
        self._highlight_timer = None
        self._lex_in_thread(list(self.document.lines), self._highlight_gen)

    @work(thread=True, exclusive=True, group="highlight")
    def _lex_in_thread(self, lines: list[str], gen: int) -> None:
        if self._lexer is None:   # only scheduled for a text with a lexer
            return
        highlights = line_highlights(lines, self._lexer)
        self.app.call_from_thread(self._apply_highlights, highlights, gen)

    def _apply_highlights(self, highlights: dict, gen: int) -> None:
        if gen != self._highlight_gen:   # the text changed since: a newer run follows
            return
        self._highlights.clear()
        self._highlights.update(highlights)
        self._line_cache.clear()
        self.refresh()


class EditorScreen(Screen[str | None]):
    """Edit one step's proposed content; dismiss with the text (ctrl+s) or None (escape)."""

    CSS_PATH = "editor.tcss"
    area = getters.query_one(CodeArea)
    state = getters.query_one("#editor-state", Static)

    BINDINGS = [
        Binding("ctrl+s", "save", "Save", id="editor.save", priority=True),
        Binding("escape", "cancel", "Cancel", id="editor.cancel", priority=True),
    ]

    def __init__(self, path: str, text: str, language: str | None = None, *,
                 name: str | None = None, id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self.path = path
        self.original = text
        self.language = language
        self._confirm_discard = False

    def compose(self) -> ComposeResult:
        area = CodeArea(self.original, path=self.path, language=self.language, id="editor-area",
                        soft_wrap=False, tab_behavior="indent", show_line_numbers=True)
        with Horizontal(id="editor-title"):
            yield Static(f"Edit {self.path}", classes="path", markup=False)
            yield Static(area.lexer_name, id="editor-state", markup=False)
        yield area
        yield Static("ctrl+s save and return  ·  escape cancel (twice with unsaved changes)",
                     id="editor-hint")
        yield Footer(show_command_palette=False)

    def on_mount(self) -> None:
        area = self.area
        if self.app.is_headless:
            area.cursor_blink = False   # deterministic snapshots
        area.focus()
        self._show_state()

    @property
    def text(self) -> str:
        return self.area.text

    @property
    def modified(self) -> bool:
        return self.text != self.original

    def _show_state(self) -> None:
        area = self.area
        state = self.state
        row, col = area.cursor_location
        mark = "modified · " if self.modified else ""
        state.update(f"{mark}{area.lexer_name} · {row + 1}:{col + 1}")
        state.set_class(self.modified, "-modified")

    @on(TextArea.Changed)
    @on(TextArea.SelectionChanged)
    def _changed(self) -> None:
        self._confirm_discard = False
        self._show_state()

    def action_save(self) -> None:
        self.dismiss(self.text)

    def action_cancel(self) -> None:
        if self.modified and not self._confirm_discard:
            self._confirm_discard = True
            self.notify("Unsaved changes: press escape again to discard them, ctrl+s to save.",
                        title="Edit", severity="warning")
            return
        self.dismiss(None)


def edit_external(app: App, path: str, text: str) -> str | None:
    """Suspend the app, edit `text` in $VISUAL/$EDITOR, resume; the new text, or None when
    nothing changed, the editor failed, or it cannot run (the person is told why)."""
    from textual.app import SuspendNotSupported

    from wopt.engine.model.editing import edit_text
    from wopt.engine.model.errors import WoptError

    try:
        try:
            with app.suspend():
                result = edit_text(path, text)
        except SuspendNotSupported:
            if not app.is_headless:
                app.notify("This terminal cannot hand itself to an external editor; "
                           "use the built-in editor (e).", title="Edit", severity="error")
                return None
            result = edit_text(path, text)  # no terminal to give away (tests, pipes)
    except WoptError as e:
        app.notify(str(e), title="Edit", severity="error")
        return None
    app.refresh()
    return result


__all__ = ["EditorScreen", "CodeArea", "edit_external", "find_lexer",
           "line_highlights", "syntax_theme"]
