"""Validation of resulting content, with 1-based line and column: Python (compile), JSON, TOML
(tomllib), YAML (PyYAML's composer: syntax only, so custom tags like `!Ref` are fine), `.ipynb`
structure, Jinja2 template syntax; and Python imports of modules the plan creates must resolve
after the apply.

VALIDATORS is the one table of kinds of file checked (a new kind is a check function and a row).
`validate_content(path, data)` checks one file; `validate_changes(changes, ws=None)` checks the
net changes of an apply (effects.Change) and is what the transaction runs before it writes.
"""
from __future__ import annotations

import ast
import json
import os
import posixpath
import re
import warnings
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable, Iterable, Mapping

from ..model.errors import InternalError
from . import imports as imp
from .model import Finding

_TOML_AT = re.compile(r"\(at line (\d+), column (\d+)\)")
_TOML_EOF = re.compile(r"\(at end of document\)")
MAX_VALIDATE = 8 * 1024 * 1024     # larger files are not parsed (flagged "large" instead)


Problem = tuple  # (message, line, column[, severity]): line and column 1-based or None


@dataclass(frozen=True)
class Validator:
    """One kind of file wopt checks: which paths, and a check that lists the problems of one
    file's content (the text, decoded as UTF-8, or the bytes when `text` is False)."""
    name: str                              # the Finding's checker ("python", "json", ...)
    suffixes: tuple[str, ...]              # lower-case endings it checks
    check: Callable[[str, Any], list[Problem]]
    names: tuple[str, ...] = ()            # lower-case base names it checks too
    text: bool = True


def _python(path: str, data: bytes) -> list[Problem]:
    return python_parse(path, data)[1]


def python_parse(path: str, data: bytes) -> tuple[ast.AST | None, list[Problem]]:
    """(the syntax tree or None, the problems): the Python check, with the tree it parsed so
    a caller that also wants the imports parses once."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = compile(data, path, "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
    except SyntaxError as e:
        return None, [(e.msg, e.lineno, e.offset)]
    except ValueError as e:   # NUL bytes
        return None, [(str(e), None, None)]
    return tree, []


def _json(path: str, text: str) -> list[Problem]:
    try:
        json.loads(text)
    except json.JSONDecodeError as e:
        return [(e.msg, e.lineno, e.colno, "warning" if _jsonc(path) else "error")]
    return []


def _toml(path: str, text: str) -> list[Problem]:
    import tomllib
    try:
        tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        msg = str(e)
        m = _TOML_AT.search(msg)
        if m:
            return [(msg[: m.start()].strip(), int(m.group(1)), int(m.group(2)))]
        if _TOML_EOF.search(msg):
            lines = text.split("\n")
            return [(_TOML_EOF.sub("", msg).strip() + " (at end of document)", len(lines), len(lines[-1]) + 1)]
        return [(msg, None, None)]
    return []


def _yaml(path: str, text: str) -> list[Problem]:
    import yaml
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        for _ in yaml.compose_all(text, Loader=loader):
            pass
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        msg = " ".join(x for x in (e.context, e.problem) if x) or str(e)
        if mark is not None:
            return [(msg, mark.line + 1, mark.column + 1)]
        return [(msg, None, None)]
    except yaml.YAMLError as e:
        return [(str(e), None, None)]
    return []


def _ipynb(path: str, text: str) -> list[Problem]:
    try:
        nb = json.loads(text)
    except json.JSONDecodeError as e:
        return [(e.msg, e.lineno, e.colno)]
    return [(m, None, None) for m in _notebook_problems(nb)]


def _jinja2(path: str, text: str) -> list[Problem]:
    from jinja2 import Environment, TemplateSyntaxError
    try:
        Environment().parse(text)
    except TemplateSyntaxError as e:
        return [(e.message or str(e), e.lineno, None)]
    return []


# The one table of validators, tried in order (the first whose endings or names match checks).
VALIDATORS: list[Validator] = [
    Validator("python", (".py", ".pyi"), _python, text=False),
    Validator("ipynb", (".ipynb",), _ipynb),
    Validator("json", (".json",), _json),
    Validator("toml", (".toml",), _toml, names=("pipfile", "poetry.lock", "uv.lock", "cargo.lock")),
    Validator("yaml", (".yaml", ".yml"), _yaml),
    Validator("jinja2", (".j2", ".jinja", ".jinja2"), _jinja2),
]


def validator_for(path: str) -> Validator | None:
    p = path.lower()
    base = posixpath.basename(p)
    return next((v for v in VALIDATORS if p.endswith(v.suffixes) or base in v.names), None)


def checker_for(path: str) -> str | None:
    v = validator_for(path)
    return v.name if v else None


def validate_content(path: str, data: bytes | None, *, step: str = "") -> list[Finding]:
    """Findings on one file's content (empty when it is fine or of a kind not checked)."""
    if data is None:
        return []
    v = validator_for(path)
    if v is None or len(data) > MAX_VALIDATE:
        return []
    if not v.text:
        problems = v.check(path, data)
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as e:
            line = data.count(b"\n", 0, e.start) + 1
            col = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
            problems = [(f"not UTF-8 text ({e.reason})", line, col)]
        else:
            problems = v.check(path, text)
    return [Finding(step, path, v.name, msg, line, col, rest[0] if rest else "error")
            for msg, line, col, *rest in problems]


def _jsonc(path: str) -> bool:
    """JSON files whose tools accept comments and trailing commas (a finding is a warning)."""
    base = posixpath.basename(path)
    return base.startswith(("tsconfig", "jsconfig")) or ".vscode/" in path or base == "devcontainer.json"


def _notebook_problems(nb) -> list[str]:
    if not isinstance(nb, dict):
        return ["a notebook must be a JSON object"]
    out = []
    if not isinstance(nb.get("nbformat"), int):
        out.append("missing integer field nbformat")
    if not isinstance(nb.get("metadata", {}), dict):
        out.append("metadata must be an object")
    cells = nb.get("cells")
    if not isinstance(cells, list):
        out.append("missing list field cells")
        return out
    for i, c in enumerate(cells):
        where = f"cell {i}"
        if not isinstance(c, dict):
            out.append(f"{where}: must be an object")
            continue
        ct = c.get("cell_type")
        if ct not in ("code", "markdown", "raw"):
            out.append(f"{where}: cell_type must be code, markdown or raw (found {ct!r})")
        src = c.get("source")
        if not (isinstance(src, str) or (isinstance(src, list) and all(isinstance(x, str) for x in src))):
            out.append(f"{where}: source must be a string or a list of strings")
        if ct == "code" and not isinstance(c.get("outputs", []), list):
            out.append(f"{where}: outputs must be a list")
    return out


# --------------------------------------------------------------------------- imports after the apply

@lru_cache(maxsize=4096)
def _defined_names(source: bytes) -> set[str] | None:
    """Top-level names a module defines, or None when it may define more than we can see
    (star imports, module __getattr__, exec, globals())."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return None
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names):
            return None
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == "__getattr__":
            return None
        if isinstance(node, ast.Name) and node.id in ("globals", "exec", "setattr"):
            return None
    for node in tree.body:
        _collect(node, names)
    return names


def _collect(node, names: set[str]) -> None:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        names.add(node.name)
    elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        for t in targets:
            for n in ast.walk(t):
                if isinstance(n, ast.Name):
                    names.add(n.id)
    elif isinstance(node, (ast.Import, ast.ImportFrom)):
        for a in node.names:
            names.add((a.asname or a.name).split(".")[0])
    elif isinstance(node, (ast.If, ast.Try, ast.With, ast.For, ast.While)):
        for field in ("body", "orelse", "finalbody", "handlers"):
            for sub in getattr(node, field, []) or []:
                if isinstance(sub, ast.ExceptHandler):
                    for s2 in sub.body:
                        _collect(s2, names)
                else:
                    _collect(sub, names)
    elif hasattr(ast, "TypeAlias") and isinstance(node, getattr(ast, "TypeAlias")):
        names.add(node.name.id)


def check_imports(files: Mapping[str, bytes | None], created: Iterable[str], *,
                  steps: Mapping[str, str] | None = None, exists=None) -> list[Finding]:
    """Python imports in `files` (path -> content after the apply, None = deleted) that name a
    module inside a package or module the plan creates, and that will not resolve.

    `created` are the paths the plan creates; `exists(path)` answers for paths outside `files`
    (the disk); `steps` maps a path to the step to blame."""
    steps = steps or {}
    created = set(created)
    created_py = {p for p in created if p.endswith(".py")}
    if not created_py:
        return []

    def present(p: str) -> bool:
        if p in files:
            return files[p] is not None
        return bool(exists and exists(p))

    # modules "owned" by the plan: created files and the packages their __init__ creates
    created_pkgs = {p[: -len("/__init__.py")] for p in created_py if p.endswith("/__init__.py")}
    out: list[Finding] = []
    names_cache: dict[str, set[str] | None] = {}
    for path, data in files.items():
        if data is None or not path.endswith(".py"):
            continue
        refs = imp.py_imports(data)
        if not refs:
            continue
        for ref in refs:
            problem = _unresolved(ref, path, present, created_py, created_pkgs, files, names_cache)
            if problem:
                out.append(Finding(steps.get(path, ""), path, "imports", problem, ref.line, ref.column))
    return out


def _unresolved(ref, path, present, created_py, created_pkgs, files, names_cache) -> str | None:
    parts = ref.module.split(".") if ref.module else []
    shown = "." * ref.level + ref.module
    # find the module the import names, and its parent chain
    for k in range(1, len(parts) + 1):
        name = ".".join(parts[:k])
        if ref.level and k < len(parts):
            continue
        cands = imp.py_module_paths(name, importer=path, level=ref.level)
        hit = imp.first_existing(cands, present)
        if hit:
            continue
        # missing: an error only when its parent package is one the plan creates
        parent_cands = [c.rsplit("/", 1)[0] for c in cands if c.endswith(".py") and not c.endswith("/__init__.py")]
        if any(pc in created_pkgs for pc in parent_cands):
            return f"imports {'.' * ref.level}{name}, which does not exist after the apply"
        return None
    if ref.names and (ref.module or ref.level):
        cands = imp.py_module_paths(ref.module, importer=path, level=ref.level)
        mod = imp.first_existing(cands, present)
        if mod is None or mod not in created_py:
            return None
        for n in ref.names:
            if n == "*":
                continue
            sub = f"{ref.module}.{n}" if ref.module else n
            if imp.first_existing(imp.py_module_paths(sub, importer=path, level=ref.level), present):
                continue
            if mod not in names_cache:
                data = files.get(mod)
                names_cache[mod] = _defined_names(data) if data is not None else None
            defined = names_cache[mod]
            if defined is not None and n not in defined:
                return f"imports {n} from {shown or '.'} ({mod}), which does not define it"
    return None


ALREADY_INVALID = "already invalid before this change, so it does not block the apply"


def _was_invalid(path: str, prior_path: str, prior: bytes | None, *, check=None) -> bool:
    """Whether the content a file had before the change (at `prior_path`: itself, or the
    source of a move or copy) was already invalid as the same kind of file."""
    if prior is None or checker_for(prior_path) != checker_for(path):
        return False     # e.g. notes.txt renamed to x.py: a new Python file
    found = check(prior_path, prior, "") if check else validate_content(prior_path, prior)
    return any(f.severity == "error" for f in found)


def validate_changes(changes, ws=None, *,
                     sources: Mapping[str, tuple[str, bytes | None]] | None = None,
                     check=None) -> list[Finding]:
    """Findings on the net changes of an apply (effects.Change objects): each resulting file's
    syntax, and Python imports of modules the plan creates. `ws` lets imports resolve against
    files on disk the plan does not touch.

    A finding blocks (severity "error") only what the plan breaks: a new file, or one that was
    valid before. A file that was already invalid before the change gets a warning instead:
    its content before is checked (only when the content after is invalid). The content
    before a moved file is its source's (the source's deletion and the destination share the
    move's step); `sources` gives it for other derived files (a copy): path -> (source path,
    source content). `check(path, data, step)` replaces `validate_content` (the analysis cache
    passes one that checks each content once)."""
    check = check or (lambda path, data, step="": validate_content(path, data, step=step))
    out: list[Finding] = []
    files: dict[str, bytes | None] = {}
    steps: dict[str, str] = {}
    created: list[str] = []
    moved_from: dict[str, tuple[str, bytes]] = {}    # step id -> (path, content) it moved away
    for ch in changes:
        if ch.after is None and ch.before is not None:
            for sid in ch.steps:
                moved_from.setdefault(sid, (ch.path, ch.before))
    for ch in changes:
        sid = ch.steps[-1] if ch.steps else ""
        files[ch.path] = ch.after
        steps[ch.path] = sid
        if ch.before is None and ch.after is not None:
            created.append(ch.path)
        if ch.after is None:
            continue
        try:
            found = check(ch.path, ch.after, sid)
            if any(f.severity == "error" for f in found):
                if ch.before is not None:
                    prior: tuple[str, bytes | None] | None = (ch.path, ch.before)
                else:
                    prior = (sources or {}).get(ch.path) or next(
                        (moved_from[s] for s in ch.steps if s in moved_from), None)
                if prior is not None and _was_invalid(ch.path, *prior, check=check):
                    for f in found:
                        if f.severity == "error":
                            f.severity = "warning"
                            f.message = f"{f.message} ({ALREADY_INVALID})"
        except Exception as e:     # a checker's bug: fail closed, naming the file
            raise InternalError(f"validating {ch.path} (step {sid})", e) from e
        out.extend(found)
    exists = None
    if ws is not None:
        root = str(ws.root)
        known: dict[str, bool] = {}

        def exists(p: str) -> bool:
            got = known.get(p)
            if got is None:
                got = known[p] = os.path.isfile(os.path.join(root, p))
            return got
    try:
        out.extend(check_imports(files, created, steps=steps, exists=exists))
    except Exception as e:         # the import check's bug: fail closed
        raise InternalError("checking the imports of the plan's Python files", e) from e
    return out
