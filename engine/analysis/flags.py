"""Flags: what deserves a second look in a step (large, binary, deleting a non-empty file,
executable bit changes, a write outside the directories the rest of the plan touches)."""
from __future__ import annotations

from collections import Counter
from typing import Callable, Mapping

from ..model.plan import OVERWRITE_NOTE, is_symlink_mode
from .diffs import is_binary
from .model import Flag

LARGE = 1024 * 1024          # bytes of resulting content
LARGE_LINES = 20_000


def step_flags(sid: str, kind: str, path: str, before: bytes | None, after: bytes | None,
               before_mode: int | None, after_mode: int | None) -> list[Flag]:
    out = []
    nl = after.count(b"\n") if after is not None else 0
    if after is not None and (len(after) > LARGE or nl > LARGE_LINES):
        out.append(Flag(sid, "large", f"{path}: large file ({len(after):,} bytes, {nl:,} lines)"))
    if after is not None and kind != "delete" and is_binary(after):
        out.append(Flag(sid, "binary", f"{path}: binary content ({len(after):,} bytes)"))
    if kind == "delete" and before:
        out.append(Flag(sid, "delete-nonempty", f"{path}: deletes a non-empty file ({len(before):,} bytes)"))
    if is_symlink_mode(before_mode) or is_symlink_mode(after_mode):
        old = before.decode("utf-8", "surrogateescape") if before is not None and is_symlink_mode(before_mode) else None
        new = after.decode("utf-8", "surrogateescape") if after is not None and is_symlink_mode(after_mode) else None
        what = (f"makes a symlink to {new}" if old is None else f"removes the symlink to {old}" if new is None
                else f"retargets a symlink from {old} to {new}")
        out.append(Flag(sid, "symlink", f"{path}: {what}"))
        return out
    if after is not None:
        bx = bool((before_mode or 0) & 0o111) if before is not None else False
        ax = bool((after_mode or 0) & 0o111)
        if bx != ax:
            if ax:
                what = "creates an executable file" if before is None else "makes the file executable"
            else:
                what = "removes the executable bit"
            out.append(Flag(sid, "exec-bit", f"{path}: {what} (mode {_mode(before_mode)} -> {_mode(after_mode)})"))
    return out


def origin_flags(sid: str, path: str, origins, before: bytes | None) -> list[Flag]:
    """A step whose agent call moved another file over this existing one."""
    if before is None:
        return []
    for o in origins:
        summary = getattr(o, "summary", None) or ""
        if OVERWRITE_NOTE in summary:
            return [Flag(sid, "overwrite", f"{path}: overwritten by a moved file ({summary}); "
                                           f"its {len(before):,} bytes are replaced")]
    return []


def _mode(m: int | None) -> str:
    return "none" if m is None else format(m & 0o7777, "03o")


def area(path: str) -> str:
    """The top-level directory a path belongs to ("." for files at the top)."""
    return path.split("/", 1)[0] if "/" in path else "."


def outside_flags(paths: Mapping[str, str], *, min_steps: int = 3) -> list[Flag]:
    """Steps writing into a top-level directory that no other step touches, in a plan of at
    least `min_steps` steps. Plain files at the top (README, pyproject.toml) are not flagged;
    hidden ones (.env, .github/...) are."""
    if len(paths) < min_steps:
        return []
    from .ordering import is_doc, is_test
    count = Counter(area(p) for p in paths.values())
    out = []
    for sid, p in paths.items():
        if is_test(p) or is_doc(p):
            continue   # tests and docs beside the code are expected
        a = area(p)
        if a == ".":
            if not p.startswith("."):
                continue
        elif count[a] > 1:
            continue
        others = sorted(x for x in count if x not in (a, "."))[:3]
        where = ", ".join(f"{x}/" for x in others) or "the top"
        out.append(Flag(sid, "outside", f"{p}: writes outside the directories the rest of the plan "
                                        f"touches ({where})"))
    return out


# --------------------------------------------------------------------------- imports of rejected steps

def module_name(path: str) -> str:
    """How code names the module at workspace path `path`: `src/shop/payments/klarna.py` ->
    `shop.payments.klarna`; a file that is not Python keeps its path."""
    if not path.endswith(".py"):
        return path
    from .imports import PY_ROOTS
    p = path[:-3]
    for root in sorted(PY_ROOTS, key=len, reverse=True):
        if root and p.startswith(root):
            p = p[len(root):]
            break
    if p.endswith("/__init__"):
        p = p[: -len("/__init__")]
    return p.replace("/", ".")


def rejected_imports(model, decision_of: Callable[[str], str], exists: Callable[[str], bool]) -> dict[str, list[str]]:
    """Steps not rejected whose content imports a module that only a rejected step of the plan
    creates, each with a line per such module ("imports shop.payments.klarna, which you
    rejected"). A module that is on disk now stays importable whatever the plan's step on it
    becomes, so it is not named: no finding here is a false one. `exists(path)` says whether
    a workspace path is on disk now; it is asked only about rejected steps' imported files."""
    from ..model.review import REJECTED
    rejected = {sid for sid in model.steps if decision_of(sid) == REJECTED}
    if not rejected:
        return {}
    out: dict[str, list[str]] = {}
    known: dict[str, bool] = {}
    for e in model.edges:
        if e.before not in rejected or e.after in rejected or not e.reason.startswith("imports "):
            continue
        target = e.reason[len("imports "):]
        if target not in known:
            known[target] = exists(target)
        if known[target]:
            continue
        line = f"imports {module_name(target)}, which you rejected"
        lines = out.setdefault(e.after, [])
        if line not in lines:
            lines.append(line)
    return out


def on_disk(ws) -> Callable[[str], bool]:
    """`exists` for `rejected_imports`: whether a workspace path is on disk now (a file, a
    link or a directory). A path that cannot be resolved inside the workspace is not."""
    from ..model.errors import WoptError

    def exists(path: str) -> bool:
        try:
            return ws.resolve(path).exists()
        except WoptError:
            return False
    return exists
