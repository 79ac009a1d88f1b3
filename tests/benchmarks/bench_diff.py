"""Benchmark of the line diff: a 100,000-line file with 100 scattered one-line changes.

Figures (medians of repeated runs, all in this one run):
  git      `git diff --no-index` on the two files (a process: start-up, read, diff, print)
  wopt     read both files + wopt.engine.analysis.diffs.diff_bytes + unified text
  difflib  read both files + difflib.unified_diff (for reference)

Target: wopt at most 3x git. A second, informational case mixes in inserted and deleted
duplicate lines (blank lines, braces), where the anchored matcher leaves its fastest path.
Run: ./dev bench   (or .venv/bin/pytest tests/benchmarks/bench_diff.py -s)
"""
from __future__ import annotations

import difflib
import random
import shutil
import statistics
import subprocess
import time

import pytest

from benchlib import size, target
from wopt.engine.analysis.diffs import apply_hunks, diff_bytes, unified

N_LINES, N_CHANGES, RUNS = size(100_000, 1_000), 100, size(7, 1)


def _source(rnd: random.Random) -> list[str]:
    """Code-like text: repeated structure (blank lines, braces, returns) and unique lines."""
    out = []
    i = 0
    while len(out) < N_LINES:
        out += [f"def handler_{i}(request, ctx):",
                f"    value = compute(request.args[{rnd.randint(0, 99)}], scale={rnd.random():.6f})",
                "    if value is None:",
                "        return None",
                f"    log.info('handler {i} done', extra={{'n': {i}}})",
                "    return value",
                ""]
        i += 1
    return out[:N_LINES]


def _pair(tmp_path, mixed: bool):
    rnd = random.Random(42)
    a = _source(rnd)
    b = list(a)
    for k in sorted(rnd.sample(range(N_LINES), N_CHANGES), reverse=True):
        if mixed and k % 3 == 0:
            b.insert(k, "")                    # a duplicate line inserted
        elif mixed and k % 3 == 1:
            del b[k]                           # a line deleted
        else:
            b[k] = b[k] + "  # changed"        # a one-line change
    pa, pb = tmp_path / "a.py", tmp_path / "b.py"
    pa.write_text("\n".join(a) + "\n")
    pb.write_text("\n".join(b) + "\n")
    return pa, pb


def _median(fn, runs=RUNS):
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def _measure(tmp_path, mixed):
    pa, pb = _pair(tmp_path, mixed)

    def git():
        r = subprocess.run(["git", "diff", "--no-index", "--no-color", str(pa), str(pb)],
                           capture_output=True)
        assert r.returncode == 1 and r.stdout

    def wopt():
        before, after = pa.read_bytes(), pb.read_bytes()
        assert unified(diff_bytes(before, after, path="a.py"))

    def ref():
        a = pa.read_text().splitlines(True)
        b = pb.read_text().splitlines(True)
        assert list(difflib.unified_diff(a, b))

    git()
    wopt()
    tg = _median(git)
    tw = _median(wopt)
    td = _median(ref, size(3, 1))
    before, after = pa.read_bytes(), pb.read_bytes()
    d = diff_bytes(before, after)
    assert apply_hunks(before, after, list(range(len(d.hunks)))) == after
    return tg, tw, td, len(d.hunks)


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed: no baseline to compare with")
def test_100k_line_diff_against_git_diff_no_index(tmp_path):
    tg, tw, td, hunks = _measure(tmp_path, mixed=False)
    print(f"\n[bench_diff] {N_LINES:,} lines, {N_CHANGES} scattered one-line changes ({hunks} hunks), "
          f"medians of {RUNS} runs:")
    print(f"[bench_diff]   git diff --no-index {tg * 1000:8.1f} ms")
    print(f"[bench_diff]   wopt diff           {tw * 1000:8.1f} ms   ratio {tw / tg:.2f}x git (target <= 3x)")
    print(f"[bench_diff]   difflib             {td * 1000:8.1f} ms   ratio {td / tg:.2f}x git")
    target(tw <= 3 * tg, f"wopt's diff took {tw / tg:.2f}x git's time")


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed: no baseline to compare with")
def test_100k_line_diff_with_duplicate_lines_inserted_and_deleted(tmp_path):
    tg, tw, td, hunks = _measure(tmp_path, mixed=True)
    print(f"\n[bench_diff] mixed case: changes, inserted blank lines, deletions ({hunks} hunks):")
    print(f"[bench_diff]   git {tg * 1000:.1f} ms, wopt {tw * 1000:.1f} ms ({tw / tg:.2f}x), "
          f"difflib {td * 1000:.1f} ms ({td / tg:.2f}x)   (informational)")
