"""`wopt mcp` end to end: the official SDK's own client (`mcp.ClientSession` over
`stdio_client`) runs `wopt mcp` as a subprocess in a temp workspace, proposes plans, reads
their status and waits for the person's decisions made with `wopt approve/reject`."""
from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import anyio
import mcp.types as types
import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

from wopt.engine.store import spool
from wopt.engine.store.effects import compute
from wopt.engine.model.plan import ABSENT, sha256
from wopt.engine.store.workspace import Workspace

BIN = Path(sys.executable).parent
WOPT = [str(BIN / "wopt")] if (BIN / "wopt").exists() else [sys.executable, "-m", "wopt.engine.cli.main"]
CLIENT = "acme-agent"


@pytest.fixture
def root(tmp_path) -> Path:
    r = tmp_path / "shop"
    (r / ".git").mkdir(parents=True)
    (r / "app.py").write_text("def f():\n    return 1\n")
    return r


def session(root: Path, body):
    """Run `body(client)` against `wopt mcp` started in `root`, as the client named CLIENT."""
    async def main():
        params = StdioServerParameters(command=WOPT[0], args=[*WOPT[1:], "mcp"], cwd=str(root))
        with open(root.parent / "mcp-stderr.txt", "w") as err:
            async with stdio_client(params, errlog=err) as (r, w):
                async with ClientSession(r, w, client_info=types.Implementation(name=CLIENT, version="1.0")) as c:
                    await c.initialize()
                    return await body(c)
    return anyio.run(main)


async def call(c: ClientSession, tool: str, args: dict, *, error: bool = False):
    res = await c.call_tool(tool, args)
    assert res.is_error == error, res.content
    if error:
        return res.content[0].text
    data = json.loads(res.content[0].text)
    assert res.structured_content in (None, data)
    return data


def test_propose_files_and_edits_status_and_errors(root):
    ws = Workspace(root)

    async def body(c):
        names = {t.name for t in (await c.list_tools()).tools}
        assert {"propose_plan", "plan_status", "wait_for_decision"} <= names
        st = await call(c, "propose_plan", {
            "title": "Return two",
            "files": [{"path": "docs/notes.md", "content": "# Notes\n"}],
            "edits": [{"path": "app.py", "old_string": "return 1", "new_string": "return 2"},
                      {"path": "docs/notes.md", "old_string": "# Notes", "new_string": "# Notes on f"}]})
        pid = st["plan"]
        assert st["agent"] == CLIENT and st["state"] == "pending" and st["pending"] == 2
        assert [(s["path"], s["decision"]) for s in st["steps"]] == [("docs/notes.md", "pending"), ("app.py", "pending")]
        assert await call(c, "plan_status", {"plan_id": pid}) == st
        # errors are tool errors naming what is wrong; the server keeps serving
        why = await call(c, "propose_plan", {"files": [{"path": "../escape.txt", "content": "x"}]}, error=True)
        assert "../escape.txt" in why and "workspace" in why
        why = await call(c, "propose_plan", {"edits": [{"path": "app.py", "old_string": "nope", "new_string": "x"}]},
                         error=True)
        assert "app.py" in why and "'nope'" in why
        why = await call(c, "propose_plan", {"plan": {"steps": [{"kind": "write"}]}}, error=True)
        assert "steps[0]" in why
        why = await call(c, "propose_plan", {}, error=True)
        assert "nothing proposed" in why
        for bad in ("no-such-plan", "../../etc/passwd", str(root / "app.py")):
            assert "no plan" in await call(c, "plan_status", {"plan_id": bad}, error=True)
        return pid

    pid = session(root, body)
    plan = spool.load_plan(ws, pid)
    assert plan.source == "mcp" and plan.agent == CLIENT and plan.title == "Return two"
    notes, app = plan.steps
    assert notes.precondition == ABSENT and app.precondition == sha256(b"def f():\n    return 1\n")
    after = {ch.path: ch.after for ch in compute(ws, plan).changes}
    assert after == {"docs/notes.md": b"# Notes on f\n", "app.py": b"def f():\n    return 2\n"}
    assert (root / "app.py").read_text() == "def f():\n    return 1\n" and not (root / "docs").exists()
    assert [e.id for e in spool.list_plans(ws)] == [pid]       # the refused proposals stored nothing


def test_native_plan_wait_for_decision_and_apply(root):
    ws = Workspace(root)
    native = {"version": 1, "id": "acme-1", "title": "Native",
              "steps": [{"kind": "write", "id": "w1", "path": "a.txt", "content": "a\n"},
                        {"kind": "write", "id": "w2", "path": "b.txt", "content": "b\n"}]}

    def decide_later():
        time.sleep(1.0)
        subprocess.run([*WOPT, "approve", "acme-1", "w1", "--root", str(root)], check=True, capture_output=True)
        subprocess.run([*WOPT, "reject", "acme-1", "w2", "--reason", "no b yet", "--root", str(root)],
                       check=True, capture_output=True)

    async def body(c):
        st = await call(c, "propose_plan", {"plan": native})
        assert st["plan"] == "acme-1" and st["agent"] == CLIENT
        why = await call(c, "propose_plan", {"plan": native}, error=True)
        assert "already" in why
        t0 = time.monotonic()
        st = await call(c, "wait_for_decision", {"plan_id": "acme-1", "timeout_seconds": 0.3})
        assert st["timed_out"] is True and st["state"] == "pending" and time.monotonic() - t0 < 10
        th = threading.Thread(target=decide_later)
        th.start()
        st = await call(c, "wait_for_decision", {"plan_id": "acme-1", "timeout_seconds": 60})
        th.join()
        assert st["timed_out"] is False and st["state"] == "decided"
        assert {s["id"]: (s["decision"], s.get("reason")) for s in st["steps"]} == \
            {"w1": ("approved", None), "w2": ("rejected", "no b yet")}
        r = subprocess.run([*WOPT, "apply", "acme-1", "--yes", "--root", str(root)], capture_output=True)
        assert r.returncode == 0, r.stderr.decode()
        st = await call(c, "wait_for_decision", {"plan_id": "acme-1", "timeout_seconds": 5})
        assert st["state"] == "applied" and len(st["applied"]) == 1
        return st

    session(root, body)
    assert (root / "a.txt").read_text() == "a\n" and not (root / "b.txt").exists()
    assert spool.load_plan(ws, "acme-1").source == "mcp"


def test_other_commands_do_not_import_the_sdk():
    code = ("import sys; from wopt.engine.cli.main import build_parser; build_parser(); "
            "sys.exit(1 if [m for m in sys.modules if m == 'mcp' or m.startswith('mcp.')] else 0)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
