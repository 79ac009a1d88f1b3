"""Template families' fast path (`templates._Seed`): a file with the shape of one already
tokenized is read by that shape instead of being tokenized again. It must find exactly the
families, templates, values and outliers that tokenizing every file finds (`fast=False`), on
generated families full of values that tokenize differently (keywords, magic names, escapes,
interpolations, quotes, line breaks, exotic numbers, non-ASCII names) and on real code."""
from __future__ import annotations

import sys
from pathlib import Path

from hypothesis import HealthCheck, given, settings, strategies as st

from wopt.engine.analysis import templates as T

SHAPE = '''#!/usr/bin/env python3
"""{doc}"""
from {mod} import {name}
import {mod2}

LIMIT = {num}
LABEL = "{label}"
OTHER = '{other}'


@{deco}
class {cls}({name}):
    """{doc2}"""

    def {func}(self, {arg}: int = {num2}) -> str:  # {comment}
        return f"{label2}" + {arg}.{attr}
'''

SHAPE_SLOTS = {"doc", "mod", "name", "mod2", "num", "label", "other", "deco", "cls", "doc2",
               "func", "arg", "num2", "comment", "label2", "attr"}

# values each slot may take: mostly plain, often something a tokenizer reads differently
plain = st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,8}", fullmatch=True)
tricky_name = st.sampled_from(["if", "None", "True", "match", "case", "_", "type", "__init__",
                               "__name__", "self", "print", "café", "x1", "_x", "async", "lambda"])
name = st.one_of(plain, plain, tricky_name)
module = st.one_of(name, st.builds(lambda a, b: f"{a}.{b}", name, name), st.just(".rel"), st.just("."),
                   st.just("..a.b"), st.just("...x"))
number = st.one_of(st.integers(0, 10**6).map(str),
                   st.sampled_from(["1.5", "1e-5", "0x1F", "1_000", "3j", "0o17", "1.", ".5", "07"]))
text = st.text(st.sampled_from("ab Z09.,:;-_!?()[]{}%'\"\\\n#é"), min_size=1, max_size=12)
slot_values = st.fixed_dictionaries({
    "doc": text, "mod": module, "name": name, "mod2": module, "num": number, "label": text,
    "other": text, "deco": st.one_of(name, st.just("a.b")), "cls": name, "doc2": text,
    "func": name, "arg": name, "num2": number, "comment": text.filter(lambda s: "\n" not in s),
    "label2": text, "attr": name})


def _items(files: dict[str, str], ext: str = ".py") -> list[tuple[str, str, bytes]]:
    return [(sid, f"pkg/{sid}{ext}", t.encode()) for sid, t in files.items()]


def _as_data(fams) -> list:
    return [(f.template, f.slots, [(m.step, m.path, m.values) for m in f.members],
             [(o.step, o.path, o.differs) for o in f.outliers]) for f in fams]


def _same(items) -> list:
    fast = T.detect(items, fast=True)
    slow = T.detect(items, fast=False)
    assert _as_data(fast) == _as_data(slow)
    return fast


plain_values = st.fixed_dictionaries({
    "doc": plain, "mod": plain, "name": plain, "mod2": plain, "num": st.integers(0, 99).map(str),
    "label": plain, "other": plain, "deco": plain, "cls": plain, "doc2": plain, "func": plain,
    "arg": plain, "num2": st.integers(0, 99).map(str), "comment": plain, "label2": plain,
    "attr": plain})


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plain_values, st.integers(3, 6),
       st.lists(st.tuples(st.integers(0, 5), slot_values, st.sampled_from(sorted(SHAPE_SLOTS))),
                min_size=1, max_size=3))
def test_fast_path_finds_what_tokenizing_every_file_finds(base, n, odd):
    # a family (members differ in two values), some members with one slot set to something wild
    rows = [{**base, "num": str(i), "cls": f"{base['cls']}{i}"} for i in range(n)]
    for i, wild, slot in odd:
        rows[i % n][slot] = wild[slot]
    files = {f"s{i}": SHAPE.format(**v) for i, v in enumerate(rows)}
    _same(_items(files))


def test_a_plain_family_is_read_by_pattern_not_tokenized(monkeypatch):
    files = {f"s{i}": SHAPE.format(doc=f"Model {i}.", mod="app.base", name="Base", mod2="os",
                                   num=str(i), label=f"label {i}", other="x", deco="register",
                                   cls=f"Model{i}", doc2="A model.", func="render", arg="value",
                                   num2=str(i * 2), comment=f"note {i}", label2=f"hi {i}",
                                   attr="upper")
             for i in range(20)}
    calls = []
    real = T.tokens
    monkeypatch.setattr(T, "tokens", lambda path, text: calls.append(path) or real(path, text))
    [fam] = _same(_items(files))
    assert len(fam.members) == 20
    # the fast run tokenized one file; the reference run tokenized all twenty
    assert len(calls) == 1 + 20


def test_values_that_tokenize_differently_leave_the_family():
    base = dict(doc="d", mod="m", name="B", mod2="os", num="1", label="l", other="o", deco="d",
                cls="C", doc2="d", func="f", arg="a", num2="2", comment="c", label2="x", attr="y")
    files = {f"s{i}": SHAPE.format(**{**base, "cls": f"C{i}", "label": f"l{i}"}) for i in range(4)}
    files["kw"] = SHAPE.format(**{**base, "name": "None"})         # a keyword, not a name
    files["esc"] = SHAPE.format(**{**base, "label": "a\\nb"})      # an escape inside the string
    files["fs"] = SHAPE.format(**{**base, "label2": "{a}"})        # an interpolation
    [fam] = _same(_items(files))
    assert sorted(m.step for m in fam.members) == ["s0", "s1", "s2", "s3"]


def test_real_code_gives_the_same_families_both_ways():
    # wopt's own sources and this interpreter's email package: mostly unrelated files
    roots = [Path(T.__file__).parents[2], Path(sys.modules["email"].__file__).parent]
    files = {}
    for root in roots:
        for p in sorted(root.rglob("*.py"))[:150]:
            files[f"{root.name}/{p.relative_to(root)}"] = p.read_text(encoding="utf-8")
    # plus a family of twelve copies of one of them with a name changed
    src = Path(T.__file__).read_text(encoding="utf-8")
    for i in range(12):
        files[f"copy{i}"] = src.replace("_Seed", f"_Seed{i}")
    fams = _same([(sid, sid if sid.endswith(".py") else sid + ".py", t.encode())
                  for sid, t in files.items()])
    assert any(len(f.members) == 12 for f in fams)
