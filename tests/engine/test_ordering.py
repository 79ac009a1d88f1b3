"""The dependency order on small real-looking projects (a Python package in a src/ layout, a
TypeScript app, a cycle), its rules one by one, and hypothesis on random graphs."""
import json

from hypothesis import given, settings, strategies as st

from wopt.engine.analysis import analyze
from wopt.engine.analysis.model import Edge
from wopt.engine.analysis.ordering import build_graph, check_order, commit_order, order_graph, plan_order
from wopt.engine.model.plan import decode_plan
from wopt.engine.store.workspace import Workspace


def mkplan(*steps, templates=None):
    out = []
    for i, s in enumerate(steps):
        s = dict(s)
        s.setdefault("id", f"s{i + 1}")
        s.setdefault("kind", "write")
        out.append(s)
    return decode_plan(json.dumps({"version": 1, "id": "p", "steps": out, "templates": templates or {}}))


def W(path, content="", **kw):
    return {"kind": "write", "path": path, "content": content, **kw}


def contents(plan):
    return {s.id: s.content.encode() for s in plan.steps if getattr(s, "content", None) is not None}


def before(order, a, b):
    return order.index(a) < order.index(b)


def reasons(edges):
    return {(e.before, e.after): e.reason for e in edges}


def test_python_src_layout_package():
    plan = mkplan(
        W("README.md", "# pkg\n", id="readme"),
        W("tests/test_cli.py", "from shop.cli import main\n", id="test"),
        W("src/shop/cli.py", "from .cart import Cart\nfrom shop.models.item import Item\n", id="cli"),
        W("src/shop/cart.py", "from . import models\n", id="cart"),
        W("src/shop/models/item.py", "class Item: pass\n", id="item"),
        W("src/shop/models/__init__.py", "", id="models_init"),
        W("src/shop/__init__.py", "", id="init"),
        W("pyproject.toml", "[project]\nname = 'shop'\n", id="pyproject"),
    )
    o = plan_order(plan, contents(plan))
    r = reasons(o.edges)
    assert r[("cart", "cli")] == "imports src/shop/cart.py"
    assert r[("item", "cli")] == "imports src/shop/models/item.py"
    assert r[("models_init", "cart")] == "package src/shop/__init__.py before its submodules" or \
        r[("models_init", "cart")] == "imports src/shop/models/__init__.py"
    assert r[("init", "models_init")] == "package src/shop/__init__.py before its submodules"
    assert r[("models_init", "item")] == "package src/shop/models/__init__.py before its submodules"
    assert r[("cli", "test")] == "imports src/shop/cli.py"
    assert r[("pyproject", "cli")] == "config before code (pyproject.toml)"
    order = o.order
    assert order[0] == "pyproject" and order[-1] == "readme"      # config first, docs last
    for e in o.edges:
        assert before(order, e.before, e.after), e
    assert before(order, "init", "item") and before(order, "item", "cli") and before(order, "cli", "test")
    assert o.groups == []


def test_typescript_app_imports_reexports_require_and_index_files():
    plan = mkplan(
        W("web/src/main.tsx", "import { App } from './App'\nimport './styles.css'\n", id="main"),
        W("web/src/App.tsx", "import { api } from './api'\nimport type { User } from './types.js'\n"
          "const cfg = require('../config.json')\n", id="app"),
        W("web/src/api/index.ts", "export * from './client'\nexport { x } from \"./util\"\n", id="api"),
        W("web/src/api/client.ts", "export const c = 1\n", id="client"),
        W("web/src/api/util.js", "module.exports = {}\n", id="util"),
        W("web/src/types.ts", "export type User = {}\n", id="types"),
        W("web/config.json", "{}\n", id="cfgjson"),
        W("web/src/styles.css", "body {}\n", id="css"),
        W("web/tsconfig.json", "{}\n", id="tsconfig"),
        W("web/package.json", "{}\n", id="pkg"),
        W("web/src/App.test.tsx", "import { App } from './App'\n", id="apptest"),
    )
    o = plan_order(plan, contents(plan))
    r = reasons(o.edges)
    assert r[("app", "main")] == "imports web/src/App.tsx"
    assert r[("css", "main")] == "imports web/src/styles.css"
    assert r[("api", "app")] == "imports web/src/api/index.ts"         # a directory's index file
    assert r[("types", "app")] == "imports web/src/types.ts"           # './types.js' names types.ts
    assert r[("cfgjson", "app")] == "imports web/config.json"          # require()
    assert r[("client", "api")] == "imports web/src/api/client.ts"     # export * from
    assert r[("util", "api")] == "imports web/src/api/util.js"         # export {} from
    assert r[("app", "apptest")] == "imports web/src/App.tsx"
    assert r[("pkg", "main")] == "config before code (web/package.json)"
    assert r[("tsconfig", "app")] == "config before code (web/tsconfig.json)"
    for e in o.edges:
        assert before(o.order, e.before, e.after), e
    assert set(o.order[:2]) == {"pkg", "tsconfig"}
    assert o.order.index("apptest") == len(o.order) - 1      # tests after code


def test_cycle_is_one_group_that_commits_together_not_an_error():
    plan = mkplan(
        W("pkg/a.py", "from pkg import b\n", id="a"),
        W("pkg/b.py", "from pkg import c\n", id="b"),
        W("pkg/c.py", "import pkg.a\n", id="c"),
        W("pkg/d.py", "import pkg.a\n", id="d"),
        W("pkg/z.py", "X = 1\n", id="z"),
        W("pkg/a2.py", "from pkg.z import X\n", id="a2", depends_on=["d"]),
    )
    o = plan_order(plan, contents(plan))
    assert o.groups == [["a", "b", "c"]]
    i = o.order.index("a")
    assert o.order[i:i + 3] == ["a", "b", "c"]              # contiguous, plan order inside
    assert before(o.order, "c", "d") and before(o.order, "d", "a2") and before(o.order, "z", "a2")
    assert reasons(o.edges)[("d", "a2")] == "depends_on"
    assert {o.group_of[s] for s in "abc"} == {0}


def test_same_file_steps_keep_plan_order_and_moves_follow_the_file():
    plan = mkplan(
        W("b.py", "import a\n", id="w1"),
        {"kind": "edit", "path": "b.py", "edits": [{"old_string": "import a", "new_string": "import c"}], "id": "e1"},
        {"kind": "move", "path": "b.py", "to": "lib/b.py", "id": "m1"},
        W("a.py", "", id="w2"),
    )
    o = plan_order(plan, contents(plan))
    assert o.order.index("w1") < o.order.index("e1") < o.order.index("m1")
    assert reasons(o.edges)[("w1", "e1")] == "same file b.py, plan order"


def test_tests_after_what_they_test_by_name_and_docs_last():
    plan = mkplan(
        W("docs/guide.md", "guide\n", id="guide"),
        W("tests/test_util.py", "import os\n", id="t"),
        W("lib/util.py", "import os\n", id="u"),
        W("CHANGELOG.md", "x\n", id="log"),
    )
    o = plan_order(plan, contents(plan))
    assert reasons(o.edges)[("u", "t")] == "test after what it tests (lib/util.py)"
    assert o.order == ["u", "t", "guide", "log"]


def test_a_doc_something_depends_on_is_not_forced_last():
    plan = mkplan(W("notes.md", "n\n", id="doc"), W("x.py", "", id="code", depends_on=["doc"]))
    assert plan_order(plan, contents(plan)).order == ["doc", "code"]


def test_commit_order_from_the_workspace_runs_edits_on_the_virtual_tree(tmp_path):
    (tmp_path / "app.py").write_text("print(1)\n")
    plan = mkplan(
        {"kind": "edit", "path": "app.py", "edits": [{"old_string": "print(1)", "new_string": "import helper"}], "id": "e"},
        W("helper.py", "H = 1\n", id="h"),
    )
    ws = Workspace(tmp_path)
    assert commit_order(plan, ws) == ["h", "e"]
    assert commit_order(plan, ws, step_ids=["e"]) == ["e"]
    assert commit_order(plan, ws, override=["e"]) == ["e", "h"]
    assert (tmp_path / "app.py").read_text() == "print(1)\n"   # read only


def test_check_order_names_the_broken_edge_and_ignores_cycles(tmp_path):
    plan = mkplan(
        W("pkg/__init__.py", "", id="init"),
        W("pkg/a.py", "from pkg import b\n", id="a"),
        W("pkg/b.py", "from pkg import a\n", id="b"),
    )
    model = analyze(Workspace(tmp_path), plan)
    assert model.groups == [["a", "b"]]
    assert check_order(model, ["init", "b", "a"]) == []
    warn = check_order(model, ["a", "init", "b"])
    assert warn == ["pkg/a.py (a) would commit before pkg/__init__.py (init), which it needs "
                    "(imports pkg/__init__.py)"]


def test_an_init_that_imports_its_submodules_commits_after_them():
    plan = mkplan(
        W("shop/payments/__init__.py", "from .stripe import Stripe\nfrom .paypal import PayPal\n", id="init"),
        W("shop/payments/stripe.py", "from .base import Provider\n", id="stripe"),
        W("shop/payments/paypal.py", "from .base import Provider\n", id="paypal"),
        W("shop/payments/base.py", "class Provider: pass\n", id="base"),
        W("shop/payments/extra.py", "X = 1\n", id="extra"),
    )
    o = plan_order(plan, contents(plan))
    assert o.groups == []                                  # no cycle: the imports win
    assert o.order == ["base", "stripe", "paypal", "init", "extra"]
    assert reasons(o.edges)[("init", "extra")] == "package shop/payments/__init__.py before its submodules"


def test_graph_has_no_edges_for_unknown_or_external_imports():
    plan = mkplan(W("a.py", "import os, requests\nfrom typing import Any\n", id="a"),
                  W("b.ts", "import React from 'react'\n", id="b"))
    assert build_graph(plan, contents(plan)) == []


# --------------------------------------------------------------------------- random graphs

@st.composite
def graphs(draw):
    n = draw(st.integers(1, 25))
    nodes = [f"n{i}" for i in range(n)]
    pairs = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=60))
    edges = [Edge(nodes[a], nodes[b], "r") for a, b in pairs if a != b]
    tiers = draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
    return nodes, edges, dict(zip(nodes, tiers))


def _reach(nodes, edges):
    succ = {n: set() for n in nodes}
    for e in edges:
        succ[e.before].add(e.after)
    reach = {}
    for n in nodes:
        seen, stack = set(), [n]
        while stack:
            for m in succ[stack.pop()]:
                if m not in seen:
                    seen.add(m)
                    stack.append(m)
        reach[n] = seen
    return reach


@settings(max_examples=300, deadline=None)
@given(graphs())
def test_random_graphs_order_respects_every_edge_outside_a_cycle_group(g):
    nodes, edges, tiers = g
    o = order_graph(nodes, edges, tiers)
    assert sorted(o.order) == sorted(nodes)
    pos = {s: i for i, s in enumerate(o.order)}
    reach = _reach(nodes, edges)
    for e in edges:
        same_group = e.before in o.group_of and o.group_of.get(e.before) == o.group_of.get(e.after)
        if same_group:
            assert e.before in reach[e.after]      # a group is truly a cycle
        else:
            assert pos[e.before] < pos[e.after], e
    for grp in o.groups:                             # groups are contiguous and maximal cycles
        idx = sorted(pos[s] for s in grp)
        assert idx == list(range(idx[0], idx[0] + len(grp)))
        for a in grp:
            for b in grp:
                assert a == b or b in reach[a]
    for a in nodes:
        for b in nodes:
            if a != b and b in reach[a] and a in reach[b]:
                assert o.group_of.get(a) is not None and o.group_of.get(a) == o.group_of.get(b)


@settings(max_examples=200, deadline=None)
@given(graphs(), st.randoms(use_true_random=False))
def test_random_graphs_order_is_the_same_on_every_run_whatever_the_edge_order(g, rnd):
    nodes, edges, tiers = g
    first = order_graph(nodes, edges, tiers)
    shuffled = list(edges)
    rnd.shuffle(shuffled)
    again = order_graph(list(nodes), shuffled, dict(tiers))
    assert again.order == first.order
    assert again.groups == first.groups
