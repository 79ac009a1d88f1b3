"""The format table (engine/sources REGISTRY) is the one list of formats: `wopt ingest --format`
offers every format, the queue and the palette name a plan of each by its display name, the
README's "## Formats" section lists each with its description, and a format registered later
(here, a throwaway one) is read by `wopt ingest` and named by the queue with no other change."""
from __future__ import annotations

import asyncio
import contextlib
import io
import re
from pathlib import Path

from core_helpers import SIZE, make_app, settle
from wopt.engine.store import spool
from wopt.engine import sources
from wopt.engine.cli.main import main
from wopt.engine.model.plan import Plan, WriteStep
from wopt.engine.store.workspace import Workspace
from wopt.tui.screens.queue import QueueScreen, scan


def _ws(tmp_path) -> Workspace:
    root = tmp_path / "proj"
    (root / ".git").mkdir(parents=True)
    return Workspace(root)


def _ingest_help() -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
        main(["ingest", "--help"])
    return out.getvalue()


def test_cli_help_queue_and_palette_list_every_registered_format(tmp_path):
    ws = _ws(tmp_path)
    for name in sources.REGISTRY:
        spool.save_plan(ws, Plan(id=f"p-{name}", title=f"from {name}", source=name, created="2026-11-25T09:00:00Z",
                                 steps=[WriteStep(id="s1", path=f"{name}.txt", content="x\n")]))
    text = " ".join(_ingest_help().split())
    for name in sources.format_names():
        assert name in text, name
    rows, errors, _ = scan(ws)
    assert not errors
    assert {r.id: r.source for r in rows} == {f"p-{n}": f.display for n, f in sources.REGISTRY.items()}

    async def body():
        from wopt.tui.commands import WoptCommands
        app = make_app(ws)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            assert isinstance(app.screen, QueueScreen)
            helps = {n: h for n, _, h in WoptCommands(app.screen)._commands()}
            for n, f in sources.REGISTRY.items():
                assert helps[f"queue: open p-{n} from {n}"] == f.display

    asyncio.run(body())


# the throwaway format's reader: this module, as a reader module in engine/sources would be
def read(data: bytes, ws, *, name: str | None = None) -> Plan:
    path, _, content = data.decode()[len("TOY "):].partition("\n")
    return Plan(title="toy", source="toy", steps=[WriteStep(id="s1", path=path, content=content)])


def test_a_registered_format_is_read_by_ingest_and_named_by_the_queue(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sources, "REGISTRY", dict(sources.REGISTRY))   # the registration ends with the test
    sources.register(sources.Format("toy", __name__, "Toy edits", "toy files (a test's format)",
                                    lambda p: p.data.startswith(b"TOY ")))
    ws = _ws(tmp_path)
    src = tmp_path / "edit.toy"
    src.write_bytes(b"TOY notes.txt\nhello\n")
    assert main(["--root", str(ws.root), "ingest", str(src)]) == 0          # detected
    assert main(["--root", str(ws.root), "ingest", "--format", "toy", str(src), "--title", "again"]) == 0
    assert "toy" in " ".join(_ingest_help().split())
    [a, b] = [e.plan for e in spool.list_plans(ws)]
    assert a.source == b.source == "toy" and a.steps[0].path == "notes.txt"
    rows, _, _ = scan(ws)
    assert [r.source for r in rows] == ["Toy edits", "Toy edits"]


def _readme_section(title: str) -> str:
    text = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    start = text.index(f"\n{title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end >= 0 else len(text)]


def test_the_readme_formats_section_lists_every_registered_format():
    """README "## Formats" holds one line a format, `- `name` — description`, made from the
    registry: every registered format, in registry order, and no other."""
    section = _readme_section("## Formats")
    listed = re.findall(r"^- `([^`]+)` — (.*)$", section, re.M)
    assert listed == [(f.name, f.description) for f in sources.REGISTRY.values()]
