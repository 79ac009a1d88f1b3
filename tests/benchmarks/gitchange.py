"""A real git change for the whole-process benchmarks: N Python modules (~4 KB each) in a git
repository, 3 lines edited in most of them, some new and some deleted modules; `git diff`
gives the patch that `wopt ingest --format diff` and `git apply` both take."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

GIT_ENV = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.com",
           "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.com",
           "GIT_CONFIG_NOSYSTEM": "1", "HOME": os.environ.get("HOME", "/tmp")}


def git(root: Path, *args: str, input: bytes | None = None) -> bytes:
    r = subprocess.run(["git", *args], cwd=str(root), input=input, capture_output=True, env=GIT_ENV)
    if r.returncode:
        raise RuntimeError(f"git {' '.join(args)}: {r.stderr.decode(errors='replace')}")
    return r.stdout


def module(i: int, gen: int = 0) -> str:
    """A ~4 KB Python module; `gen` 1 edits three of its lines."""
    out = [f'"""Module {i}: generated for the benchmark."""', "from __future__ import annotations", "",
           "import os", "import sys", "", f"LIMIT = {i % 97 if gen == 0 else i % 97 + 1}", ""]
    for k in range(12):
        body = f"    return x * {k} + {i}" if not (gen and k == 5) else f"    return x * {k} + {i} + LIMIT"
        out += ["", f"def func_{i}_{k}(x: int, y: int = {k}) -> int:",
                f'    """Compute value {k} of module {i} from x and y."""',
                f"    if x > {k * 3}:", f"        x = x - y  # adjust {k}", body,
                ]
    out += ["", "", f"class Handler{i}:", f'    name = "handler-{i}"' if gen == 0 else f'    name = "handler-{i}-v2"',
            "", "    def run(self, value):", "        return value", ""]
    return "\n".join(out) + "\n"


def make_change(root: Path, n: int, *, new: int | None = None, deleted: int | None = None) -> bytes:
    """Make a git repo of `n` committed modules under `root`, edit them (3 lines each), add
    `new` and delete `deleted` modules; return `git diff` of the change and reset the work
    tree to the commit (so the patch applies)."""
    new = n // 20 if new is None else new
    deleted = n // 50 if deleted is None else deleted
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q")
    for i in range(n):
        p = root / f"pkg{i // 100:03d}" / f"mod{i}.py"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(module(i))
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base")
    for i in range(n):
        p = root / f"pkg{i // 100:03d}" / f"mod{i}.py"
        if i < deleted:
            p.unlink()
        else:
            p.write_text(module(i, 1))
    for j in range(new):
        i = n + j
        p = root / f"pkg{i // 100:03d}" / f"mod{i}.py"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(module(i))
    git(root, "add", "-A")
    diff = git(root, "diff", "--cached", "--binary")
    git(root, "reset", "-q", "--hard")
    git(root, "clean", "-qfd")
    return diff


def reset(root: Path) -> None:
    git(root, "reset", "-q", "--hard")
    git(root, "clean", "-qfd", "-e", ".wopt")
