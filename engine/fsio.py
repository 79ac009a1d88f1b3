"""The engine's single I/O layer: every write-side syscall of a transaction, of recovery and of
undo goes through this module.

It counts operations and names them (operation number, phase, kind, path), so a crash test can
say "killed after phase commit, operation 37". A fault-injection hook is switched on by the
environment:

    WOPT_FAULT=kill:K            SIGKILL this process right AFTER operation K
    WOPT_FAULT=eio:K             raise OSError(EIO) AT operation K, once
    WOPT_FAULT=enospc:K          ... ENOSPC
    WOPT_FAULT=eacces:K          ... EACCES
    WOPT_FAULT=eio:K:persist     keep failing from operation K on (except while rolling back,
                                 so the failure path itself can be checked; a kill still fires)
    WOPT_FAULT=count             count only; at exit write the count (and the log of named
                                 operations) to WOPT_FAULT_COUNT_FILE, else to stderr

Durability: `sync_files` makes a batch of written files durable. On Linux it issues one
`syncfs(2)` per filesystem touched (one journal commit instead of one per file), elsewhere
(or with WOPT_SYNC=fsync) one fsync per file. Errors of either are reported, never retried.
"""
from __future__ import annotations

import errno
import json
import os
import signal
import sys
from contextlib import contextmanager

# ------------------------------------------------------------------ state and fault config

_count = 0
_fsyncs = 0
_phase = "idle"
_log: list[tuple[int, str, str, str]] = []
_fault: tuple[str, int, bool] | None = None   # (kind, k, persist)
_fired = False
_configured = False
_counting = False
_suspend_errors = 0
_atexit = False

_ERRNO = {"eio": errno.EIO, "enospc": errno.ENOSPC, "eacces": errno.EACCES, "erofs": errno.EROFS}


def configure(spec: str | None = None) -> None:
    """(Re)read the fault spec (default: the WOPT_FAULT environment variable) and reset counts."""
    global _fault, _fired, _configured, _counting, _count, _fsyncs, _log
    spec = os.environ.get("WOPT_FAULT", "") if spec is None else spec
    _fault, _fired, _counting = None, False, False
    _count, _fsyncs, _log = 0, 0, []
    spec = spec.strip()
    if spec == "count":
        _counting = True
        global _atexit
        if not _atexit:
            import atexit
            atexit.register(_write_count)
            _atexit = True
    elif spec:
        parts = spec.split(":")
        kind = parts[0].lower()
        if kind not in ("kill", *_ERRNO) or len(parts) < 2 or not parts[1].isdigit():
            raise ValueError(f"WOPT_FAULT={spec!r}: expected kill:K, eio:K, enospc:K or eacces:K "
                             "(optionally :persist) or count")
        _fault = (kind, int(parts[1]), len(parts) > 2 and parts[2] == "persist")
        _counting = True  # keep the log so a message can name the operation
    _configured = True


def _ensure() -> None:
    if not _configured:
        configure()


def _write_count() -> None:
    if not _counting or _fault is not None:
        return
    data = json.dumps({"ops": _count, "log": _log})
    target = os.environ.get("WOPT_FAULT_COUNT_FILE")
    if target:
        with open(target, "w") as f:
            f.write(data)
    else:
        sys.stderr.write(f"wopt: fsio operations: {_count}\n")


def count() -> int:
    return _count


def fsync_count() -> int:
    return _fsyncs


def log() -> list[tuple[int, str, str, str]]:
    return list(_log)


def last_op() -> str:
    if not _log:
        return "no operation"
    k, phase, op, path = _log[-1]
    return f"phase {phase}, operation {k} ({op} {path})"


def set_phase(name: str) -> None:
    global _phase
    _phase = name


def phase() -> str:
    return _phase


@contextmanager
def in_phase(name: str):
    old = _phase
    set_phase(name)
    try:
        yield
    finally:
        set_phase(old)


@contextmanager
def rolling_back():
    """Persistent injected errors stop while a failed transaction rolls back."""
    global _suspend_errors
    _suspend_errors += 1
    try:
        yield
    finally:
        _suspend_errors -= 1


def _op(kind: str, path) -> None:
    """Called BEFORE each operation: counts it and may raise an injected error."""
    global _count, _fired
    _ensure()
    _count += 1
    if _counting:
        _log.append((_count, _phase, kind, str(path)))
    f = _fault
    if f is None or f[0] == "kill":
        return
    name, k, persist = f
    if _suspend_errors and (_fired or _count > k):
        return
    if _count == k or (persist and _count > k):
        _fired = True
        code = _ERRNO[name]
        raise OSError(code, f"{os.strerror(code)} (injected at {_phase}, operation {_count})", str(path))


def _after() -> None:
    """Called AFTER each operation: the kill fault fires here."""
    f = _fault
    if f is not None and f[0] == "kill" and _count == f[1]:
        os.kill(os.getpid(), signal.SIGKILL)


# ------------------------------------------------------------------ operations

def open_new(path, mode: int = 0o600) -> int:
    """Create a new file (must not exist), write-only."""
    _op("open_new", path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), mode)
    _after()
    return fd


def open_write(path) -> int:
    """Open an existing file for writing in place (same inode)."""
    _op("open_write", path)
    fd = os.open(path, os.O_WRONLY | getattr(os, "O_CLOEXEC", 0))
    _after()
    return fd


def write(fd: int, data: bytes, path="") -> None:
    """Write all of `data` at the current position (one counted operation)."""
    _op("write", path)
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]
    _after()


def truncate(fd: int, length: int, path="") -> None:
    _op("truncate", path)
    os.ftruncate(fd, length)
    _after()


def fchmod(fd: int, mode: int, path="") -> None:
    _op("chmod", path)
    os.fchmod(fd, mode)
    _after()


def fsync(fd: int, path="") -> None:
    global _fsyncs
    _op("fsync", path)
    _fsyncs += 1
    os.fsync(fd)
    _after()


def close(fd: int) -> None:
    os.close(fd)  # not counted: nothing durable happens here


def fsync_dir(path) -> None:
    global _fsyncs
    _op("fsync_dir", path)
    _fsyncs += 1
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    _after()


def rename(src, dst) -> None:
    """Atomic replace of `dst` by `src` (os.replace)."""
    _op("rename", f"{src} -> {dst}")
    os.replace(src, dst)
    _after()


replace = rename


def link(src, dst) -> None:
    """A hard link of `src` itself (a symlink is linked, not followed)."""
    _op("link", f"{src} -> {dst}")
    os.link(src, dst, follow_symlinks=False)
    _after()


def symlink(target, path) -> None:
    """Create the symbolic link `path` pointing to `target` (bytes or str)."""
    _op("symlink", f"{path} -> {os.fsdecode(target)}")
    os.symlink(os.fsdecode(target), path)
    _after()


def unlink(path) -> None:
    _op("unlink", path)
    os.unlink(path)
    _after()


def mkdir(path, mode: int = 0o777) -> None:
    _op("mkdir", path)
    os.mkdir(path, mode)
    _after()


def rmdir(path) -> None:
    _op("rmdir", path)
    os.rmdir(path)
    _after()


def chmod(path, mode: int) -> None:
    _op("chmod", path)
    os.chmod(path, mode)
    _after()


# ------------------------------------------------------------------ composite helpers

def write_new_file(path, data: bytes, mode: int, *, sync: bool = True) -> None:
    """Create `path` with `data` and `mode` (exact bits, not umasked); fsync unless told not to."""
    fd = open_new(path, 0o600)
    try:
        write(fd, data, path)
        fchmod(fd, mode, path)
        if sync:
            fsync(fd, path)
    finally:
        close(fd)


def overwrite_file(path, data: bytes, *, sync: bool = True) -> None:
    """Write `data` into the existing file `path` in place (same inode, hard links kept)."""
    fd = open_write(path)
    try:
        write(fd, data, path)
        truncate(fd, len(data), path)
        if sync:
            fsync(fd, path)
    finally:
        close(fd)


def _libc_syncfs():
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes
        import ctypes.util
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        fn = libc.syncfs
        fn.argtypes = [ctypes.c_int]
        fn.restype = ctypes.c_int
        return fn
    except (OSError, AttributeError):
        return None


_SYNCFS = None
_SYNCFS_LOADED = False


def _syncfs_fn():
    global _SYNCFS, _SYNCFS_LOADED
    if not _SYNCFS_LOADED:
        _SYNCFS = _libc_syncfs()
        _SYNCFS_LOADED = True
    return _SYNCFS


def sync_files(paths, *, dirs=()) -> int:
    """Make the written files `paths` (and the directories `dirs`) durable. Returns the number
    of sync calls. With syncfs: one call per filesystem (it flushes data and metadata of the
    whole filesystem); otherwise fsync of each file and each directory."""
    global _fsyncs
    paths = list(paths)
    dirs = list(dirs)
    if not paths and not dirs:
        return 0
    fn = _syncfs_fn() if os.environ.get("WOPT_SYNC", "auto") != "fsync" else None
    if fn is not None and len(paths) + len(dirs) > 2:
        import ctypes
        seen: dict[int, str] = {}
        for p in [*paths, *dirs]:
            try:
                dev = os.stat(p).st_dev
            except FileNotFoundError:
                continue
            seen.setdefault(dev, p)
        n = 0
        for dev, p in seen.items():
            _op("syncfs", p)
            _fsyncs += 1
            fd = os.open(p, os.O_RDONLY)
            try:
                if fn(fd) != 0:
                    e = ctypes.get_errno()
                    raise OSError(e, os.strerror(e), str(p))
            finally:
                os.close(fd)
            _after()
            n += 1
        return n
    n = 0
    for p in paths:
        fd = os.open(p, os.O_RDONLY)
        try:
            fsync(fd, p)
        finally:
            os.close(fd)
        n += 1
    for d in dirs:
        fsync_dir(d)
        n += 1
    return n
