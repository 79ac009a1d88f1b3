"""The diff pane's view options in the engine: whitespace-insensitive comparison and the context
size are a view of a step's diff (`view_diff`); the step's hunks, and what applying some of
them writes, stay those of the plain diff; `hunk_owners` maps a view's lines to them."""
from __future__ import annotations

from wopt.engine.analysis.diffs import apply_hunks, diff_bytes, hunk_owners, unified, view_diff


def numbered(n: int = 40) -> list[str]:
    return [f"line {i}\n" for i in range(1, n + 1)]


def pair() -> tuple[bytes, bytes]:
    """Line 3 changed, line 20 re-indented with a trailing tab and CRLF, line 35 changed."""
    a = numbered()
    b = list(a)
    b[2] = "line 3 CHANGED\n"
    b[19] = "    line 20\t\r\n"
    b[34] = "line 35 CHANGED\n"
    return "".join(a).encode(), "".join(b).encode()


def heads(d) -> list[tuple[int, int, int, int]]:
    return [(h.old_start, h.old_len, h.new_start, h.new_len) for h in d.hunks]


def test_defaults_are_the_diff_itself():
    before, after = pair()
    d = diff_bytes(before, after, path="n.txt")
    assert view_diff(d) is d
    assert hunk_owners(d, d) == [[h.index] * len(h.lines) for h in d.hunks]
    assert d.sources == (before, after)


def test_ignoring_whitespace_drops_a_hunk_of_whitespace_alone():
    before, after = pair()
    d = diff_bytes(before, after, path="n.txt")
    assert len(d.hunks) == 3
    v = view_diff(d, ignore_ws=True)
    assert heads(v) == [(1, 6, 1, 6), (32, 7, 32, 7)]
    assert hunk_owners(d, v) == [[0] * 7, [2] * 8]
    # the plain diff, and the bytes any choice of its hunks writes, are unchanged
    assert len(d.hunks) == 3
    assert apply_hunks(before, after, [0, 1, 2]) == after
    assert apply_hunks(before, after, [1]) == before.replace(b"line 20\n", b"    line 20\t\r\n")


def test_a_whitespace_only_line_next_to_a_real_change_is_context_with_its_new_text():
    before = b"a = 1\nb = 2\nc = 3\n"
    after = b"a  =  1\nb = 22\nc = 3\n"
    d = diff_bytes(before, after, path="x.py")
    v = view_diff(d, ignore_ws=True)
    lines = [(ln.kind, ln.text) for h in v.hunks for ln in h.lines]
    assert lines == [(" ", "a  =  1"), ("-", "b = 2"), ("+", "b = 22"), (" ", "c = 3")]
    # spans mark the words that changed, never whitespace alone
    minus = next(ln for h in v.hunks for ln in h.lines if ln.kind == "-")
    assert [minus.text[a:b] for a, b in minus.spans] == ["2"]


def test_whitespace_only_file_has_no_hunks_in_the_view():
    before = b"def f():\n    return 1\n"
    after = b"def f():\n\treturn 1  \n"
    d = diff_bytes(before, after, path="f.py")
    assert d.hunks and view_diff(d, ignore_ws=True).hunks == []


def test_context_sizes_and_owners():
    before, after = pair()
    d = diff_bytes(before, after, path="n.txt")
    ten = view_diff(d, context=10)
    assert heads(ten) == [(1, 40, 1, 40)]         # 10 lines of context join the three changes
    own = hunk_owners(d, ten)[0]
    changed = [(ln.kind, ln.old_no or ln.new_no, o) for ln, o in zip(ten.hunks[0].lines, own) if ln.kind != " "]
    assert changed == [("-", 3, 0), ("+", 3, 0), ("-", 20, 1), ("+", 20, 1), ("-", 35, 2), ("+", 35, 2)]
    assert own.count(-1) > 0                      # context no hunk of the step shows
    whole = view_diff(d, context=None)
    assert heads(whole) == [(1, 40, 1, 40)] and len(whole.hunks[0].lines) == 43
    zero = view_diff(d, context=0)
    assert heads(zero) == [(3, 1, 3, 1), (20, 1, 20, 1), (35, 1, 35, 1)]
    assert hunk_owners(d, zero) == [[0, 0], [1, 1], [2, 2]]
    # a view's unified text is still a valid diff of the same two files
    assert "@@ -3,1 +3,1 @@" in unified(zero)


def test_binary_and_unchanged_files_have_one_view():
    d = diff_bytes(b"\x00\x01", b"\x00\x02", path="b.bin")
    assert view_diff(d, context=None, ignore_ws=True) is d
    same = diff_bytes(b"x\n", b"x\n", path="s.txt")
    assert view_diff(same, context=None).hunks == []
