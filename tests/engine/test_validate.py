"""Validation findings with the right line and column, per format; imports of modules the plan
creates must resolve after the apply; validate_changes on effects.Change objects."""
import json

import pytest

from wopt.engine.analysis.validate import validate_changes, validate_content
from wopt.engine.store.effects import Change
from wopt.engine.store.workspace import Workspace


def one(path, text):
    fs = validate_content(path, text.encode() if isinstance(text, str) else text, step="s1")
    assert len(fs) == 1, fs
    return fs[0]


def test_python_syntax_error_line_and_column():
    f = one("pkg/mod.py", "def ok():\n    return 1\n\ndef bad(:\n    pass\n")
    assert (f.checker, f.line, f.column, f.step, f.path) == ("python", 4, 9, "s1", "pkg/mod.py")
    f = one("a.py", "x = 1\nif x\n    y = 2\n")
    assert (f.line, f.column) == (2, 5) and "expected ':'" in f.message
    f = one("a.py", "def f():\n  x = 1\n    y = 2\n")
    assert f.line == 3 and "indent" in f.message


def test_json_error_line_and_column():
    f = one("data/config.json", '{\n  "a": 1,\n  "b": [1, 2,,]\n}\n')
    assert (f.checker, f.line, f.column) == ("json", 3, 14)
    f = one("x.json", '{"a": 1}\n{"b": 2}\n')
    assert (f.line, f.column) == (2, 1) and f.message == "Extra data"


def test_jsonc_style_files_get_a_warning_not_an_error():
    f = one("tsconfig.json", '{\n  // comment\n  "compilerOptions": {}\n}\n')
    assert f.severity == "warning" and f.line == 2


def test_toml_error_line_and_column():
    f = one("pyproject.toml", '[project]\nname = "x"\nversion = 1.2.3\n')
    assert (f.checker, f.line, f.column) == ("toml", 3, 14)
    f = one("a.toml", '[a]\nx = 1\n[a]\n')
    assert f.line == 3 and f.column == 3


def test_yaml_error_line_and_column_and_custom_tags_are_fine():
    f = one("ci.yml", "jobs:\n  build:\n    steps: [a, b\n  other: 1\n")
    assert f.checker == "yaml" and (f.line, f.column) == (4, 8)   # where PyYAML gives up
    assert validate_content("cf.yaml", b"Resources:\n  X: !Ref Other\n") == []
    f = one("multi.yaml", "a: 1\n---\nb: : c\n")
    assert f.line == 3


def test_notebook_structure():
    nb = {"nbformat": 4, "nbformat_minor": 5, "metadata": {},
          "cells": [{"cell_type": "code", "source": ["x = 1\n"], "outputs": [], "metadata": {}},
                    {"cell_type": "markdown", "source": "# hi"}]}
    assert validate_content("a.ipynb", json.dumps(nb).encode()) == []
    nb["cells"].append({"cell_type": "python", "source": 3})
    fs = validate_content("a.ipynb", json.dumps(nb).encode())
    assert [f.message for f in fs] == ["cell 2: cell_type must be code, markdown or raw (found 'python')",
                                       "cell 2: source must be a string or a list of strings"]
    f = one("b.ipynb", '{"cells": [}')
    assert (f.checker, f.line, f.column) == ("ipynb", 1, 12)


def test_jinja2_template_syntax():
    f = one("templates/page.html.j2", "<h1>{{ title }}</h1>\n{% for x in items %}\n{{ x }}\n")
    assert f.checker == "jinja2" and f.line == 3 and "endfor" in f.message
    assert validate_content("ok.jinja", b"{{ a }}{% if b %}c{% endif %}\n") == []


def test_not_utf8_and_unchecked_kinds():
    f = one("x.json", b'{"a": "\xff"}')
    assert "UTF-8" in f.message and (f.line, f.column) == (1, 8)
    assert validate_content("README.md", b"{ not checked") == []
    assert validate_content("gone.py", None) == []


def ch(path, after, before=None, steps=("s",)):
    return Change(path, before, None, None if after is None else after.encode(), 0o644, list(steps))


def test_imports_of_modules_the_plan_creates_must_resolve(tmp_path):
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "__init__.py").write_text("")
    (tmp_path / "old" / "thing.py").write_text("T = 1\n")
    changes = [
        ch("src/shop/__init__.py", "", steps=["s1"]),
        ch("src/shop/cart.py", "from .models import Item\nfrom . import pricing\nVALUE = 1\n", steps=["s2"]),
        ch("src/shop/models.py", "class Item: pass\n", steps=["s3"]),
        ch("src/shop/api.py", "import shop.cart\nfrom shop.cart import VALUE, NOPE\nimport shop.orders\n"
           "from old.thing import T\nimport requests\n", steps=["s4"]),
    ]
    fs = validate_changes(changes, Workspace(tmp_path))
    got = [(f.step, f.path, f.checker, f.line, f.message) for f in fs]
    assert got == [
        ("s2", "src/shop/cart.py", "imports", 2, "imports pricing from . (src/shop/__init__.py), which does not define it"),
        ("s4", "src/shop/api.py", "imports", 2, "imports NOPE from shop.cart (src/shop/cart.py), which does not define it"),
        ("s4", "src/shop/api.py", "imports", 3, "imports shop.orders, which does not exist after the apply"),
    ]


def test_imports_resolve_against_the_disk_and_deleted_modules_do_not(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "existing.py").write_text("E = 1\n")
    changes = [ch("pkg/__init__.py", ""), ch("pkg/new.py", "from pkg import existing\nfrom . import gone\n"),
               ch("pkg/gone.py", None, before=b"x = 1\n")]
    fs = validate_changes(changes, Workspace(tmp_path))
    assert [(f.line, f.message) for f in fs] == [(2, "imports gone from . (pkg/__init__.py), which does not define it")]


def test_validate_changes_blames_the_last_step_of_each_file():
    changes = [ch("a.json", "{", steps=["s1", "s2"]), ch("b.py", "x = (", steps=["s3"]), ch("c.py", None, b"x")]
    fs = validate_changes(changes)
    assert [(f.step, f.path, f.checker) for f in fs] == [("s2", "a.json", "json"), ("s3", "b.py", "python")]


@pytest.mark.parametrize("star", ["from .x import *\n", "def __getattr__(name):\n    return 1\n"])
def test_modules_with_dynamic_names_are_not_second_guessed(star):
    changes = [ch("p/__init__.py", star), ch("p/x.py", "A = 1\n"), ch("q.py", "from p import anything\n")]
    assert validate_changes(changes) == []
