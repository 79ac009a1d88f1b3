"""The files agents saw, kept so a stale step can be merged later: `.wopt/bases/<sha256>`,
content-addressed (a step's precondition names its file). A copy is kept when a plan is stored
(`ingest`) and when an agent's hook queues a write; losing one loses no work (the step can
still be edited by hand or asked for again), so they are written without fsync.

Light on purpose: the hook imports it on every agent write."""
from __future__ import annotations

import hashlib

from ..model.errors import WoptError

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
