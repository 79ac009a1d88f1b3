"""The MCP side of `wopt mcp`: the SDK's `MCPServer` with wopt's three tools over the engine
functions of `mcp_server`. Imported only by `wopt mcp` (the SDK costs a lot to import), and
without postponed annotations: the SDK reads the tools' signatures to build their schemas."""
import time
from typing import Any

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from ..model.errors import WoptError
from .mcp_server import DEFAULT_WAIT, INSTRUCTIONS, MAX_WAIT, POLL, client_name, propose, status


class FileWrite(BaseModel):
    path: str = Field(description="workspace-relative path (or absolute inside the workspace)")
    content: str = Field(description="the file's whole new content")


class FileEdit(BaseModel):
    path: str = Field(description="workspace-relative path of an existing (or just proposed) file")
    old_string: str = Field(description="exact text to replace; it must occur once unless replace_all")
    new_string: str = Field(description="the replacement text")
    replace_all: bool = Field(default=False, description="replace every occurrence")


def _guard(fn, *a, **kw):
    try:
        return fn(*a, **kw)
    except WoptError as e:   # what, where and what to do, as a tool error the model reads
        raise ToolError(str(e)) from None


def build(ws) -> MCPServer:
    """The MCP server for workspace `ws`."""
    server = MCPServer("wopt", instructions=INSTRUCTIONS, log_level="WARNING")

    @server.tool(description="Propose file changes for a person to review in wopt (nothing is written now). "
                 "Give files (whole new content), edits (old_string -> new_string) and deletes, applied in "
                 "that order and folded into one step per file; or `plan`, a plan in wopt's JSON format "
                 "(`wopt schema`). Returns the plan id, its steps and their state.")
    async def propose_plan(ctx: Context, title: str = "", files: list[FileWrite] | None = None,
                           edits: list[FileEdit] | None = None, deletes: list[str] | None = None,
                           plan: dict[str, Any] | None = None) -> dict[str, Any]:
        agent = client_name(ctx)
        return await anyio.to_thread.run_sync(lambda: _guard(
            propose, ws, agent, title=title, plan=plan, files=[f.model_dump() for f in files or []],
            edits=[e.model_dump() for e in edits or []], deletes=list(deletes or [])))

    @server.tool(description="A plan's state (pending, decided, applied) and each step's decision "
                 "(approved, rejected, pending) with the person's reason.")
    async def plan_status(plan_id: str) -> dict[str, Any]:
        return await anyio.to_thread.run_sync(lambda: _guard(status, ws, plan_id))

    @server.tool(description="Wait until the person has decided every step of a plan (or applied it), at "
                 f"most timeout_seconds (default {DEFAULT_WAIT:g}, at most {MAX_WAIT:g}); then the plan's "
                 "status, with timed_out true if the wait ended first.")
    async def wait_for_decision(plan_id: str, timeout_seconds: float = DEFAULT_WAIT) -> dict[str, Any]:
        deadline = time.monotonic() + max(0.0, min(float(timeout_seconds), MAX_WAIT))
        while True:
            st = await anyio.to_thread.run_sync(lambda: _guard(status, ws, plan_id))
            if st["state"] != "pending" or time.monotonic() >= deadline:
                st["timed_out"] = st["state"] == "pending"
                return st
            await anyio.sleep(min(POLL, max(0.0, deadline - time.monotonic())))

    return server
