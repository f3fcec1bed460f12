"""Treatment sessions: book one, list a clinic's, and the actions (reschedule, cancel, reinstate,
check in, complete, no-show, replan). Each route is thin: parse → service → render."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Literal, overload

from flask import g, request

from scheduler import access
from scheduler.api import bp, serialize, with_token
from scheduler.api import parsing as p
from scheduler.api.flags import plausible, query_window
from scheduler.api.idempotency import idempotent
from scheduler.auth import require
from scheduler.domain.vocabulary import PHASES, ROUTES, SESSION_KINDS, SESSION_STATUSES
from scheduler.errors import NotFound, ValidationError
from scheduler.models import Course
from scheduler.services import booking, inputs, replanning, scope, setup_cache, suggestions
from scheduler.services import flags as flag_service
from scheduler.services import sessions as service

BOOK_FIELDS = {
    "patient_id",
    "room_id",
    "staff_member_id",
    "kind",
    "phase",
    "sequence",
    "route",
    "dose_mg",
    "course_id",
    "starts_at",
    "ends_at",
    "duration_minutes",
    "override_reason",
    "notes",
    "record_past",
    "status",
}
PAST_STATUSES = ("booked", "completed", "no_show", "cancelled")  # what a session entered as history may be
MAX_LIST_DAYS = 93


@overload
def _times(body: dict, *, required: Literal[True] = ...) -> tuple[datetime, datetime]: ...
@overload
def _times(body: dict, *, required: bool) -> tuple[datetime, datetime] | None: ...
def _times(body: dict, *, required: bool = True) -> tuple[datetime, datetime] | None:
    if body.get("starts_at") is None and not required:
        return None
    starts_at = plausible(p.parse_instant(p.get(body, "starts_at"), "starts_at"), "starts_at")
    if body.get("ends_at") is not None and body.get("duration_minutes") is not None:
        raise ValidationError("Give ends_at or duration_minutes, not both.", field="duration_minutes")
    if body.get("duration_minutes") is not None:
        minutes = p.integer(body, "duration_minutes", minimum=5, maximum=12 * 60)
        return starts_at, starts_at + timedelta(minutes=minutes)
    if body.get("ends_at") is None:
        raise ValidationError("ends_at (or duration_minutes) is required.", field="ends_at")
    return starts_at, plausible(p.parse_instant(body["ends_at"], "ends_at"), "ends_at")


def _dose_mg(body: dict) -> Decimal | None:
    raw = body.get("dose_mg")
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
        raise ValidationError("dose_mg must be a number.", field="dose_mg")
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        raise ValidationError("dose_mg must be a number.", field="dose_mg") from None
    if not value.is_finite() or value <= 0 or value >= Decimal("100000"):
        raise ValidationError("dose_mg must be a positive number below 100000.", field="dose_mg")
    value = value.quantize(Decimal("0.01"))  # 99999.999 rounds to 100000.00: past the column's numeric(7,2)
    if not Decimal("0") < value < Decimal("100000"):
        raise ValidationError("dose_mg must be a positive number below 100000 (two decimals).", field="dose_mg")
    return value


def _override(body: dict) -> str | None:
    return p.string(body, "override_reason", required=False, max_length=500) or None


def _version(body: dict) -> int:
    return p.integer(body, "version", minimum=1)


def _render(session, found: list | None = None):
    return serialize.session(session, flags=found)


def _booking_reads() -> tuple[int, int | None] | None:
    """What a booking's token statement reads with it (``with_token``): the patient the body names and
    the room's setup version, when the patient id is well formed."""
    body = request.get_json(silent=True)  # parsed already by the input guard
    body = body if isinstance(body, dict) else {}
    patient_id = with_token.well_formed_id(body.get("patient_id"))
    if patient_id is None:
        return None
    return patient_id, with_token.well_formed_id(body.get("room_id"))


@bp.post("/sessions")
@require("book")
@idempotent
def book_session():
    body = p.json_body()
    p.reject_unknown(body, BOOK_FIELDS)
    patient_id = p.integer(body, "patient_id", minimum=1)
    guess = with_token.well_formed_id(body.get("room_id"))  # read with the patient; parsed below as always
    first = with_token.take(patient_id, guess) or inputs.patient_with_courses(patient_id, guess)
    patient, courses = first.patient, first.courses
    room_id = p.integer(body, "room_id", minimum=1)
    # the room and its clinic's setup (cached)
    found_room = setup_cache.setup_of_room(room_id, known=room_id == guess, version=first.room_version)
    if found_room is None or not scope.may_see_clinic(found_room[0].clinic_id):
        raise NotFound(f"No room with id {room_id}.")
    setup, room = found_room
    course_id = p.integer(body, "course_id", required=False, minimum=1)
    if course_id is not None:
        course = p.get_or_404(Course, course_id, "course")
        if course.patient_id != patient.id:
            raise ValidationError(f"Course {course_id} belongs to another patient.", field="course_id")
        if course.clinic_id != setup.clinic_id:
            raise ValidationError(
                f"Course {course_id} runs at clinic {course.clinic_id}; choose one of its rooms.", field="room_id"
            )
    starts_at, ends_at = _times(body)
    req = booking.SessionRequest(
        clinic_id=setup.clinic_id,
        patient_id=patient.id,
        room_id=room.id,
        staff_member_id=p.integer(body, "staff_member_id", required=False, minimum=1),
        kind=p.choice(body, "kind", SESSION_KINDS),
        phase=p.choice(body, "phase", PHASES, required=False),
        sequence=p.integer(body, "sequence", required=False, minimum=1, maximum=1000),
        route=p.choice(body, "route", ROUTES, required=False),
        dose_mg=_dose_mg(body),
        course_id=course_id,
        starts_at=starts_at,
        ends_at=ends_at,
        notes=p.string(body, "notes", required=False, max_length=2000),
        override_reason=_override(body),
    )
    record_past = p.boolean(body, "record_past")
    status = p.choice(body, "status", PAST_STATUSES, required=False)
    if status is not None and not record_past:
        raise ValidationError("status goes with record_past: true (entering a past session).", field="status")
    session, found = service.book(
        g.user.id, req, record_past=record_past, past_status=status or "booked", alone=True, stored_courses=courses
    )
    return serialize.session(session, setup.timezone, flags=found), 201


with_token.reads_with_token("api.book_session", _booking_reads)


@bp.get("/sessions")
@access.logged
@require("read_schedule")
def list_sessions():
    clinic = inputs.clinic_row(p.query_int("clinic_id", required=True))
    window = query_window(clinic, default_days=1, max_days=MAX_LIST_DAYS)
    status = request.args.get("status")
    if status is not None and status not in SESSION_STATUSES:
        raise ValidationError(f"status must be one of: {', '.join(SESSION_STATUSES)}.", field="status")
    rows = service.list_for_clinic(clinic.id, window, patient_id=p.query_int("patient_id"), status=status)
    access.log_read("schedule", *(s.patient_id for s in rows))
    return {
        "clinic_id": clinic.id,
        "start": serialize.instant(window.start, clinic.timezone),
        "end": serialize.instant(window.end, clinic.timezone),
        "sessions": [serialize.session(s, clinic.timezone) for s in rows],
    }


@bp.get("/sessions/<int:session_id>")
@access.logged
@require("read_schedule")
def get_session(session_id: int):
    session = service.get(session_id)
    access.log_read("schedule", session.patient_id)
    return _render(session, flag_service.for_session(session))


@bp.get("/sessions/<int:session_id>/suggestions")
@require("read_schedule")
def session_suggestions(session_id: int):
    """Free slots to move the session to (same length, a suitable room and clinician, no error flag)."""
    session = service.get(session_id)
    tz = inputs.clinic_row(session.clinic_id).timezone
    return {
        "session_id": session.id,
        "suggestions": [_suggestion_json(s, tz) for s in suggestions.for_session(session)],
    }


def _suggestion_json(s, tz: str) -> dict:
    """A slot; ``move_dependents`` says the move takes ``dependents`` (the dose's integration session)
    with it: reschedule with ``"move_dependents": true`` to apply both."""
    return {
        "starts_at": serialize.instant(s.starts_at, tz),
        "ends_at": serialize.instant(s.ends_at, tz),
        "room_id": s.room_id,
        "staff_member_id": s.staff_member_id,
        "move_dependents": s.move_dependents,
        "dependents": [
            {
                "session_id": d.id,
                "kind": d.kind,
                "starts_at": serialize.instant(d.starts_at, tz),
                "ends_at": serialize.instant(d.ends_at, tz),
                "room_id": d.room_id,
                "staff_member_id": d.staff_member_id,
            }
            for d in s.dependents
        ],
    }


@bp.post("/sessions/<int:session_id>/reschedule")
@require("book")
def reschedule_session(session_id: int):
    session = service.get(session_id)
    body = p.json_body()
    p.reject_unknown(
        body,
        {
            "starts_at",
            "ends_at",
            "duration_minutes",
            "room_id",
            "staff_member_id",
            "version",
            "override_reason",
            "move_dependents",
        },
    )
    version = _version(body)
    if body.get("ends_at") is None and body.get("duration_minutes") is None:  # keep the length
        starts_at = plausible(p.parse_instant(p.get(body, "starts_at"), "starts_at"), "starts_at")
        ends_at = starts_at + (session.ends_at - session.starts_at)
    else:
        starts_at, ends_at = _times(body)
    staff = p.integer(body, "staff_member_id", required=False, minimum=1) if "staff_member_id" in body else ...
    session, found = service.reschedule(
        g.user.id,
        session,
        version=version,
        starts_at=starts_at,
        ends_at=ends_at,
        room_id=p.integer(body, "room_id", required=False, minimum=1),
        staff_member_id=staff,
        override_reason=_override(body),
        move_dependents=p.boolean(body, "move_dependents"),
    )
    return _render(session, found)


@bp.post("/sessions/<int:session_id>/cancel")
@require("book")
def cancel_session(session_id: int):
    session = service.get(session_id)
    body = p.json_body()
    p.reject_unknown(body, {"reason", "version"})
    version = _version(body)
    session = service.cancel(g.user.id, session, version=version, reason=p.string(body, "reason", max_length=500))
    return _render(session)


@bp.post("/sessions/<int:session_id>/reinstate")
@require("book")
def reinstate_session(session_id: int):
    """Undo a cancellation while the slot is still free (version required; a taken slot → 409)."""
    session = service.get(session_id)
    body = p.json_body()
    p.reject_unknown(body, {"version"})
    return _render(service.reinstate(g.user.id, session, version=_version(body)))


def _transition(session_id: int, action: str):
    session = service.get(session_id)
    body = p.json_body()
    p.reject_unknown(body, {"version"})
    return _render(service.transition(g.user.id, session, action, version=_version(body)))


@bp.post("/sessions/<int:session_id>/check_in")
@require("book")
def check_in_session(session_id: int):
    return _transition(session_id, "check_in")


@bp.post("/sessions/<int:session_id>/complete")
@require("book")
def complete_session(session_id: int):
    return _transition(session_id, "complete")


@bp.post("/sessions/<int:session_id>/no_show")
@require("book")
def no_show_session(session_id: int):
    return _transition(session_id, "no_show")


@bp.post("/sessions/<int:session_id>/replan")
@require("book")
def replan_session(session_id: int):
    """Dry run by default: the proposal. ``{"apply": true, "version": n}`` applies it in one step."""
    session = service.get(session_id)
    body = request.get_json(silent=True) if request.data else {}
    if not isinstance(body, dict):
        raise ValidationError("The request body must be a JSON object.", field="body")
    p.reject_unknown(body, {"apply", "version", "override_reason"})
    tz = inputs.clinic_row(session.clinic_id).timezone
    if not p.boolean(body, "apply"):
        result, _course = replanning.propose(session)
        return _replan_json(result, tz, applied=False)
    result, booked, moved = replanning.apply(
        g.user.id, session, version=_version(body), override_reason=_override(body)
    )
    return {
        **_replan_json(result, tz, applied=True),
        "booked": [serialize.session(s, tz) for s in booked],
        "moved": [serialize.session(s, tz) for s in moved],
    }


def _replan_json(result, tz: str, *, applied: bool) -> dict:
    return {
        "applied": applied,
        "ok": result.ok,
        "reason": {"code": result.reason.code, "message": result.reason.message} if result.reason else None,
        "new_sessions": [
            {
                **ps.to_dict(),
                "starts_at": serialize.instant(ps.starts_at, tz),
                "ends_at": serialize.instant(ps.ends_at, tz),
            }
            for ps in result.new_sessions
        ],
        "moves": [
            {
                **m.to_dict(),
                "starts_at": serialize.instant(m.starts_at, tz),
                "ends_at": serialize.instant(m.ends_at, tz),
                "old_starts_at": serialize.instant(m.old_starts_at, tz),
            }
            for m in result.moves
        ],
        "problems": [pr.to_dict() for pr in result.problems],
    }
