"""Folding agent calls into plan steps: one reviewable step per file.

Every reader turns what an agent emitted into a list of `Call`s (a Write, an Edit, a patch
section...), each on a workspace-relative path. `Folder` runs them in order on a virtual tree
(the disk, read lazily, or what the agent reported it saw) and gives one step per file whose
result is "content before the first call -> content after the last", with the calls it came
from kept in `step.origin`. Calls that do not apply (an edit whose text is not there, or is
there twice) raise a StepError naming the file, the call and the text, before any plan exists.

Folded step kinds:
- only Claude-style exact edits on an existing file -> an `edit` step (all edits, in order);
- anything else that leaves content -> a `write` step with the final content;
- a file that existed and is gone at the end -> a `delete` step;
- a rename -> a `move` step, then the moved file's own step on the new path if it changed;
- a pure mode change -> a `chmod` step;
- a `symlink` call (the path itself, never followed) -> a `symlink` step; a link replaced by a
  regular file -> a `symlink` step that removes it, then the file's `write` step.
Each step's precondition is the hash of the content the first call acted on (or "absent").
"""
from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass, field
from typing import Callable

from ..model.errors import PathError, PlanError, StepError
from ..model.plan import ABSENT, SYMLINK_MODE, ChmodStep, DeleteStep, Edit, EditStep, MoveStep, Origin, Plan, Step, SymlinkStep, WriteStep, check_relpath, format_mode, is_symlink_mode, normalize_relpath, parse_mode, sha256

MISSING = object()   # "the call says nothing about what the agent saw"

Transform = Callable[[bytes | None], bytes | None]


@dataclass
class Call:
    """One agent call on one file. `op`: write | edit | transform | delete | move | chmod |
    symlink (a transform of the link's target text, None removing the link)."""

    tool: str
    op: str
    path: str
    call_id: str | None = None
    summary: str | None = None
    at: str | None = None
    content: bytes | None = None                              # write
    edits: list[tuple[str, str, bool]] = field(default_factory=list)  # edit (Claude's rules)
    transform: Transform | None = None                        # transform: bytes|None -> bytes|None
    to: str | None = None                                     # move
    mode: int | None = None                                   # chmod, or the mode a write sets
    seen: object = MISSING                                    # bytes | None: what the agent saw
    input_name: str | None = None                             # the input it was read from

    @property
    def label(self) -> str:
        return f"{self.tool} {self.call_id}" if self.call_id else self.tool

    def origin(self) -> Origin:
        return Origin(tool=self.tool, call_id=self.call_id, summary=self.summary, at=self.at)


def input_text(data: bytes, name: str | None) -> str:
    """A reader's input as text: UTF-8, or a PlanError naming the input."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise PlanError("not UTF-8 text", file=name) from None


UNICODE_HINT = "the agent's output is corrupt; nothing was stored; re-run the agent"


def not_unicode(err: UnicodeEncodeError, *, what: str, label: str | None = None, path: str | None = None,
                file: str | None = None) -> PlanError:
    """The PlanError for agent text that is not valid Unicode (a lone UTF-16 surrogate, as JSON's
    "\\ud800" gives): names the input, the file, the call, the field and the character."""
    n = ord(err.object[err.start]) if isinstance(err.object, str) else 0xFFFD
    at = f"at character {err.start + 1}"
    why = (f"a lone surrogate U+{n:04X}, or byte 0x{n - 0xDC00:02X} of text that is not UTF-8, {at}"
           if 0xDC80 <= n <= 0xDCFF else f"a lone surrogate U+{n:04X} {at}")
    where = "".join(f"{x}: " for x in (path, label) if x)
    return PlanError(f"{where}{what} is not valid Unicode text ({why})", file=file, hint=UNICODE_HINT)


def check_text(text: str, *, what: str, label: str | None = None, path: str | None = None,
               file: str | None = None) -> str:
    """`text` if it is valid Unicode (it encodes as UTF-8), else a PlanError (see not_unicode).
    Every string an agent gives that becomes plan content passes here before it is folded."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        raise not_unicode(e, what=what, label=label, path=path, file=file) from None
    return text


def to_bytes(text: str, *, what: str, call: Call | None = None, path: str | None = None,
             label: str | None = None, file: str | None = None) -> bytes:
    """Agent text as UTF-8 bytes; text that is not valid Unicode is refused (no crash)."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as e:
        raise not_unicode(e, what=what, label=label or (call.label if call else None),
                          path=path or (call.path if call else None),
                          file=file or (call.input_name if call else None)) from None


def input_basename(name: str | None) -> str | None:
    """The input's file name for a plan title (None for stdin): a name that is not UTF-8 (its
    bytes surrogate-escaped) shows them as escapes, so the title is valid text."""
    if not name or name == "<stdin>":
        return None
    return os.path.basename(name).encode("utf-8", "backslashreplace").decode("utf-8")


def agent_path(ws, path, *, base: str | None = None, what: str = "path", replay: bool = False) -> str:
    """An agent's path as a workspace-relative path. Absolute paths inside the workspace are
    made relative; an absolute path under `base` (the directory the agent ran in, when a log
    is replayed in another workspace) is taken relative to `base`; with `replay` and no `base`,
    below the last directory named like the workspace. Anything else is refused."""
    if not isinstance(path, str) or not path:
        raise PathError(repr(path), f"{what} is missing or not a string")
    if "\x00" in path:
        raise PathError(repr(path), "must not contain a NUL byte")
    try:
        os.fsencode(path)
    except UnicodeError:
        raise PathError(repr(path), "is not a valid file name (bad Unicode)") from None
    try:
        return ws.relativize(path)
    except PathError:
        if base and isinstance(base, str) and path.startswith("/") and base.startswith("/"):
            p = posixpath.normpath(path)
            b = posixpath.normpath(base).rstrip("/")
            if b and p.startswith(b + "/"):
                rel = p[len(b) + 1:]
                why = check_relpath(rel)
                if why:
                    raise PathError(path, why) from None
                return normalize_relpath(rel)
        if base is None and path.startswith("/") and replay:
            # a log that does not say where the agent ran: take the path below the last
            # directory named like the workspace (/home/dev/shop/src/x.py -> src/x.py in .../shop)
            parts = posixpath.normpath(path).split("/")
            name = ws.root.name
            if name in parts[:-1]:
                i = len(parts) - 1 - parts[:-1][::-1].index(name)
                rel = "/".join(parts[i:])
                if not check_relpath(rel):
                    return normalize_relpath(rel)
        raise


def _text(data: bytes, call: Call) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise StepError(f"{call.label}: the file is not UTF-8 text, so a text edit cannot apply",
                        path=call.path, hint="replace the file with a full write instead") from None


def _snip(s: str, n: int = 60) -> str:
    return repr(s if len(s) <= n else s[: n - 1] + "…")


@dataclass
class _Group:
    """The calls on one file, from its first call (or its arrival by a move) to the end."""

    path: str
    base: bytes | None
    base_mode: int | None
    cur: bytes | None
    mode: int | None
    origins: list[Origin] = field(default_factory=list)
    edits: list[Edit] | None = field(default_factory=list)  # None once a non-edit call happened
    moved_from: str | None = None
    move_origin: Origin | None = None
    move_pre: str | None = None
    closed: bool = False           # moved away: later calls on the path open a new group
    pre_move: bytes | None = None  # content when it was moved away
    pre_move_mode: int | None = None
    step_id: str | None = None     # kept when seeded from an existing plan
    locked: bool = False           # seeded step that must not change (already decided)
    seeded_step: Step | None = None
    precondition: str | None = None
    dirty: bool = False            # a call was added (seeded steps without one stay as they are)


class Folder:
    """Runs calls in order on a virtual tree and folds them into one step per file.

    `read(rel)` gives (bytes|None, mode|None) of a path on disk (default: the workspace);
    `name` is the input the calls come from, named in errors."""

    def __init__(self, ws, *, read: Callable[[str], tuple[bytes | None, int | None]] | None = None,
                 id_prefix: str = "s", name: str | None = None):
        self.ws = ws
        self.name = name
        self._read = read or (lambda rel: ws.read(rel))
        self.groups: list[_Group] = []
        self.open: dict[str, _Group] = {}
        self.tree: dict[str, tuple[bytes | None, int | None]] = {}
        self.id_prefix = id_prefix

    # ------------------------------------------------------------------ virtual tree
    def _state(self, rel: str, link: bool = False) -> tuple[bytes | None, int | None]:
        if rel not in self.tree:
            if link:
                from ..store.effects import read_entry
                self.tree[rel] = read_entry(self.ws, rel)
            else:
                self.tree[rel] = self._read(rel)
        return self.tree[rel]

    def _group(self, rel: str, call: Call | None) -> _Group:
        g = self.open.get(rel)
        if g is not None and not g.locked:
            return g
        data, mode = self._state(rel, link=call is not None and call.op == "symlink")
        if g is None and call is not None and call.seen is not MISSING:
            # what the agent saw when it made the call (a transcript's record of it)
            data = call.seen if isinstance(call.seen, bytes) else None
            self.tree[rel] = (data, mode if data is not None else None)
        g = _Group(rel, data, mode, data, mode)
        self.groups.append(g)
        self.open[rel] = g
        return g

    # ------------------------------------------------------------------ seeding (the hook)
    def seed(self, plan: Plan, results: dict, locked: set[str]) -> None:
        """Take the steps of an existing plan as groups: `results` maps step id -> effects
        StepResult (before/after on the virtual tree); steps in `locked` stay as they are and a
        later call on their file starts a new step on top of their result."""
        for s in plan.steps:
            r = results.get(s.id)
            if r is None or isinstance(s, MoveStep):
                # kept as it is (a move, or a step that does not run on today's disk)
                g = _Group(getattr(s, "to", None) or s.path, None, None, None, None, list(s.origin), None,
                           step_id=s.id, locked=True, seeded_step=s)
                self.groups.append(g)
                if r is not None and isinstance(s, MoveStep):
                    moved = self.open.pop(s.path, None)
                    if moved is not None:
                        moved.locked = True
                    self.tree[s.path] = (None, None)
                    self.tree[s.to] = (r.after, r.after_mode)
                    g.cur, g.mode = r.after, r.after_mode
                    self.open[s.to] = g
                continue
            edits = list(s.edits) if isinstance(s, EditStep) else None
            prev = self.open.get(s.path)
            if prev is not None:
                prev.locked = True
            # a new file's mode is the default unless the step set one
            set_mode = getattr(s, "mode", None)
            mode = r.after_mode if r.before is not None else (
                parse_mode(set_mode) if set_mode else None)
            g = _Group(s.path, r.before, r.before_mode, r.after, mode, list(s.origin), edits,
                       step_id=s.id, locked=s.id in locked, seeded_step=s, precondition=s.precondition)
            self.groups.append(g)
            self.open[s.path] = g
            self.tree[s.path] = (r.after, r.after_mode)

    # ------------------------------------------------------------------ calls
    def _check(self, call: Call) -> None:
        """Every string of the call that the plan keeps is valid Unicode (else a PlanError)."""
        file = call.input_name
        for what, v in (("the tool name", call.tool), ("the call id", call.call_id)):
            if v is not None:
                check_text(v, what=f"{what} {v!r}", file=file)
        for what, v in (("the path", call.path), ("the path moved to", call.to)):
            if v is not None:
                check_text(v, what=f"{what} {v!r}", label=call.label, file=file)
        for what, v in (("the summary", call.summary), ("the timestamp", call.at)):
            if v is not None:
                check_text(v, what=what, label=call.label, path=call.path, file=file)
        for j, (old, new, _every) in enumerate(call.edits):
            n = f"edit {j + 1}: " if len(call.edits) > 1 else ""
            check_text(old, what=f"{n}old_string", label=call.label, path=call.path, file=file)
            check_text(new, what=f"{n}new_string", label=call.label, path=call.path, file=file)

    def add(self, call: Call) -> _Group:
        if call.input_name is None:
            call.input_name = self.name
        self._check(call)
        rel = call.path
        if call.op == "move":
            return self._move(call)
        g = self._group(rel, call)
        before = g.cur
        after: bytes | None
        if call.op == "write":
            after = call.content if call.content is not None else b""
            g.edits = None
        elif call.op == "edit":
            if before is None:
                old = call.edits[0][0] if call.edits else ""
                raise StepError(f"{call.label}: the file does not exist, so old_string {_snip(old)} "
                                "cannot match", path=rel,
                                hint="the agent edited a file it had not created; nothing was stored")
            from ..model.textops import apply_edits
            text = apply_edits(_text(before, call), call.edits, path=rel, call=call.label)
            after = to_bytes(text, what="new_string", call=call)
            if g.edits is not None and g.base is not None:
                g.edits.extend(Edit(o, n, a) for o, n, a in call.edits)
            else:
                g.edits = None
        elif call.op == "transform":
            assert call.transform is not None
            after = call.transform(before)
            g.edits = None
        elif call.op == "delete":
            if before is None:
                raise StepError(f"{call.label}: there is no file to delete", path=rel)
            after = None
            g.edits = None
        elif call.op == "symlink":
            assert call.transform is not None
            after = call.transform(before)
            g.edits = None
            g.mode = SYMLINK_MODE
        elif call.op == "chmod":
            if before is None:
                raise StepError(f"{call.label}: there is no file to change the mode of", path=rel)
            after = before
            g.mode = call.mode
        else:  # pragma: no cover - readers only make the ops above
            raise StepError(f"{call.label}: unknown operation {call.op!r}", path=rel)
        if call.op in ("write", "transform") and call.mode is not None:
            g.mode = call.mode
        g.cur = after
        if after is None:
            g.mode = None
        self.tree[rel] = (g.cur, g.mode)
        g.origins.append(call.origin())
        g.dirty = True
        return g

    def _move(self, call: Call) -> _Group:
        src, dst = call.path, call.to or ""
        if src == dst:
            raise StepError(f"{call.label}: moves the file onto itself", path=src)
        g = self._group(src, call)
        if g.cur is None:
            raise StepError(f"{call.label}: there is no file to move", path=src)
        dst_data, _ = self._state(dst) if dst not in self.open else (self.open[dst].cur, None)
        if dst_data is not None:
            raise StepError(f"{call.label}: cannot move onto {dst}: it exists", path=src)
        data, mode = g.cur, g.mode
        pre = sha256(data)
        g.pre_move, g.pre_move_mode = data, mode
        g.cur, g.mode = None, None
        g.closed = True
        self.tree[src] = (None, None)
        del self.open[src]
        ng = _Group(dst, data, mode, data, mode, [], [], moved_from=src, move_origin=call.origin(),
                    move_pre=pre)
        self.groups.append(ng)
        self.open[dst] = ng
        self.tree[dst] = (data, mode)
        return ng

    # ------------------------------------------------------------------ result
    def steps(self) -> list[Step]:
        out: list[Step] = []
        used = {g.step_id for g in self.groups if g.step_id}
        n = 0

        def new_id() -> str:
            nonlocal n
            while True:
                n += 1
                sid = f"{self.id_prefix}{n}"
                if sid not in used:
                    used.add(sid)
                    return sid

        for g in self.groups:
            if g.seeded_step is not None and (g.locked or not g.dirty):
                out.append(g.seeded_step)
                continue
            if g.moved_from is not None:
                out.append(MoveStep(id=new_id(), path=g.moved_from, to=g.path, precondition=g.move_pre,
                                    origin=[g.move_origin] if g.move_origin else []))
                if not g.origins:
                    continue
            if g.closed and (not g.origins or (g.base == g.pre_move and g.base_mode == g.pre_move_mode)):
                continue  # moved away without a change of its own before the move
            if not g.step_id:
                g.step_id = new_id()
            if is_symlink_mode(g.base_mode) and g.cur is not None and not is_symlink_mode(g.mode) \
                    and not g.closed:
                # a link replaced by a regular file: remove the link, then write the file
                out.append(SymlinkStep(id=g.step_id, path=g.path, precondition=sha256(g.base or b""),
                                       target=None, origin=list(g.origins)))
                mode = format_mode(g.mode) if g.mode is not None else None
                out.append(write_step(new_id(), g.path, g.cur, precondition=ABSENT, mode=mode,
                                      origin=list(g.origins)))
                continue
            step = self._step_for(g, g.step_id)
            if step is not None:
                out.append(step)
        return out

    def _step_for(self, g: _Group, sid: str) -> Step | None:
        pre = g.precondition if g.step_id and g.precondition else (ABSENT if g.base is None else sha256(g.base))
        end, mode = (g.pre_move, g.pre_move_mode) if g.closed else (g.cur, g.mode)
        origin = list(g.origins)
        if is_symlink_mode(mode) and end is not None:
            if is_symlink_mode(g.base_mode) and end == g.base:
                return None
            return SymlinkStep(id=sid, path=g.path, precondition=pre, origin=origin,
                               target=end.decode("utf-8", "surrogateescape"))
        if end is None and is_symlink_mode(g.base_mode):
            return SymlinkStep(id=sid, path=g.path, precondition=pre, target=None, origin=origin)
        if end is None:
            if g.base is None:
                return None  # created and removed again within the plan
            return DeleteStep(id=sid, path=g.path, precondition=pre, origin=origin)
        if g.edits and g.base is not None and end != g.base and mode == g.base_mode:
            return EditStep(id=sid, path=g.path, precondition=pre, edits=list(g.edits), origin=origin)
        if end == g.base and g.base is not None and mode != g.base_mode and mode is not None:
            return ChmodStep(id=sid, path=g.path, precondition=pre, mode=format_mode(mode), origin=origin)
        smode = format_mode(mode) if mode is not None and mode != g.base_mode else None
        return write_step(sid, g.path, end, precondition=pre, mode=smode, origin=origin)


def write_step(sid: str, path: str, data: bytes, *, precondition: str | None, mode: str | None = None,
               origin: list[Origin] | None = None) -> WriteStep:
    try:
        text = data.decode("utf-8")
        return WriteStep(id=sid, path=path, precondition=precondition, content=text, mode=mode,
                         origin=origin or [])
    except UnicodeDecodeError:
        import base64
        return WriteStep(id=sid, path=path, precondition=precondition, mode=mode, origin=origin or [],
                         content_base64=base64.b64encode(data).decode("ascii"))


def fold(ws, calls: list[Call], *, read=None) -> list[Step]:
    f = Folder(ws, read=read)
    for c in calls:
        f.add(c)
    return f.steps()
