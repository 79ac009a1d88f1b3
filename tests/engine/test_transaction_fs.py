"""Real filesystems that refuse writes: a read-only mount and a full one. Needs the right to
mount a tmpfs (root on Linux, as in CI containers); elsewhere these tests are skipped with the
reason, and the permission tests of test_transaction.py cover refusals."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import run_wopt, snapshot, w


@pytest.fixture
def tmpfs(tmp_path):
    mounted = []

    def mount(size: str) -> Path:
        mp = tmp_path / f"mnt{len(mounted)}"
        mp.mkdir()
        if not sys.platform.startswith("linux") or os.geteuid() != 0:
            pytest.skip("mounting a tmpfs needs root on Linux")
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mp)],
                           capture_output=True)
        if r.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {r.stderr.decode().strip()}")
        mounted.append(mp)
        return mp

    yield mount
    for mp in reversed(mounted):
        subprocess.run(["umount", "-l", str(mp)], capture_output=True)


def _plan_file(tmp_path: Path, steps: list[dict]) -> Path:
    pf = tmp_path / "plan.json"
    pf.write_text(json.dumps({"version": 1, "id": "fs", "steps": steps}))
    return pf


@pytest.mark.parametrize("mode", ["rename", "journal"])
def test_read_only_filesystem_refuses_before_anything_changes(tmpfs, tmp_path, mode):
    root = tmpfs("4m")
    w(root, "a.txt", "a\n")
    (root / ".wopt" / "journal").mkdir(parents=True)
    r = subprocess.run(["mount", "-o", "remount,ro", str(root)], capture_output=True)
    assert r.returncode == 0, r.stderr
    before = snapshot(root)
    pf = _plan_file(tmp_path, [{"kind": "write", "id": "s1", "path": "a.txt", "content": "b\n"},
                               {"kind": "write", "id": "s2", "path": "new/b.txt", "content": "b\n"}])
    res = run_wopt("apply", str(pf), "--yes", "--mode", mode, root=root)
    err = res.stderr.decode()
    assert res.returncode == 1, err
    assert "not writable" in err and "nothing was written" in err and "Traceback" not in err
    assert snapshot(root) == before


@pytest.mark.parametrize("mode", ["rename", "journal"])
def test_full_filesystem_refuses_up_front(tmpfs, tmp_path, mode):
    root = tmpfs("512k")
    w(root, "a.txt", "a\n")
    before = snapshot(root)
    big = "x" * 200_000
    pf = _plan_file(tmp_path, [{"kind": "write", "id": f"s{i}", "path": f"big{i}.txt", "content": big}
                               for i in range(4)])
    res = run_wopt("apply", str(pf), "--yes", "--mode", mode, root=root)
    err = res.stderr.decode()
    assert res.returncode == 1, err
    assert "needs about" in err and "KB free" in err
    assert snapshot(root) == before


def test_enospc_in_the_middle_rolls_back(tmpfs, tmp_path):
    """The space check passes (just), then the disk fills under the transaction: a real ENOSPC
    from the kernel, rolled back."""
    root = tmpfs("1m")
    w(root, "a.txt", "a\n")
    (root / ".wopt" / "journal").mkdir(parents=True)
    before = snapshot(root)
    pf = _plan_file(tmp_path, [{"kind": "write", "id": f"s{i}", "path": f"f{i}.txt", "content": "y" * 150_000}
                               for i in range(5)])
    # a filler the check cannot foresee: written by "another process" once wopt has its lock
    filler = root / "filler.bin"
    code = (
        "import os, sys, time\n"
        "from wopt.engine.tx import transaction as t\n"
        "orig = t.check_writable\n"
        "def hook(*a, **k):\n"
        "    orig(*a, **k)\n"
        f"    open({str(filler)!r}, 'wb').write(b'z' * 400_000)\n"
        "t.check_writable = hook\n"
        "from wopt.engine.cli.main import main\n"
        f"sys.exit(main(['apply', {str(pf)!r}, '--yes', '--root', {str(root)!r}]))\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True)
    err = r.stderr.decode()
    assert r.returncode == 1, err
    assert "No space left on device" in err and "rolled back" in err and "Traceback" not in err
    filler.unlink()
    assert snapshot(root) == before
    assert not [p for p in (root / ".wopt" / "journal").iterdir() if p.name.endswith(".pending")]
