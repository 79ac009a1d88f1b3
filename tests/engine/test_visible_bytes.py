"""Every byte a plan changes is visible to the reviewer: line endings, trailing whitespace, a
final newline, a byte order mark, tabs against spaces, control and invisible characters, mode
bits. A change made only of invisible bytes is never drawn as an identical `-` / `+` pair,
neither in `wopt show` nor in the diff model the review app draws."""
from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys

from hypothesis import given
from hypothesis import strategies as st

from wopt.engine.analysis import diffs as D

WOPT = [sys.executable, "-m", "wopt.engine.cli.main"]


def wopt(*args, cwd):
    return subprocess.run([*WOPT, *args, "--root", str(cwd)], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"})


def show_write(tmp_path, before: bytes | None, after: bytes, path="notes.txt", mode=None) -> str:
    """`wopt show` of a one-step plan writing `after` over `before`: its text output."""
    if before is not None:
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_bytes(before)
    step = {"kind": "write", "id": "w", "path": path, "content_base64": base64.b64encode(after).decode()}
    if mode:
        step["mode"] = mode
    d = tmp_path / ".wopt" / "plans"
    d.mkdir(parents=True, exist_ok=True)
    (d / "p.json").write_text(json.dumps({"version": 1, "id": "p", "title": "t", "steps": [step]}))
    r = wopt("show", "p", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    return r.stdout


def diff_lines(out: str) -> tuple[list[str], list[str]]:
    """The removed and added lines of the diff `wopt show` printed (without the mark)."""
    body = out.split("@@", 1)[1]
    rem = [ln[1:] for ln in body.splitlines() if ln.startswith("-") and not ln.startswith("---")]
    add = [ln[1:] for ln in body.splitlines() if ln.startswith("+") and not ln.startswith("+++")]
    return rem, add


def assert_no_identical_pair(out: str) -> tuple[list[str], list[str]]:
    rem, add = diff_lines(out)
    assert rem or add, out
    assert not set(rem) & set(add), f"identical -/+ lines drawn:\n{out}"
    return rem, add


# --------------------------------------------------------------------------- wopt show

def test_show_crlf_to_lf_marks_the_carriage_returns(tmp_path):
    out = show_write(tmp_path, b"one\r\ntwo\r\n", b"one\ntwo\n")
    rem, add = assert_no_identical_pair(out)
    assert rem == ["one␍", "two␍"] and add == ["one", "two"]
    assert "line endings CRLF -> LF" in out


def test_show_lf_to_crlf_marks_the_new_carriage_returns(tmp_path):
    out = show_write(tmp_path, b"a = 1\nb = 2\n", b"a = 1\r\nb = 2\r\n", path="m.py")
    rem, add = assert_no_identical_pair(out)
    assert add == ["a = 1␍", "b = 2␍"]
    assert "line endings LF -> CRLF" in out


def test_show_an_edited_line_in_a_crlf_file_keeps_its_marker(tmp_path):
    out = show_write(tmp_path, b"a\r\nb\r\nc\r\n", b"a\r\nB\r\nc\r\n")
    rem, add = assert_no_identical_pair(out)
    assert rem == ["b␍"] and add == ["B␍"]
    assert "line endings" not in out           # the file's style did not change


def test_show_trailing_whitespace_removed(tmp_path):
    out = show_write(tmp_path, b"x = 1   \ny = 2\t\n", b"x = 1\ny = 2\n", path="m.py")
    rem, add = assert_no_identical_pair(out)
    assert rem == ["x = 1···", "y = 2→   "] and add == ["x = 1", "y = 2"]


def test_show_tab_indent_replaced_by_spaces(tmp_path):
    out = show_write(tmp_path, b"if x:\n\treturn 1\n", b"if x:\n    return 1\n", path="m.py")
    rem, add = assert_no_identical_pair(out)
    assert rem == ["→   return·1"] and add == ["····return·1"]


def test_show_final_newline_removed_and_added(tmp_path):
    out = show_write(tmp_path, b"a\nb\n", b"a\nb")
    rem, add = assert_no_identical_pair(out)
    assert rem == ["b"] and add == ["b [no newline at end of file]"]
    assert "newline at end of file removed" in out
    out = show_write(tmp_path, b"a\nb", b"a\nb\n")
    assert_no_identical_pair(out)
    assert "newline at end of file added" in out


def test_show_bom_added(tmp_path):
    out = show_write(tmp_path, b"key = 1\n", b"\xef\xbb\xbfkey = 1\n", path="c.toml")
    rem, add = assert_no_identical_pair(out)
    assert rem == ["key = 1"] and add == ["⟨BOM⟩key = 1"]
    assert "byte order mark added" in out


def test_show_lone_cr_and_control_characters_inside_a_line(tmp_path):
    out = show_write(tmp_path, b"x  # ok\n", b"x\r  # changed\x1b[2J\n")
    rem, add = assert_no_identical_pair(out)
    assert add == ["x␍  # changed␛[2J"]
    assert "\r" not in out and "\x1b" not in out   # nothing raw reaches the terminal


def test_show_invisible_unicode_is_named(tmp_path):
    out = show_write(tmp_path, b"ok = 1\n", "ok\u200b = 1\u00a0\n".encode(), path="m.py")
    rem, add = assert_no_identical_pair(out)
    assert add == ["ok⟨U+200B⟩ = 1⟨U+00A0⟩"]


def test_show_mode_change_and_new_file_mode(tmp_path):
    (tmp_path / "run.sh").write_text("#!/bin/sh\n")
    os.chmod(tmp_path / "run.sh", 0o644)
    d = tmp_path / ".wopt" / "plans"
    d.mkdir(parents=True)
    (d / "p.json").write_text(json.dumps({"version": 1, "id": "p", "steps": [
        {"kind": "chmod", "id": "c", "path": "run.sh", "mode": "755"},
        {"kind": "write", "id": "n", "path": "secret.txt", "content": "s\n", "mode": "600"}]}))
    r = wopt("show", "p", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "mode 644 -> 755" in r.stdout
    assert "mode 600" in r.stdout


def test_show_json_diff_keeps_the_exact_bytes(tmp_path):
    show_write(tmp_path, b"one\r\ntwo", b"one\ntwo")
    r = wopt("show", "p", "--json", cwd=tmp_path)
    [step] = json.loads(r.stdout)["steps"]
    assert "-one\r\n+one\n" in step["diff"]
    assert step["diff"].endswith(" two\n\\ No newline at end of file\n")


# --------------------------------------------------------------------------- the diff model

def shown(d) -> list[tuple[str, str]]:
    return [(ln.kind, D.display_line(ln)) for h in d.hunks for ln in h.lines]


def test_model_crlf_only_change_is_drawn_distinctly():
    d = D.diff_bytes(b"one\r\n", b"one\n", path="a.txt")
    assert shown(d) == [("-", "one␍"), ("+", "one")]
    assert [ln.eol for ln in d.hunks[0].lines] == ["\r\n", "\n"]
    assert "line endings CRLF -> LF" in D.describe(d)


def test_model_bare_cr_at_end_of_file():
    d = D.diff_bytes(b"a\r\nb\r", b"a\r\nb\r\n", path="a.txt")
    assert shown(d)[-2:] == [("-", "b␍ [no newline at end of file]"), ("+", "b␍")]


# invisible bytes, and literal characters a marker is drawn with (a file may hold them to
# pass for a marker: "x·" against "x " with a trailing space)
_ALPHABET = st.sampled_from(["a", "b", " ", "\t", "\r", "\ufeff", "\u00a0", "x y", "\u00b7", "\u2192",
                             "\u240d", "\u27e8BOM\u27e9", " [no newline at end of file]"])
_LINE = st.lists(_ALPHABET, max_size=4).map("".join)
_FILE = st.tuples(st.lists(_LINE, max_size=5), st.sampled_from(["\n", "\r\n"]), st.booleans()).map(
    lambda t: (t[1].join(t[0]) + (t[1] if t[2] and t[0] else "")).encode())


@given(_FILE, _FILE)
def test_model_never_draws_identical_sides(before, after):
    """Whatever the bytes: if they differ, the drawn old side differs from the drawn new side,
    and within a replaced block no removed line is drawn like a different added one."""
    d = D.diff_bytes(before, after, path="f.txt")
    if before == after:
        assert not d.hunks
        return
    assert d.hunks
    old_side = [D.display_line(ln) for h in d.hunks for ln in h.lines if ln.kind != "+"]
    new_side = [D.display_line(ln) for h in d.hunks for ln in h.lines if ln.kind != "-"]
    assert old_side != new_side
    for h in d.hunks:
        block: list = []
        for ln in h.lines + [None]:
            if ln is not None and ln.kind != " ":
                block.append(ln)
                continue
            rem = {D.display_line(x): (x.text, x.eol) for x in block if x.kind == "-"}
            add = {D.display_line(x): (x.text, x.eol) for x in block if x.kind == "+"}
            same = [k for k in rem.keys() & add.keys() if rem[k] != add[k]]
            assert not same, (before, after, same)
            block = []


def test_unified_visible_text_is_terminal_safe():
    d = D.diff_bytes(b"a\n", b"a\x07\x1b]0;title\x07\n", path="a.txt")
    text = D.unified(d, visible=True)
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", text)
    assert "+a␇␛]0;title␇" in text
