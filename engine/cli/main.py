"""`wopt`: the headless side of wopt. Never imports Textual.

Each command lives in a module `cmd_*.py` of this package exposing `register(subparsers)`;
the modules are found here, so adding a command touches no shared list. Command modules keep
their top-level imports light (argparse only): the hook runs on every agent write.
"""
from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys

from ..errors import WoptError

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
    import wopt.engine.cli as pkg
    mods = []
    for info in pkgutil.iter_modules(pkg.__path__):
        if info.name.startswith("cmd_"):
            mods.append(importlib.import_module(f"{pkg.__name__}.{info.name}"))
    mods.sort(key=lambda m: (getattr(m, "ORDER", 50), m.__name__))
    return mods


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--root", metavar="DIR", default=argparse.SUPPRESS,
                        help="workspace root (default: git top level, else the current directory)")
    p = _Parser(prog="wopt", description="Review, shape and apply coding agents' file writes "
                "as one atomic, undoable transaction.", epilog=EPILOG,
                formatter_class=argparse.RawDescriptionHelpFormatter, parents=[common])
    p.add_argument("--version", action="version", version=f"wopt {_version()}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for mod in command_modules():
        mod.register(sub, common)
    return p


def _version() -> str:
    try:
        from importlib.metadata import version
        return version("wopt")
    except Exception:
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["hook"] and not {"-h", "--help"} & set(argv):
        # the Claude Code hook runs on every agent write: skip discovering every command
        from .cmd_hook import fast_main
        return fast_main(argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        rc = args.func(args)
        return int(rc or 0)
    except WoptError as e:
        _err(str(e))
        return e.exit_code
    except KeyboardInterrupt:
        _err("interrupted")
        return 1
    except BrokenPipeError:
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return 1
    except OSError as e:
        where = f" ({e.filename})" if getattr(e, "filename", None) else ""
        _err(f"{e.strerror or e}{where}")
        return 1


def _err(msg: str) -> None:
    sys.stderr.write(f"wopt: error: {msg}\n")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
