"""The bundled demo workspace holds what the review app's first screen promises."""
from wopt.engine.store import spool
from wopt.engine.store.demo import make_demo
from wopt.engine.store.effects import compute
from wopt.engine.store.workspace import Workspace


def test_demo_has_its_plans_a_stale_step_and_applies_cleanly_otherwise(tmp_path):
    root = make_demo(tmp_path / "demo")
    ws = Workspace(root)
    plans = {e.id: e.plan for e in spool.list_plans(ws)}
    assert set(plans) == {"demo-payments", "demo-session"}
    pay = plans["demo-payments"]
    out = compute(ws, pay)
    assert [s[0] for s in out.stale] == ["readme-usage"]
    assert not out.errors
    dirs = {c.path.rsplit("/", 1)[0] if "/" in c.path else "." for c in out.changes}
    assert {"src/shop/payments", "tests", "docs", "config", "."} <= dirs
    sess = plans["demo-session"]
    assert sess.session_id and sess.source == "claude-hook"
    assert compute(ws, sess).ok
