"""analyze(): the review model of a plan against a real workspace: batches, flags, stale and
failing steps, lazily computed diffs, a review's edits, the optimization rate, and that the
analysis writes nothing."""
import json
import os

from wopt.engine.analysis import analyze, model_to_dict
from wopt.engine.analysis.stats import stats
from wopt.engine.model.plan import decode_plan, sha256
from wopt.engine.model.review import Review
from wopt.engine.store.workspace import Workspace


def tree(root):
    out = {}
    for dp, dns, fns in os.walk(root):
        for f in fns:
            p = os.path.join(dp, f)
            out[os.path.relpath(p, root)] = (open(p, "rb").read(), os.stat(p).st_mode)
    return out


def setup_ws(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text("def main():\n    return 1\n" + "# pad\n" * 50)
    (tmp_path / "src" / "old.py").write_text("OLD = True\n")
    (tmp_path / "src" / "stale.py").write_text("changed on disk\n")
    (tmp_path / "run.sh").write_text("echo hi\n")
    (tmp_path / "big.bin").write_bytes(b"\x00" * 10)
    return Workspace(tmp_path)


def plan_json(**over):
    steps = [
        {"kind": "edit", "id": "edit-app", "path": "src/app.py",
         "edits": [{"old_string": "return 1", "new_string": "return 2"}]},
        {"kind": "write", "id": "new-util", "path": "src/util.py", "content": "X = 1\n"},
        {"kind": "delete", "id": "del-old", "path": "src/old.py"},
        {"kind": "write", "id": "stale", "path": "src/stale.py", "content": "new\n",
         "precondition": sha256(b"what the agent saw\n")},
        {"kind": "edit", "id": "broken", "path": "src/util.py",
         "edits": [{"old_string": "not there", "new_string": "y"}]},
        {"kind": "chmod", "id": "exec", "path": "run.sh", "mode": "755"},
        {"kind": "write", "id": "blob", "path": "assets/logo.png", "content_base64": "AAECAwQ="},
        {"kind": "move", "id": "mv", "path": "big.bin", "to": "src/big.bin"},
        {"kind": "write", "id": "bad-json", "path": "src/conf.json", "content": "{\"a\": }\n"},
    ]
    return decode_plan(json.dumps({"version": 1, "id": "p1", "steps": steps, **over}))


def test_model_of_a_mixed_plan(tmp_path):
    ws = setup_ws(tmp_path)
    snap = tree(tmp_path)
    plan = plan_json()
    m = analyze(ws, plan)
    assert tree(tmp_path) == snap                         # pure: nothing written, not even .wopt/
    assert sorted(m.order) == sorted(s.id for s in plan.steps)
    s = m.steps
    assert s["stale"].status == "stale" and "src/stale.py changed since the plan was made" in s["stale"].stale
    assert s["broken"].status == "invalid" and "not in the file" in s["broken"].error
    assert s["bad-json"].status == "invalid" and s["bad-json"].findings[0].line == 1
    assert s["edit-app"].status == "ok" and s["edit-app"].small_edit
    assert m.stale == [("stale", "src/stale.py", sha256(b"what the agent saw\n"), sha256(b"changed on disk\n"))]

    flags = {(f.step, f.code) for f in m.flags}
    assert ("del-old", "delete-nonempty") in flags
    assert ("exec", "exec-bit") in flags
    assert ("blob", "binary") in flags
    assert ("blob", "outside") in flags              # assets/ while the rest is src/ and the top
    assert not any(code == "outside" for st, code in flags if st != "blob")

    src = next(b for b in m.batches if b.dir == "src")
    assert (src.creates, src.rewrites, src.edits, src.deletes, src.moves) == (2, 1, 2, 1, 0)
    top = next(b for b in m.batches if b.dir == ".")
    assert (top.chmods, top.moves) == (1, 1)
    for b in m.batches:                                  # each batch in commit order
        assert [m.order.index(x) for x in b.steps] == sorted(m.order.index(x) for x in b.steps)
    firsts = [m.order.index(b.steps[0]) for b in m.batches]
    assert firsts == sorted(firsts)


def test_diffs_are_lazy_per_step_and_cached(tmp_path):
    ws = setup_ws(tmp_path)
    m = analyze(ws, plan_json())
    assert m._diff_cache == {}
    d = m.diff("edit-app")
    assert list(m._diff_cache) == ["edit-app"]
    assert m.diff("edit-app") is d
    assert [(ln.kind, ln.text) for ln in d.hunks[0].lines if ln.kind != " "] == [("-", "    return 1"), ("+", "    return 2")]
    mv = m.diff("mv")
    assert (mv.path, mv.old_path, mv.binary) == ("src/big.bin", "big.bin", True)
    ch = m.diff("exec")
    assert (ch.old_mode & 0o777, ch.new_mode & 0o777, ch.hunks) == (0o644, 0o755, [])
    stale = m.diff("stale")                               # what it would write over the disk
    assert [ln.text for ln in stale.hunks[0].lines] == ["changed on disk", "new"]
    assert m.diff("del-old").deleted


def test_review_edits_and_accepted_hunks_shape_the_model(tmp_path):
    ws = setup_ws(tmp_path)
    plan = plan_json()
    review = Review(plan_id="p1", edited={"new-util": "X = 42\n"}, order=["new-util", "edit-app"])
    m = analyze(ws, plan, review=review)
    assert m.diff("new-util").hunks[0].lines[0].text == "X = 42"
    review = Review(plan_id="p1", hunks={"edit-app": []})
    m = analyze(ws, plan, review)
    # the diff is the whole proposal (hunk indices refer to it; the review app draws the hunks
    # turned off over it); what the step writes is the selection: nothing here
    assert [h.index for h in m.diff("edit-app").hunks] == [0]
    from wopt.engine.store.effects import compute
    out = compute(ws, plan, edited=None, hunks=review.picks())
    assert out.results["edit-app"].after == out.results["edit-app"].before


def test_optimization_rate_counts_batches_families_and_small_edits(tmp_path):
    (tmp_path / "big.py").write_text("a = 1\n" * 100)
    steps = [{"kind": "write", "id": f"m{i}", "path": f"models/m{i}.py",
              "content": f"class M{i}:\n    table = 't{i}'\n    size = {i}\n    kind = 'model'\n"} for i in range(3)]
    steps += [{"kind": "edit", "id": "e", "path": "big.py", "edits": [{"old_string": "a = 1\n" * 100, "new_string": "b = 2\n"}]},
              {"kind": "write", "id": "solo", "path": "x/solo.txt", "content": "alone\n"}]
    plan = decode_plan(json.dumps({"version": 1, "id": "r", "steps": steps}))
    m = analyze(Workspace(tmp_path), plan)
    assert len(m.families) == 1 and len(m.families[0].members) == 3
    assert not m.steps["e"].small_edit            # rewrote the whole file through an edit
    assert m.optimization_rate == 3 / 5
    d = model_to_dict(m, diffs=True)
    assert d["optimization_rate"] == 0.6 and json.dumps(d)
    assert d["steps"][0]["diff"].startswith("--- ")


def test_stats_summarise_history_records():
    recs = [
        {"tx": "t1", "plan": "p1", "kind": "apply", "outcome": "committed", "files": 4, "bytes": 100,
         "durations": {"prepare": 0.1, "commit": 0.1}, "fsyncs": 5, "optimization_rate": 0.5},
        {"tx": "t2", "plan": "p2", "kind": "apply", "outcome": "rolled_back", "files": 2, "bytes": 10,
         "durations": {"prepare": 0.05}},
        {"tx": "t3", "plan": "p3", "kind": "apply", "outcome": "committed", "files": 10, "bytes": 1000,
         "durations": {"prepare": 0.3, "commit": 0.2}, "fsyncs": 7, "optimization_rate": 1.0},
        {"tx": "t4", "plan": "p1", "kind": "undo", "outcome": "committed", "files": 4, "bytes": 0,
         "durations": {"undo": 0.01}},
        {"tx": "t5", "plan": "p4", "kind": "apply", "outcome": "refused", "files": 0, "durations": {}},
        "garbage",
    ]
    s = stats(recs)
    assert (s["transactions"], s["applies"], s["undos"], s["rollbacks"], s["refused"]) == (5, 2, 1, 1, 1)
    assert (s["files"], s["bytes"], s["plans"]) == (14, 1100, 2)
    assert s["median_apply_seconds"] == 0.35
    assert s["optimization_rate"] == 0.75
    assert s["series"]["rollbacks"] == [0, 1, 0, 0, 0]
    assert s["series"]["files_per_second"][0] == 20.0 and s["series"]["files_per_second"][1] == 0.0
    assert s["series"]["apply_seconds"][2] == 0.5
    assert stats([])["median_apply_seconds"] is None


def test_large_file_flag_and_a_reorder_warning(tmp_path, monkeypatch):
    from wopt.engine.analysis import flags as F
    monkeypatch.setattr(F, "LARGE", 1000)
    plan = decode_plan(json.dumps({"version": 1, "id": "big", "steps": [
        {"kind": "write", "id": "big", "path": "data/big.csv", "content": "x,y\n" * 300},
        {"kind": "write", "id": "mod", "path": "data/mod.py", "content": "import data.helper\n"},
        {"kind": "write", "id": "helper", "path": "data/helper.py", "content": "H = 1\n"}]}))
    m = analyze(Workspace(tmp_path), plan, review=Review(plan_id="big", order=["mod", "helper", "big"]))
    [large] = [f for f in m.flags if f.code == "large"]
    assert large.step == "big" and "1,200 bytes" in large.message and "300 lines" in large.message
    assert m.order.index("helper") < m.order.index("mod")
    assert m.warnings == ["data/mod.py (mod) would commit before data/helper.py (helper), which it needs "
                          "(imports data/helper.py)"]


def test_saving_the_families_a_review_approved(tmp_path):
    from wopt.engine.store.templates_store import save_approved_families
    from wopt.engine.model.review import APPROVED
    steps = [{"kind": "write", "id": f"m{i}", "path": f"models/m{i}.py",
              "content": f"class M{i}:\n    table = 't{i}'\n    size = {i}\n    kind = 'model'\n"} for i in range(3)]
    plan = decode_plan(json.dumps({"version": 1, "id": "r", "steps": steps}))
    ws = Workspace(tmp_path)
    m = analyze(ws, plan)
    review = Review(plan_id="r")
    review.set("m0", APPROVED)
    review.set("m1", APPROVED)
    assert save_approved_families(ws, m, review) == []          # not every member approved
    review.set("m2", APPROVED)
    assert save_approved_families(ws, m, review) == ["models-py"]
    assert analyze(ws, plan).families[0].saved_as == "models-py"
