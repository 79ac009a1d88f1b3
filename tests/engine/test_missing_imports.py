"""Python imports that no file provides after the apply: flagged only when certain (relative
imports inside a regular package, absolute imports below a regular package of the workspace),
never on valid code (the standard library's email, json and importlib packages and wopt's
own engine, rewritten unchanged, give no finding)."""
from __future__ import annotations

import email
import importlib
import json
import os
import shutil
from pathlib import Path

import pytest

from wopt.engine.analysis.missing import Disk, missing_imports
from wopt.engine.store.workspace import Workspace

ENGINE = Path(__file__).resolve().parents[2] / "engine"


def ws_with(tmp_path, files: dict[str, str]) -> Workspace:
    for rel, text in files.items():
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return Workspace(tmp_path)


def found(tmp_path, disk: dict[str, str], plan: dict[str, str | None]) -> list[tuple[str, int, str]]:
    ws = ws_with(tmp_path, disk)
    files = {p: (t.encode() if t is not None else None) for p, t in plan.items()}
    return [(m.path, m.line, m.text()) for m in missing_imports(files, Disk(ws))]


def test_relative_import_of_a_module_nobody_provides(tmp_path):
    got = found(tmp_path, {"shop/__init__.py": ""},
                {"shop/cart.py": "import os\nfrom .pricing import total\n"})
    assert got == [("shop/cart.py", 2, "imports .pricing, which no file provides after the apply "
                                       "(no shop/pricing.py or shop/pricing/)")]


def test_present_on_disk_created_by_the_plan_or_as_extension_module(tmp_path):
    disk = {"shop/__init__.py": "", "shop/a.py": "", "shop/_speed.cpython-311-x86_64-linux-gnu.so": "",
            "shop/old.pyc": "", "shop/sub/x.py": "", "shop/ns/data.txt": ""}
    plan = {"shop/cart.py": "from . import a\nfrom .b import f\nfrom ._speed import g\nfrom .old import h\n"
                            "from .sub import x\nfrom .sub.x import y\nfrom .ns import data\n",
            "shop/b.py": "def f(): pass\n"}
    assert found(tmp_path, disk, plan) == []


def test_absolute_import_below_a_workspace_package(tmp_path):
    disk = {"src/shop/__init__.py": "", "src/shop/payments/__init__.py": "CARDS = 1\n"}
    # `from shop.payments import klarna` may name a value: only modules below shop are said
    plan = {"src/shop/cart.py": "import shop.tax\nfrom shop.payments import klarna, CARDS\n"
                                "from shop.payments.stripe import Stripe\nimport requests.adapters\n"}
    assert found(tmp_path, disk, plan) == [
        ("src/shop/cart.py", 1, "imports shop.tax, which no file provides after the apply "
                                "(no src/shop/tax.py or src/shop/tax/)"),
        ("src/shop/cart.py", 3, "imports shop.payments.stripe, which no file provides after the apply "
                                "(no src/shop/payments/stripe.py or src/shop/payments/stripe/)"),
    ]


def test_a_module_the_plan_deletes_is_missing(tmp_path):
    disk = {"shop/__init__.py": "", "shop/pricing.py": "def total(): pass\n"}
    got = found(tmp_path, disk, {"shop/pricing.py": None, "shop/cart.py": "from .pricing import total\n"})
    assert [(p, line) for p, line, _ in got] == [("shop/cart.py", 1)]
    # a stale .pyc beside it still imports: not certain, not flagged
    (tmp_path / "shop/pricing.pyc").write_bytes(b"")
    assert missing_imports({"shop/pricing.py": None, "shop/cart.py": b"from .pricing import total\n"},
                           Disk(Workspace(tmp_path))) == []


def test_guarded_and_type_checking_imports_are_not_flagged(tmp_path):
    text = ("from typing import TYPE_CHECKING\n"
            "try:\n    from ._fast import speed\nexcept ImportError:\n    from ._slow import speed\n"
            "if TYPE_CHECKING:\n    from .types import Cart\n"
            "import sys\nif sys.platform == 'win32':\n    from . import _winapi\n"
            "if __name__ == '__main__':\n    from .cli import main\n"
            "import contextlib\nwith contextlib.suppress(ImportError):\n    from . import _extra\n"
            "def test():\n    def module_code():\n        from . import module\n    from .real import x\n"
            "def _for_freezers():\n    import shop.generated_tab\n"
            "import shop.tab\n")
    got = found(tmp_path, {"shop/__init__.py": ""}, {"shop/cart.py": text})
    assert [(p, line) for p, line, _ in got] == [("shop/cart.py", 12), ("shop/cart.py", 19),
                                                  ("shop/cart.py", 22)]


def test_uncertain_packages_are_not_flagged(tmp_path):
    disk = {"tricks/__init__.py": "__path__ = __import__('pkgutil').extend_path(__path__, __name__)\n",
            "mods/__init__.py": "import sys\nsys.modules[__name__ + '.virtual'] = sys\n",
            "lazy/__init__.py": "def __getattr__(name):\n    return name\n",
            "star/__init__.py": "from ._impl import *\n", "star/_impl.py": "",
            "file.py": "", "twice/__init__.py": "", "src/twice/__init__.py": "",
            "lib/elsewhere/__init__.py": ""}
    plan = {"app.py": "import tricks.x\nimport mods.virtual\nfrom lazy import anything\nfrom star import thing\n"
                      "import file.sub\nimport twice.x\nimport elsewhere.x\nimport os.nothing\n",
            # a namespace package (no __init__.py): other portions may provide the module
            "ns/mod.py": "from .other import x\n",
            # a module file (a.py), not a package: what is below it is not ours to say
            "pkg/__init__.py": "", "pkg/a.py": "", "pkg/b.py": "from .a.c import d\n",
            # above the workspace
            "top.py": "from .. import x\n", "syntax.py": "from .x import (\n"}
    assert found(tmp_path, disk, plan) == []


def test_from_package_import_name_defined_in_init(tmp_path):
    disk = {"shop/__init__.py": "from .core import Cart\nVERSION = '1'\n", "shop/core.py": "class Cart: pass\n",
            # names made where we cannot see them: an enum's members put in the module
            "flags/__init__.py": "import enum\n@enum.global_enum\nclass F(enum.IntFlag):\n    A = 1\n"}
    got = found(tmp_path, disk, {"shop/cli.py": "from . import Cart, VERSION, core, gone, __file__\n",
                                 "flags/use.py": "from . import A\n"})
    assert [m for _, _, m in got] == [
        "imports .gone, which no file provides after the apply "
        "(no shop/gone.py or shop/gone/, and shop/__init__.py does not define gone)"]


def _copy_tree(src: Path, dst: Path) -> dict[str, bytes]:
    """Copy a package's .py files; the plan writes each one unchanged."""
    out = {}
    for root, dirs, names in os.walk(src):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for n in names:
            if not n.endswith(".py"):
                continue
            p = Path(root) / n
            rel = (dst / p.relative_to(src)).as_posix()
            out[rel] = p.read_bytes()
    return out


@pytest.mark.parametrize("layout", ["", "src/"])
def test_no_finding_on_real_packages(tmp_path, layout):
    plan: dict[str, bytes | None] = {}
    for mod in (email, json, importlib):
        src = Path(mod.__file__).parent
        plan.update(_copy_tree(src, Path(layout + mod.__name__)))
    plan.update(_copy_tree(ENGINE, Path(layout + "engine")))
    assert len(plan) > 100
    # half on disk already (the plan rewrites them unchanged), half created by the plan
    for i, (rel, data) in enumerate(sorted(plan.items())):
        if i % 2:
            p = tmp_path / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data)
    got = missing_imports(plan, Disk(Workspace(tmp_path)))
    assert got == []
    # the check is live on this tree: deleting one module flags its importers
    plan["email/utils.py" if not layout else "src/email/utils.py"] = None
    got = missing_imports(plan, Disk(Workspace(tmp_path)))
    assert got and all("email.utils" in m.text() or "utils" in m.text() for m in got)
    shutil.rmtree(tmp_path)


def test_import_check_follows_decisions(tmp_path):
    """The review app's check: the steps in play after each set of decisions. A step that
    moves the module away is named; rejecting it clears the finding; a rejected edit on the
    importer's own file is taken out of its content (the steps in play are run again)."""
    from wopt.engine.analysis.missing import ImportCheck
    from wopt.engine.model.plan import Edit, EditStep, MoveStep, Plan, WriteStep

    ws = ws_with(tmp_path, {"shop/__init__.py": "", "shop/pricing.py": "def total(): pass\n"})
    plan = Plan(id="p", title="p", steps=[
        WriteStep(id="cart", path="shop/cart.py", content="from .pricing import total\nfrom .tax import vat\n"),
        EditStep(id="fix", path="shop/cart.py", edits=[Edit("from .tax import vat\n", "vat = 0\n")]),
        MoveStep(id="mv", path="shop/pricing.py", to="shop/rates.py"),
    ], created="2026-11-25T09:00:00Z")
    check = ImportCheck(ws, plan, None)
    decided: dict[str, str] = {}
    # the write and the edit after it both leave the import
    pricing = ("imports .pricing (line 1), which no file provides after the apply "
               "(no shop/pricing.py or shop/pricing/; step mv moves away shop/pricing.py)")
    assert check.find(lambda s: decided.get(s, "pending")) == {"cart": [pricing], "fix": [pricing]}
    decided["mv"] = "rejected"
    assert check.find(lambda s: decided.get(s, "pending")) == {}
    decided["fix"] = "rejected"
    assert check.find(lambda s: decided.get(s, "pending")) == {"cart": [
        "imports .tax (line 2), which no file provides after the apply (no shop/tax.py or shop/tax/)"]}
    decided["cart"] = "rejected"
    assert check.find(lambda s: decided.get(s, "pending")) == {}
