"""Progress events: what the engine reports while it works. The CLI shows them as a rich
progress bar, the TUI as a live panel. Phases are named after SQLite's atomic commit steps."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

# phases, in the order a transaction goes through them
LOCK = "lock"            # waiting for / taking the workspace lock
CHECK = "check"          # preconditions checked against disk
PREPARE = "prepare"      # new contents written to temp files / originals into the journal
JOURNAL = "journal"      # manifest / rollback journal written and synced
COMMIT = "commit"        # targets moved into place in dependency order
SYNC = "sync"            # directory fsyncs
FINALIZE = "finalize"    # manifest marked committed
ROLLBACK = "rollback"    # restoring originals after a failure
RECOVER = "recover"      # rolling back an unfinished transaction found at start
UNDO = "undo"            # restoring a committed transaction
DONE = "done"
FAILED = "failed"

PHASES = (LOCK, CHECK, PREPARE, JOURNAL, COMMIT, SYNC, FINALIZE, ROLLBACK, RECOVER, UNDO, DONE, FAILED)


@dataclass(frozen=True)
class Event:
    phase: str
    done: int = 0            # units done in this phase (files)
    total: int = 0           # units in this phase
    bytes_done: int = 0
    bytes_total: int = 0
    path: str | None = None  # workspace-relative path of the file in hand
    step: str | None = None  # step id(s) of that file, comma separated
    batch: str | None = None # directory of that file ("." for the top)
    message: str | None = None
    tx: str | None = None


Listener = Callable[[Event], None]


def null_listener(_: Event) -> None:
    pass
