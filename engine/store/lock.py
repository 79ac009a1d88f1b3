"""Advisory file locks with a bounded wait (fcntl.flock), naming the holder on refusal.

A lock file under `.wopt/` is opened like every spool file: each directory from `.wopt` down
with O_NOFOLLOW through verified handles, the file itself with O_NOFOLLOW, and only a regular
file is used, so a `.wopt/lock` planted as a symlink never leads to a file elsewhere."""
from __future__ import annotations

import fcntl
import json
import os
import stat
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from . import fsio
from ..model.errors import LockBusy, WoptError


@contextmanager
def file_lock(path: str | os.PathLike, *, timeout: float = 10.0, what: str | None = None):
    """Hold an exclusive lock on `path` (created if needed). Waits at most `timeout` seconds,
    then raises LockBusy naming the holder recorded in the file."""
    fd = _open_lock(Path(path))
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
    except (OSError, ValueError, AttributeError):   # unreadable, not JSON, not an object
        return "another wopt process"


def _open_lock(path: Path) -> int:
    t, rel = fsio.spool_tree(path)
    with t:
        d, _, name = rel.rpartition("/")
        try:
            try:
                dfd = t.dir(d)
            except FileNotFoundError:
                fsio.makedirs(t, d)
                dfd = t.dir(d)
            fd = os.open(name, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                         0o644, dir_fd=dfd)
        except OSError as e:
            what = e.filename if isinstance(e, fsio.Replaced) else rel
            why = "is a symlink or not a regular file" if e.errno in (40, 20, 62) else e.strerror
            raise WoptError(f"{what}: {why}; wopt does not follow it",
                            hint="remove it (wopt makes its lock file itself) and try again") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise WoptError(f"{rel}: is not a regular file; wopt does not use it",
                        hint="remove it (wopt makes its lock file itself) and try again")
    return fd
