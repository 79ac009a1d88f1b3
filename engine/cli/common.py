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


def rich_would_print_plainly(text: str) -> bool:
    """True when rich's console would write `text` (plain ASCII, no markup) to stdout as it
    is, on one line: stdout is not a terminal, nothing forces colour, and the line fits the
    width rich would use. Then it is written without loading rich."""
    if not text.isascii() or not text.isprintable() or ":" in text.replace(": ", "") or sys.stdout.isatty():
        return False
    if {"FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "JUPYTER_COLUMNS"} & set(os.environ):
        return False
    columns = os.environ.get("COLUMNS", "")
    width = int(columns) if columns.isdigit() else None
    if width is None:
        for fd in (0, 1, 2):
            try:
                width = os.get_terminal_size(fd).columns
                break
            except (OSError, ValueError):
                continue
    return len(text) < (80 if width is None else width)

