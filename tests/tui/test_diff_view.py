"""The diff view on real engine diffs: rows, marks, line numbers, spans, split layout, change
navigation, and that only visible lines are drawn."""
from __future__ import annotations

import asyncio

from textual.app import App, ComposeResult
from wopt.engine.analysis.diffs import diff_bytes
from wopt.tui.widgets.diff_view import HEAD, LINE, PAIR, DiffView, prepare


def run(coro):
    return asyncio.run(coro)


def lines(n: int, changed: dict[int, str] | None = None) -> bytes:
    changed = changed or {}
    return "".join(changed.get(i, f"value_{i} = {i}") + "\n" for i in range(1, n + 1)).encode()


class One(App):
    def __init__(self, prepared, split=False):
        super().__init__()
        self.prepared = prepared
        self.split = split

    def compose(self) -> ComposeResult:
        yield DiffView()

    def on_mount(self):
        v = self.query_one(DiffView)
        v.set_prepared(self.prepared)
        v.split = self.split
        v.focus()


def text_of(view: DiffView, y: int) -> str:
    return view.render_line(y).text


def test_prepare_rows_and_blocks():
    d = diff_bytes(lines(50), lines(50, {5: "value_5 = 500", 40: "value_40 = 4000"}), path="m.py")
    p = prepare(d)
    assert len(d.hunks) == 2
    heads = [r for r in p.unified if r[0] == HEAD]
    assert [h[2] for h in heads] == [0, 1]
    assert len(p.blocks_unified) == 2 and p.block_hunk == [0, 1]
    kinds = [r[2].kind for r in p.unified if r[0] == LINE]
    assert kinds.count("-") == 2 and kinds.count("+") == 2
    # split: a removed line pairs with its replacement on one row
    pairs = [r for r in p.split if r[0] == PAIR and r[2] is not None and r[2].kind == "-"]
    assert pairs and all(r[3] is not None and r[3].kind == "+" for r in pairs)
    assert p.num_width == 2


def test_created_deleted_and_binary_say_so():
    assert "new file a.py" in prepare(diff_bytes(None, b"x\n", path="a.py")).unified[0][1]
    assert "deleted a.py" in prepare(diff_bytes(b"x\n", None, path="a.py")).unified[0][1]
    p = prepare(diff_bytes(b"\x00\x01", b"\x00\x02", path="a.bin"))
    assert any("binary" in r[1] for r in p.unified if r[0] == HEAD)


def test_view_draws_marks_numbers_and_navigates():
    d = diff_bytes(lines(300), lines(300, {10: "value_10 = 'ten'", 200: "value_200 = 'two hundred'"}), path="m.py")

    async def body():
        app = One(prepare(d))
        async with app.run_test(size=(100, 20)) as pilot:
            v = app.query_one(DiffView)
            assert text_of(v, 0).startswith(" @@ -7,7 +7,7 @@")
            minus = next(text_of(v, y) for y in range(20) if "'ten'" not in text_of(v, y) and "value_10 = 10" in text_of(v, y))
            plus = next(text_of(v, y) for y in range(20) if "'ten'" in text_of(v, y))
            assert minus.split()[:2] == ["10", "-"]         # old number, then the - mark
            assert plus.split()[:2] == ["10", "+"]          # new number, then the + mark
            await pilot.pause()
            assert v.next_change(1) and v.change == 0
            assert v.next_change(1) and v.change == 1
            assert any("two hundred" in text_of(v, y) for y in range(20))
            assert not v.next_change(1)
            assert v.next_change(-1) and v.change == 0
            v.split = True
            await pilot.pause()
            row = next(text_of(v, y) for y in range(20) if "'ten'" in text_of(v, y))
            left, right = row.split("│")
            assert "value_10 = 10" in left and "- " in left and "+ " in right and "'ten'" in right

    run(body())


def test_only_visible_lines_are_highlighted():
    n = 20_000
    d = diff_bytes(lines(n), lines(n, {i: f"value_{i} = -{i}" for i in range(1, n + 1, 5)}), path="big.py")
    p = prepare(d)

    async def body():
        app = One(p)
        async with app.run_test(size=(100, 30)) as pilot:
            v = app.query_one(DiffView)
            await pilot.pause()
            assert v.virtual_size.height == len(p.unified) > 20_000
            # the syntax cache holds what was drawn: a screenful, not the file
            assert 0 < len(v._syntax_cache) <= 3 * 30
            for _ in range(5):
                v.page(1, 1.0)
                await pilot.pause()
            assert len(v._syntax_cache) <= 8 * 30

    run(body())


def test_invisible_byte_changes_are_drawn_distinctly():
    """CRLF -> LF, trailing whitespace, tab -> spaces, a removed final newline, a BOM: the view
    never draws a removed line and its replacement alike, in either layout."""
    before = b"\xef\xbb\xbfone\r\nx = 1  \n\treturn 1\nlast\n"
    after = b"one\nx = 1\n    return 1\nlast"
    d = diff_bytes(before, after, path="m.py")

    async def body():
        app = One(prepare(d))
        async with app.run_test(size=(100, 20)) as pilot:
            v = app.query_one(DiffView)
            await pilot.pause()
            drawn = [text_of(v, y).rstrip() for y in range(len(v.rows))]
            assert any("line endings mixed (1 CRLF, 3 LF) -> LF" in t for t in drawn)
            assert any("byte order mark removed" in t for t in drawn)
            assert any("newline at end of file removed" in t for t in drawn)
            rem = [t.split(" - ", 1)[1] for t in drawn if " - " in t]
            add = [t.split(" + ", 1)[1] for t in drawn if " + " in t]
            assert rem == ["⟨BOM⟩one␍", "x = 1··", "→   return·1", "last"]
            assert add == ["one", "x = 1", "····return·1", "last [no newline at end of file]"]
            v.split = True
            await pilot.pause()
            for y in range(len(v.rows)):
                row = text_of(v, y)
                if "│" in row and " - " in row:
                    left, right = row.split("│")
                    assert left.split(" - ", 1)[1].rstrip() != right.split(" + ", 1)[1].rstrip()

    run(body())
