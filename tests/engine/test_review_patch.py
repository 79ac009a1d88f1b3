"""Review changes as engine patches: `decide.update` is the one locked read-modify-write of a
plan's review (decisions, reasons, hunks, edits, order) the CLI, the hook and the app share;
the patch it returns undoes the change, without touching what others decided meanwhile."""
from __future__ import annotations

import json

import pytest

from wopt.engine.store import decide, spool
from wopt.engine.model.plan import Plan, WriteStep
from wopt.engine.model.review import APPROVED, REJECTED, Review, ReviewPatch
from wopt.engine.store.workspace import Workspace


@pytest.fixture
def ws(tmp_path) -> Workspace:
    w = Workspace(tmp_path)
    spool.save_plan(w, Plan(id="p1", title="t",
                            steps=[WriteStep(id=f"s{i}", path=f"f{i}.txt", content="x") for i in (1, 2, 3)]))
    return w


def _on_disk(ws: Workspace) -> dict:
    return json.loads(spool.review_file(ws, "p1").read_bytes())


def test_update_saves_every_field_and_its_undo_puts_them_back(ws):
    decide.approve(ws, "p1", ["s1"])
    before = _on_disk(ws)
    patch = ReviewPatch(steps={"s1": {"decisions": REJECTED, "reasons": "too big"},
                               "s2": {"hunks": [0, 2], "edited": "new text\n"}},
                        order=["s3", "s1", "s2"])
    saved, undo = decide.update(ws, "p1", patch)
    disk = _on_disk(ws)
    assert disk["decisions"] == {"s1": "rejected"} and disk["reasons"] == {"s1": "too big"}
    assert disk["hunks"] == {"s2": [0, 2]} and disk["edited"] == {"s2": "new text\n"}
    assert disk["order"] == ["s3", "s1", "s2"] and saved.order == ["s3", "s1", "s2"]
    decide.update(ws, "p1", undo)
    after = _on_disk(ws)
    after.pop("updated", None), before.pop("updated", None)
    assert after == before


def test_undo_keeps_what_was_decided_meanwhile_elsewhere(ws):
    _, undo = decide.update(ws, "p1", ReviewPatch.decisions({"s1": APPROVED}))
    decide.reject(ws, "p1", ["s2"], reason="no")          # `wopt reject` from a shell meanwhile
    decide.update(ws, "p1", undo)
    rv = spool.load_review(ws, "p1")
    assert rv.decisions == {"s2": REJECTED} and rv.reasons == {"s2": "no"}


def test_patches_in_memory_invert_and_decisions_follow_review_set():
    rv = Review(plan_id="p1", decisions={"s1": REJECTED}, reasons={"s1": "old"}, hunks={"s1": [1]})
    undo = ReviewPatch.decisions({"s1": "pending", "s2": APPROVED}, {"s2": "ignored? no: kept"}).apply(rv)
    assert rv.decisions == {"s2": APPROVED} and rv.reasons == {"s2": "ignored? no: kept"}
    assert rv.hunks == {"s1": [1]}                         # a decision leaves hunks alone
    undo.apply(rv)
    assert rv.decisions == {"s1": REJECTED} and rv.reasons == {"s1": "old"}
    same = Review(plan_id="p1")
    same.set("s3", APPROVED, "")
    assert same.decisions == {"s3": APPROVED} and same.reasons == {}
    snap = ReviewPatch.snapshot(rv, ["s1"], order=True)
    rv.hunks["s1"].append(5)                              # a snapshot holds copies
    assert snap.steps["s1"]["hunks"] == [1] and snap.order == []
    with pytest.raises(ValueError):
        ReviewPatch(steps={"s1": {"colour": "red"}}).apply(rv)
