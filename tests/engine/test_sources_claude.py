"""Readers of Claude Code's output: PreToolUse payloads, session transcripts, claude-trace logs
(the shared samples, the real capture, and edge cases of our own)."""
from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from wopt.engine.store.effects import compute
from wopt.engine.model.errors import PathError, PlanError, StepError, UsageError, WoptError
from wopt.engine.model.plan import ABSENT, EditStep, WriteStep, decode_plan, encode_plan, sha256
from wopt.engine.sources import FORMATS, detect, read
from wopt.engine.store.workspace import Workspace

DATA = Path(__file__).resolve().parents[1] / "data" / "sources"
SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures"
BIN = Path(sys.executable).parent
WOPT = [str(BIN / "wopt")] if (BIN / "wopt").exists() else [sys.executable, "-m", "wopt.engine.cli.main"]

TOTALS = "def subtotal(items):\n    return sum(i.price * i.qty for i in items)\n"


def sample(name: str) -> bytes:
    """A shared sample (from ../shared/fixtures when present, else our copy)."""
    p = SHARED / name
    return p.read_bytes() if p.is_file() else (DATA / name).read_bytes()


def capture() -> bytes:
    p = SHARED / "real" / "claude-trace-capture.jsonl"
    return p.read_bytes() if p.is_file() else gzip.decompress((DATA / "claude-trace-capture.jsonl.gz").read_bytes())


def shop(tmp_path: Path, files: dict[str, str] | None = None) -> Workspace:
    """A workspace whose directory is named `shop`, like the samples' /home/dev/shop."""
    root = tmp_path / "shop"
    root.mkdir()
    for rel, text in (files or {}).items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(text.encode())
    return Workspace(root)


def payload(ws: Workspace, tool: str, inp: dict, call_id: str = "toolu_1", session: str = "sess-1") -> dict:
    return {"session_id": session, "transcript_path": "/dev/null", "cwd": str(ws.root),
            "permission_mode": "default", "hook_event_name": "PreToolUse", "tool_name": tool,
            "tool_input": inp, "tool_use_id": call_id}


def at(ws: Workspace, rel: str) -> str:
    return str(ws.root / rel)


def result(ws: Workspace, plan) -> dict[str, bytes | None]:
    out = compute(ws, plan)
    assert out.ok, (out.errors, out.stale)
    return {c.path: c.after for c in out.changes}


def as_hook_sample(name: str, ws: Workspace) -> bytes:
    """A shared PreToolUse sample with its /home/dev/shop paths moved into `ws`."""
    return sample(name).replace(b"/home/dev/shop", str(ws.root).encode())


# ------------------------------------------------------------------ hook payloads

def test_formats_list_every_reader():
    assert FORMATS == ("auto", "native", "claude-hook", "claude-transcript", "claude-trace", "diff",
                       "codex", "aider")


def test_write_sample_new_file(tmp_path):
    ws = shop(tmp_path)
    plan, fmt = read(as_hook_sample("claude_pretooluse_write.json", ws), "auto", ws)
    assert fmt == "claude-hook"
    assert plan.session_id == "5b2c8e1a-0d4f-4e6b-9a3c-2f7d1e8b6c40"
    [s] = plan.steps
    assert isinstance(s, WriteStep) and s.path == "src/cart/totals.py" and s.precondition == ABSENT
    assert s.origin[0].tool == "Write" and s.origin[0].call_id == "toolu_01WriteExample000000001"
    assert result(ws, plan) == {"src/cart/totals.py": TOTALS.encode()}


def test_edit_sample_precondition_is_disk(tmp_path):
    ws = shop(tmp_path, {"src/cart/totals.py": TOTALS})
    plan, _ = read(as_hook_sample("claude_pretooluse_edit.json", ws), "claude-hook", ws)
    [s] = plan.steps
    assert isinstance(s, EditStep) and s.precondition == sha256(TOTALS.encode())
    assert result(ws, plan)["src/cart/totals.py"] == \
        b"def subtotal(items):\n    return round(sum(i.price * i.qty for i in items), 2)\n"


def test_multiedit_sample_in_order_with_replace_all(tmp_path):
    ws = shop(tmp_path)
    (ws.root / "src/cart").mkdir(parents=True)
    (ws.root / "src/cart/totals.py").write_text(TOTALS + "def n(i):\n    return i.qty\n")
    plan, _ = read(as_hook_sample("claude_pretooluse_multiedit.json", ws), "claude-hook", ws)
    assert result(ws, plan)["src/cart/totals.py"] == (
        b'def subtotal(items, *, currency="EUR"):\n    return sum(i.price * i.quantity for i in items)\n'
        b"def n(i):\n    return i.quantity\n")


def test_notebook_edit_replace_insert_delete(tmp_path):
    ws = shop(tmp_path)
    nb = {"cells": [{"cell_type": "code", "id": "a1b2c3d4", "metadata": {}, "source": "old()",
                     "execution_count": 3, "outputs": [{"output_type": "stream", "text": "x"}]},
                    {"cell_type": "markdown", "id": "m1", "metadata": {}, "source": "# Notes"}],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (ws.root / "notebooks").mkdir()
    (ws.root / "notebooks/sales.ipynb").write_text(json.dumps(nb))
    replace = json.loads(as_hook_sample("claude_pretooluse_notebookedit.json", ws))
    insert = payload(ws, "NotebookEdit", {"notebook_path": at(ws, "notebooks/sales.ipynb"), "cell_id": "m1",
                                          "new_source": "print(1)", "cell_type": "code", "edit_mode": "insert"},
                     "toolu_ins")
    delete = payload(ws, "NotebookEdit", {"notebook_path": at(ws, "notebooks/sales.ipynb"), "cell_id": "m1",
                                          "new_source": "", "edit_mode": "delete"}, "toolu_del")
    data = "\n".join(json.dumps(p) for p in (replace, insert, delete)).encode()
    plan, _ = read(data, "auto", ws)
    [s] = plan.steps  # three calls on one notebook: one step
    assert [o.call_id for o in s.origin] == ["toolu_01NotebookExample00000004", "toolu_ins", "toolu_del"]
    out = json.loads(result(ws, plan)["notebooks/sales.ipynb"])
    assert [c["cell_type"] for c in out["cells"]] == ["code", "code"]
    assert out["cells"][0]["source"] == "import pandas as pd\ndf = pd.read_csv('sales.csv')"
    assert out["cells"][0]["outputs"] == [] and out["cells"][0]["execution_count"] is None
    assert out["cells"][1]["source"] == "print(1)"
    assert out["nbformat"] == 4


def test_notebook_edit_unknown_cell_names_it(tmp_path):
    ws = shop(tmp_path, {"nb_ipynb": json.dumps({"cells": []})})
    p = payload(ws, "NotebookEdit", {"notebook_path": at(ws, "nb_ipynb"), "cell_id": "zz", "new_source": "x"})
    with pytest.raises(StepError, match="nb_ipynb.*no cells|zz"):
        read(json.dumps(p).encode(), "claude-hook", ws)


def test_write_then_edits_fold_into_one_write_step(tmp_path):
    ws = shop(tmp_path)
    calls = [payload(ws, "Write", {"file_path": at(ws, "a.txt"), "content": "one\ntwo\n"}, "t1"),
             payload(ws, "Edit", {"file_path": at(ws, "a.txt"), "old_string": "one", "new_string": "ONE"}, "t2"),
             payload(ws, "MultiEdit", {"file_path": at(ws, "a.txt"), "edits": [
                 {"old_string": "ONE\n", "new_string": "ONE\n1.5\n"},
                 {"old_string": "two", "new_string": "TWO"}]}, "t3")]
    plan, _ = read("\n".join(map(json.dumps, calls)).encode(), "claude-hook", ws)
    [s] = plan.steps
    assert isinstance(s, WriteStep) and s.precondition == ABSENT
    assert s.content == "ONE\n1.5\nTWO\n"
    assert [o.call_id for o in s.origin] == ["t1", "t2", "t3"]


def test_edits_only_fold_into_one_edit_step_with_disk_precondition(tmp_path):
    ws = shop(tmp_path, {"f_txt": "a b c\n"})
    calls = [payload(ws, "Edit", {"file_path": at(ws, "f_txt"), "old_string": "a", "new_string": "A"}, "t1"),
             payload(ws, "Edit", {"file_path": at(ws, "f_txt"), "old_string": "A b", "new_string": "AB"}, "t2")]
    plan, _ = read(json.dumps(calls).encode(), "claude-hook", ws)
    [s] = plan.steps
    assert isinstance(s, EditStep) and len(s.edits) == 2 and s.precondition == sha256(b"a b c\n")
    assert result(ws, plan) == {"f_txt": b"AB c\n"}


def test_edit_text_missing_names_file_call_and_text(tmp_path):
    ws = shop(tmp_path, {"f_txt": "hello\n"})
    p = payload(ws, "Edit", {"file_path": at(ws, "f_txt"), "old_string": "goodbye", "new_string": "x"}, "toolu_X")
    with pytest.raises(StepError) as e:
        read(json.dumps(p).encode(), "claude-hook", ws)
    msg = str(e.value)
    assert "f_txt" in msg and "toolu_X" in msg and "'goodbye'" in msg and "not in the file" in msg


def test_edit_text_twice_without_replace_all(tmp_path):
    ws = shop(tmp_path, {"f_txt": "x = 1\nx = 1\n"})
    p = payload(ws, "Edit", {"file_path": at(ws, "f_txt"), "old_string": "x = 1", "new_string": "y"}, "toolu_T")
    with pytest.raises(StepError, match=r"toolu_T.*'x = 1' occurs 2 times"):
        read(json.dumps(p).encode(), "claude-hook", ws)
    p["tool_input"]["replace_all"] = True
    plan, _ = read(json.dumps(p).encode(), "claude-hook", ws)
    assert result(ws, plan) == {"f_txt": b"y\ny\n"}


def test_expected_replacements_of_older_claude_code(tmp_path):
    ws = shop(tmp_path, {"f_txt": "x x x\n"})
    p = payload(ws, "Edit", {"file_path": at(ws, "f_txt"), "old_string": "x", "new_string": "y",
                             "expected_replacements": 3})
    plan, _ = read(json.dumps(p).encode(), "claude-hook", ws)
    assert result(ws, plan) == {"f_txt": b"y y y\n"}
    p["tool_input"]["expected_replacements"] = 2
    with pytest.raises(StepError, match="occurs 3 times, expected 2"):
        read(json.dumps(p).encode(), "claude-hook", ws)
    p["tool_input"]["expected_replacements"] = 1
    with pytest.raises(StepError, match="occurs 3 times"):
        read(json.dumps(p).encode(), "claude-hook", ws)


def test_crlf_and_no_final_newline_kept_byte_for_byte(tmp_path):
    ws = shop(tmp_path)
    (ws.root / "w.txt").write_bytes(b"a\r\nb\r\nc")
    p = payload(ws, "Edit", {"file_path": at(ws, "w.txt"), "old_string": "b\r\nc", "new_string": "B\r\nC"})
    plan, _ = read(json.dumps(p).encode(), "claude-hook", ws)
    assert result(ws, plan) == {"w.txt": b"a\r\nB\r\nC"}


def test_unicode_path_and_empty_file(tmp_path):
    ws = shop(tmp_path)
    p = payload(ws, "Write", {"file_path": at(ws, "docs/héllo wörld ✓.md"), "content": ""})
    plan, _ = read(json.dumps(p, ensure_ascii=False).encode(), "claude-hook", ws)
    [s] = plan.steps
    assert s.path == "docs/héllo wörld ✓.md" and s.content == ""
    assert result(ws, plan) == {"docs/héllo wörld ✓.md": b""}


def test_outside_path_refused(tmp_path):
    ws = shop(tmp_path)
    for bad in ("/etc/passwd", str(ws.root / ".." / "x"), str(ws.root / ".git" / "config"),
                str(ws.root / ".wopt" / "plans" / "p.json")):
        p = payload(ws, "Write", {"file_path": bad, "content": "x"})
        with pytest.raises(PathError):
            read(json.dumps(p).encode(), "claude-hook", ws)


def test_malformed_payloads_are_wopt_errors(tmp_path):
    ws = shop(tmp_path)
    for data in (b"{", b"[1]", b'{"tool_name": 3}', b'{"tool_name": "Write", "tool_input": []}',
                 b'{"tool_name": "Write", "tool_input": {"file_path": "/x"}}', b"\xff\xfe"):
        with pytest.raises(WoptError):
            read(data, "claude-hook", ws)


def test_invalid_unicode_content_refused_not_crashed(tmp_path):
    ws = shop(tmp_path)
    data = b'{"tool_name": "Write", "tool_input": {"file_path": "' + str(ws.root).encode() + \
        b'/x.txt", "content": "bad \\ud800 surrogate"}}'
    with pytest.raises(PlanError, match="not valid Unicode"):
        read(data, "claude-hook", ws)


# ------------------------------------------------------------------ transcripts

def test_transcript_sample_skips_errored_calls_and_uses_what_the_agent_saw(tmp_path):
    ws = shop(tmp_path)
    (ws.root / "src/cart").mkdir(parents=True)
    (ws.root / "src/cart/totals.py").write_text(TOTALS)
    plan, fmt = read(sample("claude_transcript_sample.jsonl"), "auto", ws, name="t.jsonl")
    assert fmt == "claude-transcript" and plan.session_id.startswith("5b2c8e1a")
    assert [s.path for s in plan.steps] == ["src/cart/totals.py", "src/cart/tax.py"]  # not .env (denied)
    edit, write = plan.steps
    assert edit.precondition == sha256(TOTALS.encode())  # toolUseResult.originalFile
    assert write.precondition == ABSENT
    assert edit.origin[0].at == "2026-08-20T09:00:03.000Z"
    got = result(ws, plan)
    assert got["src/cart/tax.py"] == b"VAT = 0.2\n"
    assert b"round(" in got["src/cart/totals.py"]


def test_transcript_call_without_result_was_never_run(tmp_path):
    ws = shop(tmp_path)
    lines = [{"type": "assistant", "cwd": "/home/dev/shop", "message": {"content": [
        {"type": "tool_use", "id": "t1", "name": "Write", "input": {"file_path": "/home/dev/shop/a", "content": "A"}},
        {"type": "tool_use", "id": "t2", "name": "Write", "input": {"file_path": "/home/dev/shop/b", "content": "B"}}]}},
        {"type": "user", "message": {"content": [{"type": "tool_result", "tool_use_id": "t1", "content": "ok"}]}}]
    data = ("\n".join(map(json.dumps, lines)) + '\n{"truncated": ').encode()
    plan, _ = read(data, "claude-transcript", ws)
    assert [s.path for s in plan.steps] == ["a"]


# ------------------------------------------------------------------ claude-trace

def test_trace_sample_joins_streamed_fragments_and_keeps_the_unanswered_call(tmp_path):
    ws = shop(tmp_path)
    (ws.root / "src/cart").mkdir(parents=True)
    (ws.root / "src/cart/totals.py").write_text(TOTALS)
    plan, fmt = read(sample("claude_trace_sample.jsonl"), "auto", ws)
    assert fmt == "claude-trace"
    # the Edit has a result in a later request; the log ends before the streamed Write's
    # result: it is kept (it may have run), and its origin says the result is not in the log
    assert [s.path for s in plan.steps] == ["src/cart/totals.py", "src/cart/tax.py"]
    assert "result is not in the log" not in (plan.steps[0].origin[0].summary or "")
    assert plan.steps[1].origin[0].summary.endswith("its result is not in the log")
    assert plan.steps[1].content == "VAT = 0.2\n"
    # a log where the streamed Write's result came back keeps it, without the note
    line2 = json.loads(sample("claude_trace_sample.jsonl").splitlines()[1])
    line2["request"]["body"]["messages"] = [{"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "toolu_01WriteExample000000001b", "content": "ok"}]}]
    data = sample("claude_trace_sample.jsonl").splitlines()[0] + b"\n" + json.dumps(line2).encode()
    plan, _ = read(data, "claude-trace", ws)
    assert [s.path for s in plan.steps] == ["src/cart/totals.py", "src/cart/tax.py"]
    assert plan.steps[1].content == "VAT = 0.2\n"
    assert "result is not in the log" not in (plan.steps[1].origin[0].summary or "")
    # and one whose result says it errored drops it: it wrote nothing
    line2["request"]["body"]["messages"][0]["content"][0]["is_error"] = True
    data = sample("claude_trace_sample.jsonl").splitlines()[0] + b"\n" + json.dumps(line2).encode()
    plan, _ = read(data, "claude-trace", ws)
    assert [s.path for s in plan.steps] == ["src/cart/totals.py"]


def test_real_capture_one_plan_one_step_four_calls(tmp_path):
    ws = Workspace(tmp_path)
    plan, fmt = read(capture(), "auto", ws, name="capture.jsonl")
    assert fmt == "claude-trace"
    [s] = plan.steps
    assert s.path == "weather/index.html" and isinstance(s, WriteStep) and s.precondition == ABSENT
    assert [o.tool for o in s.origin] == ["Write", "Edit", "Edit", "Edit"]
    assert len({o.call_id for o in s.origin}) == 4


def _capture_edits() -> list[dict]:
    edits = {}
    for line in capture().splitlines():
        body = json.loads(line)["request"].get("body") or {}
        for m in body.get("messages", []):
            for b in m.get("content", []) if isinstance(m.get("content"), list) else []:
                if b.get("type") == "tool_use" and b.get("name") == "Edit":
                    edits[b["id"]] = b["input"]
    return list(edits.values())


def test_real_capture_applied_to_empty_workspace_holds_last_edit(tmp_path):
    root = tmp_path / "ws"
    root.mkdir()
    src = tmp_path / "capture.jsonl"
    src.write_bytes(capture())
    env = {**os.environ, "COLUMNS": "200"}
    r = subprocess.run([*WOPT, "ingest", str(src), "--root", str(root)], capture_output=True, env=env)
    assert r.returncode == 0, r.stderr.decode()
    assert b"claude-trace" in r.stderr
    pid = r.stdout.decode().strip()
    r = subprocess.run([*WOPT, "list", "--json", "--root", str(root)], capture_output=True, env=env)
    [row] = json.loads(r.stdout)
    assert row["id"] == pid and row["steps"] == 1
    r = subprocess.run([*WOPT, "apply", pid, "--yes", "--root", str(root)], capture_output=True, env=env)
    assert r.returncode == 0, r.stderr.decode()
    html = (root / "weather/index.html").read_text()
    last = _capture_edits()[-1]
    assert last["new_string"] in html
    assert last["old_string"] not in html
    assert html.startswith("<!DOCTYPE html>")


# ------------------------------------------------------------------ detection and the CLI

def test_detect_each_sample():
    assert detect(sample("claude_pretooluse_edit.json")) == "claude-hook"
    assert detect(sample("claude_transcript_sample.jsonl")) == "claude-transcript"
    assert detect(sample("claude_trace_sample.jsonl")) == "claude-trace"
    assert detect(sample("codex_patch_add_update_delete_move.txt")) == "codex"
    assert detect(sample("aider_search_replace.txt")) == "aider"
    assert detect(sample("aider_search_replace_diff_fenced.txt")) == "aider"
    assert detect(sample("aider_udiff.txt")) == "aider"
    assert detect(sample("git_rename_modechange.diff")) == "diff"
    assert detect(b'{"version": 1, "steps": []}') == "native"
    with pytest.raises(UsageError, match="--format"):
        detect(b"just some prose\n")


def test_cli_mismatched_edit_stores_no_plan(tmp_path):
    root = tmp_path / "ws"
    root.mkdir()
    (root / "f.txt").write_text("hello\n")
    p = {"tool_name": "Edit", "tool_use_id": "toolu_Z", "cwd": str(root),
         "tool_input": {"file_path": str(root / "f.txt"), "old_string": "bye", "new_string": "x"}}
    r = subprocess.run([*WOPT, "ingest", "-", "--root", str(root)], input=json.dumps(p).encode(),
                       capture_output=True)
    assert r.returncode == 1
    err = r.stderr.decode()
    assert "f.txt" in err and "toolu_Z" in err and "'bye'" in err and "Traceback" not in err
    assert not list(root.glob(".wopt/plans/*.json"))


def test_plan_round_trips_through_the_model(tmp_path):
    ws = shop(tmp_path, {"f_txt": "a\n"})
    p = payload(ws, "Edit", {"file_path": at(ws, "f_txt"), "old_string": "a", "new_string": "b"})
    plan, _ = read(json.dumps(p).encode(), "claude-hook", ws)
    again = decode_plan(encode_plan(plan))
    assert again.steps[0].origin[0].call_id == "toolu_1"
