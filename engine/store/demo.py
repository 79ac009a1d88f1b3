"""The bundled demo: a small sample project and pending plans, copied into a temporary
workspace so a newcomer sees the whole flow at once (`wopt-tui --demo`).

The plans show every part of a review: batches over several directories, a dependency chain
(config, a package, modules importing it, tests, docs), a template family with an outlier, an
invalid step (broken JSON), a stale step (a file changed after the agent read it), and a plan
folded from a Claude Code session. Everything is generated here, so the demo is the same on
every machine.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from ..model.plan import ABSENT, Edit, EditStep, Origin, Plan, Step, WriteStep, sha256

SESSION = "5b2c8e1a-0d4f-4e6b-9a3c-2f7d1e8b6c40"
CREATED = "2026-11-20T09:30:00Z"

PROJECT: dict[str, str] = {
    "README.md": "# shop\n\nA tiny shop backend.\n\n## Usage\n\nRun the shop with `make run`.\n",
    "pyproject.toml": '[project]\nname = "shop"\nversion = "1.0.0"\ndependencies = []\n',
    "src/shop/__init__.py": '"""A tiny shop backend."""\n__version__ = "1.0.0"\n',
    "src/shop/cart.py": (
        '"""Shopping cart."""\nfrom dataclasses import dataclass, field\n\n\n'
        "@dataclass\nclass Item:\n    name: str\n    price: float\n    qty: int = 1\n\n\n"
        "@dataclass\nclass Cart:\n    items: list[Item] = field(default_factory=list)\n\n"
        "    def add(self, item: Item) -> None:\n        self.items.append(item)\n\n"
        "    def subtotal(self) -> float:\n        return sum(i.price * i.qty for i in self.items)\n"),
    "src/shop/checkout.py": (
        '"""Checkout: turn a cart into an order."""\nfrom .cart import Cart\n\n\n'
        "def checkout(cart: Cart) -> dict:\n    total = cart.subtotal()\n"
        '    return {"total": total, "status": "pending"}\n'),
    "tests/test_cart.py": (
        "from shop.cart import Cart, Item\n\n\ndef test_subtotal():\n    cart = Cart()\n"
        '    cart.add(Item("tea", 2.5, 2))\n    assert cart.subtotal() == 5.0\n'),
    "config/settings.json": '{\n  "currency": "EUR",\n  "debug": false\n}\n',
    "docs/index.md": "# Shop docs\n\n- [Cart](cart.md)\n",
}

_PROVIDERS = [
    ("stripe", "Stripe", "2.9", "https://api.stripe.com/v1/charges"),
    ("paypal", "PayPal", "3.4", "https://api.paypal.com/v2/payments"),
    ("adyen", "Adyen", "2.2", "https://checkout.adyen.com/v71/payments"),
    ("mollie", "Mollie", "1.8", "https://api.mollie.com/v2/payments"),
]


def _provider(key: str, title: str, fee: str, url: str) -> str:
    return (f'"""{title} payment provider."""\nfrom .base import Provider\n\n\n'
            f"class {title}Provider(Provider):\n    name = \"{key}\"\n    fee_percent = {fee}\n"
            f'    endpoint = "{url}"\n')


def _w(sid: str, path: str, content: str, *, pre: str = ABSENT, deps=(), desc=None, mode=None) -> WriteStep:
    return WriteStep(id=sid, path=path, content=content, precondition=pre, depends_on=list(deps),
                     description=desc, mode=mode)


def stale_readme() -> str:
    """The README as the agent read it, before someone changed its first line."""
    return PROJECT["README.md"].replace("A tiny shop backend.", "A small shop backend.")


def payments_plan() -> Plan:
    steps: list[Step] = [
        # deliberately not in dependency order: wopt orders them
        _w("tests-payments", "tests/test_payments.py",
           "from shop.payments import PROVIDERS\n\n\ndef test_every_provider_has_a_fee():\n"
           "    assert all(p.fee_percent > 0 for p in PROVIDERS.values())\n",
           desc="test the providers"),
        _w("docs-payments", "docs/payments.md",
           "# Payments\n\nProviders: Stripe, PayPal, Adyen, Mollie, Klarna.\n"
           "Fees are in `src/shop/payments/`.\n", desc="document the providers"),
    ]
    for key, title, fee, url in _PROVIDERS:
        steps.append(_w(f"provider-{key}", f"src/shop/payments/{key}.py", _provider(key, title, fee, url),
                        desc=f"add the {title} provider"))
    steps.append(_w("provider-klarna", "src/shop/payments/klarna.py",
                    _provider("klarna", "Klarna", "2.99", "https://api.klarna.com/payments/v1")
                    + "    installments = True\n\n    def split(self, amount: float) -> list[float]:\n"
                    "        return [round(amount / 3, 2)] * 3\n",
                    desc="add Klarna (pays in three)"))
    steps += [
        _w("payments-base", "src/shop/payments/base.py",
           '"""What every payment provider has."""\n\n\nclass Provider:\n    name = ""\n'
           "    fee_percent = 0.0\n    endpoint = \"\"\n\n    def fee(self, amount: float) -> float:\n"
           "        return round(amount * self.fee_percent / 100, 2)\n", desc="the provider base class"),
        _w("payments-init", "src/shop/payments/__init__.py",
           '"""Payment providers by name."""\nfrom .adyen import AdyenProvider\nfrom .klarna import KlarnaProvider\n'
           "from .mollie import MollieProvider\nfrom .paypal import PayPalProvider\nfrom .stripe import StripeProvider\n\n"
           "PROVIDERS = {p.name: p() for p in (StripeProvider, PayPalProvider, AdyenProvider, MollieProvider, KlarnaProvider)}\n",
           desc="register the providers"),
        EditStep(id="checkout-pay", path="src/shop/checkout.py",
                 precondition=sha256(PROJECT["src/shop/checkout.py"].encode()),
                 edits=[Edit("from .cart import Cart\n", "from .cart import Cart\nfrom .payments import PROVIDERS\n"),
                        Edit("def checkout(cart: Cart) -> dict:\n    total = cart.subtotal()\n",
                             'def checkout(cart: Cart, provider: str = "stripe") -> dict:\n'
                             "    total = cart.subtotal()\n    total += PROVIDERS[provider].fee(total)\n")],
                 description="charge the provider's fee at checkout"),
        _w("pyproject-deps", "pyproject.toml",
           PROJECT["pyproject.toml"].replace("dependencies = []", 'dependencies = ["httpx>=0.27"]'),
           pre=sha256(PROJECT["pyproject.toml"].encode()), desc="providers talk HTTP"),
        _w("providers-config", "config/providers.json",
           '{\n  "default": "stripe",\n  "enabled": ["stripe", "paypal", "adyen",],\n}\n',
           desc="enable providers (the agent left a trailing comma)"),
        EditStep(id="readme-usage", path="README.md", precondition=sha256(stale_readme().encode()),
                 edits=[Edit("Run the shop with `make run`.\n",
                             "Run the shop with `make run`.\nPay with any provider in `config/providers.json`.\n")],
                 description="mention providers (the agent read an older README)"),
    ]
    return Plan(id="demo-payments", title="Add payment providers", source="native", agent="codex",
                created=CREATED, steps=steps)


def session_plan() -> Plan:
    cart = PROJECT["src/shop/cart.py"]
    return Plan(
        id="demo-session", title="Claude Code session 5b2c8e1a", source="claude-hook", agent="claude-code",
        session_id=SESSION, created="2026-11-20T09:41:00Z",
        steps=[
            EditStep(id="s1", path="src/shop/cart.py", precondition=sha256(cart.encode()),
                     edits=[Edit("    qty: int = 1\n", "    quantity: int = 1\n"),
                            Edit("i.qty", "i.quantity", replace_all=True)],
                     origin=[Origin(tool="Edit", call_id="toolu_01EditExample0000000001",
                                    summary="rename qty to quantity"),
                             Origin(tool="Edit", call_id="toolu_01EditExample0000000002",
                                    summary="use quantity in subtotal")],
                     description="rename Item.qty to Item.quantity"),
            WriteStep(id="s2", path="src/shop/discounts.py", precondition=ABSENT,
                      content='"""Discount codes."""\nfrom .cart import Cart\n\nCODES = {"WELCOME10": 0.10}\n\n\n'
                              "def apply_code(cart: Cart, code: str) -> float:\n"
                              "    return round(cart.subtotal() * (1 - CODES.get(code, 0.0)), 2)\n",
                      origin=[Origin(tool="Write", call_id="toolu_01WriteExample000000001",
                                     summary="create src/shop/discounts.py")],
                      description="discount codes"),
            EditStep(id="s3", path="tests/test_cart.py", precondition=sha256(PROJECT["tests/test_cart.py"].encode()),
                     edits=[Edit('Item("tea", 2.5, 2)', 'Item("tea", 2.5, quantity=2)')],
                     origin=[Origin(tool="Edit", call_id="toolu_01EditExample0000000003",
                                    summary="follow the rename in the test")]),
        ])


def make_demo(dest: str | os.PathLike | None = None) -> Path:
    """Create the demo workspace (in a new temporary directory unless `dest` is given) and
    return its root. The demo's plans wait in `.wopt/plans/`."""
    from . import spool
    from .workspace import Workspace

    root = Path(dest) if dest is not None else Path(tempfile.mkdtemp(prefix="wopt-demo-"))
    root.mkdir(parents=True, exist_ok=True)
    for rel, text in PROJECT.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8", newline="")
    ws = Workspace(root)
    for plan in (payments_plan(), session_plan()):
        spool.save_plan(ws, plan)
    # the README the agent read for the stale step, as wopt keeps it when a plan is stored
    # (ctrl+b in the review merges the step onto today's README)
    from .bases import keep_base
    keep_base(ws, stale_readme().encode())
    return ws.root
