"""Courses: ``POST /patients/{id}/courses`` plans a protocol for a patient (dry run or booked)."""

from __future__ import annotations

from flask import g, request

from scheduler import access
from scheduler.api import bp, serialize, with_token
from scheduler.api import parsing as p
from scheduler.api.flags import plausible
from scheduler.api.idempotency import idempotent
from scheduler.auth import require
from scheduler.domain.values import Preferences
from scheduler.domain.vocabulary import WEEKDAYS
from scheduler.errors import UnprocessableError, ValidationError
from scheduler.models import Course
from scheduler.services import courses as service
from scheduler.services import flags as flag_service
from scheduler.services import inputs

FIELDS = {
    "protocol",
    "clinic_id",
    "start_on",
    "preferences",
    "dry_run",
    "override_reason",
    "include_maintenance",
    "replaces_course_id",
    "stop_reason",
}
PREFERENCE_FIELDS = {"weekdays", "earliest", "latest", "room_id", "staff_member_id"}


def _preferences(body: dict) -> Preferences:
    raw = body.get("preferences")
    if raw is None:
        return Preferences()
    if not isinstance(raw, dict):
        raise ValidationError("preferences must be an object.", field="preferences")
    unknown = sorted(set(raw) - PREFERENCE_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown field preferences.{unknown[0]}.", field=f"preferences.{unknown[0]}")
    weekdays = raw.get("weekdays")
    if weekdays is not None:
        if not isinstance(weekdays, list) or not weekdays or any(w not in WEEKDAYS for w in weekdays):
            raise ValidationError(
                f"preferences.weekdays must be a non-empty list drawn from {', '.join(WEEKDAYS)}.",
                field="preferences.weekdays",
            )
        weekdays = frozenset(WEEKDAYS.index(w) for w in weekdays)
    earliest = p.parse_time(raw["earliest"], "preferences.earliest") if raw.get("earliest") is not None else None
    latest = p.parse_time(raw["latest"], "preferences.latest") if raw.get("latest") is not None else None
    if earliest and latest and latest <= earliest:
        raise UnprocessableError("preferences.latest must be after preferences.earliest.", field="preferences.latest")
    return Preferences(
        weekdays=weekdays,
        earliest=earliest,
        latest=latest,
        room_id=_preferred_id(raw, "room_id"),
        staff_member_id=_preferred_id(raw, "staff_member_id"),
    )


def _preferred_id(raw: dict, name: str) -> int | None:
    try:
        return p.integer(raw, name, required=False, minimum=1)
    except ValidationError as exc:
        raise ValidationError(f"preferences.{exc.message}", field=f"preferences.{name}") from None


def _render(result: service.CourseResult, flags: list) -> dict:
    tz = result.timezone
    if result.course is not None:
        sessions = [serialize.session(s, tz) for s in result.sessions]
    else:
        sessions = [
            {
                **ps.to_dict(),
                "starts_at": serialize.instant(ps.starts_at, tz),
                "ends_at": serialize.instant(ps.ends_at, tz),
                "status": "proposed",
            }
            for ps in result.plan.sessions
        ]
    return {
        "course": serialize.course(result.course) if result.course is not None else None,
        "protocol": result.plan.protocol_key,
        "dry_run": result.course is None,
        "sessions": sessions,
        "problems": [pr.to_dict() for pr in result.plan.problems],
        "flags": flags,
        "next_due": result.next_due.to_dict() if result.next_due else None,
        "replaced_course": serialize.course(result.replaced) if result.replaced is not None else None,
        "cancelled_session_ids": list(result.cancelled_session_ids),
    }


def _course_reads() -> tuple[int, None] | None:
    """What a course request's token statement reads with it (``with_token``): the patient the path
    names (a too large id is 0 there: ``api.BoundedInt``)."""
    patient_id = with_token.well_formed_id((request.view_args or {}).get("patient_id"))
    return None if patient_id is None else (patient_id, None)


@bp.post("/patients/<int:patient_id>/courses")
@require("book")
@idempotent
def create_course(patient_id: int):
    first = with_token.take(patient_id) or inputs.patient_with_courses(patient_id)
    patient = first.patient
    body = p.json_body()
    p.reject_unknown(body, FIELDS)
    key = p.string(body, "protocol", max_length=64)
    clinic = inputs.clinic_row(p.integer(body, "clinic_id", minimum=1))
    start_on = plausible(p.date_field(body, "start_on"), "start_on")
    prefs = _preferences(body)
    dry_run = p.boolean(body, "dry_run")
    replaces = p.integer(body, "replaces_course_id", required=False, minimum=1)
    stop_reason = p.string(body, "stop_reason", required=False, max_length=500) or None
    if stop_reason and replaces is None:
        raise ValidationError("stop_reason goes with replaces_course_id (the course to stop).", field="stop_reason")
    result = service.plan_and_book(
        g.user.id,
        patient.id,
        clinic.id,
        key,
        start_on,
        prefs,
        dry_run=dry_run,
        override_reason=p.string(body, "override_reason", required=False, max_length=500) or None,
        include_maintenance=p.boolean(body, "include_maintenance", default=True),
        replaces_course_id=replaces,
        stop_reason=stop_reason,
        courses=first.courses,
        has_authorizations=first.has_authorizations,
    )
    if dry_run:  # what the plan would show once booked; plan_sessions index into "sessions"
        flags = [{**serialize.flag(f), "plan_sessions": indexes} for f, indexes in result.flags]
    else:
        flags = [serialize.flag(f) for f in flag_service.for_patient(patient.id)]
    return _render(result, flags), 200 if dry_run else 201


with_token.reads_with_token("api.create_course", _course_reads)


@bp.get("/patients/<int:patient_id>/courses")
@access.logged
@require("read_schedule")
def list_courses(patient_id: int):
    from sqlalchemy import select

    from scheduler.db import db_session
    from scheduler.services import scope

    patient = inputs.patient_row(patient_id)
    rows = db_session.scalars(
        select(Course)
        .where(Course.patient_id == patient.id, scope.clinic_clause(Course.clinic_id))
        .order_by(Course.start_on)
    ).all()
    access.log_read("courses", patient.id)
    return {"courses": [serialize.course(c) for c in rows]}
