"""Python imports that will not resolve after an apply, limited to the cases that are certain.

`missing_imports(files, disk)` reads the Python files the plan leaves (path -> content after
the apply, None for a file the plan deletes) and names each import whose module (or, for
`from pkg import name`, whose name) no file provides once the apply is done. It flags only:

- relative imports (`from .foo import x`, `from ..pkg.mod import y`), resolved from the
  importing file's directory, when that directory (after going up) is a regular package (it
  has an `__init__.py`); `from . import name` when `name` is neither a module nor a name the
  package's `__init__.py` defines (and that `__init__` defines nothing we cannot see);
- absolute imports (`import a.b.c`, `from a.b import c`) whose top-level package `a` is a
  regular package in the workspace root or `src/` (and nowhere else among the source roots),
  the missing piece being below it.

A module is present when `foo.py`, a directory `foo/` (a package or a namespace directory) or
any `foo.*` file (an extension module, a `.pyc`) exists on disk and the plan does not delete
it, or when the plan creates it. Nothing is flagged below a package whose `__init__.py`
mentions `__path__`, `pkgutil`, `pkg_resources` or `sys.modules` (it may find its modules
elsewhere), below a module that is a file (`a.py` importing as `a.b`), for an import inside a
`try:` statement (a guarded import), a `with` statement, a function defined in another
function, an absolute import in a function, or under an `if` other than `if __name__ == "__main__":` (`if TYPE_CHECKING:`, a
platform or version test), or for a name that the package's `__init__.py` may define without
our seeing it (a star import, `__getattr__`, `exec`, `globals()`, an enum's global members).

`ImportCheck(ws, plan, review).find(decision_of)` runs it for the review app: the steps still
in play (not rejected) are run on a virtual tree, and each finding is given to the step that
leaves the importing file."""
from __future__ import annotations

import ast
import os
import posixpath
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable, Iterable, Mapping

from . import imports as imp

# the source roots an absolute import may be checked under: a top-level package found in
# another root (lib/, python/) makes the import uncertain
CHECKED_ROOTS = ("", "src/")
_TRICKS = (b"__path__", b"pkgutil", b"pkg_resources", b"sys.modules")
# an __init__ that may define names we cannot see (besides what validate._defined_names
# already refuses: star imports, a module __getattr__, exec, globals(), setattr)
_DYNAMIC = (b"globals", b"locals", b"vars(", b"__dict__", b"global_enum", b"setattr", b"exec",
            b"__getattr__", b"import *")


@dataclass
class Missing:
    path: str        # the importing file
    line: int
    column: int
    name: str        # the module as the import names it: ".tax", "shop.payments.klarna"
    wanted: str      # the workspace path of the missing piece, without extension ("shop/tax")
    detail: str      # what is not there: "no shop/tax.py or shop/tax/"
    deleted: list[str] = field(default_factory=list)   # files of it the plan deletes ("shop/tax.py")
    ref: imp.PyImport | None = None                     # the import statement

    def text(self, *, line: bool = False) -> str:
        """The line said: `imports .tax, which no file provides after the apply (no shop/tax.py
        or shop/tax/)`, with ` (line 2)` after the name when `line`."""
        at = f" (line {self.line})" if line else ""
        return f"imports {self.name}{at}, which no file provides after the apply ({self.detail})"

    def deleted_by(self, steps: Mapping[str, str]) -> str:
        """The text with the steps that delete the module: "... (no shop/tax.py or
        shop/tax/; step drop-tax deletes shop/tax.py)"; `steps` maps a deleted path to what
        the step does to it ("drop-tax deletes", "mv-tax moves away")."""
        text = self.text(line=True)
        said: list[str] = [f"step {steps[p]} {p}" for p in self.deleted if p in steps]
        return text[:-1] + "; " + ", ".join(said) + ")" if said else text


class Disk:
    """What the disk holds now, read through the workspace: the names in a directory and a
    file's content. `None` from either means "cannot tell" (unreadable, outside the
    workspace), and the check then flags nothing that depends on it."""

    def __init__(self, ws) -> None:
        self.ws = ws
        self._names: dict[str, frozenset[str] | None] = {}
        self._read: dict[str, bytes | None] = {}

    def names(self, rel_dir: str) -> frozenset[str] | None:
        if rel_dir in self._names:
            return self._names[rel_dir]
        from ..model.errors import WoptError
        try:
            # the workspace resolves file paths (every check: confinement, symlinks): the
            # directory is the parent of a file path in it
            p = self.ws.resolve(posixpath.join(rel_dir, "__init__.py")).parent if rel_dir else self.ws.root
            found: frozenset[str] | None = frozenset(os.listdir(p))
        except (FileNotFoundError, NotADirectoryError):
            found = frozenset()
        except (WoptError, OSError):
            found = None
        self._names[rel_dir] = found
        return found

    def read(self, rel: str) -> bytes | None:
        if rel in self._read:
            return self._read[rel]
        from ..model.errors import WoptError
        try:
            data = self.ws.read(rel)[0]
        except (WoptError, OSError):
            data = None
        self._read[rel] = data
        return data


class _After:
    """The tree after the apply: the plan's files over the disk."""

    def __init__(self, files: Mapping[str, bytes | None], disk: Disk) -> None:
        self.files = files
        self.disk = disk
        # directory -> names the plan's remaining files put in it (a file's name, or the
        # first directory of its path)
        self.made: dict[str, set[str]] = {}
        self._stems: dict[str, dict[str, bool]] = {}
        self._packages: dict[str, str | None] = {}
        for p, data in files.items():
            if data is None:
                continue
            parts = p.split("/")
            for k in range(len(parts)):
                self.made.setdefault("/".join(parts[:k]), set()).add(parts[k])

    def has(self, d: str, name: str) -> tuple[bool, bool] | None:
        """(present, is a directory) of `name` in directory `d` as a module: `name/`,
        `name.py` or any `name.*`; None when the disk cannot tell."""
        stems = self._stems.get(d)
        if stems is None:
            stems = self._stems[d] = self._stems_of(d)
        if stems is _UNKNOWN:
            return None
        got = stems.get(name)
        return (False, False) if got is None else (True, got)

    def _stems_of(self, d: str) -> dict[str, bool]:
        """Module name -> whether it is (only) a directory, for what directory `d` holds after
        the apply: the plan's files, and the disk's entries the plan does not delete. A name
        without a suffix is taken for a directory (a file `foo` can only hide a missing module,
        never invent one); a name that is both `foo/` and `foo.*` is taken for a module file,
        below which nothing is said."""
        on_disk = self.disk.names(d)
        if on_disk is None:
            return _UNKNOWN
        names = [n for n in on_disk if self.files.get(posixpath.join(d, n), b"") is not None]
        names += self.made.get(d, ())
        out: dict[str, bool] = {}
        for n in names:
            if "." not in n:
                out.setdefault(n, True)
            else:
                stem = n.split(".", 1)[0]
                if stem:
                    out[stem] = False
        return out

    def read(self, rel: str) -> bytes | None:
        if rel in self.files:
            return self.files[rel]
        return self.disk.read(rel)

    def package(self, d: str) -> str | None:
        """Whether directory `d` is a regular package one can reason about: "ok", "tricks"
        (its __init__ may find modules elsewhere) or None (no __init__.py: a namespace)."""
        if d in self._packages:
            return self._packages[d]
        got = self.has(d, "__init__")
        if not got or not got[0]:
            kind = None
        else:
            data = self.read(posixpath.join(d, "__init__.py"))
            # an __init__ that is not a readable .py (only a .pyc, a .so): cannot tell
            kind = "tricks" if data is None or any(t in data for t in _TRICKS) else "ok"
        self._packages[d] = kind
        return kind


_UNKNOWN: dict[str, bool] = {}


_FUNCS = (ast.FunctionDef, ast.AsyncFunctionDef)


def _guarded(tree: ast.AST) -> set[tuple[int, int]]:
    """(line, column) of the imports that may be meant to fail, or never run as written:
    inside a `try:` statement, an `if` (other than `if __name__ == "__main__":`), a `with`
    (`contextlib.suppress(ImportError)`, a test's `assertRaises`) or a function defined in
    another function (code handed to something else); and the absolute imports in a function
    (a lazy import of what may be made at build time, or a function never called that only
    names modules for a freezing tool)."""
    out: set[tuple[int, int]] = set()

    def walk(node: ast.AST, guarded: bool, in_func: bool) -> None:
        for child in ast.iter_child_nodes(node):
            g = guarded
            if isinstance(child, (ast.Try, getattr(ast, "TryStar", ast.Try), ast.With, ast.AsyncWith)):
                g = True
            elif isinstance(child, ast.If) and not _is_main(child.test):
                g = True
            elif isinstance(child, _FUNCS) and in_func:
                g = True
            if isinstance(child, (ast.Import, ast.ImportFrom)) and (
                    g or (in_func and (isinstance(child, ast.Import) or not child.level))):
                out.add((child.lineno, child.col_offset + 1))
            if isinstance(child, (ast.stmt, ast.ExceptHandler, ast.match_case)):
                walk(child, g, in_func or isinstance(child, _FUNCS))
    walk(tree, False, False)
    return out


def _is_main(test: ast.expr) -> bool:
    return (isinstance(test, ast.Compare) and isinstance(test.left, ast.Name)
            and test.left.id == "__name__" and len(test.comparators) == 1
            and isinstance(test.comparators[0], ast.Constant) and test.comparators[0].value == "__main__")


@lru_cache(maxsize=4096)
def _parsed(source: bytes) -> tuple[list[imp.PyImport], frozenset[tuple[int, int]]] | None:
    if b"import" not in source:
        return [], frozenset()
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return None
    refs = imp.imports_after_parse(source, tree) or []
    return refs, frozenset(_guarded(tree))


def missing_imports(files: Mapping[str, bytes | None], disk: Disk) -> list[Missing]:
    """The imports of the Python files in `files` that no file provides after the apply
    (see the module's docstring for what is certain enough to be named)."""
    tree = _After(files, disk)
    out: list[Missing] = []
    for path, data in files.items():
        if data is None or not path.endswith(".py"):
            continue
        got = _parsed(data)
        if got is None:
            continue        # a syntax error: the validation says so
        refs, guarded = got
        for ref in refs:
            if (ref.line, ref.column) in guarded:
                continue
            for name, wanted, detail in _check(tree, path, ref):
                gone = sorted(p for p, d in files.items()
                              if d is None and (p.startswith(wanted + ".") or p.startswith(wanted + "/")))
                out.append(Missing(path, ref.line, ref.column, name, wanted, detail, gone, ref))
    return out


def _check(tree: _After, path: str, ref: imp.PyImport) -> list[tuple[str, str, str]]:
    """(name, wanted path, detail) of each piece of the import that is certainly missing."""
    parts = ref.module.split(".") if ref.module else []
    shown = "." * ref.level + ref.module
    if ref.level:
        base = posixpath.dirname(path)
        for _ in range(ref.level - 1):
            if not base:
                return []       # above the workspace: cannot tell
            base = posixpath.dirname(base)
        if tree.package(base) != "ok":
            return []
        start = base
    else:
        if len(parts) < 2 and not ref.names:
            return []
        top = parts[0]
        homes = []
        for root in imp.PY_ROOTS:
            d = root.rstrip("/")
            got = tree.has(d, top)
            if got is None:
                return []
            if got[0]:
                if root not in CHECKED_ROOTS or not got[1]:
                    return []   # outside the checked roots, or a module file: cannot tell
                homes.append(posixpath.join(d, top))
        if len(homes) != 1:
            return []           # not in the workspace (installed elsewhere), or twice
        start = homes[0]
        if tree.package(start) != "ok":
            return []
        parts = parts[1:]
    d = start
    for k, name in enumerate(parts):
        got = tree.has(d, name)
        if got is None:
            return []
        if not got[0]:
            where = posixpath.join(d, name)
            return [(_upto(ref, k), where, f"no {where}.py or {where}/")]
        if not got[1]:
            return []           # a module file: what is below it is not for us to say
        d = posixpath.join(d, name)
        pkg = tree.package(d)
        if pkg == "tricks":
            return []
    # `from . import name` (or `..`): a submodule or a name the package's __init__ defines.
    # `from pkg import name` names no file when `name` is not a module: not ours to say
    out: list[tuple[str, str, str]] = []
    if not ref.names or not ref.level or ref.module:
        return out
    pkg = tree.package(d)
    if pkg == "tricks":
        return out
    defined: set[str] = set()
    if pkg == "ok":
        init = tree.read(posixpath.join(d, "__init__.py"))
        from .validate import _defined_names
        names = _defined_names(init) if init is not None and not any(m in init for m in _DYNAMIC) else None
        if names is None:
            return out      # it may define more than we can see
        defined = names
    for n in ref.names:
        if n == "*" or n in defined or (n.startswith("__") and n.endswith("__")):
            continue        # a module's own dunders (__file__, __doc__, __version__...) too
        got = tree.has(d, n)
        if got is None or got[0]:
            continue
        where = posixpath.join(d, n)
        init_said = f", and {d}/__init__.py does not define {n}" if pkg == "ok" else ""
        full = shown + n if shown.endswith(".") else f"{shown}.{n}"
        out.append((full, where, f"no {where}.py or {where}/{init_said}"))
    return out


def _upto(ref: imp.PyImport, k: int) -> str:
    """The dotted name an import gives its k-th missing part (".foo", "pkg.foo")."""
    parts = ref.module.split(".") if ref.module else []
    if ref.level:
        return "." * ref.level + ".".join(parts[:k + 1])
    return ".".join(parts[:k + 2])


# --------------------------------------------------------------------------- the review app

class ImportCheck:
    """The missing-import check of one plan (with a review's edits and hunks) for the review
    app, asked again on each decision. The steps are run on a virtual tree once, all of them;
    a set of decisions then takes the results of the steps in play. Only when a rejected step
    shares a file with a step in play (whose result then differs) are the steps in play run
    again on their own."""

    def __init__(self, ws, plan, review) -> None:
        from ..model.plan import MoveStep, normalize_relpath, step_kind
        self.ws = ws
        self.plan = plan
        self.review = review
        self._all: dict | None = None       # step -> StepResult of running every step
        self.paths: dict[str, tuple[str, ...]] = {}
        self.kinds: dict[str, str] = {}
        for s in plan.steps:
            p = normalize_relpath(s.path)
            self.paths[s.id] = (p, normalize_relpath(s.to)) if isinstance(s, MoveStep) else (p,)
            self.kinds[s.id] = step_kind(s)

    def _run(self, ids: list[str] | None) -> dict:
        from ..store.effects import compute
        from . import _edits
        edited, hunks, rebased = _edits(self.review)
        return compute(self.ws, self.plan, ids, edited=edited, hunks=hunks, check_preconditions=False,
                       rebased=rebased).results

    def find(self, decision_of: Callable[[str], str]) -> dict[str, list[str]]:
        """Each step in play (not rejected) whose resulting Python file imports a module no
        file provides after the apply of the steps in play, with a line per import
        ("imports .klarna (line 3), which no file provides after the apply (no
        shop/payments/klarna.py or shop/payments/klarna/)"). An import a rejected step would
        satisfy is left to `flags.rejected_imports`, which says so in its own words."""
        from ..model.review import REJECTED
        rejected = [s.id for s in self.plan.steps if decision_of(s.id) == REJECTED]
        gone = set(rejected)
        in_play = [s.id for s in self.plan.steps if s.id not in gone]
        if not in_play:
            return {}
        rejected_paths = [p for sid in rejected for p in self.paths[sid]]
        shared = set(rejected_paths) & {p for sid in in_play for p in self.paths[sid]}
        if shared:
            results = self._run(in_play)
        else:
            if self._all is None:
                self._all = self._run(None)
            results = self._all
        files: dict[str, bytes | None] = {}
        by_path: dict[str, list[str]] = {}     # path -> the steps in play leaving content there
        deleter: dict[str, str] = {}
        for sid in in_play:
            r = results.get(sid)
            if r is None:
                continue        # a step that cannot run: its own error says so
            if r.to:
                files[r.path] = None
                deleter[r.path] = f"{sid} moves away"
                files[r.to] = r.after
                by_path[r.to] = [sid]
            elif self.kinds[sid] == "delete":
                files[r.path] = None
                deleter[r.path] = f"{sid} deletes"
                by_path.pop(r.path, None)
            else:
                files[r.path] = r.after
                by_path.setdefault(r.path, []).append(sid)
        found: dict[str, list[str]] = {}
        for m in missing_imports(files, Disk(self.ws)):
            if _rejected_provides(m.wanted, rejected_paths):
                continue
            # each step on the file whose own content has the import (a write and the edit
            # after it), at its own line
            for owner in by_path.get(m.path, ()):
                line_no = _line_in(results[owner].after, m)
                if line_no is None:
                    continue
                m.line = line_no
                line = m.deleted_by(deleter)
                lines = found.setdefault(owner, [])
                if line not in lines:
                    lines.append(line)
        return found


def _line_in(data: bytes | None, m: Missing) -> int | None:
    """The line of the import `m` names in `data` (a step's own content), if it has it."""
    got = _parsed(data) if data is not None and m.ref is not None else None
    if got is None or m.ref is None:
        return None
    refs, guarded = got
    for r in refs:
        if (r.module, r.level) != (m.ref.module, m.ref.level) or (r.line, r.column) in guarded:
            continue
        if not m.ref.names or set(r.names) & set(m.ref.names):
            return r.line
    return None


def _rejected_provides(wanted: str, paths: Iterable[str]) -> bool:
    return any(p.startswith(wanted + ".") or p.startswith(wanted + "/") for p in paths)
