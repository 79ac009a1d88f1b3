"""What a file imports, read from its content: Python (with `ast`) and JavaScript/TypeScript
(`import`/`require`/`export from` of relative paths). Pure functions on text; path resolution
goes through an `exists(path) -> bool` callable so callers decide what "exists" means (the
plan's resulting tree, the disk, or both)."""
from __future__ import annotations

import ast
import bisect
import posixpath
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable, Iterable

PY_ROOTS = ("", "src/", "lib/", "python/")
JS_EXTS = (".ts", ".tsx", ".mts", ".cts", ".js", ".jsx", ".mjs", ".cjs", ".json", ".vue", ".svelte")
JS_SOURCE_EXTS = (".ts", ".tsx", ".mts", ".cts", ".js", ".jsx", ".mjs", ".cjs", ".vue", ".svelte")


@dataclass
class PyImport:
    module: str            # dotted name after the dots ("" for `from . import x`)
    level: int             # 0 absolute, 1 for ".", 2 for ".."
    names: list[str] = field(default_factory=list)   # `from m import a, b` -> ["a", "b"]; [] for `import m`
    line: int = 1
    column: int = 1


def py_imports(source: bytes | str) -> list[PyImport] | None:
    """The imports of Python source (None if it does not parse). Imports nested in functions
    and `if TYPE_CHECKING:` blocks count too: they still name a dependency. Cached by content:
    the order and the import check read the same files (and `seed` brings in what the
    analysis cache under `.wopt/cache/` kept from an earlier run)."""
    if source in _seeded:
        return _seeded[source]
    return _py_imports(source)


_seeded: dict[bytes | str, list[PyImport] | None] = {}


def seed(source: bytes | str, refs: list[PyImport] | None) -> None:
    """Known imports of `source` (from the analysis cache): py_imports answers without parsing."""
    if len(_seeded) > 65536:
        _seeded.clear()
    _seeded[source] = refs


@lru_cache(maxsize=16384)
def _py_imports(source: bytes | str) -> list[PyImport] | None:
    if (b"import" not in source) if isinstance(source, bytes) else ("import" not in source):
        return []
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return None
    return tree_imports(tree, source if isinstance(source, bytes) else None)


# per node type, its fields that hold statements (bodies, else and finally blocks, except
# handlers, match cases); every other statement holds none
_BODIES = ("body", "orelse", "finalbody", "handlers", "cases")
_STMT_FIELDS: dict[type, tuple[str, ...]] = {
    cls: tuple(f for f in getattr(cls, "_fields") if f in _BODIES)
    for cls in (ast.Module, ast.Interactive, ast.ExceptHandler, ast.match_case,
                *(c for c in vars(ast).values() if isinstance(c, type) and issubclass(c, ast.stmt)))}


_IMPORT_WORD = re.compile(rb"(?<!\w)import(?!\w)")


def tree_imports(tree: ast.AST, source: bytes | None = None) -> list[PyImport]:
    """The imports of a parsed module, in source order. Imports are statements, and
    statements sit only in the statement lists of other statements, so only those are
    walked, never expressions. Given the `source` it was parsed from, a statement whose
    lines hold no word `import` is not entered: every import statement, and so every
    statement around one, spans the line of its keyword."""
    out: list[PyImport] = []
    stack: list[ast.AST] = [tree]
    fields_of = _STMT_FIELDS
    lines: list[int] | None = None
    if source is not None and b"\r" not in source:     # (a lone CR ends a line for Python)
        lines, at, n = [], 0, 1
        for m in _IMPORT_WORD.finditer(source):
            n += source.count(b"\n", at, m.start())
            at = m.start()
            if not lines or lines[-1] != n:
                lines.append(n)
    while stack:
        node = stack.pop()
        if lines is not None and node is not tree:
            a = getattr(node, "lineno", None)
            b = getattr(node, "end_lineno", None)
            if a is not None and b is not None:
                k = bisect.bisect_left(lines, a)
                if k == len(lines) or lines[k] > b:
                    continue
        if isinstance(node, ast.Import):
            for a in node.names:
                out.append(PyImport(a.name, 0, [], node.lineno, node.col_offset + 1))
        elif isinstance(node, ast.ImportFrom):
            out.append(PyImport(node.module or "", node.level or 0, [a.name for a in node.names],
                                node.lineno, node.col_offset + 1))
        else:
            fields = fields_of.get(node.__class__)
            if fields is None:     # a node type this table does not know: look at every field
                fields = _BODIES
            for f in fields:
                sub = getattr(node, f, None)
                if sub.__class__ is list:
                    stack.extend(sub)
    out.sort(key=lambda i: (i.line, i.column))
    return out


def imports_after_parse(source: bytes, tree: ast.AST | None) -> list[PyImport] | None:
    """What `py_imports(source)` answers, from a parse the caller already made (`tree` None:
    the source does not parse)."""
    if b"import" not in source:
        return []
    return None if tree is None else tree_imports(tree, source)


def py_module_paths(module: str, *, importer: str, level: int) -> list[str]:
    """Candidate file paths of a module: `m.py` and `m/__init__.py` under each source root
    (absolute) or under the importer's package (relative)."""
    rel = module.replace(".", "/") if module else ""
    if level:
        base = posixpath.dirname(importer)
        for _ in range(level - 1):
            base = posixpath.dirname(base)
        stem = posixpath.join(base, rel) if rel else base
        stems = [stem]
    else:
        stems = [root + rel for root in PY_ROOTS]
    out = []
    for s in stems:
        if not s:
            continue
        s = s.lstrip("/")
        if rel or level:
            out.append(s + "/__init__.py")
        if rel:
            out.append(s + ".py")
    return out


def py_targets(imp: PyImport, importer: str) -> list[tuple[str, list[str]]]:
    """(dotted name, candidate paths) for every module an import loads: each parent package,
    the module, and for `from m import x` the possible submodule m.x."""
    out = []
    parts = imp.module.split(".") if imp.module else []
    for k in range(1, len(parts) + 1):
        name = ".".join(parts[:k])
        if imp.level and k < len(parts):
            continue  # a relative import's parents are the importer's own packages
        out.append((name, py_module_paths(name, importer=importer, level=imp.level)))
    if imp.level and not parts:
        out.append(("." * imp.level, py_module_paths("", importer=importer, level=imp.level)))
    for n in imp.names:
        if n == "*":
            continue
        name = f"{imp.module}.{n}" if imp.module else n
        out.append((name, [p for p in py_module_paths(name, importer=importer, level=imp.level)]))
    return out


def py_module_name(path: str) -> str | None:
    """The dotted module name of a .py path, without a source root ("src/pkg/a.py" -> "pkg.a")."""
    if not path.endswith(".py"):
        return None
    for root in PY_ROOTS[1:]:
        if path.startswith(root):
            path = path[len(root):]
            break
    stem = path[:-3]
    if stem.endswith("/__init__") or stem == "__init__":
        stem = stem[: -len("__init__")].rstrip("/")
    return stem.replace("/", ".") or None


# --------------------------------------------------------------------------- JavaScript / TypeScript

_JS_RE = re.compile(
    r"""(?:\bimport\s+(?:type\s+)?(?:[\w*${}\s,]+?\s+from\s+)?|\bexport\s+(?:type\s+)?[\w*${}\s,]*?\s*from\s+|"""
    r"""\brequire\s*\(\s*|\bimport\s*\(\s*)(['"])([^'"\n]+)\1""")


def js_imports(text: str) -> list[tuple[str, int]]:
    """(specifier, line) of each static import, `export ... from`, require() and import()."""
    out = []
    for m in _JS_RE.finditer(text):
        out.append((m.group(2), text.count("\n", 0, m.start()) + 1))
    return out


def js_resolve(spec: str, importer: str, exists: Callable[[str], bool]) -> str | None:
    """The file a relative specifier names, trying the usual extensions and index files; a
    `.js` specifier may name a `.ts` source (TypeScript's ESM convention)."""
    if not (spec.startswith("./") or spec.startswith("../")):
        return None
    p = posixpath.normpath(posixpath.join(posixpath.dirname(importer), spec))
    if p.startswith("../") or p == "..":
        return None
    cands = [p]
    stem, ext = posixpath.splitext(p)
    if ext in (".js", ".jsx", ".mjs", ".cjs"):
        cands += [stem + e for e in (".ts", ".tsx", ".mts", ".cts")]
    cands += [p + e for e in JS_EXTS]
    cands += [p + "/index" + e for e in JS_EXTS]
    for c in cands:
        if exists(c):
            return c
    return None


def is_js(path: str) -> bool:
    return path.endswith(JS_SOURCE_EXTS)


def first_existing(paths: Iterable[str], exists: Callable[[str], bool]) -> str | None:
    for p in paths:
        if exists(p):
            return p
    return None
