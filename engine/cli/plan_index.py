"""The rows of `wopt list`, kept in `.wopt/cache/plans-v1.json` so a list decodes no plan it
decoded before (nor imports the plan model and msgspec to do so). Each entry keeps the paths
the plan touches too, for the overlaps `wopt check` reports (`entries`).

Each row is keyed by the plan file's name and the SHA-256 of its bytes and of its review's
bytes (or their absence): a row is used only when both hash to what it was made from, so a
plan or review changed in any way (by wopt, by hand, by another tool) is decoded again, and
an entry of the wrong shape is ignored. The file is a cache: written atomically (temporary
file + rename, through fsio), never synced, safe to delete at any time.
"""
from __future__ import annotations

import hashlib
import json
import os

NAME = "plans-v1.json"
VERSION = 1


def file_digest(path: str) -> str | None:
    """SHA-256 of a file's bytes; None when it does not exist (OSError otherwise)."""
    try:
        with open(path, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()
    except FileNotFoundError:
        return None


def _load(path: str) -> dict:
    try:
        with open(path, "rb") as f:
            got = json.loads(f.read())
    except (OSError, ValueError):
        return {}
    if not isinstance(got, dict) or got.get("v") != VERSION or not isinstance(got.get("plans"), dict):
        return {}
    return got["plans"]


def _usable(entry, plan_hash: str, review_hash: str | None) -> tuple[dict, list[str]] | None:
    if not isinstance(entry, dict) or entry.get("plan") != plan_hash or entry.get("review") != review_hash:
        return None
    row, paths = entry.get("row"), entry.get("paths")
    if not isinstance(row, dict) or not isinstance(row.get("id"), (str, type(None))) or "error" in row:
        return None
    if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
        return None
    return row, paths


def list_rows(ws) -> list[dict]:
    """`plan_summary` of every plan in the spool, in `spool.list_plans` order (created, file
    time, id); unreadable plans carry their error (and are never kept)."""
    return [row for _, row, _ in entries(ws)]


def entries(ws) -> list[tuple[str, dict, list[str]]]:
    """(file stem, row, the paths its steps touch, sorted) of every plan in the spool, in
    `list_rows` order; an unreadable plan's row carries its error, and no paths."""
    spool_dir = str(ws.spool)
    plans = os.path.join(spool_dir, "plans")
    try:
        names = [n for n in os.listdir(plans) if n.endswith(".json")]
    except (FileNotFoundError, NotADirectoryError):
        return []
    if os.path.islink(spool_dir) or os.path.islink(plans):
        return _slow(ws)   # spool.list_plans decides what such a spool shows
    index_path = os.path.join(spool_dir, "cache", NAME)
    index = _load(index_path)
    keep: dict[str, dict] = {}
    keyed: list[tuple[tuple, tuple[str, dict, list[str]]]] = []
    changed = False
    for name in names:
        f = os.path.join(plans, name)
        try:
            mtime = os.stat(f).st_mtime
            plan_hash = file_digest(f)
            stem = name[:-5]
            review_hash = file_digest(os.path.join(spool_dir, "reviews", f"{stem}.json"))
        except OSError:
            plan_hash = None
        if plan_hash is None:   # gone or unreadable meanwhile: as list_plans reads it
            return _slow(ws)
        got = _usable(index.get(name), plan_hash, review_hash)
        if got is None:
            got = _row(ws, f, mtime)
            if got is None:
                continue   # gone since it was listed, as list_plans skips it
            changed = True
        row, paths = got
        if "error" not in row:
            keep[name] = {"plan": plan_hash, "review": review_hash, "row": row, "paths": paths}
        keyed.append(((row.get("created") or "", mtime, row.get("id") or stem), (stem, row, paths)))
    if changed or set(index) != set(keep):
        _save(ws, index_path, keep)
    keyed.sort(key=lambda kr: kr[0])
    return [e for _, e in keyed]


def _row(ws, f: str, mtime: float) -> tuple[dict, list[str]] | None:
    from pathlib import Path

    from ..store import spool
    entry = spool.plan_entry(ws, Path(f))
    return None if entry is None else _summary(ws, entry)


def _summary(ws, entry) -> tuple[dict, list[str]]:
    from ..model.plan import step_paths
    from .cmd_plans import plan_summary
    paths = [] if entry.plan is None else sorted({p for s in entry.plan.steps for p in step_paths(s)})
    return plan_summary(ws, entry), paths


def _slow(ws) -> list[tuple[str, dict, list[str]]]:
    from ..store import spool
    return [(e.file.name[:-5], *_summary(ws, e)) for e in spool.list_plans(ws)]


def _save(ws, path: str, plans: dict) -> None:
    """Keep the rows (a cache that cannot be written is only slower next time)."""
    from ..store import fsio
    try:
        t, rel = fsio.spool_tree(path)
        with t:
            fsio.makedirs(t, rel.rsplit("/", 1)[0])
            fsio.atomic_write(t, rel, json.dumps({"v": VERSION, "plans": plans}).encode(), sync=False)
    except OSError:
        return
