"""Times textual-diff-view's `DiffView` mounting one pair of files (run by
bench_diffview_vs_textual_diff_view.py with `.venv-compare/bin/python`, never imported by wopt).

textual-diff-view is AGPL: it lives only in the benchmark's own venv (`.venv-compare`, made by
`./dev bench`) and is never a dependency of wopt.

    python textual_diff_view_mount.py OLD NEW --path NAME --runs N --width W --height H [--unified]

Each run starts a fresh app whose screen holds a VerticalScroll with the DiffView in it (the
widget's documented use) and measures, in this process, the seconds from `App.run()` until the
first frame in which the DiffView's code is on screen has been drawn (the app's `_display`, which
gets every frame, is where that is noticed; the bench times wopt's view the same way). The widget
recomposes a few times as styles settle; only the first frame with the diff counts, which is
the earliest moment a person sees it. One warm-up run on the first 200 lines of the pair goes
first (imports, lexer, CSS) without costing a whole run. Prints one JSON object on stdout:
{"runs": [seconds...], "groups": n, "shown": [the screen's lines], "textual": version,
 "textual_diff_view": version}.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from importlib.metadata import version


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--path", required=True, help="file name shown and used to pick the lexer")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--width", type=int, default=120)
    ap.add_argument("--height", type=int, default=36)
    ap.add_argument("--unified", action="store_true", help="unified layout (default: split, the widget's default)")
    args = ap.parse_args(argv)

    from textual import containers
    from textual.app import App, ComposeResult
    from textual_diff_view import DiffView
    from textual_diff_view._diff_view import DiffCode

    with open(args.old, encoding="utf-8") as f:
        old = f.read()
    with open(args.new, encoding="utf-8") as f:
        new = f.read()
    split = not args.unified

    class CompareApp(App):
        def __init__(self, a: str, b: str) -> None:
            super().__init__()
            self.a, self.b = a, b
            self.t0 = 0.0
            self.first_diff_frame: float | None = None

        def compose(self) -> ComposeResult:
            with containers.VerticalScroll():
                yield DiffView(args.path, args.path, self.a, self.b, split=split)

        def _display(self, screen, renderable) -> None:
            super()._display(screen, renderable)
            if renderable is not None and self.first_diff_frame is None and any(
                    isinstance(w, DiffCode) for w in screen._compositor.visible_widgets):
                self.first_diff_frame = time.perf_counter() - self.t0

    def one_run(a: str, b: str) -> dict:
        box: dict = {}

        async def auto(pilot):
            app = pilot.app
            while app.first_diff_frame is None:
                await asyncio.sleep(0.001)
            box["t"] = app.first_diff_frame
            box["groups"] = len(app.query_one(DiffView).grouped_opcodes)
            box["shown"] = [s.text for s in app.screen._compositor.render_strips()]
            app.exit()

        app = CompareApp(a, b)
        app.t0 = time.perf_counter()
        app.run(headless=True, size=(args.width, args.height), auto_pilot=auto)
        return box

    def head(text: str) -> str:
        return "".join(text.splitlines(keepends=True)[:200])

    one_run(head(old), head(new))                # warm-up
    runs, info = [], {}
    for _ in range(args.runs):
        info = one_run(old, new)
        runs.append(info["t"])
    json.dump({"runs": runs, "groups": info.get("groups"),
               "shown": info.get("shown"), "textual": version("textual"),
               "textual_diff_view": version("textual-diff-view")}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
