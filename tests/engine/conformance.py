"""Shared by the conformance suites: a workspace with given files, an agent's output ingested
with `wopt ingest --format F` and applied with `wopt apply --yes` (real processes), and the
tree's bytes afterwards, to compare with the bytes the agent's own tool writes."""
from __future__ import annotations

import os
from pathlib import Path

from conftest import run_wopt


def workspace(tmp_path: Path, files: dict[str, bytes]) -> Path:
    ws = tmp_path / "ws"
    (ws / ".git").mkdir(parents=True)
    for rel, data in files.items():
        p = ws / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return ws


def tree(ws: Path) -> dict[str, bytes]:
    out = {}
    for dp, dns, fns in os.walk(ws):
        dns[:] = [d for d in dns if d not in (".wopt", ".git")]
        for f in fns:
            p = Path(dp) / f
            out[p.relative_to(ws).as_posix()] = p.read_bytes()
    return out


def ingest(ws: Path, fmt: str, reply: bytes):
    """`wopt ingest --format fmt` of `reply`; the completed process (stdout: the plan id)."""
    src = ws.parent / "agent-output.txt"
    src.write_bytes(reply)
    return run_wopt("ingest", "--format", fmt, str(src), root=ws)


def apply(tmp_path: Path, fmt: str, files: dict[str, bytes], reply: bytes) -> dict[str, bytes]:
    """Ingest and apply `reply` over `files`; the tree's files afterwards."""
    ws = workspace(tmp_path, files)
    r = ingest(ws, fmt, reply)
    assert r.returncode == 0, r.stderr.decode()
    pid = r.stdout.decode().strip()
    r = run_wopt("apply", pid, "--yes", root=ws)
    assert r.returncode == 0, r.stderr.decode() + r.stdout.decode()
    return tree(ws)


def refused(tmp_path: Path, fmt: str, files: dict[str, bytes], reply: bytes) -> str:
    """Ingest `reply` over `files`, expecting a refusal; its message. The tree is unchanged."""
    ws = workspace(tmp_path, files)
    r = ingest(ws, fmt, reply)
    assert r.returncode != 0, r.stdout.decode()
    assert tree(ws) == files
    err = r.stderr.decode()
    assert "Traceback" not in err
    return err
