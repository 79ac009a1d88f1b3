"""Exact edits (Claude Code's rules) and hunks located by context, byte for byte."""
import difflib

import pytest
from hypothesis import given, strategies as st

from wopt.engine.model.errors import StepError
from wopt.engine.model.textops import apply_edits, apply_patch, parse_hunks, split_lines


def test_edit_must_match_once():
    assert apply_edits("a b a", [("b", "c", False)]) == "a c a"
    with pytest.raises(StepError, match="occurs 2 times"):
        apply_edits("a b a", [("a", "x", False)], path="f.py", step="s1")
    with pytest.raises(StepError, match=r"f.py \(step s1\): edit 1: old_string 'zz' is not in the file"):
        apply_edits("a b a", [("zz", "x", False)], path="f.py", step="s1")


def test_replace_all_and_order():
    # the second edit sees the result of the first
    assert apply_edits("qty qty", [("qty", "quantity", True), ("quantity quantity", "q", False)]) == "q"


def test_split_lines_only_on_lf():
    assert split_lines("a\r\nb\rc\nd") == ["a\r\n", "b\rc\n", "d"]
    assert split_lines("") == []


def test_patch_keeps_crlf_and_handles_missing_final_newline():
    assert apply_patch("a\r\nb\r\n", "@@ -1,2 +1,2 @@\n a\r\n-b\r\n+B\r\n") == "a\r\nB\r\n"
    # an LF patch against a CRLF file still applies and keeps the file's endings
    assert apply_patch("a\r\nb\r\n", "@@ -1,2 +1,2 @@\n a\n-b\n+B\n") == "a\r\nB\r\n"
    diff = "@@ -1,2 +1,2 @@\n x\n-y\n\\ No newline at end of file\n+z\n\\ No newline at end of file\n"
    assert apply_patch("x\ny", diff) == "x\nz"


def test_patch_located_by_context_despite_wrong_line_numbers():
    text = "".join(f"line {i}\n" for i in range(100))
    diff = "@@ -5,3 +5,3 @@\n line 49\n-line 50\n+LINE 50\n line 51\n"
    assert apply_patch(text, diff) == text.replace("line 50\n", "LINE 50\n")


def test_patch_hunk_without_numbers():
    assert apply_patch("a\nb\nc\n", "@@\n b\n-c\n+C\n") == "a\nb\nC\n"


def test_patch_that_does_not_apply_names_the_hunk():
    with pytest.raises(StepError, match=r"hunk 1 .* does not apply: its context 'nope'"):
        apply_patch("a\n", "@@ -1 +1 @@\n-nope\n+x\n", path="f.txt")


def test_parse_skips_file_headers():
    hunks = parse_hunks("--- a/f\n+++ b/f\n@@ -1,1 +1,2 @@\n a\n+b\n")
    assert len(hunks) == 1 and hunks[0].old == ["a\n"] and hunks[0].new == ["a\n", "b\n"]


lines = st.lists(st.sampled_from(["a\n", "b\n", "c\r\n", "d\n", "\n", "e f\n"]), max_size=30)


@given(lines, lines)
def test_difflib_unified_diff_round_trips(old, new):
    old_t, new_t = "".join(old), "".join(new)
    diff = "".join(difflib.unified_diff(old, new, "a", "b", n=2))
    if not diff:
        assert old_t == new_t
        return
    assert apply_patch(old_t, diff) == new_t
