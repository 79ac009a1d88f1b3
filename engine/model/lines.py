"""Hook sessions' plans: each agent session's writes are queued as a line of plans
(`claude-<session>`, then `claude-<session>-2` ... once one is applied) plus a gate plan for
calls waiting on a decision. The hooks, ingest and the apply keep to these names. Light on
purpose (no msgspec): the hook imports it on every agent write.
"""
from __future__ import annotations

import re


def _session_key(payload: dict) -> str:
    sid = payload.get("session_id")
    sid = sid if isinstance(sid, str) and sid else "nosession"
    return re.sub(r"[^A-Za-z0-9_-]", "_", sid)[:64]


HOOK_PREFIXES = {"claude-hook": "claude", "codex-hook": "codex", "gemini-hook": "gemini"}


def is_gate_plan(plan) -> bool:
    """A hook session's gate plan: it holds only calls still waiting, and each leaves it when
    decided (an apply does not settle it)."""
    return plan.source in HOOK_PREFIXES and plan.id.endswith("-gate")


def plan_line(plan) -> str | None:
    """The line of plans a hook session's queue plan belongs to (`claude-<session>`, then
    `claude-<session>-2` ... once one is applied), or None for any other plan. Every change to
    the line holds the lock of this name."""
    prefix = HOOK_PREFIXES.get(plan.source)
    if prefix is None or not plan.session_id or is_gate_plan(plan):
        return None
    return f"{prefix}-{_session_key({'session_id': plan.session_id})}"
