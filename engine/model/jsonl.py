"""JSON Lines, read leniently: one JSON object a line, blank lines skipped, and a line that is
not an object (a torn last line, a log's noise) reported as None rather than raised."""
from __future__ import annotations

import json

TYPE_CHECKING = False   # typing is imported only by the type checker (see errors.py)
if TYPE_CHECKING:
    from typing import AnyStr, Iterator


def iter_objects(data: AnyStr) -> Iterator[tuple[AnyStr, dict | None]]:
    """(line, its object or None) for every non-blank line of `data`."""
    for line in data.splitlines():
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            obj = None
        yield line, obj if isinstance(obj, dict) else None
