"""Fuzzing every reader with hypothesis: any input gives a Plan or one of wopt's own errors,
never another exception, and never a step path outside the workspace; a plan that comes out
encodes, decodes and validates as the plan model.

At least 1,000 examples per reader on every run (CI included). For a longer run set
WOPT_FUZZ_EXAMPLES, e.g. `WOPT_FUZZ_EXAMPLES=50000 ./dev test tests/engine/test_fuzz_sources.py`.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from wopt.engine.model.errors import WoptError
from wopt.engine.model.plan import check_relpath, decode_plan, encode_plan, step_paths
from wopt.engine.sources import detect, read
from wopt.engine.store.workspace import Workspace

EXAMPLES = max(1000, int(os.environ.get("WOPT_FUZZ_EXAMPLES", "1000") or 1000))
settings.register_profile("wopt-fuzz", max_examples=EXAMPLES, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                 HealthCheck.filter_too_much])
FUZZ = settings.get_profile("wopt-fuzz")

_TMP = Path(tempfile.mkdtemp(prefix="wopt-fuzz-"))
ROOT = _TMP / "shop"
FILES = {"a.txt": b"hello\nworld\nhello\n", "dir/b.py": b"def f():\n    return 1\n",
         "crlf.txt": b"one\r\ntwo\r\n", "nb.ipynb": json.dumps({"cells": [{"cell_type": "code", "id": "c1",
                                                                             "source": "x", "metadata": {}}]}).encode(),
         "bin.dat": bytes(range(256)), "empty": b""}
ROOT.mkdir()
(_TMP / "outside").mkdir()
for _rel, _data in FILES.items():
    (ROOT / _rel).parent.mkdir(parents=True, exist_ok=True)
    (ROOT / _rel).write_bytes(_data)
os.symlink(_TMP / "outside", ROOT / "escape")   # a symlink leaving the workspace
WS = Workspace(ROOT)
R = str(WS.root)


@pytest.fixture(scope="module", autouse=True)
def _cleanup():
    yield
    shutil.rmtree(_TMP, ignore_errors=True)


def check(data: bytes, fmt: str) -> None:
    try:
        plan, _ = read(data, fmt, WS, name="fuzz")
    except WoptError:
        return
    for s in plan.steps:
        for p in step_paths(s):
            assert check_relpath(p) is None, p
            real = WS.resolve(p)  # raises PathError if it would leave the workspace
            assert real == WS.root or WS.root in real.parents, p
    again = decode_plan(encode_plan(plan))  # the model accepts what the reader made
    assert len(again.steps) == len(plan.steps)


# ------------------------------------------------------------------ building blocks

GOOD_PATHS = st.sampled_from(["a.txt", "dir/b.py", "crlf.txt", "nb.ipynb", "bin.dat", "empty", "new.txt",
                              "d/e/new.py", "ü/ñ ✓.txt", f"{R}/a.txt", f"{R}/new.txt", f"{R}/dir/b.py",
                              f"{R}/nb.ipynb", "/home/dev/shop/a.txt", "/home/dev/shop/new2.txt"])
BAD_PATHS = st.sampled_from(["../x", "/etc/passwd", "a/../../b", ".git/config", ".wopt/plans/x.json", "", ".",
                             "escape/x", "a\x00b", "C:\\x", "\\\\srv\\x", "dir", "a.txt/x",
                             f"{R}/../outside/x", f"{R}/escape/y", f"{R}/.git/x", "/home/dev/shop/../../etc/x",
                             "/other/shop/new.txt"])
PATHS = st.one_of(GOOD_PATHS, GOOD_PATHS, GOOD_PATHS, BAD_PATHS, st.text(max_size=20))
TEXT = st.one_of(st.sampled_from(["hello", "hello\n", "world\n", "one\r\n", "return 1", "", "x", "\n",
                                  "def f():\n", "\ud800", "é"]), st.text(max_size=30))
JSONISH = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
                       lambda c: st.lists(c, max_size=3) | st.dictionaries(TEXT, c, max_size=3), max_leaves=6)


def _maybe(d: dict, junk) -> st.SearchStrategy:
    return st.one_of(st.just(d), st.just(d), st.just(d), st.builds(lambda j: {**d, **j}, st.dictionaries(st.sampled_from(
        ["file_path", "content", "old_string", "new_string", "replace_all", "edits", "expected_replacements",
         "cell_id", "edit_mode", "new_source", "cell_type", "notebook_path"]), junk, max_size=2)))


@st.composite
def tool_input(draw, tool: str):
    p = draw(PATHS)
    if tool == "Write":
        d = {"file_path": p, "content": draw(TEXT)}
    elif tool == "Edit":
        d = {"file_path": p, "old_string": draw(TEXT), "new_string": draw(TEXT),
             "replace_all": draw(st.sampled_from([False, True, None, "yes"]))}
    elif tool == "MultiEdit":
        d = {"file_path": p, "edits": draw(st.lists(st.fixed_dictionaries(
            {"old_string": TEXT, "new_string": TEXT}, optional={"replace_all": st.booleans(),
                                                                 "expected_replacements": st.integers(-1, 3)}),
            max_size=3))}
    elif tool == "NotebookEdit":
        d = {"notebook_path": p, "new_source": draw(TEXT), "cell_id": draw(st.sampled_from(["c1", "cell-0", "0", "zz", None])),
             "cell_type": draw(st.sampled_from(["code", "markdown", None, "raw"])),
             "edit_mode": draw(st.sampled_from(["replace", "insert", "delete", None, "x"]))}
    else:
        d = {"command": draw(TEXT)}
    return draw(_maybe(d, JSONISH))


TOOLS = st.sampled_from(["Write", "Edit", "MultiEdit", "NotebookEdit", "Bash"])


@st.composite
def hook_payload(draw):
    tool = draw(TOOLS)
    return {"session_id": draw(st.sampled_from(["s1", "", None, 3])), "cwd": draw(st.sampled_from([R, "/home/dev/shop", None])),
            "hook_event_name": "PreToolUse", "tool_name": tool, "tool_input": draw(tool_input(tool)),
            "tool_use_id": draw(st.sampled_from(["t1", "t2", None]))}


def _dump(objs, how: int) -> bytes:
    if how == 0:
        return "\n".join(json.dumps(o) for o in objs).encode()
    if how == 1:
        return json.dumps(objs).encode()
    return json.dumps(objs[0] if objs else {}).encode()


@st.composite
def mutated(draw, lines_strategy, noise):
    """Well-formed lines, then a few random edits: drop, duplicate, swap or insert noise."""
    lines = list(draw(lines_strategy))
    for _ in range(draw(st.integers(0, 3))):
        op = draw(st.integers(0, 3))
        if not lines:
            lines.append(draw(noise))
            continue
        i = draw(st.integers(0, len(lines) - 1))
        if op == 0:
            del lines[i]
        elif op == 1:
            lines.insert(i, lines[i])
        elif op == 2:
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        else:
            lines.insert(i, draw(noise))
    return lines


# ------------------------------------------------------------------ one test per reader

@FUZZ
@given(st.lists(st.one_of(hook_payload(), hook_payload(), hook_payload(), JSONISH), max_size=4), st.integers(0, 2))
def test_fuzz_claude_hook(payloads, how):
    check(_dump(payloads, how), "claude-hook")


@st.composite
def transcript(draw):
    recs = []
    for i in range(draw(st.integers(0, 4))):
        tool = draw(TOOLS)
        cid = draw(st.sampled_from(["t1", "t2", "t3"]))
        recs.append({"type": "assistant", "cwd": draw(st.sampled_from([R, "/home/dev/shop", None])),
                     "timestamp": draw(st.sampled_from(["2026-01-01T00:00:00Z", None, 5])),
                     "message": {"content": [{"type": "tool_use", "id": cid, "name": tool,
                                              "input": draw(tool_input(tool))}]}})
        if draw(st.booleans()):
            recs.append({"type": "user", "message": {"content": [
                {"type": "tool_result", "tool_use_id": cid, "is_error": draw(st.booleans())}]},
                "toolUseResult": draw(st.one_of(st.none(), st.fixed_dictionaries({"originalFile": st.none() | TEXT}), JSONISH))})
        if draw(st.booleans()):
            recs.append(draw(JSONISH))
    return recs


@FUZZ
@given(transcript(), st.binary(max_size=10))
def test_fuzz_claude_transcript(recs, tail):
    check("\n".join(json.dumps(r) for r in recs).encode() + tail, "claude-transcript")


@st.composite
def trace_line(draw):
    tool = draw(TOOLS)
    cid = draw(st.sampled_from(["t1", "t2"]))
    inp = json.dumps(draw(tool_input(tool)))
    cut = draw(st.integers(0, len(inp)))
    events = [{"type": "content_block_start", "index": 0, "content_block": {"type": "tool_use", "id": cid, "name": tool, "input": {}}},
              {"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": inp[:cut]}},
              {"type": "content_block_delta", "index": draw(st.sampled_from([0, 1, "0"])),
               "delta": {"type": "input_json_delta", "partial_json": inp[cut:]}},
              {"type": "content_block_stop", "index": 0}]
    raw = "".join(f"event: x\ndata: {json.dumps(e)}\n\n" for e in events)
    if draw(st.booleans()):
        raw = raw[: draw(st.integers(0, len(raw)))]
    msgs = [{"role": "assistant", "content": [{"type": "tool_use", "id": cid, "name": tool, "input": draw(tool_input(tool))}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": draw(st.sampled_from(["t1", "t2"])),
                                          "is_error": draw(st.booleans())}]}]
    return {"request": {"body": {"system": draw(st.sampled_from(["", f"Working directory: {R}",
                                                                 "Working directory: /home/dev/shop"])),
                                 "messages": draw(st.sampled_from([msgs, msgs[1:], [], "x"]))}},
            "response": draw(st.sampled_from([None, {"body_raw": raw}, {"body": {"content": msgs[0]["content"]}}, {"body": "x"}])),
            "logged_at": "2026-01-01T00:00:00Z"}


@FUZZ
@given(st.lists(trace_line() | JSONISH, max_size=4))
def test_fuzz_claude_trace(lines):
    check("\n".join(json.dumps(x) for x in lines).encode(), "claude-trace")


DIFF_LINES = st.one_of(
    st.sampled_from(["diff --git a/a.txt b/a.txt", "diff --git a/a.txt b/c.txt", "--- a/a.txt", "+++ b/a.txt",
                     "--- /dev/null", "+++ /dev/null", "+++ b/new.txt", "--- a/../x", "+++ b/escape/z",
                     "@@ -1,2 +1,2 @@", "@@ -1 +1 @@", "@@ -0,0 +1 @@", "@@ -1,3 +1,3 @@ def f():", " hello", "-hello",
                     "+HELLO", " world", "-world", "\\ No newline at end of file", "new file mode 100755",
                     "deleted file mode 100644", "old mode 100644", "new mode 100755", "rename from a.txt",
                     "rename to r.txt", "rename from dir/b.py", "rename to a.txt", "similarity index 90%",
                     "index 0000000..1111111 100644", "Binary files a/bin.dat and b/bin.dat differ",
                     "GIT binary patch", "literal 3", "delta 4", "zcmZQzWMXDvWn=&V000", "", " one\r",
                     "+two\r", "-two\r"]),
    TEXT.map(lambda t: t.replace("\n", " ")))


REL = st.sampled_from(["a.txt", "dir/b.py", "crlf.txt", "new.txt", "d/n.txt", "bin.dat", "empty", "../x",
                       "escape/z", ".git/c", "ü.txt"])


@st.composite
def diff_file(draw):
    src, dst = draw(REL), draw(REL)
    kind = draw(st.sampled_from(["modify", "new", "delete", "rename", "mode", "binary"]))
    out = [f"diff --git a/{src} b/{dst if kind == 'rename' else src}"] if draw(st.booleans()) else []
    if kind == "new":
        out += ["new file mode 100755" if draw(st.booleans()) else "new file mode 100644", "--- /dev/null", f"+++ b/{src}"]
    elif kind == "delete":
        out += ["deleted file mode 100644", f"--- a/{src}", "+++ /dev/null"]
    elif kind == "rename":
        out += ["similarity index 90%", f"rename from {src}", f"rename to {dst}"]
        if draw(st.booleans()):
            out += [f"--- a/{src}", f"+++ b/{dst}"]
    elif kind == "mode":
        out += ["old mode 100644", "new mode 100755"]
        return out
    elif kind == "binary":
        out += ["Binary files a/bin.dat and b/bin.dat differ"] if draw(st.booleans()) else \
            ["GIT binary patch", "literal 3", "Nc${NkVq}@{000F@0RR91", ""]
        return out
    else:
        out += [f"--- a/{src}", f"+++ b/{src}"]
    for _ in range(draw(st.integers(0, 2))):
        body = draw(st.lists(st.sampled_from([" hello", "-hello", "+HELLO", " world", "-world", "+W",
                                              "\\ No newline at end of file", " one\r", "-two\r", "+2\r",
                                              "+new line", "-def f():", " def f():", "-    return 1",
                                              "+    return 2"]), max_size=5))
        old = sum(1 for b in body if b[:1] in " -")
        new = sum(1 for b in body if b[:1] in " +")
        start = draw(st.integers(0, 3))
        out.append(f"@@ -{start},{old} +{start},{new} @@")
        out += body
    return out


@FUZZ
@given(mutated(st.lists(diff_file(), max_size=3).map(lambda fs: [ln for f in fs for ln in f]), DIFF_LINES))
def test_fuzz_diff_structured(lines):
    check(("\n".join(lines) + "\n").encode("utf-8", "surrogatepass"), "diff")


@FUZZ
@given(st.lists(DIFF_LINES, max_size=14))
def test_fuzz_diff(lines):
    check(("\n".join(lines) + "\n").encode("utf-8", "surrogatepass"), "diff")


CODEX_LINES = st.one_of(
    st.sampled_from(["*** Begin Patch", "*** End Patch", "*** Add File: new.txt", "*** Add File: a.txt",
                     "*** Add File: ../x", "*** Delete File: a.txt", "*** Delete File: nope",
                     "*** Update File: a.txt", "*** Update File: dir/b.py", "*** Move to: moved.txt",
                     "*** Move to: a.txt", "*** Move to: .git/x", "@@", "@@ def f():", "*** End of File",
                     "+x", " hello", "-hello", "+HELLO", " world", "-world", "-    return 1", "+    return 2",
                     "", "EOF", "apply_patch <<'EOF'"]),
    TEXT.map(lambda t: t.replace("\n", " ")))


@st.composite
def codex_section(draw):
    p = draw(REL)
    kind = draw(st.sampled_from(["add", "delete", "update", "update", "move"]))
    if kind == "add":
        return [f"*** Add File: {p}"] + draw(st.lists(st.sampled_from(["+x", "+", "+hello"]), max_size=3))
    if kind == "delete":
        return [f"*** Delete File: {p}"]
    out = [f"*** Update File: {p}"]
    if kind == "move":
        out.append(f"*** Move to: {draw(REL)}")
    for _ in range(draw(st.integers(0, 2))):
        out.append(draw(st.sampled_from(["@@", "@@ def f():", "@@ hello"])))
        out += draw(st.lists(st.sampled_from([" hello", "-hello", "+HELLO", " world", "-world", "-    return 1",
                                              "+    return 2", " def f():", "-one\r", "+1\r"]), max_size=4))
        if draw(st.booleans()):
            out.append("*** End of File")
    return out


@FUZZ
@given(mutated(st.lists(codex_section(), max_size=3).map(
    lambda ss: ["*** Begin Patch", *[ln for x in ss for ln in x], "*** End Patch"]), CODEX_LINES), st.booleans())
def test_fuzz_codex_structured(lines, heredoc):
    if heredoc:
        lines = ["apply_patch <<'EOF'", *lines, "EOF"]
    check("\n".join(lines).encode("utf-8", "surrogatepass"), "codex")


@FUZZ
@given(st.lists(CODEX_LINES, max_size=12), st.booleans())
def test_fuzz_codex(lines, wrap):
    if wrap:
        lines = ["*** Begin Patch", *lines, "*** End Patch"]
    check("\n".join(lines).encode("utf-8", "surrogatepass"), "codex")


AIDER_LINES = st.one_of(
    st.sampled_from(["a.txt", "new.txt", "../x", "escape/q", "```", "```python", "```diff", "<<<<<<< SEARCH",
                     "<<<<< SEARCH", "=======", ">>>>>>> REPLACE", "hello", "world", "HELLO", "",
                     "--- a.txt", "+++ a.txt", "--- /dev/null", "+++ new.txt", "+++ /dev/null", "@@ ... @@",
                     " hello", "-hello", "+HELLO", "-world"]),
    TEXT.map(lambda t: t.replace("\n", " ")))


@st.composite
def aider_block(draw):
    p = draw(REL)
    search = draw(st.lists(st.sampled_from(["hello", "world", "def f():", "    return 1", "one\r", "zz"]), max_size=2))
    repl = draw(st.lists(st.sampled_from(["HELLO", "x", "    return 2", ""]), max_size=2))
    body = ["<<<<<<< SEARCH", *search, "=======", *repl, ">>>>>>> REPLACE"]
    if draw(st.booleans()):
        return [p, "```python", *body, "```"]
    if draw(st.booleans()):
        return ["```", p, *body, "```"]
    return ["```diff", f"--- {p}", f"+++ {draw(REL)}", "@@ ... @@",
            *draw(st.lists(st.sampled_from([" hello", "-hello", "+HELLO", "-world", "+x", " def f():"]),
                           max_size=4)), "```"]


@FUZZ
@given(mutated(st.lists(aider_block(), max_size=3).map(lambda bs: [ln for b in bs for ln in b]), AIDER_LINES))
def test_fuzz_aider_structured(lines):
    check("\n".join(lines).encode("utf-8", "surrogatepass"), "aider")


@FUZZ
@given(st.lists(AIDER_LINES, max_size=14))
def test_fuzz_aider(lines):
    check("\n".join(lines).encode("utf-8", "surrogatepass"), "aider")


@FUZZ
@given(st.binary(max_size=200) | st.sampled_from([b"*** Begin Patch\n", b"{", b"[", b"diff --git a b\n",
                                                 b"<<<<<<< SEARCH\n", b'{"tool_name": "Write"}']))
def test_fuzz_auto_detect_any_bytes(data):
    try:
        fmt = detect(data)
    except WoptError:
        return
    check(data, fmt)
