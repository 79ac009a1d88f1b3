"""Installing wopt's PreToolUse hook into Claude Code's settings files.

Scopes: project `.claude/settings.json`, local `.claude/settings.local.json` (both under the
workspace), user `~/.claude/settings.json`. The hook entry is merged in: everything else in the
file stays as it was; installing again replaces wopt's own entry (idempotent, and switches the
mode); `uninstall` takes it out and drops containers it leaves empty.
"""
from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import Path

from ..model.errors import UsageError, WoptError

MATCHER = "Write|Edit|MultiEdit|NotebookEdit"
SCOPES = ("project", "local", "user")
QUEUE_TIMEOUT = 30          # seconds: queueing is quick, but waits for the plan lock
GATE_MARGIN = 30            # the hook's own wait ends this long before Claude Code gives up


def settings_path(scope: str, root: Path) -> Path:
    if scope == "project":
        return Path(root) / ".claude" / "settings.json"
    if scope == "local":
        return Path(root) / ".claude" / "settings.local.json"
    if scope == "user":
        return Path(os.path.expanduser("~")) / ".claude" / "settings.json"
    raise UsageError(f"unknown scope {scope!r} (known: {', '.join(SCOPES)})")


def wopt_command() -> list[str]:
    """How Claude Code should run wopt: the `wopt` script beside this Python, else on PATH,
    else `python -m`."""
    exe = Path(sys.executable)
    cand = exe.with_name("wopt")
    if cand.is_file() and os.access(cand, os.X_OK):
        return [str(cand)]
    found = shutil.which("wopt")
    if found:
        return [found]
    return [sys.executable, "-m", "wopt.engine.cli.main"]


def hook_command(mode: str, gate_timeout: float | None = None, base: list[str] | None = None) -> str:
    argv = list(base or wopt_command()) + ["hook", "claude", "--mode", mode]
    if mode == "gate" and gate_timeout is not None:
        argv += ["--timeout", f"{gate_timeout:g}"]
    return " ".join(shlex.quote(a) for a in argv)


def is_wopt_hook(h) -> bool:
    return isinstance(h, dict) and isinstance(h.get("command"), str) and " hook claude" in h["command"] \
        and "wopt" in h["command"]


def _load(path: Path) -> dict:
    from .install import load_config
    return load_config(path)[0]


def _strip(settings: dict, path: Path) -> bool:
    """Remove wopt's hook entries; True if something was removed."""
    from .install import strip_hooks
    return strip_hooks(settings, path, "PreToolUse", is_wopt_hook)


def _save(path: Path, settings: dict) -> None:
    from .install import save_config
    save_config(path, settings, 2)


def install(path: Path, mode: str = "queue", gate_timeout: float = 570, *, base: list[str] | None = None) -> dict:
    """Merge wopt's hook into the settings file at `path`; returns the entry written."""
    if mode not in ("queue", "gate"):
        raise UsageError(f"unknown mode {mode!r} (known: queue, gate)")
    settings = _load(path)
    _strip(settings, path)
    hook = {"type": "command", "command": hook_command(mode, gate_timeout, base),
            "timeout": int(QUEUE_TIMEOUT if mode == "queue" else gate_timeout + GATE_MARGIN)}
    hooks = settings.setdefault("hooks", {})
    pre = hooks.setdefault("PreToolUse", [])
    if not isinstance(pre, list):
        raise WoptError(f"{path}: hooks.PreToolUse is not a list", hint="fix the file; nothing was changed")
    pre.append({"matcher": MATCHER, "hooks": [hook]})
    _save(path, settings)
    return hook


def uninstall(path: Path) -> bool:
    """Take wopt's hook out of the settings file; False if it was not there."""
    if not path.exists():
        return False
    settings = _load(path)
    if not _strip(settings, path):
        return False
    _save(path, settings)
    return True
