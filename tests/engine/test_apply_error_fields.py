"""An apply that fails carries what failed as fields (phase, operation, errno, path, rolled
back or not), so the app never reads them out of the message. Faults are real: the failing
system call is injected through fsio (WOPT_FAULT)."""
from __future__ import annotations

import errno
import re

import pytest

from wopt.engine.store import fsio
from wopt.engine.tx.apply import apply_plan
from wopt.engine.model.errors import ApplyError
from wopt.engine.model.plan import Plan, WriteStep
from wopt.engine.store.workspace import Workspace


def _setup(root):
    (root / "src").mkdir()
    (root / "src/a.txt").write_bytes(b"a\n")
    return Workspace(root), Plan(id="p", steps=[WriteStep(id="w", path="src/a.txt", content="A\n"),
                                                  WriteStep(id="n", path="src/new.txt", content="n\n")])


def _op_number(tmp_path, mode, phase, kind):
    import shutil
    probe = tmp_path / "probe"
    probe.mkdir()
    ws, plan = _setup(probe)
    fsio.configure("eio:1000000")          # log operations, never fire
    try:
        apply_plan(ws, plan, mode=mode)
        k, _ph, _op, path = next(x for x in fsio.log() if x[1] == phase and x[2] == kind)
    finally:
        fsio.configure("")
        shutil.rmtree(probe)
    return k, path


@pytest.mark.parametrize("mode,phase,kind,fault,code", [
    ("rename", "commit", "rename", "eio", errno.EIO),
    ("rename", "prepare", "write", "enospc", errno.ENOSPC),
    ("journal", "commit", "write", "eacces", errno.EACCES),
])
def test_the_failed_call_is_named_in_fields(tmp_path, mode, phase, kind, fault, code):
    k, logged = _op_number(tmp_path, mode, phase, kind)
    root = tmp_path / "ws"
    root.mkdir()
    ws, plan = _setup(root)
    fsio.configure(f"{fault}:{k}")
    try:
        with pytest.raises(ApplyError) as ei:
            apply_plan(ws, plan, mode=mode)
    finally:
        fsio.configure("")
    err = ei.value
    target = logged.rpartition(" -> ")[2]        # a rename names its target
    tx = re.compile(r"\.wopt-[0-9a-f-]+\.")           # a temporary file's name holds its transaction's id
    assert (err.phase, err.operation, err.errno, tx.sub("TX", err.path), err.rolled_back) == (
        phase, kind, code, tx.sub("TX", target), True)
    assert err.reason == {errno.EIO: "Input/output error", errno.ENOSPC: "No space left on device",
                          errno.EACCES: "Permission denied"}[code]
    assert not err.path.startswith("/")                           # workspace-relative
    assert (root / "src/a.txt").read_bytes() == b"a\n" and not (root / "src/new.txt").exists()
