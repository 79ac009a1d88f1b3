"""The analysis process (`analysis.worker`): its model is the one `analyze` makes here, read
back with each step decoded when first read; a cancelled run kills the process at once; a
failing one is a WoptError naming what happened."""
from __future__ import annotations

import sys
import time

import pytest

from wopt.engine.analysis import analyze, analyze_elsewhere, cache, worker
from wopt.engine.analysis.model import LazySteps
from wopt.engine.store.demo import make_demo
from wopt.engine.model.errors import WoptError
from wopt.engine.store import spool
from wopt.engine.store.workspace import Workspace


def _demo(tmp_path):
    ws = Workspace(make_demo(tmp_path / "demo"))
    return ws, spool.load_plan(ws, "demo-payments")


def _same(a, b) -> None:
    assert list(a.steps) == list(b.steps)
    assert dict(a.steps) == dict(b.steps)
    for name in ("plan_id", "order", "groups", "edges", "batches", "families", "findings", "flags",
                 "optimization_rate", "warnings", "stale", "errors", "tiers"):
        assert getattr(a, name) == getattr(b, name), name


def test_the_encoded_model_reads_back_equal_with_its_steps_decoded_on_demand(tmp_path):
    ws, plan = _demo(tmp_path)
    here = analyze(ws, plan, cache=False)
    back = cache.decode_model(cache.encode_model(here, "k"), plan, "k")
    assert isinstance(back.steps, LazySteps)
    assert repr(back.steps).endswith(" 0 decoded)")     # nothing read yet
    sid = here.order[0]
    assert back.steps[sid] == here.steps[sid]
    assert repr(back.steps).endswith("1 decoded)")
    assert sid in back.steps and "no-such-step" not in back.steps and len(back.steps) == len(here.steps)
    assert back.steps.get("no-such-step") is None
    _same(back, here)
    # another key, or bytes that are not a model: not trusted
    assert cache.decode_model(cache.encode_model(here, "k"), plan, "other") is None
    assert cache.decode_model(b"\x93\x01\x02", plan, "k") is None


def test_the_model_from_the_analysis_process_equals_the_one_made_here(tmp_path):
    ws, plan = _demo(tmp_path)
    there = analyze_elsewhere(ws, plan)
    here = analyze(ws, plan, cache=False)
    _same(there, here)
    sid = here.order[0]
    assert there.diff(sid).hunks == here.diff(sid).hunks


def test_cancel_kills_the_analysis_process_at_once(tmp_path, monkeypatch):
    ws, plan = _demo(tmp_path)
    monkeypatch.setattr(worker.Elsewhere, "COMMAND",
                        [sys.executable, "-c", "import sys, time; sys.stdin.buffer.read(); time.sleep(60)"])
    job = worker.start(ws, plan)
    import threading
    got: dict = {}
    th = threading.Thread(target=lambda: got.setdefault("model", job.result()))
    th.start()
    time.sleep(0.3)
    t = time.perf_counter()
    job.cancel()
    th.join(timeout=10)
    assert not th.is_alive() and time.perf_counter() - t < 5
    assert got["model"] is None
    assert job.proc.poll() is not None


def test_a_failing_analysis_process_is_a_wopt_error_with_its_last_words(tmp_path, monkeypatch):
    ws, plan = _demo(tmp_path)
    monkeypatch.setattr(worker.Elsewhere, "COMMAND",
                        [sys.executable, "-c", "import sys; sys.exit('out of memory')"])
    with pytest.raises(WoptError, match=r"analysis process failed \(exit 1\): out of memory"):
        worker.start(ws, plan).result()
    monkeypatch.setattr(worker.Elsewhere, "COMMAND",
                        [sys.executable, "-c", "import sys; sys.stdout.write('junk')"])
    with pytest.raises(WoptError, match="failed"):      # no whole answer, then its end
        worker.start(ws, plan).result()
    monkeypatch.setattr(worker.Elsewhere, "COMMAND", [sys.executable, "-c", (
        "import sys; sys.stdout.buffer.write((4).to_bytes(8, 'big') + b'junk'); sys.stdout.flush()")])
    with pytest.raises(WoptError, match="unreadable"):
        worker.start(ws, plan).result()


def test_the_process_then_serves_each_diff_and_ends_with_its_caller(tmp_path):
    ws, plan = _demo(tmp_path)
    here = analyze(ws, plan, cache=False)
    job = worker.start(ws, plan)
    model = job.result()
    for sid in here.order:
        assert model.diff(sid) == here.diff(sid)
    with pytest.raises(KeyError):
        job.diff("no-such-step")
    # the caller has the model already (from its cache): the process only serves diffs
    only = worker.start(ws, plan, send_model=False)
    sid = here.order[-1]
    assert only.diff(sid) == here.diff(sid)
    for j in (job, only):
        j.close()
        assert j.proc.poll() is not None
    with pytest.raises(WoptError, match="stopped"):
        job.diff(sid)


def test_an_empty_review_shares_the_model_of_no_review(tmp_path, monkeypatch):
    """The app always has a review (empty at first); `wopt show` may have none: one model."""
    from wopt.engine.model.review import Review
    monkeypatch.setattr(cache, "RACY_SECONDS", -1e9)
    ws, plan = _demo(tmp_path)
    assert cache.model_key(ws, plan, Review(plan_id=plan.id), "o") == cache.model_key(ws, plan, None, "o")
    edited = Review(plan_id=plan.id, edited={plan.steps[0].id: "x\n"})
    assert cache.model_key(ws, plan, edited, "o")[0] != cache.model_key(ws, plan, None, "o")[0]
    analyze(ws, plan)
    from wopt.engine.analysis import cached
    assert cached(ws, plan, Review(plan_id=plan.id)) is not None


def _children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (from /proc)."""
    import os
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    stat = f.read()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(d))
    return out


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_killed_analysis_leaves_no_half_of_its_parse_running(tmp_path):
    """The second process that parses half of a large plan's Python ends with the process that
    forked it: an analysis killed (a plan closed in the app) leaves no parse going on."""
    import os
    import signal
    import subprocess
    # about 4 s of parsing for each half on this machine
    script = ("import sys\nfrom wopt.engine.analysis.cache import parse_all\n"
              "body = ''.join(f'def f{i}(x):\\n    return x + {i}\\n' for i in range(30000)).encode()\n"
              "todo = [(f's{k}', f'm{k}.py', body, '') for k in range(64)]\n"
              "print('parsing', flush=True)\nparse_all(todo)\nprint('done', flush=True)\n")
    p = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                         env={**os.environ, "WOPT_JOBS": "force"})
    kids: list[int] = []
    try:
        assert p.stdout.readline().strip() == "parsing"
        deadline = time.monotonic() + 20
        while not kids and time.monotonic() < deadline:
            kids = _children(p.pid)
            time.sleep(0.02)
        assert len(kids) == 1, kids
        time.sleep(0.3)
        assert _running(kids[0])
        p.send_signal(signal.SIGKILL)
        p.wait(10)
        deadline = time.monotonic() + 1.5
        while _running(kids[0]) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not _running(kids[0]), "the parse child outlived the killed analysis"
    finally:
        p.kill()
        for k in kids:
            if _running(k):
                os.kill(k, signal.SIGKILL)
