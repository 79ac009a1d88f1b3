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


def test_a_headless_apply_counts_its_rate_from_its_own_run_as_the_model_does(tmp_path, monkeypatch):
    """Without a review, `wopt apply` does not analyse the plan before applying it: the rate
    in its history record is counted from the apply's own effects, and equals the review
    model's (batches, declared families, small edits)."""
    from wopt.engine import analysis
    from wopt.engine.cli.main import main
    from wopt.engine.model.plan import decode_plan
    root = tmp_path / "ws"
    root.mkdir()
    (root / "a").mkdir()
    (root / "b").mkdir()
    (root / "a" / "big.py").write_text("a = 1\n" * 100)
    (root / "b" / "small.py").write_text("".join(f"b{i} = 1\n" for i in range(100)))
    steps = [{"kind": "write", "id": f"m{i}", "path": f"models/m{i}.py", "content": f"M = {i}\n"}
             for i in range(3)]
    steps += [{"kind": "edit", "id": "whole", "path": "a/big.py",
               "edits": [{"old_string": "a = 1\n" * 100, "new_string": "b = 2\n"}]},
              {"kind": "edit", "id": "small", "path": "b/small.py",
               "edits": [{"old_string": "b7 = 1\n", "new_string": "b7 = 2\n"}]},
              {"kind": "write", "id": "solo", "path": "x/solo.txt", "content": "alone\n"}]
    ws = Workspace(root)
    plan = decode_plan(json.dumps({"version": 1, "id": "rate", "steps": steps}))
    spool.save_plan(ws, plan)
    expected = round(analyze(ws, plan, families=False).optimization_rate, 4)
    assert expected == round(4 / 6, 4)          # the three models' batch and the small edit
    calls = []
    real = analysis.analyze
    monkeypatch.setattr(analysis, "analyze", lambda *a, **k: calls.append(a) or real(*a, **k))
    monkeypatch.chdir(root)
    assert main(["apply", "rate", "--yes", "--all"]) == 0
    assert calls == []
    rec = json.loads((root / ".wopt/history.jsonl").read_text().splitlines()[-1])
    assert rec["outcome"] == "committed" and rec["optimization_rate"] == expected


def test_a_bug_counting_the_rate_stops_the_apply_before_anything_is_written(tmp_path, monkeypatch):
    from wopt.engine import analysis
    from wopt.engine.model.errors import InternalError
    from wopt.engine.tx.apply import apply_plan
    root = make_demo(tmp_path / "demo")
    ws = Workspace(root)
    plan = spool.load_plan(ws, "demo-session")
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file() and ".wopt" not in p.parts}

    def broken(*a, **k):
        raise ZeroDivisionError("planted")
    monkeypatch.setattr(analysis, "outcome_rate", broken)
    import pytest
    with pytest.raises(InternalError) as e:
        apply_plan(ws, plan, [s.id for s in plan.steps], mode="journal")
    assert "optimization rate" in str(e.value) and "nothing was written" in str(e.value)
    after = {p: p.read_bytes() for p in root.rglob("*") if p.is_file() and ".wopt" not in p.parts}
    assert after == before
