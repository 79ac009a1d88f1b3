"""wopt's colour themes as Textual themes: the built-in ones shipped in themes/*.toml and the
user's own in ~/.config/wopt/themes/ (both read by the engine's config module)."""
from __future__ import annotations

from textual.theme import Theme

from wopt.engine.store.config import ThemeSpec, builtin_themes, user_themes

DEFAULT_THEME = "wopt-dark"


def to_theme(spec: ThemeSpec) -> Theme:
    c = spec.colors.get   # every colour Theme takes, by name (the engine requires primary)
    return Theme(name=spec.name, dark=spec.dark, variables=dict(spec.variables), primary=spec.colors["primary"],
                 secondary=c("secondary"), accent=c("accent"), foreground=c("foreground"),
                 background=c("background"), surface=c("surface"), panel=c("panel"), boost=c("boost"),
                 warning=c("warning"), error=c("error"), success=c("success"))


def load_themes() -> tuple[list[Theme], list[str]]:
    """Every theme wopt offers, built-in first, and the problems met loading user themes."""
    themes = [to_theme(s) for s in builtin_themes()]
    users, problems = user_themes()
    names = {t.name for t in themes}
    for s in users:
        if s.name in names:
            problems.append(f"{s.file}: theme {s.name!r} has a built-in theme's name; ignored")
            continue
        themes.append(to_theme(s))
    return themes, problems


def resolve(name: str | None, available: list[str]) -> tuple[str, str | None]:
    """The theme to use for `name`, and a message when it had to fall back."""
    if not name:
        return DEFAULT_THEME, None
    if name in available:
        return name, None
    for cand in (f"wopt-{name}", name.replace("_", "-")):
        if cand in available:
            return cand, None
    wopt = sorted(n for n in available if n.startswith("wopt-"))
    return DEFAULT_THEME, (f"unknown theme {name!r}; using {DEFAULT_THEME} "
                           f"(themes: {', '.join(wopt)})")
