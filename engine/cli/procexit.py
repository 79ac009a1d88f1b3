"""Ending a wopt process without tearing its heap down object by object.

After a command has held a large plan (its steps, analysis, model and, in the app, every
widget), CPython's finalization frees each object and clears each module: 0.15-0.25 s after
the review app has quit on a 10,000-step plan, a wait the person sees before their prompt
returns. `exit_now` ends the process as the interpreter would, minus that freeing."""
from __future__ import annotations

import atexit
import os
import sys

TYPE_CHECKING = False   # typing is imported only by the type checker (see model/errors.py)
if TYPE_CHECKING:
    import threading
    from typing import Iterable, NoReturn


def exit_now(code: int, *, abandon: Iterable[threading.Thread] = ()) -> NoReturn:
    """Exit with `code`: wait for every non-daemon thread as the interpreter does (unless
    only threads in `abandon` are left, which only wait to notice they are done), run the
    atexit handlers, flush stdout and stderr, then end the process without finalizing its
    objects. Nothing wopt writes waits on finalization: every file it writes is closed (and
    synced) by the code that wrote it. A failed flush of stdout exits 120, as the
    interpreter does."""
    # a process that never imported threading started no thread to wait for (the interpreter
    # itself looks for threads only where threading was imported)
    threads = sys.modules.get("threading")
    me = threads.current_thread() if threads is not None else None
    skip = set(abandon)
    if threads is not None and any(th is not me and not th.daemon and th not in skip
                                   for th in threads.enumerate()):
        # what the interpreter does first at its exit: the thread pools are told to stop
        # (their idle workers would otherwise wait forever) and every non-daemon thread,
        # abandoned ones included, is joined
        getattr(threads, "_shutdown")()
    atexit._run_exitfuncs()
    try:
        sys.stdout.flush()
    except (OSError, ValueError):
        code = code or 120
    try:
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    os._exit(code)
