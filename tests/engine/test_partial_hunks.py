"""Line-level selection inside a hunk (a partial hunk): the bytes written are the original with
only the selected changes - a removed line left off stays, an added line left off is not
written - byte for byte (CRLF, no final newline), through the review file and the apply."""
import json

import msgspec
import pytest
from hypothesis import given, settings, strategies as st

from wopt.engine.store import spool
from wopt.engine.analysis import analyze
from wopt.engine.analysis import diffs as D
from wopt.engine.tx.apply import apply_plan
from wopt.engine.model.errors import StepError
from wopt.engine.model.plan import decode_plan, sha256
from wopt.engine.model.review import APPROVED, HunkPick, Review
from wopt.engine.store.workspace import Workspace


def _kinds(before: bytes, after: bytes, hunk: int = 0) -> list[str]:
    return [f"{ln.kind}{ln.text}" for ln in D.diff_bytes(before, after).hunks[hunk].lines]


def test_a_removed_line_left_off_stays_and_an_added_line_left_off_is_not_written():
    before, after = b"a\nb\nc\n", b"a\nB\nc\nd\n"
    assert _kinds(before, after) == [" a", "-b", "+B", " c", "+d"]
    # keep the removal of b and the new d, but not B
    assert D.apply_hunks(before, after, [0], {0: [2]}) == b"a\nc\nd\n"
    # leave the removal of b off (b stays), write B after it
    assert D.apply_hunks(before, after, [0], {0: [1]}) == b"a\nb\nB\nc\nd\n"
    # every change left off: the original
    assert D.apply_hunks(before, after, [0], {0: [1, 2, 4]}) == before
    # context indices are ignored; no lines off is the whole hunk
    assert D.apply_hunks(before, after, [0], {0: [0, 3]}) == after
    assert D.apply_hunks(before, after, [0], {}) == after


def test_partial_hunks_keep_crlf_bytes():
    before = b"one\r\ntwo\r\nthree\r\n"
    after = b"one\r\nTWO\r\nthree\r\nfour\r\n"
    assert _kinds(before, after) == [" one", "-two", "+TWO", " three", "+four"]
    assert D.apply_hunks(before, after, [0], {0: [1, 2]}) == b"one\r\ntwo\r\nthree\r\nfour\r\n"
    assert D.apply_hunks(before, after, [0], {0: [4]}) == b"one\r\nTWO\r\nthree\r\n"


def test_partial_hunks_without_a_final_newline():
    before, after = b"a\nb\nc", b"a\nb\nC"
    assert _kinds(before, after) == [" a", " b", "-c", "+C"]
    assert D.apply_hunks(before, after, [0], {0: [3]}) == b"a\nb\n"      # c removed, C not written
    assert D.apply_hunks(before, after, [0], {0: [2, 3]}) == before
    # adding lines after a kept last line without a newline would join two lines: refused
    before, after = b"a\nb", b"a\nb\nc\n"
    assert _kinds(before, after) == [" a", "-b", "+b", "+c"]
    with pytest.raises(StepError, match="without a newline"):
        D.apply_hunks(before, after, [0], {0: [1]})
    assert D.apply_hunks(before, after, [0], {0: [3]}) == b"a\nb\n"      # only the newline added
    with pytest.raises(StepError, match="without a newline"):
        D.apply_hunks(before, after, [0], {0: [1, 2]})
    assert D.apply_hunks(before, after, [0], {0: [1, 2, 3]}) == before


def test_lines_off_of_a_hunk_left_off_do_not_matter():
    before = b"".join(b"%d\n" % i for i in range(30))
    after = before.replace(b"2\n", b"two\n", 1).replace(b"25\n", b"twenty-five\n")
    d = D.diff_bytes(before, after)
    assert len(d.hunks) == 2
    got = D.apply_hunks(before, after, [1], {0: [4], 1: [3]})
    assert got == before.replace(b"25\n", b"25\ntwenty-five\n")


LINES = st.lists(st.sampled_from(["a", "b", "c", "x = 1", "", "}", "a\r"]), max_size=30)


@settings(max_examples=200, deadline=None)
@given(LINES, LINES, st.data())
def test_any_line_choice_is_the_original_plus_exactly_the_chosen_changes(a, b, data):
    before = ("\n".join(a) + "\n").encode() if a else b""
    after = ("\n".join(b) + "\n").encode() if b else b""
    d = D.diff_bytes(before, after)
    off = {}
    for h in d.hunks:
        changed = [k for k, ln in enumerate(h.lines) if ln.kind != " "]
        off[h.index] = sorted(data.draw(st.sets(st.sampled_from(changed))) if changed else set())
    got = D.apply_hunks(before, after, [h.index for h in d.hunks], off)
    # the expected text, line by line: context, kept removals, chosen additions
    expect: list[str] = []
    old = before.decode().splitlines(keepends=True)
    pos = 0
    for h in d.hunks:
        start = (h.old_start - 1) if h.old_len else h.old_start
        expect += old[pos:start]
        for k, ln in enumerate(h.lines):
            text = ln.text + ("\r\n" if ln.eol == "\r\n" else "\n")
            if ln.kind == " " or (ln.kind == "-" and k in off[h.index]) or (ln.kind == "+" and k not in off[h.index]):
                expect.append(text)
        pos = start + h.old_len
    expect += old[pos:]
    assert got == "".join(expect).encode()
    all_off = {h.index: [k for k, ln in enumerate(h.lines) if ln.kind != " "] for h in d.hunks}
    assert D.apply_hunks(before, after, [h.index for h in d.hunks], all_off) == before


# ----------------------------------------------------------------------------- the review file

def test_review_files_without_lines_off_still_load_and_lines_off_round_trip():
    old = b'{"plan_id":"p","decisions":{"s":"approved"},"hunks":{"s":[0]}}'
    rv = msgspec.json.decode(old, type=Review)
    assert rv.lines_off == {} and rv.picks() == {"s": [0]}
    rv.set_lines_off("t", 1, [5, 3], every=[0, 1])
    assert rv.hunks["t"] == [0, 1] and rv.lines_off == {"t": {1: [3, 5]}}
    back = msgspec.json.decode(msgspec.json.encode(rv), type=Review)
    assert back.lines_off == {"t": {1: [3, 5]}}
    pick = back.picks()["t"]
    assert isinstance(pick, HunkPick) and list(pick) == [0, 1] and pick.lines_off == {1: [3, 5]}
    # turning every line back on forgets the selection (the step is whole again)
    back.set_lines_off("t", 1, [], every=[0, 1])
    assert "t" not in back.lines_off and "t" not in back.hunks


def _ws(tmp_path, data: bytes) -> tuple[Workspace, object]:
    (tmp_path / "f.txt").write_bytes(data)
    ws = Workspace(tmp_path)
    plan = decode_plan(json.dumps({"version": 1, "id": "p1", "steps": [
        {"kind": "write", "id": "w", "path": "f.txt", "precondition": sha256(data),
         "content": "one\r\nTWO\r\nthree\r\nfour"}]}))
    return ws, plan


def test_apply_writes_exactly_the_chosen_lines_from_the_saved_review(tmp_path):
    before = b"one\r\ntwo\r\nthree"
    ws, plan = _ws(tmp_path, before)
    spool.save_plan(ws, plan)
    model = analyze(ws, plan)
    h = model.diff("w").hunks[0]
    assert [f"{ln.kind}{ln.text}" for ln in h.lines] == [" one", "-two", "-three", "+TWO", "+three", "+four"]
    rv = Review(plan_id="p1")
    rv.set(plan.steps[0].id, APPROVED)
    # keep `two` (its removal off), write TWO, keep the rest of the change
    rv.set_lines_off("w", 0, [1], every=[0])
    spool.save_review(ws, rv)
    # the review's diff still shows the whole proposal (the selection is drawn over it)
    again = analyze(ws, plan, spool.load_review(ws, "p1"))
    assert [f"{ln.kind}{ln.text}" for ln in again.diff("w").hunks[0].lines] == \
        [f"{ln.kind}{ln.text}" for ln in h.lines]
    tx = apply_plan(ws, plan, review=spool.load_review(ws, "p1"))
    assert tx.outcome == "committed"
    assert (tmp_path / "f.txt").read_bytes() == b"one\r\ntwo\r\nTWO\r\nthree\r\nfour"


def test_a_line_choice_that_would_join_lines_refuses_the_apply_naming_the_step(tmp_path):
    before = b"one\r\ntwo\r\nthree"
    ws, plan = _ws(tmp_path, before)
    spool.save_plan(ws, plan)
    rv = Review(plan_id="p1")
    rv.set("w", APPROVED)
    rv.set_lines_off("w", 0, [2], every=[0])        # keep `three` (no newline), add after it
    with pytest.raises(StepError, match=r"f.txt \(step w\).*without a newline"):
        apply_plan(ws, plan, review=rv)
    assert (tmp_path / "f.txt").read_bytes() == before
