"""wopt in other agents' write paths: the Codex CLI and Gemini CLI hooks, their installers,
and `wopt mcp`, an MCP server for agents without hooks.

Each hook module reads one payload on stdin and answers in its agent's wire format, exit 0,
through `common.run` (queue and gate as in `wopt hook claude`, every error a deny). Imports
stay light: a hook runs on every agent write, and `mcp` is imported only by `wopt mcp`.
"""
