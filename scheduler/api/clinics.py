"""Clinics and their closures."""

from __future__ import annotations

from flask import g
from sqlalchemy import select

from scheduler.api import bp, serialize
from scheduler.api import parsing as p
from scheduler.auth import require
from scheduler.db import db_session
from scheduler.domain.messaging import REMINDER_HOURS_KEYS
from scheduler.errors import UnprocessableError, ValidationError
from scheduler.models import Clinic
from scheduler.services import directory, scope


@bp.post("/clinics")
@require("manage_clinic")
def create_clinic():
    body = p.json_body()
    p.reject_unknown(body, {"name", "timezone", "hours", *SETTINGS})
    clinic = directory.create_clinic(
        g.user.id,
        name=p.string(body, "name"),
        timezone=p.timezone_field(body, "timezone"),
        hours=p.weekly_hours(p.get(body, "hours"), "hours"),
        settings=_settings(body),
    )
    return serialize.clinic(clinic), 201


SETTINGS = {"waitlist_auto_offer", "reminder_hours", "rems_certification_id"}


def _reminder_hours(value) -> dict | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not value:
        raise ValidationError(
            "reminder_hours must be an object of session kind (or default) to a list of hours.", field="reminder_hours"
        )
    out = {}
    for kind, hours in value.items():
        where = f"reminder_hours.{kind}"
        if kind not in REMINDER_HOURS_KEYS:
            raise ValidationError(
                f"{where}: unknown session kind (one of {', '.join(REMINDER_HOURS_KEYS)}).", field=where
            )
        if (
            not isinstance(hours, list)
            or len(hours) > 6
            or any(isinstance(h, bool) or not isinstance(h, int) or not 1 <= h <= 336 for h in hours)
        ):
            raise ValidationError(f"{where} must be a list of at most 6 whole hours from 1 to 336.", field=where)
        out[kind] = sorted(set(hours), reverse=True)
    return out


def _settings(body: dict) -> dict:
    out: dict = {}
    if "waitlist_auto_offer" in body:
        out["waitlist_auto_offer"] = p.integer(body, "waitlist_auto_offer", minimum=0, maximum=20)
    if "reminder_hours" in body:
        out["reminder_hours"] = _reminder_hours(body["reminder_hours"])
    if "rems_certification_id" in body:  # the Spravato REMS certification; null: not certified
        out["rems_certification_id"] = p.string(body, "rems_certification_id", required=False, max_length=64) or None
    return out


@bp.patch("/clinics/<int:clinic_id>")
@require("manage_clinic")
def update_clinic(clinic_id: int):
    clinic = p.get_or_404(Clinic, clinic_id)
    body = p.json_body()
    p.reject_unknown(body, {"name", *SETTINGS})
    changes = _settings(body)
    if "name" in body:
        changes["name"] = p.string(body, "name")
    directory.update_clinic(g.user.id, clinic, changes)
    return serialize.clinic(clinic)


@bp.get("/clinics")
@require("read_schedule")
def list_clinics():
    clinics = db_session.scalars(select(Clinic).where(scope.clinic_clause(Clinic.id)).order_by(Clinic.name)).all()
    return {"clinics": [serialize.clinic(c, with_closures=False) for c in clinics]}


@bp.get("/clinics/<int:clinic_id>")
@require("read_schedule")
def get_clinic(clinic_id: int):
    return serialize.clinic(p.get_or_404(Clinic, clinic_id))


@bp.post("/clinics/<int:clinic_id>/closures")
@require("manage_clinic")
def add_closure(clinic_id: int):
    clinic = p.get_or_404(Clinic, clinic_id)
    body = p.json_body()
    p.reject_unknown(body, {"starts_on", "ends_on", "reason", "from_time", "until_time"})
    starts_on = p.date_field(body, "starts_on")
    ends_on = p.date_field(body, "ends_on", required=False) or starts_on
    if ends_on < starts_on:
        raise UnprocessableError("ends_on is before starts_on.", field="ends_on")
    from_time = p.parse_time(body["from_time"], "from_time") if body.get("from_time") else None
    until_time = p.parse_time(body["until_time"], "until_time") if body.get("until_time") else None
    if from_time and until_time and not from_time < until_time:
        raise UnprocessableError("until_time must be after from_time.", field="until_time")
    closure = directory.add_closure(
        g.user.id,
        clinic,
        starts_on=starts_on,
        ends_on=ends_on,
        reason=p.string(body, "reason", required=False, default="") or "",
        from_time=from_time,
        until_time=until_time,
    )
    return serialize.closure(closure), 201


@bp.get("/clinics/<int:clinic_id>/closures")
@require("read_schedule")
def list_closures(clinic_id: int):
    clinic = p.get_or_404(Clinic, clinic_id)
    return {"closures": [serialize.closure(c) for c in clinic.closures]}
