"""Shared by the tests of tables written without rich (`common.plain_table`): print a table
both ways, the plain writer's and rich's, and say which way each print took."""
from __future__ import annotations

from typing import Callable

from wopt.engine.cli import common

FORCING = ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "NO_COLOR")


def no_forcing(monkeypatch) -> None:
    """Nothing in the environment forces colour or a terminal on rich."""
    for k in FORCING:
        monkeypatch.delenv(k, raising=False)


def both_ways(monkeypatch, out: Callable[[], str]) -> tuple[str, str, bool]:
    """(what `out()` prints with the plain writer allowed, what it prints with rich only,
    whether the plain writer wrote it)."""
    real, used = common.plain_table, []

    def spy(*a, **k):
        got = real(*a, **k)
        used.append(got is not None)
        return got
    with monkeypatch.context() as m:
        m.setattr(common, "plain_table", spy)
        mine = out()
    with monkeypatch.context() as m:
        m.setattr(common, "plain_table", lambda *a, **k: None)    # rich prints it
        theirs = out()
    assert len(used) <= 1, used
    return mine, theirs, bool(used and used[0])


def at_widths(monkeypatch, widths, out: Callable[[], str]) -> list[bool]:
    """Print at each width (COLUMNS, None for unset): rich's bytes either way; which way each
    took."""
    plain = []
    for width in widths:
        if width is None:
            monkeypatch.delenv("COLUMNS", raising=False)
        else:
            monkeypatch.setenv("COLUMNS", width)
        mine, theirs, used = both_ways(monkeypatch, out)
        assert mine == theirs, width
        plain.append(used)
    return plain
