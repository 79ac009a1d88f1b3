"""From a plan's selected steps to the net change of each file: a pure computation over the
plan and the files it reads (no writes).

Steps run in the given (commit) order on a virtual tree, so a later step on the same file sees
the result of an earlier one. Each step's precondition is checked against that virtual state:
for the first step on a file that is the disk. The transaction then writes one `Change` per
path, whatever number of steps made it.
"""
from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

from ..model.errors import PathError, Stale, StepError, WoptError
from ..model.plan import ABSENT, RESERVED_DIRS, SYMLINK_MODE, ChmodStep, DeleteStep, EditStep, MoveStep, PatchStep, Plan, RenderStep, Step, SymlinkStep, WriteStep, check_link_target, check_relpath, is_symlink_mode, normalize_relpath, parse_mode, sha256, write_bytes
from ..model.textops import apply_edits, apply_patch
from .workspace import Workspace

_UMASK: int | None = None


def default_file_mode() -> int:
    global _UMASK
    if _UMASK is None:
        _UMASK = os.umask(0o022)
        os.umask(_UMASK)
    return 0o666 & ~_UMASK


def _real_dir(ws: Workspace, rel_dir: str, *, path: str, step: str | None) -> str:
    """The real directory a workspace-relative directory names, refused when it leaves the
    workspace or lies in .git/ or .wopt/."""
    real = os.path.realpath(os.path.join(ws.root, rel_dir)) if rel_dir else str(ws.root)
    root = str(ws.root)
    if real != root and not real.startswith(root.rstrip(os.sep) + os.sep):
        raise PathError(path, "resolves outside the workspace", step=step)
    first = os.path.relpath(real, root).split(os.sep)[0]
    if first in RESERVED_DIRS:
        raise PathError(path, f"resolves inside {first}/", step=step)
    return real


def read_entry(ws: Workspace, rel: str, *, step: str | None = None) -> tuple[bytes | None, int | None]:
    """(content, mode) of a plan path without following a symlink AT the path: a link gives
    (its target as bytes, SYMLINK_MODE); anything else reads as `ws.read` reads it."""
    why = check_relpath(rel)
    if why:
        raise PathError(rel, why, step=step)
    norm = normalize_relpath(rel)
    parent, _, name = norm.rpartition("/")
    real = os.path.join(_real_dir(ws, parent, path=norm, step=step), name)
    try:
        st = os.lstat(real)
    except FileNotFoundError:
        return None, None
    except NotADirectoryError:
        raise PathError(norm, f"{parent} is a file, not a directory", step=step) from None
    if stat.S_ISLNK(st.st_mode):
        return os.fsencode(os.readlink(real)), SYMLINK_MODE
    return ws.read(norm, step=step)


def check_link(ws: Workspace, rel: str, target: str, *, step: str | None = None) -> None:
    """Refuse a symlink at `rel` to `target` unless the target stays inside the workspace,
    both as written and as it resolves on disk now."""
    why = check_link_target(rel, target)
    if why:
        raise PathError(rel, f"the symlink {why}", step=step)
    norm = normalize_relpath(rel)
    parent = norm.rpartition("/")[0]
    real_parent = _real_dir(ws, parent, path=norm, step=step)
    dest = os.path.realpath(os.path.join(real_parent, target))
    root = str(ws.root)
    if dest != root and not dest.startswith(root.rstrip(os.sep) + os.sep):
        raise PathError(rel, f"the symlink points to {target!r}, which resolves outside the workspace", step=step)
    first = os.path.relpath(dest, root).split(os.sep)[0]
    if first in RESERVED_DIRS:
        raise PathError(rel, f"the symlink points to {target!r}, which resolves inside {first}/", step=step)


@dataclass
class Change:
    """The net change of one file. `before`/`after` None means absent. A symbolic link has
    the mode SYMLINK_MODE and its target (bytes) as content."""

    path: str
    before: bytes | None
    before_mode: int | None
    after: bytes | None
    after_mode: int | None
    steps: list[str] = field(default_factory=list)

    @property
    def kind(self) -> str:
        if self.before is None and self.after is not None:
            return "create"
        if self.after is None and self.before is not None:
            return "delete"
        if self.before != self.after or is_symlink_mode(self.before_mode) != is_symlink_mode(self.after_mode):
            return "replace"
        return "chmod"

    @property
    def link(self) -> bool:
        """Whether the path is a symbolic link after the change."""
        return self.after is not None and is_symlink_mode(self.after_mode)

    @property
    def before_hash(self) -> str:
        return ABSENT if self.before is None else sha256(self.before)

    @property
    def after_hash(self) -> str:
        return ABSENT if self.after is None else sha256(self.after)


@dataclass
class StepResult:
    """What one step did on the virtual tree (for diffs of a single step)."""

    step: str
    path: str
    before: bytes | None
    after: bytes | None
    before_mode: int | None = None
    after_mode: int | None = None
    to: str | None = None            # move destination
    proposed: bytes | None = None    # with a hunk selection: the step's content before it


@dataclass
class Outcome:
    changes: list[Change] = field(default_factory=list)
    results: dict[str, StepResult] = field(default_factory=dict)
    stale: list[Stale] = field(default_factory=list)
    errors: list[WoptError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.stale and not self.errors


@dataclass
class _State:
    data: bytes | None
    mode: int | None
    orig: bytes | None
    orig_mode: int | None
    steps: list[str]


def decode_text(data: bytes, *, path: str, step: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise StepError("is not UTF-8 text, so a text edit cannot apply", step=step, path=path,
                        hint="replace the file with a write step instead") from None


MAX_RENDER = 64 * 1024 * 1024   # characters a template may produce (and any value inside it)


class _TooLarge(Exception):
    pass


def _size(x) -> int:
    return len(x) if isinstance(x, (str, bytes, list, tuple)) else 0


def _bounded_env():
    """A sandboxed Jinja2 environment (no attribute or builtin escapes) whose values stay
    bounded: `*` on strings and lists, `+`, `**`, `%` and the filters taking a width are
    checked before they allocate, so a template cannot exhaust memory."""
    import operator

    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    def pow_ok(base, exp) -> bool:
        if not isinstance(base, int) or not isinstance(exp, int) or exp < 0 or abs(base) < 2:
            return True
        return exp * abs(base).bit_length() <= MAX_RENDER * 8

    class Bounded(SandboxedEnvironment):
        intercepted_binops = frozenset(["*", "**", "+", "%"])

        def call_binop(self, context, operator_name, left, right):
            if operator_name == "*":
                for seq, n in ((left, right), (right, left)):
                    if _size(seq) and isinstance(n, int) and _size(seq) * n > MAX_RENDER:
                        raise _TooLarge(f"`*` would make {_size(seq) * n:,} items")
                return operator.mul(left, right)
            if operator_name == "**":
                if not pow_ok(left, right):
                    raise _TooLarge(f"`{left} ** {right}` is too big a number")
                return operator.pow(left, right)
            if operator_name == "+":
                if _size(left) + _size(right) > MAX_RENDER:
                    raise _TooLarge("`+` would make too long a value")
                return operator.add(left, right)
            if operator_name == "%":
                args = right if isinstance(right, tuple) else (right,)
                if isinstance(left, str) and any(isinstance(a, int) and abs(a) > MAX_RENDER for a in args):
                    raise _TooLarge("a `%` format width is too large")
                return operator.mod(left, right)
            return super().call_binop(context, operator_name, left, right)

    env = Bounded(undefined=StrictUndefined, keep_trailing_newline=True, autoescape=False)

    def bounded(fn, name):
        def f(*args, **kwargs):
            for a in (*args[1:], *kwargs.values()):
                if isinstance(a, int) and not isinstance(a, bool) and abs(a) > MAX_RENDER:
                    raise _TooLarge(f"filter {name} was given {a:,}")
            return fn(*args, **kwargs)
        for attr in ("jinja_pass_arg",):
            if hasattr(fn, attr):
                setattr(f, attr, getattr(fn, attr))
        return f

    env.filters = {k: bounded(v, k) for k, v in env.filters.items()}
    return env


def render_template(plan: Plan, step: RenderStep) -> bytes:
    """The step's template rendered with its variables: sandboxed, strict (an undefined name
    is an error), output and every value inside it bounded (MAX_RENDER characters)."""
    from jinja2 import TemplateError, TemplateSyntaxError

    src = plan.templates[step.template]
    env = _bounded_env()
    limit = f"{MAX_RENDER // (1024 * 1024)} MiB"
    try:
        parts: list[str] = []
        total = 0
        for chunk in env.from_string(src).generate(**step.vars):
            total += len(chunk)
            if total > MAX_RENDER:
                raise _TooLarge(f"its output passed {limit}")
            parts.append(chunk)
        return "".join(parts).encode("utf-8", "surrogateescape")
    except TemplateSyntaxError as e:
        raise StepError(f"template {step.template!r} line {e.lineno}: {e.message}", step=step.id,
                        path=step.path) from None
    except TemplateError as e:
        raise StepError(f"template {step.template!r}: {e}", step=step.id, path=step.path) from None
    except (_TooLarge, MemoryError, OverflowError) as e:
        why = str(e) if isinstance(e, _TooLarge) else type(e).__name__
        raise StepError(f"template {step.template!r} renders too large a file ({why}; the limit is {limit})",
                        step=step.id, path=step.path,
                        hint="render smaller files, or write the content as it is") from None
    except RecursionError:
        raise StepError(f"template {step.template!r} nests or recurses too deeply", step=step.id,
                        path=step.path) from None


def compute(ws: Workspace, plan: Plan, step_ids: Sequence[str] | None = None, *,
            edited: Mapping[str, bytes] | None = None,
            hunks: Mapping[str, Sequence[int]] | None = None,
            check_preconditions: bool = True,
            reader: Callable[[str, str], tuple[bytes | None, int | None]] | None = None,
            rebased: Mapping[str, str] | None = None) -> Outcome:
    """Run the steps `step_ids` (default: all, in plan order) on a virtual copy of the tree.

    `edited` replaces a step's resulting content (a person's edit); `hunks` keeps only the
    listed hunks of a step's diff; `rebased` gives the precondition a step with edited content
    is checked against instead of its own (a person rebased it onto that file). Never raises for a bad step: stale steps and step errors
    are collected in the outcome, and the step is skipped."""
    edited = edited or {}
    hunks = hunks or {}
    rebased = {k: v for k, v in (rebased or {}).items() if k in edited}
    ids = [s.id for s in plan.steps] if step_ids is None else list(step_ids)
    by_id = {s.id: s for s in plan.steps}
    tree: dict[str, _State] = {}
    order: list[str] = []
    out = Outcome()

    def state(rel: str, sid: str) -> _State:
        st = tree.get(rel)
        if st is None:
            real = ws.resolve(rel, step=sid)
            relreal = ws.relative(real)
            if relreal != rel and relreal in tree:
                tree[rel] = tree[relreal]
                return tree[rel]
            # (the path resolved just now: read as it is, not resolved a second time)
            data, mode = (reader(relreal, sid) if reader else ws.read_resolved(real))
            st = _State(data, mode, data, mode, [])
            tree[rel] = st
            if relreal != rel:
                tree[relreal] = st
            order.append(relreal)
        return st

    def lstate(rel: str, sid: str) -> _State:
        """The path itself, a symlink not followed (for symlink steps)."""
        st = tree.get(rel)
        if st is None:
            data, mode = read_entry(ws, rel, step=sid)
            st = _State(data, mode, data, mode, [])
            tree[rel] = st
            order.append(rel)
        return st

    for sid in ids:
        step = by_id.get(sid)
        if step is None:
            out.errors.append(StepError(f"no step {sid!r} in plan {plan.id}"))
            continue
        try:
            _run(ws, plan, step, lstate if isinstance(step, SymlinkStep) else state, out, edited, hunks,
                 check_preconditions, rebased.get(sid))
        except (StepError, PathError) as e:
            out.errors.append(e)

    seen: set[int] = set()
    for rel in order:
        st = tree[rel]
        if id(st) in seen:
            continue
        seen.add(id(st))
        if st.data == st.orig and (st.mode == st.orig_mode or st.data is None):
            continue
        out.changes.append(Change(rel, st.orig, st.orig_mode, st.data,
                                  st.mode if st.data is not None else None, st.steps))
    return out


def _check(step: Step, st: _State, out: Outcome, rel: str, pre: str | None) -> bool:
    if not pre:
        return True
    found = ABSENT if st.data is None else sha256(st.data)
    if found != pre:
        out.stale.append(Stale(step.id, rel, pre, found))
        return False
    return True


def _run(ws, plan, step, state, out, edited, hunks, check_pre, rebased_pre=None) -> None:
    sid = step.id
    rel = normalize_relpath(step.path)
    st = state(rel, sid)
    if check_pre and not _check(step, st, out, rel, rebased_pre or step.precondition):
        return
    before, before_mode = st.data, st.mode

    if isinstance(step, MoveStep):
        to = normalize_relpath(step.to)
        if st.data is None:
            raise StepError("there is no file to move", step=sid, path=rel)
        dst = state(to, sid)
        if dst is st:
            raise StepError("moves a file onto itself", step=sid, path=rel)
        if dst.data is not None:
            raise StepError(f"cannot move onto {to}: it exists", step=sid, path=rel,
                            hint="delete it first in the plan")
        after = edited[sid] if sid in edited else st.data
        dst.data, dst.mode = after, st.mode
        st.data, st.mode = None, None
        st.steps.append(sid)
        dst.steps.append(sid)
        out.results[sid] = StepResult(sid, rel, before, after, before_mode, dst.mode, to=to)
        return

    mode = st.mode
    if isinstance(step, SymlinkStep):
        if step.target is None:
            if not is_symlink_mode(st.mode):
                raise StepError("there is no symlink to remove", step=sid, path=rel)
            after, mode = None, None
        else:
            check_link(ws, rel, step.target, step=sid)
            after, mode = os.fsencode(step.target), SYMLINK_MODE
        st.data, st.mode = after, mode
        st.steps.append(sid)
        out.results[sid] = StepResult(sid, rel, before, after, before_mode, mode)
        return
    if is_symlink_mode(st.mode) and st.data is not None and not isinstance(step, (DeleteStep, MoveStep)):
        raise StepError("the path is a symlink made by an earlier step; change it with a symlink step",
                        step=sid, path=rel)
    if isinstance(step, WriteStep):
        after = write_bytes(step)
        if step.mode:
            mode = parse_mode(step.mode)
    elif isinstance(step, RenderStep):
        after = render_template(plan, step)
        if step.mode:
            mode = parse_mode(step.mode)
    elif isinstance(step, EditStep):
        if st.data is None:
            raise StepError("the file to edit does not exist", step=sid, path=rel)
        after = apply_edits(decode_text(st.data, path=rel, step=sid), step.edits, path=rel,
                            step=sid).encode("utf-8", "surrogateescape")
    elif isinstance(step, PatchStep):
        text = "" if st.data is None else decode_text(st.data, path=rel, step=sid)
        after = apply_patch(text, step.diff, path=rel, step=sid).encode("utf-8", "surrogateescape")
    elif isinstance(step, DeleteStep):
        if st.data is None:
            raise StepError("there is no file to delete", step=sid, path=rel)
        after = None
    elif isinstance(step, ChmodStep):
        if st.data is None:
            raise StepError("there is no file to chmod", step=sid, path=rel)
        after = st.data
        mode = parse_mode(step.mode)
    else:  # pragma: no cover - the model has no other kinds
        raise StepError(f"unknown step kind {type(step).__name__}", step=sid, path=rel)

    if sid in edited and after is not None:
        after = edited[sid]
    proposed = None
    if sid in hunks and after is not None:
        from ..model.linediff import apply_hunks as keep_hunks
        pick = hunks[sid]
        proposed = after
        try:
            after = keep_hunks(before or b"", after, list(pick), getattr(pick, "lines_off", None))
        except StepError as e:
            raise StepError(e.message, step=sid, path=rel, hint=e.hint) from None
    if after is not None and mode is None:
        mode = default_file_mode()
    st.data, st.mode = after, (mode if after is not None else None)
    st.steps.append(sid)
    out.results[sid] = StepResult(sid, rel, before, after, before_mode, st.mode, proposed=proposed)
