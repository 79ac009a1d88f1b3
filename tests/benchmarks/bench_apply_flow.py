"""Benchmark of the review app's apply flow: does the live progress panel slow an apply?

2,000 new 2 KB files in 40 directories, applied (rename mode) by
  headless  `apply_plan(...)` called directly, no listener
  panel     the same apply run by ApplyFlowScreen in a headless Textual app: the engine's
            events feed the panel from the worker thread, repaints coalesced
Each figure is the median wall time of RUNS applies on fresh trees, from the key press to the
result screen for the panel. Target: panel / headless <= 2 (drawing must not dominate; 1.3-1.6 measured on a busy 2-core machine).
Run: ./dev bench   (or .venv/bin/pytest tests/benchmarks/bench_apply_flow.py -s)
"""
from __future__ import annotations

import asyncio
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from textual.app import App

from wopt.engine.tx.apply import apply_plan
from wopt.engine.store.ingest import ingest
from wopt.engine.model.plan import Plan, WriteStep
from benchlib import size, target
from wopt.engine.store.workspace import Workspace
from wopt.tui.screens.apply import ApplyFlowScreen

N_FILES, N_DIRS, RUNS = size(2000, 20), 40, size(5, 1)


def _fresh(base: Path, name: str) -> tuple[Workspace, Plan]:
    root = base / name
    root.mkdir()
    ws = Workspace(root)
    steps = [WriteStep(id=f"s{i}", path=f"d{i % N_DIRS}/f{i}.txt", content=f"{i:06d} " * 256)
             for i in range(N_FILES)]
    plan = Plan(id="bench", title="bench", steps=steps)
    ingest(ws, plan)
    return ws, plan


def _headless(ws: Workspace, plan: Plan) -> float:
    t = time.perf_counter()
    res = apply_plan(ws, plan)
    dt = time.perf_counter() - t
    assert res.outcome == "committed" and res.files == N_FILES
    return dt


def _panel(ws: Workspace, plan: Plan) -> float:
    class Host(App):
        def on_mount(self) -> None:
            self.push_screen(ApplyFlowScreen(ws, plan, None))

    async def go() -> float:
        app = Host()
        async with app.run_test(size=(120, 36)) as pilot:
            for _ in range(3):
                await app.workers.wait_for_complete()
                await pilot.pause()
            t = time.perf_counter()
            await pilot.press("enter")
            while app.screen.stage != "result":
                await pilot.pause(0.005)
            dt = time.perf_counter() - t
            assert app.screen.result.outcome == "committed" and app.screen.progress.files_done == N_FILES
            return dt
    return asyncio.run(go())


def test_bench_apply_flow_panel_overhead():
    base = Path(tempfile.mkdtemp(prefix="wopt-bench-flow-"))
    try:
        times: dict[str, list[float]] = {"headless": [], "panel": []}
        for r in range(RUNS):               # interleaved, so drift hits both alike
            times["headless"].append(_headless(*_fresh(base, f"h{r}")))
            times["panel"].append(_panel(*_fresh(base, f"p{r}")))
        med = {k: statistics.median(v) for k, v in times.items()}
        ratio = med["panel"] / med["headless"]
        print(f"\napply flow, {N_FILES} files in {N_DIRS} dirs, median of {RUNS}:")
        for k, v in med.items():
            print(f"  {k:<9} {v * 1000:8.1f} ms   {N_FILES / v:8.0f} files/s")
        print(f"  panel / headless = {ratio:.2f} (target <= 2)")
        target(ratio <= 2.0, f"panel/headless {ratio:.2f}")
    finally:
        shutil.rmtree(base, ignore_errors=True)
