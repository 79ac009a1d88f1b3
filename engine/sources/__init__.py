"""Readers of what agents write, each producing a Plan. `read()` picks one by name or detects."""
from __future__ import annotations

from ..errors import UsageError
from ..plan import Plan, decode_plan

FORMATS = ("auto", "native")


def detect(data: bytes) -> str:
    return "native"


def read(data: bytes, fmt: str = "auto", ws=None, *, name: str | None = None) -> tuple[Plan, str]:
    """(plan, format used). Raises WoptError subclasses on bad input."""
    if fmt == "auto":
        fmt = detect(data)
    if fmt == "native":
        return decode_plan(data, file=name), fmt
    raise UsageError(f"unknown format {fmt!r} (known: {', '.join(FORMATS)})")
