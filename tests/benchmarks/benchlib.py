"""Shared by the benchmarks: the tiny mode (`WOPT_BENCH_TINY=1`: every benchmark runs at a
tiny size for correctness only, no timing asserted; `./dev test` runs it), process timing and
the target check."""
from __future__ import annotations

import os
import statistics
import subprocess
import time

TINY = os.environ.get("WOPT_BENCH_TINY") == "1"


def size(full, tiny):
    return tiny if TINY else full


def target(ok: bool, message: str) -> None:
    """Assert a timing target, except in the tiny run (sizes too small to time)."""
    if not TINY:
        assert ok, message


def run(cmd: list[str], cwd, *, ok=(0,), env=None) -> float:
    """Wall seconds of one whole process, its output thrown away; its exit code checked."""
    t = time.perf_counter()
    r = subprocess.run(cmd, cwd=str(cwd), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    dt = time.perf_counter() - t
    assert r.returncode in ok, f"{' '.join(map(str, cmd))} exited {r.returncode}: {r.stderr.decode()[-2000:]}"
    return dt


def median(xs) -> float:
    return statistics.median(xs)


def line(name: str, figure: float, base_name: str, base: float, goal: float) -> str:
    ratio = figure / base
    met = "met" if ratio <= goal else "NOT met"
    return (f"| {name} | {figure * 1000:.0f} ms | {base_name} {base * 1000:.0f} ms | {ratio:.2f}x | "
            f"<= {goal:g}x | {met} |")
