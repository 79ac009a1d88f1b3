"""The type check: mypy over engine/ and tui/ passes.

setup.py maps the folders engine/ and tui/ onto the packages wopt.engine and wopt.tui, which an
editable install resolves at run time only; mypy finds them through a tree of two symbolic
links (wopt/engine, wopt/tui) in a temporary directory, so the app's imports of the engine are
checked against the engine's own types. The cache lives beside that tree, outside the repo."""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _tree() -> Path:
    """A directory holding wopt/engine and wopt/tui as links to this checkout's folders (one
    per checkout, kept between runs so mypy's cache stays valid)."""
    base = Path(tempfile.gettempdir()) / f"wopt-mypy-{hashlib.sha256(str(REPO).encode()).hexdigest()[:12]}"
    pkg = base / "tree" / "wopt"
    pkg.mkdir(parents=True, exist_ok=True)
    for name in ("engine", "tui"):
        link, target = pkg / name, REPO / name
        if link.is_symlink() and os.readlink(link) == str(target):
            continue
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(target, target_is_directory=True)
    return base


def test_mypy_passes_over_engine_and_tui():
    base = _tree()
    r = subprocess.run([sys.executable, "-m", "mypy", "--config-file", str(REPO / "pyproject.toml"),
                        "--cache-dir", str(base / "cache"), "-p", "wopt.engine", "-p", "wopt.tui"],
                       cwd=base / "tree", capture_output=True, text=True, timeout=600,
                       env={k: v for k, v in os.environ.items() if k != "MYPYPATH"})
    # name the files as they are in the repo
    out = (r.stdout + r.stderr).replace("wopt/engine/", "engine/").replace("wopt/tui/", "tui/")
    assert r.returncode == 0, f"mypy found type errors:\n{out}"
    assert "Success: no issues found" in out, out
