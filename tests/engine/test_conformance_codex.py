"""Codex `apply_patch` conformance: each case is a patch and a tree, and the bytes Codex's own
apply_patch writes for them (codex-rs/apply-patch: its tests/fixtures/scenarios, parser.rs and
seek_sequence.rs tests, and its line-ending rules in text_file.rs: context lines keep their
own bytes, added lines take the file's first line ending, a last line without an ending gets
one). wopt ingests the patch and applies it with `wopt apply --yes` in real processes."""
from __future__ import annotations

import pytest

from conformance import apply, ingest, refused, workspace
from conftest import run_wopt


def patch(*lines: str) -> bytes:
    return ("*** Begin Patch\n" + "".join(ln + "\n" for ln in lines) + "*** End Patch\n").encode()


CASES = [
    # scenarios/001_add_file
    ("add file", {}, patch("*** Add File: bar.md", "+This is a new file"),
     {"bar.md": b"This is a new file\n"}),
    # scenarios/002_multiple_operations
    ("add, delete and update", {"delete.txt": b"obsolete\n", "modify.txt": b"line1\nline2\n"},
     patch("*** Add File: nested/new.txt", "+created", "*** Delete File: delete.txt",
           "*** Update File: modify.txt", "@@", "-line2", "+changed"),
     {"nested/new.txt": b"created\n", "modify.txt": b"line1\nchanged\n"}),
    # scenarios/003_multiple_chunks
    ("two chunks", {"multi.txt": b"line1\nline2\nline3\nline4\n"},
     patch("*** Update File: multi.txt", "@@", "-line2", "+changed2", "@@", "-line4", "+changed4"),
     {"multi.txt": b"line1\nchanged2\nline3\nchanged4\n"}),
    # scenarios/004_move_to_new_directory
    ("move to a new directory", {"old/name.txt": b"old content\n", "old/other.txt": b"unrelated file\n"},
     patch("*** Update File: old/name.txt", "*** Move to: renamed/dir/name.txt", "@@", "-old content",
           "+new content"),
     {"old/other.txt": b"unrelated file\n", "renamed/dir/name.txt": b"new content\n"}),
    # scenarios/010_move_overwrites_existing_destination
    ("move over an existing file", {"old/name.txt": b"from\n", "old/other.txt": b"unrelated\n",
                                    "renamed/dir/name.txt": b"existing\n"},
     patch("*** Update File: old/name.txt", "*** Move to: renamed/dir/name.txt", "@@", "-from", "+new"),
     {"old/other.txt": b"unrelated\n", "renamed/dir/name.txt": b"new\n"}),
    # scenarios/011_add_overwrites_existing_file
    ("add over an existing file", {"duplicate.txt": b"old content\n"},
     patch("*** Add File: duplicate.txt", "+new content"), {"duplicate.txt": b"new content\n"}),
    # scenarios/014_update_file_appends_trailing_newline
    ("a final newline is added", {"no_newline.txt": b"no newline at end"},
     patch("*** Update File: no_newline.txt", "@@", "-no newline at end", "+first line", "+second line"),
     {"no_newline.txt": b"first line\nsecond line\n"}),
    # scenarios/016_pure_addition_update_chunk
    ("a chunk of added lines goes at the end", {"input.txt": b"line1\nline2\n"},
     patch("*** Update File: input.txt", "@@", "+added line 1", "+added line 2"),
     {"input.txt": b"line1\nline2\nadded line 1\nadded line 2\n"}),
    # scenarios/017_whitespace_padded_hunk_header
    ("a padded Update File header", {"foo.txt": b"old\n"},
     patch("  *** Update File: foo.txt", "@@", "-old", "+new"), {"foo.txt": b"new\n"}),
    # scenarios/018_whitespace_padded_patch_markers
    ("padded Begin/End Patch lines", {"file.txt": b"one\n"},
     b" *** Begin Patch\n*** Update File: file.txt\n@@\n-one\n+two\n*** End Patch \n", {"file.txt": b"two\n"}),
    # scenarios/019_unicode_simple
    ("unicode text", {"foo.txt": "line1\nnaïve café\nline3\n".encode()},
     patch("*** Update File: foo.txt", "@@", " line1", "-naïve café", "+naïve café ✅"),
     {"foo.txt": "line1\nnaïve café ✅\nline3\n".encode()}),
    # scenarios/020_delete_file_success
    ("delete a file", {"keep.txt": b"keep\n", "obsolete.txt": b"x\n"},
     patch("*** Delete File: obsolete.txt"), {"keep.txt": b"keep\n"}),
    # scenarios/021_update_file_deletion_only
    ("a chunk that only removes", {"lines.txt": b"line1\nline2\nline3\n"},
     patch("*** Update File: lines.txt", "@@", " line1", "-line2", " line3"), {"lines.txt": b"line1\nline3\n"}),
    # scenarios/022_update_file_end_of_file_marker
    ("End of File pins the chunk to the end", {"tail.txt": b"first\nsecond\n"},
     patch("*** Update File: tail.txt", "@@", " first", "-second", "+second updated", "*** End of File"),
     {"tail.txt": b"first\nsecond updated\n"}),
    # seek_sequence.rs: test_rstrip_match_ignores_trailing_whitespace / test_trim_match_...
    ("context found ignoring surrounding whitespace", {"f.txt": b"    foo   \n   bar\t\nbaz\n"},
     patch("*** Update File: f.txt", "@@", " foo", "-bar", "+BAR"), {"f.txt": b"    foo   \nBAR\nbaz\n"}),
    # seek_sequence.rs: the last level maps typographic punctuation to ASCII
    ("context found with typographic punctuation", {"f.txt": "a \u2014 b\n\u201cq\u201d\n".encode()},
     patch("*** Update File: f.txt", "@@", " a - b", '-"q"', "+q"), {"f.txt": "a \u2014 b\nq\n".encode()}),
    # lib.rs tests (test_update_line_with_change_context): `@@ CONTEXT` narrows the search
    ("@@ context line", {"f.py": b"def a():\n    pass\ndef b():\n    pass\n"},
     patch("*** Update File: f.py", "@@ def b():", "-    pass", "+    return 1"),
     {"f.py": b"def a():\n    pass\ndef b():\n    return 1\n"}),
    # line endings (text_file.rs): a CRLF file stays CRLF, new lines take CRLF
    ("CRLF file", {"crlf.txt": b"one\r\ntwo\r\nthree\r\n"},
     patch("*** Update File: crlf.txt", "@@", " one", "-two", "+TWO", "+2.5", " three"),
     {"crlf.txt": b"one\r\nTWO\r\n2.5\r\nthree\r\n"}),
    # mixed endings: lines outside the change and context lines keep their own bytes; added
    # lines take the first line's ending
    ("mixed line endings", {"mixed.txt": b"a\r\nb\nc\r\nd\n"},
     patch("*** Update File: mixed.txt", "@@", " b", "-c", "+C"), {"mixed.txt": b"a\r\nb\nC\r\nd\n"}),
    ("mixed, first ending LF", {"mixed.txt": b"a\nb\r\nc\r\n"},
     patch("*** Update File: mixed.txt", "@@", " b", "-c", "+C"), {"mixed.txt": b"a\nb\r\nC\n"}),
    # a CRLF file without a final newline gets a CRLF one, like every updated file
    ("CRLF file without a final newline", {"t.txt": b"a\r\nb"},
     patch("*** Update File: t.txt", "@@", "-b", "+B"), {"t.txt": b"a\r\nB\r\n"}),
    ("CRLF file, chunk away from the unterminated end", {"t.txt": b"a\r\nb\r\nc"},
     patch("*** Update File: t.txt", "@@", "-a", "+A"), {"t.txt": b"A\r\nb\r\nc\r\n"}),
    # the patch text itself may use CRLF: its line endings are not content
    ("CRLF patch text", {"f.txt": b"x\ny\n"},
     b"*** Begin Patch\r\n*** Update File: f.txt\r\n@@\r\n-x\r\n+X\r\n*** End Patch\r\n",
     {"f.txt": b"X\ny\n"}),
]


@pytest.mark.parametrize("files,reply,expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_wopt_writes_the_bytes_codex_writes(tmp_path, files, reply, expected):
    assert apply(tmp_path, "codex", files, reply) == expected


def test_move_over_an_existing_file_is_flagged_as_an_overwrite(tmp_path):
    # scenarios/010_move_overwrites_existing_destination: allowed, and the review says so
    ws = workspace(tmp_path, {"old/name.txt": b"from\n", "renamed/dir/name.txt": b"existing\n"})
    r = ingest(ws, "codex", patch("*** Update File: old/name.txt", "*** Move to: renamed/dir/name.txt",
                                  "@@", "-from", "+new"))
    assert r.returncode == 0, r.stderr.decode()
    r = run_wopt("show", r.stdout.decode().strip(), root=ws)
    out = r.stdout.decode()
    assert r.returncode == 0, r.stderr.decode()
    assert "overwrite" in out and "renamed/dir/name.txt: overwritten by a moved file" in out


def test_crlf_update_shows_only_the_changed_line(tmp_path):
    # the old behaviour turned every CRLF into LF: `show` listed -one/+one with no visible change
    ws = workspace(tmp_path, {"crlf.txt": b"one\r\ntwo\r\nthree\r\n"})
    r = ingest(ws, "codex", patch("*** Update File: crlf.txt", "@@", "-two", "+TWO"))
    assert r.returncode == 0, r.stderr.decode()
    out = run_wopt("show", r.stdout.decode().strip(), root=ws).stdout.decode()
    assert "+TWO" in out and "-two" in out
    assert "-one" not in out and "-three" not in out


def test_a_failing_section_refuses_the_whole_patch(tmp_path):
    # scenarios/015_failure_after_partial_success_leaves_changes: Codex keeps created.txt;
    # wopt is all-or-nothing across files, so nothing is written
    err = refused(tmp_path, "codex", {}, patch("*** Add File: created.txt", "+hello",
                                               "*** Update File: missing.txt", "@@", "-old", "+new"))
    assert "missing.txt" in err


@pytest.mark.parametrize("reply,why", [
    # scenarios/005_rejects_empty_patch, 008_rejects_empty_update_hunk, 013_rejects_invalid_hunk_header
    (b"*** Begin Patch\n*** End Patch\n", "no file section"),
    (patch("*** Update File: foo.txt"), "holds no change"),
    (patch("*** Frobnicate File: foo.txt"), "not a file section"),
    # scenarios/006_rejects_missing_context
    (patch("*** Update File: foo.txt", "@@", "-missing", "+x"), "not in the file"),
    # scenarios/009_requires_existing_file_for_update, 007_rejects_missing_file_delete
    (patch("*** Update File: nope.txt", "@@", "-a", "+b"), "does not exist"),
    (patch("*** Delete File: nope.txt"), "no file to delete"),
    # seek_sequence.rs: with *** End of File the lines must be at the end
    (patch("*** Update File: foo.txt", "@@", "-foo", "+x", "*** End of File"), "at its end"),
])
def test_codex_refusals(tmp_path, reply, why):
    assert why in refused(tmp_path, "codex", {"foo.txt": b"foo\nbar\n"}, reply)
