"""FamilyScreen on a real analysis: a family of four handlers and an outlier, detected by the
engine from a plan stored in a temporary workspace."""
from __future__ import annotations

import asyncio
import functools
from pathlib import Path

import pytest
from textual.app import App
from textual.widgets import DataTable, Static

from wopt.engine.analysis import analyze
from wopt.engine.store.ingest import ingest
from wopt.engine.model.plan import Plan, WriteStep
from wopt.engine.store.workspace import Workspace
from wopt.tui.screens.family import SLOT_RE, FamilyScreen, template_content


def run(coro_fn):
    @functools.wraps(coro_fn)
    def wrapper(*a, **kw):
        return asyncio.run(coro_fn(*a, **kw))
    return wrapper


def handler(name: str, route: str, code: int, extra: str = "") -> str:
    return (f'from shop.http import Handler\n\n\nclass {name}Handler(Handler):\n'
            f'    """Serve {route}."""\n\n    route = "/api/{route}"\n    status = {code}\n\n'
            f'    def get(self, request):\n{extra}        return self.render("{route}.html")\n')


def family_model(root: Path):
    ws = Workspace(root)
    rows = [("Cart", "cart", 200), ("Order", "orders", 200), ("User", "users", 201), ("Payment", "payments", 202)]
    steps = [WriteStep(id=f"h{i + 1}", path=f"src/shop/handlers/{r}.py", content=handler(n, r, c))
             for i, (n, r, c) in enumerate(rows)]
    steps.append(WriteStep(id="h9", path="src/shop/handlers/refunds.py",
                           content=handler("Refund", "refunds", 200, "        self.audit(request)\n")))
    plan = Plan(id="handlers", title="Handlers", steps=steps)
    ingest(ws, plan)
    model = analyze(ws, plan)
    assert len(model.families) == 1, model.families
    return model, model.families[0]


class Host(App):
    def __init__(self, model, family_id):
        super().__init__()
        self.args = (model, family_id)
        self.results: list = []

    def on_mount(self) -> None:
        self.theme = "textual-dark"
        self.push_screen(FamilyScreen(*self.args), self.results.append)


@run
async def test_shows_template_values_and_outlier(tmp_path):
    model, fam = family_model(tmp_path)
    app = Host(model, fam.id)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        screen = app.screen
        template = str(screen.query_one("#family-template", Static).render())
        assert "from shop.http import Handler" in template
        assert all("{{ %s }}" % slot in template for slot in fam.slots)      # every slot, shown once
        members = screen.query_one("#family-members", DataTable)
        assert members.row_count == 4
        assert [str(c.label) for c in members.columns.values()][1:] == ["file", *fam.slots]
        row = members.get_row("h3")
        assert row[1] == "src/shop/handlers/users.py"
        assert {"UserHandler", "/api/users", "201"} <= set(row[2:])
        outliers = screen.query_one("#family-outliers", DataTable)
        assert outliers.row_count == 1
        assert "self.audit(request)" in outliers.get_row("h9")[2]
        title = str(screen.query_one("#family-title", Static).render())
        assert "4 files" in title and "1 outlier" in title


@run
async def test_a_approves_the_whole_family(tmp_path):
    model, fam = family_model(tmp_path)
    app = Host(model, fam.id)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        await pilot.press("a")
        await pilot.pause()
    assert app.results == [("approve", fam.id)]


@run
async def test_enter_opens_a_member_and_tab_enter_an_outlier(tmp_path):
    model, fam = family_model(tmp_path)
    app = Host(model, fam.id)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        await pilot.press("j", "down", "enter")      # third member
        await pilot.pause()
    assert app.results == [("open", "h3")]

    app = Host(model, fam.id)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        await pilot.press("tab", "enter")
        await pilot.pause()
    assert app.results == [("open", "h9")]


@run
async def test_click_opens_and_escape_returns_none(tmp_path):
    model, fam = family_model(tmp_path)
    app = Host(model, fam.id)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
    assert app.results == [None]

    app = Host(model, fam.id)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        members = app.screen.query_one("#family-members", DataTable)
        # the second row of the table: border (1) + header (1) + row index 1
        await pilot.click(members, offset=(5, 3))
        await pilot.click(members, offset=(5, 3))
        await pilot.pause()
    assert app.results == [("open", "h2")]


@run
async def test_unknown_family_says_so(tmp_path):
    model, _fam = family_model(tmp_path)
    app = Host(model, "family-99")
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        assert "No template family 'family-99'" in str(app.screen.query_one("#family-template", Static).render())
        await pilot.press("a", "enter", "escape")
        await pilot.pause()
    assert app.results == [None]


def test_slots_are_highlighted_in_the_template():
    tpl = 'x = "{{ a }}"\ny = {{ b_2 }}\n'
    content = template_content(tpl, "m.py")
    assert content.plain == '1 x = "{{ a }}"\n2 y = {{ b_2 }}'
    slot_spans = [s for s in content.spans if "warning-muted" in str(s.style)]
    texts = sorted(content.plain[s.start:s.end] for s in slot_spans)
    assert texts == ["{{ a }}", "{{ b_2 }}"]
    assert [m.group(1) for m in SLOT_RE.finditer("{{ x }} {{- y -}} {{ '{' }}")] == ["x", "y"]


def fixed_model():
    """A family as the review model carries it (the contract types), fixed so the snapshot
    shows this screen and not the analysis' current slot naming."""
    from wopt.engine.analysis.model import Family, FamilyMember, Outlier, ReviewModel
    rows = [("Cart", "cart", "200"), ("Order", "orders", "200"), ("User", "users", "201"),
            ("Payment", "payments", "202")]
    template = handler("{{ name }}", "{{ route }}", 0).replace("Handler(Handler)", "Handler(Handler)")
    template = (template.replace("{{ name }}Handler", "{{ class_name }}")
                .replace('"""Serve {{ route }}."""', '"""{{ doc }}"""')
                .replace('"/api/{{ route }}"', '"{{ route }}"').replace("status = 0", "status = {{ status }}")
                .replace('"{{ route }}.html"', '"{{ page }}"'))
    members = [FamilyMember(f"h{i + 1}", f"src/shop/handlers/{r}.py",
                            {"class_name": f"{n}Handler", "doc": f"Serve {r}.", "route": f"/api/{r}",
                             "status": c, "page": f"{r}.html"}) for i, (n, r, c) in enumerate(rows)]
    fam = Family(id="family-1", template=template, slots=["class_name", "doc", "route", "status", "page"],
                 members=members, outliers=[Outlier("h9", "src/shop/handlers/refunds.py",
                                                    "extra line 11: `self.audit(request)`")])
    model = ReviewModel(plan_id="handlers", order=[], groups=[], edges=[], batches=[], steps={},
                        families=[fam], findings=[], flags=[], optimization_rate=1.0)
    return model, fam


def test_snapshot_family(snap_compare):
    model, fam = fixed_model()
    for m in fam.members:     # the fixture is what the analysis would give: each member renders back
        from wopt.engine.analysis.templates import render
        n, r = m.values["class_name"][:-len("Handler")], m.values["route"].rsplit("/", 1)[-1]
        assert render(fam.template, m.values) == handler(n, r, int(m.values["status"]))
    assert snap_compare(Host(model, fam.id), terminal_size=(120, 36))


def test_jinja_escapes_are_shown_as_the_text_they_render():
    from wopt.tui.screens.family import display_parts
    tpl = ('{% raw %}{\n  "name": "{% endraw %}{{ string }}",\n  "port": {{ number }}{% raw %},\n'
           '  "tags": {"env": "prod"}\n}\n{% endraw %}')
    parts = display_parts(tpl)
    assert "".join(t for t, _ in parts) == ('{\n  "name": "{{ string }}",\n  "port": {{ number }},\n'
                                            '  "tags": {"env": "prod"}\n}\n')
    assert [t for t, k in parts if k == "slot"] == ["{{ string }}", "{{ number }}"]
    assert display_parts("a {{ '{' }} b {% if x %}c{% endif %} {{ v | upper }}") == [
        ("a ", "text"), ("{", "text"), (" b ", "text"), ("{% if x %}", "tag"), ("c", "text"),
        ("{% endif %}", "tag"), (" ", "text"), ("{{ v | upper }}", "slot")]
    content = template_content(tpl, "conf/api.json")
    assert "{% raw %}" not in content.plain and '1 {\n2   "name": "{{ string }}",' in content.plain
