"""Editing a step's proposed content in the person's own editor ($VISUAL, then $EDITOR).

The round trip lives here, in the engine, because it does file I/O: the content goes into a
private temporary directory under a file named like the target (so the editor picks the right
syntax), the editor runs in the foreground and waits, the file is read back byte for byte,
and the temporary directory is removed whatever happens. The review app only calls
`edit_text` inside `with app.suspend():`; the CLI could call it as is.

Text is kept byte for byte: line endings are not translated either way, and bytes that are not
UTF-8 survive the trip through `surrogateescape`.
"""
from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import tempfile
from pathlib import Path, PurePosixPath
from typing import Mapping

from .errors import UsageError, WoptError

FALLBACK_EDITORS = ("editor", "nano", "vi")


def editor_command(env: Mapping[str, str] | None = None) -> list[str]:
    """The editor to run, as an argv list: $VISUAL, else $EDITOR, else the first of
    `editor`, `nano`, `vi` found on PATH. Raise UsageError when there is none."""
    env = os.environ if env is None else env
    for var in ("VISUAL", "EDITOR"):
        value = (env.get(var) or "").strip()
        if value:
            try:
                argv = shlex.split(value)
            except ValueError as e:
                raise UsageError(f"${var} ({value!r}) cannot be parsed: {e}",
                                 hint=f"set {var} to a command, e.g. `export {var}=vim`") from None
            if argv:
                return argv
    for name in FALLBACK_EDITORS:
        found = shutil.which(name, path=env.get("PATH"))
        if found:
            return [found]
    raise UsageError("no editor: neither $VISUAL nor $EDITOR is set and no vi or nano is installed",
                     hint="set EDITOR (e.g. `export EDITOR=vim`), or use the built-in editor")


def _temp_name(path: str) -> str:
    name = PurePosixPath(path.replace("\\", "/")).name or "content.txt"
    # keep the extension (for the editor's syntax), drop anything odd from the name
    safe = "".join(c if (c.isalnum() or c in "._-") else "_" for c in name).lstrip(".")
    return safe or "content.txt"


def edit_text(path: str, text: str, *, env: Mapping[str, str] | None = None,
              timeout: float | None = None) -> str | None:
    """Open `text` (the proposed content of workspace path `path`) in the person's editor and
    return what they saved, or None when nothing changed or the editor exited with an error
    (how `:cq` in vim cancels). Raise UsageError when no editor can be run, WoptError when
    the edited file cannot be read back.

    Runs in the foreground: the caller must have handed over the terminal (the review app
    suspends itself first)."""
    argv = editor_command(env)
    tmpdir = tempfile.mkdtemp(prefix="wopt-edit-")
    try:
        target = Path(tmpdir) / _temp_name(path)
        data = text.encode("utf-8", "surrogateescape")
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        try:
            proc = subprocess.run([*argv, str(target)], env=dict(env) if env is not None else None,
                                  timeout=timeout)
        except FileNotFoundError:
            raise UsageError(f"the editor {argv[0]!r} was not found",
                             hint="set EDITOR to an installed editor, or use the built-in editor") from None
        except PermissionError:
            raise UsageError(f"the editor {argv[0]!r} cannot be run (permission denied)",
                             hint="set EDITOR to an installed editor, or use the built-in editor") from None
        except subprocess.TimeoutExpired:
            raise WoptError(f"the editor {argv[0]!r} did not finish in {timeout:g}s; {path} is unchanged") from None
        if proc.returncode != 0:
            return None
        try:
            new = target.read_bytes()
        except FileNotFoundError:
            # some editors save by rename; a deleted file means the person gave up
            return None
        except OSError as e:
            raise WoptError(f"cannot read back the edited copy of {path} ({e.strerror})",
                            hint="the proposed content is unchanged; try again") from None
        if new == data:
            return None
        return new.decode("utf-8", "surrogateescape")
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
