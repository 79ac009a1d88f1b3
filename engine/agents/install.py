"""Installing wopt's write hook into Codex CLI and Gemini CLI configuration.

- Codex: `PreToolUse` for `apply_patch` in `.codex/hooks.json` (project: under the workspace;
  user: `$CODEX_HOME` or `~/.codex`). Timeout in seconds (Codex's default is 600).
- Gemini: `BeforeTool` for `^(write_file|replace)$` in `.gemini/settings.json` (project) or
  `~/.gemini/settings.json` (user). Timeout in milliseconds (Gemini's default is 60,000).

The entry is merged in: everything else in the file stays as it was (the file's own indent is
kept); installing again replaces wopt's entry (idempotent, and switches the mode); uninstall
takes out wopt's entries only, and containers they leave empty. A gate's timeout is set 30 s
above the time the hook waits for a person, so wopt answers before the agent gives up (both
agents let a write through when a hook times out).
"""
from __future__ import annotations

import json
import os
import re
import shlex
from pathlib import Path

from ..model.errors import UsageError, WoptError

AGENTS = ("codex", "gemini")
SCOPES = ("project", "user")
QUEUE_TIMEOUT = 30          # seconds: queueing is quick, but waits for the plan lock
GATE_MARGIN = 30            # the hook's own wait ends this long before the agent gives up
GEMINI_MATCHER = "^(write_file|replace)$"
CODEX_MATCHER = "apply_patch"
GEMINI_NAME = "wopt-write-gate"


def config_path(agent: str, scope: str, root: Path) -> Path:
    if scope not in SCOPES:
        raise UsageError(f"unknown scope {scope!r} (known: {', '.join(SCOPES)})")
    if agent == "codex":
        home = os.environ.get("CODEX_HOME") or os.path.join(os.path.expanduser("~"), ".codex")
        return (Path(root) / ".codex" if scope == "project" else Path(home)) / "hooks.json"
    if agent == "gemini":
        base = Path(root) if scope == "project" else Path(os.path.expanduser("~"))
        return base / ".gemini" / "settings.json"
    raise UsageError(f"unknown agent {agent!r} (known: claude, {', '.join(AGENTS)})")


def hook_command(agent: str, mode: str, gate_timeout: float | None = None, base: list[str] | None = None) -> str:
    from .claude_settings import wopt_command
    argv = list(base or wopt_command()) + ["hook", agent, "--mode", mode]
    if mode == "gate" and gate_timeout is not None:
        argv += ["--timeout", f"{gate_timeout:g}"]
    return " ".join(shlex.quote(a) for a in argv)


def is_wopt_hook(agent: str, h) -> bool:
    if not isinstance(h, dict):
        return False
    cmd = h.get("command")
    if isinstance(cmd, str) and "wopt" in cmd and re.search(rf"\bhook {agent}\b", cmd):
        return True
    return agent == "gemini" and h.get("name") == GEMINI_NAME


def event(agent: str) -> str:
    return "PreToolUse" if agent == "codex" else "BeforeTool"


def entry(agent: str, mode: str, gate_timeout: float, base: list[str] | None = None) -> dict:
    """wopt's matcher group for the agent's config."""
    secs = QUEUE_TIMEOUT if mode == "queue" else gate_timeout + GATE_MARGIN
    cmd = hook_command(agent, mode, gate_timeout, base)
    what = "queueing file writes for review" if mode == "queue" else "waiting for a review of this write"
    if agent == "codex":
        return {"matcher": CODEX_MATCHER,
                "hooks": [{"type": "command", "command": cmd, "timeout": int(secs),
                           "statusMessage": f"wopt: {what}"}]}
    return {"matcher": GEMINI_MATCHER, "sequential": True,
            "hooks": [{"name": GEMINI_NAME, "type": "command", "command": cmd, "timeout": int(secs * 1000),
                       "description": f"wopt: {what} (wopt-tui or wopt approve/reject)"}]}


# ---------------------------------------------------------------------------- the file

def _indent(raw: str):
    m = re.search(r"\n([ \t]+)\S", raw)
    if not m:
        return 2
    ws = m.group(1)
    return "\t" if ws.startswith("\t") else len(ws)


def load_config(path: Path) -> tuple[dict, object]:
    """An agent's JSON config file as a dict (empty when absent or blank) and its indent."""
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}, 2
    except (OSError, UnicodeDecodeError) as e:
        raise WoptError(f"{path}: cannot read ({getattr(e, 'strerror', None) or e})") from None
    if not raw.strip():
        return {}, 2
    try:
        data = json.loads(raw)
    except ValueError as e:
        raise WoptError(f"{path}: not valid JSON ({e})", hint="fix or remove the file; nothing was changed") from None
    if not isinstance(data, dict):
        raise WoptError(f"{path}: is not a JSON object", hint="fix or remove the file; nothing was changed")
    return data, _indent(raw)


def save_config(path: Path, data: dict, indent) -> None:
    from ..store.spool import atomic_write
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, (json.dumps(data, indent=indent, ensure_ascii=False) + "\n").encode("utf-8"))


def strip_hooks(data: dict, path: Path, ev: str, is_ours) -> bool:
    """Take the hook entries `is_ours` recognises out of `data["hooks"][ev]`, and the
    containers they leave empty; True if there were any."""
    hooks = data.get("hooks")
    if hooks is None:
        return False
    if not isinstance(hooks, dict):
        raise WoptError(f"{path}: \"hooks\" is not an object", hint="fix the file; nothing was changed")
    groups = hooks.get(ev)
    if not isinstance(groups, list):
        return False
    removed = False
    kept = []
    for g in groups:
        if isinstance(g, dict) and isinstance(g.get("hooks"), list):
            keep = [h for h in g["hooks"] if not is_ours(h)]
            if len(keep) != len(g["hooks"]):
                removed = True
                if not keep:
                    continue
                g = {**g, "hooks": keep}
        kept.append(g)
    if kept:
        hooks[ev] = kept
    else:
        hooks.pop(ev, None)
    if not hooks:
        data.pop("hooks", None)
    return removed


def _strip(agent: str, data: dict, path: Path) -> bool:
    return strip_hooks(data, path, event(agent), lambda h: is_wopt_hook(agent, h))


def install(agent: str, path: Path, mode: str = "queue", gate_timeout: float | None = None, *,
            base: list[str] | None = None) -> dict:
    """Merge wopt's hook into the config file at `path`; returns the hook entry written."""
    if mode not in ("queue", "gate"):
        raise UsageError(f"unknown mode {mode!r} (known: queue, gate)")
    if gate_timeout is None:
        gate_timeout = default_gate_timeout(agent)
    data, indent = load_config(path)
    _strip(agent, data, path)
    hooks = data.setdefault("hooks", {})
    groups = hooks.setdefault(event(agent), [])
    if not isinstance(groups, list):
        raise WoptError(f"{path}: hooks.{event(agent)} is not a list", hint="fix the file; nothing was changed")
    e = entry(agent, mode, gate_timeout, base)
    groups.append(e)
    save_config(path, data, indent)
    return e["hooks"][0]


def uninstall(agent: str, path: Path) -> bool:
    """Take wopt's hook out of the config file; False if it was not there. A Codex hooks.json
    left with nothing in it is removed."""
    if not path.exists():
        return False
    data, indent = load_config(path)
    if not _strip(agent, data, path):
        return False
    if not data and agent == "codex":
        path.unlink()
        return True
    save_config(path, data, indent)
    return True


def default_gate_timeout(agent: str) -> float:
    if agent == "codex":
        from .codex_hook import DEFAULT_GATE_TIMEOUT
        return DEFAULT_GATE_TIMEOUT
    from .gemini_hook import DEFAULT_GATE_TIMEOUT as gem
    return max(gem, 570.0)  # installed, the timeout is raised with it: a person needs minutes


def notes(agent: str, path: Path, scope: str) -> list[str]:
    """What the person should know after an install: hooks turned off, trust steps."""
    out: list[str] = []
    if agent == "codex":
        toml = path.parent / "config.toml"
        try:
            import tomllib
            cfg = tomllib.loads(toml.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            cfg = {}
        feats = cfg.get("features")
        if not isinstance(feats, dict):
            feats = {}
        if feats.get("hooks") is False or feats.get("codex_hooks") is False:
            out.append(f"{toml} turns hooks off ([features] hooks = false): turn them on for wopt's hook to run")
        pre = ((cfg.get("hooks") or {}).get("PreToolUse") if isinstance(cfg.get("hooks"), dict) else None) or []
        if any(is_wopt_hook(agent, h) for g in pre if isinstance(g, dict) for h in (g.get("hooks") or [])):
            out.append(f"{toml} has a wopt hook of its own in [hooks]: remove it, or both run")
        out.append("Codex runs a new hook only once you trust it: review it under /hooks in Codex"
                   + (" (and trust the project's .codex/ folder)" if scope == "project" else ""))
    else:
        try:
            data, _ = load_config(path)
        except WoptError:
            data = {}
        hc = data.get("hooksConfig")
        if not isinstance(hc, dict):
            hc = {}
        if hc.get("enabled") is False:
            out.append(f"{path} turns hooks off (hooksConfig.enabled = false): turn them on for wopt's hook to run")
        if GEMINI_NAME in (hc.get("disabled") or []):
            out.append(f"{path} disables {GEMINI_NAME} (hooksConfig.disabled): take it out of that list")
        if scope == "project":
            out.append("Gemini CLI runs project hooks only in a trusted folder; restart Gemini CLI to load the hook")
    return out
