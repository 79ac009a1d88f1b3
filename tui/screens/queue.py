"""The queue: every pending plan with its source, age, files, size and review progress.

A thread worker polls `.wopt/plans/` every second through the engine (`spool.list_plans`), so
the queue updates live as agents add plans or hook calls extend one, and the screen never
waits on the disk. A plan a gate-mode hook call is waiting on stands out; a plan file that
does not decode is listed with its error and the rest keeps working.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual import getters, work
from textual.app import ComposeResult
from textual.coordinate import Coordinate
from textual.screen import Screen
from textual.widgets import DataTable, Static

from wopt.engine.store import decide, spool
from wopt.engine.sources import display_name
from wopt.engine.model.errors import WoptError
from wopt.engine.model.sizes import format_size

from .. import keymap
from ..widgets.key_bar import KeyBar
from ..messages import OpenPlan, PlansUpdated

if TYPE_CHECKING:
    from ..app import WoptApp


HOOK_SOURCES = ("claude-hook", "codex-hook", "gemini-hook")


@dataclass(frozen=True)
class QueueRow:
    id: str
    title: str
    source: str
    created: str | None
    steps: int
    files: int
    size: int
    approved: int
    rejected: int
    error: str | None = None


def _size(n: int) -> str:
    return format_size(n)


def age(created: str | None, now: datetime) -> str:
    if not created:
        return "?"
    try:
        t = datetime.strptime(created, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        return "?"
    s = int((now - t).total_seconds())
    if s < 0:
        return "now"
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m"
    if s < 86400:
        return f"{s // 3600}h"
    return f"{s // 86400}d"


def source_name(plan) -> str:
    if plan.source == "mcp":  # `wopt mcp`: the agent is the MCP client's own name
        return f"{plan.agent or 'MCP client'} via MCP"
    name = display_name(plan.source)
    if plan.agent and plan.agent.lower().replace("-", " ") not in name.lower():
        name = f"{name} ({plan.agent})"
    return name


def scan(ws) -> tuple[list[QueueRow], dict[str, str], set[str]]:
    """The queue's rows, through engine calls only (runs in a thread worker)."""
    rows: list[QueueRow] = []
    errors: dict[str, str] = {}
    entries = spool.list_plans(ws)
    for e in entries:
        if e.plan is None:
            rows.append(QueueRow(e.id, "", "", None, 0, 0, 0, 0, 0, e.error or "unreadable"))
            errors[e.id] = e.error or "unreadable"
            continue
        p = e.plan
        paths = set()
        size = 0
        for s in p.steps:
            paths.add(s.path)
            to = getattr(s, "to", None)
            if to:
                paths.add(to)
            c = getattr(s, "content", None)
            if c:
                size += len(c)
            b = getattr(s, "content_base64", None)
            if b:
                size += len(b) * 3 // 4
            for ed in getattr(s, "edits", None) or ():
                size += len(ed.new_string)
        try:
            rv = spool.load_review(ws, p.id)
            if rv.applied:
                continue   # applied: it has left the pending queue (History keeps it, with undo)
            dec = rv.decisions
            ids = {s.id for s in p.steps}
            approved = sum(1 for k, v in dec.items() if v == "approved" and k in ids)
            rejected = sum(1 for k, v in dec.items() if v == "rejected" and k in ids)
        except WoptError:
            approved = rejected = 0
        rows.append(QueueRow(p.id, p.title or "(untitled)", source_name(p), p.created, len(p.steps),
                             len(paths), size, approved, rejected))
    return rows, errors, waiting_plans(ws)


def waiting_plans(ws) -> set[str]:
    """Plans a gate-mode hook call is blocked on now (its marker, from a live process)."""
    return {w.plan_id for w in decide.waiting(ws)}


class QueueScreen(Screen):
    CSS_PATH = "queue.tcss"
    table = getters.query_one(DataTable)
    empty = getters.query_one("#queue-empty", Static)
    BINDINGS = keymap.bindings("queue")
    POLL_SECONDS = 1.0

    def __init__(self, ws) -> None:
        super().__init__()
        self.ws = ws
        self.rows: list[QueueRow] = []
        self.waiting: set[str] = set()
        self._known_errors: set[str] = set()
        self._loaded = False

    def compose(self) -> ComposeResult:
        sub = getattr(self.app, "sub_title", "")
        yield Static(f"wopt · pending plans{f'  ·  {sub}' if sub else ''}", id="queue-title")
        table: DataTable[str | Text] = DataTable(id="queue-table", cursor_type="row", zebra_stripes=True)
        yield table
        yield Static("", id="queue-empty")
        yield KeyBar(("queue", "app"))

    def on_mount(self) -> None:
        t = self.table
        for label, key in (("", "mark"), ("plan", "id"), ("title", "title"), ("source", "source"),
                           ("age", "age"), ("steps", "steps"), ("files", "files"), ("size", "size"),
                           ("review", "review")):
            t.add_column(label, key=key)
        self.poll()
        self.set_interval(self.POLL_SECONDS, self.poll)

    @work(thread=True, exclusive=True, group="queue-poll", exit_on_error=False)
    def poll(self) -> None:
        try:
            rows, errors, waiting = scan(self.ws)
        except (WoptError, OSError) as e:
            self.app.call_from_thread(self.notify, f"cannot read the plans: {e}", severity="error")
            return
        self.post_message(PlansUpdated(rows, errors, waiting))

    def on_plans_updated(self, msg: PlansUpdated) -> None:
        new_errors = set(msg.errors) - self._known_errors
        for pid in sorted(new_errors):
            err = msg.errors[pid]
            self.notify(err if f"{pid}.json" in err else f".wopt/plans/{pid}.json: {err}",
                        title="A plan file cannot be read",
                        severity="error", timeout=8)
        self._known_errors = set(msg.errors)
        if sorted(msg.rows, key=lambda r: r.id not in msg.waiting) == self.rows \
                and msg.waiting == self.waiting and self._loaded:
            self._tick_ages()   # same plans: only the ages move on
            return
        self._loaded = True
        # a plan an agent is waiting on goes first
        self.rows = sorted(msg.rows, key=lambda r: r.id not in msg.waiting)
        self.waiting = msg.waiting
        self._fill()

    def _tick_ages(self) -> None:
        t = self.table
        now = cast("WoptApp", self.app).now()
        for r in self.rows:
            if not r.error:
                t.update_cell(r.id, "age", age(r.created, now))

    def _fill(self) -> None:
        t = self.table
        current = None
        if t.row_count and t.cursor_row >= 0:
            try:
                current = t.coordinate_to_cell_key(Coordinate(t.cursor_row, 0)).row_key.value
            except Exception:
                current = None
        t.clear()
        now = cast("WoptApp", self.app).now()
        for r in self.rows:
            if r.error:
                short = r.error.split(": ", 1)[1] if r.error.startswith(".wopt/plans/") and ": " in r.error else r.error
                short = short if len(short) <= 18 else short[:17] + "…"
                t.add_row(Text("⚠", style="bold red"), r.id, Text(f"unreadable: {short}", style="italic"),
                          "", "", "", "", "", "", key=r.id)
                continue
            wait = r.id in self.waiting
            mark = Text("◉", style="bold") if wait else Text("")
            decided = r.approved + r.rejected
            if r.steps and decided == r.steps:
                prog = f"done ✓{r.approved} ✗{r.rejected}"
            elif decided:
                prog = f"{decided}/{r.steps} ✓{r.approved} ✗{r.rejected}"
            else:
                prog = f"0/{r.steps}"
            if wait:
                prog = "waiting " + prog
            title = Text(r.title if len(r.title) <= 30 else r.title[:29] + "…", style="bold" if wait else "")
            t.add_row(mark, r.id, title, r.source, age(r.created, now), str(r.steps), str(r.files),
                      _size(r.size), Text(prog, style="bold" if wait else ""), key=r.id)
        empty = self.empty
        if not self.rows:
            empty.update("No pending plans in .wopt/plans/. Agents add them through `wopt ingest` "
                         "or the Claude Code hook; try `wopt-tui --demo`.")
            empty.display = True
        else:
            empty.display = False
        if current is not None:
            for i, r in enumerate(self.rows):
                if r.id == current:
                    t.move_cursor(row=i, animate=False)
                    break

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is not None:
            self.post_message(OpenPlan(event.row_key.value))

    def action_open(self) -> None:
        t = self.table
        if not self.rows or t.cursor_row < 0:
            return
        self.post_message(OpenPlan(self.rows[t.cursor_row].id))

    def action_cursor_down(self) -> None:
        self.table.action_cursor_down()

    def action_cursor_up(self) -> None:
        self.table.action_cursor_up()

    def action_refresh(self) -> None:
        self.poll()

    def on_screen_resume(self) -> None:
        self.poll()
