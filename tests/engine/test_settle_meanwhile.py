"""Nothing a person did while an apply ran is lost: the apply's record of the plan (the
transaction appended to its review, the steps left pending carried into the plan's next
generation) is written from the review as it is saved when the apply settles, not from the
review the caller read before it (before `wopt apply`'s prompt, say). Decisions made
meanwhile through `decide` (`wopt approve/reject`, the review app, a gate hook) stay on disk,
and the steps left pending are carried by what the apply acted on and those decisions."""
from __future__ import annotations

import json

import pytest

from wopt.engine.model import events as ev
from wopt.engine.model.plan import Plan, WriteStep
from wopt.engine.model.review import APPROVED, REJECTED, ReviewPatch
from wopt.engine.store import decide, spool
from wopt.engine.store.workspace import Workspace
from wopt.engine.tx.apply import apply_plan


@pytest.fixture
def ws(tmp_path) -> Workspace:
    w = Workspace(tmp_path)
    spool.save_plan(w, Plan(id="p", title="t",
                            steps=[WriteStep(id=f"s{i}", path=f"f{i}.txt", content=f"{i}\n") for i in (1, 2, 3, 4)]))
    return w


def _review_on_disk(ws: Workspace, plan_id: str) -> dict:
    return json.loads(spool.review_file(ws, plan_id).read_bytes())


def _during_commit(action):
    """A listener that runs `action` once, while the apply commits (before it settles)."""
    done: list[bool] = []

    def listener(e) -> None:
        if e.phase == ev.COMMIT and not done:
            done.append(True)
            action()
    return listener


def test_decisions_made_while_the_apply_runs_are_kept_and_carried(ws):
    decide.approve(ws, "p", ["s1"])
    read = spool.load_review(ws, "p")              # what `wopt apply` read before its prompt

    def meanwhile() -> None:                       # the review app / `wopt approve` meanwhile
        decide.approve(ws, "p", ["s2"])
        decide.reject(ws, "p", ["s3"], reason="not this one")
        decide.update(ws, "p", ReviewPatch(steps={"s2": {"edited": "two, edited\n"}}))

    res = apply_plan(ws, spool.load_plan(ws, "p"), review=read, on_event=_during_commit(meanwhile))
    assert res.outcome == "committed" and res.steps == ["s1"]
    assert (ws.root / "f1.txt").read_bytes() == b"1\n" and not (ws.root / "f2.txt").exists()
    # the applied plan's record keeps every decision made meanwhile, and the transaction
    disk = _review_on_disk(ws, "p")
    assert disk["decisions"] == {"s1": APPROVED, "s2": APPROVED, "s3": REJECTED}
    assert disk["reasons"] == {"s3": "not this one"} and disk["edited"] == {"s2": "two, edited\n"}
    assert disk["applied"] == [res.tx]
    # the steps left pending: s2 with its approval and edit; s3, rejected meanwhile, is not carried
    assert res.pending_plan == "p-2"
    assert [s.id for s in spool.load_plan(ws, "p-2").steps] == ["s2", "s4"]
    carried = _review_on_disk(ws, "p-2")
    assert carried["decisions"] == {"s2": APPROVED} and carried["edited"] == {"s2": "two, edited\n"}
    # and applying the rest writes what the person decided meanwhile
    res2 = apply_plan(ws, spool.load_plan(ws, "p-2"), review=spool.load_review(ws, "p-2"))
    assert res2.steps == ["s2"] and (ws.root / "f2.txt").read_bytes() == b"two, edited\n"


def test_a_step_decided_meanwhile_is_carried_by_what_the_apply_did(ws):
    """A step the apply carried out is not carried, even when rejected meanwhile (it was
    written; the rejection stays in the record); a step it did not carry out is carried
    unless it was rejected meanwhile, with the decision made meanwhile."""
    decide.approve(ws, "p", ["s1", "s2"])
    decide.reject(ws, "p", ["s4"])
    read = spool.load_review(ws, "p")

    def meanwhile() -> None:
        decide.reject(ws, "p", ["s1"], reason="too late")   # already being written
        decide.reset(ws, "p", ["s4"])                        # a rejection taken back

    res = apply_plan(ws, spool.load_plan(ws, "p"), review=read, on_event=_during_commit(meanwhile))
    assert res.steps == ["s1", "s2"] and (ws.root / "f1.txt").read_bytes() == b"1\n"
    assert [s.id for s in spool.load_plan(ws, "p-2").steps] == ["s3", "s4"]
    disk = _review_on_disk(ws, "p")
    assert disk["decisions"] == {"s1": REJECTED, "s2": APPROVED} and disk["reasons"] == {"s1": "too late"}
    assert disk["applied"] == [res.tx]
    assert not spool.review_file(ws, "p-2").exists()     # nothing decided on s3, s4 any more


def test_a_gate_plan_review_keeps_decisions_made_meanwhile(ws):
    """The record of an apply that carries nothing over (here a hook session's gate plan,
    whose other calls wait in it) is written under the review's lock from the saved review."""
    gate = Plan(id="claude-sess-A-gate", source="claude-hook", agent="claude-code", session_id="sess-A",
                steps=[WriteStep(id="g1", path="g1.txt", content="1"), WriteStep(id="g2", path="g2.txt", content="2")])
    spool.save_plan(ws, gate)
    decide.approve(ws, gate.id, ["g1"])
    read = spool.load_review(ws, gate.id)
    res = apply_plan(ws, spool.load_plan(ws, gate.id), review=read,
                     on_event=_during_commit(lambda: decide.reject(ws, gate.id, ["g2"], reason="no")))
    assert res.outcome == "committed" and res.pending_plan is None
    disk = _review_on_disk(ws, gate.id)
    assert disk["decisions"] == {"g1": APPROVED, "g2": REJECTED} and disk["reasons"] == {"g2": "no"}
    assert disk["applied"] == [res.tx]


def test_a_review_never_saved_is_recorded_as_the_caller_gave_it(ws):
    """An API caller's review that was never saved (nobody decided anything on disk) is the
    record, as it always was: its rejection keeps the step out of the rest."""
    from wopt.engine.model.review import Review
    rv = Review(plan_id="p")
    rv.set("s1", APPROVED)
    rv.set("s2", REJECTED, "no")
    res = apply_plan(ws, spool.load_plan(ws, "p"), review=rv)
    disk = _review_on_disk(ws, "p")
    assert disk["decisions"] == {"s1": APPROVED, "s2": REJECTED} and disk["applied"] == [res.tx]
    assert [s.id for s in spool.load_plan(ws, "p-2").steps] == ["s3", "s4"]
