"""ApplyFlowScreen on a real temporary workspace: confirm, apply, bytes on disk, undo, and the
failures (a stale file, an injected I/O error in the commit phase) that leave files untouched."""
from __future__ import annotations

import asyncio
import errno
import functools
import itertools
from pathlib import Path

import pytest
from textual.app import App
from textual.widgets import Button, Static

from wopt.engine.store import fsio, spool
from wopt.engine.store.ingest import ingest
from wopt.engine.model.plan import DeleteStep, Edit, EditStep, Plan, WriteStep
from wopt.engine.model.review import APPROVED, REJECTED, Review
from wopt.engine.store.workspace import Workspace
from wopt.tui.screens.apply import ApplyFlowScreen, ProgressState
from wopt.engine.model.events import Event

ORIGINAL = {
    "src/shop/cart.py": b"def total(items):\n    return sum(i.price for i in items)\n",
    "src/shop/tax.py": b"RATE = 0.2\n",
    "docs/old.md": b"# old notes\n",
    "README.md": b"shop\n",
}


def run(coro_fn):
    @functools.wraps(coro_fn)
    def wrapper(*a, **kw):
        return asyncio.run(coro_fn(*a, **kw))
    return wrapper


def fake_clock(step: float = 0.05):
    counter = itertools.count()
    return lambda: next(counter) * step


def make_workspace(root: Path) -> tuple[Workspace, Plan, Review]:
    for rel, data in ORIGINAL.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    ws = Workspace(root)
    plan = Plan(id="20260101-shop", title="Add discounts to the cart", steps=[
        WriteStep(id="s1", path="src/shop/discount.py", content="def discount(p, pct):\n    return p * (1 - pct)\n"),
        EditStep(id="s2", path="src/shop/cart.py", depends_on=["s1"],
                 edits=[Edit(old_string="return sum(i.price for i in items)",
                             new_string="return sum(discount(i.price, i.pct) for i in items)")]),
        WriteStep(id="s3", path="src/shop/tax.py", content="RATE = 0.25\n"),
        DeleteStep(id="s4", path="docs/old.md"),
        WriteStep(id="s5", path="tests/test_discount.py", content="def test_it():\n    assert True\n"),
        WriteStep(id="s6", path="README.md", content="shop (rejected)\n"),
    ])
    ingest(ws, plan)
    review = Review(plan_id=plan.id)
    for sid in ("s1", "s2", "s3", "s4", "s5"):
        review.set(sid, APPROVED)
    review.set("s6", REJECTED, "not now")
    spool.save_review(ws, review)
    return ws, plan, review


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and ".wopt" not in p.relative_to(root).parts}


AFTER = {
    "src/shop/cart.py": b"def total(items):\n    return sum(discount(i.price, i.pct) for i in items)\n",
    "src/shop/tax.py": b"RATE = 0.25\n",
    "src/shop/discount.py": b"def discount(p, pct):\n    return p * (1 - pct)\n",
    "tests/test_discount.py": b"def test_it():\n    assert True\n",
    "README.md": b"shop\n",
}


class Host(App):
    def __init__(self, ws, plan, review, **kw):
        super().__init__()
        self.args = (ws, plan, review)
        self.kw = kw
        self.results: list = []

    def on_mount(self) -> None:
        self.theme = "textual-dark"
        self.push_screen(ApplyFlowScreen(*self.args, **self.kw), self.results.append)


async def settle(pilot, app):
    from textual.worker import WorkerFailed
    for _ in range(3):
        try:
            await app.workers.wait_for_complete()
        except WorkerFailed:
            pass            # the screen shows the failure; the test checks what it shows
        await pilot.pause()


def text_of(screen, sel: str) -> str:
    return str(screen.query_one(sel, Static).render())


@run
async def test_apply_then_undo_bytes_on_disk(tmp_path):
    ws, plan, review = make_workspace(tmp_path)
    app = Host(ws, plan, review, clock=fake_clock())
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot, app)
        screen = app.screen
        assert isinstance(screen, ApplyFlowScreen)
        summary = text_of(screen, "#confirm-summary")
        assert "5 files" in summary and "5 approved steps" in summary
        assert tree(tmp_path) == ORIGINAL                       # nothing written before confirm
        await pilot.press("enter")
        await settle(pilot, app)
        assert screen.stage == "result"
        assert tree(tmp_path) == AFTER
        assert "Applied" in text_of(screen, "#result-summary")
        assert screen.result.outcome == "committed"
        assert spool.load_review(ws, plan.id).applied == [screen.result.tx]
        # the panel followed the engine's events: every file committed, batch by batch
        st = screen.progress
        assert st.files_done == 5 and st.overall() == pytest.approx(1.0)
        assert {b.dir: (b.done, b.total) for b in st.batches.values()} == {
            "src/shop": (3, 3), "docs": (1, 1), "tests": (1, 1)}
        await pilot.press("u")
        await settle(pilot, app)
        assert tree(tmp_path) == ORIGINAL
        assert "Undone" in text_of(screen, "#result-summary")
        assert not screen.query_one("#result-undo", Button).display
        await pilot.press("enter")
        await pilot.pause()
    assert len(app.results) == 1 and app.results[0].kind == "undo"


@run
async def test_stale_file_blocks_with_reason_and_nothing_is_written(tmp_path):
    ws, plan, review = make_workspace(tmp_path)
    (tmp_path / "src/shop/tax.py").write_bytes(b"RATE = 0.3\n")   # changed after the plan
    before = tree(tmp_path)
    app = Host(ws, plan, review, clock=fake_clock())
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot, app)
        screen = app.screen
        blockers = text_of(screen, "#confirm-blockers")
        assert "stale" in blockers and "src/shop/tax.py (step s3) changed on disk" in blockers
        assert screen.query_one("#apply-go", Button).disabled
        await pilot.press("enter")                     # apply is not offered
        await settle(pilot, app)
        assert screen.stage == "confirm"
        await pilot.press("escape")
        await pilot.pause()
    assert app.results == [None]
    assert tree(tmp_path) == before


def _first_commit_op(ws, plan, review, root) -> int:
    """Learn, on a copy, the number of the first operation of the commit phase."""
    import shutil
    from wopt.engine.tx.apply import apply_plan
    copy = root.parent / (root.name + "-probe")
    shutil.copytree(root, copy)
    fsio.configure("eio:1000000")          # log operations, never fire
    try:
        apply_plan(Workspace(copy), plan, review=Review(plan_id=plan.id, decisions=dict(review.decisions)))
        ops = fsio.log()
    finally:
        fsio.configure("")
        shutil.rmtree(copy)
    return next(k for k, phase, _op, _p in ops if phase == "commit") + 1


@run
async def test_io_error_mid_commit_rolls_back_and_says_so(tmp_path):
    ws, plan, review = make_workspace(tmp_path / "ws")
    k = _first_commit_op(ws, plan, review, tmp_path / "ws")
    app = Host(ws, plan, review, clock=fake_clock())
    try:
        async with app.run_test(size=(120, 36)) as pilot:
            await settle(pilot, app)
            fsio.configure(f"eio:{k}")
            await pilot.press("enter")
            await settle(pilot, app)
            fsio.configure("")
            screen = app.screen
            assert screen.stage == "result"
            summary = text_of(screen, "#result-summary")
            detail = text_of(screen, "#result-detail")
            assert "Apply failed" in summary and "rolled back" in summary
            assert "Input/output error" in detail
            assert "Input/output error while moving files into place at src/shop/cart.py." in detail
            assert "Rollback" in detail
            assert "restored src/shop/discount.py" in detail     # the rollback, file by file
            assert screen.progress.rolling_back
            assert not screen.query_one("#result-undo", Button).display
            await pilot.press("u")                       # nothing to undo: no effect
            await pilot.press("enter")
            await pilot.pause()
    finally:
        fsio.configure("")
    assert app.results == [None]
    assert tree(tmp_path / "ws") == ORIGINAL


@run
async def test_a_failing_write_is_shown_from_the_errors_fields(tmp_path):
    """Journal mode, ENOSPC injected at the first write of the commit phase: the engine's
    ApplyError names the phase, operation, errno and file, and the screen says it from those."""
    import shutil
    from wopt.engine.tx.apply import apply_plan
    from wopt.engine.model.errors import ApplyError
    ws, plan, review = make_workspace(tmp_path / "ws")
    probe = tmp_path / "probe"
    shutil.copytree(tmp_path / "ws", probe)
    fsio.configure("eio:1000000")          # log operations, never fire
    try:
        apply_plan(Workspace(probe), plan, mode="journal",
                   review=Review(plan_id=plan.id, decisions=dict(review.decisions)))
        k, _phase, op, target = next(x for x in fsio.log() if x[1] == "commit" and x[2] == "write")
    finally:
        fsio.configure("")
    app = Host(ws, plan, review, clock=fake_clock(), mode="journal")
    try:
        async with app.run_test(size=(120, 36)) as pilot:
            await settle(pilot, app)
            fsio.configure(f"enospc:{k}")
            await pilot.press("enter")
            await settle(pilot, app)
            fsio.configure("")
            screen = app.screen
            err = screen.error
            assert isinstance(err, ApplyError)
            assert (err.phase, err.operation, err.errno, err.path, err.rolled_back) == (
                "commit", "write", errno.ENOSPC, target, True)
            detail = text_of(screen, "#result-detail")
            assert f"No space left on device while moving files into place at {target}." in detail
            assert "The transaction was rolled back" in text_of(screen, "#result-summary")
    finally:
        fsio.configure("")
    assert tree(tmp_path / "ws") == ORIGINAL


def test_the_failure_sentence_comes_from_the_fields_not_the_text():
    from wopt.engine.model.errors import ApplyError
    from wopt.tui.screens.apply import headline
    st = ProgressState(fake_clock())
    st.failed_phase, st.failed_path = "sync", "a/x.txt"
    bare = ApplyError("something went wrong", phase="sync", operation="fsync", errno=errno.EIO,
                      path="a/y.txt", rolled_back=True)
    assert headline(bare, st) == "Input/output error while syncing directories at a/y.txt."
    # a message that reads like another failure changes nothing
    worded = ApplyError("apply failed: Permission denied on b/z.txt (at phase commit)", phase="sync",
                        errno=errno.EIO, path=None)
    assert headline(worded, st) == "Input/output error while syncing directories just after a/x.txt."
    st.failed_phase = None
    assert headline(ApplyError("apply failed: Permission denied on b/z.txt"), st) == (
        "apply failed: Permission denied on b/z.txt")


def test_progress_state_coalesces_events_into_batches():
    st = ProgressState(fake_clock(0.5), "rename")
    st.plan_batches(["a/x", "a/y", "b/z"])
    for i, p in enumerate(["a/x", "a/y", "b/z"]):
        st.feed(Event("prepare", i + 1, 3, 10 * (i + 1), 30, path=p, step=f"s{i}", batch=p[0]))
    assert st.files_done == 0
    for i, p in enumerate(["a/x", "a/y"]):
        st.feed(Event("commit", i + 1, 3, 10 * (i + 1), 30, path=p, step=f"s{i}", batch=p[0]))
    assert (st.batches["a"].done, st.batches["a"].total, st.batches["b"].done) == (2, 2, 0)
    assert st.files_done == 2 and st.path == "a/y"
    assert 0.5 < st.overall() < 0.9
    snap = st.snapshot()
    st.feed(Event("commit", 3, 3, 30, 30, path="b/z", batch="b"))
    assert snap.batches["b"].done == 0 and st.batches["b"].done == 1


# --------------------------------------------------------------------------- snapshots

SIZE = (120, 36)


def _host(tmp_path, stale=False, **kw):
    ws, plan, review = make_workspace(tmp_path / "ws")
    if stale:
        (tmp_path / "ws/src/shop/tax.py").write_bytes(b"RATE = 0.3\n")
        (tmp_path / "ws/docs/old.md").unlink()
    return Host(ws, plan, review, clock=fake_clock(), **kw)


async def _wait(pilot):
    await settle(pilot, pilot.app)


def test_snapshot_apply_confirm(snap_compare, tmp_path):
    assert snap_compare(_host(tmp_path), run_before=_wait, terminal_size=SIZE)


def test_snapshot_apply_blocked(snap_compare, tmp_path):
    assert snap_compare(_host(tmp_path, stale=True), run_before=_wait, terminal_size=SIZE)


PATHS = ["src/shop/discount.py", "src/shop/cart.py", "src/shop/tax.py", "docs/old.md",
         "tests/test_discount.py"]


def _events(upto_commit: int, *, fail: bool = False) -> list[Event]:
    """The events a rename-mode transaction of the five files sends (fixed here, so the
    snapshots show this screen's drawing, not the engine's current event details)."""
    evs = [Event("lock", 0, 1), Event("lock", 1, 1), Event("check", 5, 5), Event("journal", 0, 1),
           Event("journal", 1, 1)]
    evs += [Event("prepare", i + 1, 5, 33 * (i + 1), 164, path=p, step=f"s{i + 1}", batch=p.rsplit("/", 1)[0])
            for i, p in enumerate(PATHS)]
    evs += [Event("commit", i + 1, 5, 33 * (i + 1), 164, path=p, step=f"s{i + 1}", batch=p.rsplit("/", 1)[0])
            for i, p in enumerate(PATHS[:upto_commit])]
    if fail:
        evs += [Event("rollback", 0, 5, message="rolling back: Input/output error"),
                Event("rollback", 1, 5, path=PATHS[0], message=None),
                Event("rollback", 5, 5, message="rolled back")]
    else:
        evs += [Event("sync", 3, 3), Event("finalize", 1, 1), Event("done", 5, 5, 164, 164)]
    return evs


def _drive(screen, events, *, result=None, error=None) -> None:
    from textual.widgets import ContentSwitcher
    screen._action = "apply"
    screen.stage = "running"
    screen.query_one(ContentSwitcher).current = "apply-progress"
    screen.progress = ProgressState(fake_clock(0.01), "rename")
    screen.progress.plan_batches(PATHS)
    for e in events:
        screen.progress.feed(e)
    screen.progress.finish()
    screen.result, screen.error = result, error
    screen._show_result()


def test_snapshot_apply_result(snap_compare, tmp_path):
    from wopt.engine.tx.apply import TxResult

    async def before(pilot):
        await _wait(pilot)
        _drive(pilot.app.screen, _events(5), result=TxResult(
            tx="tx-fixed", plan="20260101-shop", mode="rename", outcome="committed", files=5, bytes=164,
            ops={"create": 2, "replace": 2, "delete": 1, "chmod": 0, "move": 0}, fsyncs=8))
        await pilot.pause()
    assert snap_compare(_host(tmp_path), run_before=before, terminal_size=SIZE)


def test_snapshot_apply_progress_panel(snap_compare, tmp_path):
    """The live panel mid-commit, fed the events a transaction sends."""
    async def before(pilot):
        await _wait(pilot)
        screen = pilot.app.screen
        screen.stage = "running"
        screen.progress = ProgressState(fake_clock(0.01), "rename")
        screen.progress.plan_batches(["src/shop/discount.py", "src/shop/cart.py", "src/shop/tax.py",
                                      "docs/old.md", "tests/test_discount.py"])
        from textual.widgets import ContentSwitcher
        screen.query_one(ContentSwitcher).current = "apply-progress"
        paths = ["src/shop/discount.py", "src/shop/cart.py", "src/shop/tax.py", "docs/old.md",
                 "tests/test_discount.py"]
        screen._on_event(Event("lock", 1, 1))
        screen._on_event(Event("check", 5, 5))
        screen._on_event(Event("journal", 1, 1))
        for i, p in enumerate(paths):
            screen._on_event(Event("prepare", i + 1, 5, 100 * (i + 1), 500, path=p, step=f"s{i + 1}"))
        for i, p in enumerate(paths[:3]):
            screen._on_event(Event("commit", i + 1, 5, 100 * (i + 1), 500, path=p, step=f"s{i + 1}",
                                   batch=p.rsplit("/", 1)[0]))
        await pilot.pause()
    assert snap_compare(_host(tmp_path), run_before=before, terminal_size=SIZE)


def test_snapshot_apply_failed(snap_compare, tmp_path):
    from wopt.engine.model.errors import ApplyError

    async def before(pilot):
        await _wait(pilot)
        err = ApplyError("apply failed: Input/output error on src/shop/cart.py (at phase commit, "
                         "operation 24)", hint="the transaction was rolled back; the tree is as before",
                         phase="commit", path="src/shop/cart.py", operation="rename", errno=errno.EIO,
                         rolled_back=True)
        _drive(pilot.app.screen, _events(1, fail=True), error=err)
        await pilot.pause()
    assert snap_compare(_host(tmp_path), run_before=before, terminal_size=SIZE)


@run
async def test_invalid_content_blocks_before_anything_is_written(tmp_path):
    ws, plan, review = make_workspace(tmp_path)
    plan.steps.append(WriteStep(id="s7", path="src/shop/broken.py", content="def broken(:\n    pass\n"))
    ingest(ws, plan, replace=True)
    review.set("s7", APPROVED)
    app = Host(ws, plan, review, clock=fake_clock())
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot, app)
        screen = app.screen
        blockers = text_of(screen, "#confirm-blockers")
        assert "invalid" in blockers and "src/shop/broken.py:1 (step s7)" in blockers
        assert screen.query_one("#apply-go", Button).disabled
        await pilot.press("y")
        await settle(pilot, app)
        assert screen.stage == "confirm"
    assert tree(tmp_path) == ORIGINAL

    app = Host(ws, plan, review, clock=fake_clock(), allow_invalid=True)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot, app)
        assert "applied anyway" in text_of(app.screen, "#confirm-blockers")
        await pilot.press("y")
        await settle(pilot, app)
        assert app.screen.result.outcome == "committed"
    assert (tmp_path / "src/shop/broken.py").read_bytes() == b"def broken(:\n    pass\n"


@run
async def test_undo_key_can_be_remapped_in_the_config(tmp_path):
    """The screen's binding ids are accepted by the app's config check and applied."""
    from wopt.tui.keymap import check_user_keys
    good, problems = check_user_keys({"apply.undo": "z", "apply.nonsense": "w"})
    assert good == {"apply.undo": "z"} and len(problems) == 1
    ws, plan, review = make_workspace(tmp_path)
    app = Host(ws, plan, review, clock=fake_clock())
    async with app.run_test(size=(120, 36)) as pilot:
        app.set_keymap(good)
        await settle(pilot, app)
        await pilot.press("enter")
        await settle(pilot, app)
        assert tree(tmp_path) == AFTER
        await pilot.press("u")                  # no longer bound
        await settle(pilot, app)
        assert tree(tmp_path) == AFTER
        await pilot.press("z")
        await settle(pilot, app)
        assert tree(tmp_path) == ORIGINAL


@run
async def test_m_switches_to_journal_mode_which_keeps_inodes(tmp_path):
    ws, plan, review = make_workspace(tmp_path)
    inode = (tmp_path / "src/shop/tax.py").stat().st_ino
    app = Host(ws, plan, review, clock=fake_clock())
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot, app)
        assert "Durable mode rename" in text_of(app.screen, "#confirm-summary")
        await pilot.press("m")
        assert "Durable mode journal" in text_of(app.screen, "#confirm-summary")
        await pilot.press("enter")
        await settle(pilot, app)
        assert app.screen.result.mode == "journal"
    assert tree(tmp_path) == AFTER
    assert (tmp_path / "src/shop/tax.py").stat().st_ino == inode


@run
async def test_enter_on_the_result_closes_and_never_undoes(tmp_path):
    ws, plan, review = make_workspace(tmp_path)
    app = Host(ws, plan, review, clock=fake_clock())
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot, app)
        await pilot.press("enter")
        await settle(pilot, app)
        result = app.screen.result
        await pilot.press("enter")
        await settle(pilot, app)
    assert app.results == [result] and result.outcome == "committed"
    assert tree(tmp_path) == AFTER


@run
async def test_busy_workspace_lock_is_explained_and_nothing_is_written(tmp_path):
    from wopt.engine.store.lock import file_lock
    ws, plan, review = make_workspace(tmp_path)
    app = Host(ws, plan, review, clock=fake_clock(), lock_timeout=0.3)
    with file_lock(ws.spool / "lock", what="wopt apply other-plan (test)"):
        async with app.run_test(size=(120, 36)) as pilot:
            await settle(pilot, app)
            await pilot.press("enter")
            await settle(pilot, app)
            screen = app.screen
            assert screen.stage == "result"
            detail = text_of(screen, "#result-detail")
            assert "Another apply is using this workspace" in detail
            assert "other-plan" in detail                     # the holder is named
            assert "Nothing was written" in text_of(screen, "#result-summary")
    assert tree(tmp_path) == ORIGINAL


def test_confirmation_names_stale_and_invalid_steps_together(tmp_path):
    """A person sees every blocker at once, not one kind per attempt."""
    import asyncio

    from textual.app import App
    from textual.widgets import Static

    from wopt.engine.store import spool
    from wopt.engine.store.demo import make_demo
    from wopt.engine.model.review import APPROVED
    from wopt.engine.store.workspace import Workspace
    from wopt.tui.screens.apply import ApplyFlowScreen

    ws = Workspace(make_demo(tmp_path / "demo"))
    plan = spool.load_plan(ws, "demo-payments")
    review = spool.load_review(ws, plan.id)
    for s in plan.steps:
        review.set(s.id, APPROVED)
    before = {p: p.read_bytes() for p in ws.root.rglob("*") if p.is_file() and ".wopt" not in p.parts}

    class Host(App):
        def compose(self):
            yield Static("host")

    async def run():
        app = Host()
        async with app.run_test(size=(120, 36)) as pilot:
            screen = ApplyFlowScreen(ws, plan, review)
            app.push_screen(screen)
            for _ in range(200):
                await pilot.pause(0.05)
                if screen.preview_result is not None:
                    break
            await pilot.pause(0.1)
            text = "\n".join(str(w.render()) for w in screen.query(Static))
            assert screen.blocked
            assert "README.md (step readme-usage)" in text
            assert "config/providers.json:3 (step providers-config)" in text
            await pilot.press("enter")
            await pilot.pause(0.2)

    asyncio.run(run())
    after = {p: p.read_bytes() for p in ws.root.rglob("*") if p.is_file() and ".wopt" not in p.parts}
    assert after == before
