"""Conformance with `git apply`: every diff is made by the git on this machine from a real edit
of a small tree, then applied by `git apply` to one copy of the original tree and by
`wopt ingest --format diff` + `wopt apply --yes` to another; the two trees must hold the same
bytes, mode bits and symlinks. A diff git refuses must be refused by wopt too, naming the file
and the diff line, with nothing changed. Both apply modes run every case."""
from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Callable

import pytest

from conftest import run_wopt, snapshot

MODES = ["rename", "journal"]

GIT_ENV = {
    "GIT_AUTHOR_NAME": "wopt test", "GIT_AUTHOR_EMAIL": "test@example.invalid",
    "GIT_COMMITTER_NAME": "wopt test", "GIT_COMMITTER_EMAIL": "test@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull, "HOME": os.devnull,
    "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z",
}

if shutil.which("git") is None:  # pragma: no cover - git is on every machine the suite runs on
    pytest.skip("git is not installed", allow_module_level=True)


@pytest.fixture(autouse=True)
def _umask():
    """git apply creates files 0666/0777 less the umask; so does wopt: fix it for both."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def git(cwd: Path, *args: str, check: bool = True, input: bytes | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_ENV)
    env["GIT_CEILING_DIRECTORIES"] = str(cwd.parent)
    r = subprocess.run(["git", "-c", "core.autocrlf=false", "-c", "core.safecrlf=false",
                        "-c", "core.symlinks=true", "-c", "core.filemode=true", *args],
                       cwd=cwd, env=env, input=input, capture_output=True, timeout=60)
    if check and r.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {r.stderr.decode(errors='replace')}")
    return r


Tree = dict  # rel -> bytes | (bytes, mode) | ("link", target)


def build(root: Path, tree: Tree) -> None:
    root.mkdir(parents=True, exist_ok=True)
    for rel, spec in tree.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(spec, tuple) and spec[0] == "link":
            os.symlink(spec[1], p)
            continue
        data, mode = spec if isinstance(spec, tuple) else (spec, 0o644)
        p.write_bytes(data)
        os.chmod(p, mode)


def make_diff(tmp: Path, before: Tree, edit: Callable[[Path], None], *opts: str) -> tuple[Path, bytes]:
    """(a copy of the original tree, the diff git makes of `edit`)."""
    orig = tmp / "orig"
    build(orig, before)
    repo = tmp / "repo"
    shutil.copytree(orig, repo, symlinks=True)
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--allow-empty", "-m", "base")
    edit(repo)
    git(repo, "add", "-A")
    diff = git(repo, "diff", "--cached", "--binary", *opts).stdout
    assert diff, "the edit made no diff"
    return orig, diff


def snap(root: Path) -> dict:
    """Bytes and modes of every file, symlinks as ("symlink", target), and every directory that
    holds a file. Empty directories are left out on purpose: git apply removes a directory its
    deletes leave empty, wopt keeps it (the README's Formats section says so)."""
    s = snapshot(root)
    s["dirs"] = {d for d in s["dirs"] if d != ".git" and not d.startswith(".git/")
                 and any(f.startswith(d + "/") for f in s["files"])}
    return s


def git_apply(tmp: Path, orig: Path, diff: bytes, *opts: str) -> tuple[Path, subprocess.CompletedProcess]:
    g = tmp / "by-git"
    shutil.copytree(orig, g, symlinks=True)
    (tmp / "change.diff").write_bytes(diff)
    r = git(g, "apply", *opts, str(tmp / "change.diff"), check=False)
    return g, r


def wopt_apply(tmp: Path, orig: Path, diff: bytes, mode: str, *ingest_opts: str):
    w = tmp / "by-wopt"
    shutil.copytree(orig, w, symlinks=True)
    (w / ".git").mkdir()
    (tmp / "change.diff").write_bytes(diff)
    r = run_wopt("ingest", "--format", "diff", *ingest_opts, str(tmp / "change.diff"), root=w)
    if r.returncode != 0:
        return w, r
    plan_id = r.stdout.decode().strip()
    a = run_wopt("apply", plan_id, "--yes", "--mode", mode, root=w)
    return w, a


def conform(tmp: Path, before: Tree, edit: Callable[[Path], None], mode: str, *,
            diff_opts: tuple = (), apply_opts: tuple = (), ingest_opts: tuple = (),
            patch: Callable[[bytes], bytes] | None = None) -> bytes:
    orig, diff = make_diff(tmp, before, edit, *diff_opts)
    if patch is not None:
        diff = patch(diff)
    g, rg = git_apply(tmp, orig, diff, *apply_opts)
    assert rg.returncode == 0, f"git apply refused:\n{rg.stderr.decode()}\n{diff.decode(errors='replace')}"
    w, rw = wopt_apply(tmp, orig, diff, mode, *ingest_opts)
    assert rw.returncode == 0, (rw.stderr.decode() + rw.stdout.decode() + "\n" + diff.decode(errors="replace"))
    sg, sw = snap(g), snap(w)
    sw["dirs"].discard(".git")
    assert sw == sg, diff.decode(errors="replace")
    return diff


def refused_like_git(tmp: Path, orig: Path, diff: bytes, mode: str, *, names: str, line: int | None = None,
                     ingest_opts: tuple = ()) -> str:
    g, rg = git_apply(tmp, orig, diff)
    assert rg.returncode != 0, "git apply accepted the diff"
    w, rw = wopt_apply(tmp, orig, diff, mode, *ingest_opts)
    assert rw.returncode != 0
    msg = rw.stderr.decode() + rw.stdout.decode()
    assert names in msg, msg
    if line is not None:
        assert f"line {line}" in msg, msg
    assert "Traceback" not in msg
    after = snap(w)
    after["dirs"].discard(".git")
    assert after == snap(orig)
    return msg


def put(rel: str, data: bytes, mode: int | None = None):
    def edit(repo: Path) -> None:
        p = repo / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
        if mode is not None:
            os.chmod(p, mode)
    return edit


def steps(*edits):
    def edit(repo: Path) -> None:
        for e in edits:
            e(repo)
    return edit


def rm(rel: str):
    return lambda repo: (repo / rel).unlink()


def chmod(rel: str, mode: int):
    return lambda repo: os.chmod(repo / rel, mode)


def symlink(rel: str, target: str):
    def edit(repo: Path) -> None:
        p = repo / rel
        if os.path.lexists(p):
            p.unlink()
        p.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, p)
    return edit


def mv(src: str, dst: str):
    def edit(repo: Path) -> None:
        (repo / dst).parent.mkdir(parents=True, exist_ok=True)
        os.replace(repo / src, repo / dst)
    return edit


PY = b"def f():\n    return 1\n\n\ndef g():\n    return 2\n"
LINES = b"".join(b"line %d\n" % i for i in range(1, 40))


# ------------------------------------------------------------------ line endings

@pytest.mark.parametrize("mode", MODES)
def test_crlf_last_line_ending_in_a_bare_cr_keeps_it(tmp_path, mode):
    diff = conform(tmp_path, {"x.txt": b"one\r\ntwo\r\n"}, put("x.txt", b"one\r\nTWO\r\nthree\r"), mode)
    assert b"\\ No newline at end of file" in diff


@pytest.mark.parametrize("mode", MODES)
def test_a_lone_cr_inside_a_line_is_content(tmp_path, mode):
    conform(tmp_path, {"x.py": b"x = 1\ny\r  # was\n"}, put("x.py", b"x = 1\nx\r  # changed\n"), mode)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("before,after", [
    (b"a\r\nb\r\n", b"a\nb\r\n"),                 # CRLF -> LF on one line
    (b"a\nb\n", b"a\r\nb\r\n"),                   # LF -> CRLF
    (b"a\r\nb\nc\rd\n", b"a\r\nB\nc\rd\r\n"),       # mixed
    (b"a\nb\n", b"a\nb"),                         # final newline removed
    (b"a\nb", b"a\nb\n"),                         # final newline added
    (b"a\rb\rc\r", b"a\rB\rc\r"),                 # old Mac: one line of bare CRs
    (b"a\r\nb\r", b"a\r\nb"),                     # bare CR at the end removed
    (b"\xef\xbb\xbfa\n", b"a\n"),                 # BOM removed
    (b"a  \n", b"a\n"),                           # trailing spaces removed
])
def test_line_endings_and_invisible_bytes(tmp_path, mode, before, after):
    conform(tmp_path, {"x.txt": before}, put("x.txt", after), mode)


# ------------------------------------------------------------------ empty files

@pytest.mark.parametrize("mode", MODES)
def test_a_hunk_that_empties_a_file_leaves_it_empty(tmp_path, mode):
    diff = conform(tmp_path, {"x.txt": b"a\nb\n"}, put("x.txt", b""), mode)
    assert b"@@ -1,2 +0,0 @@" in diff and b"/dev/null" not in diff


@pytest.mark.parametrize("mode", MODES)
def test_a_hunk_that_fills_an_empty_file(tmp_path, mode):
    diff = conform(tmp_path, {"x.txt": b""}, put("x.txt", b"a\n"), mode)
    assert b"@@ -0,0 +1 @@" in diff and b"--- a/x.txt" in diff


@pytest.mark.parametrize("mode", MODES)
def test_new_and_deleted_empty_files(tmp_path, mode):
    conform(tmp_path, {"gone.txt": b"", "keep.txt": b"k\n"},
            steps(rm("gone.txt"), put("new.txt", b""), put("exe.sh", b"", 0o755)), mode)


# ------------------------------------------------------------------ binary

@pytest.mark.parametrize("mode", MODES)
def test_binary_literal_and_delta(tmp_path, mode):
    big = bytes(range(256)) * 64
    conform(tmp_path, {"big.bin": big, "small.bin": b"\0\1\2"},
            steps(put("big.bin", big[:5000] + b"\xff\xfe" + big[5000:]), put("small.bin", b"\0\1\2\3"),
                  put("new.bin", b"\0" * 100 + b"\x89PNG")), mode)


@pytest.mark.parametrize("mode", MODES)
def test_binary_deleted(tmp_path, mode):
    conform(tmp_path, {"b.bin": b"\0\1\2" * 10}, rm("b.bin"), mode)


# ------------------------------------------------------------------ modes, renames, copies

@pytest.mark.parametrize("mode", MODES)
def test_mode_changes(tmp_path, mode):
    conform(tmp_path, {"run.sh": (b"#!/bin/sh\n", 0o644), "stop.sh": (b"#!/bin/sh\n", 0o755)},
            steps(chmod("run.sh", 0o755), chmod("stop.sh", 0o644), put("stop.sh", b"#!/bin/sh\nexit\n"),
                  put("new.sh", b"#!/bin/sh\n", 0o755)), mode)


@pytest.mark.parametrize("mode", MODES)
def test_renames_with_and_without_edits(tmp_path, mode):
    conform(tmp_path, {"a.py": PY, "b.txt": LINES},
            steps(mv("a.py", "pkg/a.py"), mv("b.txt", "c.txt"), put("c.txt", LINES.replace(b"line 7\n", b"seven\n"))),
            mode, diff_opts=("-M",))


@pytest.mark.parametrize("mode", MODES)
def test_copies(tmp_path, mode):
    conform(tmp_path, {"a.txt": LINES},
            steps(put("b.txt", LINES), put("c.txt", LINES.replace(b"line 3\n", b"three\n"))),
            mode, diff_opts=("-C", "-C", "--find-copies-harder"))


@pytest.mark.parametrize("mode", MODES)
def test_quoted_names(tmp_path, mode):
    diff = conform(tmp_path, {"tést.txt": b"a\n", "with space.txt": b"b\n", "tab\there.txt": b"c\n"},
                   steps(put("tést.txt", b"A\n"), put("with space.txt", b"B\n"), put("tab\there.txt", b"C\n"),
                         put("new\"quote.txt", b"q\n")), mode)
    assert b'"a/t\\303\\251st.txt"' in diff


# ------------------------------------------------------------------ context options

@pytest.mark.parametrize("mode", MODES)
def test_zero_context(tmp_path, mode):
    conform(tmp_path, {"x.txt": LINES},
            put("x.txt", LINES.replace(b"line 5\n", b"").replace(b"line 20\n", b"twenty\n") + b"end\n"),
            mode, diff_opts=("-U0",), apply_opts=("--unidiff-zero",))


@pytest.mark.parametrize("mode", MODES)
def test_function_context(tmp_path, mode):
    src = b"".join(b"def f%d():\n    return %d\n\n" % (i, i) for i in range(30))
    diff = conform(tmp_path, {"m.py": src}, put("m.py", src.replace(b"return 17", b"return -17")), mode,
                   diff_opts=("-W",))
    assert b"@@ def f16():" in diff or b"@@ -" in diff


@pytest.mark.parametrize("mode", MODES)
def test_hunk_header_function_names_and_many_hunks(tmp_path, mode):
    src = b"".join(b"def f%d():\n    return %d\n\n" % (i, i) for i in range(40))
    conform(tmp_path, {"m.py": src},
            put("m.py", src.replace(b"return 3\n", b"return 33\n").replace(b"return 30\n", b"return 0\n")), mode)


# ------------------------------------------------------------------ symlinks

@pytest.mark.parametrize("mode", MODES)
def test_new_symlink(tmp_path, mode):
    diff = conform(tmp_path, {"target.txt": b"t\n"}, symlink("link", "target.txt"), mode)
    assert b"new file mode 120000" in diff


@pytest.mark.parametrize("mode", MODES)
def test_symlink_retargeted_and_deleted(tmp_path, mode):
    conform(tmp_path, {"a.txt": b"a\n", "b.txt": b"b\n", "l1": ("link", "a.txt"), "sub/l2": ("link", "../a.txt")},
            steps(symlink("l1", "b.txt"), rm("sub/l2")), mode)


@pytest.mark.parametrize("mode", MODES)
def test_file_replaced_by_symlink_and_back(tmp_path, mode):
    conform(tmp_path, {"a.txt": b"a\n", "f": b"file\n", "l": ("link", "a.txt")},
            steps(symlink("f", "a.txt"), rm("l"), put("l", b"now a file\n")), mode)


@pytest.mark.parametrize("mode", MODES)
def test_symlink_pointing_outside_the_workspace_is_refused(tmp_path, mode):
    orig, diff = make_diff(tmp_path, {"a.txt": b"a\n"}, symlink("out", "../../etc/passwd"))
    w, r = wopt_apply(tmp_path, orig, diff, mode)
    assert r.returncode != 0
    msg = r.stderr.decode()
    assert "out" in msg and "outside the workspace" in msg, msg
    assert not os.path.lexists(w / "out")


# ------------------------------------------------------------------ what wopt refuses

@pytest.mark.parametrize("mode", MODES)
def test_context_mismatch_is_refused_naming_file_and_line(tmp_path, mode):
    orig, diff = make_diff(tmp_path, {"a.txt": b"a\n", "b.txt": LINES}, steps(put("a.txt", b"A\n"),
                           put("b.txt", LINES.replace(b"line 9\n", b"nine\n"))))
    (orig / "b.txt").write_bytes(LINES.replace(b"line 8\n", b"eight\n"))
    line = diff.split(b"\n").index(b"diff --git a/b.txt b/b.txt") + 1
    refused_like_git(tmp_path, orig, diff, mode, names="b.txt", line=line)


@pytest.mark.parametrize("mode", MODES)
def test_corrupt_hunk_is_refused_naming_file_and_line(tmp_path, mode):
    orig, diff = make_diff(tmp_path, {"a.txt": b"a\n", "b.txt": LINES},
                           steps(put("a.txt", b"A\n"), put("b.txt", LINES.replace(b"line 9\n", b"nine\n"))))
    lines = diff.split(b"\n")
    k = lines.index(b"+nine")
    lines[k] = b"*nine"
    refused_like_git(tmp_path, orig, b"\n".join(lines), mode, names="b.txt", line=k + 1)


@pytest.mark.parametrize("mode", MODES)
def test_short_hunk_is_refused(tmp_path, mode):
    orig, diff = make_diff(tmp_path, {"b.txt": LINES}, put("b.txt", LINES.replace(b"line 9\n", b"nine\n")))
    lines = diff.split(b"\n")
    k = lines.index(b"+nine")
    del lines[k + 1:k + 3]
    refused_like_git(tmp_path, orig, b"\n".join(lines), mode, names="b.txt")


def test_gitlink_is_refused_with_a_clear_message(tmp_path):
    sub = "diff --git a/vendor/lib b/vendor/lib\nnew file mode 160000\nindex 0000000..1234567\n" \
          "--- /dev/null\n+++ b/vendor/lib\n@@ -0,0 +1 @@\n+Subproject commit " + "1" * 40 + "\n"
    w = tmp_path / "ws"
    (w / ".git").mkdir(parents=True)
    (tmp_path / "s.diff").write_text(sub)
    r = run_wopt("ingest", "--format", "diff", str(tmp_path / "s.diff"), root=w)
    assert r.returncode == 1
    msg = r.stderr.decode()
    assert "vendor/lib" in msg and "submodule" in msg and "line 1" in msg, msg


# ------------------------------------------------------------------ -p

@pytest.mark.parametrize("mode", MODES)
def test_no_prefix_diff_with_p0(tmp_path, mode):
    conform(tmp_path, {"a.txt": b"a\n", "d/b.txt": b"b\n"},
            steps(put("a.txt", b"A\n"), put("d/b.txt", b"B\n"), put("d/new.txt", b"n\n")), mode,
            diff_opts=("--no-prefix",), apply_opts=("-p0",), ingest_opts=("-p", "0"))


@pytest.mark.parametrize("mode", MODES)
def test_p2_strips_two_components(tmp_path, mode):
    def deeper(diff: bytes) -> bytes:
        return (diff.replace(b" a/", b" a/x/").replace(b" b/", b" b/x/"))
    conform(tmp_path, {"a.txt": b"a\n"}, put("a.txt", b"A\n"), mode, patch=deeper,
            apply_opts=("-p2",), ingest_opts=("-p", "2"))


# ------------------------------------------------------------------ a tree that moved since the diff

def same_outcome(tmp: Path, before: Tree, edit, drift: Callable[[Path], None], mode: str,
                 diff_opts: tuple = ()) -> bool:
    """The diff of `edit`, applied to the original tree changed by `drift`: git apply and wopt
    both accept it with the same result, or both refuse it and wopt changes nothing. Returns
    whether git accepted."""
    orig, diff = make_diff(tmp, before, edit, *diff_opts)
    drift(orig)
    g, rg = git_apply(tmp, orig, diff)
    w, rw = wopt_apply(tmp, orig, diff, mode)
    msg = rw.stderr.decode()
    if rg.returncode == 0:
        assert rw.returncode == 0, msg + "\n" + diff.decode(errors="replace")
        sw = snap(w)
        sw["dirs"].discard(".git")
        assert sw == snap(g)
        return True
    assert rw.returncode != 0, f"git refused ({rg.stderr.decode()}) but wopt applied"
    assert "diff line" in msg and "Traceback" not in msg, msg
    sw = snap(w)
    sw["dirs"].discard(".git")
    assert sw == snap(orig)
    return False


TOP = LINES.replace(b"line 2\n", b"two\n")
END = LINES.replace(b"line 38\n", b"thirty-eight\n")
MID = LINES.replace(b"line 20\n", b"twenty\n")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case,after,drift", [
    ("insert-above-top-hunk", TOP, lambda d: (d / "x.txt").write_bytes(b"new first\n" + LINES)),
    ("append-below-end-hunk", END, lambda d: (d / "x.txt").write_bytes(LINES + b"new last\n")),
    ("shift-mid-hunk-down", MID, lambda d: (d / "x.txt").write_bytes(b"a\nb\nc\n" + LINES)),
    ("shift-mid-hunk-up", MID, lambda d: (d / "x.txt").write_bytes(LINES[len(b"line 1\nline 2\n"):])),
    ("context-line-changed", MID, lambda d: (d / "x.txt").write_bytes(LINES.replace(b"line 19\n", b"19\n"))),
    ("crlf-instead-of-lf", MID, lambda d: (d / "x.txt").write_bytes(LINES.replace(b"\n", b"\r\n"))),
    ("duplicate-context", MID, lambda d: (d / "x.txt").write_bytes(LINES + LINES[:-1])),
])
def test_drifted_tree_same_outcome_as_git(tmp_path, mode, case, after, drift):
    same_outcome(tmp_path, {"x.txt": LINES}, put("x.txt", after), drift, mode)


@pytest.mark.parametrize("mode", MODES)
def test_new_file_that_already_exists_is_refused(tmp_path, mode):
    accepted = same_outcome(tmp_path, {"a.txt": b"a\n"}, put("n.txt", b"n\n"),
                            lambda d: (d / "n.txt").write_bytes(b"there\n"), mode)
    assert not accepted


@pytest.mark.parametrize("mode", MODES)
def test_delete_of_a_changed_file_is_refused(tmp_path, mode):
    accepted = same_outcome(tmp_path, {"a.txt": b"a\n"}, rm("a.txt"),
                            lambda d: (d / "a.txt").write_bytes(b"changed\n"), mode)
    assert not accepted


@pytest.mark.skipif(shutil.which("diff") is None, reason="no diff(1)")
@pytest.mark.parametrize("mode", MODES)
def test_plain_diff_u_output(tmp_path, mode):
    """`diff -u old new` (no a/ b/, timestamps after a TAB) applies as git apply -p0 applies it."""
    orig = tmp_path / "orig"
    build(orig, {"x.txt": LINES, "y.txt": b"y\r\n"})
    new = tmp_path / "new"
    build(new, {"x.txt": MID, "y.txt": b"Y\r\n"})
    diff = b""
    for name in ("x.txt", "y.txt"):
        (tmp_path / "x").mkdir(exist_ok=True)
        (tmp_path / "y").mkdir(exist_ok=True)
        shutil.copy(orig / name, tmp_path / "x" / name)
        shutil.copy(new / name, tmp_path / "y" / name)
        r = subprocess.run(["diff", "-u", f"x/{name}", f"y/{name}"], capture_output=True, cwd=tmp_path)
        assert r.returncode == 1
        diff += r.stdout.replace(f"--- x/{name}".encode(), f"--- {name}".encode()) \
                        .replace(f"+++ y/{name}".encode(), f"+++ {name}".encode())
    assert b"\t" in diff.split(b"\n")[0]  # the timestamp
    g, rg = git_apply(tmp_path, orig, diff, "-p0")
    assert rg.returncode == 0, rg.stderr.decode()
    w, rw = wopt_apply(tmp_path, orig, diff, mode)
    assert rw.returncode == 0, rw.stderr.decode()
    assert snap(w)["files"] == snap(g)["files"]


def test_p_option_errors(tmp_path):
    w = tmp_path / "ws"
    (w / ".git").mkdir(parents=True)
    (w / "a.txt").write_bytes(b"a\n")
    d = tmp_path / "d.diff"
    d.write_bytes(b"diff --git a/a.txt b/a.txt\n--- a/a.txt\n+++ b/a.txt\n@@ -1 +1 @@\n-a\n+A\n")
    r = run_wopt("ingest", "--format", "diff", "-p", "3", str(d), root=w)
    assert r.returncode == 1 and "diff line 1" in r.stderr.decode() and "-p" in r.stderr.decode()
    c = tmp_path / "c.patch"
    c.write_bytes(b"*** Begin Patch\n*** Add File: n.txt\n+n\n*** End Patch\n")
    r = run_wopt("ingest", "-p", "1", str(c), root=w)
    assert r.returncode == 2 and "-p applies to diffs only" in r.stderr.decode()
    assert (w / "a.txt").read_bytes() == b"a\n"


# ------------------------------------------------------------------ deliberate differences

@pytest.mark.parametrize("mode", MODES)
def test_differences_kept_permission_bits_and_emptied_directories(tmp_path, mode):
    """git apply rewrites a patched file with 0666 less the umask and removes a directory its
    deletes leave empty; wopt keeps the file's own permission bits and the directory."""
    orig, diff = make_diff(tmp_path, {"secret.txt": (b"s\n", 0o600), "d/only.txt": b"o\n"},
                           steps(put("secret.txt", b"S\n"), rm("d/only.txt")))
    g, rg = git_apply(tmp_path, orig, diff)
    assert rg.returncode == 0
    w, rw = wopt_apply(tmp_path, orig, diff, mode)
    assert rw.returncode == 0, rw.stderr.decode()
    assert (g / "secret.txt").read_bytes() == (w / "secret.txt").read_bytes() == b"S\n"
    assert stat.S_IMODE(os.stat(g / "secret.txt").st_mode) == 0o644
    assert stat.S_IMODE(os.stat(w / "secret.txt").st_mode) == 0o600
    assert not (g / "d").exists() and (w / "d").is_dir() and not any((w / "d").iterdir())
