"""Rooms and chairs, with their capabilities."""

from __future__ import annotations

from flask import g
from sqlalchemy import select

from scheduler.api import bp, serialize
from scheduler.api import parsing as p
from scheduler.auth import require
from scheduler.db import db_session
from scheduler.domain.vocabulary import CAPABILITIES
from scheduler.errors import ValidationError
from scheduler.models import Clinic, Room
from scheduler.services import directory, scope


def _capabilities(body: dict) -> list[str]:
    value = p.get(body, "capabilities")
    if not isinstance(value, list) or not value:
        raise ValidationError("capabilities must be a non-empty list.", field="capabilities")
    for item in value:
        if item not in CAPABILITIES:
            raise ValidationError(
                f"capabilities: {item!r} is not one of {', '.join(CAPABILITIES)}.", field="capabilities"
            )
    return value


@bp.post("/rooms")
@require("manage_clinic")
def create_room():
    body = p.json_body()
    p.reject_unknown(body, {"clinic_id", "name", "capabilities"})
    clinic = p.get_or_404(Clinic, p.integer(body, "clinic_id"), "clinic")
    room = directory.create_room(
        g.user.id, clinic, name=p.string(body, "name", max_length=100), capabilities=_capabilities(body)
    )
    return serialize.room(room), 201


@bp.get("/rooms")
@require("read_schedule")
def list_rooms():
    query = select(Room).where(scope.clinic_clause(Room.clinic_id)).order_by(Room.clinic_id, Room.name)
    clinic_id = p.query_int("clinic_id")
    if clinic_id is not None:
        query = query.where(Room.clinic_id == clinic_id)
    return {"rooms": [serialize.room(r) for r in db_session.scalars(query)]}


@bp.get("/rooms/<int:room_id>")
@require("read_schedule")
def get_room(room_id: int):
    return serialize.room(p.get_or_404(Room, room_id))
