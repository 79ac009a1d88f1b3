"""No queued step is ever lost: a partial apply leaves every step it did not carry out (and
the person did not reject) pending and visible in `wopt list`; the hook's next call joins
them; ingesting an id that exists is refused unless --replace."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from test_hook import WOPT, call, decision, hook

from wopt.engine.store import spool
from wopt.engine.model.plan import sha256
from wopt.engine.store.workspace import Workspace


def wopt(root: Path, *args: str, stdin: bytes | None = None):
    r = subprocess.run([*WOPT, *args, "--root", str(root)], input=stdin, capture_output=True)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def listed(root: Path) -> dict[str, list[str]]:
    rc, out, err = wopt(root, "list", "--json")
    assert rc == 0, err
    ws = Workspace(root)
    return {r["id"]: [s.path for s in spool.load_plan(ws, r["id"]).steps] for r in json.loads(out)}


@pytest.fixture
def root(tmp_path) -> Path:
    r = tmp_path / "proj"
    r.mkdir()
    (r / ".git").mkdir()
    (r / "app.py").write_text("x = 1\n")
    return r


def write(root: Path, name: str, content: str, cid: str) -> str:
    d, why = decision(hook(root, call(root, "Write", {"file_path": str(root / name), "content": content}, cid)))
    assert d == "deny" and "queued" in why
    return why


def test_steps_queued_after_the_approval_stay_pending_after_the_apply(root):
    write(root, "a1.txt", "1\n", "t1")
    write(root, "a2.txt", "2\n", "t2")
    rc, _, err = wopt(root, "approve", "claude-sess-A")
    assert rc == 0, err
    write(root, "a3.txt", "3\n", "t3")
    write(root, "a4.txt", "4\n", "t4")
    rc, out, err = wopt(root, "apply", "claude-sess-A", "--yes")
    assert rc == 0, err
    assert (root / "a1.txt").read_text() == "1\n" and (root / "a2.txt").read_text() == "2\n"
    assert not (root / "a3.txt").exists() and not (root / "a4.txt").exists()
    # the two steps the person has not seen yet are pending, visible, and the output says where
    pending = listed(root)
    assert pending == {"claude-sess-A-2": ["a3.txt", "a4.txt"]}
    assert "claude-sess-A-2" in out and "2 step" in out
    # the hook's next call joins them; an edit of a queued file applies to the queued content
    why = write(root, "a5.txt", "5\n", "t5")
    assert "claude-sess-A-2" in why and "step 3" in why
    d, why = decision(hook(root, call(root, "Edit", {"file_path": str(root / "a3.txt"), "old_string": "3",
                                                     "new_string": "33"}, "t6")))
    assert d == "deny" and "folded" in why and "claude-sess-A-2" in why
    assert listed(root) == {"claude-sess-A-2": ["a3.txt", "a4.txt", "a5.txt"]}
    rc, out, err = wopt(root, "apply", "claude-sess-A-2", "--yes")
    assert rc == 0, err
    assert [(root / f"a{i}.txt").read_text() for i in (3, 4, 5)] == ["33\n", "4\n", "5\n"]
    assert listed(root) == {}


def test_partial_apply_keeps_unapproved_and_drops_rejected(root):
    for i in range(1, 5):
        write(root, f"b{i}.txt", f"{i}\n", f"t{i}")
    ws = Workspace(root)
    ids = [s.id for s in spool.load_plan(ws, "claude-sess-A").steps]
    assert wopt(root, "approve", "claude-sess-A", ids[0])[0] == 0
    assert wopt(root, "reject", "claude-sess-A", ids[1], "--reason", "no")[0] == 0
    rc, out, err = wopt(root, "apply", "claude-sess-A", "--yes")
    assert rc == 0, err
    # the rejected step was decided: it stays in the applied plan's record, not in the queue
    assert listed(root) == {"claude-sess-A-2": ["b3.txt", "b4.txt"]}
    rc, out, err = wopt(root, "list", "--all", "--json")
    assert {r["id"] for r in json.loads(out)} == {"claude-sess-A", "claude-sess-A-2"}


def test_only_applies_some_and_the_rest_stays_pending(root):
    plan = {"id": "native", "title": "t", "steps": [
        {"kind": "write", "id": "s1", "path": "n1.txt", "content": "1"},
        {"kind": "write", "id": "s2", "path": "n2.txt", "content": "2", "depends_on": ["s1"]},
        {"kind": "edit", "id": "s3", "path": "app.py", "edits": [{"old_string": "1", "new_string": "2"}]}]}
    assert wopt(root, "ingest", "-", stdin=json.dumps(plan).encode())[0] == 0
    rc, out, err = wopt(root, "apply", "native", "--only", "s1", "--yes")
    assert rc == 0, err
    assert listed(root) == {"native-2": ["n2.txt", "app.py"]}
    rest = spool.load_plan(Workspace(root), "native-2")
    assert [s.id for s in rest.steps] == ["s2", "s3"] and rest.steps[0].depends_on == []
    assert rest.steps[1].precondition == sha256(b"x = 1\n")
    rc, out, err = wopt(root, "apply", "native-2", "--yes")
    assert rc == 0, err
    assert (root / "app.py").read_text() == "x = 2\n" and listed(root) == {}


def test_full_apply_leaves_no_remainder(root):
    write(root, "c1.txt", "1\n", "t1")
    rc, out, err = wopt(root, "apply", "claude-sess-A", "--yes", "--all")
    assert rc == 0, err
    assert listed(root) == {}
    assert not spool.plan_file(Workspace(root), "claude-sess-A-2").exists()


# ------------------------------------------------------------------ ingest of an existing id

def test_ingest_of_an_existing_id_is_refused_unless_replace(root):
    p1 = {"id": "dup", "steps": [{"kind": "write", "id": "s1", "path": "x.txt", "content": "one"}]}
    p2 = {"id": "dup", "steps": [{"kind": "write", "id": "s1", "path": "x.txt", "content": "two"}]}
    assert wopt(root, "ingest", "-", stdin=json.dumps(p1).encode())[0] == 0
    assert wopt(root, "approve", "dup")[0] == 0
    ws = Workspace(root)
    before = (spool.plan_file(ws, "dup").read_bytes(), spool.review_file(ws, "dup").read_bytes())
    rc, out, err = wopt(root, "ingest", "-", stdin=json.dumps(p2).encode())
    assert rc == 1 and "dup" in err and "--replace" in err and "Traceback" not in err
    assert (spool.plan_file(ws, "dup").read_bytes(), spool.review_file(ws, "dup").read_bytes()) == before
    rc, out, err = wopt(root, "ingest", "-", "--replace", stdin=json.dumps(p2).encode())
    assert rc == 0, err
    assert "replaced" in err and "dup" in err
    assert spool.load_plan(ws, "dup").steps[0].content == "two"
    # the old plan's decisions do not carry over to the new content
    assert not spool.load_review(ws, "dup").decisions


def test_ingest_never_silently_replaces_a_hook_session_plan(root):
    write(root, "h.txt", "h\n", "t1")
    ws = Workspace(root)
    before = spool.plan_file(ws, "claude-sess-A").read_bytes()
    p = {"id": "claude-sess-A", "steps": [{"kind": "write", "id": "s1", "path": "y.txt", "content": "y"}]}
    rc, out, err = wopt(root, "ingest", "-", stdin=json.dumps(p).encode())
    assert rc == 1 and "claude-sess-A" in err and "Claude Code" in err
    assert spool.plan_file(ws, "claude-sess-A").read_bytes() == before


def test_steps_queued_or_folded_while_the_apply_ran_stay_pending(root):
    from wopt.engine.tx.apply import apply_plan
    write(root, "d1.txt", "1\n", "t1")
    write(root, "d2.txt", "2\n", "t2")
    ws = Workspace(root)
    seen = spool.load_plan(ws, "claude-sess-A")          # what the apply read
    # the agent carries on while the person applies: a new file, and an edit folded into d2
    write(root, "d3.txt", "3\n", "t3")
    d, why = decision(hook(root, call(root, "Edit", {"file_path": str(root / "d2.txt"), "old_string": "2",
                                                     "new_string": "22"}, "t4")))
    assert "folded" in why
    res = apply_plan(ws, seen)                            # applies d1 and d2 as they were read
    assert res.outcome == "committed" and res.pending_plan == "claude-sess-A-2"
    assert (root / "d2.txt").read_text() == "2\n"
    rest = spool.load_plan(ws, "claude-sess-A-2")
    # d2's folded edit was not applied as it now stands, so it stays (stale: d2 changed under it)
    assert [s.path for s in rest.steps] == ["d2.txt", "d3.txt"]
    assert listed(root) == {"claude-sess-A-2": ["d2.txt", "d3.txt"]}
    rc, out, err = wopt(root, "check", "claude-sess-A-2")
    assert rc == 1 and "d2.txt" in (out + err)


def test_applying_some_calls_of_a_gate_plan_leaves_it_as_it_is(root):
    """The gate applies a call approved with the person's edits itself; the gate plan's other
    calls still wait in it, so it is neither marked applied nor copied."""
    from wopt.engine.tx.apply import apply_plan
    from wopt.engine.model.plan import Plan, WriteStep
    ws = Workspace(root)
    gate = Plan(id="claude-sess-A-gate", source="claude-hook", agent="claude-code", session_id="sess-A",
                steps=[WriteStep(id="g1", path="g1.txt", content="1"), WriteStep(id="g2", path="g2.txt", content="2")])
    spool.save_plan(ws, gate)
    one = spool.load_plan(ws, "claude-sess-A-gate")
    one.steps = [s for s in one.steps if s.id == "g1"]
    res = apply_plan(ws, one, ["g1"])
    assert res.outcome == "committed" and res.pending_plan is None
    assert listed(root) == {"claude-sess-A-gate": ["g1.txt", "g2.txt"]}
    assert not spool.plan_file(ws, "claude-sess-A-gate-2").exists()
