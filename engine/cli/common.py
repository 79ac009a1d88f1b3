"""Helpers shared by the command modules: the workspace of a command, recovery at start,
JSON and rich output. rich is imported only when something is printed with it."""
from __future__ import annotations

import os
import sys

from ..store.workspace import Workspace, find_root


def workspace(args, *, recover: bool = True) -> Workspace:
    """The command's workspace; first rolls back any unfinished transaction, and says so."""
    ws = Workspace(find_root(getattr(args, "root", None)))
    if recover:
        run_recovery(ws, quiet=False)
    return ws


# transaction.COMMITTED and UNDONE, spelt out so a journal of finished transactions costs no
# import of the transaction layer (a test keeps them equal)
FINISHED = (".committed", ".undone")


def run_recovery(ws: Workspace, *, quiet: bool) -> list:
    try:
        names = os.listdir(ws.spool / "journal")
    except (FileNotFoundError, NotADirectoryError):
        return []
    if not names or only_finished(ws, names):
        return []   # nothing unfinished in the journal: no need to load the transaction layer
    from ..tx import recovery
    if not recovery.needs_recovery(ws):
        return []
    reports = recovery.recover(ws)
    if not quiet:
        for r in reports:
            sys.stderr.write(f"wopt: {r}\n")
    return reports


def only_finished(ws: Workspace, names: list[str]) -> bool:
    """True when the journal `names` holds only finished transactions (`<tx>.committed` or
    `<tx>.undone` manifests and the backup directories `<tx>` of those), so recovery has
    nothing to do (what recovery.needs_recovery finds then, without its imports). A symlinked
    spool or journal is left to recovery, which reports it."""
    done = set()
    for n in names:
        if n.endswith(FINISHED):
            done.add(n.rsplit(".", 1)[0])
    for n in names:
        if not (n.endswith(FINISHED) or ("." not in n and n in done)):
            return False
    return not (os.path.islink(ws.spool) or os.path.islink(ws.spool / "journal"))


def print_json(obj) -> None:
    """`obj` as indented JSON (as json.dumps(indent=2, ensure_ascii=False) writes it, at C speed)."""
    write_bytes(json_bytes(obj))


def json_bytes(obj) -> bytes:
    """What print_json writes, as UTF-8 bytes."""
    import msgspec
    return msgspec.json.format(msgspec.json.encode(obj, enc_hook=str), indent=2) + b"\n"


def write_bytes(data: bytes) -> None:
    """UTF-8 text to stdout: straight to its buffer when stdout writes UTF-8 (no decoding and
    encoding again of a large output), else as text."""
    out = sys.stdout
    enc = (getattr(out, "encoding", None) or "").lower().replace("_", "-")
    buf = getattr(out, "buffer", None)
    if buf is not None and enc in ("utf-8", "utf8"):
        out.flush()
        buf.write(data)
        buf.flush()
    else:
        out.write(data.decode("utf-8"))


_console = None


def console():
    global _console
    if _console is None:
        from rich.console import Console
        _console = Console(highlight=False)
    return _console


def err_console():
    from rich.console import Console
    return Console(stderr=True, highlight=False)


def _plain_width() -> int | None:
    """The width rich's console would use for stdout when it writes plain text there (stdout
    not a terminal, nothing forcing colour or a notebook's width); None otherwise."""
    if sys.stdout.isatty():
        return None
    if {"FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "JUPYTER_COLUMNS"} & set(os.environ):
        return None
    columns = os.environ.get("COLUMNS", "")
    width = int(columns) if columns.isdigit() else None
    if width is None:
        for fd in (0, 1, 2):
            try:
                width = os.get_terminal_size(fd).columns
                break
            except (OSError, ValueError):
                continue
    return width or 80


def rich_would_print_plainly(text: str) -> bool:
    """True when rich's console would write `text` (plain ASCII, no markup) to stdout as it
    is, on one line: stdout is not a terminal, nothing forces colour, and the line fits the
    width rich would use. Then it is written without loading rich."""
    if not text.isascii() or not text.isprintable() or ":" in text.replace(": ", ""):
        return False
    width = _plain_width()
    return width is not None and len(text) < width


def _plain_cell(text: str) -> bool:
    """A cell rich prints as it is: printable ASCII, no markup or emoji code, no run of spaces
    or space at an end (that wrapping could move)."""
    return (text.isascii() and text.isprintable() and not any(c in text for c in "[]\\")
            and "  " not in text and text == text.strip() and _no_emoji_code(text))


def _no_emoji_code(text: str) -> bool:
    """True when rich's emoji replacement leaves `text` as it is, decided without loading its
    table of names: rich reads a code only between two colons with no space between them, so
    every run between two colons holds a space or is one or two digits (no emoji is named so:
    its numeric names are 100 and 1234). Times (`18:05:09`) pass; `:smile:` does not."""
    return all(" " in p or (p.isdigit() and len(p) <= 2) for p in text.split(":")[1:-1])


def plain_table(header: list[str], rows: list[list[str]], *, right: frozenset[int] = frozenset(),
                min_widths: dict[int, int] | None = None, fold: frozenset[int] = frozenset()) -> str | None:
    """What rich prints for `Table(box=None)` of these columns (default padding, a header row
    in a style only a terminal shows, no width or max width set; `right` the columns justified
    right, `min_widths` their min_width, `fold` those with overflow="fold" that may wrap, the
    others no_wrap) and rows of plain cells, when that is plain text: stdout not a terminal,
    nothing forcing colour, and every cell plain. A table wider than the console is narrowed as
    rich narrows it (the widest foldable columns first); a cell too long for its column then
    folds into lines, which is written here only for cells without spaces (no word wrapping).
    None when rich must print it."""
    width = _plain_width()
    table = [header, *rows]
    if width is None or not all(_plain_cell(c) for row in table for c in row):
        return None
    min_widths = min_widths or {}
    ncol = len(header)
    # column widths with their padding (one space each side), as rich's Table measures them
    widths = [max([len(row[i]) for row in table] + [min_widths.get(i, 0)]) + 2 for i in range(ncol)]
    if sum(widths) > width:
        wrapable = [i in fold for i in range(ncol)]
        widths = _collapse_widths(widths, wrapable, width)
        if sum(widths) > width:
            return None   # rich then shrinks every column: left to rich
        widths = [max(min(max(len(row[i]) for row in table) + 2, w), min_widths.get(i, 0) + 2)
                  for i, w in enumerate(widths)]
        if sum(widths) > width:
            return None   # a min_width took back more than the console has: left to rich
    inner = [w - 2 for w in widths]
    if min(inner) < 1:
        return None
    out = []
    for row in table:
        cells: list[list[str]] = []
        for i, c in enumerate(row):
            if len(c) <= inner[i]:
                cells.append([c])
            elif i in fold and " " not in c:
                cells.append([c[k:k + inner[i]] for k in range(0, len(c), inner[i])])
            else:
                return None   # word wrapping: left to rich
        height = max(len(x) for x in cells)
        if row is header:   # rich aligns a header row's cells to its bottom, the others to the top
            cells = [[""] * (height - len(x)) + x if len(x) < height else x for x in cells]
        for k in range(height):
            out.append("".join(
                " " + ((x[k].rjust(w) if i in right else x[k].ljust(w)) if k < len(x) else " " * w) + " "
                for i, (x, w) in enumerate(zip(cells, inner))))
    return "\n".join(out) + "\n"


def _ratio_reduce(total: int, ratios: list[int], maximums: list[int], values: list[int]) -> list[int]:
    """rich's ratio_reduce (rich/_ratio.py): take `total` from `values` in proportion to `ratios`."""
    ratios = [r if m else 0 for r, m in zip(ratios, maximums)]
    total_ratio = sum(ratios)
    if not total_ratio:
        return values[:]
    remaining = total
    result = []
    for r, m, v in zip(ratios, maximums, values):
        if r and total_ratio > 0:
            distributed = min(m, round(r * remaining / total_ratio))
            result.append(v - distributed)
            remaining -= distributed
            total_ratio -= r
        else:
            result.append(v)
    return result


def _collapse_widths(widths: list[int], wrapable: list[bool], max_width: int) -> list[int]:
    """rich's Table._collapse_widths: narrow the widest wrapable columns until the table fits."""
    total = sum(widths)
    excess = total - max_width
    if any(wrapable):
        while total and excess > 0:
            widest = max(w for w, ok in zip(widths, wrapable) if ok)
            second = max(w if ok and w != widest else 0 for w, ok in zip(widths, wrapable))
            diff = widest - second
            ratios = [1 if (w == widest and ok) else 0 for w, ok in zip(widths, wrapable)]
            if not any(ratios) or not diff:
                break
            widths = _ratio_reduce(excess, ratios, [min(excess, diff)] * len(widths), widths)
            total = sum(widths)
            excess = total - max_width
    return widths
