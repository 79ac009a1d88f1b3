"""Errors a user can meet. Each says what, where and what to do; no traceback reaches a user.

Every error wopt raises on purpose derives from WoptError; the CLI prints `str(err)` and exits
with `err.exit_code` (1 refused/failed, 2 usage).
"""
from __future__ import annotations


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
        prefix = ""
        if file:
            prefix += f"{file}: "
        if where:
            prefix += f"{where}"
            if step:
                prefix += f" (step {step})"
            prefix += ": "
        elif step:
            prefix += f"step {step}: "
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
        where = ""
        if path:
            where += f"{path}"
        if step:
            where += f" (step {step})" if where else f"step {step}"
        super().__init__(f"{where}: {message}" if where else message, hint=hint)


class StaleError(WoptError):
    """Steps whose precondition no longer holds on disk."""

    def __init__(self, stale: list[tuple[str, str, str, str]]):
        # (step id, path, expected, found)
        self.stale = stale
        lines = [f"{path} (step {sid}) changed since the plan was made "
                 f"(expected {_short(exp)}, found {_short(found)})" for sid, path, exp, found in stale]
        super().__init__("stale: " + "; ".join(lines),
                         hint="rebase the step onto the file now (`wopt rebase PLAN STEP`, ctrl+b in "
                         "the review), re-run the agent, or re-review the step; nothing was written")


class LockBusy(WoptError):
    def __init__(self, holder: str, waited: float):
        super().__init__(f"the workspace is locked by {holder} (waited {waited:.1f}s)",
                         hint="wait for that apply to finish, or run `wopt recover` if it died")


class ApplyError(WoptError):
    """An apply that failed and was rolled back."""

    stats: object = None   # the transaction's CommitStats, set where the commit failed


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


def _short(h: str) -> str:
    if h.startswith("sha256:"):
        return "sha256 " + h[7:19] + ".."
    return h
