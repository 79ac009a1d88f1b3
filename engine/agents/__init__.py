"""wopt in agents' write paths: the Claude Code, Codex CLI and Gemini CLI hooks, their
installers, and `wopt mcp`, an MCP server for agents without hooks.

Owns: `hook` (the shell every hook shares, session plans, queue and gate mode),
`claude_settings`, `common`, `codex_hook`, `gemini_hook`, `install`, `mcp_server`, `mcp_app`.
Each hook module reads one payload on stdin and answers in its agent's wire format, exit 0,
(queue and gate as in `wopt hook claude`, every error a deny). Imports stay light: a hook
runs on every agent write, and `mcp` is imported only by `wopt mcp`.
May import: every engine layer but the CLI.
"""
