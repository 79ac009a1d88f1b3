"""Answers of `wopt check` and `wopt show --json` kept under `.wopt/cache/answers/`, so asking
again about a plan nothing changed for is one read of the plan, one of the answer and a stat of
its paths: no plan decoded, no model loaded, no analysis imported.

An answer is keyed by the SHA-256 of the plan file's bytes and the question; it holds the
SHA-256 of the review file's bytes it was made with (or its absence), a stamp of wopt's code,
and the stat fingerprint (mtime and ctime in ns, size, inode, mode) of every path the plan
touches, of the directories above them, of the workspace root and of `.wopt/templates`, as the
model cache (`analysis/cache.py`) fingerprints them. Any difference, a file of the wrong
shape, or a truncated one, and the answer is not used: the command analyses as it would
without it (from the model cache when that holds the model) and keeps the new answer. The
fingerprint is taken before the analysis reads anything, and an answer is kept only when none
of those paths changed in the last `RACY_SECONDS` (a rewrite within one timestamp tick could
keep its fingerprint) and the review did not change meanwhile.

File layout: one JSON header line (no newline inside), then the payload bytes (`show --json`'s
output; empty for `check`). Written atomically through fsio, never synced: a cache.
"""
from __future__ import annotations

import hashlib
import json
import os
import time

from .plan_index import file_digest

VERSION = 1
_stamp: str | None = None


def code_stamp() -> str:
    """Fingerprint of wopt's engine code: every module's path, mtime and size, in every
    package below the engine (wherever a module moves, a change to it is seen)."""
    global _stamp
    if _stamp is None:
        _stamp = tree_stamp(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), f"answers-v{VERSION}")
    return _stamp


def tree_stamp(base: str, salt: str) -> str:
    lines = []
    for d, subdirs, names in os.walk(base):
        subdirs[:] = [x for x in subdirs if x != "__pycache__"]
        rel = os.path.relpath(d, base)
        for n in names:
            if n.endswith(".py"):
                st = os.stat(os.path.join(d, n))
                lines.append(f"{rel}/{n}:{st.st_mtime_ns}:{st.st_size};")
    return hashlib.sha256((salt + "".join(sorted(lines))).encode()).hexdigest()[:32]


def review_digest(ws, plan_id: str) -> str | None:
    """SHA-256 of the plan's review file; None when it has none, "unreadable" when it cannot
    be read (an answer made then is never used)."""
    try:
        return file_digest(os.path.join(str(ws.spool), "reviews", f"{plan_id}.json"))
    except OSError:
        return "unreadable"


def fingerprint_paths(plan) -> list[str] | None:
    """The paths an analysis of `plan` depends on, in a fixed order (None: a path is not one)."""
    from ..model.plan import touched_paths
    got = touched_paths(plan)
    if got is None:
        return None
    paths, dirs = got
    return paths + dirs + ["", ".wopt/templates"]


def fingerprint(ws, paths: list[str]) -> tuple[str, float]:
    """(digest of the stat of every path, newest mtime or ctime among them)."""
    from ..store.workspace import stat_fingerprint
    h = hashlib.sha256()
    newest = stat_fingerprint(h, str(ws.root), paths)
    return h.hexdigest(), newest


def _name(question: str, plan_bytes: bytes) -> str:
    return hashlib.sha256(f"{question}\0".encode() + hashlib.sha256(plan_bytes).digest()).hexdigest()[:40]


def _path(ws, name: str) -> str:
    return os.path.join(str(ws.spool), "cache", "answers", f"{name}.answer")


def load(ws, question: str, plan_bytes: bytes) -> tuple[dict, bytes] | None:
    """(data, payload) kept for `question` about a plan of exactly these bytes, when nothing it
    was made from changed since; else None."""
    name = _name(question, plan_bytes)
    try:
        with open(_path(ws, name), "rb") as f:
            raw = f.read()
    except OSError:
        return None
    head, sep, payload = raw.partition(b"\n")
    if not sep:
        return None
    try:
        h = json.loads(head)
    except ValueError:
        return None
    if not isinstance(h, dict) or h.get("v") != VERSION or h.get("key") != name \
            or h.get("code") != code_stamp() or h.get("size") != len(payload):
        return None
    paths, plan_id, data = h.get("paths"), h.get("plan_id"), h.get("data")
    if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths) \
            or not isinstance(plan_id, str) or not isinstance(data, dict):
        return None
    if h.get("review") != review_digest(ws, plan_id):
        return None
    if h.get("fp") != fingerprint(ws, paths)[0]:
        return None
    return data, payload


class Pending:
    """What an answer is made from, taken before the analysis reads anything."""

    def __init__(self, ws, question: str, plan_bytes: bytes, plan) -> None:
        self.ws, self.question, self.plan_id = ws, question, plan.id or ""
        self.name = _name(question, plan_bytes)
        self.paths = fingerprint_paths(plan)
        self.review = review_digest(ws, self.plan_id)
        self.fp, self.newest = fingerprint(ws, self.paths) if self.paths is not None else ("", 0.0)

    def store(self, data: dict, payload: bytes = b"") -> None:
        """Keep the answer, unless a path changed too recently to trust its timestamp, the
        review changed meanwhile, or the workspace has no spool."""
        from ..analysis import cache as C
        if self.paths is None or not self.plan_id or not self.ws.spool.is_dir() \
                or time.time() - self.newest < C.RACY_SECONDS \
                or review_digest(self.ws, self.plan_id) != self.review:
            return
        head = json.dumps({"v": VERSION, "key": self.name, "code": code_stamp(), "plan_id": self.plan_id,
                           "review": self.review, "paths": self.paths, "fp": self.fp, "size": len(payload),
                           "data": data}, ensure_ascii=True, separators=(",", ":")).encode()
        from ..store import fsio
        try:
            t, rel = fsio.spool_tree(_path(self.ws, self.name))
            with t:
                fsio.makedirs(t, rel.rsplit("/", 1)[0])
                fsio.atomic_write(t, rel, head + b"\n" + payload, sync=False)
        except OSError:
            return   # an answer that cannot be kept is only slower next time
        _prune(os.path.dirname(_path(self.ws, self.name)))


MAX_ANSWERS = 48


def _prune(d: str) -> None:
    try:
        entries = sorted((e for e in os.scandir(d) if e.name.endswith(".answer")),
                         key=lambda e: e.stat().st_mtime_ns)
    except OSError:
        return
    for e in entries[:-MAX_ANSWERS]:
        try:
            os.unlink(e.path)
        except OSError:
            pass
