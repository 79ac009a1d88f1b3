"""The workspace: the tree writes are confined to, and the resolution of plan paths in it.

Every path is resolved inside the workspace and refused before any write if it would leave it:
`..`, absolute paths elsewhere, symlinks (of the file or any parent) pointing outside, device
files, and anything under `.wopt/` or `.git/`. A symlink whose target stays inside is written
through to that target.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path
TYPE_CHECKING = False   # typing is imported only by the type checker (see model/errors.py)

if TYPE_CHECKING:
    import hashlib

from ..model.errors import PathError

# the plan's path rules are imported where they are used: `wopt list` and `wopt history` find
# the workspace without loading the plan model (and msgspec)


def find_root(root: str | os.PathLike | None = None, cwd: str | os.PathLike | None = None) -> Path:
    """`--root`, else the git top level above `cwd`, else `cwd`."""
    if root is not None:
        return Path(root).resolve()
    start = Path(cwd or os.getcwd()).resolve()
    for d in (start, *start.parents):
        if (d / ".git").exists():
            return d
    return start


def stat_fingerprint(h: "hashlib._Hash", root: str, paths: list[str]) -> float:
    """Feed `h` the stat fingerprint of each path below `root` ("" is `root` itself): one line
    a path with its mtime and ctime in ns, size, inode and mode, or "-" when it cannot be
    stat'ed. Returns the newest mtime or ctime among them (0.0 when none). The analysis cache
    and the answers of `wopt check`/`show --json` key their entries by it."""
    newest = 0
    lines = []
    base = root.rstrip("/") + "/"
    for p in paths:
        try:
            st = os.stat(base + p if p else root)
        except OSError:
            lines.append(f"{p}\0-\n")
            continue
        newest = max(newest, st.st_mtime_ns, st.st_ctime_ns)
        lines.append(f"{p}\0{st.st_mtime_ns}:{st.st_ctime_ns}:{st.st_size}:{st.st_ino}:{st.st_mode}\n")
    h.update("".join(lines).encode())
    return newest / 1e9


class Workspace:
    def __init__(self, root: str | os.PathLike):
        self.root = Path(root).resolve()
        if not self.root.is_dir():
            raise PathError(str(root), "the workspace is not a directory")
        self.spool = self.root / ".wopt"

    def __repr__(self) -> str:
        return f"Workspace({str(self.root)!r})"

    # ---------------------------------------------------------------- paths
    def rel(self, path: str | os.PathLike) -> str:
        """Workspace-relative form of an absolute path inside the workspace."""
        return Path(path).resolve().relative_to(self.root).as_posix()

    def relativize(self, path: str, *, step: str | None = None) -> str:
        """An agent's path (absolute or relative) as a normalized workspace-relative path."""
        if os.path.isabs(path):
            if path.endswith(("/", "/.")) or path.endswith(os.sep):
                raise PathError(path, "must name a file, not a directory (trailing slash)", step=step)
            p = os.path.normpath(path)
            root = str(self.root)
            if p != root and not p.startswith(root.rstrip(os.sep) + os.sep):
                # the workspace may be reached through a symlinked path
                real = os.path.realpath(p)
                if real == root or real.startswith(root.rstrip(os.sep) + os.sep):
                    p = real
                else:
                    raise PathError(path, "is outside the workspace", step=step)
            path = os.path.relpath(p, root)
        from ..model.plan import check_relpath, normalize_relpath
        why = check_relpath(path)
        if why:
            raise PathError(path, why, step=step)
        return normalize_relpath(path)

    def resolve(self, rel: str, *, step: str | None = None) -> Path:
        """The real absolute path a plan path writes to, after every check."""
        from ..model.plan import check_relpath, normalize_relpath, reserved_part
        why = check_relpath(rel)
        if why:
            raise PathError(rel, why, step=step)
        norm = normalize_relpath(rel)
        cur = self.root
        st: os.stat_result | None
        parts = norm.split("/")
        for i, part in enumerate(parts):
            nxt = cur / part
            try:
                st = os.lstat(nxt)
            except FileNotFoundError:
                cur = nxt.joinpath(*parts[i + 1:]) if i + 1 < len(parts) else nxt
                break
            except NotADirectoryError:
                raise PathError(rel, f"{self._show(cur)} is a file, not a directory", step=step) from None
            if stat.S_ISLNK(st.st_mode):
                real = Path(os.path.realpath(nxt))
                if not self._inside(real):
                    raise PathError(rel, f"symlink {self._show(nxt)} points outside the workspace", step=step)
                nxt = real
                try:
                    st = os.stat(nxt)
                except FileNotFoundError:
                    st = None
            if i + 1 < len(parts) and st is not None and not stat.S_ISDIR(st.st_mode):
                raise PathError(rel, f"{self._show(nxt)} is a file, not a directory", step=step)
            cur = nxt
        real = cur
        if not self._inside(real):
            raise PathError(rel, "resolves outside the workspace", step=step)
        reserved = reserved_part(self._below(real))
        if reserved:
            raise PathError(rel, f"resolves inside {reserved}/", step=step)
        try:
            st = os.lstat(real)
        except FileNotFoundError:
            return real
        if stat.S_ISDIR(st.st_mode):
            raise PathError(rel, "is a directory, not a file", step=step)
        if not stat.S_ISREG(st.st_mode):
            raise PathError(rel, "is not a regular file (device, fifo or socket)", step=step)
        return real

    def _inside(self, p: Path) -> bool:
        """Whether the absolute, normalized `p` is the root or below it (compared as text:
        both are absolute, with no `.`, `..` or doubled separators)."""
        s, r = str(p), str(self.root)
        return s == r or s.startswith(r if r.endswith("/") else r + "/")

    def _below(self, p: Path) -> list[str]:
        """The components of `p` below the root (`p` inside it, as `_inside` says)."""
        s, r = str(p), str(self.root)
        rest = s[len(r):].lstrip("/")
        return rest.split("/") if rest else []

    def _show(self, p: Path) -> str:
        try:
            return p.relative_to(self.root).as_posix() or "."
        except ValueError:
            return str(p)

    # ---------------------------------------------------------------- reads
    def read(self, rel: str, *, step: str | None = None) -> tuple[bytes | None, int | None]:
        """(content, mode bits) of a plan path, or (None, None) if absent."""
        return self.read_resolved(self.resolve(rel, step=step))

    def relative(self, real: Path) -> str:
        """A path `resolve` returned, relative to the root, as a plan path."""
        return "/".join(self._below(real))

    @staticmethod
    def read_resolved(p: Path) -> tuple[bytes | None, int | None]:
        """(content, mode bits) of a path `resolve` returned, or (None, None) if absent."""
        try:
            with open(p, "rb") as f:
                st = os.fstat(f.fileno())
                return f.read(), stat.S_IMODE(st.st_mode)
        except FileNotFoundError:
            return None, None
