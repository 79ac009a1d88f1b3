"""Claude Code conformance: Edit and MultiEdit calls as Claude Code's PreToolUse hook receives
them, and the bytes Claude Code writes for them by its documented rules (the tools'
descriptions, see shared fixtures README): old_string matches the file's exact bytes (line
endings included); an old_string found more than once is an error unless replace_all, which
replaces every occurrence; new_string must differ from old_string; MultiEdit applies its edits
in order, each to the result of the one before, all or none; an empty first old_string on a
new path creates the file. wopt ingests the calls and applies them with `wopt apply --yes` in
real processes."""
from __future__ import annotations

import json

import pytest

from conformance import apply, refused

ROOT = "/home/dev/shop"   # the agent's cwd in the payloads; paths below it map onto the workspace


def call(tool: str, path: str, **inp) -> dict:
    return {"session_id": "s-conf", "cwd": ROOT, "hook_event_name": "PreToolUse", "tool_name": tool,
            "tool_input": {"file_path": f"{ROOT}/{path}", **inp}, "tool_use_id": f"toolu_{tool}"}


def edit(path: str, old: str, new: str, **kw) -> dict:
    return call("Edit", path, old_string=old, new_string=new, **kw)


def multi(path: str, *edits: tuple) -> dict:
    return call("MultiEdit", path, edits=[{"old_string": o, "new_string": n, **(k[0] if k else {})}
                                          for o, n, *k in edits])


def payload(*calls: dict) -> bytes:
    return json.dumps(list(calls) if len(calls) > 1 else calls[0]).encode()


CASES = [
    ("Edit, unique old_string", {"a.py": b"x = 1\ny = 2\n"}, payload(edit("a.py", "y = 2", "y = 3")),
     {"a.py": b"x = 1\ny = 3\n"}),
    # exact bytes: a CRLF file keeps its CRLF around the edit, and the edit's own bytes land as given
    ("Edit in a CRLF file", {"w.txt": b"one\r\ntwo\r\nthree\r\n"}, payload(edit("w.txt", "two", "TWO")),
     {"w.txt": b"one\r\nTWO\r\nthree\r\n"}),
    ("Edit spanning CRLF lines, given with CRLF", {"w.txt": b"one\r\ntwo\r\nthree\r\n"},
     payload(edit("w.txt", "one\r\ntwo", "1\r\n2")), {"w.txt": b"1\r\n2\r\nthree\r\n"}),
    ("Edit in a mixed file", {"m.txt": b"a\r\nb\nc\r\n"}, payload(edit("m.txt", "b\nc", "B\nC")),
     {"m.txt": b"a\r\nB\nC\r\n"}),
    ("Edit of a file without a final newline", {"n.txt": b"a\nb"}, payload(edit("n.txt", "b", "B")),
     {"n.txt": b"a\nB"}),
    ("Edit removing the final newline", {"n.txt": b"a\nb\n"}, payload(edit("n.txt", "b\n", "b")),
     {"n.txt": b"a\nb"}),
    # replace_all: every (non-overlapping) occurrence
    ("replace_all", {"r.py": b"i.qty + i.qty\nqty\n"},
     payload(edit("r.py", "i.qty", "i.quantity", replace_all=True)), {"r.py": b"i.quantity + i.quantity\nqty\n"}),
    ("replace_all, non-overlapping", {"r.txt": b"aaaa a\n"}, payload(edit("r.txt", "aa", "b", replace_all=True)),
     {"r.txt": b"bb a\n"}),
    # new_string is literal text: no `$&`-style patterns
    ("literal new_string", {"s.js": b"let a = 1;\n"}, payload(edit("s.js", "1", "'$&$1$$'")),
     {"s.js": b"let a = '$&$1$$';\n"}),
    # MultiEdit: in order, each to the result of the one before
    ("MultiEdit in order", {"t.py": b"def subtotal(items):\n    return i.qty * i.qty\n"},
     payload(multi("t.py", ("def subtotal(items):", "def subtotal(items, *, currency=\"EUR\"):"),
                   ("i.qty", "i.quantity", {"replace_all": True}), ("i.quantity * i", "i.quantity * 2 * i"))),
     {"t.py": b"def subtotal(items, *, currency=\"EUR\"):\n    return i.quantity * 2 * i.quantity\n"}),
    # MultiEdit's documented way to create a file: an empty first old_string on a new path
    ("MultiEdit creates a file", {}, payload(multi("new/c.py", ("", "A = 1\nB = 2\n"), ("B = 2", "B = 3"))),
     {"new/c.py": b"A = 1\nB = 3\n"}),
    # two calls on one file: the second edits the first's result
    ("two Edits in a row", {"a.txt": b"x\n"}, payload(edit("a.txt", "x", "y"), edit("a.txt", "y", "z")),
     {"a.txt": b"z\n"}),
]


@pytest.mark.parametrize("files,reply,expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_wopt_writes_the_bytes_claude_code_writes(tmp_path, files, reply, expected):
    assert apply(tmp_path, "claude-hook", files, reply) == expected


@pytest.mark.parametrize("files,reply,why", [
    # found more than once without replace_all
    ({"d.txt": b"a\na\n"}, payload(edit("d.txt", "a", "b")), "occurs 2 times"),
    # not found: exact bytes, so an LF old_string spanning lines does not match a CRLF file
    ({"w.txt": b"one\r\ntwo\r\n"}, payload(edit("w.txt", "one\ntwo", "x")), "is not in the file"),
    # new_string equal to old_string
    ({"a.txt": b"a\n"}, payload(edit("a.txt", "a", "a")), "the same"),
    # MultiEdit is all or nothing: a failing second edit stores nothing
    ({"m.txt": b"a\nb\n"}, payload(multi("m.txt", ("a", "A"), ("zz", "Z"))), "edit 2"),
    # an empty old_string only creates a file that does not exist
    ({"e.txt": b"x\n"}, payload(multi("e.txt", ("", "y\n"))), "the file exists"),
    ({"e.txt": b"x\n"}, payload(multi("e.txt", ("x", "y"), ("", "z"))), "only a first edit may be empty"),
])
def test_claude_code_refusals(tmp_path, files, reply, why):
    assert why in refused(tmp_path, "claude-hook", files, reply)

