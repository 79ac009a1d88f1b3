"""The review shows a finding on a file that was already invalid before the plan as a
warning, and the step stays appliable (status ok)."""
from __future__ import annotations

from wopt.engine.analysis import analyze
from wopt.engine.model.plan import EditStep, Plan
from wopt.engine.model.plan import Edit
from wopt.engine.store.workspace import Workspace
from wopt.tui.widgets.details import describe_step


def test_review_details_show_an_already_invalid_file_as_a_warning(tmp_path):
    (tmp_path / "mod.py").write_bytes(b"X = 1\ndef f(:\n")
    plan = Plan(id="p", steps=[EditStep(id="e", path="mod.py", edits=[Edit("X = 1", "X = 2")])])
    model = analyze(Workspace(tmp_path), plan)
    info = model.steps["e"]
    assert info.status == "ok"
    text = describe_step(model, info, "pending").plain
    assert "· warning python:2:7: invalid syntax (already invalid before this change" in text
