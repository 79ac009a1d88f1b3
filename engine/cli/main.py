"""`wopt`: the headless side of wopt. Never imports Textual.

Each command lives in a module `cmd_*.py` of this package exposing `register(subparsers)`;
`parser.py` finds them, so adding a command touches no shared list. This module imports
neither argparse nor the parser before it knows the call is not the hook's fast path: the hook
runs on every agent write.
"""
from __future__ import annotations

import os
import sys

from ..model.errors import WoptError


def build_parser(command: str | None = None):
    """The parser of every command, or only of `command` (see parser.build_parser)."""
    from .parser import build_parser as build
    return build(command)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["hook"] and not {"-h", "--help"} & set(argv):
        # the Claude Code hook runs on every agent write: skip discovering every command
        from .cmd_hook import fast_main
        return fast_main(argv)
    first = next((a for a in argv if not a.startswith("-")), None)
    narrow = first is not None and argv[0] == first   # `wopt CMD ...`: only CMD's module
    parser = build_parser(first if narrow else None)
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
    except Exception as e:  # a bug in wopt: stop with a message, never a traceback
        if os.environ.get("WOPT_DEBUG") == "1":
            raise
        _err(f"internal error ({type(e).__name__}: {e}); this is a bug in wopt. A transaction it "
             "interrupted is rolled back (now, or by the next wopt command). Run again with "
             "WOPT_DEBUG=1 for the traceback, and please report it with `wopt --version`")
        return 1


def entry() -> None:
    """The `wopt` command: `main`, then the process ends without freeing its heap object by
    object (see procexit)."""
    from .procexit import exit_now
    exit_now(main())


def _err(msg: str) -> None:
    sys.stderr.write(f"wopt: error: {msg}\n")


if __name__ == "__main__":  # pragma: no cover
    entry()
