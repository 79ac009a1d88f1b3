"""Themes shipped with wopt-tui (TOML files)."""
