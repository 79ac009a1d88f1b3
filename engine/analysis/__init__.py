"""Plan analysis: from a plan and the workspace's current files to the review model that `wopt
show` and the review app display (batches in commit order, dependency edges with reasons,
template families, validation findings, flags, lazily computed diffs).

`analyze(ws, plan, review=None)` is a pure function of its inputs: it reads files, never
writes. A review's edited contents and accepted hunks are taken into account. (The analysis
cache under `.wopt/cache/` is written through the store's confined I/O.)

May import: `engine.model`, `engine.store`. Never the transaction, the agents or the CLI.
"""
from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Any

from .model import Batch, DiffHunk, DiffLine, Edge, Family, FamilyMember, Finding, Flag, Outlier, ReviewModel, StepDiff, StepInfo

__all__ = ["analyze", "model_to_dict", "ReviewModel", "StepInfo", "StepDiff"]


def analyze(ws, plan, review=None, *, saved_templates: bool = True, families: bool = True,
            cache: bool = True) -> ReviewModel:
    """The review model of `plan` against the workspace's current files.

    `families=False` skips template-family detection (a check or an apply does not show
    families; a model that has them is still used when the cache holds one). With `cache`, the
    model comes from `.wopt/cache/` when nothing it was made from changed, and is kept there
    for the next command (see `cache.py`); validation results are kept per content either way.

    The cyclic garbage collector is paused meanwhile (`collector_paused`)."""
    with collector_paused():
        return _analyze_or_load(ws, plan, review, saved_templates=saved_templates, families=families,
                                cache=cache)


@contextmanager
def collector_paused():
    """Python's cyclic garbage collector paused (as it was before, after). An analysis builds
    a model of a few hundred thousand objects that all stay alive, and every full collection
    meanwhile walks all of them: a quarter of the time of a 10,000-step analysis, and what
    made it grow faster than the plan. Reference counting frees memory as always meanwhile
    (a 10,000-step analysis peaks at the same size either way); the few cycles it leaves (a
    syntax error's traceback) go at the next collection."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _analyze_or_load(ws, plan, review, *, saved_templates: bool, families: bool, cache: bool) -> ReviewModel:
    from . import cache as C
    base = C.model_key(ws, plan, review, f"saved={saved_templates}") if cache else None
    if base is not None:
        digest, newest = base
        keys = [_opt_key(digest, True)] + ([] if families else [_opt_key(digest, False)])
        for key in keys:
            model = C.load_model(ws, key, plan)
            if model is not None:
                model._diff = _lazy_diff(ws, plan, review)
                model._cache_ref = (ws, key, newest)
                return model
    model = _analyze(ws, plan, review, saved_templates=saved_templates, families=families,
                     content_cache=C.ContentCache(ws if cache else None))
    if base is not None:
        key = _opt_key(base[0], families)
        C.store_model(ws, key, base[1], model)
        model._cache_ref = (ws, key, base[1])
    return model


def cached(ws, plan, review=None, *, saved_templates: bool = True, families: bool = True) -> ReviewModel | None:
    """The model `analyze` would return, if the cache holds it; None otherwise (no analysis)."""
    from . import cache as C
    base = C.model_key(ws, plan, review, f"saved={saved_templates}")
    if base is None:
        return None
    keys = [_opt_key(base[0], True)] + ([] if families else [_opt_key(base[0], False)])
    for key in keys:
        model = C.load_model(ws, key, plan)
        if model is not None:
            model._diff = _lazy_diff(ws, plan, review)
            return model
    return None


def analyze_elsewhere(ws, plan, review=None) -> ReviewModel:
    """`analyze` run in another process (`python -m wopt.engine.analysis.worker`), so the
    caller's interpreter, and its GIL, stay free (the review app answers keys meanwhile). The
    model comes back encoded; its steps decode when read and its diffs are computed here,
    lazily. `worker.start` gives the same with a way to cancel it."""
    from . import worker
    model = worker.start(ws, plan, review).result(serve_diffs=False)
    assert model is not None     # only a cancelled run has none
    return model


def _opt_key(digest: str, families: bool) -> str:
    import hashlib
    return hashlib.sha256(f"{digest}:families={families}".encode()).hexdigest()


def _edits(review):
    edited = hunks = rebased = None
    if review is not None:
        if review.edited or getattr(review, "edited_raw", None):
            edited = review.edited_contents()
        if review.hunks:
            hunks = review.picks()
        if getattr(review, "rebased", None):
            rebased = dict(review.rebased)
    return edited, hunks, rebased


def _lazy_diff(ws, plan, review):
    """The diff function of a cached model: the steps are run (virtually) on the first diff
    asked for, once."""
    state: dict = {}

    def diff(sid: str, spans: bool = True) -> StepDiff:
        fn = state.get("fn")
        if fn is None:
            from ..store.effects import compute
            edited, hunks, rebased = _edits(review)
            out = compute(ws, plan, edited=edited, hunks=hunks, check_preconditions=True, rebased=rebased)
            fn = state["fn"] = _differ(ws, plan, out.results)
        return fn(sid, spans)
    return diff


def _differ(ws, plan, results):
    from ..model.errors import WoptError
    from ..model.plan import WriteStep, normalize_relpath, write_bytes
    from . import diffs as D
    steps_by_id = {s.id: s for s in plan.steps}

    def diff(sid: str, spans: bool = True) -> StepDiff:
        s = steps_by_id[sid]
        path = normalize_relpath(s.path)
        r = results.get(sid)
        if r is not None:
            # a step with hunks or lines turned off still shows its whole proposal: the
            # selection is drawn over it (hunk and line indices refer to this diff)
            after = r.proposed if r.proposed is not None else r.after
            return D.diff_bytes(r.before, after, path=r.to or r.path, step=sid,
                                old_path=r.path if r.to else None,
                                old_mode=r.before_mode, new_mode=r.after_mode, spans=spans)
        if isinstance(s, WriteStep):   # stale or failed: show what it would write over the disk
            try:
                before, mode = ws.read(path, step=sid)
            except (WoptError, OSError):
                before, mode = None, None
            return D.diff_bytes(before, write_bytes(s), path=path, step=sid, old_mode=mode, spans=spans)
        return StepDiff(step=sid, path=path, old_path=None, hunks=[])
    return diff


def _analyze(ws, plan, review, *, saved_templates: bool, families: bool, content_cache) -> ReviewModel:
    from ..store.effects import compute
    from ..model.errors import InternalError, WoptError
    from . import cache as C
    detect_families = families
    from ..model.plan import MoveStep, WriteStep, normalize_relpath, step_kind, write_bytes
    from . import batches as B
    from . import flags as F
    from . import ordering as O
    from . import templates as T
    from .cache import validate_changes_cached

    edited, hunks, rebased = _edits(review)
    out = compute(ws, plan, edited=edited, hunks=hunks, check_preconditions=True, rebased=rebased)
    results = out.results
    steps_by_id = {s.id: s for s in plan.steps}

    # each step's resulting content; steps that could not run still show their own content
    contents: dict[str, bytes | None] = {}
    befores: dict[str, bytes | None] = {}
    for s in plan.steps:
        r = results.get(s.id)
        if r is not None:
            contents[s.id] = r.after
            befores[s.id] = r.before
        else:   # stale or failed: the disk is what it would change
            if isinstance(s, WriteStep):
                contents[s.id] = write_bytes(s)
            try:
                befores[s.id] = ws.read(normalize_relpath(s.path), step=s.id)[0]
            except (WoptError, OSError):   # the step's own error says why; a bug is not hidden
                befores[s.id] = None

    C.seed_imports(content_cache, contents, steps_by_id)
    ordering = O.plan_order(plan, contents)
    position = {sid: i for i, sid in enumerate(ordering.order)}

    stale = {sid: f"{path} changed since the plan was made (expected {_short(exp)}, found {_short(found)})"
             for sid, path, exp, found in out.stale}
    errors: dict[str, str] = {}
    for e in out.errors:
        sid = getattr(e, "step", None)
        if sid:
            errors.setdefault(sid, getattr(e, "message", str(e)) if not getattr(e, "hint", None) else str(e))

    infos: dict[str, StepInfo] = {}
    paths: dict[str, str] = {}
    kinds: dict[str, str] = {}
    for s in plan.steps:
        kind = step_kind(s)
        path = normalize_relpath(s.path)
        to = normalize_relpath(s.to) if isinstance(s, MoveStep) else None
        paths[s.id] = path
        kinds[s.id] = kind
        after = contents.get(s.id)
        info = StepInfo(id=s.id, kind=kind, path=path, to=to, batch=B.batch_dir(path),
                        position=position[s.id], group=ordering.group_of.get(s.id),
                        origin=list(s.origin), stale=stale.get(s.id), error=errors.get(s.id),
                        bytes=len(after) if after is not None and kind != "delete" else 0)
        info.small_edit = small_edit(s, after)
        infos[s.id] = info
    for edge in ordering.edges:
        if edge.after in infos:
            infos[edge.after].depends_on.append(edge)
        if edge.before in infos:
            infos[edge.before].needed_by.append(edge)

    order = ordering.order
    # a person's order (K/J in the app) that keeps every dependency is the order the apply
    # commits in (apply.order_steps): show that one, and number the steps by it
    if review is not None and getattr(review, "order", None) \
            and not O.check_order(_Shim(ordering, infos), list(review.order)):
        known = set(order)
        custom = [sid for sid in dict.fromkeys(review.order) if sid in known]
        placed = set(custom)
        order = custom + [sid for sid in order if sid not in placed]
        for i, sid in enumerate(order):
            infos[sid].position = i
    batches = B.batches(order, kinds, paths, befores, contents)

    # families: declared (render steps), detected among whole-file writes, saved templates
    fams = T.declared(plan)
    whole = [(sid, paths[sid], contents.get(sid)) for sid in order
             if kinds[sid] == "write" and sid in results]
    if detect_families:
        fams.extend(T.detect(whole, cache=content_cache))
    if saved_templates and detect_families:
        saved = T.load_saved(ws)
        if saved:
            in_fam = {m.step for f in fams for m in f.members}
            fams.extend(T.match_saved(fams, saved, contents,
                                      [w for w in whole if w[0] not in in_fam]))
    for fam in fams:
        for m in fam.members:
            if m.step in infos and infos[m.step].family is None:
                infos[m.step].family = fam.id

    # validation: the net changes, as the transaction checks them; plus broken plan templates
    try:
        findings = validate_changes_cached(out.changes, ws, content_cache)
    except WoptError:
        raise
    except Exception as e:   # a validator's bug is reported, never skipped
        raise InternalError("validating " + ", ".join(c.path for c in out.changes[:5])
                            + (f" and {len(out.changes) - 5} more" if len(out.changes) > 5 else ""), e) from e
    content_cache.save()
    bad_templates = {name: (line, msg) for name, line, msg in T.template_errors(plan)}
    if bad_templates:
        from ..model.plan import RenderStep
        for s in plan.steps:
            if isinstance(s, RenderStep) and s.template in bad_templates:
                line, msg = bad_templates[s.template]
                findings.append(Finding(s.id, paths[s.id], "jinja2", f"template {s.template!r}: {msg}", line))
    findings.sort(key=lambda f: (position.get(f.step, len(order)), f.line or 0, f.column or 0))
    for f in findings:
        if f.step in infos:
            infos[f.step].findings.append(f)

    # flags
    flags: list[Flag] = []
    for sid in order:
        r = results.get(sid)
        if r is None:
            continue
        flags.extend(F.step_flags(sid, kinds[sid], paths[sid], r.before, r.after, r.before_mode, r.after_mode))
        flags.extend(F.origin_flags(sid, paths[sid], steps_by_id[sid].origin, r.before))
    flags.extend(F.outside_flags({sid: (infos[sid].to or paths[sid]) for sid in order}))
    flags.sort(key=lambda f: position.get(f.step, 0))
    for fl in flags:
        infos[fl.step].flags.append(fl)

    rate = _rate(order, batches, paths, {sid for sid in order if infos[sid].family or infos[sid].small_edit})

    warnings: list[str] = []
    if review is not None and getattr(review, "order", None):
        warnings = O.check_order(_Shim(ordering, infos), list(review.order))

    model = ReviewModel(plan_id=plan.id, order=order, groups=ordering.groups, edges=ordering.edges,
                        batches=batches, steps={sid: infos[sid] for sid in order}, families=fams,
                        findings=findings, flags=flags, optimization_rate=rate, warnings=warnings,
                        stale=list(out.stale), errors=[str(e) for e in out.errors],
                        tiers=ordering.tiers, _diff=_differ(ws, plan, results))
    return model


class _Shim:
    def __init__(self, ordering, infos):
        self.edges = ordering.edges
        self.groups = ordering.groups
        self.steps = infos


def small_edit(s, after: bytes | None) -> bool:
    """Whether an edit or patch step changes less than the file it leaves (what the
    optimization rate counts as a small edit)."""
    from ..model.plan import EditStep, PatchStep
    if not isinstance(s, (EditStep, PatchStep)) or after is None:
        return False
    touched = (sum(len(e.new_string.encode("utf-8", "surrogateescape")) for e in s.edits)
               if isinstance(s, EditStep) else
               sum(len(ln) for ln in s.diff.split("\n") if ln.startswith("+") and not ln.startswith("+++")))
    return touched < len(after)


def _rate(order, batches, paths, covered: set[str]) -> float:
    """The optimization rate: the share of steps in a multi-file batch, or `covered` (in a
    family, or a small edit)."""
    multi = {sid for b in batches if len({paths[s] for s in b.steps}) > 1 for sid in b.steps}
    return sum(1 for sid in order if sid in multi or sid in covered) / len(order) if order else 0.0


def outcome_rate(plan, order: list[str], results) -> float:
    """The optimization rate of the steps `order` as an apply ran them (`results`: each
    step's effect), for a headless apply's history record: the same count as the review
    model's, families being those the plan declares (a headless apply detects none), without
    analysing the plan a second time."""
    from ..model.plan import normalize_relpath, step_kind
    from . import batches as B
    from . import templates as T
    by_id = {s.id: s for s in plan.steps}
    kinds = {sid: step_kind(by_id[sid]) for sid in order}
    paths = {sid: normalize_relpath(by_id[sid].path) for sid in order}
    befores = {sid: r.before for sid, r in results.items()}
    contents = {sid: r.after for sid, r in results.items()}
    batches = B.batches(order, kinds, paths, befores, contents)
    declared = {m.step for f in T.declared(plan) for m in f.members}
    covered = {sid for sid in order if sid in declared or small_edit(by_id[sid], contents.get(sid))}
    return _rate(order, batches, paths, covered)


def _short(h: str) -> str:
    return "sha256 " + h[7:19] + ".." if h.startswith("sha256:") else h


def model_to_dict(model: ReviewModel, *, diffs: bool = False) -> dict[str, Any]:
    """The model as plain JSON-ready data (for `--json`); diffs only when asked (they are lazy)."""
    from msgspec import to_builtins as asdicts   # dataclasses.asdict's result, at C speed
    d: dict[str, Any] = {
        "plan": model.plan_id,
        "order": list(model.order),
        "groups": [list(g) for g in model.groups],
        "edges": asdicts(model.edges),
        "batches": asdicts(model.batches),
        "steps": [],
        "families": asdicts(model.families),
        "findings": asdicts(model.findings),
        "flags": asdicts(model.flags),
        "optimization_rate": round(model.optimization_rate, 4),
        "warnings": list(getattr(model, "warnings", []) or []),
    }
    if diffs:
        from . import cache as C
        from .diffs import unified
        texts = C.load_unified(model._cache_ref)
        fresh = False
    for sid in model.order:
        s = model.steps[sid]
        row = {"id": s.id, "kind": s.kind, "path": s.path, "to": s.to, "batch": s.batch,
               "position": s.position, "group": s.group, "status": s.status, "family": s.family,
               "bytes": s.bytes, "small_edit": s.small_edit, "stale": s.stale, "error": s.error,
               "depends_on": [{"step": e.before, "reason": e.reason} for e in s.depends_on],
               "findings": asdicts(s.findings), "flags": [f.code for f in s.flags]}
        if diffs:
            text = texts.get(sid)
            if text is None:
                text = texts[sid] = unified(model.text_diff(sid))
                fresh = True
            row["diff"] = text
        d["steps"].append(row)
    if diffs and fresh:
        C.store_unified(model._cache_ref, texts)   # the next `show --json` reads them back
    return d
