"""Readers of what agents write, each producing a Plan. `read()` picks one by name or detects.

`REGISTRY` is the one table of formats: each row names the reader module (imported only when
used, so `wopt hook` stays light), how the queue names a plan from it, one line for `--help`,
and how auto-detection recognises it. `wopt ingest --format`, detection, the queue and the
README's format list all come from it; adding a format is one module here plus one row.

Every reader needs the workspace: agents' paths become workspace-relative, and preconditions
come from what the agent saw (the disk, or the text an edit expects). Writes to one file fold
into one step (see fold.py).

May import: `engine.model`, `engine.store`. Never the analysis, the transaction or the agents.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from ..model.errors import PlanError, UsageError

if TYPE_CHECKING:
    from ..model.plan import Plan


@dataclass(frozen=True)
class Probe:
    """What detection looks at: the raw bytes, and for JSON input its first object."""
    data: bytes
    obj: dict[str, Any]


@dataclass(frozen=True)
class Format:
    name: str          # `--format NAME`, and the Plan.source of what it reads
    module: str        # the reader: a module with read(data, ws, *, name[, strip]) -> Plan
                       # (".x" is a module of this package)
    display: str       # how the queue names a plan of this source
    description: str   # one line for --help and the README
    sniff: Callable[[Probe], bool] | None = None   # does an input look like this format
    json: bool = False  # sniffed on the first JSON object (else on the bytes)
    order: int = 50    # sniffing order among formats of the same kind (lower first)
    strip: bool = False  # reads `-p N`
    needs_workspace: bool = True


_DIFF_RE = re.compile(rb"^(diff --git |--- .*\n\+\+\+ .*\n@@ -\d)", re.M)
_SEARCH_RE = re.compile(rb"^<{5,9} SEARCH\s*$", re.M)
_AIDER_UDIFF_RE = re.compile(rb"^```diff\s*\n--- ", re.M)


def _is_native(p: Probe) -> bool:
    return "steps" in p.obj or "version" in p.obj and "type" not in p.obj


REGISTRY: dict[str, Format] = {f.name: f for f in (
    Format("native", ".native", "plan file", "wopt's plan JSON (`wopt schema`)",
           _is_native, json=True, order=30, needs_workspace=False),
    Format("claude-hook", ".claude_hook", "Claude Code hook", "Claude Code PreToolUse hook payloads",
           lambda p: "tool_name" in p.obj or "hook_event_name" in p.obj, json=True, order=10),
    Format("claude-transcript", ".claude_transcript", "Claude Code session",
           "Claude Code session transcripts (`.jsonl`)",
           lambda p: "type" in p.obj or "sessionId" in p.obj or "uuid" in p.obj, json=True, order=40),
    Format("claude-trace", ".claude_trace", "claude-trace log", "claude-trace request logs",
           lambda p: "request" in p.obj and ("response" in p.obj or "logged_at" in p.obj),
           json=True, order=20),
    Format("diff", ".unified_diff", "unified diff", "git and unified diffs, applied as `git apply` does",
           lambda p: bool(_DIFF_RE.search(p.data)), order=30, strip=True),
    Format("codex", ".codex", "Codex patch", "Codex `apply_patch` envelopes",
           lambda p: b"*** Begin Patch" in p.data, order=10),
    Format("aider", ".aider", "Aider edits", "Aider SEARCH/REPLACE blocks and udiff",
           lambda p: bool(_AIDER_UDIFF_RE.search(p.data) or _SEARCH_RE.search(p.data)), order=20),
)}

# Plan sources no reader emits: agent integrations that build plans call by call (engine/agents)
OTHER_SOURCES = {"codex-hook": "Codex hook", "gemini-hook": "Gemini hook"}


def register(fmt: Format) -> Format:
    """Add a format (a plug-in, or a test's): `read`, detection, `--format` and the queue see it."""
    if fmt.name in REGISTRY or fmt.name == "auto":
        raise ValueError(f"format {fmt.name!r} is already registered")
    REGISTRY[fmt.name] = fmt
    return fmt


def format_names() -> tuple[str, ...]:
    """Every `--format` value: "auto", then the registered formats in table order."""
    return ("auto", *REGISTRY)


FORMATS = format_names()   # the built-in ones; format_names() also sees formats registered later


def display_name(source: str) -> str:
    """How a person is shown a plan's source ("Codex patch"), or the source itself."""
    fmt = REGISTRY.get(source)
    return fmt.display if fmt else OTHER_SOURCES.get(source, source)


def _first_json(data: bytes) -> Any:
    text = data.lstrip()
    try:
        return json.loads(text)
    except ValueError:
        pass
    for line in text.splitlines():
        if line.strip():
            try:
                return json.loads(line)
            except ValueError:
                return None
    return None


def _sniffers(json_input: bool) -> list[Format]:
    return sorted((f for f in REGISTRY.values() if f.sniff is not None and f.json == json_input),
                  key=lambda f: f.order)


def detect(data: bytes) -> str:
    """The format of `data`, or UsageError when it cannot tell. JSON input nothing else claims
    is a native plan (whose decoder then says what is wrong with it)."""
    head = data.lstrip()[:1]
    if head in (b"{", b"["):
        obj = _first_json(data)
        if isinstance(obj, list) and obj:
            obj = obj[0]
        if isinstance(obj, dict):
            probe = Probe(data, obj)
            for f in _sniffers(True):
                if f.sniff is not None and f.sniff(probe):
                    return f.name
        return "native"
    probe = Probe(data, {})
    for f in _sniffers(False):
        if f.sniff is not None and f.sniff(probe):
            return f.name
    raise UsageError("cannot tell the input's format",
                     hint="pass --format (one of " + ", ".join(format_names()[1:]) + ")")


def read(data: bytes, fmt: str = "auto", ws: Any = None, *, name: str | None = None,
         strip: int | None = None) -> tuple[Plan, str]:
    """(plan, format used). Raises WoptError subclasses on bad input; a plan is returned only
    when every call in the input applies. `strip` is git's `-p N` (diffs only)."""
    if fmt == "auto":
        fmt = detect(data)
    entry = REGISTRY.get(fmt)
    if strip is not None and not (entry and entry.strip):
        raise UsageError(f"-p applies to diffs only (the input is {fmt})")
    if entry is None:
        raise UsageError(f"unknown format {fmt!r} (known: {', '.join(format_names())})")
    if ws is None and entry.needs_workspace:
        raise UsageError(f"reading {fmt} needs a workspace")
    mod = _module(entry)
    if not entry.needs_workspace:
        return mod.read(data, ws, name=name), fmt
    try:
        plan = mod.read(data, ws, name=name, strip=strip) if strip is not None else mod.read(data, ws, name=name)
    except RecursionError:
        raise PlanError("the input is nested too deeply", file=name) from None
    if not plan.source or plan.source == "native":
        plan.source = fmt
    return plan, fmt


def _module(fmt: Format) -> Any:
    from importlib import import_module
    return import_module(fmt.module, __name__)
