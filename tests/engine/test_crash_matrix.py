"""Crash tests, for real: `wopt` in a child process (forked, running the CLI's `main`; the
console script itself in the last tests), killed (SIGKILL) right after
I/O operation k of the engine's single I/O layer, for every k of a 21-step mixed plan, in both
durable modes; then `wopt recover`; the tree (content + mode of every file, set of dirs) must be
the tree before (killed before the finalize rename) or the tree after (killed after it), never
a mix. Then injected OSErrors (EIO, ENOSPC, EACCES; once and persistent) at every k: a clean
rollback in-process, a clear message, exit 1, the tree as before, nothing left to recover.
Then crashes during recovery itself, and recovery again.
"""
from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest

from conftest import copy_tree, diff_snap, prewarm, run_forked, run_wopt, snapshot

pytestmark = pytest.mark.slow

MODES = ("rename", "journal")
# auto: one syncfs per filesystem where Linux has it; fsync: one fsync per file and directory
# (the path macOS takes)
SYNCS = ("auto", "fsync")


def _count_ops(template: Path, tmp: Path, mode: str, sync: str = "auto") -> tuple[int, list, dict]:
    """Apply once with WOPT_FAULT=count: the number of operations, their log, the after tree."""
    ws = copy_tree(template, tmp / f"count-{mode}-{sync}")
    cf = tmp / f"count-{mode}-{sync}.json"
    r = run_wopt("apply", "mixed", "--yes", "--mode", mode, root=ws,
                 env={"WOPT_FAULT": "count", "WOPT_FAULT_COUNT_FILE": str(cf), "WOPT_SYNC": sync})
    assert r.returncode == 0, r.stderr.decode()
    data = json.loads(cf.read_text())
    return data["ops"], data["log"], snapshot(ws)


def _finalize_op(log: list) -> int:
    for k, phase, op, path in log:
        if phase == "finalize" and op == "rename":
            assert path.endswith(".committed")
            return k
    raise AssertionError("no finalize rename in the operation log")


@pytest.fixture(scope="module")
def counted(mixed_template, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("counts")
    prewarm(mixed_template, tmp / "warm")
    before = snapshot(mixed_template)
    out = {}
    for mode in MODES:
        for sync in SYNCS:
            n, log, after = _count_ops(mixed_template, tmp, mode, sync)
            assert after != before
            out[mode if sync == "auto" else (mode, sync)] = (n, log, after)
    assert out[("rename", "fsync")][0] > out["rename"][0]  # really another sync path
    return before, out


@pytest.mark.parametrize("sync", SYNCS)
@pytest.mark.parametrize("mode", MODES)
def test_kill_at_every_operation_then_recover(mode, sync, counted, mixed_template, tmp_path):
    before, by_mode = counted
    n, log, after = by_mode[mode if sync == "auto" else (mode, sync)]
    fin = _finalize_op(log)
    assert n >= 60  # a plan of 21 steps: really many operations, all of them cut

    def one(k: int) -> str | None:
        ws = copy_tree(mixed_template, tmp_path / f"k{k}")
        r = run_forked("apply", "mixed", "--yes", "--mode", mode, root=ws,
                       env={"WOPT_FAULT": f"kill:{k}", "WOPT_SYNC": sync})
        where = f"{mode}/{sync}: killed after operation {k} ({log[k - 1][1]} {log[k - 1][2]})"
        if r.returncode != -signal.SIGKILL:
            return f"{where}: expected SIGKILL, got exit {r.returncode}: {r.stderr.decode()[-300:]}"
        rec = run_forked("recover", root=ws, env={"WOPT_SYNC": sync})
        if rec.returncode != 0:
            return f"{where}: recover failed: {rec.stderr.decode()}"
        snap = snapshot(ws)
        want = before if k < fin else after
        if snap != want:
            other = "after" if want is before else "before"
            mix = "" if snap in (before, after) else " (a MIX)"
            return f"{where}: tree is not the {'before' if want is before else 'after'} tree{mix}, " \
                   f"{'matches ' + other if not mix else ''}\n{diff_snap(want, snap)}"
        out = rec.stdout.decode()
        # before the transaction starts (phase idle: the analysis cache's writes), there is
        # nothing to roll back, and recover says so
        if k < fin and log[k - 1][1] != "idle" and "rolled back" not in out and "dropped" not in out:
            return f"{where}: recover did not say what it rolled back: {out!r}"
        if k >= fin and "nothing to recover" not in out:
            return f"{where}: recover after finalize should find nothing: {out!r}"
        leftovers = [p.name for p in (ws / ".wopt" / "journal").iterdir() if p.name.endswith(".pending")]
        if leftovers:
            return f"{where}: pending manifests left: {leftovers}"
        temps = [str(p) for p in ws.rglob("*.wopt-*") if ".wopt/" not in p.as_posix()]
        if temps:
            return f"{where}: temporary files left: {temps}"
        return None

    problems = [p for p in map(one, range(1, n + 1)) if p]
    assert not problems, "\n".join(problems[:10])


KINDS = ("eio", "enospc", "eacces")
MESSAGES = {"eio": "Input/output error", "enospc": "No space left on device", "eacces": "Permission denied"}


@pytest.mark.parametrize("mode", MODES)
def test_injected_errors_roll_back_cleanly(mode, counted, mixed_template, tmp_path):
    """Every operation k gets one fault; the kind and once/persist rotate so that each of the
    six variants hits every phase."""
    before, by_mode = counted
    n, log, after = by_mode[mode]
    # the commit point is durable once the finalize rename's directory fsync returns; what
    # follows (the history record) is bookkeeping: a fault there leaves the apply committed
    committed_at = next(k for k, phase, op, _ in log if phase == "finalize" and op == "fsync_dir")
    assert committed_at < n  # the history record's operations are counted and cut too

    def one(k: int) -> str | None:
        kind = KINDS[k % 3]
        persist = (k // 3) % 2 == 1
        spec = f"{kind}:{k}" + (":persist" if persist else "")
        ws = copy_tree(mixed_template, tmp_path / f"e{k}")
        r = run_forked("apply", "mixed", "--yes", "--mode", mode, root=ws, env={"WOPT_FAULT": spec})
        where = f"{mode}: WOPT_FAULT={spec} ({log[k - 1][1]} {log[k - 1][2]})"
        err = r.stderr.decode()
        snap = snapshot(ws)
        if log[k - 1][1] == "idle" and not persist:
            # a write of the analysis cache, before the transaction: a cache that cannot be
            # written is rebuilt next time; the apply goes on and lands whole
            if r.returncode != 0 or snap != after:
                return f"{where}: a failed cache write must not stop the apply: exit {r.returncode}: {err[-400:]}"
            return None
        if k > committed_at:
            if r.returncode != 0 or snap != after:
                return f"{where}: a fault after the commit point must leave the apply committed: " \
                       f"exit {r.returncode}: {err[-400:]}"
            return None
        if r.returncode != 1:
            return f"{where}: expected exit 1, got {r.returncode}: {err[-400:]}"
        if "Traceback" in err or MESSAGES[kind] not in err or "wopt: error:" not in err:
            return f"{where}: unclear message: {err!r}"
        if str(ws) in err:
            return f"{where}: message shows absolute paths: {err!r}"
        if snap != before:
            return f"{where}: tree is not the before tree\n{diff_snap(before, snap)}"
        pend = [p.name for p in (ws / ".wopt" / "journal").iterdir() if p.name.endswith(".pending")]
        if pend:
            return f"{where}: pending manifest left after an in-process rollback: {pend}"
        temps = [str(p) for p in ws.rglob("*.wopt-*") if ".wopt/" not in p.as_posix()]
        if temps:
            return f"{where}: temporary files left: {temps}"
        return None

    problems = [p for p in map(one, range(1, n + 1)) if p]
    assert not problems, "\n".join(problems[:10])
    # and once through the console script itself, in a fresh interpreter
    ws = copy_tree(mixed_template, tmp_path / "script")
    r = run_wopt("apply", "mixed", "--yes", "--mode", mode, root=ws, env={"WOPT_FAULT": "enospc:20:persist"})
    assert r.returncode == 1 and "No space left on device" in r.stderr.decode()
    assert snapshot(ws) == before


def _crashed_apply(mixed_template: Path, dst: Path, mode: str, k: int, run=run_forked) -> Path:
    ws = copy_tree(mixed_template, dst)
    r = run("apply", "mixed", "--yes", "--mode", mode, root=ws, env={"WOPT_FAULT": f"kill:{k}"})
    assert r.returncode == -signal.SIGKILL
    return ws


@pytest.mark.parametrize("mode", MODES)
def test_crash_during_recovery_then_recover_again(mode, counted, mixed_template, tmp_path):
    """Kill the apply just before its finalize (every file already in place), then kill the
    recovery after each of its operations j, then recover again: always the before tree."""
    before, by_mode = counted
    n, log, after = by_mode[mode]
    fin = _finalize_op(log)
    probe = _crashed_apply(mixed_template, tmp_path / "probe", mode, fin - 1)
    cf = tmp_path / "rcount.json"
    r = run_wopt("recover", root=probe, env={"WOPT_FAULT": "count", "WOPT_FAULT_COUNT_FILE": str(cf)})
    assert r.returncode == 0, r.stderr.decode()
    assert snapshot(probe) == before
    rec_ops = json.loads(cf.read_text())["ops"]
    assert rec_ops >= 10

    def one(j: int) -> str | None:
        ws = _crashed_apply(mixed_template, tmp_path / f"r{j}", mode, fin - 1)
        r1 = run_forked("recover", root=ws, env={"WOPT_FAULT": f"kill:{j}"})
        if r1.returncode != -signal.SIGKILL:
            return f"recovery op {j}: expected SIGKILL, got {r1.returncode}"
        # any wopt command recovers first
        r2 = run_forked("history", root=ws)
        if r2.returncode != 0:
            return f"recovery op {j}: the next command failed: {r2.stderr.decode()}"
        snap = snapshot(ws)
        if snap != before:
            return f"recovery killed after op {j}: not the before tree\n{diff_snap(before, snap)}"
        if any(p.name.endswith(".pending") for p in (ws / ".wopt" / "journal").iterdir()):
            return f"recovery op {j}: a pending manifest is left"
        return None

    problems = [p for p in map(one, range(1, rec_ops + 1)) if p]
    assert not problems, "\n".join(problems[:10])


def test_kill_says_what_it_rolled_back_on_next_command(counted, mixed_template, tmp_path):
    """A new user's kill -9: any wopt command restores the tree and says what it rolled back."""
    before, by_mode = counted
    n, log, _ = by_mode["rename"]
    k = _finalize_op(log) - 3
    ws = _crashed_apply(mixed_template, tmp_path / "ws", "rename", k, run=run_wopt)
    assert snapshot(ws) != before  # really half-applied
    r = run_wopt("list", root=ws)
    assert r.returncode == 0
    err = r.stderr.decode()
    assert "rolled back the unfinished apply" in err and "plan mixed" in err
    assert "README.md" in err and str(ws) not in err
    assert snapshot(ws) == before
    hist = json.loads(run_wopt("history", "--json", root=ws).stdout)
    assert hist[-1]["outcome"] == "rolled_back"
