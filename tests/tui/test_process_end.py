"""How a `wopt-tui` (and `wopt`) process starts and ends, as whole processes on a real
terminal (a pseudo-terminal): quitting gives the terminal back as it was and the process
exits at once, with everything an exit owes done (threads joined, atexit handlers run,
output flushed); the garbage collector follows tui/gcpolicy.py only in `wopt-tui`'s own
process."""
from __future__ import annotations

import subprocess
import sys
import termios
import textwrap
from pathlib import Path

from core_helpers import demo_ws
from ptyterm import Term

WOPT_TUI = Path(sys.executable).with_name("wopt-tui")


def _run(code: str, tmp_path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=str(tmp_path),
                          capture_output=True, text=True, timeout=60)


def test_exit_now_joins_threads_runs_atexit_flushes_and_keeps_the_code(tmp_path):
    """A thread still writing is waited for, a thread pool with idle workers does not hang
    the exit (the interpreter's own thread shutdown tells it to stop)."""
    r = _run(f"""
        import atexit, sys, threading, time
        from pathlib import Path
        from wopt.engine.cli.procexit import exit_now
        out = Path({str(tmp_path)!r})
        def late():
            time.sleep(0.3)
            (out / "thread").write_text("done")
        threading.Thread(target=late).start()
        from concurrent.futures import ThreadPoolExecutor
        pool = ThreadPoolExecutor(2)               # idle workers: told to stop, as at any exit
        pool.submit(lambda: 1).result()
        atexit.register(lambda: (out / "atexit").write_text("ran"))
        sys.stdout.write("buffered, not yet flushed")
        exit_now(3)
        """, tmp_path)
    assert r.returncode == 3, r.stderr
    assert r.stdout == "buffered, not yet flushed"
    assert (tmp_path / "thread").read_text() == "done"
    assert (tmp_path / "atexit").read_text() == "ran"


def test_exit_now_exits_120_when_stdout_cannot_be_flushed_as_the_interpreter_does(tmp_path):
    code = """
        import sys
        from wopt.engine.cli.procexit import exit_now
        class Closed:
            def flush(self):
                raise BrokenPipeError(32, "Broken pipe")
        sys.stdout = Closed()
        exit_now(CODE)
        """
    assert _run(code.replace("CODE", "3"), tmp_path).returncode == 3
    r = _run(code.replace("CODE", "0"), tmp_path)
    assert r.returncode == 120, (r.returncode, r.stderr)


def test_the_wopt_command_still_answers_and_exits_with_its_code(tmp_path):
    wopt = Path(sys.executable).with_name("wopt")
    r = subprocess.run([str(wopt), "--version"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.startswith("wopt"), r
    r = subprocess.run([str(wopt), "show", "no-such-plan", "--root", str(tmp_path)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and "no-such-plan" in r.stderr, r


def test_q_gives_the_terminal_back_as_it_was_and_the_process_exits_0(tmp_path):
    """Read on the terminal itself (the pseudo-terminal's other end shares its modes): the app
    turns echo and line editing off while it runs and back on when it quits, leaves the
    alternate screen, and the process exits 0."""
    ws = demo_ws(tmp_path)
    t = Term([str(WOPT_TUI), "demo-payments"], cwd=ws.root)
    try:
        t.wait_for("Findings", 0, timeout=60)
        t.quiet(0.3)
        running = termios.tcgetattr(t.fd)[3]
        assert not running & termios.ECHO and not running & termios.ICANON
        s = t.mark()
        t.send(b"q")
        t.wait_for(b"\x1b[?1049l", s, timeout=30)       # the alternate screen left ...
        after = termios.tcgetattr(t.fd)[3]              # ... after the modes were restored
        assert after & termios.ECHO and after & termios.ICANON
        t.wait_exit(timeout=30)
    finally:
        t.kill()
    assert t.status == 0, t.screen_text()
    assert b"Traceback" not in t.buf


def test_the_collector_policy_acts_only_once_started(tmp_path):
    r = _run("""
        import gc
        from wopt.tui import gcpolicy
        gcpolicy.settle(); gcpolicy.release()
        assert gc.isenabled() and gc.get_freeze_count() == 0, "acted without start()"
        gcpolicy.start()
        assert not gc.isenabled()
        x = [[] for _ in range(1000)]
        gcpolicy.settle()
        assert gc.isenabled() and gc.get_freeze_count() >= 1000, gc.get_freeze_count()
        gc.disable()
        gcpolicy.settle_late()
        assert gc.isenabled()
        gcpolicy.release()
        assert gc.isenabled() and gc.get_freeze_count() == 0
        gcpolicy.settle()
        frozen = gc.get_freeze_count()
        gcpolicy.end()                        # the app quits: nothing unfrozen, nothing collected
        gcpolicy.release(); gcpolicy.settle()
        assert not gc.isenabled() and gc.get_freeze_count() == frozen
        print("ok")
        """, tmp_path)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr
