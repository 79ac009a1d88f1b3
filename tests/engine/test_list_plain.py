"""`wopt list` written without rich when stdout is not a terminal and the table fits: the same
bytes rich writes there, for any queue and width; rich is used (and imported) where it must be
(a table wider than the console, a cell rich would wrap or read as markup, an unreadable plan)."""
from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from plain_vs_rich import at_widths, both_ways, no_forcing
from wopt.engine.cli import common
from wopt.engine.cli.main import main

QUEUES = {
    "one": [("p-one", "fix the parser", 3)],
    "several": [("20261201-180001-0001", "diff refactor.diff", 210), ("codex-7", None, 1),
                ("aider-2026", "aider edits of the auth module", 12)],
    "long titles": [(f"plan-{i}", "rename every handler " + "x" * (10 * i), i) for i in range(1, 6)],
    "awkward titles": [("a", "[red]not markup[/]", 1), ("b", "two  spaces", 2), ("c", "caf\u00e9", 3),
                       ("d", "C:\\path :smile:", 4)],
}
WIDTHS = [None, "30", "60", "80", "100", "132", "250"]


def _queue(root: Path, plans: list[tuple[str, str | None, int]]) -> None:
    (root / ".git").mkdir(exist_ok=True)
    for k, (pid, title, n) in enumerate(plans):
        plan = {"version": 1, "id": pid, "created": f"2026-12-01T18:{k:02d}:00Z",
                "steps": [{"kind": "write", "id": f"s{i}", "path": f"{pid}/f{i}.txt", "content": f"{i}\n"}
                          for i in range(n)]}
        if title is not None:
            plan["title"] = title
        f = root / f"{pid}.json"
        f.write_text(json.dumps(plan))
        assert main(["ingest", str(f), "--root", str(root)]) == 0
        f.unlink()


def _out(capsys, root: Path) -> str:
    common._console = None          # a console of the width in force
    assert main(["list", "--root", str(root)]) == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("name", list(QUEUES))
def test_the_plain_table_is_what_rich_prints(tmp_path, capsys, monkeypatch, name):
    no_forcing(monkeypatch)
    _queue(tmp_path, QUEUES[name])
    capsys.readouterr()
    plain_used = at_widths(monkeypatch, WIDTHS, lambda: _out(capsys, tmp_path))
    if name == "several":     # 107 columns wide: rich narrows it below that, else it is written plainly
        assert plain_used == [False, False, False, False, False, True, True], plain_used
    if name == "awkward titles":
        assert not any(plain_used)


def test_random_queues_and_widths(tmp_path, capsys, monkeypatch):
    no_forcing(monkeypatch)
    rnd = random.Random(11)
    words = ["a", "plan", "x" * 30, "refactor-auth", "diff", "y" * 70, "-", "z9"]
    used = []
    for n in range(25):
        root = tmp_path / f"q{n}"
        root.mkdir()
        plans = [(f"p{n}-{i}-" + rnd.choice(words), " ".join(rnd.choice(words) for _ in range(rnd.randint(0, 4))) or None,
                  rnd.randint(1, 4)) for i in range(rnd.randint(1, 4))]
        _queue(root, plans)
        capsys.readouterr()
        monkeypatch.setenv("COLUMNS", str(rnd.randint(30, 220)))
        mine, theirs, plain = both_ways(monkeypatch, lambda: _out(capsys, root))
        assert mine == theirs, (n, plans)
        used.append(plain)
    assert len(used) == 25 and 5 <= sum(used) < 25, sum(used)   # both ways taken


def test_an_unreadable_plan_is_drawn_by_rich(tmp_path, capsys, monkeypatch):
    no_forcing(monkeypatch)
    monkeypatch.setenv("COLUMNS", "200")
    _queue(tmp_path, QUEUES["one"])
    (tmp_path / ".wopt" / "plans" / "p-one.json").write_text("{not json")
    capsys.readouterr()
    called = []
    monkeypatch.setattr(common, "plain_table", lambda *a, **k: called.append(1))
    out = _out(capsys, tmp_path)
    assert "unreadable" in out and "not valid JSON" in out and not called


def test_list_does_not_import_rich_when_written_plainly(tmp_path):
    _queue(tmp_path, QUEUES["several"])
    env = {**{k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TTY_COMPATIBLE")}, "COLUMNS": "120"}
    code = "import sys; from wopt.engine.cli.main import main; rc = main(['list']); " \
           "print('RICH' if any(m.split('.')[0] == 'rich' for m in sys.modules) else 'NO-RICH'); sys.exit(rc)"
    r = subprocess.run([sys.executable, "-c", code], cwd=str(tmp_path), capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[-1] == "NO-RICH", r.stdout
    assert lines[0].split() == ["plan", "source", "title", "steps", "files", "reviewed", "created"]
    assert any(ln.split()[:1] == ["codex-7"] and "1/1" not in ln and "0/1" in ln for ln in lines), r.stdout
    r = subprocess.run([sys.executable, "-c", code], cwd=str(tmp_path), capture_output=True, text=True,
                       env={**env, "FORCE_COLOR": "1"})
    assert r.returncode == 0 and r.stdout.splitlines()[-1] == "RICH" and "\x1b[" in r.stdout


def test_a_cell_called_plain_is_printed_by_rich_as_it_is():
    """The emoji rule of `_plain_cell` against rich itself: random cells of digits, colons,
    letters and spaces (times, `:100:`, `:a:`, `1:2:3`), each as rich prints it in a table."""
    import io

    from rich.console import Console
    from rich.table import Table
    rnd = random.Random(5)
    plain = 0
    for n in range(3000):
        cell = "".join(rnd.choice("0123456789::: ab+-") for _ in range(rnd.randint(1, 12))).strip()
        if not cell or not common._plain_cell(cell):
            continue
        plain += 1
        c = Console(file=io.StringIO(), width=200, highlight=False)
        t = Table(box=None, show_header=False)
        t.add_column("x", no_wrap=True)
        t.add_row(cell)
        c.print(t)
        assert c.file.getvalue() == f" {cell} \n", cell
    assert plain > 300, plain
    assert common._plain_cell("2026-12-01T18:05:09Z") and not common._plain_cell("a :100: b")
    assert not common._plain_cell(":smile:") and not common._plain_cell("1:100:2")
