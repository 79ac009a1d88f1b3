"""Batches: a plan's steps grouped by directory, with counts and bytes, so a person can decide
a whole directory at once."""
from __future__ import annotations

import posixpath
from typing import Mapping

from .model import Batch


def batch_dir(path: str) -> str:
    return posixpath.dirname(path) or "."


def batches(order: list[str], kinds: Mapping[str, str], paths: Mapping[str, str],
            before: Mapping[str, bytes | None], after: Mapping[str, bytes | None]) -> list[Batch]:
    """Batches in commit order of their first step; each batch's steps in commit order.
    `kinds`, `paths`, `before`, `after` are per step id (before/after: the step's own result)."""
    out: dict[str, Batch] = {}
    for sid in order:
        d = batch_dir(paths[sid])
        b = out.get(d)
        if b is None:
            b = out[d] = Batch(d, [])
        b.steps.append(sid)
        kind = kinds[sid]
        if kind in ("write", "render"):
            if before.get(sid) is None:
                b.creates += 1
            else:
                b.rewrites += 1
        elif kind in ("edit", "patch"):
            b.edits += 1
        elif kind == "delete":
            b.deletes += 1
        elif kind == "move":
            b.moves += 1
        elif kind == "chmod":
            b.chmods += 1
        elif kind == "symlink":  # counted by what happens to the path
            if before.get(sid) is None:
                b.creates += 1
            elif after.get(sid) is None:
                b.deletes += 1
            else:
                b.rewrites += 1
        data = after.get(sid)
        if data is not None and kind not in ("delete",):
            b.bytes += len(data)
    return list(out.values())
