"""The apply flow: confirm what will happen, apply with a live progress panel, then the result
with one key to undo.

`ApplyFlowScreen(ws, plan, review)` is a `ModalScreen[ApplyOutcome | None]` in three stages:

1. **confirm**: `wopt.engine.tx.apply.preview(...)` (in a thread worker) summarised: files, bytes,
   creates/replaces/deletes, and the stale or invalid steps that block, with their reasons.
2. **progress**: `wopt.engine.tx.apply.apply_plan(...)` runs in a thread worker; its events
   (`wopt.engine.model.events.Event`) feed a `ProgressState` under a lock, and the worker posts one
   `ApplyProgress` message only when none is pending, so a backlog of thousands of events
   collapses into one repaint. The panel shows the overall bar, per-batch progress, the
   current phase and step, files per second, and on failure the rollback as it happens and
   the error in plain words.
3. **result**: the figures, `u` to undo (`wopt.engine.tx.apply.undo`, with the same panel), enter
   to close. The screen dismisses with the apply's TxResult (or the undo's after an undo), or
   None when nothing was applied.

Everything shown comes from the engine's typed results (`Preview`, `TxResult`) and the fields
of its errors (`ApplyError.phase`, `.path`, `.errno`, `.rolled_back`, `StaleError.stale`),
never from parsing their text.

Times shown come from an injectable clock (`clock=`), so snapshots stay deterministic.
"""
from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, TypeAlias

from textual import getters, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.reactive import reactive
from textual.screen import ModalScreen
from textual.widgets import Button, ContentSwitcher, Footer, ProgressBar, Static
from textual.worker import Worker, WorkerState

from wopt.engine.model import events as ev
from wopt.engine.tx.apply import Preview, TxResult
from wopt.engine.model.errors import (ApplyError, InternalError, LockBusy, StaleError, StepError, UndoRefused,
                                WoptError)
from wopt.engine.model.plan import ABSENT
from wopt.engine.model.sizes import format_size

if TYPE_CHECKING:
    from wopt.engine.analysis.model import Finding

CONFIRM, RUNNING, RESULT = "confirm", "running", "result"
RENDER_INTERVAL = 1 / 8       # seconds between two repaints of the progress panel

# share of the overall bar each phase stands for (the phases that do not occur in a mode are
# left out and the rest rescaled)
PHASE_WEIGHTS = {ev.LOCK: 1, ev.CHECK: 2, ev.JOURNAL: 3, ev.PREPARE: 40, ev.COMMIT: 40,
                 ev.SYNC: 8, ev.FINALIZE: 2}
PHASES_BY_MODE = {
    "rename": (ev.CHECK, ev.JOURNAL, ev.PREPARE, ev.COMMIT, ev.SYNC, ev.FINALIZE),
    "journal": (ev.CHECK, ev.JOURNAL, ev.COMMIT, ev.SYNC, ev.FINALIZE),
    "undo": (ev.CHECK, ev.JOURNAL, ev.PREPARE, ev.COMMIT, ev.SYNC, ev.FINALIZE),
}
PHASE_WORDS = {
    ev.LOCK: "taking the workspace lock", ev.CHECK: "checking preconditions against disk",
    ev.PREPARE: "writing new contents beside their targets", ev.JOURNAL: "writing the journal",
    ev.COMMIT: "moving files into place", ev.SYNC: "syncing directories",
    ev.FINALIZE: "marking the transaction committed", ev.ROLLBACK: "rolling back",
    ev.RECOVER: "recovering an unfinished transaction", ev.UNDO: "undoing",
    ev.DONE: "done", ev.FAILED: "failed",
}


RESULT_FILES = 50     # files listed by name in the result; the rest are counted

# what the screen dismisses with: the apply's result, or the undo's after an undo (None when
# nothing was applied)
ApplyOutcome: TypeAlias = TxResult


def human_bytes(n: int | float | None) -> str:
    return format_size(n or 0)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _batch_of(path: str) -> str:
    d = path.rsplit("/", 1)[0] if "/" in path else ""
    return d or "."


def bar(fraction: float, width: int, *, style: str = "$success") -> Content:
    """A text progress bar in theme colours (one widget for every batch, not one each)."""
    fraction = min(max(fraction, 0.0), 1.0)
    full = int(round(fraction * width))
    return Content.assemble((("━" * full), style), ("━" * (width - full), "$foreground 20%"))


# --------------------------------------------------------------------------- progress state

@dataclass
class BatchProgress:
    dir: str
    total: int = 0
    done: int = 0


@dataclass
class ProgressState:
    """Everything the progress panel shows, built from engine events (any thread)."""

    clock: Callable[[], float]
    mode: str = "rename"
    files: int = 0
    bytes_total: int = 0
    phase: str = ev.LOCK
    phase_done: dict[str, int] = field(default_factory=dict)
    phase_total: dict[str, int] = field(default_factory=dict)
    phase_started: dict[str, float] = field(default_factory=dict)
    phase_seconds: dict[str, float] = field(default_factory=dict)
    batches: dict[str, BatchProgress] = field(default_factory=dict)
    bytes_done: int = 0
    files_done: int = 0
    path: str | None = None
    step: str | None = None
    tx: str | None = None
    log: list[tuple[str, str]] = field(default_factory=list)   # (style, line)
    rolling_back: bool = False
    failed_phase: str | None = None  # the phase, file and step in hand when it failed
    failed_path: str | None = None
    failed_step: str | None = None
    rollback_done: int = 0
    rollback_total: int = 0
    started: float | None = None
    last: float | None = None       # time of the latest event
    ended: float | None = None
    events: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    def plan_batches(self, paths: list[str]) -> None:
        for p in paths:
            b = self.batches.setdefault(_batch_of(p), BatchProgress(_batch_of(p)))
            b.total += 1

    def feed(self, e: ev.Event) -> None:
        with self._lock:
            now = self.clock()
            self.events += 1
            self.last = now
            if self.started is None:
                self.started = now
            if e.tx:
                self.tx = e.tx
            if e.phase in (ev.ROLLBACK, ev.FAILED) and self.failed_phase is None:
                self.failed_phase, self.failed_path, self.failed_step = self.phase, self.path, self.step
            if e.phase != self.phase:
                if self.phase in self.phase_started:
                    self.phase_seconds[self.phase] = (self.phase_seconds.get(self.phase, 0.0)
                                                      + now - self.phase_started.pop(self.phase))
                self.phase = e.phase
                self.phase_started[e.phase] = now
            else:
                self.phase_started.setdefault(e.phase, now)
            if e.total:
                self.phase_total[e.phase] = e.total
            self.phase_done[e.phase] = max(self.phase_done.get(e.phase, 0), e.done)
            # the bytes the transaction writes (the journal event's total is the journal's own
            # size, not the files': it would overstate the total)
            if e.bytes_total and e.phase != ev.JOURNAL:
                self.bytes_total = max(self.bytes_total, e.bytes_total)
            if e.phase in (ev.PREPARE, ev.COMMIT, ev.CHECK) and e.total:
                self.files = max(self.files, e.total)
            if e.phase == ev.COMMIT:
                self.files_done = max(self.files_done, e.done)
                self.bytes_done = max(self.bytes_done, e.bytes_done)
                if e.path:
                    key = e.batch or _batch_of(e.path)
                    b = self.batches.get(key)
                    if b is None:
                        b = self.batches[key] = BatchProgress(key, total=0)
                    b.done += 1
                    if b.done > b.total:
                        b.total = b.done
            if e.path and e.phase in (ev.PREPARE, ev.COMMIT):
                self.path, self.step = e.path, e.step
            if e.phase == ev.ROLLBACK:
                self.rolling_back = True
                self.rollback_done, self.rollback_total = e.done, e.total
                if e.message:
                    self.log.append(("$text-error", e.message))
                if e.path:
                    self.log.append(("$text-warning", f"restored {e.path}"))
            elif e.phase == ev.RECOVER and e.message:
                self.log.append(("$text-warning", e.message))
            if e.phase in (ev.DONE, ev.FAILED):
                self.ended = now
                for ph, t0 in list(self.phase_started.items()):
                    if ph not in (ev.DONE, ev.FAILED):
                        self.phase_seconds[ph] = self.phase_seconds.get(ph, 0.0) + now - t0
                self.phase_started.clear()

    def finish(self) -> None:
        """The worker returned: close the open phases at the latest event's time."""
        with self._lock:
            now = self.last if self.last is not None else 0.0
            if self.ended is None:
                self.ended = now
            for ph, t0 in list(self.phase_started.items()):
                self.phase_seconds[ph] = self.phase_seconds.get(ph, 0.0) + now - t0
            self.phase_started.clear()

    @property
    def elapsed(self) -> float:
        """Seconds from the first event to the latest one (the clock is read once per event,
        so a test clock gives the same figures every run)."""
        if self.started is None:
            return 0.0
        end = self.ended if self.ended is not None else self.last
        return (end or self.started) - self.started

    def overall(self) -> float:
        """Fraction of the whole transaction done, weighting each phase by its usual cost."""
        phases = PHASES_BY_MODE.get(self.mode, PHASES_BY_MODE["rename"])
        total_w = sum(PHASE_WEIGHTS[p] for p in phases)
        done_w = 0.0
        for p in phases:
            tot = self.phase_total.get(p, 0)
            done = self.phase_done.get(p, 0)
            if tot:
                done_w += PHASE_WEIGHTS[p] * min(done / tot, 1.0)
            elif p in self.phase_done:
                done_w += PHASE_WEIGHTS[p]
        return done_w / total_w if total_w else 0.0

    def files_per_second(self) -> float:
        el = self.elapsed
        return self.files_done / el if el > 0 else 0.0

    def snapshot(self) -> "ProgressState":
        with self._lock:
            copy = ProgressState(self.clock, self.mode)
            for name in self.__dataclass_fields__:
                val = getattr(self, name)
                if isinstance(val, dict):
                    val = {k: (BatchProgress(v.dir, v.total, v.done) if isinstance(v, BatchProgress) else v)
                           for k, v in val.items()}
                elif isinstance(val, list):
                    val = list(val)
                setattr(copy, name, val)
            return copy


# --------------------------------------------------------------------------- the screen

class ApplyProgress(Message):
    """New engine events are waiting in the screen's ProgressState (one at a time)."""


# the dialog's buttons and the action each one runs
BUTTON_ACTIONS = {"apply-go": "confirm", "apply-cancel-button": "cancel", "result-undo": "undo",
                  "result-close": "close"}


class ApplyFlowScreen(ModalScreen["ApplyOutcome | None"]):
    """Confirm, apply with live progress, result with undo."""

    CSS_PATH = "apply.tcss"

    stages = getters.query_one(ContentSwitcher)
    confirm_summary = getters.query_one("#confirm-summary", Static)
    confirm_blockers = getters.query_one("#confirm-blockers", Static)
    confirm_blockers_box = getters.query_one("#confirm-blockers-box", VerticalScroll)
    go_button = getters.query_one("#apply-go", Button)
    cancel_button = getters.query_one("#apply-cancel-button", Button)
    phase_line = getters.query_one("#progress-phase", Static)
    overall_bar = getters.query_one("#progress-overall", ProgressBar)
    current_line = getters.query_one("#progress-current", Static)
    rate_line = getters.query_one("#progress-rate", Static)
    batches_panel = getters.query_one("#progress-batches", Static)
    log_panel = getters.query_one("#progress-log", Static)
    result_summary = getters.query_one("#result-summary", Static)
    result_detail = getters.query_one("#result-detail", Static)
    undo_button = getters.query_one("#result-undo", Button)
    close_button = getters.query_one("#result-close", Button)

    BINDINGS = [
        Binding("enter,y", "confirm", "Apply", id="apply.confirm"),
        # no bare "n": a word typed into the dialog (as into the palette) must not cancel it
        Binding("escape", "cancel", "Cancel", id="apply.cancel"),
        Binding("m", "toggle_mode", "Mode", id="apply.mode"),
        Binding("u", "undo", "Undo", id="apply.undo"),
        Binding("enter,escape", "close", "Close", id="apply.close"),
        Binding("q,ctrl+q", "guard_quit", "Quit", id="apply.quit", show=False, priority=True),
    ]

    stage: reactive[str] = reactive(CONFIRM, bindings=True)

    def __init__(self, ws, plan, review=None, *, model=None, step_ids: list[str] | None = None,
                 mode: str = "rename", allow_invalid: bool = False, lock_timeout: float = 10.0,
                 clock: Callable[[], float] = time.monotonic,
                 name: str | None = None, id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self.ws, self.plan, self.review, self.model = ws, plan, review, model
        self.step_ids, self.mode, self.allow_invalid = step_ids, mode, allow_invalid
        self.lock_timeout, self.clock = lock_timeout, clock
        self.preview_result: Preview | None = None
        self._findings: list[Finding] = []
        self.preview_error: str | None = None
        self.blocked: bool = True
        self.result: TxResult | None = None          # the apply's
        self.undo_result: TxResult | None = None
        self.error: BaseException | None = None
        self.progress = ProgressState(clock, mode)
        self._pending = False
        self._pending_lock = threading.Lock()
        self._last_render = 0.0
        self._shown: dict[str, tuple] = {}
        self._heights: dict[str, int] = {}
        self._action = "apply"          # or "undo"

    # ------------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        with Vertical(id="apply-dialog"):
            yield Static(self._title(), id="apply-title")
            with ContentSwitcher(initial="apply-confirm", id="apply-stages"):
                with Vertical(id="apply-confirm"):
                    yield Static("Working out what the apply will do…", id="confirm-summary")
                    yield VerticalScroll(Static("", id="confirm-blockers"), id="confirm-blockers-box")
                    with Horizontal(classes="apply-buttons"):
                        yield Button("Apply", id="apply-go", variant="success", disabled=True)
                        yield Button("Cancel", id="apply-cancel-button")
                with Vertical(id="apply-progress"):
                    yield Static("", id="progress-phase")
                    yield ProgressBar(total=1000, show_eta=False, id="progress-overall")
                    yield Static("", id="progress-current")
                    yield Static("", id="progress-rate")
                    yield VerticalScroll(Static("", id="progress-batches"), id="progress-batches-box")
                    yield Static("", id="progress-log")
                with Vertical(id="apply-result"):
                    yield Static("", id="result-summary")
                    yield VerticalScroll(Static("", id="result-detail"), id="result-detail-box")
                    with Horizontal(classes="apply-buttons"):
                        yield Button("Undo (u)", id="result-undo", variant="warning")
                        yield Button("Close", id="result-close", variant="primary")
            yield Footer(show_command_palette=False)

    def _title(self) -> Content:
        title = self.plan.title or self.plan.id
        return Content.assemble(("Apply ", "bold"), (title, "bold $text-accent"),
                                (f"  ({self.plan.id})" if self.plan.title else "", "$text-muted"))

    def on_mount(self) -> None:
        self.undo_button.display = False
        self._run_preview()

    # ------------------------------------------------------------------ actions
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "confirm":
            return self.stage == CONFIRM and not self.blocked
        if action == "cancel":
            return self.stage == CONFIRM
        if action == "toggle_mode":
            return self.stage == CONFIRM and self.preview_result is not None
        if action == "close":
            return self.stage == RESULT
        if action == "undo":
            return self.stage == RESULT and self._can_undo()
        return True

    def _can_undo(self) -> bool:
        return (self.result is not None and self.undo_result is None
                and self.result.outcome == "committed")

    async def action_guard_quit(self) -> None:
        """Quitting in the middle of an apply would leave it to recovery: wait for it."""
        if self.stage == RUNNING:
            self.notify("An apply is running: it finishes (or rolls back) in a moment; "
                        "quit after that.", title="Apply", severity="warning")
            return
        await self.app.run_action("quit")

    def action_confirm(self) -> None:
        if self.stage != CONFIRM or self.blocked:
            return
        self._start("apply")

    def action_toggle_mode(self) -> None:
        """Switch the durable mode: rename (a new file per target, then renames) or journal
        (targets written in place behind a rollback journal; keeps inodes and hard links)."""
        if self.stage != CONFIRM or self.preview_result is None:
            return
        self.mode = "journal" if self.mode == "rename" else "rename"
        self._show_preview(self.preview_result, self._findings)

    def action_cancel(self) -> None:
        if self.stage == CONFIRM:
            self.dismiss(None)

    def action_close(self) -> None:
        if self.stage == RESULT:
            self.dismiss(self.undo_result if self.undo_result is not None else self.result)

    def action_undo(self) -> None:
        if self.stage == RESULT and self._can_undo():
            self._start("undo")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        action = BUTTON_ACTIONS.get(event.button.id or "")
        if action is not None:
            getattr(self, f"action_{action}")()

    # ------------------------------------------------------------------ stage 1: preview
    def _approved_ids(self) -> list[str] | None:
        """The steps to apply; None lets the engine take the review's approved steps (with
        their edited content and accepted hunks)."""
        if self.step_ids is not None:
            return list(self.step_ids)
        if self.review is None:
            return [s.id for s in self.plan.steps]
        return None

    @work(thread=True, exclusive=True, exit_on_error=False, group="apply-preview")
    def _run_preview(self) -> tuple[Preview, list[Finding]]:
        from wopt.engine.tx.apply import preview
        pv = preview(self.ws, self.plan, self._approved_ids(), review=self.review)
        from wopt.engine.analysis.validate import validate_changes
        # the same check apply_plan makes, on every change that could be written, so the
        # confirmation names every blocker at once (stale, failing and invalid steps together);
        # a validator's internal error fails the worker, and the screen says so
        findings = [f for f in validate_changes(pv.changes) if f.severity == "error"]
        return pv, findings

    def _show_preview(self, pv: Preview, findings: list[Finding] | None = None) -> None:
        self.preview_result = pv
        self._findings = list(findings or [])
        files, nbytes = pv.files, pv.bytes
        ops = [("create", len(pv.creates)), ("replace", len(pv.replaces)), ("delete", len(pv.deletes))]
        extra = [("move", pv.moves), ("chmod", len(pv.chmods))]
        stale, errors = pv.stale, pv.errors
        findings = list(findings or [])
        nsteps = len(pv.steps)
        if nsteps == 0 and not stale and not errors:
            files = 0

        parts: list = [("Will write ", ""), (_plural(files, "file"), "bold"),
                       (f" ({human_bytes(nbytes)})", ""),
                       (f" from {_plural(nsteps, 'approved step')}", "$text-muted"), ("\n\n", "")]
        marks = {"create": ("+", "$text-success"), "replace": ("~", "$text-warning"),
                 "delete": ("-", "$text-error"), "move": (">", "$text-primary"), "chmod": ("*", "$text-primary")}
        for n, count in ops + [(n, c) for n, c in extra if c]:
            m, st = marks[n]
            parts += [(f"  {m} ", st), (f"{count:>5} ", "bold"), (f"{n}{'s' if count != 1 else ''}\n", "")]
        blockers: list = []
        for s in stale:
            why = "was deleted" if s.found == ABSENT and s.expected != ABSENT else (
                "now exists" if s.expected == ABSENT else "changed on disk")
            blockers.append(("stale", f"{s.path} (step {s.step}) {why} since the plan was made"))
        for text in errors:
            blockers.append(("invalid", text))
        for f in findings:
            line = f":{f.line}" if f.line else ""
            blockers.append(("invalid", f"{f.path}{line} (step {f.step}): {f.message} ({f.checker})"))
        if files == 0 and not blockers:
            blockers.append(("nothing", "no approved step changes any file: approve steps first"))
        only_findings = bool(findings) and not stale and not errors
        self.blocked = bool(blockers) and not (self.allow_invalid and only_findings)
        if self.blocked:
            parts[0] = ("Would write ", "")
        how = (" (new files beside their targets, then renames)" if self.mode == "rename"
               else " (in place, behind a rollback journal; keeps inodes and hard links)")
        parts += [("\nDurable mode ", "$text-muted"), (self.mode, "bold"), (how, "$text-muted"),
                  ("  m switches", "$text-muted")]
        self.confirm_summary.update(Content.assemble(*parts))
        box = self.confirm_blockers
        if blockers:
            if self.blocked:
                lines: list = [("Blocked: nothing will be written until these are resolved\n", "bold $text-error")]
            else:
                lines = [("Invalid content, applied anyway as asked (allow invalid)\n", "bold $text-warning")]
            for kind, text in blockers:
                st = "$text-warning" if kind == "stale" else "$text-error"
                lines += [(f"  {kind:<8}", f"bold {st}"), (text + "\n", "")]
            if self.blocked:
                lines.append(("\nRe-run the agent, or reject, edit or re-review these steps, then apply "
                              "again.", "$text-muted"))
            box.update(Content.assemble(*lines))
            self.confirm_blockers_box.add_class("-blocked")
        else:
            box.update(Content.assemble(("Every precondition holds. ", "$text-success"),
                                        ("One transaction: all of it is written, or none of it; "
                                         "undo with u afterwards.", "$text-muted")))
        self.go_button.disabled = self.blocked
        (self.go_button if not self.blocked else self.cancel_button).focus()
        self.refresh_bindings()

    # ------------------------------------------------------------------ stage 2: run
    def _start(self, action: str) -> None:
        self._action = action
        mode = "undo" if action == "undo" else self.mode
        self.progress = ProgressState(self.clock, mode)
        if action == "apply" and self.preview_result is not None:
            self.progress.plan_batches([c.path for c in self.preview_result.changes])
        self.error = None
        self.stage = RUNNING
        self.stages.current = "apply-progress"
        self._render_progress()
        if action == "apply":
            self._run_apply()
        else:
            self._run_undo()

    def _on_event(self, e: ev.Event) -> None:
        """Called in the worker thread for every engine event."""
        self.progress.feed(e)
        with self._pending_lock:
            if self._pending:
                return
            self._pending = True
        self.post_message(ApplyProgress())

    def on_apply_progress(self, _: ApplyProgress) -> None:
        # at most one repaint per RENDER_INTERVAL: the worker keeps feeding the state meanwhile
        # and posts nothing while a repaint is pending, so the apply is not slowed by drawing
        wait = self._last_render + RENDER_INTERVAL - time.monotonic()
        if wait > 0:
            self.set_timer(wait, self._flush_progress)
        else:
            self._flush_progress()

    def _flush_progress(self) -> None:
        with self._pending_lock:
            self._pending = False
        self._last_render = time.monotonic()
        if self.stage == RUNNING:
            self._render_progress()

    @work(thread=True, exclusive=True, exit_on_error=False, group="apply-run")
    def _run_apply(self) -> TxResult:
        from wopt.engine.tx.apply import apply_plan
        return apply_plan(self.ws, self.plan, self._approved_ids(), mode=self.mode,
                          on_event=self._on_event, allow_invalid=self.allow_invalid, review=self.review,
                          lock_timeout=self.lock_timeout, model=self.model)

    @work(thread=True, exclusive=True, exit_on_error=False, group="apply-run")
    def _run_undo(self) -> TxResult:
        from wopt.engine.tx.apply import undo
        assert self.result is not None   # the undo key is offered only after an apply
        return undo(self.ws, self.result.tx, on_event=self._on_event, lock_timeout=self.lock_timeout)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group == "apply-preview":
            if event.state == WorkerState.SUCCESS and worker.result is not None:
                self._show_preview(*worker.result)
            elif event.state == WorkerState.ERROR:
                self._preview_failed(worker.error)
            return
        if worker.group != "apply-run" or event.state not in (WorkerState.SUCCESS, WorkerState.ERROR):
            return
        self.progress.finish()
        if event.state == WorkerState.SUCCESS:
            if self._action == "undo":
                self.undo_result = worker.result
            else:
                self.result = worker.result
        else:
            self.error = worker.error
        self._render_progress()
        self._show_result()

    def _preview_failed(self, err: BaseException | None) -> None:
        self.blocked = True
        self.preview_error = _plain(err)
        self.confirm_summary.update(
            Content.assemble(("Cannot work out what this apply would do\n\n", "bold $text-error"),
                             (self.preview_error, "")))
        self.confirm_blockers.update("")
        self.cancel_button.focus()
        self.refresh_bindings()

    def _render_progress(self) -> None:
        st = self.progress.snapshot()
        undoing = self._action == "undo"
        # phase chips
        chips: list = []
        for ph in PHASES_BY_MODE.get(st.mode, PHASES_BY_MODE["rename"]):
            if ph == st.phase:
                chips.append((f" ▶ {ph} ", "bold reverse $text-accent"))
            elif ph in st.phase_done and (st.phase_total.get(ph, 0) <= st.phase_done.get(ph, 0)):
                chips.append((f" ✓ {ph} ", "$text-success"))
            else:
                chips.append((f" · {ph} ", "$text-muted"))
        what = "Undoing" if undoing else "Applying"
        head: list = [(f"{what}: ", "bold"), (PHASE_WORDS.get(st.phase, st.phase), "bold $text-accent"),
                      ("\n", ""), *chips]
        if st.rolling_back:
            head = [("Rolling back: ", "bold $text-error"),
                    (f"restoring the tree as it was ({st.rollback_done}/{st.rollback_total})", "$text-error"),
                    ("\n", ""), *chips]
        self._set(self.phase_line, Content.assemble(*head))
        pb = self.overall_bar
        pb.update(total=1000, progress=int(st.overall() * 1000))
        pb.set_class(st.rolling_back, "-rollback")
        cur: list = []
        if st.path:
            cur = [("Step ", "$text-muted"), (st.step or "?", "bold"), ("  ", ""), (st.path, "")]
        self._set(self.current_line, Content.assemble(*cur))
        rate = st.files_per_second()
        self._set(self.rate_line, Content.assemble(
            (f"{st.files_done}/{st.files or '?'} files", "bold"),
            (f"  {human_bytes(st.bytes_done)} of {human_bytes(st.bytes_total)}", ""),
            (f"  {rate:,.0f} files/s" if rate else "  – files/s", "$text-accent"),
            (f"  {st.elapsed:.2f} s", "$text-muted")))
        # batches: one Static for all of them
        lines: list = [("Batches\n", "bold")]
        width = max((len(b.dir) for b in st.batches.values()), default=1)
        width = min(max(width, 8), 48)
        shown = list(st.batches.values())
        for b in shown[:200]:
            frac = (b.done / b.total) if b.total else 0.0
            mark = ("✓", "$text-success") if b.total and b.done >= b.total else ("…", "$text-muted")
            name = b.dir if len(b.dir) <= width else "…" + b.dir[-(width - 1):]
            lines += [(f"{mark[0]} ", mark[1]), (f"{name:<{width}} ", ""),
                      bar(frac, 24, style="$error" if st.rolling_back else "$success"),
                      (f" {b.done}/{b.total}\n", "$text-muted")]
        if len(shown) > 200:
            lines.append((f"… and {len(shown) - 200} more directories\n", "$text-muted"))
        self._set(self.batches_panel, Content.assemble(*lines))
        self._set(self.log_panel, Content.assemble(*[(line + "\n", style) for style, line in st.log[-8:]]))

    def _set(self, line: Static, content: Content) -> None:
        """Update a panel line without a layout pass unless its height changes (a layout of
        the whole screen per repaint would take the GIL from the apply's thread)."""
        lines = content.plain.count("\n") + 1
        key = (content.plain, tuple(content.spans))
        name = line.id or ""
        if self._shown.get(name) == key:
            return
        previous = self._heights.get(name)
        self._shown[name] = key
        self._heights[name] = lines
        line.update(content, layout=previous != lines)

    # ------------------------------------------------------------------ stage 3: result
    def _show_result(self) -> None:
        self.stage = RESULT
        self.stages.current = "apply-result"
        st = self.progress.snapshot()
        summary, detail, undo_btn = self.result_summary, self.result_detail, self.undo_button
        if self.error is not None:
            word = "Undo" if self._action == "undo" else "Apply"
            rolled = st.rolling_back or (isinstance(self.error, ApplyError) and self.error.rolled_back)
            untouched = ("The transaction was rolled back: every file is as it was before."
                         if rolled else "Nothing was written: every file is as it was before.")
            if self._action == "undo":
                untouched = "The undo did not happen: the files are as the apply left them."
            summary.update(Content.assemble((f"{word} failed\n", "bold $text-error"),
                                            (untouched, "$text-warning")))
            lines: list = [("What went wrong\n", "bold"), (headline(self.error, st) + "\n\n", "bold"),
                           ("The engine said: ", "$text-muted"), (_plain(self.error) + "\n", "")]
            if st.log:
                lines.append(("\nRollback\n", "bold"))
                lines += [(line + "\n", style) for style, line in st.log]
            detail.update(Content.assemble(*lines))
            undo_btn.display = self._action == "undo" and self._can_undo()
        else:
            res = self.undo_result if self._action == "undo" else self.result
            assert res is not None   # the worker succeeded
            if res.outcome == "noop":
                summary.update(Content.assemble(("Nothing to change: ", "bold $text-success"),
                                                ("the files already hold these contents.", "")))
                detail.update(Content.assemble(("No transaction was needed; press enter to close.",
                                                "$text-muted")))
                undo_btn.display = False
                self.close_button.focus()
                self.refresh_bindings()
                return
            files, nbytes, ops = res.files, res.bytes, res.ops
            head = ("Undone" if self._action == "undo" else "Applied")
            tail = (": every file is back as it was before the apply" if self._action == "undo"
                    else " as one transaction")
            summary.update(Content.assemble(
                (f"{head} ", "bold $text-success"), (_plural(files, "file"), "bold"),
                (f" ({human_bytes(nbytes)})", ""), (tail, "")))
            lines = [("Operations\n", "bold")]
            for n in ("create", "replace", "delete", "move", "chmod"):
                if ops.get(n):
                    lines.append((f"  {ops[n]:>5} {n}{'s' if ops[n] != 1 else ''}\n", ""))
            changes = res.changes
            if changes:
                lines.append(("\nFiles\n", "bold"))
                verb = {"create": "created", "replace": "written", "delete": "deleted", "chmod": "mode"}
                for c in changes[:RESULT_FILES]:
                    lines.append((f"  {verb.get(c.kind, c.kind):<8} ", "$text-muted"))
                    lines.append((f"{c.path}\n", ""))
                if len(changes) > RESULT_FILES:
                    lines.append((f"  … and {len(changes) - RESULT_FILES} more "
                                  "(wopt history --json lists them all)\n", "$text-muted"))
            lines.append(("\nTimes\n", "bold"))
            lines.append((f"  {st.elapsed:8.2f} s in all", ""))
            # the rate History shows for the same transaction: files over the engine's phase times
            durations = res.durations
            secs = sum(float(v) for v in durations.values()) if durations else st.elapsed
            rate = (files / secs) if secs > 0 else 0
            if rate:
                lines.append((f", {rate:,.0f} files/s", "$text-accent"))
            lines.append(("\n", ""))
            for ph in PHASES_BY_MODE.get(st.mode, ()):
                if ph in st.phase_seconds:
                    lines.append((f"  {st.phase_seconds[ph]:8.2f} s {ph}\n", "$text-muted"))
            lines.append((f"\n  {res.fsyncs} fsync calls\n", "$text-muted"))
            if self._action != "undo":
                lines.append(("\nPress u to undo this transaction, enter to close.", "$text-muted"))
            detail.update(Content.assemble(*lines))
            undo_btn.display = self._can_undo()
        self.close_button.focus()   # enter closes; undo is its own key
        self.refresh_bindings()


def headline(err: BaseException | None, st: ProgressState) -> str:
    """One sentence in plain words: what failed, while doing what, on which file (from the
    error's type and fields, and the phase and file the progress was at)."""
    if isinstance(err, StaleError):
        files = ", ".join(s.path for s in err.stale[:3])
        return f"Files changed since the plan was made ({files}); nothing was written."
    if isinstance(err, LockBusy):
        return "Another apply is using this workspace; nothing was written. Try again when it ends."
    if isinstance(err, UndoRefused):
        return "The files were changed after the apply, so undoing it would lose those changes."
    if isinstance(err, StepError):
        return "A step cannot be carried out on the files as they are now; nothing was written."
    reason = _reason(err)
    if st.failed_phase:
        # the phase the engine says it failed in; the progress events can lag behind it (journal
        # mode reports a file once it is written)
        phase = (err.phase if isinstance(err, ApplyError) else None) or st.failed_phase
        doing = PHASE_WORDS.get(phase, phase)
        # the file in hand: the one the failed operation names, else the one after the last event's
        path = err.path if isinstance(err, ApplyError) else None
        if path and "/.wopt/" not in path and ".wopt-" not in path:
            where = f" at {path}"
        elif st.failed_path:
            where = f" just after {st.failed_path}"
        else:
            where = ""
        return f"{reason or 'An error'} while {doing}{where}."
    return (reason + ".") if reason else _plain(err)


def _reason(err: BaseException | None) -> str | None:
    """The failure in a few words: the OS error of the failed call (the error's `errno`, or
    the OSError it was raised from), or "wopt's internal error"."""
    if isinstance(err, ApplyError) and err.errno:
        return err.reason
    cause = err
    while cause is not None and not isinstance(cause, OSError):
        cause = cause.__cause__ or cause.__context__
    if isinstance(cause, OSError):
        return (os.strerror(cause.errno) if cause.errno else cause.strerror) or None
    if isinstance(err, InternalError):
        return "wopt's internal error"
    return None


def _plain(err: BaseException | None) -> str:
    """An error in plain words: wopt's own errors say what, where and what to do."""
    if err is None:
        return "unknown error"
    if isinstance(err, WoptError):
        return str(err)
    if isinstance(err, OSError):
        where = f" ({Path(err.filename).name})" if getattr(err, "filename", None) else ""
        return f"{err.strerror or err}{where}"
    return f"unexpected {type(err).__name__}: {err}"
