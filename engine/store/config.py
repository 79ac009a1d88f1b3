"""The user's configuration and the theme files: the only file reading the review app needs
besides the spool. The app (tui/) does no file I/O of its own, so it asks here.

`$XDG_CONFIG_HOME/wopt/config.toml` (default `~/.config/wopt/config.toml`):

    theme = "wopt-light"              # a built-in theme or one in ~/.config/wopt/themes/

    [keys]                             # binding id -> keys (comma separated for several)
    "review.approve" = "y"
    "review.reject" = "x,delete"

Theme files are TOML: `name`, `dark` (bool) and the colours Textual's `Theme` takes
(`primary`, `secondary`, `accent`, `background`, `surface`, `panel`, `foreground`, `success`,
`warning`, `error`, `boost`) plus an optional `[variables]` table.
"""
from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..model.errors import WoptError

THEME_FIELDS = ("primary", "secondary", "accent", "foreground", "background", "surface",
                "panel", "boost", "warning", "error", "success")


@dataclass
class Config:
    """The user's settings as read: the theme's name and binding id -> keys (comma separated)."""

    theme: str | None = None
    keys: dict[str, str] = field(default_factory=dict)
    file: str | None = None          # where it was read from, for messages
    problems: list[str] = field(default_factory=list)   # non-fatal problems, shown to the user


def config_dir(env: Mapping[str, str] | None = None) -> Path:
    e: Mapping[str, str] = os.environ if env is None else env
    base = e.get("XDG_CONFIG_HOME") or ""
    root = Path(base) if base else Path(e.get("HOME") or Path.home()) / ".config"
    return root / "wopt"


def config_path(env: Mapping[str, str] | None = None) -> Path:
    return config_dir(env) / "config.toml"


def load_config(path: str | os.PathLike[str] | None = None, *, env: Mapping[str, str] | None = None) -> Config:
    """Read the user's config. A missing file is an empty config; a broken one raises
    WoptError naming the file and what is wrong; unknown or ill-typed entries are skipped
    and listed in `problems`."""
    p = Path(path) if path is not None else config_path(env)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        return Config()
    except OSError as e:
        raise WoptError(f"{p}: cannot read the config ({e.strerror})") from None
    try:
        raw = tomllib.loads(data.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise WoptError(f"{p}: not valid TOML ({e})", hint="fix or delete the file") from None
    cfg = Config(file=str(p))
    theme = raw.get("theme")
    if theme is not None:
        if isinstance(theme, str) and theme:
            cfg.theme = theme
        else:
            cfg.problems.append(f"{p}: theme must be a name (a string); ignored")
    keys = raw.get("keys", {})
    if not isinstance(keys, dict):
        cfg.problems.append(f"{p}: [keys] must be a table of binding id = \"keys\"; ignored")
        keys = {}
    for k, v in keys.items():
        if isinstance(v, list) and all(isinstance(x, str) for x in v):
            v = ",".join(v)
        if not isinstance(v, str) or not v.strip():
            cfg.problems.append(f"{p}: keys.{k} must be a key name such as \"y\" or \"ctrl+y\"; ignored")
            continue
        cfg.keys[str(k)] = v.replace(" ", "")
    for k in raw:
        if k not in ("theme", "keys"):
            cfg.problems.append(f"{p}: unknown setting {k!r}; ignored")
    return cfg


@dataclass
class ThemeSpec:
    """A theme file as read: `colors` holds the THEME_FIELDS it sets."""

    name: str
    dark: bool
    colors: dict[str, str]
    variables: dict[str, str]
    file: str


def _theme_from_toml(data: bytes, file: str) -> ThemeSpec:
    try:
        raw = tomllib.loads(data.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise WoptError(f"{file}: not a valid theme file ({e})") from None
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise WoptError(f"{file}: a theme needs a name", hint='add name = "my-theme"')
    colors = {k: str(raw[k]) for k in THEME_FIELDS if isinstance(raw.get(k), str)}
    if "primary" not in colors:
        raise WoptError(f"{file}: theme {name!r} needs a primary colour", hint='add primary = "#3b82f6"')
    variables = raw.get("variables", {})
    if not isinstance(variables, dict):
        raise WoptError(f"{file}: [variables] must be a table")
    return ThemeSpec(name=name, dark=bool(raw.get("dark", True)), colors=colors,
                     variables={str(k): str(v) for k, v in variables.items()}, file=file)


def builtin_themes() -> list[ThemeSpec]:
    """The themes shipped in wopt.themes (themes/*.toml)."""
    from importlib import resources
    out = []
    for entry in sorted(resources.files("wopt.themes").iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            out.append(_theme_from_toml(entry.read_bytes(), f"themes/{entry.name}"))
    return out


def user_themes(env: Mapping[str, str] | None = None) -> tuple[list[ThemeSpec], list[str]]:
    """Themes in `$XDG_CONFIG_HOME/wopt/themes/*.toml`, and the problems met reading them."""
    d = config_dir(env) / "themes"
    out: list[ThemeSpec] = []
    problems: list[str] = []
    if not d.is_dir():
        return out, problems
    for f in sorted(d.glob("*.toml")):
        try:
            out.append(_theme_from_toml(f.read_bytes(), str(f)))
        except (WoptError, OSError) as e:
            problems.append(str(e))
    return out, problems
