"""A power-loss model of the filesystem for wopt's I/O layer, in the manner of ALICE and
CrashMonkey: record the operations a transaction issues, replay them into a model that keeps,
for every inode and directory, what is volatile (in the page cache) and what is durable (on
the platter), and build the states a power cut after any operation could leave.

Recording. `Recorder.patch(fsio)` replaces the `os` module that `engine/store/fsio.py` sees with a
proxy: every write-side call (open with O_CREAT or O_TRUNC, write, pwrite, ftruncate,
truncate, fchmod, chmod, fsync, fdatasync, rename, replace, link, symlink, unlink, remove,
mkdir, rmdir, close) runs for real and is recorded as a logical operation on the model's
inodes. Path-based calls and `dir_fd=` / `src_dir_fd=` / `dst_dir_fd=` calls are both
understood: a directory fd resolves to its inode (fds the proxy opened) or to its path
(`/proc/self/fd/N`). fsio's `syncfs(2)` (through ctypes) is recorded as "everything durable".
Anything the recorder does not understand, or an operation outside the workspace, fails the
recording; and at the end the model's volatile tree must equal the tree on disk, so a write
the proxy missed cannot pass unnoticed.

Persistence rules (POSIX, as ALICE and CrashMonkey model a crash; weaker than ext4):
- the initial tree is durable;
- `fsync` of a file makes its data, size and mode durable, not its directory entry;
- `fsync` of a directory makes its entries durable (which names point to which inodes);
- `syncfs` makes everything durable;
- a new inode whose data was never synced is empty after a power cut, with its creation mode;
- unsynced directory operations persist in any prefix of their order within one directory,
  independently of other directories, each whole: a rename (across directories too) is one
  atomic operation, as on every journaling filesystem; persisting one needs the operations
  before it in the directories it touches, and an fsync of a directory persists them too;
- unsynced file data persists or not per file, or torn in whole 4 KB pages (the first half of
  its pages, with the new size and zero-filled pages, or the shorter size those pages reach).
"""
from __future__ import annotations

import copy
import os
import shutil
import stat
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

_UMASK = os.umask(0o022)
os.umask(_UMASK)


PAGE = 4096   # the unit in which file data reaches the disk


class RecorderError(AssertionError):
    """The recorder met an operation it cannot model (or one outside the workspace)."""


# ------------------------------------------------------------------------------ the model

class Inode:
    __slots__ = ("kind", "data", "mode", "d_data", "d_mode", "entries", "d_entries", "pending")

    def __init__(self, kind: str, mode: int, data: bytes = b"", entries: dict | None = None):
        self.kind = kind                      # "file" | "dir" | "symlink"
        self.data = bytearray(data)           # volatile contents (files, symlink target)
        self.mode = mode
        self.d_data = bytes(data)             # durable contents
        self.d_mode = mode
        self.entries = dict(entries or {})    # volatile entries (dirs): name -> inode id
        self.d_entries = dict(entries or {})  # durable entries
        self.pending: list[int] = []          # ids of unsynced entry operations, in order


@dataclass
class Op:
    """One recorded operation. `kind` is one of create, mkdir, symlink, write, truncate, chmod,
    rename, link, unlink, rmdir, fsync, syncfs; `args` its model arguments; `label` says where
    it happened (fsio phase, call, workspace-relative path)."""

    kind: str
    args: tuple
    label: str

    @property
    def is_sync(self) -> bool:
        return self.kind in ("fsync", "syncfs")


class FS:
    """Inodes by id; inode 0 is the workspace root."""

    def __init__(self):
        self.inodes: dict[int, Inode] = {}
        self.next = 0
        # unsynced entry operations: id -> [(dir, name, inode or None)]; one operation (a
        # rename across directories included) persists whole or not at all
        self.entry_ops: dict[int, list[tuple[int, str, int | None]]] = {}
        self.next_op = 0

    def new(self, inode: Inode) -> int:
        i = self.next
        self.next += 1
        self.inodes[i] = inode
        return i

    @classmethod
    def scan(cls, root: Path) -> "FS":
        """The tree at `root` (`.wopt/` included), all durable; hard links share an inode."""
        fs = cls()
        by_real: dict[tuple[int, int], int] = {}

        def walk(p: str) -> int:
            st = os.lstat(p)
            key = (st.st_dev, st.st_ino)
            if stat.S_ISDIR(st.st_mode):
                ino = fs.new(Inode("dir", stat.S_IMODE(st.st_mode)))
                entries = {name: walk(os.path.join(p, name)) for name in sorted(os.listdir(p))}
                node = fs.inodes[ino]
                node.entries, node.d_entries = dict(entries), dict(entries)
                return ino
            if key in by_real:
                return by_real[key]
            if stat.S_ISLNK(st.st_mode):
                ino = fs.new(Inode("symlink", 0o777, os.readlink(p).encode()))
            elif stat.S_ISREG(st.st_mode):
                with open(p, "rb") as f:
                    ino = fs.new(Inode("file", stat.S_IMODE(st.st_mode), f.read()))
            else:
                raise RecorderError(f"{p}: not a file, directory or symlink")
            by_real[key] = ino
            return ino

        root_ino = walk(str(root))
        assert root_ino == 0
        return fs

    def clone(self) -> "FS":
        return copy.deepcopy(self)

    # ---------------------------------------------------------------- replay

    def _entry(self, changes: list[tuple[int, str, int | None]]) -> None:
        oid = self.next_op
        self.next_op += 1
        self.entry_ops[oid] = changes
        for d, name, target in changes:
            node = self.inodes[d]
            if target is None:
                node.entries.pop(name, None)
            else:
                node.entries[name] = target
            if oid not in node.pending:
                node.pending.append(oid)

    def _op_dirs(self, oid: int) -> list[int]:
        return list(dict.fromkeys(d for d, _, _ in self.entry_ops[oid]))

    def closure(self, oids) -> set[int]:
        """`oids` and every entry operation that precedes one of them in a directory they
        touch: what must have persisted for them to persist (directories persist in order)."""
        out: set[int] = set()
        work = list(oids)
        while work:
            o = work.pop()
            if o in out:
                continue
            out.add(o)
            for d in self._op_dirs(o):
                lst = self.inodes[d].pending
                work.extend(lst[:lst.index(o)])
        return out

    def later(self, oids) -> set[int]:
        """`oids` and every entry operation that follows one of them in a directory they touch."""
        out: set[int] = set()
        work = list(oids)
        while work:
            o = work.pop()
            if o in out:
                continue
            out.add(o)
            for d in self._op_dirs(o):
                lst = self.inodes[d].pending
                work.extend(lst[lst.index(o) + 1:])
        return out

    def _persist(self, oids: set[int]) -> None:
        for o in sorted(oids):
            for d, name, target in self.entry_ops.pop(o):
                node = self.inodes[d]
                if target is None:
                    node.d_entries.pop(name, None)
                else:
                    node.d_entries[name] = target
                if o in node.pending:
                    node.pending.remove(o)

    def apply(self, op: Op, durable: bool = True) -> None:
        """Apply `op` to the volatile state; a sync op with `durable` False is treated as
        absent (it makes nothing durable)."""
        k, a = op.kind, op.args
        if k == "create":
            d, name, ino, mode = a
            self.inodes[ino] = Inode("file", mode)
            self.next = max(self.next, ino + 1)
            self._entry([(d, name, ino)])
        elif k == "mkdir":
            d, name, ino, mode = a
            self.inodes[ino] = Inode("dir", mode)
            self.next = max(self.next, ino + 1)
            self._entry([(d, name, ino)])
        elif k == "symlink":
            d, name, ino, target = a
            self.inodes[ino] = Inode("symlink", 0o777, target)
            self.next = max(self.next, ino + 1)
            self._entry([(d, name, ino)])
        elif k == "write":
            ino, off, data = a
            buf = self.inodes[ino].data
            if len(buf) < off:
                buf.extend(b"\0" * (off - len(buf)))
            buf[off:off + len(data)] = data
        elif k == "truncate":
            ino, length = a
            buf = self.inodes[ino].data
            if len(buf) > length:
                del buf[length:]
            else:
                buf.extend(b"\0" * (length - len(buf)))
        elif k == "chmod":
            ino, mode = a
            self.inodes[ino].mode = mode
        elif k == "rename":
            sd, sname, dd, dname, ino = a
            self._entry([(dd, dname, ino), (sd, sname, None)])  # atomic, across directories too
        elif k == "link":
            ino, dd, dname = a
            self._entry([(dd, dname, ino)])
        elif k in ("unlink", "rmdir"):
            d, name = a
            self._entry([(d, name, None)])
        elif k == "fsync":
            if durable:
                node = self.inodes[a[0]]
                if node.kind == "dir":
                    self._persist(self.closure(node.pending))
                self._make_durable(node)
        elif k == "syncfs":
            if durable:
                self._persist(set(self.entry_ops))
                for node in self.inodes.values():
                    self._make_durable(node)
        else:
            raise RecorderError(f"unknown operation {k}")

    @staticmethod
    def _make_durable(node: Inode) -> None:
        node.d_mode = node.mode
        if node.kind == "dir":
            assert not node.pending and node.d_entries == node.entries
        else:
            node.d_data = bytes(node.data)

    # ---------------------------------------------------------------- views

    def lookup(self, parts: list[str]) -> int | None:
        cur = 0
        for part in parts:
            node = self.inodes[cur]
            if node.kind != "dir":
                return None
            nxt = node.entries.get(part)
            if nxt is None:
                return None
            cur = nxt
        return cur

    def entries_view(self, d: int, persisted: set[int] | None) -> dict[str, int]:
        """The entries of directory `d` after a power cut in which the unsynced entry
        operations `persisted` (a closed set; None: all of them) made it to disk."""
        node = self.inodes[d]
        if persisted is None or not node.pending:
            return node.entries if persisted is None else node.d_entries
        out = dict(node.d_entries)
        for o in node.pending:
            if o in persisted:
                for dd, name, target in self.entry_ops[o]:
                    if dd != d:
                        continue
                    if target is None:
                        out.pop(name, None)
                    else:
                        out[name] = target
        return out

    def file_view(self, ino: int, how) -> tuple[bytes, int]:
        """(data, mode) of a file after a power cut: "d" durable, "v" volatile; "t" torn and
        "s" torn short, with the durable mode. A filesystem writes a file's data back in whole
        pages (4 KB), and sets its size on disk with the blocks it allocated: a torn file has
        the first half of the unsynced data's pages (at least one) over its durable data, and
        either the new size ("t": pages past the durable data are zero-filled, as ext4 or XFS
        leave allocated blocks whose data never reached the disk) or the size those pages
        reach ("s": a shorter file). A page is never torn within itself."""
        node = self.inodes[ino]
        if how == "d":
            return node.d_data, node.d_mode
        if how == "v":
            return bytes(node.data), node.mode
        new, old = bytes(node.data), node.d_data
        pages = max(1, -(-len(new) // PAGE))
        cut = min(len(new), max(1, pages // 2) * PAGE)
        head = new[:cut]
        if how == "t":
            tail = old[cut:len(new)]
            return head + tail + b"\0" * (len(new) - cut - len(tail)), node.d_mode
        return head + old[cut:], node.d_mode

    def tree(self, persisted: set[int] | None, file_how: Callable[[int], str]) -> dict:
        """{rel path: ("dir", mode) | ("file", ino, data, mode) | ("symlink", ino, target)} of
        everything reachable from the root when the unsynced entry operations `persisted`
        (None: all) and, per file, data as `file_how` says made it to disk."""
        out: dict[str, tuple] = {}
        seen = {0}

        def walk(d: int, prefix: str) -> None:
            for name, ino in sorted(self.entries_view(d, persisted).items()):
                rel = f"{prefix}{name}"
                node = self.inodes[ino]
                if node.kind == "dir":
                    if ino in seen:
                        continue
                    seen.add(ino)
                    out[rel] = ("dir", node.mode)
                    walk(ino, rel + "/")
                elif node.kind == "symlink":
                    out[rel] = ("symlink", ino, bytes(node.data))
                else:
                    data, mode = self.file_view(ino, file_how(ino))
                    out[rel] = ("file", ino, data, mode)

        walk(0, "")
        return out

    def dirty_dirs(self) -> list[int]:
        return [i for i, n in self.inodes.items() if n.kind == "dir" and n.pending]

    def dirty_files(self) -> list[int]:
        return [i for i, n in self.inodes.items()
                if n.kind == "file" and (bytes(n.data) != n.d_data or n.mode != n.d_mode)]


def crash_states(fs: FS) -> Iterator[tuple[str, dict]]:
    """The states a power cut now could leave: durable only; everything (a process crash);
    metadata without data and data without metadata; for each directory with unsynced entry
    operations, every prefix of them (with what they need; the other directories durable, or
    all persisted but this one's rest); for each file with unsynced data, that file alone
    persisted, that file alone lost, or torn."""
    D = lambda _i: "d"  # noqa: E731
    V = lambda _i: "v"  # noqa: E731
    none: set[int] = set()
    yield "only the durable state", fs.tree(none, D)
    yield "everything (as a process crash)", fs.tree(None, V)
    yield "directory entries without file data", fs.tree(None, D)
    yield "file data without directory entries", fs.tree(none, V)
    every = set(fs.entry_ops)
    for x in fs.dirty_dirs():
        pend = fs.inodes[x].pending
        n = len(pend)
        for j in range(1, n + 1):
            p = fs.closure(pend[:j])
            yield f"dir#{x}: {j} of {n} entry ops, other dirs durable, data durable", fs.tree(p, D)
            yield f"dir#{x}: {j} of {n} entry ops, other dirs durable, data persisted", fs.tree(p, V)
        for j in range(0, n):
            p = every - fs.later(pend[j:])
            yield f"dir#{x}: {j} of {n} entry ops, other dirs persisted", fs.tree(p, V)
    for f in fs.dirty_files():
        yield f"file#{f}: only its data persisted", fs.tree(none, lambda i, f=f: "v" if i == f else "d")
        yield f"file#{f}: only its data lost", fs.tree(None, lambda i, f=f: "d" if i == f else "v")
        yield f"file#{f}: torn", fs.tree(None, lambda i, f=f: "t" if i == f else "v")
        yield f"file#{f}: torn short", fs.tree(None, lambda i, f=f: "s" if i == f else "v")


def state_key(tree: dict) -> tuple:
    """A hashable key of a state: paths, kinds, contents, modes, and which paths share an inode."""
    canon: dict[int, int] = {}
    out = []
    for rel in sorted(tree):
        e = tree[rel]
        if e[0] == "dir":
            out.append((rel, "dir", e[1]))
        else:
            group = canon.setdefault(e[1], len(canon))
            out.append((rel, e[0], group, *e[2:]))
    return tuple(out)


def materialize(tree: dict, dst: Path) -> None:
    """Write a state into the empty directory `dst` (hard links kept)."""
    first: dict[int, str] = {}
    dirs = []
    for rel in sorted(tree):
        e = tree[rel]
        p = os.path.join(dst, rel)
        if e[0] == "dir":
            os.mkdir(p, 0o700)
            dirs.append((p, e[1]))
        elif e[1] in first:
            os.link(first[e[1]], p, follow_symlinks=False)
        elif e[0] == "symlink":
            os.symlink(e[2].decode(), p)
            first[e[1]] = p
        else:
            with open(p, "wb") as f:
                f.write(e[2])
            os.chmod(p, e[3])
            first[e[1]] = p
    for p, mode in reversed(dirs):
        os.chmod(p, mode | 0o700)


def disk_tree(root: Path) -> dict:
    """The tree on disk in `tree()` form (inode ids replaced by real inode numbers)."""
    out: dict[str, tuple] = {}
    for dp, dns, fns in os.walk(root):
        for name in sorted(dns + fns):
            p = os.path.join(dp, name)
            rel = os.path.relpath(p, root)
            st = os.lstat(p)
            if stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir", stat.S_IMODE(st.st_mode))
            elif stat.S_ISLNK(st.st_mode):
                out[rel] = ("symlink", st.st_ino, os.readlink(p).encode())
            else:
                with open(p, "rb") as f:
                    out[rel] = ("file", st.st_ino, f.read(), stat.S_IMODE(st.st_mode))
    return out


# ------------------------------------------------------------------------------ the recorder

class _OsProxy:
    """`os` as fsio sees it: everything passes through to the real module; write-side calls are
    also recorded."""

    def __init__(self, real, rec: "Recorder"):
        self._real = real
        self._rec = rec

    def __getattr__(self, name):
        return getattr(self._real, name)

    # opening and closing
    def open(self, path, flags, mode=0o777, *, dir_fd=None):
        r = self._rec
        ap = r.abspath(path, dir_fd)
        kw = {"dir_fd": dir_fd} if dir_fd is not None else {}
        fd = self._real.open(path, flags, mode, **kw)
        try:
            ino = r.lookup(ap)
            if ino is None:
                if not flags & os.O_CREAT:
                    raise r.fail(f"opened {ap}, which the model does not know")
                d, name = r.parent(ap)
                ino = r.fs.next
                r.record("create", (d, name, ino, mode & ~_UMASK & 0o7777), f"open {r.rel(ap)}")
            elif flags & os.O_TRUNC and flags & (os.O_WRONLY | os.O_RDWR):
                r.record("truncate", (ino, 0), f"open O_TRUNC {r.rel(ap)}")
            r.fds[fd] = ino
        except BaseException:
            self._real.close(fd)
            raise
        return fd

    def close(self, fd):
        self._rec.fds.pop(fd, None)
        return self._real.close(fd)

    def dup(self, fd):
        new = self._real.dup(fd)
        if fd in self._rec.fds:
            self._rec.fds[new] = self._rec.fds[fd]
        return new

    # file contents and metadata
    def write(self, fd, data):
        n = self._real.write(fd, data)
        r = self._rec
        ino = r.fd_inode(fd)
        end = self._real.lseek(fd, 0, os.SEEK_CUR)
        r.record("write", (ino, end - n, bytes(memoryview(data)[:n])), f"write {r.ino_rel(ino)}")
        return n

    def pwrite(self, fd, data, offset):
        n = self._real.pwrite(fd, data, offset)
        r = self._rec
        ino = r.fd_inode(fd)
        r.record("write", (ino, offset, bytes(memoryview(data)[:n])), f"pwrite {r.ino_rel(ino)}")
        return n

    def ftruncate(self, fd, length):
        self._real.ftruncate(fd, length)
        r = self._rec
        ino = r.fd_inode(fd)
        r.record("truncate", (ino, length), f"ftruncate {r.ino_rel(ino)}")

    def truncate(self, path, length):
        if isinstance(path, int):
            return self.ftruncate(path, length)
        self._real.truncate(path, length)
        r = self._rec
        ino = r.existing(r.abspath(path, None))
        r.record("truncate", (ino, length), f"truncate {r.ino_rel(ino)}")

    def fchmod(self, fd, mode):
        self._real.fchmod(fd, mode)
        r = self._rec
        ino = r.fd_inode(fd)
        r.record("chmod", (ino, mode & 0o7777), f"fchmod {r.ino_rel(ino)}")

    def chmod(self, path, mode, *, dir_fd=None, follow_symlinks=True):
        if isinstance(path, int):
            return self.fchmod(path, mode)
        r = self._rec
        ap = r.abspath(path, dir_fd)
        kw = {"dir_fd": dir_fd} if dir_fd is not None else {}
        if not follow_symlinks:
            kw["follow_symlinks"] = False
        self._real.chmod(path, mode, **kw)
        ino = r.existing(ap)
        r.record("chmod", (ino, mode & 0o7777), f"chmod {r.rel(ap)}")

    # durability
    def fsync(self, fd):
        r = self._rec
        ino = r.fd_inode(fd)
        what = "fsync_dir" if r.fs.inodes[ino].kind == "dir" else "fsync"
        label = f"{what} {r.ino_rel(ino)}"
        if r.drop is not None and r.drop(r.phase(), f"{label} (in {_caller()})"):
            r.dropped.append(f"{r.phase()}: {label}")
            return None
        self._real.fsync(fd)
        r.record("fsync", (ino,), label)

    fdatasync = fsync

    # directory entries
    def rename(self, src, dst, *, src_dir_fd=None, dst_dir_fd=None):
        self._move("rename", src, dst, src_dir_fd, dst_dir_fd)

    def replace(self, src, dst, *, src_dir_fd=None, dst_dir_fd=None):
        self._move("replace", src, dst, src_dir_fd, dst_dir_fd)

    def _move(self, how, src, dst, src_dir_fd, dst_dir_fd):
        r = self._rec
        sa, da = r.abspath(src, src_dir_fd), r.abspath(dst, dst_dir_fd)
        kw = {}
        if src_dir_fd is not None:
            kw["src_dir_fd"] = src_dir_fd
        if dst_dir_fd is not None:
            kw["dst_dir_fd"] = dst_dir_fd
        getattr(self._real, how)(src, dst, **kw)
        ino = r.existing(sa)
        sd, sname = r.parent(sa)
        dd, dname = r.parent(da)
        r.record("rename", (sd, sname, dd, dname, ino), f"{how} {r.rel(sa)} -> {r.rel(da)}")

    def link(self, src, dst, *, src_dir_fd=None, dst_dir_fd=None, follow_symlinks=True):
        r = self._rec
        sa, da = r.abspath(src, src_dir_fd), r.abspath(dst, dst_dir_fd)
        kw = {"follow_symlinks": follow_symlinks}
        if src_dir_fd is not None:
            kw["src_dir_fd"] = src_dir_fd
        if dst_dir_fd is not None:
            kw["dst_dir_fd"] = dst_dir_fd
        self._real.link(src, dst, **kw)
        ino = r.existing(sa)
        dd, dname = r.parent(da)
        r.record("link", (ino, dd, dname), f"link {r.rel(sa)} -> {r.rel(da)}")

    def symlink(self, src, dst, target_is_directory=False, *, dir_fd=None):
        r = self._rec
        da = r.abspath(dst, dir_fd)
        kw = {"dir_fd": dir_fd} if dir_fd is not None else {}
        self._real.symlink(src, dst, target_is_directory, **kw)
        dd, dname = r.parent(da)
        r.record("symlink", (dd, dname, r.fs.next, os.fsencode(src)), f"symlink {r.rel(da)}")

    def unlink(self, path, *, dir_fd=None):
        r = self._rec
        ap = r.abspath(path, dir_fd)
        kw = {"dir_fd": dir_fd} if dir_fd is not None else {}
        self._real.unlink(path, **kw)
        r.existing(ap)
        d, name = r.parent(ap)
        r.record("unlink", (d, name), f"unlink {r.rel(ap)}")

    remove = unlink

    def mkdir(self, path, mode=0o777, *, dir_fd=None):
        r = self._rec
        ap = r.abspath(path, dir_fd)
        kw = {"dir_fd": dir_fd} if dir_fd is not None else {}
        self._real.mkdir(path, mode, **kw)
        d, name = r.parent(ap)
        r.record("mkdir", (d, name, r.fs.next, mode & ~_UMASK & 0o7777), f"mkdir {r.rel(ap)}")

    def rmdir(self, path, *, dir_fd=None):
        r = self._rec
        ap = r.abspath(path, dir_fd)
        kw = {"dir_fd": dir_fd} if dir_fd is not None else {}
        self._real.rmdir(path, **kw)
        r.existing(ap)
        d, name = r.parent(ap)
        r.record("rmdir", (d, name), f"rmdir {r.rel(ap)}")


class Recorder:
    """Records the operations fsio issues on the workspace `root` into `ops`, keeping a live
    model (`fs`) to resolve paths and fds to inodes. `drop(phase, label)` may tell the proxy to
    skip an fsync for real (the fault of a removed fsync)."""

    def __init__(self, root: Path, phase: Callable[[], str] = lambda: "",
                 drop: Callable[[str, str], bool] | None = None):
        self.root = os.path.realpath(root)
        self.initial = FS.scan(Path(self.root))
        self.fs = self.initial.clone()
        self.ops: list[Op] = []
        self.fds: dict[int, int] = {}
        self.phase = phase
        self.drop = drop
        self.dropped: list[str] = []
        self.errors: list[str] = []

    # ---------------------------------------------------------------- paths and fds

    def abspath(self, path, dir_fd) -> str:
        p = os.fsdecode(os.fspath(path))
        if not os.path.isabs(p):
            if dir_fd is not None:
                base = os.readlink(f"/proc/self/fd/{dir_fd}")
            else:
                base = os.getcwd()
            p = os.path.join(base, p)
        return os.path.normpath(p)

    def rel(self, ap: str) -> str:
        rel = os.path.relpath(ap, self.root)
        if rel == ".." or rel.startswith("../"):
            raise self.fail(f"an operation outside the workspace: {ap}")
        return rel

    def _parts(self, ap: str) -> list[str]:
        rel = self.rel(ap)
        return [] if rel == "." else rel.split("/")

    def lookup(self, ap: str) -> int | None:
        return self.fs.lookup(self._parts(ap))

    def existing(self, ap: str) -> int:
        ino = self.lookup(ap)
        if ino is None:
            raise self.fail(f"{ap}: not in the model")
        return ino

    def parent(self, ap: str) -> tuple[int, str]:
        parts = self._parts(ap)
        if not parts:
            raise self.fail("an entry operation on the workspace root itself")
        return self.existing(os.path.dirname(ap)), parts[-1]

    def fd_inode(self, fd: int) -> int:
        ino = self.fds.get(fd)
        if ino is None:
            ino = self.existing(os.readlink(f"/proc/self/fd/{fd}"))
        return ino

    def ino_rel(self, ino: int) -> str:
        """A path of inode `ino` in the volatile tree (for labels)."""
        if ino == 0:
            return "."
        for rel, e in self.fs.tree(None, lambda _i: "v").items():
            if e[0] == "dir":
                if self.fs.lookup(rel.split("/")) == ino:
                    return rel
            elif e[1] == ino:
                return rel
        return f"inode#{ino}"

    def fail(self, msg: str) -> RecorderError:
        """An error of the recording itself, kept so the test reports it even when the engine
        turns it into a rolled-back apply."""
        self.errors.append(msg)
        return RecorderError(msg)

    # ---------------------------------------------------------------- recording

    def record(self, kind: str, args: tuple, what: str) -> None:
        op = Op(kind, args, f"{self.phase()}: {what} (in {_caller()})")
        self.fs.apply(op)
        self.ops.append(op)

    def _syncfs_wrapper(self, real):
        def syncfs(fd):
            rc = real(fd)
            if rc == 0:
                label = "syncfs"
                if self.drop is not None and self.drop(self.phase(), f"{label} (in {_caller()})"):
                    self.dropped.append(f"{self.phase()}: {label}")
                else:
                    self.record("syncfs", (), label)
            return rc
        return syncfs

    def patch(self, monkeypatch, fsio) -> None:
        """Install the proxy as fsio's `os`, and wrap fsio's syncfs."""
        monkeypatch.setattr(fsio, "os", _OsProxy(os, self))
        if hasattr(fsio, "_syncfs_fn"):
            real_fn = fsio._syncfs_fn

            def wrapped():
                fn = real_fn()
                return None if fn is None else self._syncfs_wrapper(fn)
            monkeypatch.setattr(fsio, "_syncfs_fn", wrapped)

    def check_model_matches_disk(self, ignore: set[str]) -> None:
        """The model's volatile tree is the tree on disk (but for `ignore`, written outside
        fsio): no operation escaped the recorder."""
        want = {k: _strip(v) for k, v in disk_tree(Path(self.root)).items() if k not in ignore}
        got = {k: _strip(v) for k, v in self.fs.tree(None, lambda _i: "v").items()
               if k not in ignore}
        if want != got:
            diff = sorted(k for k in set(want) | set(got) if want.get(k) != got.get(k))
            raise RecorderError("the recorder missed operations: the model differs from the disk at "
                                + ", ".join(diff[:10]))


def _caller() -> str:
    """The innermost engine function outside the I/O layer that led to this operation."""
    f = sys._getframe(2)
    while f is not None:
        mod = f.f_globals.get("__name__", "")
        if mod.startswith("wopt.") and not mod.endswith(".fsio"):
            return f.f_code.co_name
        f = f.f_back
    return "?"


class NoDurability:
    """While evaluating a power-cut state, fsync and syncfs do nothing (the state's own
    durability is not under test, and real syncs on a busy disk are slow)."""

    def __init__(self, real):
        self._real = real

    def __getattr__(self, name):
        return getattr(self._real, name)

    def fsync(self, fd):
        return None

    fdatasync = fsync

    @staticmethod
    def patch(monkeypatch, fsio) -> None:
        monkeypatch.setattr(fsio, "os", NoDurability(os))
        if hasattr(fsio, "_syncfs_fn"):
            monkeypatch.setattr(fsio, "_syncfs_fn", lambda: (lambda fd: 0))


def _strip(e: tuple) -> tuple:
    return e if e[0] == "dir" else (e[0], *e[2:])


# ------------------------------------------------------------------------------ the analysis

@dataclass
class Verdict:
    outcome: str | None          # "before" | "after" | None (neither)
    problems: list[str] = field(default_factory=list)
    known: list[str] = field(default_factory=list)   # problems of a known, tolerated kind


@dataclass
class Violation:
    point: int                   # crash after this many operations
    op: str                      # the last operation done
    state: str                   # which power-cut state
    problem: str

    def __str__(self) -> str:
        return f"power cut after operation {self.point} ({self.op}), state {self.state!r}: {self.problem}"


class Analysis:
    """Crash states of one recording, each judged once (`evaluate(path) -> Verdict` runs on a
    fresh copy of the state), cached by state."""

    def __init__(self, rec: Recorder, evaluate: Callable[[Path], Verdict], scratch: Path,
                 quiet: Callable[[], object] | None = None):
        self.initial = rec.initial
        self.ops = list(rec.ops)
        self.evaluate = evaluate
        self.scratch = scratch
        self.cache: dict[tuple, Verdict] = {}
        self.runs = 0
        self.quiet = quiet

    def verdict(self, tree: dict) -> Verdict:
        key = state_key(tree)
        got = self.cache.get(key)
        if got is None:
            self.runs += 1
            d = self.scratch / f"s{self.runs}"
            d.mkdir(parents=True)
            try:
                materialize(tree, d)
                if self.quiet is not None:
                    with self.quiet():
                        got = self.evaluate(d)
                else:
                    got = self.evaluate(d)
            finally:
                _rmtree(d)
            self.cache[key] = got
        return got

    def violations(self, *, absent: int | set[int] | None = None, first_only: bool = False,
                   tolerate_known: bool = False) -> list[Violation]:
        """Every violation of all-before-or-all-after over every crash point, with operation
        `absent` (a sync, or a set of them) treated as never done. After the last operation (the call returned)
        only the after state is acceptable. `tolerate_known`: known problems are accepted
        before the last operation."""
        fs = self.initial.clone()
        n = len(self.ops)
        gone = {absent} if isinstance(absent, int) else set(absent or ())
        out: list[Violation] = []
        for k in range(n + 1):
            if k:
                fs.apply(self.ops[k - 1], durable=(k - 1 not in gone))
            last = self.ops[k - 1].label if k else "none"
            seen: set[tuple] = set()
            for label, tree in crash_states(fs):
                key = state_key(tree)
                if key in seen:
                    continue
                seen.add(key)
                v = self.verdict(tree)
                problems = list(v.problems)
                if v.known and not (tolerate_known and k < n):
                    problems += v.known
                if k == n and v.outcome != "after" and not problems:
                    problems.append(f"the call returned, yet the power cut leaves the {v.outcome} state")
                for p in problems:
                    out.append(Violation(k, last, label, p))
                if out and first_only:
                    return out
        return out


def _rmtree(d: Path) -> None:
    def onerror(func, path, exc):
        os.chmod(os.path.dirname(path), 0o700)
        func(path)
    shutil.rmtree(d, onerror=onerror)
