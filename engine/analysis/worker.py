"""The analysis process: `python -m wopt.engine.analysis.worker` reads [workspace root, plan
JSON, review JSON or nil] as msgpack on stdin, analyses, and writes [true, encoded model] or
[false, error message] as msgpack on stdout. The review app runs it for large plans so its own
interpreter (and GIL) stays free for keys.

`start(ws, plan, review)` runs it and returns an `Elsewhere`: `result()` waits for the model
(the waiting thread holds no GIL), `cancel()` kills the process at once (a screen that closes,
or an app that quits, never waits for an analysis nobody will see). The model comes back in
the cache's encoded form, whose steps decode one by one when first read
(`model.LazySteps`): receiving a 10,000-step model costs a few short decoding calls, not one
long one that would hold the GIL while keys wait."""
from __future__ import annotations

import subprocess
import sys
import threading
from typing import Any

from .model import ReviewModel


class Elsewhere:
    """One analysis running in its own process."""

    COMMAND = [sys.executable, "-m", "wopt.engine.analysis.worker"]

    def __init__(self, ws: Any, plan: Any, review: Any = None) -> None:
        import msgspec
        self.ws, self.plan, self.review = ws, plan, review
        self.cancelled = False
        self._lock = threading.Lock()
        review_raw = msgspec.json.encode(review) if review is not None else None
        self._request = msgspec.msgpack.encode([str(ws.root), msgspec.json.encode(plan), review_raw])
        self.proc = subprocess.Popen(self.COMMAND,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     cwd=str(ws.root))

    def cancel(self) -> None:
        """Stop the analysis now: the process is killed, `result()` returns None."""
        with self._lock:
            self.cancelled = True
            if self.proc.poll() is None:
                try:
                    self.proc.kill()
                except ProcessLookupError:
                    pass   # it ended between the poll and the kill

    def result(self) -> ReviewModel | None:
        """The model (its diffs computed here, lazily, on first request), or None once
        cancelled. Raises WoptError when the analysis failed or its answer does not read."""
        import msgspec

        from ..errors import WoptError
        from . import _lazy_diff
        from . import cache as C
        try:
            out, err = self.proc.communicate(self._request)
        except (BrokenPipeError, OSError):
            if self.cancelled:
                return None
            raise
        if self.cancelled:
            return None
        if self.proc.returncode != 0:
            tail = err.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no message"]
            raise WoptError(f"the analysis process failed (exit {self.proc.returncode}): {tail[0]}",
                            hint="reopen the plan; `wopt check PLAN` shows the same analysis")
        try:
            ok, payload = msgspec.msgpack.decode(out)
        except (msgspec.DecodeError, ValueError, TypeError):
            ok, payload = False, "the analysis process returned an unreadable answer"
        if not ok:
            raise WoptError(str(payload))
        model = C.decode_model(payload, self.plan) if isinstance(payload, bytes) else None
        if model is None:
            raise WoptError("the analysis process returned an unreadable model",
                            hint="delete .wopt/cache/ and reopen the plan")
        model._diff = _lazy_diff(self.ws, self.plan, self.review)
        return model


def start(ws: Any, plan: Any, review: Any = None) -> Elsewhere:
    """Start analysing `plan` in another process."""
    return Elsewhere(ws, plan, review)


def main() -> int:
    import msgspec

    from ..errors import WoptError
    from ..plan import decode_plan
    from ..review import Review
    from ..workspace import Workspace
    from . import analyze
    from . import cache as C
    root, plan_raw, review_raw = msgspec.msgpack.decode(sys.stdin.buffer.read())
    try:
        ws = Workspace(root)
        plan = decode_plan(plan_raw)
        review = msgspec.json.decode(review_raw, type=Review) if review_raw is not None else None
        out = [True, C.encode_model(analyze(ws, plan, review))]
    except WoptError as e:
        out = [False, str(e)]
    sys.stdout.buffer.write(msgspec.msgpack.encode(out))
    sys.stdout.buffer.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
