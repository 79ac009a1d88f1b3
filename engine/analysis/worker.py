"""The analysis process: `python -m wopt.engine.analysis.worker` reads one frame (8-byte
big-endian length, then msgpack [workspace root, plan JSON, review JSON or nil, send the
model?]), analyses, and answers [true, encoded model or nil] or [false, error message]; then,
for each step id it is sent, the step's diff as [true, encoded StepDiff or nil] (or [false,
message]), until its stdin ends. The review app runs it for large plans so its own interpreter
(and GIL) stays free for keys: neither the analysis nor the virtual run the first diff needs
runs there.

`start(ws, plan, review)` runs it and returns an `Elsewhere`: `result()` waits for the model
(the waiting thread holds no GIL), `diff(sid)` asks for one diff, `cancel()` kills the
process at once (a screen that closes, or an app that quits, never waits for an analysis
nobody will see). The model comes back in the cache's encoded form, whose steps decode one by
one when first read (`model.LazySteps`): receiving a 10,000-step model costs a few short
decoding calls, not one long one that would hold the GIL while keys wait."""
from __future__ import annotations

import subprocess
import sys
import threading
from typing import Any

from .model import ReviewModel, StepDiff


_HEADER = 8


def _send(f: Any, data: bytes) -> None:
    f.write(len(data).to_bytes(_HEADER, "big"))
    f.write(data)
    f.flush()


def _receive(f: Any) -> bytes | None:
    """One frame, or None at the end of the stream (or a cut one)."""
    head = f.read(_HEADER)
    if len(head) < _HEADER:
        return None
    n = int.from_bytes(head, "big")
    data = f.read(n)
    return data if len(data) == n else None


class Elsewhere:
    """One analysis running in its own process, which then stays to compute the plan's diffs
    on request (from the virtual run of the plan it has made already), so neither the analysis
    nor the first diff of a 10,000-step plan runs under the caller's GIL. Its stdin closing
    (the caller ends or `close()`s it) ends it."""

    COMMAND = [sys.executable, "-m", "wopt.engine.analysis.worker"]

    def __init__(self, ws: Any, plan: Any, review: Any = None, *, send_model: bool = True) -> None:
        import msgspec
        import tempfile
        self.ws, self.plan, self.review = ws, plan, review
        self.cancelled = False
        self._lock = threading.Lock()
        self._first: bytes | None = None      # the first frame: the model (or an empty answer)
        self._err = tempfile.TemporaryFile()   # its messages: a pipe nobody reads could fill up
        review_raw = msgspec.json.encode(review) if review is not None else None
        request = msgspec.msgpack.encode([str(ws.root), msgspec.json.encode(plan), review_raw, send_model])
        self.proc = subprocess.Popen(self.COMMAND, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self._err, cwd=str(ws.root))
        # written by a thread of its own: the process reads it only once Python has started,
        # and the caller (the app, holding a model from its cache) need not wait for that
        self._writer = threading.Thread(target=self._send_request, args=(request,), daemon=True)
        self._writer.start()

    def _send_request(self, request: bytes) -> None:
        try:
            _send(self.proc.stdin, request)
        except (BrokenPipeError, OSError, ValueError):
            pass   # it ended (or was cancelled) first: result() says why

    def cancel(self) -> None:
        """Stop now: the process is killed, `result()` returns None and `diff()` raises."""
        self.cancelled = True
        if self.proc.poll() is None:
            try:
                self.proc.kill()
            except ProcessLookupError:
                pass   # it ended between the poll and the kill
            try:
                self.proc.wait(timeout=2)   # reaped (a killed process ends in milliseconds)
            except subprocess.TimeoutExpired:
                pass

    def close(self) -> None:
        """No more diffs will be asked for: the process ends."""
        try:
            if self.proc.stdin is not None:
                self.proc.stdin.close()
        except OSError:
            pass
        self.cancel()

    def _failed(self, what: str) -> Exception:
        from ..model.errors import WoptError
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.cancel()
            code = self.proc.wait()
        self._err.seek(0)
        tail = self._err.read().decode("utf-8", "replace").strip().splitlines()[-1:] or ["no message"]
        return WoptError(f"the analysis process {what} (exit {code}): {tail[0]}",
                         hint="reopen the plan; `wopt check PLAN` shows the same analysis")

    def _answer(self) -> Any:
        """The next answer: its payload, or a WoptError raised with the process's words."""
        import msgspec

        from ..model.errors import WoptError
        frame = _receive(self.proc.stdout)
        if frame is None:
            if self.cancelled:
                raise WoptError("the analysis of this plan was stopped", hint="reopen the plan")
            raise self._failed("failed")
        try:
            ok, payload = msgspec.msgpack.decode(frame)
        except (msgspec.DecodeError, ValueError, TypeError):
            raise WoptError("the analysis process returned an unreadable answer",
                            hint="reopen the plan; `wopt check PLAN` shows the same analysis") from None
        if not ok:
            raise WoptError(str(payload))
        return payload

    def _ensure_started(self) -> None:
        if self._first is None:
            self._first = self._answer() or b""

    def result(self, *, serve_diffs: bool = True) -> ReviewModel | None:
        """The model, or None once cancelled. Its diffs come from the process (`diff`) while it
        lives, or (`serve_diffs=False`: the process ends now) are computed here, lazily.
        Raises WoptError when the analysis failed or its answer does not read."""
        from ..model.errors import WoptError
        from . import _lazy_diff
        from . import cache as C
        try:
            with self._lock:
                self._ensure_started()
        except WoptError:
            if self.cancelled:
                return None
            raise
        model = C.decode_model(self._first, self.plan) if self._first else None
        if model is None:
            raise WoptError("the analysis process returned an unreadable model",
                            hint="delete .wopt/cache/ and reopen the plan")
        if serve_diffs:
            model._diff = self.diff
        else:
            self.close()
            model._diff = _lazy_diff(self.ws, self.plan, self.review)
        return model

    def diff(self, sid: str, spans: bool = True) -> StepDiff:
        """The diff of step `sid`, computed in the process (KeyError for an unknown step);
        always with its changed words (`spans` is for the callers that can do without)."""
        import msgspec

        from ..model.errors import WoptError
        with self._lock:
            self._ensure_started()
            self._writer.join()        # the request is whole before a step id follows it
            try:
                _send(self.proc.stdin, sid.encode("utf-8", "surrogateescape"))
            except (BrokenPipeError, OSError, ValueError):
                if self.cancelled:
                    raise WoptError("the analysis of this plan was stopped", hint="reopen the plan") from None
                raise self._failed("ended") from None
            payload = self._answer()
        if payload is None:
            raise KeyError(sid)
        try:
            return _diff_decoder().decode(payload)
        except (msgspec.DecodeError, msgspec.ValidationError):
            raise WoptError("the analysis process returned an unreadable diff",
                            hint="reopen the plan") from None


_DIFF_CODEC: tuple | None = None


def _diff_decoder() -> Any:
    global _DIFF_CODEC
    if _DIFF_CODEC is None:
        import msgspec
        _DIFF_CODEC = (msgspec.msgpack.Encoder(), msgspec.msgpack.Decoder(StepDiff))
    return _DIFF_CODEC[1]


def _diff_encoder() -> Any:
    _diff_decoder()
    assert _DIFF_CODEC is not None
    return _DIFF_CODEC[0]


def start(ws: Any, plan: Any, review: Any = None, *, send_model: bool = True) -> Elsewhere:
    """Start analysing `plan` in another process (`send_model=False`: the caller has the model
    already, from the cache, and wants the process only for the diffs)."""
    return Elsewhere(ws, plan, review, send_model=send_model)


def main() -> int:
    import msgspec

    from ..model.errors import WoptError
    from ..model.plan import decode_plan
    from ..model.review import Review
    from ..store.workspace import Workspace
    from . import analyze
    from . import cache as C
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    request = _receive(stdin)
    if request is None:
        return 2
    root, plan_raw, review_raw, send_model = msgspec.msgpack.decode(request)
    try:
        ws = Workspace(root)
        plan = decode_plan(plan_raw)
        review = msgspec.json.decode(review_raw, type=Review) if review_raw is not None else None
        model = analyze(ws, plan, review)
        out: list = [True, C.encode_model(model) if send_model else None]
    except WoptError as e:
        _send(stdout, msgspec.msgpack.encode([False, str(e)]))
        return 0
    _send(stdout, msgspec.msgpack.encode(out))
    enc = _diff_encoder()
    while (ask := _receive(stdin)) is not None:   # then diffs, one per request, until stdin ends
        sid = ask.decode("utf-8", "surrogateescape")
        try:
            answer = [True, enc.encode(model.diff(sid))] if sid in model.steps else [True, None]
        except WoptError as e:
            answer = [False, str(e)]
        _send(stdout, msgspec.msgpack.encode(answer))
    return 0


if __name__ == "__main__":
    sys.exit(main())
