"""Clinicians: role, working hours, capacity, time off."""

from __future__ import annotations

from flask import g
from sqlalchemy import select

from scheduler.api import bp, serialize
from scheduler.api import parsing as p
from scheduler.auth import require
from scheduler.db import db_session
from scheduler.domain.vocabulary import STAFF_ROLES
from scheduler.errors import UnprocessableError
from scheduler.models import Clinic, StaffMember
from scheduler.services import directory, scope


@bp.post("/staff")
@require("manage_clinic")
def create_staff_member():
    body = p.json_body()
    p.reject_unknown(body, {"clinic_id", "name", "role", "hours", "capacity"})
    clinic = p.get_or_404(Clinic, p.integer(body, "clinic_id"), "clinic")
    hours = p.weekly_hours(body["hours"], "hours") if body.get("hours") is not None else None
    member = directory.create_staff_member(
        g.user.id,
        clinic,
        name=p.string(body, "name"),
        role=p.choice(body, "role", STAFF_ROLES),
        capacity=p.integer(body, "capacity", required=False, minimum=1, maximum=20, default=1),
        hours=hours,
    )
    return serialize.staff_member(member), 201


@bp.get("/staff")
@require("read_schedule")
def list_staff():
    query = (
        select(StaffMember)
        .where(scope.clinic_clause(StaffMember.clinic_id))
        .order_by(StaffMember.clinic_id, StaffMember.name)
    )
    clinic_id = p.query_int("clinic_id")
    if clinic_id is not None:
        query = query.where(StaffMember.clinic_id == clinic_id)
    return {"staff": [serialize.staff_member(s) for s in db_session.scalars(query)]}


@bp.get("/staff/<int:staff_id>")
@require("read_schedule")
def get_staff_member(staff_id: int):
    return serialize.staff_member(p.get_or_404(StaffMember, staff_id, "staff member"))


@bp.post("/staff/<int:staff_id>/time_off")
@require("manage_clinic")
def add_time_off(staff_id: int):
    member = p.get_or_404(StaffMember, staff_id, "staff member")
    body = p.json_body()
    p.reject_unknown(body, {"starts_at", "ends_at", "reason"})
    starts_at = p.parse_instant(p.get(body, "starts_at"), "starts_at")
    ends_at = p.parse_instant(p.get(body, "ends_at"), "ends_at")
    if not starts_at < ends_at:
        raise UnprocessableError("ends_at must be after starts_at.", field="ends_at")
    directory.add_time_off(
        g.user.id,
        member,
        starts_at=starts_at,
        ends_at=ends_at,
        reason=p.string(body, "reason", required=False, default="") or "",
    )
    return serialize.staff_member(member), 201
