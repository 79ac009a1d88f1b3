"""The dependency order of a plan's steps: a graph with a reason on every edge, cycle groups,
and a stable topological order (the transaction commits in it).

Edges (`before` -> `after`):
- `depends_on` declared in the plan;
- steps on the same file keep their plan order (each sees the result of the one before);
- Python imports (ast; absolute and relative; `src/`, `lib/` layouts) of modules the plan writes;
- a package's `__init__.py` before its submodules;
- JavaScript/TypeScript relative imports, `export ... from`, `require()` (extensions, `index`);
- config (pyproject.toml, package.json, tsconfig.json, ...) before the code beside and below it;
- tests after what they test, by name (`tests/test_util.py` after `util.py`).
Docs go last by tier, not by edges (an edge from every file to every doc would be quadratic):
the order puts config first, then code, tests, docs wherever the edges allow.

Steps in a cycle form one group that commits together; never an error. The order is a Kahn
topological sort of the condensation with ties broken by (tier, plan position), except that
numbered siblings - files of one directory whose names differ only in their numbers, like
m0.py, m2.py, m10.py - take the place of the first of them and sort by number among
themselves (a git diff lists them m0, m10, m2). The same input gives the same order on every
run.
"""
from __future__ import annotations

import fnmatch
import heapq
import posixpath
import re
from dataclasses import dataclass, field
from typing import Iterable, Mapping

from ..model.plan import MoveStep, Plan, normalize_relpath, step_kind
from . import imports as imp
from .model import Edge

CONFIG_NAMES = {
    "pyproject.toml", "setup.cfg", "setup.py", "tox.ini", "pytest.ini", "noxfile.py", "Pipfile",
    "poetry.lock", "uv.lock", "environment.yml", "package.json", "package-lock.json", "yarn.lock",
    "pnpm-lock.yaml", "pnpm-workspace.yaml", ".npmrc", ".nvmrc", ".babelrc", ".swcrc",
    "Cargo.toml", "Cargo.lock", "go.mod", "go.sum", "Gemfile", "Gemfile.lock", "composer.json",
    "Makefile", "CMakeLists.txt", "Dockerfile", ".editorconfig", ".python-version", "MANIFEST.in",
    "deno.json", "bunfig.toml", "jsconfig.json", "mypy.ini", ".flake8", ".pylintrc", "ruff.toml",
    ".ruff.toml", ".pre-commit-config.yaml", ".env",
}
CONFIG_GLOBS = ("requirements*.txt", "constraints*.txt", "tsconfig*.json", "vite.config.*",
                "webpack.config.*", "rollup.config.*", "jest.config.*", "vitest.config.*",
                "babel.config.*", ".eslintrc*", "eslint.config.*", ".prettierrc*", "prettier.config.*",
                "next.config.*", "svelte.config.*", "tailwind.config.*", "postcss.config.*")
DOC_EXTS = (".md", ".rst", ".adoc", ".txt", ".markdown")
DOC_NAMES = ("README", "CHANGELOG", "CHANGES", "LICENSE", "COPYING", "NOTICE", "AUTHORS",
             "CONTRIBUTING", "HISTORY", "NEWS")
TIER_CONFIG, TIER_CODE, TIER_TEST, TIER_DOCS = 0, 1, 2, 3
TIER_NAMES = {TIER_CONFIG: "config", TIER_CODE: "code", TIER_TEST: "tests", TIER_DOCS: "docs"}


# the globs as one expression (fnmatch's own translation of each, joined): one match a path
_CONFIG_GLOB = re.compile("|".join(f"(?:{fnmatch.translate(g)})" for g in CONFIG_GLOBS))


def is_config(path: str) -> bool:
    base = posixpath.basename(path)
    return base in CONFIG_NAMES or _CONFIG_GLOB.match(base) is not None


def is_test(path: str) -> bool:
    parts = path.split("/")
    base = parts[-1]
    if any(p in ("tests", "test", "__tests__", "spec", "testing") for p in parts[:-1]):
        return True
    if base == "conftest.py" or base.startswith("test_") or base.endswith("_test.py") or base.endswith("_test.go"):
        return True
    stem = base.split(".")
    return len(stem) >= 3 and stem[-2] in ("test", "spec")


def is_doc(path: str) -> bool:
    parts = path.split("/")
    base = parts[-1]
    if parts[0] in ("docs", "doc") and len(parts) > 1:
        return True
    if base.upper().split(".")[0] in DOC_NAMES:
        return True
    return base.endswith(DOC_EXTS) and not is_config(path)


def tier(path: str) -> int:
    if is_config(path):
        return TIER_CONFIG
    if is_doc(path):
        return TIER_DOCS
    if is_test(path):
        return TIER_TEST
    return TIER_CODE


@dataclass
class Ordering:
    order: list[str]                          # commit order of step ids
    groups: list[list[str]]                   # cycle groups (two or more steps), in commit order
    edges: list[Edge]
    group_of: dict[str, int] = field(default_factory=dict)   # step -> index into groups
    tiers: dict[str, int] = field(default_factory=dict)


def _final_path(step) -> str:
    return normalize_relpath(step.to if isinstance(step, MoveStep) else step.path)


def build_graph(plan: Plan, contents: Mapping[str, bytes | None] | None = None) -> list[Edge]:
    """Every edge of the plan's dependency graph, each with its reason. `contents` maps a
    step id to the content it leaves (for import edges); missing steps add no import edges."""
    contents = contents or {}
    steps = plan.steps
    edges: dict[tuple[str, str], Edge] = {}

    def add(before: str, after: str, reason: str) -> None:
        if before != after and (before, after) not in edges:
            edges[(before, after)] = Edge(before, after, reason)

    # declared
    for s in steps:
        for d in s.depends_on:
            add(d, s.id, "depends_on")

    # the same file: plan order (each step sees the previous step's result)
    last_on: dict[str, str] = {}
    for s in steps:
        paths = [normalize_relpath(s.path)] + ([normalize_relpath(s.to)] if isinstance(s, MoveStep) else [])
        for p in paths:
            prev = last_on.get(p)
            if prev is not None:
                add(prev, s.id, f"same file {p}, plan order")
            last_on[p] = s.id

    # which step leaves content at which path (the last one on that path)
    provider: dict[str, str] = {}
    for s in steps:
        kind = step_kind(s)
        if kind == "delete":
            provider.pop(normalize_relpath(s.path), None)
            continue
        if kind == "move":
            provider.pop(normalize_relpath(s.path), None)
        provider[_final_path(s)] = s.id
    final_of = {s.id: _final_path(s) for s in steps}
    exists = provider.__contains__

    # imports
    imported_by: dict[str, set[str]] = {}   # step -> steps it imports
    for s in steps:
        sid = s.id
        data = contents.get(sid)
        if not data:
            continue
        path = final_of[sid]
        if path.endswith(".py"):
            refs = imp.py_imports(data)
            for ref in refs or ():
                for _name, cands in imp.py_targets(ref, path):
                    hit = imp.first_existing(cands, exists)
                    if hit and provider[hit] != sid:
                        add(provider[hit], sid, f"imports {hit}")
                        imported_by.setdefault(sid, set()).add(provider[hit])
        elif imp.is_js(path):
            text = data.decode("utf-8", "replace")
            for spec, _line in imp.js_imports(text):
                hit = imp.js_resolve(spec, path, exists)
                if hit and provider[hit] != sid:
                    add(provider[hit], sid, f"imports {hit}")

    # a package's __init__.py before its submodules, except those the __init__ itself imports
    # (directly or through them): `from .stripe import Stripe` in an __init__ wants stripe.py first
    init_dirs: dict[str, str] = {}
    for p, sid in provider.items():
        if p.endswith("/__init__.py"):
            init_dirs[p[: -len("/__init__.py")]] = sid
    needs_cache: dict[str, set[str]] = {}
    if init_dirs:
        for p, sid in provider.items():
            if not p.endswith(".py"):
                continue
            d = posixpath.dirname(p)
            if p.endswith("/__init__.py"):
                d = posixpath.dirname(d)
            while d:
                if d in init_dirs:
                    if sid not in _needs(init_dirs[d], imported_by, needs_cache):
                        add(init_dirs[d], sid, f"package {d}/__init__.py before its submodules")
                    break
                d = posixpath.dirname(d)

    # config before the code beside and below it
    configs = [(sid, p) for p, sid in provider.items() if is_config(p)]
    if configs:
        others = [(sid, p) for p, sid in provider.items() if not is_config(p) and not is_doc(p)]
        for csid, cp in configs:
            d = posixpath.dirname(cp)
            prefix = d + "/" if d else ""
            for sid, p in others:
                if p.startswith(prefix):
                    add(csid, sid, f"config before code ({cp})")

    # tests after what they test, by name
    by_stem: dict[str, list[tuple[str, str]]] = {}
    for p, sid in provider.items():
        if not is_test(p) and not is_doc(p):
            base = posixpath.basename(p)
            by_stem.setdefault(base.split(".")[0], []).append((sid, p))
    for p, sid in provider.items():
        if not is_test(p):
            continue
        base = posixpath.basename(p)
        stem = base.split(".")[0]
        if stem.startswith("test_"):
            stem = stem[5:]
        elif stem.endswith("_test"):
            stem = stem[:-5]
        named = by_stem.get(stem, [])
        if len(named) == 1:
            add(named[0][0], sid, f"test after what it tests ({named[0][1]})")
    return list(edges.values())


def _needs(sid: str, imported_by: Mapping[str, set[str]], cache: dict[str, set[str]]) -> set[str]:
    """Every step `sid` imports, directly or transitively."""
    got = cache.get(sid)
    if got is None:
        got = set()
        stack = list(imported_by.get(sid, ()))
        while stack:
            x = stack.pop()
            if x not in got:
                got.add(x)
                stack.extend(imported_by.get(x, ()))
        cache[sid] = got
    return got


def _sccs(nodes: list[str], succ: dict[str, list[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components, iteratively."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = 0
    for root in nodes:
        if root in index:
            continue
        work = [(root, iter(succ.get(root, ())))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            advanced = False
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(succ.get(w, ()))))
                    advanced = True
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            if advanced:
                continue
            work.pop()
            if work:
                u = work[-1][0]
                low[u] = min(low[u], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                out.append(comp)
    return out


_DIGITS = re.compile(r"(\d+)")


def natural_key(name: str) -> tuple:
    """A name's sort key with its numbers compared as numbers: m0, m2, m10."""
    return tuple((0, int(p), p) if p.isdigit() else (1, p.lower(), p) for p in _DIGITS.split(name) if p)


def order_graph(nodes: list[str], edges: Iterable[Edge], tiers: Mapping[str, int] | None = None,
                names: Mapping[str, tuple] | None = None) -> Ordering:
    """A stable topological order of `nodes` (given in plan order) under `edges`; cycles become
    groups that stay together. Ties go to (tier, `names` key, plan position); `names` is
    optional (plan_order gives numbered siblings the first one's position and their
    names' natural keys)."""
    tiers = tiers or {}
    names = names or {}
    edges = list(edges)
    pos = {n: i for i, n in enumerate(nodes)}
    succ: dict[str, list[str]] = {}
    for e in edges:
        if e.before in pos and e.after in pos:
            succ.setdefault(e.before, []).append(e.after)
    comps = _sccs(nodes, succ)
    comp_of: dict[str, int] = {}
    for ci, comp in enumerate(comps):
        comp.sort(key=pos.__getitem__)
        for n in comp:
            comp_of[n] = ci
    indeg = [0] * len(comps)
    csucc: list[set[int]] = [set() for _ in comps]
    for v, ws in succ.items():
        cv = comp_of[v]
        for w in ws:
            cw = comp_of[w]
            if cv != cw and cw not in csucc[cv]:
                csucc[cv].add(cw)
                indeg[cw] += 1
    key = [(min(tiers.get(n, TIER_CODE) for n in comp), min(names.get(n, (pos[n],)) for n in comp), pos[comp[0]])
           for comp in comps]
    heap = [(key[ci], ci) for ci in range(len(comps)) if indeg[ci] == 0]
    heapq.heapify(heap)
    order: list[str] = []
    groups: list[list[str]] = []
    group_of: dict[str, int] = {}
    while heap:
        _, ci = heapq.heappop(heap)
        comp = comps[ci]
        if len(comp) > 1:
            for n in comp:
                group_of[n] = len(groups)
            groups.append(list(comp))
        order.extend(comp)
        for cw in sorted(csucc[ci]):
            indeg[cw] -= 1
            if indeg[cw] == 0:
                heapq.heappush(heap, (key[cw], cw))
    return Ordering(order, groups, edges, group_of, dict(tiers))


def contents_of(ws, plan: Plan) -> dict[str, bytes | None]:
    """Each step's resulting content, computed on a virtual tree (no writes)."""
    from ..store.effects import compute
    out = compute(ws, plan, check_preconditions=False)
    return {sid: r.after for sid, r in out.results.items()}


def plan_order(plan: Plan, contents: Mapping[str, bytes | None] | None = None) -> Ordering:
    nodes = [s.id for s in plan.steps]
    tiers = {s.id: tier(_final_path(s)) for s in plan.steps}
    # numbered siblings (one directory, names equal but for their numbers) sort by number
    # where no edge decides, at the place of the first of them; every other step keeps its
    # plan position
    first: dict[tuple[str, str], int] = {}
    names: dict[str, tuple] = {}
    for i, s in enumerate(plan.steps):
        d, base = posixpath.split(_final_path(s))
        shape = _DIGITS.sub("#", base)
        names[s.id] = (first.setdefault((d, shape), i), natural_key(base) if "#" in shape else ())
    return order_graph(nodes, build_graph(plan, contents), tiers, names)


def commit_order(plan: Plan, ws=None, *, contents: Mapping[str, bytes | None] | None = None,
                 step_ids: Iterable[str] | None = None, override: list[str] | None = None) -> list[str]:
    """The order the transaction commits the plan's steps in (all steps, or `step_ids` only).
    `override` is a person's order: it wins (check_order warns about broken edges); steps it
    leaves out follow in dependency order."""
    if contents is None and ws is not None:
        contents = contents_of(ws, plan)
    order = plan_order(plan, contents).order
    if override:
        known = set(order)
        first = [s for s in dict.fromkeys(override) if s in known]
        seen = set(first)
        order = first + [s for s in order if s not in seen]
    if step_ids is not None:
        keep = set(step_ids)
        order = [s for s in order if s in keep]
    return order


def check_order(model, order: list[str]) -> list[str]:
    """Warnings, one per edge that `order` breaks (outside a cycle group), naming the edge."""
    pos = {s: i for i, s in enumerate(order)}
    group_of = {}
    for gi, g in enumerate(getattr(model, "groups", []) or []):
        for s in g:
            group_of[s] = gi
    steps = getattr(model, "steps", {}) or {}

    def name(sid: str) -> str:
        info = steps.get(sid)
        return f"{info.path} ({sid})" if info is not None else sid

    out = []
    for e in model.edges:
        if e.before not in pos or e.after not in pos:
            continue
        gb, ga = group_of.get(e.before), group_of.get(e.after)
        if gb is not None and gb == ga:
            continue
        if pos[e.before] > pos[e.after]:
            out.append(f"{name(e.after)} would commit before {name(e.before)}, "
                       f"which it needs ({e.reason})")
    return out
