"""wopt's own plan JSON (the format `wopt schema` prints): decoded as is, no workspace needed."""
from __future__ import annotations

from typing import Any

from ..model.plan import Plan, decode_plan


def read(data: bytes, ws: Any = None, *, name: str | None = None) -> Plan:
    return decode_plan(data, file=name)
