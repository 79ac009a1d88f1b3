"""Aider conformance: each case is an Aider reply and a tree, and the bytes Aider writes for
them (aider/coders/editblock_coder.py and udiff_coder.py, and the cases of
tests/basic/test_editblock.py and test_udiff.py). Aider reads a file with universal newlines
and writes it with its default `--line-endings platform`, so on a POSIX system the file it
writes has LF line endings. wopt ingests the reply and applies it with `wopt apply --yes` in
real processes."""
from __future__ import annotations

import pytest

from conformance import apply, refused


def block(path: str | None, search: str, replace: str, *, fence: str = "```") -> str:
    head = f"{path}\n" if path else ""
    return f"{head}{fence}\n<<<<<<< SEARCH\n{search}=======\n{replace}>>>>>>> REPLACE\n```\n"


def sr(*blocks: str) -> bytes:
    return ("Here are the changes:\n\n" + "\n".join(blocks)).encode()


CASES = [
    # the case: matching is line-anchored, a SEARCH line never matches inside a line
    ("line-anchored match", {"f.txt": b"xline1\nline1\n"}, sr(block("f.txt", "line1\n", "new_line\n")),
     {"f.txt": b"xline1\nnew_line\n"}),
    # test_replace_multiple_matches: only the first occurrence
    ("first occurrence only", {"f.txt": b"line1\nline2\nline1\nline3\n"},
     sr(block("f.txt", "line1\n", "new_line\n")), {"f.txt": b"new_line\nline2\nline1\nline3\n"}),
    # test_replace_part_with_missing_leading_whitespace
    ("missing leading whitespace", {"f.txt": b"    line1\n    line2\n    line3\n"},
     sr(block("f.txt", "line1\nline2\n", "new_line1\nnew_line2\n")),
     {"f.txt": b"    new_line1\n    new_line2\n    line3\n"}),
    # test_replace_part_with_missing_varied_leading_whitespace
    ("varied missing leading whitespace", {"f.txt": b"\n    line1\n    line2\n        line3\n    line4\n"},
     sr(block("f.txt", "line2\n    line3\n", "new_line2\n    new_line3\n")),
     {"f.txt": b"\n    line1\n    new_line2\n        new_line3\n    line4\n"}),
    # test_replace_multiple_matches_missing_whitespace
    ("first occurrence, re-indented", {"f.txt": b"    line1\n    line2\n    line1\n    line3\n"},
     sr(block("f.txt", "line1\n", "new_line\n")),
     {"f.txt": b"    new_line\n    line2\n    line1\n    line3\n"}),
    # test_replace_part_with_just_some_missing_leading_whitespace
    ("some missing leading whitespace", {"f.txt": b"    line1\n    line2\n    line3\n"},
     sr(block("f.txt", " line1\n line2\n", " new_line1\n     new_line2\n")),
     {"f.txt": b"    new_line1\n        new_line2\n    line3\n"}),
    # test_replace_part_with_missing_leading_whitespace_including_blank_line
    ("spurious blank first SEARCH line", {"f.txt": b"    line1\n    line2\n    line3\n"},
     sr(block("f.txt", "\n  line1\n  line2\n", "  new_line1\n  new_line2\n")),
     {"f.txt": b"    new_line1\n    new_line2\n    line3\n"}),
    # try_dotdotdots: `...` elides unchanged code in both SEARCH and REPLACE
    ("... elision", {"f.py": b"def a():\n    x = 1\n    y = 2\n    z = 3\n"},
     sr(block("f.py", "def a():\n...\n    z = 3\n", "def b():\n...\n    z = 4\n")),
     {"f.py": b"def b():\n    x = 1\n    y = 2\n    z = 4\n"}),
    # test_find_original_update_blocks_mupltiple_same_file: a `...` line between blocks is prose,
    # the second block keeps the first block's file
    ("... between blocks is not a file name", {"foo.txt": b"one\nthree\n"},
     b"Here's the change:\n\n```text\nfoo.txt\n<<<<<<< SEARCH\none\n=======\ntwo\n>>>>>>> REPLACE\n\n...\n\n"
     b"<<<<<<< SEARCH\nthree\n=======\nfour\n>>>>>>> REPLACE\n```\n\nHope you like it!\n",
     {"foo.txt": b"two\nfour\n"}),
    # test_deepseek_coder_v2_filename_mangling: the name in its own fence before the block's
    ("file name in a fence of its own", {"foo.txt": b"one\n"},
     b"Here's the change:\n\n ```python\nfoo.txt\n```\n```python\n<<<<<<< SEARCH\none\n=======\ntwo\n"
     b">>>>>>> REPLACE\n```\n\nHope you like it!\n", {"foo.txt": b"two\n"}),
    # diff-fenced: the path is the first line inside the fence
    ("diff-fenced", {"src/a.py": b"x = 1\n"},
     b"```python\nsrc/a.py\n<<<<<<< SEARCH\nx = 1\n=======\nx = 2\n>>>>>>> REPLACE\n```\n", {"src/a.py": b"x = 2\n"}),
    # do_replace: an empty SEARCH creates a file, or appends to an existing one
    ("empty SEARCH creates", {}, sr(block("new/b.py", "", "VAT = 0.2\n")), {"new/b.py": b"VAT = 0.2\n"}),
    ("empty SEARCH appends", {"f.txt": b"a\n"}, sr(block("f.txt", "", "b\n")), {"f.txt": b"a\nb\n"}),
    ("append to a file without a final newline", {"f.txt": b"a"}, sr(block("f.txt", "", "b\n")),
     {"f.txt": b"ab\n"}),
    # prep(): an edited file without a final newline gets one
    ("no final newline", {"f.txt": b"a\nb"}, sr(block("f.txt", "a\n", "A\n")), {"f.txt": b"A\nb\n"}),
    # io.read_text / write_text: universal newlines in, LF out (--line-endings platform)
    ("CRLF file", {"f.txt": b"one\r\ntwo\r\nthree\r\n"}, sr(block("f.txt", "two\n", "TWO\n")),
     {"f.txt": b"one\nTWO\nthree\n"}),
    ("mixed line endings", {"f.txt": b"a\r\nb\nc\rd\n"}, sr(block("f.txt", "b\n", "B\n")),
     {"f.txt": b"a\nB\nc\nd\n"}),
    # a reply with CRLF line endings: its text is re-joined with LF
    ("CRLF reply", {"f.txt": b"a\nb\n"},
     b"f.txt\r\n```\r\n<<<<<<< SEARCH\r\nb\r\n=======\r\nB\r\n>>>>>>> REPLACE\r\n```\r\n", {"f.txt": b"a\nB\n"}),
    # two blocks for one file apply in order, the second to the first's result
    ("two blocks in order", {"f.txt": b"a\nb\n"},
     sr(block("f.txt", "a\n", "b\n"), block("f.txt", "b\nb\n", "c\n")), {"f.txt": b"c\n"}),
    # find_original_update_blocks: a shell block is a command, not an edit
    ("shell blocks are skipped", {"f.txt": b"a\n"},
     sr("```bash\npytest\n```\n", block("f.txt", "a\n", "b\n")), {"f.txt": b"b\n"}),
]


@pytest.mark.parametrize("files,reply,expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_wopt_writes_the_bytes_aider_writes(tmp_path, files, reply, expected):
    assert apply(tmp_path, "aider", files, reply) == expected


def udiff(*files: tuple[str, str, list[str]], sep: str = "\n") -> bytes:
    body = sep.join(f"--- {a}\n+++ {b}\n@@ ... @@\n" + "".join(x + "\n" for x in lines) for a, b, lines in files)
    return f"Here are the diffs:\n\n```diff\n{body}```\n".encode()


UDIFF_CASES = [
    # test_find_diffs_single_hunk
    ("one hunk", {"f.py": b"import os\n\ndef main():\n    pass\n"},
     udiff(("f.py", "f.py", [" def main():", "-    pass", "+    return 0"])),
     {"f.py": b"import os\n\ndef main():\n    return 0\n"}),
    # test_find_diffs_dev_null: a new file
    ("new file", {}, udiff(("/dev/null", "src/tax.py", ["+VAT = 0.2"])), {"src/tax.py": b"VAT = 0.2\n"}),
    # a/ b/ prefixes are stripped when both are there
    ("git prefixes", {"src/x.py": b"a = 1\nb = 2\n"},
     udiff(("a/src/x.py", "b/src/x.py", [" a = 1", "-b = 2", "+b = 3"])), {"src/x.py": b"a = 1\nb = 3\n"}),
    # test_find_multi_diffs: the blank line between two files' diffs separates them and is not
    # context of the first hunk
    ("blank line between files", {"a.py": b"def f():\n    print(1)\n", "b.py": b"x = 1\n"},
     udiff(("a.py", "a.py", ["     print(1)", "+    return False"]), ("b.py", "b.py", ["-x = 1", "+x = 2"])),
     {"a.py": b"def f():\n    print(1)\n    return False\n", "b.py": b"x = 2\n"}),
    # hunk_to_before_after: the file read with universal newlines, written with LF
    ("CRLF file", {"f.txt": b"one line here\r\ntwo line here\r\n"},
     udiff(("f.txt", "f.txt", [" one line here", "-two line here", "+2 line here"])),
     {"f.txt": b"one line here\n2 line here\n"}),
    # the hunk's old text is replaced wherever it occurs (search_and_replace uses str.replace)
    ("every occurrence of a long hunk", {"f.txt": b"same long line\nx\nsame long line\n"},
     udiff(("f.txt", "f.txt", ["-same long line", "+changed"])), {"f.txt": b"changed\nx\nchanged\n"}),
]


@pytest.mark.parametrize("files,reply,expected", [c[1:] for c in UDIFF_CASES], ids=[c[0] for c in UDIFF_CASES])
def test_wopt_writes_the_bytes_aider_udiff_writes(tmp_path, files, reply, expected):
    assert apply(tmp_path, "aider", files, reply) == expected


@pytest.mark.parametrize("files,reply,why", [
    # a SEARCH that matches nowhere (Aider's fuzzy edit-distance match is disabled in Aider)
    ({"f.txt": b"alpha\n"}, sr(block("f.txt", "alpah\n", "beta\n")), "is not in the file"),
    # a block for a file that does not exist, with a SEARCH text
    ({}, sr(block("nope.txt", "a\n", "b\n")), "does not exist"),
    # try_dotdotdots: `...` must pair up between SEARCH and REPLACE
    ({"f.txt": b"a\nb\nc\n"}, sr(block("f.txt", "a\n...\nc\n", "A\nc\n")), "is not in the file"),
    # directly_apply_hunk: a short hunk found more than once
    ({"f.txt": b"x\ny\nx\n"}, udiff(("f.txt", "f.txt", ["-x", "+z"])), "occur 2 times"),
    # Aider's udiff cannot delete a file
    ({"f.txt": b"x\n"}, udiff(("f.txt", "/dev/null", ["-x"])), "cannot delete"),
])
def test_aider_refusals(tmp_path, files, reply, why):
    assert why in refused(tmp_path, "aider", files, reply)


def test_a_failing_block_refuses_the_whole_reply(tmp_path):
    # Aider writes the blocks that matched and reports the others; wopt is all-or-nothing
    err = refused(tmp_path, "aider", {"a.txt": b"a\n", "b.txt": b"b\n"},
                  sr(block("a.txt", "a\n", "A\n"), block("b.txt", "zz\n", "B\n")))
    assert "b.txt" in err
