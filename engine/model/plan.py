"""The plan format, version 1: a typed model of a plan and its steps.

A plan is one proposal from one agent or session. It is plain JSON; `wopt schema` prints its
JSON Schema. Decoding validates types with msgspec (fast, precise paths), then `validate()`
checks what types cannot say (relative paths, unique ids, known dependencies, one content).

Content is text (kept byte for byte: any line endings) or base64 bytes. A precondition is what
the agent saw: "absent", "sha256:<hex>", or missing (captured from disk on ingest).
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import posixpath
import re
import stat
from typing import Any, Annotated, Union

import msgspec
from msgspec import Meta, Struct, field

from .errors import PlanError

PLAN_VERSION = 1
ABSENT = "absent"
_PRECOND_RE = re.compile(r"^(absent|sha256:[0-9a-f]{64})$")
_MODE_RE = re.compile(r"^0?[0-7]{3}$")
RESERVED_DIRS = (".wopt", ".git")
SYMLINK_MODE = stat.S_IFLNK | 0o777   # the mode of a symbolic link in changes and on the virtual tree

Mode = Annotated[str, Meta(pattern=r"^0?[0-7]{3}$", description="octal permission bits, e.g. \"644\" or \"0755\"")]
Precondition = Annotated[str, Meta(pattern=r"^(absent|sha256:[0-9a-f]{64})$",
                                   description="\"absent\" or \"sha256:<hex>\" of the file the agent saw")]


# what a reader puts in an origin's summary when the agent's tool moves a file onto an existing
# one (Codex's `*** Move to:`): the analysis flags the step that writes the destination
# "overwrite" (here, below both, so a reader needs no analysis module: the hook stays light)
OVERWRITE_NOTE = "overwriting the existing file"


class Origin(Struct, omit_defaults=True, forbid_unknown_fields=False):
    """One agent call that a step folds (a Write, an Edit, a patch section...)."""

    tool: str
    call_id: str | None = None
    summary: str | None = None
    at: str | None = None


class Edit(Struct, omit_defaults=True):
    old_string: str
    new_string: str
    replace_all: bool = False


class _StepBase(Struct, omit_defaults=True, tag_field="kind", kw_only=True):
    id: str
    path: str
    precondition: Precondition | None = None
    depends_on: list[str] = field(default_factory=list)
    description: str | None = None
    origin: list[Origin] = field(default_factory=list)


class WriteStep(_StepBase, tag="write"):
    """Create or replace a file with full content."""

    content: str | None = None
    content_base64: str | None = None
    mode: Mode | None = None


class EditStep(_StepBase, tag="edit"):
    """Exact string replacements applied in order, each to the result of the one before."""

    edits: list[Edit]


class PatchStep(_StepBase, tag="patch"):
    """Unified-diff hunks for one file, located by context."""

    diff: str


class DeleteStep(_StepBase, tag="delete"):
    pass


class MoveStep(_StepBase, tag="move"):
    """Move `path` to `to`; `to` must not exist (unless moved away earlier in the plan)."""

    to: str


class ChmodStep(_StepBase, tag="chmod"):
    mode: Mode


class RenderStep(_StepBase, tag="render"):
    """Write the plan template `template` rendered with `vars` (Jinja2, sandboxed, strict)."""

    template: str
    vars: dict[str, Any] = field(default_factory=dict)
    mode: Mode | None = None


class SymlinkStep(_StepBase, tag="symlink"):
    """Make `path` a symbolic link to `target`, creating it or replacing the file or link there;
    with `target` null, remove the link at `path`. The target is relative to the link's
    directory and must stay inside the workspace. The precondition of an existing link is the
    hash of its target text."""

    target: str | None = None


Step = Union[WriteStep, EditStep, PatchStep, DeleteStep, MoveStep, ChmodStep, RenderStep, SymlinkStep]
STEP_KINDS = ("write", "edit", "patch", "delete", "move", "chmod", "render", "symlink")


def is_symlink_mode(mode: int | None) -> bool:
    return mode is not None and stat.S_ISLNK(mode)


class Plan(Struct, omit_defaults=True, kw_only=True):
    version: int = PLAN_VERSION
    id: str = ""
    title: str = ""
    source: str = "native"
    agent: str | None = None
    session_id: str | None = None
    created: str | None = None
    templates: dict[str, str] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)

    def step(self, step_id: str) -> Step:
        for s in self.steps:
            if s.id == step_id:
                return s
        raise KeyError(step_id)


def step_kind(step: Step) -> str:
    return str(type(step).__struct_config__.tag)


def step_paths(step: Step) -> list[str]:
    """Every workspace path the step touches."""
    return [step.path, step.to] if isinstance(step, MoveStep) else [step.path]


def write_bytes(step: WriteStep) -> bytes:
    if step.content_base64 is not None:
        return base64.b64decode(step.content_base64, validate=True)
    return (step.content or "").encode("utf-8", "surrogateescape")


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def parse_mode(mode: str) -> int:
    return int(mode, 8)


def format_mode(mode: int) -> str:
    return format(mode & 0o7777, "03o")


# --------------------------------------------------------------------------- paths

def reserved_part(parts) -> str | None:
    """The reserved directory (`.git`, `.wopt`) among path components, at any depth, or None.
    Compared case-insensitively: on a case-insensitive file system `.GIT/` is the repository."""
    for p in parts:
        low = p.casefold()
        for r in RESERVED_DIRS:
            if low == r:
                return r
    return None


def check_relpath(path: str) -> str | None:
    """Why `path` is not an acceptable plan path, or None. Pure: no disk access.

    Refused: empty, NUL, absolute, `..`, a trailing slash (or `/.`: it names a directory, not
    the file), and `.git/` or `.wopt/` at any depth (a nested repository's hooks run code).
    Most paths are plain `a/b/c.py`: they are accepted by string tests alone (the same
    answer, ten times cheaper over a 10,000-step plan); any other goes to the full check,
    which says why."""
    if path and "\\" not in path and "\x00" not in path and path[0] != "/" and path[1:3] != ":/":
        for p in path.split("/"):
            if not p or p == "." or p == ".." or p.casefold() in RESERVED_DIRS:
                break
        else:
            return None
    return _check_relpath_full(path)


def _check_relpath_full(path: str) -> str | None:
    if not path:
        return "must not be empty"
    if "\x00" in path:
        return "must not contain a NUL byte"
    if path.startswith("/") or re.match(r"^[A-Za-z]:[\\/]", path) or path.startswith("\\"):
        return "must be relative to the workspace"
    parts = re.split(r"[\\/]", path)
    if any(p == ".." for p in parts):
        return "must not leave the workspace (`..`)"
    clean = [p for p in parts if p not in ("", ".")]
    if not clean:
        return "must name a file"
    if parts[-1] in ("", "."):
        return "must name a file, not a directory (trailing slash)"
    reserved = reserved_part(clean)
    if reserved:
        return f"must not be inside {reserved}/"
    return None


def check_link_target(path: str, target: str) -> str | None:
    """Why a symlink at `path` must not point to `target`, or None. Pure: the target, taken
    from the link's directory, must stay inside the workspace and out of .git/ and .wopt/."""
    if not target:
        return "has an empty target"
    if "\x00" in target:
        return "has a target with a NUL byte"
    if target.startswith("/"):
        return f"points to {target!r}, an absolute path (outside the workspace)"
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(normalize_relpath(path)), target))
    if joined == ".." or joined.startswith("../"):
        return f"points to {target!r}, outside the workspace"
    first = joined.split("/")[0]
    if first in RESERVED_DIRS:
        return f"points to {target!r}, inside {first}/"
    return None


def normalize_relpath(path: str) -> str:
    if ("\\" not in path and "//" not in path and "/./" not in path and path != "."
            and not path.startswith(("/", "./")) and not path.endswith(("/", "/."))):
        return path          # already normal: no empty or "." part (most paths)
    parts = [p for p in path.replace("\\", "/").split("/") if p not in ("", ".")]
    return "/".join(parts)


def touched_paths(plan: Plan) -> tuple[list[str], list[str]] | None:
    """(the paths `plan` touches, the directories above them), each sorted, normalized as
    `normalize_relpath` does; None when a step's path is not a string path."""
    paths: set[str] = set()
    for s in plan.steps:
        try:
            paths.add(normalize_relpath(s.path))
            if isinstance(s, MoveStep):
                paths.add(normalize_relpath(s.to))
        except (ValueError, TypeError, AttributeError):
            return None
    dirs: set[str] = set()
    for p in paths:
        d = posixpath.dirname(p)
        while d and d not in dirs:
            dirs.add(d)
            d = posixpath.dirname(d)
    return sorted(paths), sorted(dirs)


# --------------------------------------------------------------------------- decode / validate

_decoder = msgspec.json.Decoder(Plan)
_encoder = msgspec.json.Encoder()


def _msgspec_where(msg: str) -> tuple[str, str | None]:
    """Split msgspec's 'Expected `str`, got `int` - at `$.steps[3].path`'."""
    m = re.search(r" - at `\$\.?(.*)`$", msg)
    if not m:
        return msg, None
    return msg[: m.start()], m.group(1) or None


def decode_plan(data: bytes | str, *, file: str | None = None) -> Plan:
    """Decode and validate a plan; raise PlanError with the JSON path and step id."""
    try:
        plan = _decoder.decode(data)
    except msgspec.ValidationError as e:
        msg, where = _msgspec_where(str(e))
        step = None
        if where:
            m = re.match(r"steps\[(\d+)\]", where)
            if m:
                step = _step_id_from_raw(data, int(m.group(1)))
        raise PlanError(_friendly(msg), where=where, step=step, file=file,
                        hint="see `wopt schema` for the plan format") from None
    except msgspec.DecodeError as e:
        raise PlanError(f"not valid JSON ({e})", file=file) from None
    validate(plan, file=file)
    return plan


def _friendly(msg: str) -> str:
    return (msg.replace("Object missing required field", "missing required field")
            .replace("Invalid value", "invalid value"))


def _step_id_from_raw(data: bytes | str, index: int) -> str | None:
    try:
        raw = msgspec.json.decode(data)
        sid = raw["steps"][index].get("id")
        return sid if isinstance(sid, str) else None
    except (msgspec.DecodeError, KeyError, IndexError, TypeError, AttributeError):
        return None   # only for naming the step in a message: the decode error says the rest


def validate(plan: Plan, *, file: str | None = None) -> None:
    if plan.version != PLAN_VERSION:
        raise PlanError(f"unsupported plan version {plan.version} (this wopt reads version {PLAN_VERSION})",
                        where="version", file=file)
    seen: set[str] = set()
    for i, s in enumerate(plan.steps):
        w = f"steps[{i}]"
        if not s.id:
            raise PlanError("must not be empty", where=f"{w}.id", file=file)
        if s.id in seen:
            raise PlanError(f"duplicate step id {s.id!r}", where=f"{w}.id", step=s.id, file=file)
        seen.add(s.id)
        why = check_relpath(s.path)
        if why:
            raise PlanError(why, where=f"{w}.path", step=s.id, file=file)
        if isinstance(s, SymlinkStep) and s.target is not None:
            why = check_link_target(s.path, s.target)
            if why:
                raise PlanError(f"the symlink {why}", where=f"{w}.target", step=s.id, file=file)
        if isinstance(s, MoveStep):
            why = check_relpath(s.to)
            if why:
                raise PlanError(why, where=f"{w}.to", step=s.id, file=file)
        if isinstance(s, WriteStep):
            if (s.content is None) == (s.content_base64 is None):
                raise PlanError("needs exactly one of content or content_base64", where=w, step=s.id, file=file)
            if s.content_base64 is not None:
                try:
                    base64.b64decode(s.content_base64, validate=True)
                except (binascii.Error, ValueError):
                    raise PlanError("is not valid base64", where=f"{w}.content_base64", step=s.id, file=file) from None
        if isinstance(s, EditStep):
            if not s.edits:
                raise PlanError("must hold at least one edit", where=f"{w}.edits", step=s.id, file=file)
            for j, e in enumerate(s.edits):
                if e.old_string == "" :
                    raise PlanError("old_string must not be empty (use a write step to create a file)",
                                    where=f"{w}.edits[{j}].old_string", step=s.id, file=file)
        if isinstance(s, RenderStep) and s.template not in plan.templates:
            raise PlanError(f"names template {s.template!r}, which the plan's templates do not hold",
                            where=f"{w}.template", step=s.id, file=file)
    for i, s in enumerate(plan.steps):
        for j, d in enumerate(s.depends_on):
            if d not in seen:
                raise PlanError(f"depends on unknown step {d!r}", where=f"steps[{i}].depends_on[{j}]",
                                step=s.id, file=file)
            if d == s.id:
                raise PlanError("a step cannot depend on itself", where=f"steps[{i}].depends_on[{j}]",
                                step=s.id, file=file)


def encode_plan(plan: Plan) -> bytes:
    return _encoder.encode(plan)


def plan_json_schema() -> dict:
    schema = msgspec.json.schema(Plan)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "wopt write plan, version 1"
    return schema
