"""`wopt-tui`: the review app's command line. Parses arguments before importing Textual, so
`--help` is instant."""
from __future__ import annotations

import argparse
import sys


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="wopt-tui",
        description="Review coding agents' pending write plans: batches in dependency order, "
        "syntax-highlighted diffs, template families; approve, reject or edit each step, then "
        "apply the approved set as one atomic, undoable transaction.",
        epilog="Keys: ? shows every key binding; ctrl+p opens the command palette.\n"
        "Try it with no repository of your own: wopt-tui --demo",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("targets", nargs="*", metavar="PLAN|DIR",
                   help="plans to open (id or file), or a workspace directory")
    p.add_argument("--root", metavar="DIR", help="workspace root (default: git top level, else the current directory)")
    p.add_argument("--theme", metavar="NAME", help="colour theme: wopt-dark, wopt-light, wopt-high-contrast")
    p.add_argument("--demo", action="store_true",
                   help="copy a bundled sample project and plans into a temporary workspace and open it")
    return p


def theme_names() -> list[str]:
    """Every theme `--theme` accepts: wopt's built-in themes, then the user's own."""
    from wopt.engine.store.config import builtin_themes, user_themes
    return [t.name for t in builtin_themes()] + [t.name for t in user_themes()[0]]


def check_theme(parser: argparse.ArgumentParser, name: str | None) -> None:
    """A `--theme` that names no theme is a usage error (exit 2), like any bad argument."""
    if not name:
        return
    names = theme_names()
    if name in names or f"wopt-{name}" in names or name.replace("_", "-") in names:
        return
    parser.error(f"argument --theme: unknown theme {name!r} (choose from {', '.join(names)})")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    check_theme(parser, args.theme)
    from .app import run
    return run(args)


def entry() -> None:
    """The `wopt-tui` command: `main` with the garbage collector run by tui/gcpolicy.py,
    then the process ends at once, without freeing the plan's objects and widgets one by one
    (0.15-0.25 s after a 10,000-step plan; see wopt.engine.cli.procexit)."""
    from . import gcpolicy
    gcpolicy.start()
    code = main()
    from wopt.engine.cli.procexit import exit_now

    from .driver import abandoned
    exit_now(code, abandon=abandoned)


if __name__ == "__main__":  # pragma: no cover
    entry()
