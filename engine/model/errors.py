"""Errors a user can meet. Each says what, where and what to do; no traceback reaches a user.

Every error wopt raises on purpose derives from WoptError; the CLI prints `str(err)` and exits
with `err.exit_code` (1 refused/failed, 2 usage).
"""
from __future__ import annotations

import os
from collections import namedtuple

# typing is imported only by the type checker: every command imports this module, and typing
# takes longer to import than Python takes to start (tests/engine/test_cli_startup.py)
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, NamedTuple


class WoptError(Exception):
    """Base of wopt's own errors."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}; {self.hint}" if self.hint else self.message


class UsageError(WoptError):
    exit_code = 2


class PlanError(WoptError):
    """A plan that does not validate. `where` is a JSON path like `steps[3].path`."""

    def __init__(self, message: str, *, where: str | None = None, step: str | None = None,
                 file: str | None = None, hint: str | None = None):
        self.where = where
        self.step = step
        self.file = file
        loc = _locate(where, step)
        prefix = (f"{file}: " if file else "") + (f"{loc}: " if loc else "")
        super().__init__(prefix + message, hint=hint)


class PathError(WoptError):
    """A path that would leave the workspace or touch what wopt must not touch."""

    def __init__(self, path: str, reason: str, *, step: str | None = None):
        self.path = path
        self.step = step
        where = f"step {step}: " if step else ""
        super().__init__(f"{where}{path}: {reason}",
                         hint="wopt only writes regular files inside the workspace")


class StepError(WoptError):
    """A step that cannot be carried out on the current content (an edit whose text is not
    there, a hunk that does not apply)."""

    def __init__(self, message: str, *, step: str | None = None, path: str | None = None,
                 hint: str | None = None):
        self.step = step
        self.path = path
        loc = _locate(path, step)
        super().__init__(f"{loc}: {message}" if loc else message, hint=hint)


if TYPE_CHECKING:
    class Stale(NamedTuple):
        """A step whose precondition no longer holds: what it expected at `path`, what is there
        (hashes as `sha256:...` or `absent`)."""

        step: str
        path: str
        expected: str
        found: str
else:
    Stale = namedtuple("Stale", ["step", "path", "expected", "found"])
    Stale.__doc__ = """A step whose precondition no longer holds (see the class above)."""


class StaleError(WoptError):
    """Steps whose precondition no longer holds on disk."""

    def __init__(self, stale: list[Stale]):
        self.stale = stale
        lines = [f"{s.path} (step {s.step}) changed since the plan was made "
                 f"(expected {_short(s.expected)}, found {_short(s.found)})" for s in stale]
        super().__init__("stale: " + "; ".join(lines),
                         hint="rebase the step onto the file now (`wopt rebase PLAN STEP`, ctrl+b in "
                         "the review), re-run the agent, or re-review the step; nothing was written")


class LockBusy(WoptError):
    def __init__(self, holder: str, waited: float):
        super().__init__(f"the workspace is locked by {holder} (waited {waited:.1f}s)",
                         hint="wait for that apply to finish, or run `wopt recover` if it died")


class ApplyError(WoptError):
    """An apply (or undo) that failed. Besides the message, what the app shows comes from
    fields, never from the text:

    - `phase`: the transaction phase in hand (`check`, `journal`, `prepare`, `commit`, `sync`,
      `finalize`, `finish`), or None when it failed before the transaction began;
    - `path`: the workspace-relative path of the operation that failed (the target of a
      rename), or None;
    - `operation`: the file operation that failed (`rename`, `write`, `fsync`, ...), or None;
    - `errno`: the OS error number of the failure, or None when it was not a system call's;
    - `rolled_back`: True when the transaction was rolled back whole (the tree is as before);
      False when nothing had been written yet, or the rollback left paths for a person.
    """

    def __init__(self, message: str, *, hint: str | None = None, phase: str | None = None,
                 path: str | None = None, operation: str | None = None, errno: int | None = None,
                 rolled_back: bool = False, stats: Any = None):
        super().__init__(message, hint=hint)
        self.phase = phase
        self.path = path
        self.operation = operation
        self.errno = errno
        self.rolled_back = rolled_back
        self.stats = stats       # the transaction's figures so far (transaction.CommitStats)

    @property
    def reason(self) -> str | None:
        """The OS error in plain words ("Input/output error"), or None."""
        return os.strerror(self.errno) if self.errno else None


class UndoRefused(WoptError):
    pass


class InternalError(WoptError):
    """A bug in wopt itself (a validator or the ordering raised): the command stops, nothing is
    skipped silently, and the message says so."""

    def __init__(self, what: str, exc: BaseException, *, hint: str | None = None):
        self.what = what
        self.exc = exc
        super().__init__(f"{what} failed: wopt's internal error ({type(exc).__name__}: {exc})",
                         hint=hint or "this is a bug in wopt, not a problem in the plan; nothing was "
                         "written; please report it with `wopt --version` and the plan")


class NotFound(WoptError):
    pass


def _locate(where: str | None, step: str | None) -> str:
    """`where (step S)`, `where`, `step S` or "": the place an error message starts with."""
    if where:
        return f"{where} (step {step})" if step else where
    return f"step {step}" if step else ""


def _short(h: str) -> str:
    if h.startswith("sha256:"):
        return "sha256 " + h[7:19] + ".."
    return h
