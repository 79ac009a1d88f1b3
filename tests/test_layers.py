"""The engine's layers import only downward (each subpackage's docstring says what it owns and
may import), every engine module belongs to a layer, and the engine never imports the review
app or Textual. Imports under `if TYPE_CHECKING:` name types only and are not counted."""
from __future__ import annotations

import ast
import shutil
from pathlib import Path

ENGINE = Path(__file__).resolve().parent.parent / "engine"

# what each layer may import, besides itself
ALLOWED = {
    "model": set(),
    "store": {"model"},
    "analysis": {"model", "store"},
    "sources": {"model", "store"},
    "tx": {"model", "store", "analysis"},
    "agents": {"model", "store", "analysis", "sources", "tx"},
    "cli": {"model", "store", "analysis", "sources", "tx", "agents"},
}


def _type_only(tree: ast.AST) -> set[int]:
    """The ids of nodes under `if TYPE_CHECKING:`: imports that name types for annotations and
    run nothing (a store function may take a `ReviewModel` without importing the analysis)."""
    out: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and (
                (isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING")
                or (isinstance(node.test, ast.Attribute) and node.test.attr == "TYPE_CHECKING")):
            out |= {id(n) for stmt in node.body for n in ast.walk(stmt)}
    return out


def _imports(engine: Path, path: Path) -> list[tuple[int, str]]:
    """(line, absolute module below `engine`) of every import in the file that runs, lazy ones
    inside functions too; `wopt.engine.x` is read as `engine.x`."""
    parts = list(path.relative_to(engine.parent).with_suffix("").parts)
    pkg = parts[:-1]
    out: list[tuple[int, str]] = []
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _type_only(tree)
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg[: len(pkg) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
                if node.module is None:   # from . import x: each name may be a module
                    out += [(node.lineno, f"{mod}.{a.name}") for a in node.names]
                    continue
            else:
                mod = node.module or ""
            out.append((node.lineno, mod))
    return [(line, m[len("wopt."):] if m.startswith("wopt.") else m) for line, m in out]


def violations(engine: Path) -> list[str]:
    """Each import of the engine at `engine` that goes upward, sideways into a layer not
    allowed, or into the app."""
    wrong = []
    for path in sorted(engine.rglob("*.py")):
        rel = path.relative_to(engine.parent)
        layer = rel.parts[1] if len(rel.parts) > 2 else None
        for line, mod in _imports(engine, path):
            names = mod.split(".")
            if names[0] in ("tui", "textual"):
                wrong.append(f"{rel}:{line} imports {mod}")
                continue
            if names[0] != "engine" or layer is None or len(names) < 2:
                continue
            target = names[1]
            if target == layer or target not in ALLOWED:
                continue
            if target not in ALLOWED[layer]:
                wrong.append(f"{rel}:{line} ({layer}) imports {mod} ({target})")
    return wrong


def test_every_engine_module_belongs_to_a_layer_that_says_what_it_may_import():
    top = sorted(p.name for p in ENGINE.glob("*.py") if p.name != "__init__.py")
    assert top == [], f"modules outside the layers: {top}"
    layers = sorted(p.name for p in ENGINE.iterdir() if (p / "__init__.py").exists())
    assert layers == sorted(ALLOWED)
    for layer in layers:
        doc = ast.get_docstring(ast.parse((ENGINE / layer / "__init__.py").read_text(encoding="utf-8")))
        assert doc and "May import" in doc, f"engine/{layer}/__init__.py says what it may import"


def test_layers_import_only_downward_and_never_the_app():
    assert violations(ENGINE) == []


def test_an_upward_or_app_import_is_caught(tmp_path):
    """The check reads relative imports, lazy ones and `wopt.` ones: a store module that
    imports the transaction, and a model module that imports Textual, are both named."""
    copy = tmp_path / "engine"
    shutil.copytree(ENGINE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    spool = copy / "store" / "spool.py"
    spool.write_text(spool.read_text(encoding="utf-8")
                     + "\n\ndef _late():\n    from ..tx import apply\n    return apply\n", encoding="utf-8")
    plan = copy / "model" / "plan.py"
    plan.write_text(plan.read_text(encoding="utf-8") + "\nfrom wopt.engine.agents import hook\nimport textual\n",
                    encoding="utf-8")
    found = violations(copy)
    assert any(v.startswith("engine/store/spool.py") and "(store) imports engine.tx" in v for v in found), found
    assert any(v.startswith("engine/model/plan.py") and "engine.agents" in v for v in found), found
    assert any(v.startswith("engine/model/plan.py") and v.endswith("imports textual") for v in found), found
