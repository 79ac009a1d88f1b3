"""The review model: what the CLI's `wopt show` and the review app display for one plan.

A pure function of the plan and the workspace's current files builds it
(`wopt.engine.analysis.analyze(ws, plan)`); nothing here writes. Fields may be added; the
names below are the contract between the analysis and its two front ends.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Callable


@dataclass(frozen=True)
class Edge:
    """`before` must commit before `after` (after depends on before), and why."""

    before: str   # step id
    after: str    # step id
    reason: str   # "depends_on", "imports src/pkg/util.py", "config before code", ...


@dataclass
class Batch:
    """The steps of one plan that touch one directory."""

    dir: str                      # workspace-relative directory, "." for the top
    steps: list[str]              # step ids in commit order
    creates: int = 0
    rewrites: int = 0
    edits: int = 0
    deletes: int = 0
    moves: int = 0
    chmods: int = 0
    bytes: int = 0                # bytes of resulting content


@dataclass
class Finding:
    """A validation finding on a step's resulting content."""

    step: str
    path: str
    checker: str                  # "python", "json", "toml", "yaml", "ipynb", "jinja2", "imports"
    message: str
    line: int | None = None       # 1-based
    column: int | None = None     # 1-based
    severity: str = "error"       # "error" blocks apply unless allowed; "warning" does not


@dataclass
class Flag:
    step: str
    code: str                     # "large", "binary", "delete-nonempty", "exec-bit", "outside"
    message: str


@dataclass
class FamilyMember:
    step: str
    path: str
    values: dict[str, str]        # slot name -> this file's value


@dataclass
class Outlier:
    step: str
    path: str
    differs: str                  # what differs from the family's template, in words


@dataclass
class Family:
    id: str
    template: str                 # Jinja2 source; rendering it with a member's values gives its bytes
    slots: list[str]
    members: list[FamilyMember]
    outliers: list[Outlier] = field(default_factory=list)
    declared: bool = False        # declared by the plan (render steps) rather than detected
    saved_as: str | None = None   # name in .wopt/templates/ when it matches a saved template
    saved_uses: int = 0


@dataclass
class DiffLine:
    kind: str                     # " " context, "-" removed, "+" added
    old_no: int | None
    new_no: int | None
    text: str                     # without its line ending
    spans: list[tuple[int, int]] = field(default_factory=list)  # intra-line changed [start, end)
    eol: str = "\n"               # its line ending: "\n", "\r\n", "" (none: the last line), "\r" (last, bare CR)
    ws: bool = False              # draw every space and tab (it would look like a different line)


@dataclass
class DiffHunk:
    index: int
    old_start: int
    old_len: int
    new_start: int
    new_len: int
    lines: list[DiffLine]


@dataclass
class StepDiff:
    step: str
    path: str
    old_path: str | None          # the source of a move
    hunks: list[DiffHunk]
    binary: bool = False
    old_size: int | None = None
    new_size: int | None = None
    old_hash: str | None = None
    new_hash: str | None = None
    created: bool = False
    deleted: bool = False
    old_mode: int | None = None
    new_mode: int | None = None
    notes: list[str] = field(default_factory=list)   # byte-level changes: line endings, BOM, final newline
    old_link: str | None = None   # the target, when the path was a symlink before
    new_link: str | None = None   # the target, when the path is a symlink after
    # the bytes the hunks were made from (before, after): a view of the diff with other options
    # (more context, whitespace ignored) is made from them; not part of the diff's value
    sources: tuple[bytes | None, bytes | None] | None = field(default=None, repr=False, compare=False)


@dataclass
class StepInfo:
    id: str
    kind: str                     # write, edit, patch, delete, move, chmod, render, symlink
    path: str
    to: str | None
    batch: str                    # its batch's dir
    position: int                 # index in the commit order
    group: int | None = None      # cycle group index into ReviewModel.groups
    depends_on: list[Edge] = field(default_factory=list)   # edges into this step
    needed_by: list[Edge] = field(default_factory=list)    # edges out of this step
    family: str | None = None
    findings: list[Finding] = field(default_factory=list)
    flags: list[Flag] = field(default_factory=list)
    origin: list = field(default_factory=list)             # plan.Origin of the agent calls folded
    stale: str | None = None      # why the precondition fails now, if it does
    error: str | None = None      # why the step cannot apply (edit text not found...)
    bytes: int = 0                # size of the resulting content
    small_edit: bool = False      # an edit smaller than its file

    @property
    def status(self) -> str:
        """Engine-side status: "stale", "invalid" or "ok" (decisions live in the Review)."""
        if self.stale:
            return "stale"
        if self.error or any(f.severity == "error" for f in self.findings):
            return "invalid"
        return "ok"


class LazySteps(Mapping[str, "StepInfo"]):
    """`ReviewModel.steps` of a model read back from its encoded form: each step's info is
    kept as its own encoded bytes and decoded when first asked for, so a model of 10,000
    steps is usable at once (the review app draws the few rows on screen; nothing decodes
    the rest until it is read). A read-only mapping, in the encoded order."""

    __slots__ = ("_raw", "_decode", "_origin", "_made")

    def __init__(self, raw: dict[str, bytes], decode: Callable[[bytes], "StepInfo"],
                 origin: dict[str, list] | None = None) -> None:
        self._raw = raw
        self._decode = decode
        self._origin = origin or {}
        self._made: dict[str, StepInfo] = {}

    def __getitem__(self, sid: str) -> "StepInfo":
        info = self._made.get(sid)
        if info is None:
            info = self._decode(self._raw[sid])      # KeyError for an unknown step
            info.origin = list(self._origin.get(sid, ()))
            self._made[sid] = info
        return info

    def __contains__(self, sid: object) -> bool:
        return sid in self._raw

    def __iter__(self) -> Iterator[str]:
        return iter(self._raw)

    def __len__(self) -> int:
        return len(self._raw)

    def __repr__(self) -> str:
        return f"LazySteps({len(self._raw)} steps, {len(self._made)} decoded)"


@dataclass
class ReviewModel:
    plan_id: str
    order: list[str]                      # commit order of step ids
    groups: list[list[str]]               # cycle groups (each commits together)
    edges: list[Edge]
    batches: list[Batch]                  # in commit order of their first step
    steps: Mapping[str, StepInfo]         # a dict, or LazySteps when read back from the cache
    families: list[Family]
    findings: list[Finding]
    flags: list[Flag]
    optimization_rate: float              # share of steps in a multi-file batch, a family, or a small edit
    warnings: list[str] = field(default_factory=list)   # e.g. a review's order that breaks an edge
    stale: list[tuple[str, str, str, str]] = field(default_factory=list)  # (step, path, expected, found)
    errors: list[str] = field(default_factory=list)     # steps that cannot apply, as messages
    tiers: dict[str, int] = field(default_factory=dict) # step -> 0 config, 1 code, 2 tests, 3 docs
    _diff: Callable[..., StepDiff] | None = field(default=None, repr=False)
    _diff_cache: dict[str, StepDiff] = field(default_factory=dict, repr=False)
    _cache_ref: tuple | None = field(default=None, repr=False)   # (ws, key, newest): where its diffs are kept

    def cached_diff(self, step_id: str) -> StepDiff | None:
        """The step's diff if it was computed already, else None (never computes it)."""
        return self._diff_cache.get(step_id)

    def text_diff(self, step_id: str) -> StepDiff:
        """The step's diff for text output (`unified`): the cached diff when there is one,
        else one computed without the changed words within lines (text does not show them)
        and not kept."""
        d = self._diff_cache.get(step_id)
        if d is not None:
            return d
        if self._diff is None:
            raise KeyError(step_id)
        return self._diff(step_id, spans=False)

    def diff(self, step_id: str) -> StepDiff:
        """The step's diff, computed on first request (lazily, per step) and cached."""
        d = self._diff_cache.get(step_id)
        if d is None:
            if self._diff is None:
                raise KeyError(step_id)
            d = self._diff_cache[step_id] = self._diff(step_id)
        return d
