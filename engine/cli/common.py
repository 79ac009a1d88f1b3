"""Helpers shared by the command modules: the workspace of a command, recovery at start,
JSON and rich output. rich is imported only when something is printed with it."""
from __future__ import annotations

import os
import sys

from ..workspace import Workspace, find_root


def workspace(args, *, recover: bool = True) -> Workspace:
    """The command's workspace; first rolls back any unfinished transaction, and says so."""
    ws = Workspace(find_root(getattr(args, "root", None)))
    if recover:
        run_recovery(ws, quiet=False)
    return ws


def run_recovery(ws: Workspace, *, quiet: bool) -> list:
    try:
        if not os.listdir(ws.spool / "journal"):
            return []   # nothing in the journal: no need to load the transaction layer
    except (FileNotFoundError, NotADirectoryError):
        return []
    from .. import recovery
    if not recovery.needs_recovery(ws):
        return []
    reports = recovery.recover(ws)
    if not quiet:
        for r in reports:
            sys.stderr.write(f"wopt: {r}\n")
    return reports


def print_json(obj) -> None:
    """`obj` as indented JSON (as json.dumps(indent=2, ensure_ascii=False) writes it, at C speed)."""
    import msgspec
    sys.stdout.write(msgspec.json.format(msgspec.json.encode(obj, enc_hook=str), indent=2).decode() + "\n")


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
