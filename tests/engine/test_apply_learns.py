"""An apply records the plan's optimization rate and learns the families a person approved."""
import json
import os
import subprocess
import sys

from wopt.engine.store import spool
from wopt.engine.analysis import analyze
from wopt.engine.store.demo import make_demo
from wopt.engine.model.plan import Plan, WriteStep
from wopt.engine.store.workspace import Workspace

WOPT = [sys.executable, "-m", "wopt.engine.cli.main"]
PROVIDERS = ["provider-stripe", "provider-paypal", "provider-adyen", "provider-mollie"]


def wopt(root, *args):
    return subprocess.run([*WOPT, "--root", str(root), *args], capture_output=True, text=True,
                          env={**os.environ, "COLUMNS": "200"}, stdin=subprocess.DEVNULL)


def test_apply_records_rate_and_saves_the_approved_family(tmp_path):
    root = make_demo(tmp_path / "demo")
    steps = ["payments-base", *PROVIDERS]
    r = wopt(root, "approve", "demo-payments", *steps)
    assert r.returncode == 0, r.stderr
    r = wopt(root, "apply", "demo-payments", "--yes")
    assert r.returncode == 0, r.stderr
    assert (root / "src/shop/payments/stripe.py").read_text().startswith('"""Stripe payment provider."""')

    [rec] = [json.loads(line) for line in (root / ".wopt/history.jsonl").read_text().splitlines()]
    assert rec["outcome"] == "committed" and sorted(rec["steps"]) == sorted(steps)
    assert 0 < rec["optimization_rate"] <= 1

    saved = list((root / ".wopt/templates").glob("*"))
    assert saved, "the approved provider family was not saved"

    # a later plan with the same shape is recognised as that saved template
    ws = Workspace(root)
    later = Plan(id="later", steps=[
        WriteStep(id=f"p{i}", path=f"src/shop/gateways/{k}.py", precondition="absent",
                  content=f'"""{t} payment provider."""\nfrom .base import Provider\n\n\n'
                          f'class {t}Provider(Provider):\n    name = "{k}"\n    fee_percent = {f}\n'
                          f'    endpoint = "https://{k}.example/pay"\n')
        for i, (k, t, f) in enumerate([("a", "Alpha", "1.0"), ("b", "Beta", "2.0"), ("c", "Gamma", "3.0")])])
    spool.save_plan(ws, later)
    model = analyze(ws, later)
    assert [f.saved_as for f in model.families] != [None] * len(model.families)
    assert any(f.saved_uses >= 1 for f in model.families)


def test_apply_without_decisions_records_no_family(tmp_path):
    root = make_demo(tmp_path / "demo")
    r = wopt(root, "apply", "demo-session", "--yes", "--all")
    assert r.returncode == 0, r.stderr
    assert not list((root / ".wopt/templates").glob("*"))
    rec = json.loads((root / ".wopt/history.jsonl").read_text().splitlines()[-1])
    assert "optimization_rate" in rec
