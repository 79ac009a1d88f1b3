"""Agent text that is not valid Unicode (a lone UTF-16 surrogate, JSON "\\ud800") is refused by
every reader of Claude Code's tool calls -- transcripts, claude-trace logs, hook payloads --
with a PlanError naming the input, the call and what to do, before anything is stored: never
an internal error when the plan is encoded. Run as a user runs it: `wopt ingest FILE --format F`
in a git workspace, a real process."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

WOPT = [sys.executable, "-m", "wopt.engine.cli.main"]
S = "\ud800"      # a lone high surrogate
LOW = "\udc80"    # a lone low surrogate (what surrogateescape makes of byte 0x80)
NB = {"cells": [{"cell_type": "code", "id": "c1", "source": "x", "metadata": {},
                 "execution_count": None, "outputs": []}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
FILES = {"a.txt": b"hello\nworld\n", "nb.ipynb": (json.dumps(NB, indent=1) + "\n").encode()}


def _ws(tmp_path: Path) -> Path:
    root = tmp_path / "shop"
    root.mkdir()
    for rel, data in FILES.items():
        (root / rel).write_bytes(data)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    return root


# (name, tool, input with paths relative to the workspace, call id, what the message names)
CALLS = [
    # MultiEdit: the surrogate is put in by one edit and taken out by the next (the fuzz find)
    ("multiedit-roundtrip", "MultiEdit", {"file_path": "a.txt", "edits": [
        {"old_string": "hello", "new_string": S}, {"old_string": S, "new_string": "bye"}]}, "t1", "edits[0].new_string"),
    ("multiedit-matching", "MultiEdit", {"file_path": "a.txt", "edits": [
        {"old_string": "hello", "new_string": "he" + S + "llo"}]}, "t1", "new_string"),
    ("multiedit-second-edit", "MultiEdit", {"file_path": "a.txt", "edits": [
        {"old_string": "hello", "new_string": "bye"}, {"old_string": "world", "new_string": "w" + S}]},
     "t1", "edits[1].new_string"),
    ("multiedit-create-new-file", "MultiEdit", {"file_path": "new.txt", "edits": [
        {"old_string": "", "new_string": S + "new\n"}]}, "t1", "new_string"),
    ("multiedit-empty-old-on-existing-file", "MultiEdit", {"file_path": "a.txt", "edits": [
        {"old_string": "", "new_string": "x" + S}]}, "t1", "new_string"),
    ("edit-matching", "Edit", {"file_path": "a.txt", "old_string": "world", "new_string": "world" + S}, "t1",
     "new_string"),
    ("edit-old-string", "Edit", {"file_path": "a.txt", "old_string": S, "new_string": "x"}, "t1", "old_string"),
    ("edit-create-new-file", "Edit", {"file_path": "d/new.py", "old_string": "", "new_string": S}, "t1",
     "new_string"),
    ("write-content", "Write", {"file_path": "w.txt", "content": "ok\n" + S}, "t1", "content"),
    ("write-low-surrogate", "Write", {"file_path": "w.txt", "content": LOW}, "t1", "content"),
    ("write-over-existing", "Write", {"file_path": "a.txt", "content": S}, "t1", "content"),
    ("notebook-new-source", "NotebookEdit", {"notebook_path": "nb.ipynb", "cell_id": "c1",
                                             "new_source": "print(1)" + S}, "t1", "new_source"),
    ("notebook-insert", "NotebookEdit", {"notebook_path": "nb.ipynb", "edit_mode": "insert",
                                         "cell_type": "markdown", "new_source": S}, "t1", "new_source"),
    ("path-low-surrogate", "Write", {"file_path": "a" + LOW + ".txt", "content": "x"}, "t1", "file_path"),
    ("tool-use-id", "Write", {"file_path": "w.txt", "content": "x"}, "t" + S, "id"),
]


def _abs(inp: dict, root: Path) -> dict:
    out = dict(inp)
    for k in ("file_path", "notebook_path"):
        if k in out:
            out[k] = f"{root}/{out[k]}"
    return out


def transcript(root: Path, tool: str, inp: dict, cid: str, *, session: str = "sess-1",
               at: str = "2026-01-01T00:00:00Z") -> str:
    recs = [{"type": "user", "sessionId": session, "cwd": str(root), "message": {"content": "go"}},
            {"type": "assistant", "sessionId": session, "cwd": str(root), "timestamp": at,
             "message": {"content": [{"type": "tool_use", "id": cid, "name": tool, "input": _abs(inp, root)}]}},
            {"type": "user", "sessionId": session, "message": {"content": [
                {"type": "tool_result", "tool_use_id": cid, "content": "ok"}]}}]
    return "\n".join(json.dumps(r) for r in recs) + "\n"


def trace(root: Path, tool: str, inp: dict, cid: str, *, at: str = "2026-01-01T00:00:00Z") -> str:
    msgs = [{"role": "user", "content": [{"type": "text", "text": "go"}]},
            {"role": "assistant", "content": [{"type": "tool_use", "id": cid, "name": tool, "input": _abs(inp, root)}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": cid, "content": "ok"}]}]
    line = {"request": {"body": {"system": f"Working directory: {root}", "messages": msgs}},
            "response": {"body": {"content": [{"type": "text", "text": "done"}]}}, "logged_at": at}
    return json.dumps(line) + "\n"


def hook(root: Path, tool: str, inp: dict, cid: str, *, session: str = "sess-1") -> str:
    return json.dumps({"session_id": session, "cwd": str(root), "hook_event_name": "PreToolUse",
                       "tool_name": tool, "tool_input": _abs(inp, root), "tool_use_id": cid}) + "\n"


MAKERS = {"claude-transcript": transcript, "claude-trace": trace, "claude-hook": hook}


def ingest_refused(root: Path, fmt: str, text: str, *names: str) -> str:
    """Run `wopt ingest` on `text` (JSON, ASCII-escaped) and check it is refused cleanly."""
    src = root.parent / "agent-log.jsonl"
    src.write_text(text, encoding="ascii")
    r = subprocess.run([*WOPT, "ingest", str(src), "--format", fmt, "--root", str(root)], cwd=root,
                       capture_output=True, text=True, errors="backslashreplace",
                       env={**os.environ, "COLUMNS": "200"})
    err = r.stderr
    assert r.returncode == 1, (r.returncode, r.stdout, err)
    assert "Traceback" not in err and "internal error" not in err, err
    assert "is not valid Unicode text" in err, err
    assert "re-run" in err, err                    # what to do
    assert str(src) in err, err                    # the input
    for n in names:                                # the call, the field
        assert n in err, (n, err)
    plans = root / ".wopt" / "plans"
    assert not plans.exists() or not list(plans.iterdir()), list(plans.iterdir())
    for rel, data in FILES.items():
        assert (root / rel).read_bytes() == data
    return err


@pytest.mark.parametrize("fmt", list(MAKERS))
@pytest.mark.parametrize("name,tool,inp,cid,what", CALLS, ids=[c[0] for c in CALLS])
def test_invalid_unicode_tool_input_is_refused(tmp_path, fmt, name, tool, inp, cid, what):
    root = _ws(tmp_path)
    label = f"{tool} {cid}" if cid.isascii() else tool
    ingest_refused(root, fmt, MAKERS[fmt](root, tool, inp, cid), label, what)


GOOD = ("Write", {"file_path": "w.txt", "content": "x\n"}, "t1")


@pytest.mark.parametrize("fmt", ["claude-transcript", "claude-hook"])
def test_invalid_unicode_session_id_is_refused(tmp_path, fmt):
    root = _ws(tmp_path)
    ingest_refused(root, fmt, MAKERS[fmt](root, *GOOD, session="s" + S), "session")


@pytest.mark.parametrize("fmt", ["claude-transcript", "claude-trace"])
def test_invalid_unicode_timestamp_is_refused(tmp_path, fmt):
    root = _ws(tmp_path)
    ingest_refused(root, fmt, MAKERS[fmt](root, *GOOD, at="2026" + S), "Write t1", "timestamp")


@pytest.mark.parametrize("fmt", list(MAKERS))
def test_the_same_calls_with_valid_text_are_stored(tmp_path, fmt):
    """The inputs above differ from ones wopt accepts only by the surrogate."""
    root = _ws(tmp_path)
    src = root.parent / "agent-log.jsonl"
    src.write_text(MAKERS[fmt](root, *GOOD) + MAKERS[fmt](root, "MultiEdit", {"file_path": "a.txt", "edits": [
        {"old_string": "hello", "new_string": "h\u00e9llo \U0001f600"}]}, "t2"))
    r = subprocess.run([*WOPT, "ingest", str(src), "--format", fmt, "--root", str(root)], cwd=root,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    [stored] = list((root / ".wopt" / "plans").glob("*.json"))
    plan = json.loads(stored.read_text(encoding="utf-8"))
    assert [s["path"] for s in plan["steps"]] == ["w.txt", "a.txt"]


# ------------------------------------------------------------------ the readers of patch text

PATCHES = {
    # a path whose name is not UTF-8 (git writes the byte as it is): a plan holds UTF-8 text only
    "diff": b"diff --git a/\xff.txt b/\xff.txt\nnew file mode 100644\n--- /dev/null\n+++ b/\xff.txt\n@@ -0,0 +1 @@\n+x\n",
    # text that is not UTF-8 at all (what a surrogate would be, encoded as surrogatepass does)
    "codex": "*** Begin Patch\n*** Add File: n.txt\n+\ud800\n*** End Patch\n".encode("utf-8", "surrogatepass"),
    "aider": "a.txt\n```\n<<<<<<< SEARCH\nhello\n=======\n\ud800\n>>>>>>> REPLACE\n```\n".encode("utf-8", "surrogatepass"),
}


@pytest.mark.parametrize("fmt", list(PATCHES))
def test_patch_text_that_is_not_unicode_is_refused(tmp_path, fmt):
    root = _ws(tmp_path)
    src = root.parent / "agent.patch"
    src.write_bytes(PATCHES[fmt])
    r = subprocess.run([*WOPT, "ingest", str(src), "--format", fmt, "--root", str(root)], cwd=root,
                       capture_output=True, text=True, errors="backslashreplace")
    assert r.returncode == 1, r.stderr
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr, r.stderr
    assert str(src) in r.stderr and ("not valid Unicode text" in r.stderr or "not UTF-8" in r.stderr), r.stderr
    plans = root / ".wopt" / "plans"
    assert not plans.exists() or not list(plans.iterdir())


def test_an_input_file_name_that_is_not_utf8_does_not_break_the_title(tmp_path):
    root = _ws(tmp_path)
    src = os.path.join(os.fsencode(tmp_path), b"\xff.diff")
    with open(src, "wb") as f:
        f.write(b"--- a/a.txt\n+++ b/a.txt\n@@ -1,2 +1,2 @@\n-hello\n+bye\n world\n")
    r = subprocess.run([*WOPT, "ingest", os.fsdecode(src), "--root", str(root)], cwd=root,
                       capture_output=True, text=True, errors="backslashreplace")
    assert r.returncode == 0, r.stderr
    [stored] = list((root / ".wopt" / "plans").glob("*.json"))
    assert json.loads(stored.read_text(encoding="utf-8"))["title"] == "diff \\udcff.diff"
