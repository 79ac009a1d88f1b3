"""Diffs as data: the line matcher, hunks and their line numbers, partial application of hunks,
side-by-side rows, word spans, binary summaries. Cross-checked against difflib and against
the engine's own unified-diff applier (textops.apply_patch)."""
import difflib
import random

from hypothesis import given, settings, strategies as st

from wopt.engine.analysis import diffs as D
from wopt.engine.model.plan import sha256
from wopt.engine.model.textops import apply_patch

LINES = st.lists(st.sampled_from(["a", "b", "c", "def f():", "    return 1", "", "x = 1", "}", "a\r"]),
                 max_size=40)


def _text(lines, trailing=True):
    s = "\n".join(lines)
    return (s + "\n" if trailing and lines else s).encode()


def _reconstruct(a, b):
    out = []
    for tag, i1, i2, j1, j2 in D.opcodes(a, b):
        if tag == "equal":
            assert a[i1:i2] == b[j1:j2]
            out += a[i1:i2]
        else:
            out += b[j1:j2]
    return out


@settings(max_examples=300, deadline=None)
@given(LINES, LINES)
def test_opcodes_rebuild_the_new_side_and_match_as_much_as_difflib(a, b):
    assert _reconstruct(a, b) == b
    ours = sum(n for _, _, n in D.matching_blocks(a, b))
    ref = sum(n for *_, n in difflib.SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks())
    # an anchored diff may give up a little against difflib's greedy matcher, never much
    assert ours >= ref * 0.7 - 1


@settings(max_examples=300, deadline=None)
@given(LINES, LINES, st.booleans(), st.booleans(), st.data())
def test_apply_hunks_all_none_and_any_subset(a, b, ta, tb, data):
    before, after = _text(a, ta), _text(b, tb)
    d = D.diff_bytes(before, after)
    n = len(d.hunks)
    assert D.apply_hunks(before, after, list(range(n))) == after
    assert D.apply_hunks(before, after, []) == before
    subset = data.draw(st.sets(st.integers(0, max(n - 1, 0))) if n else st.just(set()))
    got = D.apply_hunks(before, after, sorted(subset))
    # the same result as applying only those hunks, as unified text, with the engine's patcher
    if ta and tb and not any("\r" in x for x in a + b):
        def text(h):
            return (f"@@ -{h.old_start},{h.old_len} +{h.new_start},{h.new_len} @@\n"
                    + "".join(f"{ln.kind}{ln.text}\n" for ln in h.lines))
        kept = "".join(text(d.hunks[i]) for i in sorted(subset))
        expect = apply_patch(before.decode(), kept, path="f").encode() if kept else before
        assert got == expect


@settings(max_examples=200, deadline=None)
@given(LINES, LINES)
def test_hunk_line_numbers_point_at_the_right_lines(a, b):
    before, after = _text(a), _text(b)
    old, new = before.decode().split("\n"), after.decode().split("\n")
    for h in D.diff_bytes(before, after).hunks:
        olds = [ln for ln in h.lines if ln.kind in " -"]
        news = [ln for ln in h.lines if ln.kind in " +"]
        assert len(olds) == h.old_len and len(news) == h.new_len
        for ln in olds:
            assert old[ln.old_no - 1].rstrip("\r") == ln.text
        for ln in news:
            assert new[ln.new_no - 1].rstrip("\r") == ln.text
        if olds:
            assert olds[0].old_no == h.old_start
        if news:
            assert news[0].new_no == h.new_start


def test_large_file_with_scattered_changes_takes_the_fast_path_and_is_exact():
    rnd = random.Random(7)
    a = [f"line {i} {rnd.random()}" for i in range(20000)]
    b = list(a)
    changed = sorted(rnd.sample(range(20000), 40))
    for k in changed:
        b[k] = f"changed {k}"
    before, after = _text(a), _text(b)
    d = D.diff_bytes(before, after)
    removed = [ln.old_no - 1 for h in d.hunks for ln in h.lines if ln.kind == "-"]
    added = [ln.new_no - 1 for h in d.hunks for ln in h.lines if ln.kind == "+"]
    assert removed == changed and added == changed
    assert D.apply_hunks(before, after, list(range(len(d.hunks)))) == after
    assert D.stat(d) == (40, 40)


def test_moved_block_and_repetitive_text_still_give_valid_minimal_looking_diffs():
    a = [f"l{i}" for i in range(3000)]
    b = a[1500:] + a[:1500]
    assert _reconstruct(a, b) == b
    assert sum(n for *_, n in D.matching_blocks(a, b)) == 1500
    a = [str(i % 7) for i in range(3000)]
    b = [str(i % 5) for i in range(3000)]
    assert _reconstruct(a, b) == b     # no unique anchors at all: still valid, and fast


def test_no_newline_at_end_is_a_change_and_round_trips():
    d = D.diff_bytes(b"a\nb", b"a\nb\n")
    assert len(d.hunks) == 1
    kinds = [(ln.kind, ln.text) for ln in d.hunks[0].lines]
    assert ("-", "b") in kinds and ("+", "b") in kinds
    assert D.apply_hunks(b"a\nb", b"a\nb\n", [0]) == b"a\nb\n"
    assert D.apply_hunks(b"a\nb", b"a\nb\n", []) == b"a\nb"


def test_crlf_is_kept_byte_for_byte_and_shown_without_cr():
    before, after = b"one\r\ntwo\r\nthree\r\n", b"one\r\nTWO\r\nthree\r\n"
    d = D.diff_bytes(before, after)
    assert [ln.text for ln in d.hunks[0].lines] == ["one", "two", "TWO", "three"]
    assert D.apply_hunks(before, after, [0]) == after


def test_word_spans_mark_only_the_changed_words():
    d = D.diff_bytes(b"total = price * qty\n", b"total = price * quantity + tax\n")
    rem, add = d.hunks[0].lines
    assert rem.kind == "-" and add.kind == "+"
    assert [rem.text[s:e] for s, e in rem.spans] == ["qty"]
    assert [add.text[s:e] for s, e in add.spans] == ["quantity + tax"]


def test_side_by_side_pairs_replacements_and_pads_inserts():
    before = b"a\nb\nc\nd\n"
    after = b"a\nB\nc\nd\ne\nf\n"
    d = D.diff_bytes(before, after, context=1)
    rows = [r for hunk in D.side_by_side(d) for r in hunk]
    shown = [((l.kind, l.text) if l else None, (r.kind, r.text) if r else None) for l, r in rows]
    assert (("-", "b"), ("+", "B")) in shown
    assert (None, ("+", "e")) in shown and (None, ("+", "f")) in shown
    assert ((" ", "a"), (" ", "a")) in shown


def test_hunks_split_by_context_and_indices_are_stable():
    a = [f"{i}" for i in range(40)]
    b = list(a)
    b[5], b[30] = "five", "thirty"
    before, after = _text(a), _text(b)
    d = D.diff_bytes(before, after)
    assert [h.index for h in d.hunks] == [0, 1]
    assert (d.hunks[0].old_start, d.hunks[0].old_len) == (3, 7)
    only_second = D.apply_hunks(before, after, [1]).decode().split("\n")
    assert only_second[5] == "5" and only_second[30] == "thirty"


def test_binary_summary_instead_of_text():
    before, after = b"\x00\x01\x02", b"\x00\x01\x03\x04"
    d = D.diff_bytes(before, after, path="img.bin")
    assert d.binary and not d.hunks
    assert (d.old_size, d.new_size) == (3, 4)
    assert (d.old_hash, d.new_hash) == (sha256(before), sha256(after))
    assert "Binary files a/img.bin and b/img.bin differ" in D.unified(d)
    assert D.apply_hunks(before, after, [0]) == after
    assert D.apply_hunks(before, after, []) == before
    assert D.diff_bytes(b"caf\xe9\n", b"cafe\n").binary     # not UTF-8 counts as binary


def test_created_and_deleted_files():
    d = D.diff_bytes(None, b"x\ny\n", path="n.txt")
    assert d.created and d.hunks[0].old_start == 0 and d.hunks[0].new_len == 2
    assert D.unified(d).startswith("--- /dev/null\n+++ b/n.txt\n@@ -0,0 +1,2 @@\n+x\n+y\n")
    d = D.diff_bytes(b"x\n", None, path="n.txt")
    assert d.deleted and D.unified(d).splitlines()[:2] == ["--- a/n.txt", "+++ /dev/null"]
    assert D.diff_bytes(b"same\n", b"same\n").hunks == []
