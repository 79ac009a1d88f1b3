"""When the review app's process collects cyclic garbage.

A plan of 10,000 steps keeps a few hundred thousand objects alive (its steps, their analysis,
the rows), and CPython's oldest-generation collection walks every one of them: 0.1 s and
more, at a moment chosen by allocation counts, so it lands inside a key press or the first
paint. `wopt-tui` (and only it: `entry` calls `start`; an app run in a test process leaves
the collector alone) therefore:

- starts with the collector off, through the imports and the first screen;
- `settle()`s once what is on screen will live as long as the screen: after the queue's
  first frame (or, opened on a plan, once its model is shown or its analysis failed, and at
  the latest after `SETTLE_SECONDS`), and after each model is shown. Settling freezes every object alive (the
  collector no longer walks them) and turns the collector on for what comes after;
- `release()`s when a review closes: frozen objects become collectable again, so a closed
  plan's cycles are freed by a later collection and not kept for the life of the process,
  and the collector is on whatever happened before;
- `end()`s when the app exits: the collector off for good, and no release (which would make
  the next collection walk the whole plan while the app quits; the process then ends
  without freeing anything, see `wopt.tui.main.entry`).

Objects freed by reference counting (most of them) are freed at once whatever the policy."""
from __future__ import annotations

import gc

_on = False
_ending = False
SETTLE_SECONDS = 10.0


def start() -> None:
    """The process is `wopt-tui`'s own: the collector stays off until the first settle."""
    global _on
    _on = True
    gc.disable()


def settle() -> None:
    if _on and not _ending:
        gc.freeze()        # (collecting first would walk everything made since the start)
        gc.enable()


def settle_late() -> None:
    """The bound on waiting for a model: settle unless settled already."""
    if _on and not gc.isenabled():
        settle()


def release() -> None:
    if _on and not _ending:
        gc.unfreeze()
        gc.enable()


def end() -> None:
    global _ending
    if _on:
        _ending = True
        gc.disable()
