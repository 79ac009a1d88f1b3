"""wopt show, wopt check, wopt stats: the plan analysis and the history figures, headless."""
from __future__ import annotations

import argparse
import sys

ORDER = 20
COMMANDS = ('show', 'check', 'stats')   # the commands register() adds (main builds only the one called)


def register(sub, common) -> None:
    p = sub.add_parser("show", parents=[common], help="show a plan: batches in commit order, "
                       "dependencies, template families, findings, flags, diffs",
                       description="Print the review model of PLAN: batches in commit order with "
                       "dependency reasons, template families with their value tables, validation "
                       "findings, flags and syntax-highlighted diffs.")
    p.add_argument("plan", metavar="PLAN")
    p.add_argument("--json", action="store_true", help="print the review model as JSON")
    p.add_argument("--no-diff", action="store_true", help="leave the diffs out")
    p.add_argument("--step", action="append", metavar="ID", help="only this step's diff (repeatable)")
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("check", parents=[common], help="check a plan: validation, conflicts, stale steps",
                       description="Check PLAN against the workspace: validation of every resulting "
                       "file, steps that cannot apply (conflicts), stale preconditions. Exit 1 if "
                       "there is any (invalid content is allowed with --allow-invalid). Invalid "
                       "content fails only where the plan breaks it: a new file, or one that was "
                       "valid before; a file already invalid before the plan is a warning.")
    p.add_argument("plan", metavar="PLAN")
    p.add_argument("--json", action="store_true")
    p.add_argument("--allow-invalid", action="store_true", help="invalid content does not fail the check")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("stats", parents=[common], help="figures over the transaction history")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_stats)


def _load(args, *, families: bool = True, question: str | None = None):
    """(workspace, plan, model, answer): with `question`, the answer kept for it (see
    answers.py) when nothing it was made from changed; then plan and model are None, and
    otherwise `answer` is the answers.Pending to store the new answer with."""
    from ..store import spool
    from . import answers
    from .common import workspace
    ws = workspace(args)
    f = spool.find_plan(ws, args.plan)
    data = spool.read_plan_file(ws, f)
    if question is not None:
        hit = answers.load(ws, question, data)
        if hit is not None:
            return ws, None, None, hit
    plan = spool.decode_plan_file(ws, f, data)
    pending = answers.Pending(ws, question, data, plan) if question is not None else None
    from ..analysis import analyze
    review = spool.load_review(ws, plan.id) if plan.id else None
    return ws, plan, analyze(ws, plan, review, families=families), pending


# --------------------------------------------------------------------------- show

def cmd_show(args) -> int:
    from .common import json_bytes, write_bytes
    question = f"show --json diffs={not args.no_diff}" if args.json else None
    ws, plan, model, answer = _load(args, question=question)
    if args.json:
        if model is None:
            write_bytes(answer[1])
            return 0
        from ..analysis import model_to_dict
        d = model_to_dict(model, diffs=not args.no_diff)
        d["title"] = plan.title
        out = json_bytes(d)
        write_bytes(out)
        answer.store({}, out)
        return 0
    show_model(plan, model, diffs=not args.no_diff, only=args.step)
    return 0


_STATUS = {"ok": "green", "stale": "yellow", "invalid": "red"}


def show_model(plan, model, *, diffs: bool = True, only: list[str] | None = None) -> None:
    from rich.markup import escape
    from rich.table import Table

    from .common import console
    c = console()
    n = len(model.order)
    c.print(f"[bold]plan {escape(model.plan_id)}[/]" + (f"  {escape(plan.title)}" if plan.title else ""))
    c.print(f"{n} steps in {len(model.batches)} batches, {len(model.families)} template families, "
            f"optimization rate {model.optimization_rate:.0%}")
    for w in model.warnings:
        c.print(f"[yellow]warning:[/] {escape(w)}")

    group_label = {}
    for gi, g in enumerate(model.groups):
        for s in g:
            group_label[s] = gi
    c.print()
    c.print("[bold]Batches in commit order[/]")
    for b in model.batches:
        counts = ", ".join(f"{v} {k}" for k, v in (("create", b.creates), ("rewrite", b.rewrites),
                           ("edit", b.edits), ("delete", b.deletes), ("move", b.moves), ("chmod", b.chmods)) if v)
        c.print(f"  [bold cyan]{escape(b.dir)}/[/]  {counts}, {b.bytes:,} bytes")
        for sid in b.steps:
            s = model.steps[sid]
            target = escape(s.path) + (f" -> {escape(s.to)}" if s.to else "")
            extra = []
            if s.family:
                extra.append(f"family {escape(s.family)}")
            if s.group is not None:
                extra.append(f"cycle group {s.group + 1}")
            extra += [f.code for f in s.flags]
            st = s.status
            c.print(f"    {s.position + 1:>4}. {s.kind:<6} {target}  [{_STATUS[st]}]{st}[/]"
                    + (f"  [dim]({', '.join(extra)})[/]" if extra else "") + f"  [dim]{escape(sid)}[/]")
            cfg = [e for e in s.needed_by if e.reason.startswith("config before code")]
            if cfg:
                c.print(f"          [dim]before {len(cfg)} code files: config before code[/]")
            for e in s.depends_on:
                if e.reason.startswith("config before code"):
                    continue
                src = model.steps.get(e.before)
                c.print(f"          [dim]after {escape(src.path if src else e.before)}: {escape(e.reason)}[/]")
            if s.stale:
                c.print(f"          [yellow]stale:[/] {escape(s.stale)}")
            if s.error:
                c.print(f"          [red]cannot apply:[/] {escape(s.error)}")

    if model.groups:
        c.print()
        c.print("[bold]Cycle groups[/] (each commits together)")
        for gi, g in enumerate(model.groups):
            c.print(f"  group {gi + 1}: " + ", ".join(escape(model.steps[s].path) for s in g))

    if model.families:
        from rich.syntax import Syntax
        c.print()
        c.print("[bold]Template families[/]")
        for f in model.families:
            how = "declared by the plan" if f.declared else "detected"
            saved = (f", matches saved template {escape(f.saved_as)} (used {f.saved_uses} times)"
                     if f.saved_as else "")
            c.print(f"  [bold]{escape(f.id)}[/]: {len(f.members)} files, {len(f.slots)} slots, {how}{saved}")
            c.print(Syntax(f.template, "jinja", theme="ansi_dark", line_numbers=False, word_wrap=True),
                    style="dim")
            t = Table(box=None, header_style="bold", padding=(0, 1))
            t.add_column("file")
            for slot in f.slots:
                t.add_column(slot)
            for m in f.members:
                t.add_row(escape(m.path), *[escape(_cut(m.values.get(slot, ""))) for slot in f.slots])
            c.print(t)
            for o in f.outliers:
                c.print(f"    [yellow]outlier[/] {escape(o.path)}: {escape(o.differs)}")

    if model.findings:
        c.print()
        c.print("[bold]Findings[/]")
        for f in model.findings:
            loc = f.path + (f":{f.line}" if f.line else "") + (f":{f.column}" if f.line and f.column else "")
            color = "red" if f.severity == "error" else "yellow"
            c.print(f"  [{color}]{f.severity}[/] {escape(loc)}: {escape(f.message)} [dim]({f.checker}, step {escape(f.step)})[/]")
    if model.flags:
        c.print()
        c.print("[bold]Flags[/]")
        for fl in model.flags:
            c.print(f"  [magenta]{fl.code}[/] {escape(fl.message)} [dim](step {escape(fl.step)})[/]")

    if diffs:
        from rich.syntax import Syntax

        from ..analysis.diffs import describe, unified
        wanted = set(only) if only else None
        for sid in model.order:
            if wanted is not None and sid not in wanted:
                continue
            d = model.text_diff(sid)
            # every changed byte visible: CRs, trailing whitespace, BOM, controls as markers
            text = unified(d, visible=True)
            s = model.steps[sid]
            c.print()
            c.print(f"[bold]{s.position + 1}. {escape(s.path)}[/] [dim]({s.kind}, {escape(sid)})[/]")
            for line in describe(d):
                if not line.startswith(("new file ", "deleted ")):
                    c.print(f"  {escape(line)}")
            if not text:
                c.print("  [dim]" + ("new empty file" if d.created else "deleted" if d.deleted
                                     else "no content change") + "[/]")
                continue
            c.print(Syntax(text.rstrip("\n"), "diff", theme="ansi_dark", word_wrap=False))


def _cut(s: str, n: int = 40) -> str:
    s = s.replace("\n", "\\n")
    return s if len(s) <= n else s[: n - 1] + "…"


# --------------------------------------------------------------------------- check

def other_plans_overlap(ws, plan_id: str, mine: set[str]) -> list[dict]:
    """Other pending plans that touch the same files (a person should know before applying):
    from the rows `wopt list` keeps (plan_index), so a plan read before is not decoded again."""
    from .plan_index import entries
    out = []
    for stem, row, paths in entries(ws):
        if stem == plan_id or "error" in row or row.get("id") == plan_id or row.get("applied"):
            continue
        both = sorted(mine & set(paths))
        if both:
            out.append({"plan": row["id"], "paths": both})
    return out


def check_result(plan, model) -> dict:
    """What `wopt check` reports of a model, as plain data (kept as the check's answer)."""
    from msgspec import to_builtins

    from ..model.plan import step_paths
    return {"plan": plan.id, "steps": len(model.order),
            "findings": to_builtins(model.findings),
            "conflicts": [[sid, s.error] for sid, s in model.steps.items() if s.error],
            "stale": [[sid, s.stale] for sid, s in model.steps.items() if s.stale],
            "warnings": list(model.warnings),
            "paths": sorted({p for s in plan.steps for p in step_paths(s)})}


def cmd_check(args) -> int:
    # a check reports no families: none detected
    ws, plan, model, answer = _load(args, families=False, question="check")
    if model is None:
        r = answer[0]
    else:
        r = check_result(plan, model)
        answer.store(r)
    findings = r["findings"]
    errors = [f for f in findings if f["severity"] == "error"]
    step_errors = r["conflicts"]
    stale = r["stale"]
    overlaps = other_plans_overlap(ws, r["plan"], set(r["paths"]))
    failed = bool(stale or step_errors or (errors and not args.allow_invalid))
    if args.json:
        from .common import print_json
        print_json({"plan": r["plan"], "ok": not failed,
                    "findings": findings,
                    "conflicts": [{"step": s, "error": e} for s, e in step_errors],
                    "stale": [{"step": s, "why": w} for s, w in stale],
                    "overlaps": overlaps, "warnings": r["warnings"]})
        return 1 if failed else 0
    if not (findings or step_errors or stale or overlaps or r["warnings"]):
        from .common import rich_would_print_plainly
        text = f"ok: {r['steps']} steps check"
        if rich_would_print_plainly(text):   # what rich prints for the line below, without rich
            sys.stdout.write(text + "\n")
            return 0
    from rich.markup import escape

    from .common import console
    c = console()
    for f in findings:
        loc = f["path"] + (f":{f['line']}" if f["line"] else "") + (f":{f['column']}" if f["line"] and f["column"] else "")
        color = "red" if f["severity"] == "error" else "yellow"
        c.print(f"[{color}]{f['severity']}[/] {escape(loc)}: {escape(f['message'])} [dim]({f['checker']}, step {escape(f['step'])})[/]")
    for sid, e in step_errors:
        c.print(f"[red]conflict[/] {escape(e)}")
    for sid, w in stale:
        c.print(f"[yellow]stale[/] step {escape(sid)}: {escape(w)} [dim](`wopt rebase {escape(r['plan'])} "
                f"{escape(sid)}` merges it onto the file now)[/]")
    for o in overlaps:
        c.print(f"[yellow]note[/] plan {escape(o['plan'])} also touches " + ", ".join(escape(p) for p in o["paths"][:5]))
    for w in r["warnings"]:
        c.print(f"[yellow]warning[/] {escape(w)}")
    n = r["steps"]
    if failed:
        parts = []
        if errors:
            parts.append(f"{len(errors)} invalid" + (" (allowed)" if args.allow_invalid else ""))
        if step_errors:
            parts.append(f"{len(step_errors)} conflicting")
        if stale:
            parts.append(f"{len(stale)} stale")
        c.print(f"[red]check failed:[/] {', '.join(parts)} of {n} steps")
        return 1
    c.print(f"[green]ok:[/] {n} steps check" + (f" ({len(errors)} invalid, allowed)" if errors else ""))
    return 0


# --------------------------------------------------------------------------- stats

_BARS = "▁▂▃▄▅▆▇█"


def sparkline(values: list[float]) -> str:
    if not values:
        return ""
    hi = max(values)
    if hi <= 0:
        return _BARS[0] * len(values)
    return "".join(_BARS[min(len(_BARS) - 1, int(v / hi * (len(_BARS) - 1) + 0.5))] for v in values)


def cmd_stats(args) -> int:
    from ..analysis.stats import stats
    from ..store.history import read_history
    from .common import print_json, workspace
    from .cmd_apply import history_problems
    ws = workspace(args)
    problems: list[str] = []
    s = stats(read_history(ws, problems))
    rc = history_problems(problems)
    if args.json:
        print_json(s)
        return rc
    if not s["transactions"]:
        print("no transactions yet (apply a plan with `wopt apply` or `wopt-tui`)")
        return rc
    med = s["median_apply_seconds"]
    rows = [("transactions", s["transactions"]), ("applies", s["applies"]), ("undos", s["undos"]),
            ("rollbacks", s["rollbacks"]), ("refused", s["refused"]), ("files written", s["files"]),
            ("bytes written", f"{s['bytes']:,}"),
            ("median apply time", "-" if med is None else f"{med * 1000:.1f} ms")]
    if s["optimization_rate"] is not None:
        rows.append(("optimization rate", f"{s['optimization_rate']:.0%}"))
    w = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"{k:<{w}}  {v}")
    ser = s["series"]
    print(f"{'apply seconds':<{w}}  {sparkline(ser['apply_seconds'][-60:])}")
    print(f"{'files/second':<{w}}  {sparkline(ser['files_per_second'][-60:])}")
    print(f"{'rollbacks':<{w}}  {sparkline([float(x) for x in ser['rollbacks'][-60:]])}")
    return rc


_ = argparse  # command modules keep their top-level imports to argparse
