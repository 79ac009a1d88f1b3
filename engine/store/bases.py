"""The files agents saw, kept so a stale step can be merged later: `.wopt/bases/<sha256>`,
content-addressed (a step's precondition names its file). A copy is kept when a plan is stored
(`ingest`) and when an agent's hook queues a write; losing one loses no work (the step can
still be edited by hand or asked for again), so they are written without fsync.

Light on purpose: the hook imports it on every agent write."""
from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from ..model.errors import WoptError

if TYPE_CHECKING:
    from ..model.plan import Plan
    from .workspace import Workspace

BASES_DIR = "bases"
MAX_BASE = 16 * 1024 * 1024   # files larger than this are not kept (nor merged)


def precondition_hex(precondition: str | None) -> str | None:
    if not precondition or not precondition.startswith("sha256:"):
        return None
    return precondition[len("sha256:"):]


def keep_base(ws, data: bytes) -> None:
    """Keep `data` (a file as an agent saw it) under its hash, once."""
    if len(data) > MAX_BASE:
        return
    from .spool import atomic_write, ensure
    ensure(ws)
    d = ws.spool / BASES_DIR
    d.mkdir(exist_ok=True)
    f = d / hashlib.sha256(data).hexdigest()
    if f.exists():
        return
    atomic_write(f, data, fsync=False)


def load_base(ws, precondition: str | None) -> bytes | None:
    """The file named by `precondition`, if wopt kept it (and it is intact)."""
    h = precondition_hex(precondition)
    if h is None:
        return None
    try:
        data = (ws.spool / BASES_DIR / h).read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as e:
        raise WoptError(f".wopt/{BASES_DIR}/{h[:12]}..: cannot read ({e.strerror})",
                        hint="check the permissions of .wopt/") from None
    return data if hashlib.sha256(data).hexdigest() == h else None


def keep_bases(ws: Workspace, plan: Plan) -> int:
    """Keep the file each content step of `plan` acts on, when it is on disk now as the step's
    precondition names it (the file the agent saw); the number kept. Only the first step on a
    path acts on the disk (later ones act on the plan's own result), so only those are read."""
    from ..model.errors import PathError
    from ..model.plan import EditStep, PatchStep, RenderStep, WriteStep, normalize_relpath, sha256
    content_kinds = (WriteStep, EditStep, PatchStep, RenderStep)
    n = 0
    seen: set[str] = set()
    for s in plan.steps:
        path = normalize_relpath(s.path)
        if path in seen:
            continue
        seen.add(path)
        if not isinstance(s, content_kinds) or not precondition_hex(s.precondition):
            continue
        try:
            data, _mode = ws.read(path, step=s.id)
        except (PathError, IsADirectoryError, NotADirectoryError, PermissionError):
            continue   # the step's own error says why when the plan is analysed
        if data is not None and sha256(data) == s.precondition:
            keep_base(ws, data)
            n += 1
    return n
