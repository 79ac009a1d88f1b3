"""`wopt apply/undo/recover/history` as a person and a script meet them: the prompt in a
terminal, the refusal without one, --only, --json, exit codes, the summary line, and the
headless path never importing Textual."""
from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import time

from conftest import WOPT, run_wopt, snapshot
from wopt.engine.store import spool
from wopt.engine.model.review import Review
from wopt.engine.store.workspace import Workspace


def _run_in_terminal(args: list[str], root, answer: bytes) -> tuple[int, str]:
    """Run wopt with a pseudo-terminal as stdin/stderr, type `answer`, return (code, output)."""
    master, slave = pty.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith("WOPT_FAULT")}
    p = subprocess.Popen([*WOPT, *args, "--root", str(root)], stdin=slave, stdout=subprocess.PIPE,
                         stderr=slave, env=env, cwd=str(root))
    os.close(slave)
    out = b""
    deadline = time.time() + 30
    sent = False
    while time.time() < deadline:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
        if not sent and b"Apply? [y/N]" in out:
            os.write(master, answer)
            sent = True
    code = p.wait(30)
    os.close(master)
    return code, out.decode(errors="replace") + p.stdout.read().decode()


def test_without_a_terminal_and_without_yes_it_refuses_with_exit_2(mixed_ws):
    before = snapshot(mixed_ws)
    r = run_wopt("apply", "mixed", root=mixed_ws, input=b"y\n")
    assert r.returncode == 2
    assert "pass --yes" in r.stderr.decode()
    assert snapshot(mixed_ws) == before


def test_in_a_terminal_it_asks_once(mixed_ws):
    before = snapshot(mixed_ws)
    code, out = _run_in_terminal(["apply", "mixed"], mixed_ws, b"n\n")
    assert code == 1 and "not applied" in out
    assert "21 file(s)" in out and "8 created" in out and "4 deleted" in out
    assert snapshot(mixed_ws) == before
    code, out = _run_in_terminal(["apply", "mixed"], mixed_ws, b"y\n")
    assert code == 0, out
    assert out.count("Apply? [y/N]") == 1
    assert (mixed_ws / "bin" / "tool.sh").exists()


def test_yes_prints_a_summary_and_undo_restores(mixed_ws):
    before = snapshot(mixed_ws)
    r = run_wopt("apply", "mixed", "--yes", "--mode", "journal", root=mixed_ws)
    out = r.stdout.decode()
    assert r.returncode == 0
    assert out.startswith("applied plan mixed: 21 file(s)") and "journal mode" in out
    tx = out.split("wopt undo ")[1].strip().rstrip("`")
    r = run_wopt("undo", tx, root=mixed_ws)
    assert r.returncode == 0 and f"undid transaction {tx}" in r.stdout.decode()
    assert snapshot(mixed_ws) == before
    r = run_wopt("undo", tx, root=mixed_ws)
    assert r.returncode == 1 and "already undone" in r.stderr.decode()


def test_only_applies_the_named_steps(mixed_ws):
    r = run_wopt("apply", "mixed", "--yes", "--only", "s01", "s09", "--json", root=mixed_ws)
    assert r.returncode == 0, r.stderr.decode()
    res = json.loads(r.stdout)
    assert res["outcome"] == "committed" and sorted(res["paths"]) == ["bin/tool.sh", "src/new_module.py"]
    assert res["files"] == 2 and res["ops"]["create"] == 2
    assert (mixed_ws / "README.md").read_text() == "# shop\n\nA small shop.\n"
    r = run_wopt("apply", "mixed", "--yes", "--only", "nope", root=mixed_ws)
    assert r.returncode == 2 and "no step 'nope'" in r.stderr.decode()


def test_only_applies_the_named_steps_as_the_review_shaped_them(mixed_ws, tmp_path):
    """--only chooses steps, not content: a step the person edited in the review lands with
    the bytes they approved, a step whose hunks they picked lands with those hunks only."""
    ws = Workspace(mixed_ws)
    rv = Review(plan_id="mixed")
    rv.set("s02", "rejected")                                  # --only overrides decisions
    rv.edited["s02"] = "# shop\n\nThe shop, as the person wrote it.\n"
    spool.save_review(ws, rv)
    before = snapshot(mixed_ws)
    r = run_wopt("apply", "mixed", "--yes", "--only", "s02", "--json", root=mixed_ws)
    assert r.returncode == 0, r.stderr.decode()
    assert (mixed_ws / "README.md").read_bytes() == b"# shop\n\nThe shop, as the person wrote it.\n"
    a, b = before["files"], snapshot(mixed_ws)["files"]
    assert {k for k in set(a) | set(b) if a.get(k) != b.get(k)} == {"README.md"}
    # hunks: a two-hunk step of which the person kept only the second
    root = tmp_path / "hunks"
    (root / ".git").mkdir(parents=True)
    old = "".join(f"line {i}\n" for i in range(40))
    (root / "f.txt").write_text(old)
    new = old.replace("line 2\n", "line 2 changed\n").replace("line 35\n", "line 35 changed\n")
    (tmp_path / "h.json").write_text(json.dumps({"version": 1, "id": "h", "steps": [
        {"kind": "write", "id": "s1", "path": "f.txt", "content": new}]}))
    assert run_wopt("ingest", str(tmp_path / "h.json"), root=root).returncode == 0
    hw = Workspace(root)
    hv = Review(plan_id="h")
    hv.hunks["s1"] = [1]
    spool.save_review(hw, hv)
    r = run_wopt("apply", "h", "--yes", "--only", "s1", root=root)
    assert r.returncode == 0, r.stderr.decode()
    assert (root / "f.txt").read_text() == old.replace("line 35\n", "line 35 changed\n")


def test_review_decisions_choose_the_steps(mixed_ws):
    ws = Workspace(mixed_ws)
    rv = Review(plan_id="mixed")
    rv.set("s02", "approved")
    rv.set("s05", "rejected")
    spool.save_review(ws, rv)
    r = run_wopt("apply", "mixed", "--yes", root=mixed_ws)
    assert r.returncode == 0, r.stderr.decode()
    assert "1 step(s) approved in the review" in r.stderr.decode()
    assert (mixed_ws / "README.md").read_text() == "# shop\n\nA bigger shop.\n"
    assert (mixed_ws / "docs" / "old.md").exists()
    assert len(spool.load_review(ws, "mixed").applied) == 1


def test_usage_errors_exit_2(mixed_ws):
    r = run_wopt("apply", "mixed", "--yes", "--mode", "fast", root=mixed_ws)
    assert r.returncode == 2 and "invalid choice" in r.stderr.decode()
    r = run_wopt("apply", root=mixed_ws)
    assert r.returncode == 2


def test_unknown_plan_and_undo_with_nothing_applied_exit_1(mixed_ws):
    r = run_wopt("apply", "no-such-plan", "--yes", root=mixed_ws)
    assert r.returncode == 1 and "no plan 'no-such-plan'" in r.stderr.decode()
    r = run_wopt("undo", root=mixed_ws)
    assert r.returncode == 1 and "no applied transaction to undo" in r.stderr.decode()


def test_recover_and_history(mixed_ws):
    r = run_wopt("recover", root=mixed_ws)
    assert r.returncode == 0 and "nothing to recover" in r.stdout.decode()
    r = run_wopt("history", root=mixed_ws)
    assert r.returncode == 0 and "no transactions yet" in r.stdout.decode()
    run_wopt("apply", "mixed", "--yes", root=mixed_ws)
    run_wopt("undo", root=mixed_ws)
    r = run_wopt("history", "--json", root=mixed_ws)
    recs = json.loads(r.stdout)
    assert [x["kind"] for x in recs] == ["apply", "undo"]
    assert recs[0]["undone_by"] == recs[1]["tx"] and recs[1]["undoes"] == recs[0]["tx"]
    r = run_wopt("history", root=mixed_ws)
    out = r.stdout.decode()
    assert r.returncode == 0 and recs[0]["tx"] in out and "undone by" in out and "committed" in out


def test_headless_commands_never_import_textual(mixed_ws):
    code = (
        "import sys\n"
        "from wopt.engine.cli.main import main\n"
        f"root = {str(mixed_ws)!r}\n"
        "rcs = [main(['list', '--root', root]), main(['check', 'mixed', '--root', root]),\n"
        "       main(['apply', 'mixed', '--yes', '--root', root]), main(['history', '--root', root]),\n"
        "       main(['undo', '--root', root]), main(['recover', '--root', root])]\n"
        "print('RCS', rcs)\n"
        "print('TEXTUAL', 'textual' in sys.modules)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, cwd=str(mixed_ws))
    out = r.stdout.decode()
    assert "TEXTUAL False" in out, out + r.stderr.decode()
    rcs = json.loads(out.split("RCS ")[1].splitlines()[0])
    assert rcs[2:] == [0, 0, 0, 0]  # apply, history, undo, recover
