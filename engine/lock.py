"""Advisory file locks with a bounded wait (fcntl.flock), naming the holder on refusal."""
from __future__ import annotations

import fcntl
import json
import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from .errors import LockBusy


@contextmanager
def file_lock(path: str | os.PathLike, *, timeout: float = 10.0, what: str | None = None):
    """Hold an exclusive lock on `path` (created if needed). Waits at most `timeout` seconds,
    then raises LockBusy naming the holder recorded in the file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    start = time.monotonic()
    delay = 0.005
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                waited = time.monotonic() - start
                if waited >= timeout:
                    raise LockBusy(_holder(fd), waited) from None
                time.sleep(delay)
                delay = min(delay * 2, 0.1)
        info = json.dumps({"pid": os.getpid(), "what": what or " ".join(sys.argv[:3]),
                           "since": time.time()}).encode()
        os.ftruncate(fd, 0)
        os.pwrite(fd, info, 0)
        try:
            yield
        finally:
            try:
                os.ftruncate(fd, 0)
            except OSError:
                pass
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _holder(fd: int) -> str:
    try:
        raw = os.pread(fd, 4096, 0)
        info = json.loads(raw)
        return f"pid {info.get('pid')} ({info.get('what')})"
    except Exception:
        return "another wopt process"
