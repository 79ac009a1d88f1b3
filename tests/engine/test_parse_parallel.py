"""A plan with 256 KiB or more of Python is parsed by two processes (the second a fork
given the later half): the same syntax findings and imports as one process, in the same order;
a second process that is killed has its half parsed by the first; a checker that fails in the
second process stops the analysis with an internal error (fail closed)."""
from __future__ import annotations

import os
import signal

import pytest

from wopt.engine.analysis import cache as C
from wopt.engine.analysis import imports as imp
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
    one = C.parse_all(todo, imp, V, InternalError)
    forks = []
    real_fork = os.fork
    monkeypatch.setattr(os, "fork", lambda: forks.append(1) or real_fork())
    monkeypatch.setenv("WOPT_JOBS", "force")
    two = C.parse_all(todo, imp, V, InternalError)
    assert forks == [1]
    assert _plain(two) == _plain(one)
    assert any(p for p, _ in one) and any(r for _, r in one)      # findings and imports both seen
    assert [i for i, (p, _) in enumerate(one) if p] == [i for i in range(40) if i % 7 == 3 or i % 11 == 5]


def test_a_killed_second_process_leaves_its_half_to_the_first(monkeypatch):
    todo = _todo()
    monkeypatch.setenv("WOPT_JOBS", "1")
    one = C.parse_all(todo, imp, V, InternalError)
    parent = os.getpid()
    real = V.python_parse

    def dies_in_child(path, data):
        if os.getpid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)
        return real(path, data)
    monkeypatch.setattr(V, "python_parse", dies_in_child)
    monkeypatch.setenv("WOPT_JOBS", "force")
    assert _plain(C.parse_all(todo, imp, V, InternalError)) == _plain(one)


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
        C.parse_all(_todo(), imp, V, InternalError)
    assert "checker bug" in str(e.value) and "second process" in str(e.value)
    assert "pkg/m2" in str(e.value)        # the first file of the later half, by name


def test_small_plans_and_threaded_callers_stay_in_one_process(monkeypatch):
    import threading
    forks = []
    real_fork = os.fork
    monkeypatch.setattr(os, "fork", lambda: forks.append(1) or real_fork())
    monkeypatch.delenv("WOPT_JOBS", raising=False)
    C.parse_all(_todo(), imp, V, InternalError)             # far below 256 KiB
    big = [(f"s{i}", f"p/m{i}.py", b"x = 1\n" * 30000, f"d{i}") for i in range(8)]   # 1.4 MB
    stop = threading.Event()
    t = threading.Thread(target=stop.wait)
    t.start()
    try:
        C.parse_all(big, imp, V, InternalError)             # another thread runs: no fork
    finally:
        stop.set()
        t.join()
    assert forks == []
    if (os.cpu_count() or 1) >= 2:
        C.parse_all(big, imp, V, InternalError)
        assert forks == [1]
