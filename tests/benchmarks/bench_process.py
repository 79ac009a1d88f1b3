"""wopt's commands as whole processes, as a person or an agent runs them, against a baseline
measured in the same run (medians of RUNS, the two commands taking turns):

- a real `git diff` over 3,000 Python modules (~4 KB each, 3 lines edited in each, 150 new
  and 60 deleted; ingested once) and over 200: `wopt check` <= 5x and `wopt show --json`
  <= 8x `git apply --check`; `wopt apply --yes --mode journal` <= 2x `git apply` (the tree
  is reset between runs, untimed);
  the same two commands also cold, reported (not asserted): with `.wopt/cache/answers/`
  removed before each run (the per-content and model caches kept: what a person meets after
  a file changed elsewhere), and with all of `.wopt/cache/` removed (the first look after
  ingest), medians of COLD_RUNS;
- the 1,000 x 2 KB rewrite: `wopt apply --mode journal` <= 0.33x and `--mode rename` <= 1.0x a
  process running the per-file atomic replace loop (temp, write, fsync, rename, dir fsync);
- `wopt list` and `wopt history` <= 3x `python -c pass`.

Run: ./dev bench   (or .venv/bin/pytest tests/benchmarks/bench_process.py -s)
"""
from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from benchlib import TINY, line, median, run, size, target
from gitchange import make_change, reset

BIN = Path(sys.executable).parent
WOPT = [str(BIN / "wopt")] if (BIN / "wopt").exists() else [sys.executable, "-m", "wopt.engine.cli.main"]
RUNS = size(7, 1)
COLD_RUNS = size(3, 1)   # a cold `show --json` at 3,000 modules still takes seconds
ROWS: list[str] = []


def _ingest(root: Path, src: Path, fmt: str) -> str:
    import subprocess
    r = subprocess.run([*WOPT, "ingest", "--format", fmt, "--json", str(src)], cwd=str(root),
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)["id"]


def _pairs(a: list[str], b: list[str], cwd: Path, runs: int, *, prepare=None, ok_a=(0,)) -> tuple[float, float]:
    """(median of A, median of B): A and B take turns, `prepare()` before each (untimed)."""
    ta, tb = [], []
    for i in range(runs):
        for which in ((0, 1) if i % 2 == 0 else (1, 0)):
            if prepare:
                prepare()
            if which == 0:
                ta.append(run(a, cwd, ok=ok_a))
            else:
                tb.append(run(b, cwd))
    return median(ta), median(tb)


@pytest.fixture(scope="module")
def rows():
    yield ROWS
    if ROWS:
        print("\n[bench_process] whole processes, medians of %d runs each (%s)" % (RUNS, "tiny" if TINY else "full"))
        print("| figure | median | baseline | ratio | target | met? |\n| --- | --- | --- | --- | --- | --- |")
        print("\n".join(ROWS))


CHANGES = size([(3000, 150, 60), (200, 10, 4)], [(30, 3, 2)])


@pytest.mark.parametrize("n,new,deleted", CHANGES, ids=[f"{c[0]}-modules" for c in CHANGES])
def test_check_show_apply_vs_git(tmp_path, rows, n, new, deleted):
    root = tmp_path / "repo"
    diff = make_change(root, n, new=new, deleted=deleted)
    (root / ".git" / "info").mkdir(parents=True, exist_ok=True)
    (root / ".git" / "info" / "exclude").write_text(".wopt\n")
    patch = tmp_path / "change.diff"
    patch.write_bytes(diff)
    pid = _ingest(root, patch, "diff")
    # "asked again" is the steady state: files written in the last RACY_SECONDS are too new to
    # trust their timestamps, so nothing is kept for them until then (as git's index does)
    if not TINY:
        import time

        from wopt.engine.analysis.cache import RACY_SECONDS
        time.sleep(RACY_SECONDS + 0.1)
    git_check = ["git", "apply", "--check", str(patch)]
    run([*WOPT, "check", pid], root)                      # warm the page cache (and .wopt/cache)
    run([*WOPT, "show", pid, "--json"], root)
    label = f"{n:,} modules, {len(diff) / 1e6:.1f} MB diff"
    check, base = _pairs([*WOPT, "check", pid], git_check, root, RUNS)
    rows.append(line(f"`wopt check` ({label})", check, "`git apply --check`", base, 5))
    show, base2 = _pairs([*WOPT, "show", pid, "--json"], git_check, root, RUNS)
    rows.append(line(f"`wopt show --json` ({label})", show, "`git apply --check`", base2, 8))
    for what, gone in (("answers removed", root / ".wopt" / "cache" / "answers"),
                       ("all .wopt/cache removed", root / ".wopt" / "cache")):
        def drop(gone=gone) -> None:
            shutil.rmtree(gone, ignore_errors=True)
            assert not gone.exists()
        for cmd, goal in ((["check", pid], 5), (["show", pid, "--json"], 8)):
            w, b = _pairs([*WOPT, *cmd], git_check, root, COLD_RUNS, prepare=drop)
            rows.append(line(f"`wopt {cmd[0]}{' --json' if len(cmd) > 2 else ''}`, cold: {what} ({label})",
                             w, "`git apply --check`", b, goal))
    apply_runs = RUNS if n <= 3000 else 3
    wapply, gapply = _pairs([*WOPT, "apply", pid, "--yes", "--mode", "journal"], ["git", "apply", str(patch)],
                            root, apply_runs, prepare=lambda: reset(root))
    rows.append(line(f"`wopt apply --yes --mode journal` ({label})", wapply, "`git apply`", gapply, 2))
    reset(root)
    target(check / base <= 5, f"wopt check {check / base:.2f}x git apply --check")
    target(show / base2 <= 8, f"wopt show --json {show / base2:.2f}x git apply --check")
    target(wapply / gapply <= 2, f"wopt apply {wapply / gapply:.2f}x git apply")


# --------------------------------------------------------------------------- the 1,000 x 2 KB rewrite

N_FILES, N_DIRS, SIZE = size(1000, 20), 20, 2048

ATOMIC = r'''
import os, sys
root, n, ndirs, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
for i in range(n):
    line = f"file {i:04d} generation 1 ".encode()
    data = (line * (size // len(line) + 1))[:size - 1] + b"\n"
    d = os.path.join(root, f"dir{i % ndirs:02d}")
    p = os.path.join(d, f"file{i:04d}.txt")
    tmp = os.path.join(d, f".file{i:04d}.txt.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, p)
    dfd = os.open(d, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)
'''


def _content(i: int, gen: int) -> bytes:
    line_ = f"file {i:04d} generation {gen} ".encode()
    return (line_ * (SIZE // len(line_) + 1))[:SIZE - 1] + b"\n"


def _rels() -> list[str]:
    return [f"dir{i % N_DIRS:02d}/file{i:04d}.txt" for i in range(N_FILES)]


def _restore(root: Path) -> None:
    for i, rel in enumerate(_rels()):
        (root / rel).write_bytes(_content(i, 0))
    os.sync()


def test_rewrite_1000_files_as_processes(tmp_path, rows):
    from wopt.engine.model.plan import sha256
    root = tmp_path / "ws"
    for d in range(N_DIRS):
        (root / f"dir{d:02d}").mkdir(parents=True)
    (root / ".git").mkdir()
    _restore(root)
    plan = {"version": 1, "id": "rewrite", "steps": [
        {"kind": "write", "id": f"s{i}", "path": rel, "content": _content(i, 1).decode(),
         "precondition": sha256(_content(i, 0))} for i, rel in enumerate(_rels())]}
    src = tmp_path / "plan.json"
    src.write_text(json.dumps(plan))
    pid = _ingest(root, src, "native")
    loop = [sys.executable, "-c", ATOMIC, str(root), str(N_FILES), str(N_DIRS), str(SIZE)]
    figures = {}
    for mode in ("journal", "rename"):
        figures[mode] = _pairs([*WOPT, "apply", pid, "--yes", "--mode", mode], loop, root, RUNS,
                               prepare=lambda: _restore(root))
    for i, rel in enumerate(_rels()):
        assert (root / rel).read_bytes() in (_content(i, 0), _content(i, 1))
    j, jb = figures["journal"]
    r, rb = figures["rename"]
    rows.append(line(f"`wopt apply --mode journal`, {N_FILES:,} x 2 KB rewrite", j, "atomic loop", jb, 0.33))
    rows.append(line(f"`wopt apply --mode rename`, {N_FILES:,} x 2 KB rewrite", r, "atomic loop", rb, 1.0))
    target(j / jb <= 0.33, f"journal {j / jb:.2f}x the atomic loop")
    target(r / rb <= 1.0, f"rename {r / rb:.2f}x the atomic loop")
    shutil.rmtree(root, ignore_errors=True)


# --------------------------------------------------------------------------- start-up

def test_list_and_history_vs_python(tmp_path, rows):
    root = tmp_path / "repo"
    diff = tmp_path / "c.diff"
    diff.write_bytes(make_change(root, size(200, 20)))
    pid = _ingest(root, diff, "diff")
    run([*WOPT, "apply", pid, "--yes", "--mode", "journal"], root)
    runs = size(21, 1)
    base_cmd = [sys.executable, "-c", "pass"]
    ratios = {}
    for cmd in ("list", "history"):      # both measured, then both checked
        w, b = _pairs([*WOPT, cmd], base_cmd, root, runs)
        rows.append(line(f"`wopt {cmd}`", w, "`python -c pass`", b, 3))
        ratios[cmd] = w / b
    for cmd, ratio in ratios.items():
        target(ratio <= 3, f"wopt {cmd} {ratio:.2f}x python -c pass")
