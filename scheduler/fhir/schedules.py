"""``Schedule/room-<id>`` and ``Schedule/practitioner-<id>``: one per room and per staff member,
whose free time is searched as ``Slot?schedule=Schedule/room-<id>``."""

from __future__ import annotations

import re

from scheduler.auth import require
from scheduler.errors import NotFound, ValidationError
from scheduler.fhir import bp, fhir_response
from scheduler.fhir.directory import get
from scheduler.models import Room, StaffMember

KINDS = {"room": (Room, "Location", "room"), "practitioner": (StaffMember, "Practitioner", "staff member")}


def split(ident: str, field: str = "schedule") -> tuple[str, int]:
    """``room-3`` (also ``Schedule/room-3`` or the old ``room/3``) → ("room", 3)."""
    m = re.fullmatch(r"(?:Schedule/)?(room|practitioner)[-/](\d{1,9})", ident.strip())
    if m is None:
        raise ValidationError(f"{field} must be Schedule/room-<id> or Schedule/practitioner-<id>.", field=field)
    return m[1], int(m[2])


def owner(kind: str, number: int):
    model, _, what = KINDS[kind]
    return get(model, str(number), what)


def schedule(kind: str, row) -> dict:
    _, actor_type, what = KINDS[kind]
    return {
        "resourceType": "Schedule",
        "id": f"{kind}-{row.id}",
        "active": row.active,
        "actor": [{"reference": f"{actor_type}/{row.id}", "display": row.name}],
        "comment": f"Free time of the {what} {row.name}: search Slot?schedule=Schedule/{kind}-{row.id}.",
    }


@bp.get("/Schedule/<ident>")
@require("read_schedule")
def read_schedule(ident: str):
    try:
        kind, number = split(ident)
    except ValidationError:
        raise NotFound(f"No schedule with id {ident}.") from None
    return fhir_response(schedule(kind, owner(kind, number)))
