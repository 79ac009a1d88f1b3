"""The `wopt` command line's parser: every command module `cmd_*.py` of this package exposes
`register(subparsers, common)`; they are found here, so adding a command touches no shared list.
Imported only for commands other than the hook's fast path (`wopt hook` runs on every agent
write and needs none of argparse or importlib)."""
from __future__ import annotations

import argparse
import importlib
import os
import sys

EPILOG = """\
Exit codes: 0 done, 1 refused or failed (stale, invalid, conflict), 2 usage.
PLAN is a plan id (or a unique prefix of one) from `wopt list`, or a path to a plan file.
The workspace is --root, else the git top level, else the current directory.
Review and apply interactively with `wopt-tui`."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # usage errors: exit 2 with a hint, no traceback
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n(see `{self.prog} --help`)\n")


def command_modules() -> list:
    # the package's own folder, listed (pkgutil.iter_modules costs an import of inspect)
    names = {n[:-3] for n in os.listdir(os.path.dirname(os.path.abspath(__file__)))
             if n.startswith("cmd_") and n.endswith(".py")}
    mods = [importlib.import_module(f"{__package__}.{n}") for n in sorted(names)]
    mods.sort(key=lambda m: (getattr(m, "ORDER", 50), m.__name__))
    return mods


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command, or only of `command` when a module declares it in its
    COMMANDS (registering every command costs their imports on each call)."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--root", metavar="DIR", default=argparse.SUPPRESS,
                        help="workspace root (default: git top level, else the current directory)")
    p = _Parser(prog="wopt", description="Review, shape and apply coding agents' file writes "
                "as one atomic, undoable transaction.", epilog=EPILOG,
                formatter_class=argparse.RawDescriptionHelpFormatter, parents=[common])
    p.add_argument("--version", action=_Version, nargs=0, help="show program's version number and exit")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    mods = command_modules()
    if command is not None:
        own = [m for m in mods if command in getattr(m, "COMMANDS", ())]
        if len(own) == 1:
            mods = own
    for mod in mods:
        mod.register(sub, common)
    return p


class _Version(argparse.Action):
    """--version, with the version looked up only when asked (importlib.metadata is slow)."""

    def __call__(self, parser, namespace, values, option_string=None):
        sys.stdout.write(f"wopt {_version()}\n")
        parser.exit(0)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("wopt")
    except PackageNotFoundError:
        return "unknown"
