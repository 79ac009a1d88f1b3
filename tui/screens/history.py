"""Past transactions, with undo, and the figures of `wopt stats` with sparklines.

`HistoryScreen(ws)` reads `wopt.engine.store.history.read_history(ws)` and
`wopt.engine.analysis.stats.stats(records)` in a thread worker, shows the transactions
newest first in a DataTable (one row each; the table draws only what is visible), the
figures, and sparklines of apply time, files per second and rollbacks over time. `u` (or the
button) undoes the selected transaction with `wopt.engine.tx.apply.undo`, in a worker, once
confirmed by a second press (undoing an undo redoes the apply); a refusal is shown in plain
words. The screen writes nothing itself.
"""
from __future__ import annotations

from textual import getters, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Button, DataTable, Footer, Sparkline, Static
from textual.worker import Worker, WorkerState

from ..widgets.tables import cursor_row_key
from .apply import human_bytes

SERIES = (
    # (widget id, label, names the stats may use for the series)
    ("spark-seconds", "apply time (s)", ("apply_seconds", "seconds", "apply_time", "durations")),
    ("spark-rate", "files / second", ("files_per_second", "rate", "files_per_sec")),
    ("spark-rollbacks", "rollbacks", ("rollbacks", "rolled_back", "rollback")),
)


def _series(stats: dict, names: tuple[str, ...]) -> list[float]:
    """A per-transaction series from the stats, wherever it is kept (`series` or top level)."""
    pools = [stats.get("series"), stats]
    for pool in pools:
        if not isinstance(pool, dict):
            continue
        for n in names:
            v = pool.get(n)
            if isinstance(v, list) and all(isinstance(x, (int, float)) or x is None for x in v):
                return [float(x or 0) for x in v]
    return []


def _seconds(rec: dict) -> float:
    d = rec.get("durations")
    if not isinstance(d, dict):   # a record from another version, or hand-edited
        return 0.0
    return float(sum(v for v in d.values() if isinstance(v, (int, float))))


def _when(started: str | None) -> str:
    """An ISO time as `YYYY-MM-DD HH:MM` (UTC, as recorded)."""
    if not started:
        return "?"
    return started.replace("T", " ").rstrip("Z")[:16]


OUTCOME_STYLE = {"committed": "$text-success", "rolled_back": "$text-error", "refused": "$text-warning",
                 "noop": "$foreground 60%"}
OUTCOME_WORD = {"committed": "committed", "rolled_back": "rolled back", "refused": "refused", "noop": "no change"}


class HistoryScreen(Screen[None]):
    """Every transaction of this workspace, newest first, with undo and statistics."""

    CSS_PATH = "history.tcss"
    table = getters.query_one(DataTable)
    status = getters.query_one("#history-status", Static)
    figures = getters.query_one("#history-figures", Static)
    undo_button = getters.query_one("#history-undo", Button)

    BINDINGS = [
        Binding("u", "undo", "Undo transaction", id="history.undo"),
        Binding("r", "reload", "Reload", id="history.reload"),
        Binding("escape,q", "close", "Back", id="history.close"),
        Binding("j", "cursor_down", "Down", id="history.down", show=False),
        Binding("k", "cursor_up", "Up", id="history.up", show=False),
        Binding("g", "top", "Top", id="history.top", show=False),
        Binding("G", "bottom", "Bottom", id="history.bottom", show=False),
    ]

    def __init__(self, ws, *, name: str | None = None, id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self.ws = ws
        self.records: list[dict] = []
        self.stats: dict = {}
        self._busy = False
        self._armed: str | None = None

    def compose(self) -> ComposeResult:
        yield Static("History: transactions applied in this workspace", id="history-title")
        with Horizontal(id="history-top"):
            yield Static("Reading the history…", id="history-figures")
            with Vertical(id="history-sparks"):
                for wid, label, _names in SERIES:
                    with Horizontal(classes="spark-row"):
                        yield Static(label, classes="spark-label", id=f"{wid}-label")
                        yield Sparkline([], id=wid)
        yield DataTable(id="history-table", cursor_type="row", zebra_stripes=True)
        yield Static("", id="history-status")
        with Horizontal(id="history-buttons"):
            yield Button("Undo selected (u)", id="history-undo", variant="warning")
            yield Button("Back", id="history-back")
        yield Footer(show_command_palette=False)

    def on_mount(self) -> None:
        table = self.table
        self._columns(table, [])
        table.focus()
        self.action_reload()

    # ------------------------------------------------------------------ loading
    def action_reload(self) -> None:
        self._load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="history-load")
    def _load(self) -> tuple[list[dict], dict, str | None]:
        from wopt.engine.store.history import read_history
        from wopt.engine.analysis.stats import stats
        records = read_history(self.ws)
        return records, stats(records) or {}, None

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        w = event.worker
        if w.group == "history-load":
            if event.state == WorkerState.SUCCESS and w.result is not None:
                records, st, problem = w.result
                self._show(records, st, problem)
            elif event.state == WorkerState.ERROR:
                self._status(f"Cannot read the history: {w.error}", error=True)
        elif w.group == "history-undo" and event.state in (WorkerState.SUCCESS, WorkerState.ERROR):
            self._busy = False
            res = w.result
            if event.state == WorkerState.SUCCESS and res is not None:
                self._status(f"Undone: {res.files} file{'s' if res.files != 1 else ''} restored "
                             f"as they were before {res.undoes or 'the transaction'}.")
                self.notify("transaction undone", title="History")
            else:
                from .apply import _plain
                self._status(f"Undo refused: {_plain(w.error)}", error=True)
            self._load()

    def _status(self, text: str, *, error: bool = False) -> None:
        st = self.status
        st.update(Content(text))
        st.set_class(error, "-error")

    def _show(self, records: list[dict], st: dict, problem: str | None) -> None:
        self.records, self.stats = records, st
        self._show_figures(records, st, problem)
        for wid, label, names in SERIES:
            data = _series(st, names)
            spark = self.query_one(f"#{wid}", Sparkline)
            spark.data = data
            # a line needs two points to say anything (one fills the width as a solid block),
            # and a row of zero rollbacks is no red bar
            spark.display = len(data) >= 2 and (wid != "spark-rollbacks" or any(data))
            lab = self.query_one(f"#{wid}-label", Static)
            if data:
                last = data[-1]
                lab.update(Content.assemble((label, "$text-muted"),
                                            (f"  last {last:,.2f}".rstrip("0").rstrip(".")
                                             if wid != "spark-rollbacks" else f"  total {int(sum(data))}", "")))
            else:
                lab.update(Content.styled(label, "$text-muted"))
        table = self.table
        keep = self._selected_tx()
        rows = []
        for rec in reversed(records):
            tx = rec.get("tx") or ""
            outcome = rec.get("outcome", "?")
            kind = rec.get("kind", "apply")
            state: str | Content = ""
            if rec.get("undone_by"):
                state = Content.styled("undone", "italic $foreground 60%")
            elif kind == "apply" and outcome == "committed":
                state = Content.styled("undoable", "$text-accent")
            elif kind == "undo" and outcome == "committed":
                state = Content.styled("redoable", "$text-primary")
            rows.append((tx, [
                _when(rec.get("started")), tx, rec.get("plan") or "", kind,
                Content.styled(OUTCOME_WORD.get(outcome, outcome), OUTCOME_STYLE.get(outcome, "")),
                str(rec.get("files", 0)), human_bytes(rec.get("bytes", 0)), f"{_seconds(rec):.3f} s", state]))
        table.clear(columns=True)
        self._columns(table, [cells for _tx, cells in rows])
        for i, (tx, cells) in enumerate(rows):
            table.add_row(*cells, key=tx or f"row-{i}")
        if keep and keep in table.rows:   # the row the cursor was on, if it is still listed
            table.move_cursor(row=table.get_row_index(keep))
        if not records:
            self._status("No transaction yet: apply a plan and it shows here.")

    COLUMNS = (("when", "when (UTC)"), ("tx", "transaction"), ("plan", "plan"), ("kind", "kind"),
               ("outcome", "outcome"), ("files", "files"), ("bytes", "bytes"), ("time", "time"),
               ("state", "state"))

    def _columns(self, table: DataTable, rows: list[list]) -> None:
        """Columns as wide as their widest cell, fixed before the rows arrive (so the table
        never draws a row with stale widths)."""
        for i, (key, label) in enumerate(self.COLUMNS):
            width = max([len(label)] + [len(c.plain if isinstance(c, Content) else str(c)) for c in
                                        (r[i] for r in rows)])
            table.add_column(label, key=key, width=min(width, 40))

    def _show_figures(self, records: list[dict], st: dict, problem: str | None) -> None:
        def fig(label: str, *names: str, fmt=str):
            for n in names:
                if n in st and st[n] is not None:
                    return [(f"{label:<18}", "$text-muted"), (fmt(st[n]) + "\n", "bold")]
            return []
        lines: list = []
        lines += fig("transactions", "transactions")
        lines += fig("applies", "applies")
        lines += fig("undos", "undos")
        lines += fig("rollbacks", "rollbacks")
        lines += fig("refused", "refused")
        lines += fig("files written", "files")
        lines += fig("bytes written", "bytes", fmt=human_bytes)
        lines += fig("median apply", "median_apply_seconds", fmt=lambda v: f"{float(v):.3f} s")
        lines += fig("optimization rate", "optimization_rate", fmt=lambda v: f"{float(v):.0%}")
        if not lines:
            lines = [(problem or f"{len(records)} transaction{'s' if len(records) != 1 else ''}", "$text-muted")]
        self.figures.update(Content.assemble(*lines))

    # ------------------------------------------------------------------ actions
    def _selected_tx(self) -> str | None:
        return cursor_row_key(self.table)

    def _record(self, tx: str | None) -> dict | None:
        return next((r for r in self.records if r.get("tx") == tx and tx), None)

    def _undoable(self, rec: dict | None) -> bool:
        """A committed apply, or a committed undo (undoing it redoes the apply), that nothing
        has undone yet."""
        return bool(rec and rec.get("kind") in ("apply", "undo") and rec.get("outcome") == "committed"
                    and rec.get("tx") and not rec.get("undone_by"))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "undo":
            return self._undoable(self._record(self._selected_tx())) and not self._busy
        return True

    def action_undo(self) -> None:
        """First press: say what will happen; second press on the same row: do it."""
        tx = self._selected_tx()
        rec = self._record(tx)
        if rec is None or self._busy:
            return
        if not self._undoable(rec):
            why = (f"{tx} was already undone by {rec['undone_by']}." if rec.get("undone_by")
                   else "Only a committed transaction can be undone.")
            self._status(why, error=True)
            return
        if self._armed != tx:
            self._armed = tx
            what = "redo the apply it undid" if rec.get("kind") == "undo" else "put back"
            n = rec.get("files", 0)
            self._status(f"Undo {tx}: {what} {n} file{'s' if n != 1 else ''} as before it"
                         f"{' (plan ' + rec['plan'] + ')' if rec.get('plan') else ''}. "
                         "Press u again to confirm; any move cancels.")
            return
        self._armed = None
        self._busy = True
        self._status(f"Undoing {tx}…")
        self._undo(tx)

    @work(thread=True, exclusive=True, exit_on_error=False, group="history-undo")
    def _undo(self, tx: str):
        from wopt.engine.tx.apply import undo
        return undo(self.ws, tx)

    def action_close(self) -> None:
        self.dismiss(None)

    def action_cursor_down(self) -> None:
        self.table.action_cursor_down()

    def action_cursor_up(self) -> None:
        self.table.action_cursor_up()

    def action_top(self) -> None:
        self.table.move_cursor(row=0)

    def action_bottom(self) -> None:
        t = self.table
        t.move_cursor(row=max(t.row_count - 1, 0))

    @on(DataTable.RowHighlighted)
    def _highlighted(self, _event) -> None:
        if self._armed is not None and self._armed != self._selected_tx():
            self._armed = None
            self._status("")
        self.refresh_bindings()
        btn = self.undo_button
        btn.disabled = not self.check_action("undo", ())

    @on(Button.Pressed, "#history-undo")
    def _undo_pressed(self) -> None:
        self.action_undo()

    @on(Button.Pressed, "#history-back")
    def _back(self) -> None:
        self.action_close()
