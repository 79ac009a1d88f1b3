"""The spool `.wopt/` at the workspace root: plans, reviews, journal, history, templates, lock.

Plans and reviews are written atomically (temporary file in the same directory, fsync, rename)
so a reader never sees half a file, and concurrent writers of one file serialize on a lock.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

from ..model.errors import NotFound, PlanError, WoptError
from .workspace import Workspace

TYPE_CHECKING = False   # (typing.TYPE_CHECKING without importing typing; mypy reads it so)
if TYPE_CHECKING:
    from ..model.plan import Plan
    from ..model.review import Review

# the plan model, the review and msgspec are imported where a plan or review is decoded or
# written: finding a plan file (and `wopt list`, `check` and `show` answered from the cache)
# needs none of them

SUBDIRS = ("plans", "reviews", "journal", "templates")


def ensure(ws: Workspace) -> Path:
    from . import fsio
    with fsio.Tree(ws.root) as t:
        for d in SUBDIRS:
            fsio.makedirs(t, f".wopt/{d}")
        if t.lstat(".wopt/.gitignore") is None:
            fsio.atomic_write(t, ".wopt/.gitignore", b"# wopt's spool: never commit it\n*\n")
    return ws.spool


def atomic_write(path: Path, data: bytes, *, fsync: bool = True) -> None:
    """Replace `path` by `data` atomically, through fsio (counted, cut by fault injection).
    Under `.wopt/` no symlink is followed from `.wopt` down; elsewhere (a user's settings
    file) the directory is opened as named and the final name is replaced, never followed."""
    from . import fsio
    t, rel = fsio.spool_tree(path)
    with t:
        fsio.atomic_write(t, rel, data, sync=fsync)


def now_iso() -> str:
    from datetime import datetime, timezone
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_plan_id() -> str:
    from datetime import datetime, timezone
    return datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S-") + os.urandom(2).hex()


# ------------------------------------------------------------------------- plans

def plans_dir(ws: Workspace) -> Path:
    return ws.spool / "plans"


MAX_PLAN_ID = 200   # the file name adds ".json"; the lock ".<id>.lock": under 255 bytes


def check_plan_id(plan_id: str) -> str | None:
    """Why `plan_id` cannot name a plan file, or None."""
    if not plan_id:
        return "must not be empty"
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in plan_id):
        return "must not contain control characters (NUL, newline, ...)"
    if "/" in plan_id or "\\" in plan_id:
        return "must not contain a slash or backslash"
    if plan_id.startswith(".") or plan_id != plan_id.strip():
        return "must not start with a dot or start or end with white space"
    if len(plan_id.encode("utf-8", "surrogateescape")) > MAX_PLAN_ID:
        return f"must be at most {MAX_PLAN_ID} bytes"
    return None


def plan_file(ws: Workspace, plan_id: str) -> Path:
    why = check_plan_id(plan_id) if isinstance(plan_id, str) else "must be a string"
    if why:
        shown = plan_id if len(plan_id) <= 60 else plan_id[:57] + "..."
        raise PlanError(f"invalid plan id {shown!r}: {why}", hint="give the plan another id")
    return plans_dir(ws) / f"{plan_id}.json"


def plan_stamp(ws: Workspace, plan_id: str) -> tuple[int, int, int] | None:
    """(inode, size, mtime in ns) of a stored plan's file, or None when there is none. A plan is
    always replaced by an atomic rename, so an unchanged stamp is an unchanged plan: a watcher
    decodes the plan only when it changes."""
    try:
        st = os.stat(plan_file(ws, plan_id))
    except FileNotFoundError:
        return None
    except OSError as e:
        raise WoptError(f"{_show(ws, plan_file(ws, plan_id))}: cannot read ({e.strerror})") from None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


_GENERATION = re.compile(r"^(.+)-([1-9][0-9]{0,2})$")


def lineage(plan_id: str) -> str:
    """The first plan of a line of plans (`p`, `p-2`, `p-3` ...: what partial applies leave
    pending): `p` for all of them. (The Claude Code hook names its session's line itself.)"""
    m = _GENERATION.match(plan_id)
    return m.group(1) if m else plan_id


def next_generation(ws: Workspace, base: str) -> str:
    """A free id in the line of plans `base`: `base-N` with the smallest N >= 2 that names no
    plan file."""
    n = 2
    while plan_file(ws, f"{base}-{n}").exists():
        n += 1
    return f"{base}-{n}"


def save_plan(ws: Workspace, plan: Plan) -> Path:
    from ..model.plan import encode_plan
    ensure(ws)
    if not plan.id:
        plan.id = new_plan_id()
    if not plan.created:
        plan.created = now_iso()
    p = plan_file(ws, plan.id)
    atomic_write(p, encode_plan(plan))
    return p


def plan_lock(ws: Workspace, plan_id: str, timeout: float = 10.0):
    """Lock serializing read-modify-write of one plan file (hook calls of one session)."""
    from .lock import file_lock
    ensure(ws)
    return file_lock(plans_dir(ws) / f".{plan_id}.lock", timeout=timeout, what=f"plan {plan_id}")


def load_plan(ws: Workspace, ref: str) -> Plan:
    """A plan by id (in `.wopt/plans/`) or by path to a JSON file."""
    f = find_plan(ws, ref)
    return decode_plan_file(ws, f, read_plan_file(ws, f))


def read_plan_file(ws: Workspace, f: Path) -> bytes:
    try:
        return f.read_bytes()
    except OSError as e:
        raise WoptError(f"{_show(ws, f)}: cannot read ({e.strerror})") from None


def decode_plan_file(ws: Workspace, f: Path, data: bytes) -> Plan:
    from ..model.plan import decode_plan
    return decode_plan(data, file=_show(ws, f))


def find_plan(ws: Workspace, ref: str) -> Path:
    """The file of a plan given by id (in `.wopt/plans/`), unique id prefix or path."""
    cand = Path(ref)
    f: Path | None = None
    if ref.endswith(".json") or os.sep in ref or "/" in ref:
        if cand.is_file():
            f = cand
    if f is None:
        try:
            p = plan_file(ws, ref)
        except PlanError:
            p = None
        if p is not None and p.is_file():
            f = p
        elif cand.is_file():
            f = cand
        else:
            matches = sorted(plans_dir(ws).glob(f"{ref}*.json")) if ref and plans_dir(ws).is_dir() else []
            if len(matches) == 1:
                f = matches[0]
            elif len(matches) > 1:
                raise NotFound(f"plan {ref!r} is ambiguous: " + ", ".join(m.stem for m in matches[:5]),
                               hint="give more of the id")
            else:
                raise NotFound(f"no plan {ref!r} in .wopt/plans/ and no such file",
                               hint="`wopt list` shows the pending plans")
    return f


def _show(ws: Workspace, p: Path) -> str:
    try:
        return p.resolve().relative_to(ws.root).as_posix()
    except ValueError:
        return str(p)


class PlanEntry:
    """One plan file of the spool (a plain class: `wopt list` need not import dataclasses)."""

    __slots__ = ("id", "file", "plan", "error", "mtime")

    def __init__(self, id: str, file: Path, plan: Plan | None, error: str | None, mtime: float) -> None:
        self.id, self.file, self.plan, self.error, self.mtime = id, file, plan, error, mtime

    def __repr__(self) -> str:
        return f"PlanEntry(id={self.id!r}, file={self.file!r}, error={self.error!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PlanEntry) and all(getattr(self, k) == getattr(other, k) for k in self.__slots__)


def list_plans(ws: Workspace, *, skip: str | None = None) -> list[PlanEntry]:
    """Every plan file in the spool, oldest first; unreadable ones carry their error. `skip`
    leaves out the file of that plan id (a caller that holds it already)."""
    d = plans_dir(ws)
    if not d.is_dir():
        return []
    out = []
    for f in d.glob("*.json"):
        if skip is not None and f.stem == skip:
            continue
        entry = plan_entry(ws, f)
        if entry is not None:
            out.append(entry)
    out.sort(key=lambda e: (e.plan.created if e.plan and e.plan.created else "", e.mtime, e.id))
    return out


def plan_entry(ws: Workspace, f: Path) -> PlanEntry | None:
    """The entry of one plan file; None when it is gone."""
    try:
        mtime = f.stat().st_mtime
    except OSError:
        return None
    from ..model.plan import decode_plan
    try:
        plan = decode_plan(f.read_bytes(), file=_show(ws, f))
        return PlanEntry(plan.id or f.stem, f, plan, None, mtime)
    except (WoptError, OSError) as e:
        return PlanEntry(f.stem, f, None, str(e), mtime)


# ------------------------------------------------------------------------- reviews

_review_decoder = None


def _reviews():
    """(msgspec, the review decoder), made once."""
    global _review_decoder
    import msgspec

    from ..model.review import Review
    if _review_decoder is None:
        _review_decoder = msgspec.json.Decoder(Review)
    return msgspec, _review_decoder


def review_file(ws: Workspace, plan_id: str) -> Path:
    return ws.spool / "reviews" / f"{plan_id}.json"


def load_review(ws: Workspace, plan_id: str) -> Review:
    msgspec, decoder = _reviews()
    f = review_file(ws, plan_id)
    try:
        return decoder.decode(f.read_bytes())
    except FileNotFoundError:
        from ..model.review import Review
        return Review(plan_id=plan_id)
    except (msgspec.DecodeError, msgspec.ValidationError) as e:
        raise WoptError(f".wopt/reviews/{plan_id}.json: unreadable review ({e})",
                        hint="delete it to start the review again") from None


def save_review(ws: Workspace, review: Review) -> None:
    import msgspec
    ensure(ws)
    review.updated = now_iso()
    atomic_write(review_file(ws, review.plan_id), msgspec.json.encode(review))


def review_lock(ws: Workspace, plan_id: str, timeout: float = 10.0):
    from .lock import file_lock
    ensure(ws)
    return file_lock(ws.spool / "reviews" / f".{plan_id}.lock", timeout=timeout, what=f"review {plan_id}")
