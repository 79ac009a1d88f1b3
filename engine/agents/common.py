"""What the Codex and Gemini CLI hooks share: reading the payload, the session's queue and
gate plans (through `engine/agents/hook.py`, as `wopt hook claude` does), waiting on every step of one
call, the reasons told to the model, and the fail-closed shell.

An agent module turns its payload into fold Calls with `make_calls(read)`, where `read(rel)`
gives a path as the session's queued plan leaves it (so a later edit of a queued file applies
to the queued content), and answers in its own wire format; `main()` makes every error a deny.
"""
from __future__ import annotations

import json
import os

QUEUE, GATE = "queue", "gate"


class HookInputError(Exception):
    """The payload is not what the agent sends: denied, naming what is wrong."""


class Outcome:
    """How a gated call was decided: `decision` approved | rejected | pending (timed out),
    `why` (rejections: "path: reason"), `content` (approved with the person's edit: the
    new content of each path), `applied` (the transaction wopt applied it as)."""

    def __init__(self, pid: str, steps: list, decision: str, why: list[str] | None = None,
                 content: dict[str, bytes | None] | None = None):
        self.pid = pid
        self.steps = steps
        self.decision = decision
        self.why = why or []
        self.content = content or {}
        self.applied: str | None = None

    @property
    def step_ids(self) -> list[str]:
        return [s.id for s in self.steps]


def payload_of(data: bytes) -> dict:
    try:
        payload = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise HookInputError(f"the hook input is not valid JSON ({e})") from None
    if not isinstance(payload, dict):
        raise HookInputError("the hook input is not a JSON object")
    return payload


def string(obj: dict, key: str, where: str, *, empty: bool = True) -> str:
    v = obj.get(key)
    if not isinstance(v, str) or (not empty and not v):
        raise HookInputError(f"{where}.{key} is {'missing' if v is None else 'not a string' if not isinstance(v, str) else 'empty'}")
    return v


def tool_name(payload: dict) -> str:
    """The hook input's tool_name."""
    tool = payload.get("tool_name")
    if not isinstance(tool, str):
        raise HookInputError("the hook input has no tool_name")
    return tool


def tool_input(payload: dict) -> dict:
    """The hook input's tool_input object."""
    inp = payload.get("tool_input")
    if not isinstance(inp, dict):
        raise HookInputError("tool_input is not an object")
    return inp


def absolute(path: str, cwd) -> str:
    """An agent's path, relative ones taken from the session's cwd."""
    if not os.path.isabs(path) and isinstance(cwd, str) and os.path.isabs(cwd):
        return os.path.join(cwd, path)
    return path


def step_paths(steps) -> list[str]:
    out: list[str] = []
    for s in steps:
        for p in (s.path, getattr(s, "to", None)):
            if p and p not in out:
                out.append(p)
    return out


def touched(steps, groups) -> list:
    """[(position, step)] of the plan's steps that the calls' fold groups became."""
    ids: list[str] = []
    for g in groups:
        sid = g.step_id or next((s.id for s in steps if getattr(s, "to", None) == g.path), None)
        if sid and sid not in ids:
            ids.append(sid)
    return [(i, s) for i, s in enumerate(steps, 1) if s.id in ids]


# ---------------------------------------------------------------------------- queue

def queue(ws, payload: dict, make_calls, who) -> tuple[str, list, list, bool]:
    """Fold the calls into the session's pending plan: (plan id, [(position, step)] they went
    into, the calls, whether they folded into a step queued before)."""
    from .hook import queue_calls
    made: list = []

    def calls(folder):
        made.extend(make_calls(lambda rel: folder._state(rel)))
        return made
    pid, steps, groups = queue_calls(ws, payload, calls, who)
    folded = any(len(g.origins) > sum(1 for h in groups if h is g) for g in groups)
    return pid, touched(steps, groups), made, folded


def queued_reason(pid: str, hits: list, calls: list, folded: bool) -> str:
    paths = step_paths([s for _, s in hits]) or [c.path for c in calls]
    tool = calls[0].tool if calls else "write"
    where = ", ".join(f"{n} ({s.id})" for n, s in hits)
    return (f"wopt: this {tool} of {', '.join(paths)} is {'folded into' if folded else 'queued as'} "
            f"step{'s' * (len(hits) != 1)} {where} of plan {pid}, queued for human review in wopt; it "
            f"has not been written yet. Carry on as if the write were done: later edits of "
            f"{'these files' if len(paths) > 1 else paths[0] if paths else 'the file'} apply to the "
            f"queued content. The person reviews and applies the plan with `wopt-tui` or "
            f"`wopt apply {pid}`.")


# ---------------------------------------------------------------------------- gate

def gate(ws, payload: dict, make_calls, who, timeout: float, *, rewrites=lambda out: False) -> Outcome:
    """Add the calls to the session's gate plan and wait until the person approves every
    step they made, rejects one, or `timeout` passes; the steps leave the gate plan whatever
    happens. An approval with the person's edits (edited content, hunks turned off) gives
    `content`, the edited result of each path; unless `rewrites(outcome)` says the agent takes
    it in its call, wopt applies the edited version itself as one transaction (`applied`)."""
    from ..store import spool
    from .hook import _forget, gate_calls
    from ..model.review import APPROVED, PENDING, REJECTED

    made: list = []

    def calls(folder):
        made.extend(make_calls(lambda rel: folder._state(rel)))
        return made
    pid, new = gate_calls(ws, payload, calls, who)
    ids = [s.id for s in new]
    try:
        if not ids:
            return Outcome(pid, new, APPROVED)
        from ..store.decide import wait_steps, waiting_on
        with waiting_on(ws, pid, ids[0], timeout, path=new[0].path,
                        tool=getattr(made[0], "tool", None) if made else None):
            decision, review = wait_steps(ws, pid, ids, timeout)
        if decision == PENDING or review is None:
            return Outcome(pid, new, PENDING)
        if decision == REJECTED:
            paths = {s.id: s.path for s in new}
            why = [f"{paths[i]}: {review.reasons.get(i) or 'rejected'}" for i in ids
                   if review.decision(i) == REJECTED]
            return Outcome(pid, new, REJECTED, why)
        out = Outcome(pid, new, APPROVED)
        edited = {i: review.edited[i].encode("utf-8", "surrogateescape") for i in ids if i in review.edited}
        hunks = review.picks(ids)
        # a step the person rebased onto the file as it is now (it went stale while the call
        # waited) is checked against that file, as an apply from the review checks it
        rebased = {i: review.rebased[i] for i in ids if i in review.rebased and i in edited}
        if edited or hunks:
            from ..store.effects import compute
            plan = spool.load_plan(ws, pid)
            plan.steps = [s for s in plan.steps if s.id in ids]
            res = compute(ws, plan, ids, edited=edited, hunks=hunks, check_preconditions=False)
            if res.errors:
                raise res.errors[0]
            out.content = {c.path: c.after for c in res.changes}
            if not rewrites(out):
                from ..tx.apply import apply_plan
                tx = apply_plan(ws, plan, ids, edited=edited or None, hunks=hunks or None,
                                rebased=rebased or None)
                out.applied = tx.tx or "noop"
        return out
    finally:
        if ids:
            _forget(ws, pid, ids)


def rejected_reason(out: Outcome) -> str:
    return ("Rejected in wopt review: " + "; ".join(out.why) +
            f" (plan {out.pid}). It was not written; do not retry it as it was.")


def timeout_reason(tool: str, out: Outcome, timeout: float) -> str:
    paths = ", ".join(step_paths(out.steps))
    return (f"wopt: no decision on this {tool} of {paths} within {timeout:g} s (plan {out.pid}, "
            f"step{'s' * (len(out.steps) != 1)} {', '.join(out.step_ids)}); it was not written. Ask "
            f"the person to review it in wopt, then retry.")


def applied_reason(out: Outcome) -> str:
    paths = ", ".join(step_paths(out.steps))
    return (f"wopt: the person approved this write of {paths} with their own edits, and wopt applied "
            f"the edited version (transaction {out.applied}); do not apply it again. Re-read "
            f"{'these files' if len(out.steps) > 1 else 'the file'} before changing "
            f"{'them' if len(out.steps) > 1 else 'it'} further.")


# ---------------------------------------------------------------------------- the shell

def run(data: bytes, handle, deny) -> dict:
    """`handle(payload)` -> answer; any error -> `deny(reason)`. Never raises."""
    try:
        return handle(payload_of(data))
    except HookInputError as e:
        return deny(f"wopt: {e}; the write was not made.")
    except BaseException as e:  # noqa: BLE001 - fail closed on anything, even KeyboardInterrupt
        from ..model.errors import PathError
        from .hook import refusal
        if isinstance(e, PathError):
            return deny(f"wopt refused this write: {e.message}; it was not made.")
        return deny(refusal(e))


def main(handle, deny, stdin=None, stdout=None) -> int:
    """Read the payload, answer one JSON object, exit 0 (the shell every hook shares)."""
    from .hook import serve
    return serve(lambda data: run(data, handle, deny), deny, stdin, stdout)
