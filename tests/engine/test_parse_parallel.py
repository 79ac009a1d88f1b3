"""A plan with 256 KiB or more of Python is parsed by two processes (the second a fork
given the later half): the same syntax findings and imports as one process, in the same order;
a second process that is killed has its half parsed by the first; a checker that fails in the
second process stops the analysis with an internal error (fail closed)."""
from __future__ import annotations

import os
import signal

import pytest

from wopt.engine.analysis import cache as C
from wopt.engine.analysis import validate as V
from wopt.engine.model.errors import InternalError


def _todo(n: int = 40) -> list[tuple[str, str, bytes, str]]:
    out = []
    for i in range(n):
        body = f"import os\nfrom .m{i + 1} import thing\n\n\ndef f{i}(x):\n    return x + {i}\n"
        if i % 7 == 3:
            body += "def broken(:\n"          # a syntax error, on line 7
        if i % 11 == 5:
            body = "\0" + body                # NUL bytes: refused
        out.append((f"s{i}", f"pkg/m{i}.py", (body + "# padding\n" * (i % 5)).encode(), f"d{i}"))
    return out


def _plain(results):
    return [(list(p), None if r is None else [(x.module, x.level, x.names, x.line, x.column) for x in r])
            for p, r in results]


def test_two_processes_answer_as_one(monkeypatch):
    todo = _todo()
    monkeypatch.setenv("WOPT_JOBS", "1")
    one = C.parse_all(todo)
    forks = []
    real_fork = os.fork
    monkeypatch.setattr(os, "fork", lambda: forks.append(1) or real_fork())
    monkeypatch.setenv("WOPT_JOBS", "force")
    two = C.parse_all(todo)
    assert forks == [1]
    assert _plain(two) == _plain(one)
    assert any(p for p, _ in one) and any(r for _, r in one)      # findings and imports both seen
    assert [i for i, (p, _) in enumerate(one) if p] == [i for i in range(40) if i % 7 == 3 or i % 11 == 5]


def test_a_killed_second_process_leaves_its_half_to_the_first(monkeypatch):
    todo = _todo()
    monkeypatch.setenv("WOPT_JOBS", "1")
    one = C.parse_all(todo)
    parent = os.getpid()
    real = V.python_parse

    def dies_in_child(path, data):
        if os.getpid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)
        return real(path, data)
    monkeypatch.setattr(V, "python_parse", dies_in_child)
    monkeypatch.setenv("WOPT_JOBS", "force")
    assert _plain(C.parse_all(todo)) == _plain(one)


def test_a_checker_failing_in_the_second_process_stops_the_analysis(monkeypatch):
    parent = os.getpid()
    real = V.python_parse

    def fails_in_child(path, data):
        if os.getpid() != parent:
            raise RuntimeError("checker bug")
        return real(path, data)
    monkeypatch.setattr(V, "python_parse", fails_in_child)
    monkeypatch.setenv("WOPT_JOBS", "force")
    with pytest.raises(InternalError) as e:
        C.parse_all(_todo())
    assert "checker bug" in str(e.value) and "second process" in str(e.value)
    assert "pkg/m2" in str(e.value)        # the first file of the later half, by name


def test_small_plans_and_threaded_callers_stay_in_one_process(monkeypatch):
    import threading
    forks = []
    real_fork = os.fork
    monkeypatch.setattr(os, "fork", lambda: forks.append(1) or real_fork())
    monkeypatch.delenv("WOPT_JOBS", raising=False)
    C.parse_all(_todo())             # far below 256 KiB
    big = [(f"s{i}", f"p/m{i}.py", b"x = 1\n" * 30000, f"d{i}") for i in range(8)]   # 1.4 MB
    stop = threading.Event()
    t = threading.Thread(target=stop.wait)
    t.start()
    try:
        C.parse_all(big)             # another thread runs: no fork
    finally:
        stop.set()
        t.join()
    assert forks == []
    if (os.cpu_count() or 1) >= 2:
        C.parse_all(big)
        assert forks == [1]


def test_a_failure_in_the_first_half_does_not_wait_forever_on_the_second(monkeypatch):
    """The second process's answer is larger than a pipe holds: when this process's own half
    fails, the pipe is closed before the wait, so the child ends and the error is raised."""
    parent = os.getpid()
    real = V.python_parse

    def fails_here(path, data):
        if os.getpid() == parent:
            raise RuntimeError("planted in the first half")
        return real(path, data)
    todo = [(f"s{i}", f"pkg/m{i}.py", "".join(f"import mod_{i}_{k}\n" for k in range(200)).encode(), f"d{i}")
            for i in range(60)]                  # the child's half: 30 x 200 imports, far above 64 KiB
    monkeypatch.setattr(V, "python_parse", fails_here)
    monkeypatch.setenv("WOPT_JOBS", "force")
    signal.signal(signal.SIGALRM, lambda *a: (_ for _ in ()).throw(TimeoutError("the wait hung")))
    signal.alarm(30)
    try:
        with pytest.raises(InternalError) as e:
            C.parse_all(todo)
    finally:
        signal.alarm(0)
    assert "planted in the first half" in str(e.value)
