"""Template families: the byte-for-byte round trip as a hypothesis property, a plan with three
families and two outliers, declared families (render steps), saved templates."""
import json
import keyword

from hypothesis import HealthCheck, given, settings, strategies as st
from jinja2 import StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from wopt.engine.analysis import analyze
from wopt.engine.store import templates_store
from wopt.engine.analysis import templates as T
from wopt.engine.model.plan import decode_plan
from wopt.engine.store.workspace import Workspace


def render(template, values):
    # the same environment the engine renders plans' templates in (effects.render_template)
    env = SandboxedEnvironment(undefined=StrictUndefined, keep_trailing_newline=True, autoescape=False)
    return env.from_string(template).render(**values)


def assert_round_trip(fam, files):
    for m in fam.members:
        assert render(fam.template, m.values) == files[m.step], m.path


MODEL = '''from .base import {base}


class {cls}({base}):
    """{doc}"""

    table = "{tbl}"
    limit = {num}

    def label(self) -> str:
        return "{label}"
'''

ident = st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,10}", fullmatch=True).filter(
    lambda s: not keyword.iskeyword(s) and not keyword.issoftkeyword(s) and s not in ("self", "print"))
words = st.text(st.sampled_from("abcxyz XYZ{}#%-_.,:;!?()[]"), min_size=1, max_size=20).filter(
    lambda s: s.strip() == s and s.strip())
member = st.fixed_dictionaries({"base": ident, "cls": ident, "doc": words, "tbl": words,
                                "num": st.integers(1, 10**6).map(str), "label": words})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(member, min_size=3, max_size=6))
def test_detected_family_renders_every_member_back_byte_for_byte(values):
    files = {f"s{i}": MODEL.format(**v) for i, v in enumerate(values)}
    fams = T.detect([(sid, f"app/models/m{sid}.py", text.encode()) for sid, text in files.items()])
    assert len(fams) == 1
    [fam] = fams
    assert sorted(m.step for m in fam.members) == sorted(files)
    assert_round_trip(fam, files)
    assert "{% raw %}" not in fam.template or "{" in MODEL.format(**values[0])


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.text(st.sampled_from("ab {}%#\n\"'=:1x"), max_size=60), min_size=3, max_size=8),
       st.sampled_from(["x.py", "x.json", "x.yaml", "x.md", "x.txt", "x.j2"]))
def test_any_family_found_in_arbitrary_text_round_trips(texts, name):
    files = {f"s{i}": t for i, t in enumerate(texts)}
    for fam in T.detect([(sid, f"d{sid}/{name}", t.encode()) for sid, t in files.items()]):
        assert len(fam.members) >= 3
        assert_round_trip(fam, files)


def _model(name, table, limit, extra=""):
    return (f'from .base import Model\n\n\nclass {name}(Model):\n    table = "{table}"\n'
            f'    limit = {limit}\n{extra}\n    def label(self) -> str:\n        return "{table}"\n')


def _config(name, port):
    return json.dumps({"service": name, "port": port, "replicas": 2,
                       "health": {"path": f"/{name}/health", "interval": 10}}, indent=2) + "\n"


def _doc(title, owner):
    return f"# {title}\n\nOwned by {owner}.\n\n## Usage\n\nRun `make {title.lower()}` to build it.\n"


def three_families_plan():
    steps = []

    def w(path, content):
        steps.append({"kind": "write", "id": f"s{len(steps) + 1}", "path": path, "content": content})

    for n, t, lim in (("User", "users", 10), ("Order", "orders", 20), ("Product", "products", 30), ("Cart", "carts", 5)):
        w(f"src/models/{t}.py", _model(n, t, lim))
    w("src/models/legacy.py", _model("Legacy", "legacy", 1, extra="    debug = True\n"))      # outlier 1
    for n, p in (("auth", 8001), ("billing", 8002), ("search", 8003)):
        w(f"deploy/{n}.json", _config(n, p))
    odd = json.loads(_config("mail", 8004))
    odd["replicas"] = 2
    odd["canary"] = True
    w("deploy/mail.json", json.dumps(odd, indent=2) + "\n")                                   # outlier 2
    for t, o in (("Alpha", "team-a"), ("Beta", "team-b"), ("Gamma", "team-c")):
        w(f"docs/{t.lower()}.md", _doc(t, o))
    w("src/app.py", "import sys\n\n\ndef main():\n    return sys.argv\n")
    w("README.md", "A service.\n")
    w("src/models/__init__.py", "")
    return decode_plan(json.dumps({"version": 1, "id": "fam", "steps": steps}))


def test_plan_with_three_families_and_two_outliers_finds_exactly_those(tmp_path):
    plan = three_families_plan()
    model = analyze(Workspace(tmp_path), plan)
    fams = {tuple(sorted(m.path for m in f.members)): f for f in model.families}
    assert set(fams) == {
        ("src/models/carts.py", "src/models/orders.py", "src/models/products.py", "src/models/users.py"),
        ("deploy/auth.json", "deploy/billing.json", "deploy/search.json"),
        ("docs/alpha.md", "docs/beta.md", "docs/gamma.md"),
    }
    outliers = [(o.path, f.id) for f in model.families for o in f.outliers]
    assert sorted(p for p, _ in outliers) == ["deploy/mail.json", "src/models/legacy.py"]
    files = {s.id: s.content for s in plan.steps}
    for f in model.families:
        assert_round_trip(f, files)
        assert not f.declared
    py = fams[("src/models/carts.py", "src/models/orders.py", "src/models/products.py", "src/models/users.py")]
    [legacy] = py.outliers
    assert "debug = True" in legacy.differs and "extra line" in legacy.differs
    by_path = {m.path: m.values for m in py.members}
    assert sorted(by_path["src/models/users.py"].values()) == sorted(["UserModel"[:-5], "users", "10"])
    # a value used twice in a file is one variable
    assert py.template.count("{{") == 4 and len(py.slots) == 3
    assert model.steps["s1"].family == py.id
    assert model.steps["s5"].family is None


def test_declared_family_from_render_steps_and_its_template_error(tmp_path):
    plan = decode_plan(json.dumps({"version": 1, "id": "r", "templates": {
        "svc": "name = {{ name }}\nport = {{ port }}\n", "bad": "{% if x %}oops\n"}, "steps": [
        {"kind": "render", "id": "a", "path": "svc/a.toml", "template": "svc", "vars": {"name": "a", "port": 1}},
        {"kind": "render", "id": "b", "path": "svc/b.toml", "template": "svc", "vars": {"name": "b", "port": 2}},
        {"kind": "render", "id": "c", "path": "svc/c.toml", "template": "bad", "vars": {"x": True}}]}))
    model = analyze(Workspace(tmp_path), plan)
    svc = next(f for f in model.families if f.id == "declared:svc")
    assert svc.declared and svc.slots == ["name", "port"]
    assert [m.values for m in svc.members] == [{"name": "a", "port": "1"}, {"name": "b", "port": "2"}]
    c = model.steps["c"]
    assert c.status == "invalid"
    assert "template 'bad' line" in c.error
    [f] = [f for f in c.findings if f.checker == "jinja2"]
    assert f.line == 1 and "template 'bad'" in f.message and "endif" in f.message
    assert model.diff("a").hunks[0].lines[0].text == "name = a"


def test_saved_template_is_recognised_in_a_later_plan(tmp_path):
    ws = Workspace(tmp_path)
    plan = three_families_plan()
    model = analyze(ws, plan)
    py = next(f for f in model.families if f.members[0].path.endswith(".py"))
    name = templates_store.save_family(ws, py)
    assert name == "models-py"
    rec = json.loads((tmp_path / ".wopt" / "templates" / "models-py.json").read_text())
    assert rec["template"] == py.template and rec["uses"] == 1 and rec["files"] == 4

    later = decode_plan(json.dumps({"version": 1, "id": "later", "steps": [
        {"kind": "write", "id": f"n{i}", "path": f"src/models/{t}.py", "content": _model(n, t, i)}
        for i, (n, t) in enumerate((("Invoice", "invoices"), ("Refund", "refunds"), ("Tax", "taxes")))]}))
    [detected] = analyze(ws, later).families
    assert detected.saved_as == "models-py" and detected.saved_uses == 1
    assert templates_store.save_family(ws, detected) == "models-py"
    assert json.loads((tmp_path / ".wopt" / "templates" / "models-py.json").read_text())["uses"] == 2

    # a file alone (no family in its plan) still says it matches the saved template
    single = decode_plan(json.dumps({"version": 1, "id": "one", "steps": [
        {"kind": "write", "id": "c", "path": "other/coupon.py", "content": _model("Coupon", "coupons", 9)},
        {"kind": "write", "id": "d", "path": "other/notes.py", "content": "x = 1\n"}]}))
    m3 = analyze(ws, single)
    [fam] = m3.families
    assert (fam.id, fam.saved_as, fam.saved_uses) == ("saved:models-py", "models-py", 2)
    assert [m.path for m in fam.members] == ["other/coupon.py"]
    assert render(fam.template, fam.members[0].values) == single.step("c").content
    assert m3.steps["c"].family == "saved:models-py" and m3.steps["d"].family is None


def test_too_different_files_of_one_shape_are_not_a_family():
    files = [(f"s{i}", f"m{i}.py", f"{a} = {b}({c})\n".encode())
             for i, (a, b, c) in enumerate((("x", "f", "y"), ("p", "g", "q"), ("u", "h", "v")))]
    assert T.detect(files) == []


def test_jinja_syntax_in_constant_text_is_escaped():
    files = {f"s{i}": f"{{% raw %}} {{{{ keep }}}} {{# c #}} value={i + 100}\n" for i in range(3)}
    [fam] = T.detect([(sid, f"{sid}.txt", t.encode()) for sid, t in files.items()])
    assert_round_trip(fam, files)
