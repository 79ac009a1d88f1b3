"""The spool: plans stored atomically, found by id, prefix or path; bad files reported."""
import json

import pytest

from wopt.engine.store import spool
from wopt.engine.model.errors import NotFound, PlanError
from wopt.engine.model.plan import Plan, WriteStep
from wopt.engine.model.review import APPROVED, Review
from wopt.engine.store.workspace import Workspace


def test_save_load_list_and_gitignore(tmp_path):
    ws = Workspace(tmp_path)
    p = Plan(title="t", steps=[WriteStep(id="s1", path="a.txt", content="x")])
    f = spool.save_plan(ws, p)
    assert f.parent == tmp_path / ".wopt" / "plans" and p.id and p.created
    assert (tmp_path / ".wopt" / ".gitignore").read_text().strip().endswith("*")
    assert spool.load_plan(ws, p.id).steps[0].content == "x"
    assert spool.load_plan(ws, p.id[:12]).id == p.id          # unique prefix
    assert spool.load_plan(ws, str(f)).id == p.id              # path
    assert [e.id for e in spool.list_plans(ws)] == [p.id]
    assert not list((tmp_path / ".wopt" / "plans").glob(".*.tmp"))


def test_unreadable_plan_is_listed_with_its_error(tmp_path):
    ws = Workspace(tmp_path)
    spool.ensure(ws)
    (tmp_path / ".wopt" / "plans" / "broken.json").write_text('{"steps": [{"kind": "write"}]}')
    [entry] = spool.list_plans(ws)
    assert entry.plan is None and entry.error.startswith(".wopt/plans/broken.json: steps[0]")
    with pytest.raises(PlanError):
        spool.load_plan(ws, "broken")


def test_missing_plan_says_what_to_do(tmp_path):
    with pytest.raises(NotFound, match="wopt list"):
        spool.load_plan(Workspace(tmp_path), "nope")


def test_review_round_trip(tmp_path):
    ws = Workspace(tmp_path)
    r = spool.load_review(ws, "p1")
    assert r.decisions == {}
    r.set("s1", APPROVED)
    r.hunks["s2"] = [0, 2]
    spool.save_review(ws, r)
    again = spool.load_review(ws, "p1")
    assert again.decision("s1") == APPROVED and again.hunks == {"s2": [0, 2]} and again.updated
