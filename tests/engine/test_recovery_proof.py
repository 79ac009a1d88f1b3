"""Recovery proves before it acts: after a killed apply, a person's later work (a file created
where the plan would create one, a new version saved over a replaced one) is never deleted or
overwritten; a damaged manifest never deletes backups; an undo interrupted after its commit
point leaves its records complete."""
from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest

from conftest import run_wopt, snapshot, w

MODES = ("rename", "journal")


def _workspace(root: Path, steps: list[dict]) -> None:
    w(root, "b.txt", "b original\n")
    w(root, "keep.txt", "keep\n")
    pf = root.parent / "plan.json"
    pf.write_text(json.dumps({"version": 1, "id": "p", "steps": steps}))
    r = run_wopt("ingest", str(pf), root=root)
    assert r.returncode == 0, r.stderr.decode()


STEPS = [{"kind": "write", "id": "s1", "path": "new/a.txt", "content": "a from the plan\n"},
         {"kind": "write", "id": "s2", "path": "b.txt", "content": "b from the plan\n"}]


def _log(root: Path, *args: str) -> list:
    cf = root.parent / "count.json"
    r = run_wopt(*args, root=root, env={"WOPT_FAULT": "count", "WOPT_FAULT_COUNT_FILE": str(cf)})
    assert r.returncode == 0, r.stderr.decode()
    return json.loads(cf.read_text())["log"]


def _finalize(log: list) -> int:
    return next(k for k, phase, op, _ in log if phase == "finalize" and op == "rename")


def _killed_apply(tmp_path: Path, mode: str, *, at=lambda log: _finalize(log) - 1) -> Path:
    probe = tmp_path / "probe" / "ws"
    _workspace(probe, STEPS)
    k = at(_log(probe, "apply", "p", "--yes", "--mode", mode))
    root = tmp_path / "run" / "ws"
    _workspace(root, STEPS)
    r = run_wopt("apply", "p", "--yes", "--mode", mode, root=root, env={"WOPT_FAULT": f"kill:{k}"})
    assert r.returncode == -signal.SIGKILL
    return root


def _pending(root: Path) -> list[str]:
    return [n[:-len(".pending")] for n in os.listdir(root / ".wopt" / "journal") if n.endswith(".pending")]


@pytest.mark.parametrize("mode", MODES)
def test_recovery_never_overwrites_a_persons_work_after_a_crash(tmp_path, mode):
    root = _killed_apply(tmp_path, mode)
    assert (root / "b.txt").read_text() == "b from the plan\n"   # really killed mid-apply
    [tx] = _pending(root)
    # the person goes on working: a new version of b.txt, their own new/a.txt
    (root / "b.txt").write_text("b: my new version\n")
    (root / "new" / "a.txt").write_text("a: mine\n")
    r = run_wopt("list", root=root)
    err = r.stderr.decode()
    assert r.returncode == 1 and "Traceback" not in err, err
    assert "b.txt (changed since)" in err and "new/a.txt (changed since)" in err, err
    assert f"wopt recover --resolve {tx}" in err and str(root) not in err
    assert (root / "b.txt").read_text() == "b: my new version\n"
    assert (root / "new" / "a.txt").read_text() == "a: mine\n"
    # the original stays, and is there to compare
    assert (root / ".wopt" / "recovered" / tx / "b.txt").read_text() == "b original\n"
    assert _pending(root) == [tx]
    again = run_wopt("recover", root=root)
    assert again.returncode == 1 and "b.txt (changed since)" in again.stderr.decode()
    done = run_wopt("recover", "--resolve", tx, root=root)
    assert done.returncode == 0, done.stderr.decode()
    assert f"resolved transaction {tx}" in done.stdout.decode()
    assert _pending(root) == [] and not (root / ".wopt" / "journal" / tx).exists()
    assert run_wopt("list", root=root).returncode == 0
    assert (root / "b.txt").read_text() == "b: my new version\n"


@pytest.mark.parametrize("mode", MODES)
def test_a_file_created_where_the_plan_would_create_one_survives_recovery(tmp_path, mode):
    """Killed right after the manifest is durable: nothing of the plan is in the tree yet."""
    def first_after_journal(log):
        return next(k for k, phase, op, _ in log if phase == "journal" and op == "fsync_dir")
    root = _killed_apply(tmp_path, mode, at=first_after_journal)
    (root / "new").mkdir(exist_ok=True)
    (root / "new" / "a.txt").write_text("a: mine\n")
    r = run_wopt("recover", root=root)
    assert (root / "new" / "a.txt").read_text() == "a: mine\n"
    assert (root / "b.txt").read_text() == "b original\n"
    assert r.returncode == 1 and "new/a.txt (changed since)" in r.stderr.decode()


@pytest.mark.parametrize("mode", MODES)
def test_recovery_still_rolls_back_what_it_wrote_next_to_a_persons_change(tmp_path, mode):
    root = _killed_apply(tmp_path, mode)
    (root / "new" / "a.txt").write_text("a: mine\n")   # b.txt keeps what wopt wrote
    r = run_wopt("recover", root=root)
    assert r.returncode == 1
    assert (root / "b.txt").read_text() == "b original\n"   # wopt's own write: rolled back
    assert (root / "new" / "a.txt").read_text() == "a: mine\n"


def test_a_truncated_manifest_keeps_its_backups_and_says_what_is_known(tmp_path):
    root = _killed_apply(tmp_path, "rename")
    [tx] = _pending(root)
    mf = root / ".wopt" / "journal" / f"{tx}.pending"
    data = mf.read_bytes()
    mf.write_bytes(data[: len(data) * 2 // 3])
    backups = sorted(os.listdir(root / ".wopt" / "journal" / tx))
    assert backups
    tree = snapshot(root)
    r = run_wopt("list", root=root)
    err = r.stderr.decode()
    assert r.returncode == 1 and "Traceback" not in err, err
    assert "interrupted before it changed any file" not in err
    assert "damaged" in err and tx in err and f"wopt recover --resolve {tx}" in err
    assert "new/a.txt" in err   # what the readable part of the manifest names
    assert sorted(os.listdir(root / ".wopt" / "journal" / tx)) == backups
    assert snapshot(root) == tree
    assert (root / ".wopt" / "journal" / tx / backups[0]).read_text() == "b original\n"


def _applied(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    _workspace(root, STEPS)
    r = run_wopt("apply", "p", "--yes", root=root)
    assert r.returncode == 0, r.stderr.decode()
    return root


def _undo_log(tmp_path: Path) -> list:
    return _log(_applied(tmp_path / "probe"), "undo")


def test_an_undo_killed_after_its_commit_point_is_completed_by_recovery(tmp_path):
    log = _undo_log(tmp_path)
    k = _finalize(log)
    root = _applied(tmp_path / "run")
    r = run_wopt("undo", root=root, env={"WOPT_FAULT": f"kill:{k}"})
    assert r.returncode == -signal.SIGKILL
    assert (root / "b.txt").read_text() == "b original\n"   # the undo took effect
    h = run_wopt("history", "--json", root=root)
    assert h.returncode == 0, h.stderr.decode()
    recs = json.loads(h.stdout)
    apply_rec = [x for x in recs if x["kind"] == "apply"][-1]
    undo_recs = [x for x in recs if x["kind"] == "undo" and x["outcome"] == "committed"]
    assert undo_recs and apply_rec.get("undone_by") == undo_recs[-1]["tx"]
    assert not (root / "new").exists()                      # the apply's new directory: gone
    again = run_wopt("undo", root=root)
    assert again.returncode == 1
    assert "no applied transaction to undo" in again.stderr.decode()


def test_an_io_error_while_marking_the_apply_undone_does_not_fail_the_undo(tmp_path):
    log = _undo_log(tmp_path)
    k = next(k for k, phase, op, p in log if op == "rename" and p.endswith(".undone"))
    root = _applied(tmp_path / "run")
    r = run_wopt("undo", root=root, env={"WOPT_FAULT": f"eio:{k}"})
    out, err = r.stdout.decode(), r.stderr.decode()
    assert r.returncode == 0, err
    assert "undid transaction" in out
    assert (root / "b.txt").read_text() == "b original\n"
    h = run_wopt("history", "--json", root=root)
    assert h.returncode == 0, h.stderr.decode()
    recs = json.loads(h.stdout)
    assert [x for x in recs if x["kind"] == "apply"][-1].get("undone_by")
    assert not (root / "new").exists()
    assert "no applied transaction to undo" in run_wopt("undo", root=root).stderr.decode()


# ---------------------------------------------------------------------------- torn files
#
# A power cut in journal mode can leave a file wopt was writing torn: a filesystem writes data
# back in whole 4 KB pages and leaves blocks whose data never reached the disk zero-filled,
# or the file only as long as the pages written. Such a file is wopt's own (recovery rolls it
# back); a file with any other content is a person's (recovery leaves it and asks).

PAGE = 4096
BIG_NEW = "".join(f"created line {i:05d}\n" for i in range(700)).encode()        # 4 pages
B_AFTER = "".join(f"b from the plan, line {i:05d}\n" for i in range(500)).encode()  # 4 pages
B_BEFORE = "".join(f"b original, line {i:05d}\n" for i in range(300)).encode()      # 2 pages


def _killed_big_apply(tmp_path: Path) -> Path:
    steps = [{"kind": "write", "id": "s1", "path": "new/big.txt", "content": BIG_NEW.decode()},
             {"kind": "write", "id": "s2", "path": "b.txt", "content": B_AFTER.decode()}]

    def ws(root: Path) -> None:
        w(root, "b.txt", B_BEFORE.decode())
        pf = root.parent / "plan.json"
        pf.write_text(json.dumps({"version": 1, "id": "p", "steps": steps}))
        r = run_wopt("ingest", str(pf), root=root)
        assert r.returncode == 0, r.stderr.decode()

    probe = tmp_path / "probe" / "ws"
    ws(probe)
    k = _finalize(_log(probe, "apply", "p", "--yes", "--mode", "journal")) - 1
    root = tmp_path / "run" / "ws"
    ws(root)
    r = run_wopt("apply", "p", "--yes", "--mode", "journal", root=root, env={"WOPT_FAULT": f"kill:{k}"})
    assert r.returncode == -signal.SIGKILL
    assert (root / "new" / "big.txt").read_bytes() == BIG_NEW   # really killed mid-apply
    return root


TORN_CREATED = {
    "first page, then zero-filled pages": BIG_NEW[:PAGE] + b"\0" * (len(BIG_NEW) - PAGE),
    "zero-filled first page, the rest written": b"\0" * PAGE + BIG_NEW[PAGE:],
    "only the first two pages (shorter)": BIG_NEW[:2 * PAGE],
    "empty (no data reached the disk)": b"",
}


@pytest.mark.parametrize("torn", sorted(TORN_CREATED))
def test_a_torn_file_the_transaction_created_is_rolled_back(tmp_path, torn):
    root = _killed_big_apply(tmp_path)
    f = root / "new" / "big.txt"
    f.write_bytes(TORN_CREATED[torn])
    os.chmod(f, 0o600)      # the mode it was created with; its own mode was not synced either
    # and the replaced file torn too: the original's last page, the blocks past its end zeros
    b = root / "b.txt"
    b.write_bytes(B_AFTER[:PAGE] + B_BEFORE[PAGE:] + b"\0" * (len(B_AFTER) - len(B_BEFORE)))
    r = run_wopt("recover", root=root)
    assert r.returncode == 0, r.stderr.decode()
    assert "rolled back" in r.stdout.decode()
    assert not f.exists() and not (root / "new").exists()
    assert b.read_bytes() == B_BEFORE
    assert _pending(root) == []


PERSONS = {
    "one byte changed in a page": BIG_NEW[:PAGE + 7] + b"X" + BIG_NEW[PAGE + 8:],
    "a prefix cut inside a page": BIG_NEW[:PAGE + 100],
    "longer than what wopt wrote": BIG_NEW + b"mine\n",
    "other text": b"my own big.txt\n",
}


@pytest.mark.parametrize("person", sorted(PERSONS))
def test_a_persons_file_where_the_transaction_created_one_is_not_rolled_back(tmp_path, person):
    root = _killed_big_apply(tmp_path)
    f = root / "new" / "big.txt"
    f.write_bytes(PERSONS[person])
    r = run_wopt("recover", root=root)
    err = r.stderr.decode()
    assert r.returncode == 1 and "Traceback" not in err, err
    assert "new/big.txt (changed since)" in err, err
    assert f.read_bytes() == PERSONS[person]
    assert (root / "b.txt").read_bytes() == B_BEFORE   # wopt's own write there: rolled back
