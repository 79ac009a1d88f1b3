"""Fixtures for the transaction, crash, undo, apply-CLI and path tests: a mixed workspace, a
mixed plan of 21 steps over it, tree snapshots (content + mode of every file, set of dirs) and
a runner of the real `wopt` console script in a subprocess."""
from __future__ import annotations

import base64
import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
WOPT = [str(BIN / "wopt")] if (BIN / "wopt").exists() else [sys.executable, "-m", "wopt.engine.cli.main"]


def snapshot(root: Path) -> dict:
    """{"files": {rel: (bytes, mode)}, "dirs": {rel}} of the tree, without .wopt/."""
    files, dirs = {}, set()
    root = Path(root)
    for dp, dns, fns in os.walk(root):
        rel = Path(dp).relative_to(root).as_posix()
        if rel == ".wopt" or rel.startswith(".wopt/"):
            dns[:] = []
            continue
        dns[:] = [d for d in dns if not (rel == "." and d == ".wopt")]
        if rel != ".":
            dirs.add(rel)
        for f in fns:
            p = Path(dp) / f
            st = os.lstat(p)
            key = (Path(dp) / f).relative_to(root).as_posix()
            if stat.S_ISLNK(st.st_mode):
                files[key] = ("symlink", os.readlink(p))
            else:
                files[key] = (p.read_bytes(), stat.S_IMODE(st.st_mode))
    return {"files": files, "dirs": dirs}


def diff_snap(a: dict, b: dict) -> str:
    lines = []
    for k in sorted(set(a["files"]) | set(b["files"])):
        if a["files"].get(k) != b["files"].get(k):
            lines.append(f"file {k}: {str(a['files'].get(k))[:60]} != {str(b['files'].get(k))[:60]}")
    for d in sorted(a["dirs"] ^ b["dirs"]):
        lines.append(f"dir {d}: {'only in first' if d in a['dirs'] else 'only in second'}")
    return "\n".join(lines)


def w(root: Path, rel: str, data: bytes | str, mode: int = 0o644) -> None:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data.encode() if isinstance(data, str) else data)
    os.chmod(p, mode)


def make_mixed_tree(root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / ".git").mkdir(exist_ok=True)  # a workspace the way wopt finds one
    w(root, "README.md", "# shop\n\nA small shop.\n")
    w(root, "src/app.py", "import util\n\ndef main():\n    return util.total([1, 2])\n")
    w(root, "src/util.py", "def total(xs):\n    return sum(xs)\n")
    w(root, "src/legacy.py", "OLD = True\n")
    w(root, "src/models/__init__.py", "")
    w(root, "src/models/user.py", "class User:\n    name = 'anon'\n")
    w(root, "scripts/run.sh", "#!/bin/sh\necho run\n", 0o755)
    w(root, "scripts/build.sh", "#!/bin/sh\necho build\n", 0o644)
    w(root, "docs/guide.md", "# Guide\n\nRead me.\n")
    w(root, "docs/old.md", "obsolete\n")
    w(root, "docs/index.md", "index\n")
    w(root, "config.json", '{"debug": false}\n')
    w(root, "data/blob.bin", bytes(range(256)) * 4)
    w(root, "tests/test_old.py", "def test_old():\n    assert True\n")
    w(root, "ro/locked.txt", "locked\n", 0o444)


def mixed_plan_dict(plan_id: str = "mixed") -> dict:
    """21 steps: create, overwrite, edit, patch, delete, move, chmod, nested new dirs, an
    executable, binary, empty and CRLF content, a file touched by two steps."""
    steps = [
        {"kind": "write", "id": "s01", "path": "src/new_module.py", "content": "VALUE = 42\n"},
        {"kind": "write", "id": "s02", "path": "README.md", "content": "# shop\n\nA bigger shop.\n"},
        {"kind": "edit", "id": "s03", "path": "src/app.py",
         "edits": [{"old_string": "[1, 2]", "new_string": "[1, 2, 3]"}]},
        {"kind": "patch", "id": "s04", "path": "src/util.py",
         "diff": "@@ -1,2 +1,3 @@\n def total(xs):\n-    return sum(xs)\n+    # sum of xs\n+    return sum(xs)\n"},
        {"kind": "delete", "id": "s05", "path": "docs/old.md"},
        {"kind": "move", "id": "s06", "path": "docs/guide.md", "to": "manual/guide.md"},
        {"kind": "chmod", "id": "s07", "path": "scripts/run.sh", "mode": "644"},
        {"kind": "chmod", "id": "s08", "path": "scripts/build.sh", "mode": "755"},
        {"kind": "write", "id": "s09", "path": "bin/tool.sh", "content": "#!/bin/sh\necho tool\n", "mode": "755"},
        {"kind": "write", "id": "s10", "path": "pkg/a/b/c/__init__.py", "content": "C = 1\n"},
        {"kind": "write", "id": "s11", "path": "pkg/a/__init__.py", "content": ""},
        {"kind": "write", "id": "s12", "path": "pkg/a/b/__init__.py", "content": "B = 1\n"},
        {"kind": "write", "id": "s13", "path": "data/blob.bin",
         "content_base64": base64.b64encode(bytes(range(255, -1, -1)) * 3).decode()},
        {"kind": "edit", "id": "s14", "path": "src/models/user.py",
         "edits": [{"old_string": "'anon'", "new_string": "'guest'"}]},
        {"kind": "write", "id": "s15", "path": "config.json", "content": '{"debug": true}\n'},
        {"kind": "delete", "id": "s16", "path": "tests/test_old.py"},
        {"kind": "write", "id": "s17", "path": "tests/test_new.py", "content": "def test_new():\n    assert 1\n"},
        {"kind": "edit", "id": "s18", "path": "src/app.py",
         "edits": [{"old_string": "def main():", "new_string": "def main() -> int:"}]},
        {"kind": "move", "id": "s19", "path": "src/legacy.py", "to": "src/compat/legacy.py"},
        {"kind": "chmod", "id": "s20", "path": "src/util.py", "mode": "600"},
        {"kind": "write", "id": "s21", "path": "docs/index.md", "content": "index\r\nwith CRLF\r\n"},
    ]
    return {"version": 1, "id": plan_id, "title": "mixed plan", "steps": steps}


def run_wopt(*args: str, root: Path, env: dict | None = None, input: bytes | None = None,
             timeout: float = 60) -> subprocess.CompletedProcess:
    e = dict(os.environ)
    e.pop("WOPT_FAULT", None)
    e.pop("WOPT_FAULT_COUNT_FILE", None)
    e["COLUMNS"] = "200"
    if env:
        e.update(env)
    return subprocess.run([*WOPT, *args, "--root", str(root)], env=e, input=input,
                          capture_output=True, timeout=timeout, cwd=str(root))


@pytest.fixture(scope="session")
def mixed_template(tmp_path_factory) -> Path:
    """A mixed workspace with the mixed plan ingested (preconditions captured): copy it."""
    root = tmp_path_factory.mktemp("template") / "ws"
    make_mixed_tree(root)
    planfile = root.parent / "mixed.json"
    planfile.write_text(json.dumps(mixed_plan_dict()))
    r = run_wopt("ingest", str(planfile), root=root)
    assert r.returncode == 0, r.stderr.decode()
    assert r.stdout.decode().strip() == "mixed"
    return root


def copy_tree(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst, symlinks=True)
    return dst


@pytest.fixture
def mixed_ws(mixed_template, tmp_path) -> Path:
    return copy_tree(mixed_template, tmp_path / "ws")


_warm = False


def prewarm(template: Path, scratch: Path) -> None:
    """Import everything an apply, undo and recover use, once, in this process, so that forked
    children do not each import it again."""
    global _warm
    if _warm:
        return
    import contextlib
    import io
    from wopt.engine.store import fsio
    from wopt.engine.cli.main import main
    ws = copy_tree(template, scratch)
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        for argv in (["apply", "mixed", "--yes"], ["undo"], ["apply", "mixed", "--yes", "--mode", "journal"],
                     ["history"], ["recover"]):
            main([*argv, "--root", str(ws)])
    fsio.configure("")
    _warm = True


def run_forked(*args: str, root: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run `wopt ARGS --root ROOT` in a forked child of this process (the same code path as
    the console script, `main(argv)`, without an interpreter start per run: the crash matrix
    runs hundreds). The child is a real process: SIGKILL kills it for real. Returns a
    CompletedProcess whose returncode is -SIGNAL when killed."""
    import io
    import tempfile
    out, err = tempfile.TemporaryFile(), tempfile.TemporaryFile()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # child
        rc = 99
        try:
            os.dup2(out.fileno(), 1)
            os.dup2(err.fileno(), 2)
            sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), line_buffering=True)
            sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), line_buffering=True)
            for k in ("WOPT_FAULT", "WOPT_FAULT_COUNT_FILE", "WOPT_SYNC"):
                os.environ.pop(k, None)
            os.environ["COLUMNS"] = "200"
            os.environ.update(env or {})
            from wopt.engine.store import fsio
            fsio.configure()
            from wopt.engine.cli import common
            common._console = None
            from wopt.engine.cli.main import main
            rc = main([*args, "--root", str(root)])
            if os.environ.get("WOPT_FAULT") == "count":
                fsio._write_count()
        except BaseException:  # noqa: BLE001 - report anything, never return into pytest
            import traceback
            traceback.print_exc()
        finally:
            try:
                sys.stdout.flush()
                sys.stderr.flush()
            finally:
                os._exit(rc)
    _, status = os.waitpid(pid, 0)
    code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
    out.seek(0)
    err.seek(0)
    return subprocess.CompletedProcess([*args], code, out.read(), err.read())
