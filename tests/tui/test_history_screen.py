"""HistoryScreen on a real workspace: transactions applied by the engine, undo of a selected
one (bytes on disk), a refused undo, and the stats figures with sparklines."""
from __future__ import annotations

import asyncio
import functools
from pathlib import Path

from textual.app import App
from textual.widgets import DataTable, Sparkline, Static

from wopt.engine.store import history
from wopt.engine.tx.apply import apply_plan
from wopt.engine.store.ingest import ingest
from wopt.engine.model.plan import Plan, WriteStep
from wopt.engine.store.workspace import Workspace
from wopt.tui.screens.history import HistoryScreen


def run(coro_fn):
    @functools.wraps(coro_fn)
    def wrapper(*a, **kw):
        return asyncio.run(coro_fn(*a, **kw))
    return wrapper


class Host(App):
    def __init__(self, ws):
        super().__init__()
        self.ws = ws
        self.closed = 0

    def on_mount(self) -> None:
        self.theme = "textual-dark"
        self.push_screen(HistoryScreen(self.ws), lambda _r: setattr(self, "closed", self.closed + 1))


async def settle(pilot):
    from textual.worker import WorkerFailed
    for _ in range(3):
        try:
            await pilot.app.workers.wait_for_complete()
        except WorkerFailed:
            pass            # the screen shows the failure; the test checks what it shows
        await pilot.pause()


def two_applies(root: Path) -> tuple[Workspace, list]:
    (root / "src").mkdir(parents=True)
    (root / "src/a.py").write_bytes(b"A = 1\n")
    ws = Workspace(root)
    results = []
    for i, content in enumerate(["A = 2\n", "A = 3\n"]):
        plan = Plan(id=f"plan-{i}", title=f"change {i}",
                    steps=[WriteStep(id="s1", path="src/a.py", content=content),
                           WriteStep(id="s2", path=f"src/new{i}.py", content=f"N = {i}\n")])
        ingest(ws, plan)
        results.append(apply_plan(ws, plan))
    return ws, results


@run
async def test_lists_transactions_newest_first_with_stats(tmp_path):
    ws, (r1, r2) = two_applies(tmp_path)
    app = Host(ws)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(DataTable)
        assert table.row_count == 2
        assert table.get_row_at(0)[1] == r2.tx and table.get_row_at(1)[1] == r1.tx
        figures = str(app.screen.query_one("#history-figures", Static).render())
        assert "transactions" in figures and "applies" in figures and "files written" in figures
        assert "4" in figures                       # 2 + 2 files
        assert len(app.screen.query_one("#spark-seconds", Sparkline).data) == 2
        assert app.screen.query_one("#spark-rollbacks", Sparkline).data == [0.0, 0.0]


@run
async def test_undo_selected_transaction_restores_bytes(tmp_path):
    ws, (r1, r2) = two_applies(tmp_path)
    app = Host(ws)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await pilot.press("u")                        # the newest: r2; first press asks
        await settle(pilot)
        assert "Press u again" in str(app.screen.query_one("#history-status", Static).render())
        assert (tmp_path / "src/a.py").read_bytes() == b"A = 3\n"
        await pilot.press("u")
        await settle(pilot)
        assert (tmp_path / "src/a.py").read_bytes() == b"A = 2\n"
        assert not (tmp_path / "src/new1.py").exists()
        assert (tmp_path / "src/new0.py").read_bytes() == b"N = 0\n"
        table = app.screen.query_one(DataTable)
        assert table.row_count == 3                   # the undo is a transaction of its own
        states = {table.get_row_at(i)[1]: str(table.get_row_at(i)[8]) for i in range(3)}
        assert states[r2.tx] == "undone" and states[r1.tx] == "undoable"
        assert list(states.values())[0] == "redoable"
        assert "Undone: 2 files" in str(app.screen.query_one("#history-status", Static).render())
        # the cursor stayed on the undone apply: it cannot be undone again
        assert app.screen._selected_tx() == r2.tx
        await pilot.press("u", "u")
        await settle(pilot)
        assert table.row_count == 3
        # undoing the undo redoes the apply; a move between the presses cancels
        await pilot.press("g", "u", "j", "k", "u")
        await settle(pilot)
        assert table.row_count == 3 and (tmp_path / "src/a.py").read_bytes() == b"A = 2\n"
        await pilot.press("u")
        await settle(pilot)
        assert table.row_count == 4
        assert (tmp_path / "src/a.py").read_bytes() == b"A = 3\n"
        assert (tmp_path / "src/new1.py").read_bytes() == b"N = 1\n"
        await pilot.press("escape")
        await pilot.pause()
    assert app.closed == 1


@run
async def test_refused_undo_names_the_changed_file_and_touches_nothing(tmp_path):
    ws, (r1, r2) = two_applies(tmp_path)
    (tmp_path / "src/a.py").write_bytes(b"A = 99  # edited by hand\n")
    app = Host(ws)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await pilot.press("u", "u")
        await settle(pilot)
        status = str(app.screen.query_one("#history-status", Static).render())
        assert status.startswith("Undo refused") and "src/a.py" in status
    assert (tmp_path / "src/a.py").read_bytes() == b"A = 99  # edited by hand\n"
    assert (tmp_path / "src/new1.py").exists()


@run
async def test_empty_history_says_so(tmp_path):
    app = Host(Workspace(tmp_path))
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        assert "No transaction yet" in str(app.screen.query_one("#history-status", Static).render())
        await pilot.press("u")
        await settle(pilot)


def fixed_history(root: Path) -> Workspace:
    ws = Workspace(root)
    recs = []
    for i in range(12):
        outcome = "rolled_back" if i in (4, 9) else "committed"
        recs.append({"tx": f"20260101-10{i:02d}00-abcd{i:02d}", "plan": f"plan-{i % 3}", "kind": "apply",
                     "mode": "rename", "outcome": outcome, "started": f"2026-01-01T10:{i:02d}:00Z",
                     "files": 10 + 7 * i, "ops": {"create": 2, "replace": 8 + 7 * i, "delete": 0, "chmod": 0,
                                                  "move": 0},
                     "bytes": 4096 * (i + 1), "durations": {"prepare": 0.01 * (i % 5 + 1), "commit": 0.02},
                     "fsyncs": 4, "steps": [], "paths": []})
    recs.append({"tx": "20260101-113000-undo01", "plan": "plan-2", "kind": "undo", "mode": "rename",
                 "outcome": "committed", "started": "2026-01-01T11:30:00Z", "files": 87, "bytes": 40960,
                 "durations": {"commit": 0.03}, "fsyncs": 3, "undoes": "20260101-101100-abcd11"})
    for r in recs:
        history.append(ws, r)
    return ws


def test_snapshot_history(snap_compare, tmp_path):
    async def before(pilot):
        await settle(pilot)
    assert snap_compare(Host(fixed_history(tmp_path)), run_before=before, terminal_size=(120, 36))
