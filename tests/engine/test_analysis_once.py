"""A cold analysis parses each Python content once, for its imports and its syntax check
alike, and finds exactly what a separate parse for each finds."""
from __future__ import annotations

import ast
import warnings
import builtins
import json
import sysconfig
import traceback
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from wopt.engine.store import spool
from wopt.engine.analysis import analyze, cache, model_to_dict
from wopt.engine.analysis import imports as imp
from wopt.engine.analysis import validate as V
from wopt.engine.model.plan import decode_plan
from wopt.engine.store.workspace import Workspace


def _walk_imports(source: bytes) -> list[tuple] | None:
    """The imports as a walk over every node of the tree finds them (what py_imports did)."""
    if b"import" not in source:
        return []
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return None
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, 0, [], node.lineno, node.col_offset + 1) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            out.append((node.module or "", node.level or 0, [a.name for a in node.names],
                        node.lineno, node.col_offset + 1))
    return sorted(out, key=lambda t: (t[3], t[4]))


def _tuples(refs):
    return None if refs is None else [(r.module, r.level, r.names, r.line, r.column) for r in refs]


NESTED = b'''
import os, sys as system
from . import sibling
from ..pkg.mod import (a,
    b as c)
if TYPE_CHECKING:
    from typing import Any
else:
    import json
try:
    import fast
except ImportError:
    import slow
else:
    import done
finally:
    import cleanup
try:
    pass
except* ValueError:
    import instar
for x in y:
    import inloop
else:
    import afterloop
while z:
    import inwhile
with ctx() as c:
    import inwith
async def f():
    import inasync
    async with a:
        import inasyncwith
    async for q in r:
        import inasyncfor
class K:
    import inclass
    def m(self):
        def inner():
            from deep import thing
match v:
    case 1:
        import incase
    case _:
        pass
lam = lambda: __import__("not_an_import")
s = "import not_this"
'''


def test_statement_walk_finds_what_a_full_walk_finds():
    got = _tuples(imp.imports_after_parse(NESTED, ast.parse(NESTED)))
    assert got == _walk_imports(NESTED)
    assert {g[0] for g in got} >= {"os", "sys", "instar", "typing", "json", "fast", "slow", "done",
                                   "cleanup", "inloop", "afterloop", "inwhile", "inwith", "inasync",
                                   "inasyncwith", "inasyncfor", "inclass", "deep", "incase"}
    for bad in (b"import os\ndef f(:\n", b"def f(:\n", b"x = 1\n", b"import \x00os\n"):
        tree, problems = V.python_parse("m.py", bad)
        assert _tuples(imp.imports_after_parse(bad, tree)) == _walk_imports(bad)
        assert bool(problems) == (tree is None)


def test_statement_walk_matches_on_the_standard_library():
    files = sorted(Path(sysconfig.get_paths()["stdlib"]).glob("*.py"))[:150]
    assert len(files) > 100
    for f in files:
        data = f.read_bytes()
        tree, problems = V.python_parse(str(f), data)
        assert _tuples(imp.imports_after_parse(data, tree)) == _walk_imports(data), f
        assert problems == V._python(str(f), data)


TRICKY = [
    b"from .import a\nfrom ..import (b,\n  c)\n",
    b"x = 1; import os\ndef f():\n    y = 2; from . import z\n",
    b"from pkg \\\n    import thing\nclass A:\n    def m(self):\n        if x:\n            import deep\n",
    b"match x:\n    case 1:\n        import one\n    case _:\n        from two import t\n",
    b"try:\n    import a\nexcept ImportError:\n    import b\nelse:\n    import c\nfinally:\n    import d\n",
    b"import a\rdef f():\r    import b\r",
    b"s = '''\nimport not_a_statement\n'''\ndef f():\n    return 'import'  # import\nimport real\n",
    b"with open(p) as f, \\\n     g:\n    import inside\nasync def h():\n    async with x:\n        import deeper\n",
]


@pytest.mark.parametrize("source", TRICKY, ids=range(len(TRICKY)))
def test_the_walk_that_skips_statements_without_the_word_import_misses_none(source):
    tree = ast.parse(source)
    assert _tuples(imp.tree_imports(tree, source)) == _tuples(imp.tree_imports(tree)) == _walk_imports(source)


def test_the_skipping_walk_matches_on_the_whole_standard_library():
    # every package of the standard library but its own tests and installed packages
    files = [f for f in sorted(Path(sysconfig.get_paths()["stdlib"]).rglob("*.py"))
             if not {"site-packages", "test", "tests", "idle_test"} & set(f.parts)]
    assert len(files) > 600
    seen = 0
    for f in files:
        data = f.read_bytes()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                tree = ast.parse(data)
        except (SyntaxError, ValueError):
            continue      # (lib2to3's test data and other deliberately broken files)
        assert _tuples(imp.tree_imports(tree, data)) == _tuples(imp.tree_imports(tree)), f
        seen += 1
    assert seen > 600


@pytest.fixture(autouse=True)
def no_racy_window(monkeypatch):
    monkeypatch.setattr(cache, "RACY_SECONDS", -1e9)


_REAL_COMPILE = builtins.compile


def _count_compiles(monkeypatch, contents: set[bytes]) -> list[bytes]:
    """Each compile() of one of `contents` from now on, in a list (a created module's names,
    read for a `from` import, aside); wopt's import caches emptied first."""
    compiled: list[bytes] = []

    def counting(source, *a, **k):
        if isinstance(source, bytes) and source in contents:
            if "_defined_names" not in {f.name for f in traceback.extract_stack(limit=8)}:
                compiled.append(source)
        return _REAL_COMPILE(source, *a, **k)
    imp._seeded.clear()
    imp._py_imports.cache_clear()
    monkeypatch.setattr(builtins, "compile", counting)
    return compiled


def test_a_cold_analysis_compiles_each_python_content_once(tmp_path, monkeypatch):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    steps = [{"kind": "write", "id": f"m{i}", "path": f"pkg/m{i}.py",
              "content": (f"from .m{i - 1} import X\nimport os\nX = {i}\n" if i else "X = 0\n")} for i in range(6)]
    steps.append({"kind": "write", "id": "bad", "path": "pkg/bad.py", "content": "import os\ndef f(:\n"})
    steps.append({"kind": "write", "id": "new", "path": "newpkg/__init__.py", "content": "from .gone import Y\n"})
    plan = decode_plan(json.dumps({"version": 1, "id": "once", "steps": steps}))
    ws = Workspace(tmp_path)
    spool.ensure(ws)
    contents = {s["content"].encode() for s in steps}   # (not a module wopt imports meanwhile)
    compiled = _count_compiles(monkeypatch, contents)
    got = model_to_dict(analyze(ws, plan))
    assert sorted(compiled) == sorted(contents)   # each once
    monkeypatch.setattr(builtins, "compile", _REAL_COMPILE)
    # the same findings and order as a fresh, separate check of each content
    bad = [f for f in got["findings"] if f["path"] == "pkg/bad.py"]
    assert [(f["checker"], f["line"], f["severity"]) for f in bad] == [("python", 2, "error")]
    assert bad[0]["message"] == V.validate_content("pkg/bad.py", b"import os\ndef f(:\n")[0].message
    assert any(f["checker"] == "imports" and f["path"] == "newpkg/__init__.py" for f in got["findings"])
    assert len([e for e in got["edges"]]) >= 5


@settings(max_examples=3000, deadline=None)
@given(st.text(st.sampled_from("ab./\\"), max_size=12))
def test_the_quick_path_of_normalize_relpath_agrees_with_the_full_one(path):
    from wopt.engine.model.plan import normalize_relpath
    assert normalize_relpath(path) == "/".join(p for p in path.replace("\\", "/").split("/") if p not in ("", "."))


@settings(max_examples=5000, deadline=None)
@given(st.lists(st.sampled_from(["a", "b", ".", "/", "\\", ":", "\x00", ".git", ".GIT", ".wopt", ".Wopt",
                                 "..", "C:", "\u0130"]), max_size=8).map("".join))
def test_check_relpath_accepts_exactly_what_the_full_check_accepts_and_gives_its_reason(path):
    """The string-only path for plain paths answers as the full check does: the same None,
    and for any other path the full check's own reason."""
    from wopt.engine.model.plan import _check_relpath_full, check_relpath
    assert check_relpath(path) == _check_relpath_full(path)


def test_a_headless_apply_on_a_cold_cache_parses_each_python_content_once(tmp_path, monkeypatch):
    """The ordering (imports) and the validation (syntax) share one parse per content, and
    an apply after an analysis of the same contents parses nothing."""
    from wopt.engine.analysis import cache as C
    from wopt.engine.tx.apply import apply_plan
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    steps = [{"kind": "write", "id": f"m{i}", "path": f"pkg/m{i}.py",
              "content": (f"from .m{i + 1} import X\nimport os\nX = {i}\n" if i < 5 else "X = 5\n")}
             for i in range(6)]
    plan = decode_plan(json.dumps({"version": 1, "id": "apply-once", "steps": steps}))
    ws = Workspace(tmp_path)
    spool.ensure(ws)
    contents = {s["content"].encode() for s in steps}
    compiled = _count_compiles(monkeypatch, contents)
    apply_plan(ws, plan, [s["id"] for s in steps], mode="journal")
    assert sorted(compiled) == sorted(contents)        # each once: imports and syntax together
    for s in steps:
        assert (tmp_path / s["path"]).read_text() == s["content"]
    assert C.ContentCache(ws).entries                 # what it parsed is kept


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(["a", "b", ".git", ".wopt", "ab", "a b", "é"]), max_size=4),
       st.sampled_from(["/", "/tmp/ws", "/tmp/ws2", "/tmp"]),
       st.lists(st.sampled_from(["tmp", "ws", "ws2", "a", ".git"]), max_size=4))
def test_the_workspace_inside_check_as_text_agrees_with_the_path_one(parts, root, other):
    from wopt.engine.store.workspace import Workspace
    ws = Workspace.__new__(Workspace)
    ws.root = Path(root)
    for p in (Path(root).joinpath(*parts), Path("/").joinpath(*other)):
        assert ws._inside(p) == (p == ws.root or ws.root in p.parents), p
        if ws._inside(p):
            assert ws._below(p) == list(p.relative_to(ws.root).parts), p


@settings(max_examples=2000, deadline=None)
@given(st.text(st.sampled_from("abcrequirements.txtjsonconfig*-_/[]?!\n"), max_size=24))
def test_the_config_globs_as_one_expression_match_as_fnmatch_does(path):
    import fnmatch
    import posixpath

    from wopt.engine.analysis import ordering as O
    base = posixpath.basename(path)
    want = base in O.CONFIG_NAMES or any(fnmatch.fnmatchcase(base, g) for g in O.CONFIG_GLOBS)
    assert O.is_config(path) == want
    for g in O.CONFIG_GLOBS:                       # and each glob's own examples
        example = g.replace("*", "x")
        assert O.is_config("a/" + example)


def test_the_relative_form_of_a_resolved_path_is_the_pathlib_one(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to("real")
    ws = Workspace(tmp_path)
    for rel in ("x.py", "a/b/c.py", "a/b", "link/f.txt", "./a//b/d.txt"):
        real = ws.resolve(rel) if rel != "a/b" else tmp_path / "a" / "b"
        assert ws.relative(real) == real.relative_to(ws.root).as_posix()
    assert ws.relative(ws.resolve("link/f.txt")) == "real/f.txt"
