"""Files as the previous release of wopt wrote them still load and act the same: journal
manifests (committed, and pending after a killed apply, in both modes), history records and
the config. The bytes below were written by that release's own code (an apply, its undo, and
applies killed mid-commit with WOPT_FAULT=kill:K), copied here verbatim."""
from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from wopt.engine.tx import transaction as txn
from wopt.engine.tx.apply import undo
from wopt.engine.store.config import load_config
from wopt.engine.store.history import read_history
from wopt.engine.store.history_record import HistoryRecord
from wopt.engine.tx.recovery import needs_recovery, recover
from wopt.engine.store.workspace import Workspace

JOURNAL_TX = '20261201-174545-43334723'

JOURNAL_COMMITTED = (
    b'WOPTJ1 1183 64845e083859459e3b852694e1f28ae1c7cc661be4e2e507da028000654e5658\n{"tx":"202612'
    b'01-174545-43334723","kind":"apply","mode":"journal","plan":"p-1","undoes":null,"started":"'
    b'2026-12-01T17:45:45Z","steps":["c1","w1","w2","d1"],"dirs":["new","new/dir"],"entries":[{"'
    b'path":"run.sh","op":"chmod","before":"sha256:a8076d3d28d21e02012b20eaf7dbf75409a6277134439'
    b'025f282e368e3305abf","after":"sha256:a8076d3d28d21e02012b20eaf7dbf75409a6277134439025f282e'
    b'368e3305abf","before_mode":420,"after_mode":493,"steps":["c1"]},{"path":"keep.txt","op":"r'
    b'eplace","before":"sha256:8a5bac94209d183ffd256c6620c36dc007b997850f76edeec8e22f2af4a4ecaf"'
    b',"after":"sha256:4de3f1267a4b28d407e8e91c112f0e52c562328eec00306aff25b0f37329b34b","before'
    b'_mode":420,"after_mode":420,"steps":["w1"],"off":0,"len":9,"alen":9,"apages":["4de3f1267a4'
    b'b28d4"]},{"path":"new/dir/caf\\u00e9.txt","op":"create","before":"absent","after":"sha256:4'
    b'99beb0d4220bfd94ea8547bcf09324aecf1c7d3d1d64c20e84005e182657379","before_mode":null,"after'
    b'_mode":420,"steps":["w2"],"alen":10,"apages":["499beb0d4220bfd9"]},{"path":"gone.txt","op"'
    b':"delete","before":"sha256:361e43b2807ccd19fee0e8a048e8a5eba22d718a12819a2e98e5e7901c72f43'
    b'3","after":"absent","before_mode":420,"after_mode":null,"steps":["d1"],"off":9,"len":14}]}'
    b'old keep\nto be deleted\n'
)

RENAME_TX = '20261201-174545-5857110f'

RENAME_COMMITTED = (
    b'WOPTJ1 1186 1dfaff1212e155cdfa31f917ef6d713c8ee044d0fe1ceed81f0a8f6aab42b6b1\n{"tx":"202612'
    b'01-174545-5857110f","kind":"apply","mode":"rename","plan":"p-1","undoes":null,"started":"2'
    b'026-12-01T17:45:45Z","steps":["c1","w1","w2","d1"],"dirs":["new","new/dir"],"entries":[{"p'
    b'ath":"run.sh","op":"chmod","before":"sha256:a8076d3d28d21e02012b20eaf7dbf75409a62771344390'
    b'25f282e368e3305abf","after":"sha256:a8076d3d28d21e02012b20eaf7dbf75409a6277134439025f282e3'
    b'68e3305abf","before_mode":420,"after_mode":493,"steps":["c1"]},{"path":"keep.txt","op":"re'
    b'place","before":"sha256:8a5bac94209d183ffd256c6620c36dc007b997850f76edeec8e22f2af4a4ecaf",'
    b'"after":"sha256:4de3f1267a4b28d407e8e91c112f0e52c562328eec00306aff25b0f37329b34b","before_'
    b'mode":420,"after_mode":420,"steps":["w1"],"tmp":".wopt-20261201-174545-5857110f.1","backup'
    b'":"1"},{"path":"new/dir/caf\\u00e9.txt","op":"create","before":"absent","after":"sha256:499'
    b'beb0d4220bfd94ea8547bcf09324aecf1c7d3d1d64c20e84005e182657379","before_mode":null,"after_m'
    b'ode":420,"steps":["w2"],"tmp":"new/dir/.wopt-20261201-174545-5857110f.2"},{"path":"gone.tx'
    b't","op":"delete","before":"sha256:361e43b2807ccd19fee0e8a048e8a5eba22d718a12819a2e98e5e790'
    b'1c72f433","after":"absent","before_mode":420,"after_mode":null,"steps":["d1"],"backup":"3"'
    b'}]}'
)

RENAME_BACKUPS = {'1': b'old keep\n', '3': b'to be deleted\n'}

HISTORY_LINES = [
    (
        b'{"tx":"20261201-174545-43334723","plan":"p-1","kind":"apply","mode":"journal","outcome":"c'
        b'ommitted","started":"2026-12-01T17:45:45Z","files":4,"ops":{"create":1,"replace":1,"delete'
        b'":1,"chmod":1,"move":0},"bytes":19,"durations":{"lock":0.00025,"check":0.061435,"journal":'
        b'0.00181,"commit":0.000238,"sync":0.03967,"finalize":0.000485},"fsyncs":4,"steps":["c1","w1'
        b'","w2","d1"],"paths":["run.sh","keep.txt","new/dir/caf\xc3\xa9.txt","gone.txt"]}\n'
    ),
    (
        b'{"tx":"20261201-174545-6304563d","plan":"p-1","kind":"undo","mode":"journal","outcome":"co'
        b'mmitted","started":"2026-12-01T17:45:45Z","files":4,"ops":{"create":1,"replace":1,"delete"'
        b':1,"chmod":1,"move":0},"bytes":23,"durations":{"lock":0.000113,"check":0.000533,"journal":'
        b'0.014795,"commit":0.007901,"sync":0.007691,"finalize":0.007987},"fsyncs":4,"steps":["c1","'
        b'w1","w2","d1"],"paths":["gone.txt","new/dir/caf\xc3\xa9.txt","keep.txt","run.sh"],"undoes":"2026'
        b'1201-174545-43334723"}\n'
    ),
]

KILLED_JOURNAL = {
    '.wopt/journal/20261201-174557-541166df.pending': (
        b'WOPTJ1 938 d5a0651cdd32bd18399a83272732ad18bdac6d545015e2ef7386f5fcda6afe05\n{"tx":"2026120'
        b'1-174557-541166df","kind":"apply","mode":"journal","plan":"p-1","undoes":null,"started":"2'
        b'026-12-01T17:45:57Z","steps":["w1","w2","d1"],"dirs":["sub"],"entries":[{"path":"keep.txt"'
        b',"op":"replace","before":"sha256:8a5bac94209d183ffd256c6620c36dc007b997850f76edeec8e22f2af'
        b'4a4ecaf","after":"sha256:3a2ecebeba74e5ddb3fd7925f84e55df2a763e25310eca31ab05d51750dd710c"'
        b',"before_mode":420,"after_mode":420,"steps":["w1"],"off":0,"len":9,"alen":29,"apages":["3a'
        b'2ecebeba74e5dd"],"acut":"f93b35fd367063f9"},{"path":"sub/new.txt","op":"create","before":"'
        b'absent","after":"sha256:59134a4054b27a3fc30e1ac81d9b9168dc0561f65982151324a021fe8ce88d06",'
        b'"before_mode":null,"after_mode":420,"steps":["w2"],"alen":8,"apages":["59134a4054b27a3f"]}'
        b',{"path":"gone.txt","op":"delete","before":"sha256:361e43b2807ccd19fee0e8a048e8a5eba22d718'
        b'a12819a2e98e5e7901c72f433","after":"absent","before_mode":420,"after_mode":null,"steps":["'
        b'd1"],"off":9,"len":14}]}old keep\nto be deleted\n'
    ),
    'gone.txt': (
        b'to be deleted\n'
    ),
    'keep.txt': (
        b'new keep, longer than before\n'
    ),
}

KILLED_RENAME = {
    '.wopt/journal/20261201-174558-22520669/0': (
        b'old keep\n'
    ),
    '.wopt/journal/20261201-174558-22520669/2': (
        b'to be deleted\n'
    ),
    '.wopt/journal/20261201-174558-22520669.pending': (
        b'WOPTJ1 911 3732f4eda8d9aaa4aa71cedda651b079755bae31680980925ae9d890fcb017cd\n{"tx":"2026120'
        b'1-174558-22520669","kind":"apply","mode":"rename","plan":"p-1","undoes":null,"started":"20'
        b'26-12-01T17:45:58Z","steps":["w1","w2","d1"],"dirs":["sub"],"entries":[{"path":"keep.txt",'
        b'"op":"replace","before":"sha256:8a5bac94209d183ffd256c6620c36dc007b997850f76edeec8e22f2af4'
        b'a4ecaf","after":"sha256:3a2ecebeba74e5ddb3fd7925f84e55df2a763e25310eca31ab05d51750dd710c",'
        b'"before_mode":420,"after_mode":420,"steps":["w1"],"tmp":".wopt-20261201-174558-22520669.0"'
        b',"backup":"0"},{"path":"sub/new.txt","op":"create","before":"absent","after":"sha256:59134'
        b'a4054b27a3fc30e1ac81d9b9168dc0561f65982151324a021fe8ce88d06","before_mode":null,"after_mod'
        b'e":420,"steps":["w2"],"tmp":"sub/.wopt-20261201-174558-22520669.1"},{"path":"gone.txt","op'
        b'":"delete","before":"sha256:361e43b2807ccd19fee0e8a048e8a5eba22d718a12819a2e98e5e7901c72f4'
        b'33","after":"absent","before_mode":420,"after_mode":null,"steps":["d1"],"backup":"2"}]}'
    ),
    'gone.txt': (
        b'to be deleted\n'
    ),
    'keep.txt': (
        b'new keep, longer than before\n'
    ),
    'sub/.wopt-20261201-174558-22520669.1': (
        b'created\n'
    ),
}

RECOVERY_LINE = (
    b'{"tx":"20261201-174557-541166df","plan":"p-1","kind":"apply","mode":"journal","outcome":"r'
    b'olled_back","started":"2026-12-01T17:45:57Z","files":3,"ops":{},"bytes":0,"durations":{},"'
    b'fsyncs":0,"error":"interrupted; rolled back by recovery","steps":["w1","w2","d1"],"paths":'
    b'["keep.txt","sub/new.txt","gone.txt"]}\n'
)

BEFORE = {"keep.txt": (b"old keep\n", 0o644), "gone.txt": (b"to be deleted\n", 0o644),
          "run.sh": (b"#!/bin/sh\n", 0o644)}
AFTER = {"keep.txt": (b"new keep\n", 0o644), "new/dir/caf\u00e9.txt": ("caf\u00e9 \u2615\n".encode(), 0o644),
         "run.sh": (b"#!/bin/sh\n", 0o755)}


def _write(root: Path, files: dict) -> None:
    for rel, (data, mode) in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
        os.chmod(p, mode)


def _tree(root: Path) -> dict:
    out = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        if rel == ".wopt" or rel.startswith(".wopt/"):
            continue
        out[rel] = (p.read_bytes(), stat.S_IMODE(p.stat().st_mode)) if p.is_file() else "dir"
    return out


def _committed(root: Path, tx: str, data: bytes, backups: dict[str, bytes] | None = None) -> None:
    jd = root / ".wopt" / "journal"
    jd.mkdir(parents=True)
    (jd / f"{tx}{txn.COMMITTED}").write_bytes(data)
    for name, content in (backups or {}).items():
        (jd / tx).mkdir(exist_ok=True)
        (jd / tx / name).write_bytes(content)


@pytest.mark.parametrize("tx,data", [(JOURNAL_TX, JOURNAL_COMMITTED), (RENAME_TX, RENAME_COMMITTED)],
                         ids=["journal", "rename"])
def test_an_old_committed_manifest_reads_as_the_typed_manifest_and_writes_back_byte_for_byte(tx, data):
    raw, blobs = txn.decode_manifest(data)
    m = txn.parse_manifest(raw, tx, blobs)
    assert isinstance(m, txn.Manifest)
    assert (m.tx, m.kind, m.mode, m.plan, m.undoes, m.dirs) == (tx, "apply", raw["mode"], "p-1", None,
                                                                 ["new", "new/dir"])
    assert [(e.path, e.op) for e in m.entries] == [("run.sh", "chmod"), ("keep.txt", "replace"),
                                                   ("new/dir/caf\u00e9.txt", "create"), ("gone.txt", "delete")]
    # what wopt writes for the same transaction today is the same bytes
    assert txn.encode_manifest(m, [blobs]) == data


@pytest.mark.parametrize("tx,data,backups", [(JOURNAL_TX, JOURNAL_COMMITTED, None),
                                             (RENAME_TX, RENAME_COMMITTED, RENAME_BACKUPS)],
                         ids=["journal", "rename"])
def test_an_apply_journaled_by_the_old_release_is_undone(tmp_path, tx, data, backups):
    _write(tmp_path, AFTER)
    _committed(tmp_path, tx, data, backups)
    res = undo(Workspace(tmp_path), lock_timeout=0)
    assert res.outcome == "committed" and res.undoes == tx
    assert _tree(tmp_path) == BEFORE            # new/ and new/dir/ it created are gone too
    assert (tmp_path / ".wopt/journal" / f"{tx}{txn.UNDONE}").is_file()


@pytest.mark.parametrize("files", [KILLED_JOURNAL, KILLED_RENAME], ids=["journal", "rename"])
def test_an_apply_of_the_old_release_killed_mid_commit_is_rolled_back(tmp_path, files):
    for rel, data in files.items():
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    ws = Workspace(tmp_path)
    assert needs_recovery(ws)
    lines = recover(ws)
    assert len(lines) == 1 and "rolled back the unfinished apply" in lines[0] and "plan p-1" in lines[0]
    assert _tree(tmp_path) == {"keep.txt": (b"old keep\n", 0o644), "gone.txt": (b"to be deleted\n", 0o644)}
    assert not needs_recovery(ws)
    [rec] = read_history(ws)
    # the record recovery writes holds what the old release's recovery wrote
    want = json.loads(RECOVERY_LINE)
    tx = next(n for n in files if n.endswith(txn.PENDING)).split("/")[-1][: -len(txn.PENDING)]
    want.update(tx=tx, mode=rec["mode"], started=rec["started"])
    assert rec == want


def test_old_history_records_load_and_are_written_the_same_today(tmp_path):
    (tmp_path / ".wopt").mkdir()
    (tmp_path / ".wopt/history.jsonl").write_bytes(b"".join(HISTORY_LINES) + RECOVERY_LINE)
    problems: list[str] = []
    recs = read_history(Workspace(tmp_path), problems)
    assert problems == [] and len(recs) == 3
    apply_rec, undo_rec, recovered = recs
    assert apply_rec["undone_by"] == undo_rec["tx"] and undo_rec["undoes"] == apply_rec["tx"]
    assert recovered["outcome"] == "rolled_back" and recovered["error"] == "interrupted; rolled back by recovery"
    # the typed record of the same transaction is the same line
    for line, rec in zip(HISTORY_LINES, (apply_rec, undo_rec)):
        fields = {k: v for k, v in rec.items() if k != "undone_by"}
        out = json.dumps(HistoryRecord(**fields).to_json(), ensure_ascii=False, separators=(",", ":"))
        assert (out + "\n").encode() == line


def test_a_config_file_as_written_for_the_old_release_loads(tmp_path):
    d = tmp_path / "wopt"
    d.mkdir()
    (d / "config.toml").write_bytes(b'theme = "wopt-light"\n\n[keys]\n"review.approve" = "y"\n'
                                    b'"review.reject" = "x, delete"\n"apply.undo" = ["z", "ctrl+z"]\n')
    cfg = load_config(env={"XDG_CONFIG_HOME": str(tmp_path)})
    assert cfg.theme == "wopt-light" and cfg.problems == []
    assert cfg.keys == {"review.approve": "y", "review.reject": "x,delete", "apply.undo": "z,ctrl+z"}


SAVED_TEMPLATE = (
    b'{\n  "name": "models-py",\n  "template": "class {{ class_name }}:\\n    table = \'{{ table }}\'\\n'
    b'    size = {{ size }}\\n    kind = \'model\'\\n",\n  "slots": [\n    "class_name",\n    "table",\n'
    b'    "size"\n  ],\n  "uses": 2,\n  "files": 6,\n  "created": "2026-12-01T17:48:09Z",\n'
    b'  "updated": "2026-12-01T17:48:09Z",\n  "example": "models/m0.py"\n}'
)


def test_an_old_saved_template_loads_is_recognised_and_counts_one_more_use(tmp_path):
    from wopt.engine.store import templates_store
    from wopt.engine.analysis import analyze
    from wopt.engine.model.plan import decode_plan
    d = tmp_path / ".wopt" / "templates"
    d.mkdir(parents=True)
    (d / "models-py.json").write_bytes(SAVED_TEMPLATE)
    ws = Workspace(tmp_path)
    [saved] = templates_store.load_saved(ws)
    assert (saved.name, saved.slots, saved.uses, saved.files, saved.example) == (
        "models-py", ["class_name", "table", "size"], 2, 6, "models/m0.py")
    steps = [{"kind": "write", "id": f"m{i}", "path": f"models/m{i}.py",
              "content": f"class N{i}:\n    table = 'u{i}'\n    size = {i}\n    kind = 'model'\n"}
             for i in range(3)]
    [fam] = analyze(ws, decode_plan(json.dumps({"version": 1, "id": "r", "steps": steps}))).families
    assert (fam.saved_as, fam.saved_uses) == ("models-py", 2)
    assert templates_store.save_family(ws, fam) == "models-py"
    after = (d / "models-py.json").read_bytes()
    # one more use of 3 files; every other byte as it was
    want = json.loads(SAVED_TEMPLATE)
    want.update(uses=3, files=9, updated=json.loads(after)["updated"])
    assert after == json.dumps(want, indent=2).encode()
