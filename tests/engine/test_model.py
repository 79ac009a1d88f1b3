"""The plan format v1: decoding, validation messages with JSON paths and step ids, schema."""
import base64
import json

import pytest

from wopt.engine.model.errors import PlanError
from wopt.engine.model.plan import (EditStep, MoveStep, Plan, WriteStep, decode_plan, encode_plan,
                              plan_json_schema, write_bytes)


def plan_json(*steps, **extra) -> bytes:
    return json.dumps({"title": "t", **extra, "steps": list(steps)}).encode()


def w(sid="s1", path="a.txt", **kw):
    return {"kind": "write", "id": sid, "path": path, "content": "x", **kw}


def test_every_step_kind_decodes():
    plan = decode_plan(plan_json(
        w(),
        {"kind": "edit", "id": "s2", "path": "a.txt", "edits": [{"old_string": "x", "new_string": "y"}]},
        {"kind": "patch", "id": "s3", "path": "b.txt", "diff": "@@ -1 +1 @@\n-a\n+b\n"},
        {"kind": "delete", "id": "s4", "path": "c.txt"},
        {"kind": "move", "id": "s5", "path": "d.txt", "to": "e/d.txt"},
        {"kind": "chmod", "id": "s6", "path": "f.sh", "mode": "755"},
        {"kind": "render", "id": "s7", "path": "g.py", "template": "t", "vars": {"n": 1}},
        templates={"t": "x = {{ n }}\n"}))
    kinds = [type(s).__name__ for s in plan.steps]
    assert kinds == ["WriteStep", "EditStep", "PatchStep", "DeleteStep", "MoveStep", "ChmodStep", "RenderStep"]
    assert isinstance(plan.steps[4], MoveStep) and plan.steps[4].to == "e/d.txt"


def test_round_trip_keeps_content_byte_for_byte():
    text = "crlf\r\nlone cr\rno final newline\u00e9"
    plan = decode_plan(plan_json(w(content=text)))
    again = decode_plan(encode_plan(plan))
    assert write_bytes(again.steps[0]) == text.encode()


def test_base64_content():
    raw = bytes(range(256))
    step = {"kind": "write", "id": "b", "path": "x.bin", "content_base64": base64.b64encode(raw).decode()}
    plan = decode_plan(plan_json(step))
    assert write_bytes(plan.steps[0]) == raw


@pytest.mark.parametrize("path,why", [
    ("/etc/passwd", "must be relative to the workspace"),
    ("../x", "must not leave the workspace"),
    ("a/../../x", "must not leave the workspace"),
    (".git/config", "must not be inside .git/"),
    ("./.wopt/plans/x.json", "must not be inside .wopt/"),
    ("", "must not be empty"),
])
def test_bad_paths_name_json_path_and_step(path, why):
    with pytest.raises(PlanError) as e:
        decode_plan(plan_json(w("ok"), w("bad", path)))
    assert str(e.value).startswith(f"steps[1].path (step bad): {why}")


def test_type_error_names_path_and_step():
    with pytest.raises(PlanError) as e:
        decode_plan(plan_json(w("first"), {"kind": "write", "id": "s9", "path": 5, "content": ""}))
    msg = str(e.value)
    assert "steps[1].path (step s9)" in msg and "str" in msg


def test_unknown_kind_and_missing_field():
    with pytest.raises(PlanError) as e:
        decode_plan(plan_json({"kind": "explode", "id": "s1", "path": "a"}))
    assert "steps[0]" in str(e.value)
    with pytest.raises(PlanError) as e:
        decode_plan(plan_json({"kind": "edit", "id": "s1", "path": "a"}))
    assert "edits" in str(e.value)


def test_structural_rules():
    with pytest.raises(PlanError, match="duplicate step id"):
        decode_plan(plan_json(w("s1"), w("s1", "b")))
    with pytest.raises(PlanError, match="depends on unknown step 'nope'"):
        decode_plan(plan_json(w("s1", depends_on=["nope"])))
    with pytest.raises(PlanError, match="exactly one of content or content_base64"):
        decode_plan(plan_json({"kind": "write", "id": "s1", "path": "a"}))
    with pytest.raises(PlanError, match="not valid base64"):
        decode_plan(plan_json({"kind": "write", "id": "s1", "path": "a", "content_base64": "***"}))
    with pytest.raises(PlanError, match="precondition"):
        decode_plan(plan_json(w(precondition="md5:abc")))
    with pytest.raises(PlanError, match="unsupported plan version 2"):
        decode_plan(plan_json(w(), version=2))
    with pytest.raises(PlanError, match="names template 'nope'"):
        decode_plan(plan_json({"kind": "render", "id": "r", "path": "a", "template": "nope"}))


def test_not_json_is_a_plan_error_with_the_file():
    with pytest.raises(PlanError) as e:
        decode_plan(b"{nope", file="plans/x.json")
    assert str(e.value).startswith("plans/x.json: not valid JSON")


def test_schema_describes_every_kind():
    schema = plan_json_schema()
    text = json.dumps(schema)
    for kind in ("write", "edit", "patch", "delete", "move", "chmod", "render"):
        assert f'"{kind}"' in text
    assert schema["$defs"]["Plan"]["properties"]["steps"]["type"] == "array"
