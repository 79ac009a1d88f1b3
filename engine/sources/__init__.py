"""Readers of what agents write, each producing a Plan. `read()` picks one by name or detects.

One module per format (imported only when used, so `wopt hook` stays light):
native (the plan JSON), claude-hook (PreToolUse payloads), claude-transcript (session
`.jsonl`), claude-trace (claude-trace logs), diff (git / unified diffs, applied as `git apply` does), codex
(`apply_patch` envelopes), aider (SEARCH/REPLACE blocks and Aider's udiff). Every reader needs
the workspace: agents' paths become workspace-relative, and preconditions come from what the
agent saw (the disk, or the text an edit expects). Writes to one file fold into one step
(see fold.py).
"""
from __future__ import annotations

import json
import re
from types import ModuleType

from ..errors import PlanError, UsageError
from ..plan import Plan, decode_plan

FORMATS = ("auto", "native", "claude-hook", "claude-transcript", "claude-trace", "diff", "codex", "aider")

_DIFF_RE = re.compile(rb"^(diff --git |--- .*\n\+\+\+ .*\n@@ -\d)", re.M)
_SEARCH_RE = re.compile(rb"^<{5,9} SEARCH\s*$", re.M)
_AIDER_UDIFF_RE = re.compile(rb"^```diff\s*\n--- ", re.M)


def _first_json(data: bytes):
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


def detect(data: bytes) -> str:
    """The format of `data`, or UsageError when it cannot tell."""
    head = data.lstrip()[:1]
    if head in (b"{", b"["):
        obj = _first_json(data)
        if isinstance(obj, list) and obj:
            obj = obj[0]
        if isinstance(obj, dict):
            if "tool_name" in obj or "hook_event_name" in obj:
                return "claude-hook"
            if "request" in obj and ("response" in obj or "logged_at" in obj):
                return "claude-trace"
            if "steps" in obj or "version" in obj and "type" not in obj:
                return "native"
            if "type" in obj or "sessionId" in obj or "uuid" in obj:
                return "claude-transcript"
        return "native"
    if b"*** Begin Patch" in data:
        return "codex"
    if _AIDER_UDIFF_RE.search(data) or _SEARCH_RE.search(data):
        return "aider"
    if _DIFF_RE.search(data):
        return "diff"
    raise UsageError("cannot tell the input's format",
                     hint="pass --format (one of " + ", ".join(FORMATS[1:]) + ")")


def read(data: bytes, fmt: str = "auto", ws=None, *, name: str | None = None,
         strip: int | None = None) -> tuple[Plan, str]:
    """(plan, format used). Raises WoptError subclasses on bad input; a plan is returned only
    when every call in the input applies. `strip` is git's `-p N` (diffs only)."""
    if fmt == "auto":
        fmt = detect(data)
    if strip is not None and fmt != "diff":
        raise UsageError(f"-p applies to diffs only (the input is {fmt})")
    if fmt == "native":
        return decode_plan(data, file=name), fmt
    if fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r} (known: {', '.join(FORMATS)})")
    if ws is None:
        raise UsageError(f"reading {fmt} needs a workspace")
    mod = _module(fmt)
    try:
        plan = mod.read(data, ws, name=name, strip=strip) if strip is not None else mod.read(data, ws, name=name)
    except RecursionError:
        raise PlanError("the input is nested too deeply", file=name) from None
    if not plan.source or plan.source == "native":
        plan.source = fmt
    return plan, fmt


def _module(fmt: str) -> ModuleType:
    m: ModuleType
    if fmt == "claude-hook":
        from . import claude_hook as m
    elif fmt == "claude-transcript":
        from . import claude_transcript as m
    elif fmt == "claude-trace":
        from . import claude_trace as m
    elif fmt == "diff":
        from . import unified_diff as m
    elif fmt == "codex":
        from . import codex as m
    else:
        from . import aider as m
    return m
