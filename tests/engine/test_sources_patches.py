"""Readers of patch formats: git/unified diffs, Codex apply_patch, Aider (samples + edge cases)."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from wopt.engine.store.effects import compute
from wopt.engine.model.errors import PathError, PlanError, StepError
from wopt.engine.model.plan import ABSENT, MoveStep, WriteStep, sha256
from wopt.engine.sources import read
from wopt.engine.store.workspace import Workspace

DATA = Path(__file__).resolve().parents[1] / "data" / "sources"
SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures"


def sample(name: str) -> bytes:
    p = SHARED / name
    return p.read_bytes() if p.is_file() else (DATA / name).read_bytes()


def ws_with(tmp_path: Path, files: dict[str, bytes | str], modes: dict[str, int] | None = None) -> Workspace:
    root = tmp_path / "ws"
    root.mkdir()
    for rel, data in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data.encode() if isinstance(data, str) else data)
        os.chmod(p, (modes or {}).get(rel, 0o644))
    return Workspace(root)


def changes(ws: Workspace, plan) -> dict[str, tuple[bytes | None, int | None]]:
    out = compute(ws, plan)
    assert out.ok, (out.errors, out.stale)
    return {c.path: (c.after, c.after_mode) for c in out.changes}


GIT_BASE = {"crlf.txt": b"line1\r\nline2\r\n", "gone.txt": "to be removed\n",
            "old_name.txt": "alpha\nbeta\ngamma\ndelta\nepsilon\n", "run.sh": "#!/bin/sh\n",
            "tail.txt": b"no newline", "stable.txt": "stable\n"}


# ------------------------------------------------------------------ git diffs

def test_git_sample_every_kind(tmp_path):
    ws = ws_with(tmp_path, GIT_BASE)
    with pytest.raises(PlanError, match=r"logo\.png.*binary change without its data.*--binary"):
        read(sample("git_rename_modechange.diff"), "diff", ws)
    # without the binary file's section the rest reads
    text = sample("git_rename_modechange.diff")
    a = text.index(b"diff --git a/logo.png")
    b = text.index(b"diff --git a/old_name.txt")
    plan, fmt = read(text[:a] + text[b:], "auto", ws)
    assert fmt == "diff"
    kinds = [(type(s).__name__, s.path) for s in plan.steps]
    assert ("MoveStep", "old_name.txt") in kinds and ("MoveStep", "stable.txt") in kinds
    assert ("DeleteStep", "gone.txt") in kinds and ("ChmodStep", "run.sh") in kinds
    got = changes(ws, plan)
    assert got["added.txt"] == (b"brand new\n", 0o644)
    assert got["empty_new.txt"][0] == b""
    assert got["crlf.txt"][0] == b"line1\r\nline2 changed\r\n"          # CRLF byte for byte
    assert got["tail.txt"][0] == b"no newline, changed"                  # no final newline kept
    assert got["gone.txt"][0] is None
    assert got["old_name.txt"][0] is None
    assert got["new_name.txt"][0] == b"alpha\nbeta\nGAMMA\ndelta\nepsilon\n"
    assert got["moved/stable.txt"][0] == b"stable\n" and got["stable.txt"][0] is None
    assert got["run.sh"] == (b"#!/bin/sh\n", 0o755)


def test_git_binary_literal_applied_and_checked_against_blob_id(tmp_path):
    old, new = b"\x89PNG\r\n\x1a\n\x00\x01", b"\x89PNG\r\n\x1a\n\x00\x02"
    text = sample("git_binary_literal.diff")
    a = text.index(b"diff --git a/logo.png")
    b = text.index(b"diff --git a/old_name.txt")
    section = text[a:b]
    ws = ws_with(tmp_path, {"logo.png": old})
    plan, _ = read(section, "diff", ws)
    [s] = plan.steps
    assert isinstance(s, WriteStep) and s.content_base64 and s.precondition == sha256(old)
    assert changes(ws, plan)["logo.png"][0] == new
    (ws.root / "logo.png").write_bytes(b"something else")
    with pytest.raises(StepError, match="logo.png.*not the one the binary patch was made from"):
        read(section, "diff", ws)


def _git(cwd: Path, *args: str) -> bytes:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    return subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, check=True).stdout


@pytest.mark.skipif(subprocess.run(["git", "--version"], capture_output=True).returncode != 0,
                    reason="git is not installed")
def test_real_git_diff_binary_delta_and_rename_chain(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    big = bytes(range(256)) * 64
    (repo / "blob.bin").write_bytes(big)
    (repo / "a.txt").write_text("one\ntwo\nthree\n")
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "base")
    snapshot = {p.name: p.read_bytes() for p in repo.iterdir() if p.is_file()}
    (repo / "blob.bin").write_bytes(big[:100] + b"\xff" * 10 + big[110:])
    _git(repo, "mv", "a.txt", "b.txt")
    (repo / "b.txt").write_text("one\nTWO\nthree\n")
    _git(repo, "add", "-A")
    diff = _git(repo, "diff", "--cached", "--binary", "-M", "HEAD")
    ws = ws_with(tmp_path, snapshot)
    plan, _ = read(diff, "diff", ws)
    got = changes(ws, plan)
    assert got["blob.bin"][0] == (repo / "blob.bin").read_bytes()
    assert got["b.txt"][0] == b"one\nTWO\nthree\n" and got["a.txt"][0] is None


def test_rename_chain_within_one_plan(tmp_path):
    ws = ws_with(tmp_path, {"a.txt": "x\n"})
    diff = (b"diff --git a/a.txt b/b.txt\nsimilarity index 100%\nrename from a.txt\nrename to b.txt\n"
            b"diff --git a/b.txt b/c.txt\nsimilarity index 100%\nrename from b.txt\nrename to c.txt\n")
    plan, _ = read(diff, "diff", ws)
    assert [(type(s).__name__, s.path, s.to) for s in plan.steps] == \
        [("MoveStep", "a.txt", "b.txt"), ("MoveStep", "b.txt", "c.txt")]
    assert changes(ws, plan) == {"a.txt": (None, None), "c.txt": (b"x\n", 0o644)}


def test_plain_unified_diff_and_hunk_that_does_not_apply(tmp_path):
    ws = ws_with(tmp_path, {"f.py": "a\nb\nc\n"})
    diff = b"--- f.py\n+++ f.py\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n"
    plan, fmt = read(diff, "auto", ws)
    assert fmt == "diff" and changes(ws, plan)["f.py"][0] == b"a\nB\nc\n"
    bad = b"--- f.py\n+++ f.py\n@@ -1,3 +1,3 @@\n a\n-zzz\n+B\n c\n"
    with pytest.raises(StepError, match="f.py.*hunk 1.*does not apply"):
        read(bad, "diff", ws)


def test_diff_new_file_that_exists_and_delete_that_differs(tmp_path):
    ws = ws_with(tmp_path, {"n.txt": "here\n", "d.txt": "changed\n"})
    with pytest.raises(StepError, match="n.txt.*already exists"):
        read(b"--- /dev/null\n+++ b/n.txt\n@@ -0,0 +1 @@\n+new\n", "diff", ws)
    with pytest.raises(StepError, match="d.txt.*differs"):
        read(b"--- a/d.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-original\n", "diff", ws)


def test_diff_paths_outside_refused(tmp_path):
    ws = ws_with(tmp_path, {})
    with pytest.raises(PathError):
        read(b"--- /dev/null\n+++ b/../escape.txt\n@@ -0,0 +1 @@\n+x\n", "diff", ws)
    with pytest.raises(PathError):
        read(b"--- /dev/null\n+++ b/.git/hooks/pre-commit\n@@ -0,0 +1 @@\n+x\n", "diff", ws)


def test_diff_new_executable_keeps_mode(tmp_path):
    ws = ws_with(tmp_path, {})
    diff = (b"diff --git a/t.sh b/t.sh\nnew file mode 100755\nindex 0000000..1111111\n--- /dev/null\n"
            b"+++ b/t.sh\n@@ -0,0 +1 @@\n+#!/bin/sh\n")
    plan, _ = read(diff, "diff", ws)
    assert changes(ws, plan)["t.sh"] == (b"#!/bin/sh\n", 0o755)


# ------------------------------------------------------------------ Codex

SHOP = {"src/cart/totals.py": "def subtotal(items):\n    return sum(i.price * i.qty for i in items)\n\n"
                              "def count(items):\n    return len(items)\n",
        "src/cart/legacy_totals.py": "OLD = 1\n",
        "README.md": "Usage\nRun the shop with `make run`.\nMore.\n"}


def test_codex_sample_add_update_move_delete(tmp_path):
    ws = ws_with(tmp_path, SHOP)
    plan, fmt = read(sample("codex_patch_add_update_delete_move.txt"), "auto", ws)
    assert fmt == "codex" and plan.agent == "codex"
    assert any(isinstance(s, MoveStep) and s.to == "src/cart/subtotal.py" for s in plan.steps)
    got = changes(ws, plan)
    assert got["src/cart/tax.py"][0] == b"VAT = 0.2\n\ndef with_vat(amount):\n    return round(amount * (1 + VAT), 2)\n"
    assert got["src/cart/totals.py"][0] is None
    assert got["src/cart/subtotal.py"][0] == (b"def subtotal(items):\n    return round(sum(i.price * i.qty for i in "
                                              b"items), 2)\n\ndef count(items):\n    return sum(i.qty for i in items)\n")
    assert got["src/cart/legacy_totals.py"][0] is None
    assert got["README.md"][0] == b"Usage\nRun the shop with `make run`.\nPrices are rounded to 2 decimals.\nMore.\n"


def test_codex_heredoc_wrapper_and_end_of_file(tmp_path):
    ws = ws_with(tmp_path, {"f.txt": "x\nend\nmid\nend\n"})
    patch = (b"apply_patch <<'EOF'\n*** Begin Patch\n*** Update File: f.txt\n@@\n-end\n+END\n*** End of File\n"
             b"*** End Patch\nEOF\n")
    plan, fmt = read(patch, "auto", ws)
    assert fmt == "codex"
    assert changes(ws, plan)["f.txt"][0] == b"x\nend\nmid\nEND\n"


def test_codex_chunk_not_found_names_file_and_text(tmp_path):
    ws = ws_with(tmp_path, {"f.txt": "a\n"})
    patch = b"*** Begin Patch\n*** Update File: f.txt\n@@\n-nothere\n+x\n*** End Patch\n"
    with pytest.raises(StepError, match=r"f.txt.*chunk 1.*'nothere'"):
        read(patch, "codex", ws)
    with pytest.raises(PlanError, match="End Patch"):
        read(b"*** Begin Patch\n*** Add File: x\n+y\n", "codex", ws)
    with pytest.raises(PlanError, match="must start with"):
        read(b"*** Begin Patch\n*** Add File: x\nno plus\n*** End Patch\n", "codex", ws)


# ------------------------------------------------------------------ Aider

AIDER_SHOP = {"src/cart/totals.py": "def subtotal(items):\n    return sum(i.price * i.qty for i in items)\n"}
ROUNDED = b"def subtotal(items):\n    return round(sum(i.price * i.qty for i in items), 2)\n"


@pytest.mark.parametrize("name", ["aider_search_replace.txt", "aider_udiff.txt"])
def test_aider_samples_edit_and_create(tmp_path, name):
    ws = ws_with(tmp_path, AIDER_SHOP)
    plan, fmt = read(sample(name), "auto", ws)
    assert fmt == "aider"
    got = changes(ws, plan)
    assert got["src/cart/totals.py"][0] == ROUNDED
    assert got["src/cart/tax.py"][0] == b"VAT = 0.2\n"
    tax = next(s for s in plan.steps if s.path == "src/cart/tax.py")
    assert tax.precondition == ABSENT


def test_aider_diff_fenced(tmp_path):
    ws = ws_with(tmp_path, AIDER_SHOP)
    plan, _ = read(sample("aider_search_replace_diff_fenced.txt"), "aider", ws)
    assert changes(ws, plan)["src/cart/totals.py"][0] == ROUNDED


def test_aider_search_missing_and_first_match_only(tmp_path):
    ws = ws_with(tmp_path, {"f.txt": "a\na\n"})
    blocks = b"f.txt\n```\n<<<<<<< SEARCH\na\n=======\nb\n>>>>>>> REPLACE\n```\n"
    plan, _ = read(blocks, "aider", ws)
    assert changes(ws, plan)["f.txt"][0] == b"b\na\n"
    bad = b"f.txt\n```\n<<<<<<< SEARCH\nzz\n=======\nb\n>>>>>>> REPLACE\n```\n"
    with pytest.raises(StepError, match=r"f.txt.*line 3.*'zz\\n' is not in the file"):
        read(bad, "aider", ws)
    with pytest.raises(PlanError, match="not closed"):
        read(b"f.txt\n<<<<<<< SEARCH\na\n=======\n", "aider", ws)


def test_codex_add_file_over_an_existing_file_replaces_it_with_precondition(tmp_path):
    ws = ws_with(tmp_path, {"f.txt": "old\n"})
    plan, _ = read(b"*** Begin Patch\n*** Add File: f.txt\n+new\n*** End Patch\n", "codex", ws)
    [s] = plan.steps
    assert isinstance(s, WriteStep) and s.precondition == sha256(b"old\n")
    assert changes(ws, plan)["f.txt"][0] == b"new\n"
