"""`wopt history` written without rich when stdout is not a terminal: the same bytes rich
writes there, for any history and width; rich is used (and imported) only where it must be."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from plain_vs_rich import at_widths, both_ways, no_forcing
from wopt.engine.cli import common
from wopt.engine.cli.main import main
from wopt.engine.store.history_record import HistoryRecord


def _rec(i: int, **kw) -> dict:
    base = dict(tx=f"20261201-18{i:04d}-{i * 7919 % 10000:04d}", plan=f"20261201-1800{i:02d}-{i:04d}",
                kind="apply", mode="journal", outcome="committed", started=None, files=i * 3, bytes=i ** 5 * 997)
    base.update(kw)
    return HistoryRecord(**base).to_json()


HISTORIES = {
    "one": [_rec(1)],
    "mixed": [_rec(1), _rec(2, mode="rename"), _rec(3, kind="undo", undoes="20261201-180001-7919", mode=None),
              _rec(4, outcome="rolled_back", error="disk full while writing"),
              _rec(5, outcome="refused", error="pkg/a.py changed since the plan was made"),
              _rec(6, files=0, bytes=0, mode=None)],
    "long plan ids": [_rec(i, plan="refactor-" + "x" * (8 * i)) for i in range(1, 8)],
    "awkward notes": [_rec(1, outcome="rolled_back", error="error: [red]not markup[/] C:\\path :smile:"),
                      _rec(2, outcome="refused", error="two  spaces and a trailing one "),
                      _rec(3, outcome="refused", error="caf\u00e9 " + "long words " * 20),
                      _rec(4, plan=None, mode=None)],
    "many": [_rec(i, bytes=10 ** (i % 12)) for i in range(40)],
}
WIDTHS = [None, "30", "60", "70", "80", "90", "100", "132", "250"]


def _history(root: Path, recs: list[dict]) -> None:
    (root / ".git").mkdir(exist_ok=True)
    (root / ".wopt").mkdir(exist_ok=True)
    (root / ".wopt" / "history.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))


def _out(capsys, root: Path) -> str:
    common._console = None          # a console of the width in force
    assert main(["history", "--root", str(root)]) == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("name", list(HISTORIES))
def test_the_plain_table_is_what_rich_prints(tmp_path, capsys, monkeypatch, name):
    no_forcing(monkeypatch)
    _history(tmp_path, HISTORIES[name])
    plain_used = at_widths(monkeypatch, WIDTHS, lambda: _out(capsys, tmp_path))
    if name in ("one", "long plan ids"):   # 80 columns and more (long plan ids folded)
        assert plain_used[:2] == [True, False] and plain_used[4:] == [True] * 5, plain_used
    if name == "awkward notes":
        assert not any(plain_used)


def test_history_does_not_import_rich_when_written_plainly(tmp_path):
    _history(tmp_path, HISTORIES["one"] + [_rec(2, plan="x" * 70)])
    env = {**{k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TTY_COMPATIBLE")}, "COLUMNS": "100"}
    code = "import sys; from wopt.engine.cli.main import main; rc = main(['history']); " \
           "print('RICH' if any(m.split('.')[0] == 'rich' for m in sys.modules) else 'NO-RICH'); sys.exit(rc)"
    r = subprocess.run([sys.executable, "-c", code], cwd=str(tmp_path), capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[-1] == "NO-RICH" and "20261201-180001-7919" in r.stdout
    r = subprocess.run([sys.executable, "-c", code], cwd=str(tmp_path), capture_output=True, text=True,
                       env={**env, "FORCE_COLOR": "1"})
    assert r.returncode == 0 and r.stdout.splitlines()[-1] == "RICH" and "\x1b[" in r.stdout


def test_random_histories_and_widths(tmp_path, capsys, monkeypatch):
    import random
    rnd = random.Random(9)
    no_forcing(monkeypatch)
    words = ["a", "plan", "x" * 30, "refactor-auth", "undo", "y" * 90, "-", "z9"]
    used = []
    for n in range(40):
        recs = []
        for i in range(rnd.randint(1, 6)):
            plan = "-".join(rnd.choice(words) for _ in range(rnd.randint(1, 3)))
            err = " ".join(rnd.choice(words) for _ in range(rnd.randint(0, 4))) or None
            recs.append(_rec(i + 1, plan=plan, mode=rnd.choice(["journal", "rename", None]),
                             outcome=rnd.choice(["committed", "rolled_back", "refused"]),
                             error=err, bytes=rnd.randint(0, 10 ** rnd.randint(1, 12))))
        _history(tmp_path, recs)
        monkeypatch.setenv("COLUMNS", str(rnd.randint(20, 220)))
        mine, theirs, plain = both_ways(monkeypatch, lambda: _out(capsys, tmp_path))
        assert mine == theirs, (n, recs)
        used.append(plain)
    assert len(used) == 40 and 10 <= sum(used) < 40, sum(used)   # both ways taken
