"""`.wopt/templates/<name>.json`: the template families a person approved whole, saved so that
later plans say "matches saved template X (used N times)".

The analysis reads them (`load_saved`; it never writes); an apply that commits saves the
families its review approved whole (`save_approved_families`). A file is JSON, indented:

    {"name", "template" (Jinja2), "slots": [names], "uses", "files", "created", "updated",
     "example" (a member's path)}

A file that is not JSON, or lacks a name or a template, is skipped; keys wopt does not know
are kept when it counts a use.
"""
from __future__ import annotations

import json
import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .workspace import Workspace

if TYPE_CHECKING:
    from ..analysis.model import Family, ReviewModel
    from ..model.review import Review

_FIELDS = ("name", "template", "slots", "uses", "files", "created", "updated", "example")


@dataclass(slots=True)
class SavedTemplate:
    name: str
    template: str
    slots: list[str] = field(default_factory=list)
    uses: int = 0                 # applies that carried a family of it
    files: int = 0                # files those families wrote
    created: str | None = None
    updated: str | None = None
    example: str | None = None    # a member's path
    extra: dict[str, Any] = field(default_factory=dict)   # keys wopt does not know, kept

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {k: getattr(self, k) for k in _FIELDS}
        d.update(self.extra)
        return d

    @classmethod
    def from_json(cls, rec: Any) -> SavedTemplate | None:
        """The template a file holds, or None when it is not one (no name or template)."""
        if not (isinstance(rec, dict) and isinstance(rec.get("template"), str) and rec.get("name")):
            return None
        slots = rec.get("slots")
        return cls(name=str(rec["name"]), template=rec["template"],
                   slots=[str(s) for s in slots] if isinstance(slots, list) else [],
                   uses=_int(rec.get("uses")), files=_int(rec.get("files")),
                   created=_opt_str(rec.get("created")), updated=_opt_str(rec.get("updated")),
                   example=_opt_str(rec.get("example")),
                   extra={k: v for k, v in rec.items() if k not in _FIELDS})


def _int(v: Any) -> int:
    try:
        return int(v or 0)
    except (TypeError, ValueError):
        return 0


def _opt_str(v: Any) -> str | None:
    return v if isinstance(v, str) else None


def templates_dir(ws: Workspace) -> Path:
    return ws.spool / "templates"


def load_saved(ws: Workspace) -> list[SavedTemplate]:
    """Every saved template, by file name."""
    d = templates_dir(ws)
    if not d.is_dir():
        return []
    out = []
    for f in sorted(d.glob("*.json")):
        try:
            rec = SavedTemplate.from_json(json.loads(f.read_text("utf-8")))
        except (OSError, ValueError):
            continue
        if rec is not None:
            out.append(rec)
    return out


def _slug(s: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", s).strip("-.") or "template"


def _write(ws: Workspace, rec: SavedTemplate) -> None:
    from . import spool
    spool.atomic_write(templates_dir(ws) / f"{rec.name}.json", json.dumps(rec.to_json(), indent=2).encode())


def save_family(ws: Workspace, family: Family, *, name: str | None = None) -> str:
    """Save an approved family to `.wopt/templates/<name>.json` (or count one more use of the
    saved template it matches); return the saved name."""
    from . import spool
    spool.ensure(ws)
    d = templates_dir(ws)
    now = spool.now_iso()
    for rec in load_saved(ws):
        if rec.template == family.template or rec.name == family.saved_as:
            rec.uses += 1
            rec.files += len(family.members)
            rec.updated = now
            _write(ws, rec)
            return rec.name
    if name is None:
        first = family.members[0].path if family.members else "template"
        base = posixpath.basename(posixpath.dirname(first)) or "top"
        ext = posixpath.splitext(first)[1].lstrip(".") or "file"
        name = _slug(f"{base}-{ext}")
    name = _slug(name)
    final, k = name, 2
    while (d / f"{final}.json").exists():
        final = f"{name}-{k}"
        k += 1
    _write(ws, SavedTemplate(name=final, template=family.template, slots=list(family.slots), uses=1,
                             files=len(family.members), created=now, updated=now,
                             example=family.members[0].path if family.members else None))
    return final


def save_approved_families(ws: Workspace, model: ReviewModel, review: Review) -> list[str]:
    """Save every family of `model` whose members the review approved, all of them."""
    from ..model.review import APPROVED
    names = []
    for fam in model.families:
        if fam.members and all(review.decision(m.step) == APPROVED for m in fam.members):
            names.append(save_family(ws, fam))
    return names
