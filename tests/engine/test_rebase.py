"""Stale steps: the three-way merge (bytes in, bytes out), the copies of the files agents saw,
a rebase recorded in the review (and honoured by the apply), and `wopt rebase`."""
from __future__ import annotations

import base64
import json
import os
import subprocess
import sys

import pytest

from wopt.engine.store import spool
from wopt.engine.analysis import analyze
from wopt.engine.analysis.rebase import (Conflict, NotStale, RebaseConflict, keep_base, load_base, merge3,
                                         rebase, stale_diff)
from wopt.engine.store.decide import record_rebase


def save(ws, plan_id, r):
    """Record the rebase; the saved review."""
    return record_rebase(ws, plan_id, r)[0]
from wopt.engine.tx.apply import apply_plan
from wopt.engine.model.errors import StaleError, StepError
from wopt.engine.store.ingest import ingest
from wopt.engine.model.plan import Edit, EditStep, Plan, WriteStep, sha256
from wopt.engine.model.review import APPROVED
from wopt.engine.store.workspace import Workspace


# ------------------------------------------------------------------ merge3

def test_clean_merge_takes_both_sides():
    base = b"a\nb\nc\nd\ne\n"
    ours = b"A\nb\nc\nd\ne\n"          # the file now: line 1 changed
    theirs = b"a\nb\nc\nd\nE\n"        # the proposal: line 5 changed
    m = merge3(base, ours, theirs)
    assert m.clean and m.content == b"A\nb\nc\nd\nE\n"


def test_conflict_names_lines_of_the_current_file():
    base = b"one\ntwo\nthree\nfour\nfive\n"
    ours = b"zero\none\nTWO\nthree\nfour\nfive\n"      # a line added above, two changed
    theirs = b"one\n2\nthree\nfour\nfive\n"
    m = merge3(base, ours, theirs)
    assert m.content is None
    assert m.conflicts == [Conflict(3, 3)]
    assert m.conflicts[0].describe() == "line 3"


def test_crlf_kept_byte_for_byte():
    base = b"a\r\nb\r\nc\r\nd\r\n"
    ours = b"a\r\nB\r\nc\r\nd\r\n"
    theirs = b"a\r\nb\r\nc\r\nd\r\ne\r\n"
    m = merge3(base, ours, theirs)
    assert m.content == b"a\r\nB\r\nc\r\nd\r\ne\r\n"


def test_line_ending_change_is_a_change():
    base = b"a\nb\nc\nd\n"
    ours = b"a\nb\nc\nd\n"
    theirs = b"a\r\nb\nc\nd\n"
    assert merge3(base, b"x\nb\nc\nd\n", theirs).conflicts == [Conflict(1, 1)]
    assert merge3(base, ours, theirs).content == theirs


def test_no_final_newline_on_either_side():
    base = b"a\nb\nc\nd"
    ours = b"A\nb\nc\nd"                 # still no final newline
    theirs = b"a\nb\nc\nd\n"             # the proposal adds one
    assert merge3(base, ours, theirs).content == b"A\nb\nc\nd\n"
    # the proposal keeps none while the file now changed the last line: kept as the file has it
    assert merge3(base, b"a\nb\nc\nD", b"a\nB\nc\nd").content == b"a\nB\nc\nD"


def test_both_sides_made_the_same_change():
    base = b"a\nb\nc\n"
    same = b"a\nbee\nc\n"
    assert merge3(base, same, same).content == same
    # the same change between two other ones, each on one side
    base = b"a\n1\nb\n2\nc\n"
    ours = b"x\n1\nbee\n2\nc\n"
    theirs = b"a\n1\nbee\n2\nz\n"
    assert merge3(base, ours, theirs).content == b"x\n1\nbee\n2\nz\n"


def test_deletions():
    base = b"1\n2\n3\n4\n5\n6\n"
    # the file now deleted line 2, the proposal line 5
    assert merge3(base, b"1\n3\n4\n5\n6\n", b"1\n2\n3\n4\n6\n").content == b"1\n3\n4\n6\n"
    # the file now deleted line 3, which the proposal changed: a conflict after line 2
    m = merge3(base, b"1\n2\n4\n5\n6\n", b"1\n2\nthree\n4\n5\n6\n")
    assert m.content is None and m.conflicts == [Conflict(3, 2)]
    assert m.conflicts[0].describe() == "after line 2"


def test_not_utf8_bytes_survive():
    base = b"caf\xe9\nb\nc\nd\n"           # latin-1
    ours = b"caf\xe9\nb\nc\nd\n\xff\xfe\n"
    theirs = b"CAF\xc9\nb\nc\nd\n"
    assert merge3(base, ours, theirs).content == b"CAF\xc9\nb\nc\nd\n\xff\xfe\n"


# ------------------------------------------------------------------ a stale step in a workspace

README = b"# shop\r\n\r\nA tiny shop.\r\n\r\n## Usage\r\n\r\nRun it.\r\n"


def _stale_ws(tmp_path, *, keep: bool = True, now: bytes | None = None):
    """A README the agent read (CRLF), a plan editing its end, and then a change on disk."""
    ws = Workspace(tmp_path)
    (tmp_path / "README.md").write_bytes(README)
    plan = Plan(id="p", title="docs", steps=[
        EditStep(id="usage", path="README.md", precondition=sha256(README),
                 edits=[Edit("Run it.\r\n", "Run it.\r\nPay with any provider.\r\n")]),
        WriteStep(id="other", path="other.txt", content="x\n"),
    ])
    if keep:
        ingest(ws, plan)            # keeps the copy the agent saw
    else:
        spool.save_plan(ws, plan)
    (tmp_path / "README.md").write_bytes(now if now is not None else README.replace(b"tiny", b"small"))
    return ws, plan


def test_ingest_keeps_the_file_the_agent_saw(tmp_path):
    ws, plan = _stale_ws(tmp_path)
    assert load_base(ws, sha256(README)) == README
    # a damaged copy is not used
    (ws.spool / "bases" / sha256(README)[7:]).write_bytes(b"tampered")
    assert load_base(ws, sha256(README)) is None


def test_stale_step_diffs_against_the_file_seen_and_now(tmp_path):
    ws, plan = _stale_ws(tmp_path)
    d, what = stale_diff(ws, plan, "usage", against="base")
    assert "agent saw" in what
    added = [ln.text for h in d.hunks for ln in h.lines if ln.kind == "+"]
    removed = [ln.text for h in d.hunks for ln in h.lines if ln.kind == "-"]
    assert added == ["Pay with any provider."] and removed == []
    d, what = stale_diff(ws, plan, "usage", against="now")
    added = [ln.text for h in d.hunks for ln in h.lines if ln.kind == "+"]
    removed = [ln.text for h in d.hunks for ln in h.lines if ln.kind == "-"]
    # against the file now, the proposal would undo today's change
    assert "A tiny shop." in added and "A small shop." in removed


def test_rebase_records_an_edit_and_the_apply_writes_the_merge(tmp_path):
    ws, plan = _stale_ws(tmp_path)
    rv = spool.load_review(ws, "p")
    rv.set("usage", APPROVED)
    spool.save_review(ws, rv)
    r = rebase(ws, plan, "usage", rv)
    merged = README.replace(b"tiny", b"small").replace(b"Run it.\r\n", b"Run it.\r\nPay with any provider.\r\n")
    assert r.content == merged
    rv = save(ws, "p", r)
    assert r.was_approved and rv.decision("usage") == "pending"   # the old approval is not carried over
    assert rv.edited["usage"].encode() == merged and rv.rebased["usage"] == sha256(README.replace(b"tiny", b"small"))
    model = analyze(ws, plan, rv, cache=False)
    assert model.steps["usage"].stale is None
    rv.set("usage", APPROVED)
    apply_plan(ws, plan, review=rv)
    assert (tmp_path / "README.md").read_bytes() == merged


def test_a_rebase_is_checked_against_the_file_it_merged_onto(tmp_path):
    ws, plan = _stale_ws(tmp_path)
    rv = save(ws, "p", rebase(ws, plan, "usage", spool.load_review(ws, "p")))
    (tmp_path / "README.md").write_bytes(README.replace(b"tiny", b"big"))   # changed again
    assert analyze(ws, plan, rv, cache=False).steps["usage"].stale
    rv.set("usage", APPROVED)
    with pytest.raises(StaleError):
        apply_plan(ws, plan, review=rv)
    assert (tmp_path / "README.md").read_bytes() == README.replace(b"tiny", b"big")
    # and it rebases again, from the file it was merged onto
    r = rebase(ws, plan, "usage", rv)
    assert b"A big shop." in r.content and r.content.count(b"Pay with any provider.") == 1


def test_conflict_changes_nothing(tmp_path):
    ws, plan = _stale_ws(tmp_path, now=README.replace(b"Run it.", b"Run it now."))
    before = spool.review_file(ws, "p").read_bytes() if spool.review_file(ws, "p").exists() else None
    with pytest.raises(RebaseConflict) as e:
        rebase(ws, plan, "usage", spool.load_review(ws, "p"))
    assert e.value.conflicts == [Conflict(7, 7)]
    assert "line 7 of the current file" in str(e.value) and "README.md" in str(e.value)
    after = spool.review_file(ws, "p").read_bytes() if spool.review_file(ws, "p").exists() else None
    assert before == after


def test_no_copy_kept_is_said(tmp_path):
    ws, plan = _stale_ws(tmp_path, keep=False)
    with pytest.raises(StepError, match="did not keep the file the agent saw"):
        rebase(ws, plan, "usage")
    with pytest.raises(NotStale):
        rebase(ws, plan, "other")


def test_not_utf8_rebase_is_kept_byte_for_byte(tmp_path):
    ws = Workspace(tmp_path)
    seen = b"caf\xe9\r\nb\r\nc\r\nd"
    (tmp_path / "menu.txt").write_bytes(seen)
    plan = Plan(id="p", steps=[WriteStep(id="w", path="menu.txt", precondition=sha256(seen),
                                         content_base64=base64.b64encode(b"caf\xe9\r\nb\r\nc\r\nD").decode())])
    ingest(ws, plan)
    (tmp_path / "menu.txt").write_bytes(b"CAF\xc9\r\nb\r\nc\r\nd")
    rv = save(ws, "p", rebase(ws, plan, "w"))
    assert rv.edited_raw["w"] == b"CAF\xc9\r\nb\r\nc\r\nD" and "w" not in rv.edited
    rv = spool.load_review(ws, "p")          # through the JSON file
    rv.set("w", APPROVED)
    apply_plan(ws, plan, review=rv)
    assert (tmp_path / "menu.txt").read_bytes() == b"CAF\xc9\r\nb\r\nc\r\nD"


def test_keep_base_is_content_addressed(tmp_path):
    ws = Workspace(tmp_path)
    keep_base(ws, b"hello\n")
    keep_base(ws, b"hello\n")
    assert os.listdir(ws.spool / "bases") == [sha256(b"hello\n")[7:]]


# ------------------------------------------------------------------ wopt rebase

def _wopt(ws, *args):
    return subprocess.run([sys.executable, "-m", "wopt.engine.cli.main", "--root", str(ws.root), *args],
                          capture_output=True, text=True, timeout=120)


def test_cli_rebase_exit_codes(tmp_path):
    ws, plan = _stale_ws(tmp_path)
    p = _wopt(ws, "rebase", "--help")
    assert p.returncode == 0 and "Exit codes" in p.stdout
    p = _wopt(ws, "rebase", "p", "nope")
    assert p.returncode == 2 and "no step 'nope'" in p.stderr
    p = _wopt(ws, "rebase", "p", "other")
    assert p.returncode == 0 and "not stale" in p.stdout
    p = _wopt(ws, "rebase", "p", "usage", "--json")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["rebased"] is True and out["step"] == "usage" and out["conflicts"] == []
    p = _wopt(ws, "check", "p")
    assert "stale" not in p.stdout.lower(), p.stdout


def test_cli_rebase_conflict_exits_1_and_names_lines(tmp_path):
    ws, plan = _stale_ws(tmp_path, now=README.replace(b"Run it.", b"Run it now."))
    p = _wopt(ws, "rebase", "p", "usage")
    assert p.returncode == 1
    assert "line 7" in p.stderr and "Traceback" not in p.stderr
    p = _wopt(ws, "rebase", "p", "usage", "--json")
    assert p.returncode == 1
    out = json.loads(p.stdout)
    assert out["rebased"] is False and out["conflicts"] == [{"start": 7, "end": 7, "where": "line 7"}]


def test_claude_hook_keeps_the_file_the_agent_saw(tmp_path):
    from wopt.engine.agents.hook import handle
    root = tmp_path / "proj"
    root.mkdir()
    (root / ".git").mkdir()
    seen = b"def f():\n    return 1\n\n\ndef g():\n    return 2\n"
    (root / "app.py").write_bytes(seen)
    payload = {"session_id": "s1", "transcript_path": "/dev/null", "cwd": str(root),
               "permission_mode": "default", "hook_event_name": "PreToolUse", "tool_name": "Edit",
               "tool_input": {"file_path": str(root / "app.py"), "old_string": "return 2",
                              "new_string": "return 20"}, "tool_use_id": "toolu_1"}
    out = handle(json.dumps(payload).encode(), root=str(root))
    assert out["hookSpecificOutput"]["permissionDecision"] == "deny"
    ws = Workspace(root)
    assert load_base(ws, sha256(seen)) == seen
    # the person changes f meanwhile: the queued edit of g rebases onto it
    (root / "app.py").write_bytes(seen.replace(b"return 1", b"return 10"))
    plan = spool.load_plan(ws, "claude-s1")
    [step] = plan.steps
    r = rebase(ws, plan, step.id, spool.load_review(ws, "claude-s1"))
    assert r.content == b"def f():\n    return 10\n\n\ndef g():\n    return 20\n"
