"""The selected step's details: what it depends on and what needs it (with the reason of each
edge), validation findings, flags, its template family, where it came from (the agent calls
it folds), and the person's decision on it."""
from __future__ import annotations

from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from wopt.engine.analysis.model import ReviewModel, StepInfo


def _path_of(model: ReviewModel, sid: str) -> str:
    s = model.steps.get(sid)
    return s.path if s else sid


def describe_step(model: ReviewModel, info: StepInfo, decision: str, *, reason: str | None = None,
                  edited: bool = False, hunks: list[int] | None = None, n_hunks: int | None = None,
                  position: int | None = None, imports: list[str] | None = None,
                  missing: list[str] | None = None,
                  stale_base: bool = False, rebased: bool = False) -> Text:
    t = Text(no_wrap=False)

    def head(s: str) -> None:
        t.append(f"\n{s}\n", style="bold")

    t.append(f"{info.kind} ", style="bold")
    t.append(info.path)
    if info.to:
        t.append(f" -> {info.to}")
    pos = info.position if position is None else position   # the person's order, when set
    t.append(f"\nstep {info.id} · #{pos + 1} in commit order · batch {info.batch}/\n", style="dim")
    t.append(f"decision: {decision}", style="bold")
    if reason:
        t.append(f" ({reason})")
    if edited:
        t.append(" · rebased by you" if rebased else " · edited by you")
    if hunks is not None and n_hunks:
        t.append(f" · {len(hunks)} of {n_hunks} hunks accepted")
    t.append("\n")
    for line in imports or ():
        t.append(f"⊘ {line}\n", style="bold")
    if imports:
        t.append("  the apply would refuse it: reject it too, or approve what it imports\n", style="dim")
    for line in missing or ():
        t.append(f"⊘ {line}\n", style="bold")
    if missing:
        t.append("  this import fails once the plan is applied: edit the step (e), reject it, or "
                 "have the agent add the module\n", style="dim")
    if info.stale:
        t.append(f"! stale: {info.stale}\n", style="bold")
        shown = "the file the agent saw" if stale_base else "the file now"
        other = "the file now" if stale_base else "the file the agent saw"
        t.append(f"  the diff shows the proposal against {shown} (b: against {other}); "
                 "ctrl+b rebases it onto the file now\n", style="dim")
    if info.error:
        t.append(f"⚠ cannot apply: {info.error}\n", style="bold")
    def edges(title: str, items: list, arrow: str, other) -> None:
        head(title)
        if not items:
            t.append("  nothing\n", style="dim")
            return
        by_reason: dict[str, list[str]] = {}
        here = "" if info.batch in (".", "") else info.batch.rstrip("/") + "/"
        for e in items:
            p = _path_of(model, other(e))
            if here and p.startswith(here):
                p = "./" + p[len(here):]      # beside this step, in its batch
            by_reason.setdefault(e.reason, []).append(p)
        for why, paths in by_reason.items():
            t.append(f"  {why}\n", style="italic dim")
            for p in paths:
                t.append(f"  {arrow} {p}\n")

    edges("Depends on", info.depends_on, "←", lambda e: e.before)
    edges("Needed by", info.needed_by, "→", lambda e: e.after)
    head("Findings")
    if info.findings:
        for f in info.findings:
            where = f":{f.line}" if f.line else ""
            where += f":{f.column}" if f.line and f.column else ""
            mark = "⚠" if f.severity == "error" else "·"
            t.append(f"  {mark} {f.severity} {f.checker}{where}: {f.message}\n")
    else:
        t.append("  none\n", style="dim")
    if info.flags:
        head("Flags")
        for fl in info.flags:
            t.append(f"  {fl.code}: {fl.message}\n")
    outlier_of = next(((f, o) for f in model.families for o in f.outliers if o.step == info.id), None)
    if outlier_of is not None and not info.family:
        owner, o = outlier_of
        head("Template family")
        t.append(f"  an outlier of {owner.id} ({len(owner.members)} files): {o.differs}\n")
        t.append("  enter opens the family\n", style="dim")
    if info.family:
        fam = next((f for f in model.families if f.id == info.family), None)
        head("Template family")
        if fam is not None:
            t.append(f"  {fam.id}: {len(fam.members)} files, slots {', '.join(fam.slots) or '-'}\n")
            if fam.outliers:
                t.append(f"  {len(fam.outliers)} outlier(s)\n")
            if fam.saved_as:
                t.append(f"  matches saved template {fam.saved_as} (used {fam.saved_uses}×)\n")
            t.append("  enter opens the family\n", style="dim")
        else:
            t.append(f"  {info.family}\n")
    head("Origin")
    if info.origin:
        for o in info.origin:
            tool = getattr(o, "tool", None) or "?"
            summary = getattr(o, "summary", None)
            call = getattr(o, "call_id", None)
            t.append(f"  {tool}")
            if call:
                t.append(f" {call}", style="dim")
            if summary:
                t.append(f": {summary}")
            t.append("\n")
    else:
        t.append("  the plan itself\n", style="dim")
    return t


class Details(VerticalScroll, can_focus=True):
    DEFAULT_CSS = """
    Details { padding: 0 1; }
    Details > Static { width: 100%; }
    """

    def compose(self):
        yield Static("", id="details-body")

    def show(self, text: Text | str) -> None:
        self.query_one("#details-body", Static).update(text)
        self.scroll_home(animate=False)
