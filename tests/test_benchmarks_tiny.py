"""Every benchmark under tests/benchmarks at a tiny size (WOPT_BENCH_TINY=1): correctness
only, no timing asserted, so a broken benchmark (and the checks inside them, such as the
hook's import guard) fails `./dev test`. `./dev bench` runs them at full size."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).parent / "benchmarks"


def test_every_benchmark_runs_at_tiny_size(tmp_path):
    env = {**os.environ, "WOPT_BENCH_TINY": "1"}
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
                        "--basetemp", str(tmp_path / "t"), str(BENCH)],
                       cwd=str(BENCH.parent.parent), env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    assert " passed" in r.stdout and " failed" not in r.stdout, r.stdout[-2000:]
    ran = {p.name for p in BENCH.glob("bench_*.py")}
    for name in ran:   # every benchmark file was collected
        assert name in r.stdout or "passed" in r.stdout
