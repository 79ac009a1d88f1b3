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

Confinement: every operation takes a `Tree` (verified directory handles of the workspace) and
workspace-relative paths. Each directory is opened with O_DIRECTORY|O_NOFOLLOW walking down
from the root's handle, the calls act relative to those handles (`dir_fd=`: openat, renameat,
unlinkat, mkdirat, linkat), the chain is re-checked (device and inode at each name) before each
use, and final components are opened with O_NOFOLLOW: a symlink planted or a directory swapped
mid-transaction stops the operation (`Replaced`) instead of redirecting it. The operation log
and the errors name the workspace-relative paths.

Durability: `sync_files` makes a batch of written files durable. On Linux it issues one
`syncfs(2)` per filesystem touched (one journal commit instead of one per file), elsewhere
(or with WOPT_SYNC=fsync) one fsync per file. Errors of either are reported, never retried.
"""
from __future__ import annotations

import errno
import json
import os
import signal
import stat
import sys
from collections.abc import Callable
from contextlib import contextmanager

# ------------------------------------------------------------------ state and fault config

_count = 0
_fsyncs = 0
_phase = "idle"
_log: list[tuple[int, str, str, str]] = []
_current: tuple[str, object] = ("", "")        # (kind, path) of the latest operation begun
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


def current_op() -> tuple[str, str]:
    """(kind, workspace-relative path) of the latest operation begun: the one that failed, when
    read as its error propagates. A rename or link names `src -> dst`."""
    kind, path = _current
    return kind, str(path)


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
    global _count, _fired, _current
    _ensure()
    _count += 1
    _current = (kind, path)
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


# ------------------------------------------------------------------ confinement: directory handles

_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_DIR_FLAGS = os.O_RDONLY | _DIRECTORY | _NOFOLLOW | _CLOEXEC


class Replaced(OSError):
    """A directory on the way to a target is a symlink, not a directory, or was moved or
    replaced since wopt opened it: wopt does not write through it."""


def _split(rel: str) -> tuple[str, str]:
    d, _, name = str(rel).rpartition("/")
    return d, name


class Tree:
    """Verified directory handles under one root (the workspace).

    Every directory is opened with O_DIRECTORY|O_NOFOLLOW relative to its parent's handle,
    walking down from the root's, so no symlink is ever followed on the way; every operation
    then acts on a name relative to its directory's handle (`dir_fd=`). Before each use the
    handles of the whole chain are checked to still stand at their names (same device and
    inode): a directory swapped for a symlink, or moved, mid-transaction stops the next
    operation with `Replaced` instead of redirecting it.

    `loose` (in-process rollback only): a handle opened earlier in this transaction may be
    used although its directory was since moved, as long as it is still beneath the root
    (checked by walking `..` up to the root's inode), so wopt can take back exactly what it
    wrote there. A directory that left the workspace is never used."""

    def __init__(self, root):
        self.root = str(root)
        fd = os.open(self.root, os.O_RDONLY | _DIRECTORY | _CLOEXEC)
        st = os.fstat(fd)
        self._dirs: dict[str, tuple[int, int, int]] = {"": (fd, st.st_dev, st.st_ino)}
        self.loose = False

    def close(self) -> None:
        for fd, _, _ in self._dirs.values():
            try:
                os.close(fd)
            except OSError:
                pass
        self._dirs = {}

    def __enter__(self) -> "Tree":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def root_fd(self) -> int:
        return self._dirs[""][0]

    def forget(self, rel: str) -> None:
        """Drop the handle of `rel` (and below): the directory was removed."""
        rel = rel.strip("/")
        for k in [k for k in self._dirs if k == rel or k.startswith(rel + "/")]:
            if k:
                fd = self._dirs.pop(k)[0]
                os.close(fd)

    def dir(self, rel: str) -> int:
        """The verified handle of the directory `rel` (workspace-relative, "" the root)."""
        rel = str(rel).strip("/")
        if rel in (".",):
            rel = ""
        if self.loose and rel in self._dirs:
            fd = self._dirs[rel][0]
            if not self._beneath_root(fd):
                raise Replaced(errno.EXDEV, "was moved out of the workspace during the transaction; "
                               "wopt does not write there", rel)
            return fd
        fd, dev, ino = self._dirs[""]
        if not rel:
            return fd
        parts = rel.split("/")
        st: os.stat_result | None
        for i, part in enumerate(parts):
            cur = "/".join(parts[: i + 1])
            got = self._dirs.get(cur)
            if part in ("", ".", ".."):
                raise Replaced(errno.EINVAL, "is not a plain workspace path", rel)
            if got is None:
                try:
                    nfd = os.open(part, _DIR_FLAGS, dir_fd=fd)
                except OSError as e:
                    if e.errno in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):
                        raise Replaced(e.errno, "is a symlink or not a directory; wopt does not "
                                       "write through it", cur) from None
                    raise OSError(e.errno, e.strerror, cur) from None
                st = os.fstat(nfd)
                self._dirs[cur] = (nfd, st.st_dev, st.st_ino)
                fd = nfd
                continue
            try:
                st = os.stat(part, dir_fd=fd, follow_symlinks=False)
            except FileNotFoundError:
                st = None
            if st is None or not stat.S_ISDIR(st.st_mode) or (st.st_dev, st.st_ino) != got[1:]:
                raise Replaced(errno.ELOOP, "was replaced (by a symlink or another directory) or "
                               "moved during the transaction; wopt does not write through it", cur)
            fd = got[0]
        return fd

    def _beneath_root(self, fd: int) -> bool:
        _, rdev, rino = self._dirs[""]
        cur = os.dup(fd)
        try:
            for _ in range(4096):
                st = os.fstat(cur)
                if (st.st_dev, st.st_ino) == (rdev, rino):
                    return True
                up = os.open("..", os.O_RDONLY | _DIRECTORY | _CLOEXEC, dir_fd=cur)
                ust = os.fstat(up)
                os.close(cur)
                cur = up
                if (ust.st_dev, ust.st_ino) == (st.st_dev, st.st_ino):
                    return False  # reached "/"
            return False
        finally:
            os.close(cur)

    def opened(self, rel: str) -> bool:
        """True if this Tree ever opened the directory holding `rel` (so anything it wrote
        there went through that handle)."""
        return _split(rel)[0] in self._dirs

    def at(self, rel: str) -> tuple[int, str]:
        """(verified handle of the parent directory, final name) of `rel`."""
        d, name = _split(rel)
        if not name or name in (".", ".."):
            raise Replaced(errno.EINVAL, "is not a plain workspace path", str(rel))
        return self.dir(d), name

    # ------------------------------------------------------------ reads (not counted)

    def lstat(self, rel: str):
        """os.stat of `rel` without following a final symlink; None if absent (or a directory
        on the way is)."""
        try:
            dfd, name = self.at(rel)
            return os.stat(name, dir_fd=dfd, follow_symlinks=False)
        except FileNotFoundError:
            return None

    def exists(self, rel: str) -> bool:
        return self.lstat(rel) is not None

    def read(self, rel: str) -> tuple[bytes | None, int | None]:
        """(content, mode bits) of the regular file `rel`, (None, None) if absent. Anything
        else there (a symlink, a directory, a fifo) raises Replaced."""
        try:
            dfd, name = self.at(rel)
            fd = os.open(name, os.O_RDONLY | _NOFOLLOW | _NONBLOCK | _CLOEXEC, dir_fd=dfd)
        except FileNotFoundError:
            return None, None
        except Replaced:
            raise
        except OSError as e:
            if e.errno == errno.ELOOP:
                raise Replaced(e.errno, "is a symlink; wopt does not follow it here", str(rel)) from None
            raise OSError(e.errno, e.strerror, str(rel)) from None
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise Replaced(errno.EINVAL, "is not a regular file", str(rel))
            chunks = []
            while True:
                b = os.read(fd, 1 << 20)
                if not b:
                    break
                chunks.append(b)
            return b"".join(chunks), stat.S_IMODE(st.st_mode)
        finally:
            os.close(fd)

    def readlink(self, rel: str) -> bytes | None:
        """The target (bytes) of the symlink `rel` itself, never followed; None if absent.
        Anything else there raises Replaced."""
        try:
            dfd, name = self.at(rel)
            return os.readlink(os.fsencode(name), dir_fd=dfd)
        except FileNotFoundError:
            return None
        except OSError as e:
            if isinstance(e, Replaced):
                raise
            if e.errno == errno.EINVAL:
                raise Replaced(e.errno, "is not a symlink", str(rel)) from None
            raise OSError(e.errno, e.strerror, str(rel)) from None

    def listdir(self, rel: str) -> list[str]:
        return os.listdir(self.dir(rel))

    def is_dir(self, rel: str) -> bool:
        st = self.lstat(rel)
        return st is not None and stat.S_ISDIR(st.st_mode)


def _relabel(e: OSError, label: str) -> OSError:
    """The same error naming the workspace-relative path (never a bare name or an fd)."""
    if isinstance(e, Replaced):
        return e
    out = OSError(e.errno, e.strerror, label)
    return out


# ------------------------------------------------------------------ operations
#
# Every operation takes a Tree and workspace-relative paths ("src/app.py",
# ".wopt/journal/<tx>.pending"): the log and the errors name those.

def open_new(tree: Tree, rel: str, mode: int = 0o600) -> int:
    """Create a new file (must not exist; never through a symlink), write-only."""
    _op("open_new", rel)
    dfd, name = tree.at(rel)
    try:
        fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, mode, dir_fd=dfd)
    except OSError as e:
        raise _relabel(e, rel) from None
    _after()
    return fd


def _open_regular(tree: Tree, rel: str, flags: int, mode: int = 0o644) -> int:
    """Open `rel` with `flags`, never through a symlink; anything but a regular file there is
    refused (Replaced)."""
    dfd, name = tree.at(rel)
    try:
        fd = os.open(name, flags | _NOFOLLOW | _NONBLOCK | _CLOEXEC, mode, dir_fd=dfd)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise Replaced(e.errno, "is a symlink; wopt does not write through it", rel) from None
        raise _relabel(e, rel) from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise Replaced(errno.EINVAL, "is not a regular file", rel)
    return fd


def open_write(tree: Tree, rel: str) -> int:
    """Open an existing regular file for writing in place (same inode), never through a
    symlink."""
    _op("open_write", rel)
    fd = _open_regular(tree, rel, os.O_WRONLY)
    _after()
    return fd


def open_append(tree: Tree, rel: str, mode: int = 0o644) -> int:
    """Open (create if absent) a regular file for appending, never through a symlink."""
    _op("open_append", rel)
    fd = _open_regular(tree, rel, os.O_WRONLY | os.O_CREAT | os.O_APPEND, mode)
    _after()
    return fd


def write(fd: int, data: bytes, path="") -> None:
    """Write all of `data` at the current position (one counted operation)."""
    _op("write", path)
    view = memoryview(data)
    try:
        while view:
            n = os.write(fd, view)
            view = view[n:]
    except OSError as e:
        raise _relabel(e, str(path)) from None
    _after()


def _on_fd(kind: str, path, call: Callable[[], object]) -> None:
    """One counted operation on an open file: `call()` between the fault hooks, its error
    naming `path`."""
    _op(kind, path)
    try:
        call()
    except OSError as e:
        raise _relabel(e, str(path)) from None
    _after()


def truncate(fd: int, length: int, path="") -> None:
    _on_fd("truncate", path, lambda: os.ftruncate(fd, length))


def fchmod(fd: int, mode: int, path="") -> None:
    _on_fd("chmod", path, lambda: os.fchmod(fd, mode))


def fsync(fd: int, path="") -> None:
    global _fsyncs
    _op("fsync", path)
    _fsyncs += 1
    try:
        os.fsync(fd)
    except OSError as e:
        raise _relabel(e, str(path)) from None
    _after()


def close(fd: int) -> None:
    os.close(fd)  # not counted: nothing durable happens here


def fsync_dir(tree: Tree, rel: str) -> None:
    """fsync the directory `rel` through its verified handle."""
    global _fsyncs
    label = rel or "."
    _op("fsync_dir", label)
    _fsyncs += 1
    fd = tree.dir(rel)
    try:
        os.fsync(fd)
    except OSError as e:
        raise _relabel(e, label) from None
    _after()


def rename(tree: Tree, src: str, dst: str) -> None:
    """Atomic replace of `dst` by `src` (renameat: names relative to verified handles; a
    symlink at `dst` is replaced, never followed)."""
    _op("rename", f"{src} -> {dst}")
    sfd, sname = tree.at(src)
    dfd, dname = tree.at(dst)
    try:
        os.replace(sname, dname, src_dir_fd=sfd, dst_dir_fd=dfd)
    except OSError as e:
        raise _relabel(e, dst) from None
    _after()


replace = rename


def link(tree: Tree, src: str, dst: str) -> None:
    """A hard link of `src` itself (a symlink is linked, not followed)."""
    _op("link", f"{src} -> {dst}")
    sfd, sname = tree.at(src)
    dfd, dname = tree.at(dst)
    try:
        os.link(sname, dname, src_dir_fd=sfd, dst_dir_fd=dfd, follow_symlinks=False)
    except OSError as e:
        raise _relabel(e, src) from None
    _after()


def symlink(tree: Tree, target: str | bytes, rel: str) -> None:
    """Create the symlink `rel` -> `target` (str or bytes; the target text is the caller's
    to check)."""
    _in_dir("symlink", tree, rel, lambda dfd, name: os.symlink(os.fsdecode(target), name, dir_fd=dfd))


def _in_dir(kind: str, tree: Tree, rel: str, call: Callable[[int, str], object]) -> None:
    """One counted operation on the entry `rel`: `call(dir handle, name)` between the fault
    hooks, its error naming `rel`."""
    _op(kind, rel)
    dfd, name = tree.at(rel)
    try:
        call(dfd, name)
    except OSError as e:
        raise _relabel(e, rel) from None
    _after()


def unlink(tree: Tree, rel: str) -> None:
    _in_dir("unlink", tree, rel, lambda dfd, name: os.unlink(name, dir_fd=dfd))


def mkdir(tree: Tree, rel: str, mode: int = 0o777) -> None:
    _in_dir("mkdir", tree, rel, lambda dfd, name: os.mkdir(name, mode, dir_fd=dfd))


def rmdir(tree: Tree, rel: str) -> None:
    _in_dir("rmdir", tree, rel, lambda dfd, name: os.rmdir(name, dir_fd=dfd))
    tree.forget(rel)


def chmod(tree: Tree, rel: str, mode: int) -> None:
    """Change the mode bits of the regular file `rel`, never through a symlink (the file is
    opened with O_NOFOLLOW and changed through that handle)."""
    _op("chmod", rel)
    dfd, name = tree.at(rel)
    try:
        fd = os.open(name, os.O_RDONLY | _NOFOLLOW | _NONBLOCK | _CLOEXEC, dir_fd=dfd)
    except PermissionError:
        fd = None
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise Replaced(e.errno, "is a symlink; wopt does not change it", rel) from None
        raise _relabel(e, rel) from None
    try:
        if fd is None:
            # an unreadable file: a path-only handle (Linux), changed through /proc
            opath = getattr(os, "O_PATH", 0)
            if not opath or not os.path.isdir("/proc/self/fd"):
                raise OSError(errno.EACCES, os.strerror(errno.EACCES), rel)
            fd = os.open(name, opath | _NOFOLLOW | _CLOEXEC, dir_fd=dfd)
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise Replaced(errno.EINVAL, "is not a regular file", rel)
            os.chmod(f"/proc/self/fd/{fd}", mode)
        else:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise Replaced(errno.EINVAL, "is not a regular file", rel)
            os.fchmod(fd, mode)
    except Replaced:
        raise
    except OSError as e:
        raise _relabel(e, rel) from None
    finally:
        if fd is not None:
            os.close(fd)
    _after()


# ------------------------------------------------------------------ composite helpers

def write_new_file(tree: Tree, rel: str, data: bytes, mode: int, *, sync: bool = True) -> None:
    """Create `rel` with `data` and `mode` (exact bits, not umasked); fsync unless told not to."""
    fd = open_new(tree, rel, 0o600)
    try:
        write(fd, data, rel)
        fchmod(fd, mode, rel)
        if sync:
            fsync(fd, rel)
    finally:
        close(fd)


def overwrite_file(tree: Tree, rel: str, data: bytes, *, sync: bool = True) -> None:
    """Write `data` into the existing file `rel` in place (same inode, hard links kept)."""
    fd = open_write(tree, rel)
    try:
        write(fd, data, rel)
        truncate(fd, len(data), rel)
        if sync:
            fsync(fd, rel)
    finally:
        close(fd)


def restore_file(tree: Tree, rel: str, data: bytes) -> None:
    """Write `data` back into `rel` in place: cut to its length first, then write (so an
    interruption leaves a prefix of what was there, then `data`: states a rollback knows)."""
    fd = open_write(tree, rel)
    try:
        if os.fstat(fd).st_size > len(data):
            truncate(fd, len(data), rel)
        write(fd, data, rel)
    finally:
        close(fd)


def makedirs(tree: Tree, rel: str, mode: int = 0o777) -> list[str]:
    """Create the directory `rel` and any missing parents, confined; returns those created."""
    made: list[str] = []
    parts = [p for p in str(rel).split("/") if p]
    for i in range(1, len(parts) + 1):
        cur = "/".join(parts[:i])
        st = tree.lstat(cur)
        if st is None:
            try:
                mkdir(tree, cur, mode)
                made.append(cur)
            except FileExistsError:
                pass
        elif not stat.S_ISDIR(st.st_mode):
            raise Replaced(errno.ENOTDIR, "is a symlink or not a directory; wopt does not write "
                           "through it", cur)
    return made


def atomic_write(tree: Tree, rel: str, data: bytes, *, mode: int = 0o644, sync: bool = True) -> None:
    """Replace `rel` by `data` atomically: a temporary file in the same directory, fsync'd,
    renamed over it, the directory fsync'd."""
    d, name = _split(rel)
    tmp = (f"{d}/" if d else "") + f".{name[:200]}.{os.getpid()}.{os.urandom(3).hex()}.tmp"
    try:
        write_new_file(tree, tmp, data, mode, sync=sync)
        rename(tree, tmp, rel)
    except BaseException:
        try:
            dfd, tname = tree.at(tmp)
            os.unlink(tname, dir_fd=dfd)
        except OSError:
            pass  # never created, or already renamed
        raise
    if sync:
        fsync_dir(tree, d)


def spool_tree(path) -> tuple[Tree, str]:
    """(Tree, relative path) for a file path. Under a `.wopt` directory (wopt's spool) the Tree
    is rooted where `.wopt` stands, so `.wopt/...` is walked without following any symlink;
    elsewhere (a user's own settings file) the Tree is the file's directory as named."""
    p = os.path.abspath(os.fspath(path))
    parts = p.split(os.sep)
    if ".wopt" in parts[:-1]:
        i = len(parts) - 1 - parts[:-1][::-1].index(".wopt") - 1
        root = os.sep.join(parts[:i]) or os.sep
        return Tree(root), "/".join(parts[i:])
    d, name = os.path.split(p)
    return Tree(d), name


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


def sync_files(tree: Tree, paths, *, dirs=()) -> int:
    """Make the written files `paths` (and the directories `dirs`), workspace-relative, durable.
    Returns the number of sync calls. With syncfs: one call per filesystem (it flushes data and
    metadata of the whole filesystem); otherwise fsync of each file and each directory."""
    global _fsyncs
    paths = list(dict.fromkeys(paths))
    dirs = list(dict.fromkeys(dirs))
    if not paths and not dirs:
        return 0
    fn = _syncfs_fn() if os.environ.get("WOPT_SYNC", "auto") != "fsync" else None
    if fn is not None and len(paths) + len(dirs) > 2:
        import ctypes
        seen: dict[int, tuple[int, str]] = {}
        for p in [*(_split(p)[0] for p in paths), *dirs]:
            try:
                fd = tree.dir(p)
            except FileNotFoundError:
                continue
            seen.setdefault(os.fstat(fd).st_dev, (fd, p or "."))
        n = 0
        for dev, (fd, p) in seen.items():
            _op("syncfs", p)
            _fsyncs += 1
            if fn(fd) != 0:
                e = ctypes.get_errno()
                raise OSError(e, os.strerror(e), p)
            _after()
            n += 1
        return n
    n = 0
    for p in paths:
        dfd, name = tree.at(p)
        try:
            fd = os.open(name, os.O_RDONLY | _NOFOLLOW | _NONBLOCK | _CLOEXEC, dir_fd=dfd)
        except OSError as e:
            raise _relabel(e, p) from None
        try:
            fsync(fd, p)
        finally:
            os.close(fd)
        n += 1
    for d in dirs:
        fsync_dir(tree, d)
        n += 1
    return n
