"""Holds on a slot (FHIR ``Appointment/$hold``): a room, clinician and patient kept for one patient
until the hold expires, then booked (``$book``) or released (``$cancel``).

A live hold (status ``held``, not yet expired) is respected everywhere a session would be: the
booking service refuses a session over it (``refuse_held``, called by ``booking.refuse_clashes``
for every booking and reschedule), the slot suggestions and the FHIR free-slot search leave it out
(``as_sessions``, ``intervals``). On PostgreSQL two live holds never overlap for one room or one
patient (exclusion constraints; a hold past its expiry is marked ``expired`` before another is
placed over it). The session that ``$book`` writes goes through the same booking service and the
same exclusion constraints as the API's, so double booking stays impossible.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, bindparam, or_, select, update
from sqlalchemy.exc import DBAPIError

from scheduler.db import db_session, one_of
from scheduler.domain.timezones import local_time, to_local, wall_clock
from scheduler.domain.values import Session
from scheduler.errors import CONFLICT_SQLSTATES, Conflict, sqlstate
from scheduler.models import AppointmentHold, Clinic, utcnow
from scheduler.services import audit
from scheduler.services.windows import overlapping, overlapping_bound, window_params

H = AppointmentHold
HOLD_MINUTES = 10  # config FHIR_HOLD_MINUTES


def _overlapping(starts_at: datetime, ends_at: datetime):
    return overlapping(H.starts_at, H.ends_at, starts_at, ends_at)


def live(
    starts_at: datetime, ends_at: datetime, *, room_ids=(), patient_ids=(), staff_ids=(), now: datetime | None = None
) -> list[AppointmentHold]:
    """Live holds overlapping [starts_at, ends_at) on any of the rooms, patients or clinicians."""
    now = now or utcnow()
    holders = []
    if room_ids:
        holders.append(H.room_id.in_(sorted(set(room_ids))))
    if patient_ids:
        holders.append(H.patient_id.in_(sorted(set(patient_ids))))
    if staff_ids:
        holders.append(H.staff_member_id.in_(sorted(set(staff_ids))))
    if not holders:
        return []
    return list(
        db_session.scalars(
            select(H)
            .where(or_(*holders), _overlapping(starts_at, ends_at), H.status == "held", H.expires_at > now)
            .order_by(H.starts_at, H.id)
        )
    )


def live_where(*, rooms: bool, postgres: bool = False):
    """The condition of a live hold on the rooms (when ``rooms``) or the patients overlapping an
    interval, with bound parameters (``live_params``): for statements built once (``postgres``: the
    lists as arrays, ``db.one_of``)."""
    holders = [one_of(H.patient_id, "held_patients", postgres=postgres)]
    if rooms:
        holders.append(one_of(H.room_id, "held_rooms", postgres=postgres))
    return and_(
        or_(*holders),
        overlapping_bound(H.starts_at, H.ends_at, "held"),
        H.status == "held",
        H.expires_at > bindparam("held_now"),
    )


def live_params(starts_at: datetime, ends_at: datetime, *, room_ids, patient_ids, now: datetime | None = None) -> dict:
    """The parameters of ``live_where`` (``held_rooms`` only when there are rooms)."""
    params = {
        "held_patients": sorted(set(patient_ids)),
        **window_params("held", starts_at, ends_at),
        "held_now": now or utcnow(),
    }
    if room_ids:
        params["held_rooms"] = sorted(set(room_ids))
    return params


def held_among(held, *, room_id: int | None, patient_id: int | None, starts_at: datetime, ends_at: datetime) -> bool:
    """Whether any of ``held`` (live holds already loaded as sessions, ``inputs.gate_sessions``)
    keeps the room or the patient during [starts_at, ends_at)."""
    return any(
        h.starts_at < ends_at
        and h.ends_at > starts_at
        and ((room_id is not None and h.room_id == room_id) or (patient_id is not None and h.patient_id == patient_id))
        for h in held
    )


def intervals(kind: str, ident: int, window) -> list:
    """The live holds' intervals on a room (``kind`` "room") or a clinician ("practitioner")."""
    rows = (
        live(window.start, window.end, room_ids=[ident])
        if kind == "room"
        else live(window.start, window.end, staff_ids=[ident])
    )
    from scheduler.domain.intervals import Interval

    return [Interval(h.starts_at, h.ends_at) for h in rows]


def as_sessions(clinic_id: int, window, patient_ids=()) -> list[Session]:
    """Live holds of the clinic (and of the patients anywhere) as booked sessions, for the slot search."""
    now = utcnow()
    query = select(H).where(
        or_(H.clinic_id == clinic_id, H.patient_id.in_(sorted(set(patient_ids)))),
        _overlapping(window.start, window.end),
        H.status == "held",
        H.expires_at > now,
    )
    return [
        Session(
            id=-h.id,
            patient_id=h.patient_id,
            starts_at=h.starts_at,
            ends_at=h.ends_at,
            room_id=h.room_id,
            kind=h.kind,
            status="booked",
            clinic_id=h.clinic_id,
            staff_member_id=h.staff_member_id,
        )
        for h in db_session.scalars(query)
    ]


def refuse_held(
    *, room_id: int | None, patient_id: int | None, starts_at: datetime, ends_at: datetime, what: str = "The session"
) -> None:
    """409 ``slot_held`` when a live hold keeps the room or the patient during [starts_at, ends_at)."""
    rows = live(
        starts_at, ends_at, room_ids=[room_id] if room_id else [], patient_ids=[patient_id] if patient_id else []
    )
    if rows:
        h = rows[0]
        noun = "room" if h.room_id == room_id else "patient"
        tz = db_session.get_one(Clinic, h.clinic_id).timezone  # refusals name the clinic's times, never raw UTC
        raise Conflict(
            f"{what} clashes with hold {h.id} ({wall_clock(h.starts_at, tz)}–"
            f"{local_time(h.ends_at, tz):%H:%M}, until {local_time(h.expires_at, tz):%H:%M:%S}): "
            f"the {noun} is held for a booking in progress.",
            code="slot_held",
            conflicts=[
                {
                    "resource": noun,
                    "hold_id": h.id,
                    "room_id": h.room_id,
                    "patient_id": h.patient_id,
                    "starts_at": to_local(h.starts_at, tz).isoformat(),
                    "ends_at": to_local(h.ends_at, tz).isoformat(),
                    "expires_at": to_local(h.expires_at, tz).isoformat(),
                }
            ],
        )


def _expire_overlapping(row: AppointmentHold, now: datetime) -> None:
    """Mark holds past their expiry that overlap ``row`` as expired (so the constraint lets it in)."""
    db_session.execute(
        update(H)
        .where(
            or_(H.room_id == row.room_id, H.patient_id == row.patient_id),
            _overlapping(row.starts_at, row.ends_at),
            H.status == "held",
            H.expires_at <= now,
        )
        .values(status="expired", updated_at=now)
        .execution_options(synchronize_session=False)
    )


def place(
    actor_id: int | None, row: AppointmentHold, *, minutes: int = HOLD_MINUTES, now: datetime | None = None
) -> AppointmentHold:
    """Hold a slot whose session the caller has checked like a booking (shape, clashes, flags)."""
    now = now or utcnow()
    refuse_held(
        room_id=row.room_id, patient_id=row.patient_id, starts_at=row.starts_at, ends_at=row.ends_at, what="The slot"
    )
    row.status, row.expires_at, row.created_by_id = "held", now + timedelta(minutes=minutes), actor_id
    _expire_overlapping(row, now)
    try:
        with db_session.begin_nested():
            db_session.add(row)
            db_session.flush()
    except DBAPIError as exc:
        if sqlstate(exc) not in CONFLICT_SQLSTATES:
            raise
        raise Conflict("Someone else held this slot at the same moment; search again.", code="slot_held") from exc
    audit.record(actor_id, "hold.place", row)
    return row


def status(row: AppointmentHold, now: datetime | None = None) -> str:
    """held, booked, released or expired (a held row past its expiry is expired)."""
    if row.status == "held" and row.expires_at <= (now or utcnow()):
        return "expired"
    return row.status


def mark_booked(actor_id: int | None, row: AppointmentHold, session_id: int) -> None:
    before = audit.snapshot(row)
    row.status, row.session_id = "booked", session_id
    db_session.flush()
    audit.record(actor_id, "hold.book", row, before=before)


def release(actor_id: int | None, row: AppointmentHold, reason: str) -> AppointmentHold:
    before = audit.snapshot(row)
    row.status, row.released_reason = "released", reason
    db_session.flush()
    audit.record(actor_id, "hold.release", row, before=before, reason=reason)
    return row


# --- the IHE ITI Scheduling operations: find, hold, book, cancel --------------------------------


def open_course(patient_id: int, clinic_id: int):
    """The patient's latest open course at the clinic (its protocol says what a session needs)."""
    from scheduler.models import Course
    from scheduler.services.directory import OPEN_COURSE_STATUSES

    return db_session.scalars(
        select(Course)
        .where(Course.patient_id == patient_id, Course.clinic_id == clinic_id, Course.status.in_(OPEN_COURSE_STATUSES))
        .order_by(Course.start_on.desc(), Course.id.desc())
    ).first()


def new_session(patient_id: int, clinic_id: int, kind: str):
    """What a ``kind`` session of this patient needs: their open course's protocol rule, else the rule
    every shipped protocol agrees on; 422 when the protocols differ and no course decides."""
    from scheduler.errors import UnprocessableError
    from scheduler.protocols_registry import protocols
    from scheduler.services import suggestions

    course = open_course(patient_id, clinic_id)
    if course is not None and suggestions.spec_for(course, kind) is not None:
        return suggestions.new_session(clinic_id, patient_id, kind, course=course)
    specs = {
        (sp.duration_minutes, sp.capability, sp.role)
        for p in protocols().values()
        if (sp := p.spec_for(kind, None)) is not None
    }
    if len(specs) != 1:
        raise UnprocessableError(
            f"Patient {patient_id} has no open course at clinic {clinic_id} whose protocol has a "
            f"{kind.replace('_', '-')} session, and the protocols differ on its length, room type and clinician: "
            "plan the course first (POST /api/v1/patients/{id}/courses).",
            field="service-type",
            code="no_course",
        )
    from scheduler.domain.protocols import SessionSpec

    minutes, capability, role = specs.pop()
    return suggestions.new_session(
        clinic_id, patient_id, kind, custom=SessionSpec(duration_minutes=minutes, capability=capability, role=role)
    )


def find(patient_id: int, clinic_id: int, kind: str, start: datetime, end: datetime, *, room_id: int | None = None):
    """Bookable slots (the product's slot search: services.suggestions, error-flag free, holds left
    out) for a ``kind`` session of the patient between ``start`` and ``end``."""
    from scheduler.domain.timezones import local_date
    from scheduler.services import inputs, suggestions

    new = new_session(patient_id, clinic_id, kind)
    tz = inputs.clinic_row(clinic_id).timezone
    now = max(utcnow(), start)
    slots = suggestions.for_new(new, first=local_date(now, tz), now=now)
    return new, [sl for sl in slots if sl.ends_at <= end and (room_id is None or sl.room_id == room_id)]


def hold(actor_id: int | None, req, *, minutes: int = HOLD_MINUTES) -> AppointmentHold:
    """Check ``req`` (a booking.SessionRequest) as a booking would be checked, then hold it. A retry
    (the same user, patient, room, clinician and time, still held) answers the same hold."""
    from scheduler.services import sessions

    same = db_session.scalars(
        select(H).where(
            H.patient_id == req.patient_id,
            H.room_id == req.room_id,
            H.starts_at == req.starts_at,
            H.ends_at == req.ends_at,
            H.kind == req.kind,
            H.status == "held",
            H.expires_at > utcnow(),
            H.created_by_id == actor_id,
        )
    ).first()
    if same is not None and same.staff_member_id == req.staff_member_id:
        return same
    sessions.check(req)
    row = AppointmentHold(
        clinic_id=req.clinic_id,
        patient_id=req.patient_id,
        room_id=req.room_id,
        staff_member_id=req.staff_member_id,
        course_id=req.course_id,
        kind=req.kind,
        phase=req.phase,
        sequence=req.sequence,
        route=req.route,
        starts_at=req.starts_at,
        ends_at=req.ends_at,
    )
    return place(actor_id, row, minutes=minutes)


def request_of(row: AppointmentHold):
    from scheduler.services.booking import SessionRequest

    return SessionRequest(
        clinic_id=row.clinic_id,
        patient_id=row.patient_id,
        room_id=row.room_id,
        kind=row.kind,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        staff_member_id=row.staff_member_id,
        course_id=row.course_id,
        phase=row.phase,
        sequence=row.sequence,
        route=row.route,
    )


def book_hold(actor_id: int | None, row: AppointmentHold):
    """The held slot becomes a booked session (the booking service's checks and constraints); a
    retry after success answers the same session."""
    from scheduler.models import TreatmentSession
    from scheduler.services import sessions

    now = utcnow()
    if row.status == "booked" and row.session_id is not None:
        return db_session.get(TreatmentSession, row.session_id)
    if not row.live(now):
        raise Conflict(
            f"Hold {row.id} is {status(row, now)}; find and hold a slot again.", code="hold_over", field="appointment"
        )
    before = audit.snapshot(row)
    row.status = "booked"  # no longer live: the booking below is not refused by its own hold
    db_session.flush()
    session, _ = sessions.book(actor_id, request_of(row))
    row.session_id = session.id
    db_session.flush()
    audit.record(actor_id, "hold.book", row, before=before)
    return session


def book_direct(actor_id: int | None, req):
    """Book a proposed slot that was not held; a retry (the same user's live session for the same
    patient, room, kind and time) answers that session instead of a double booking."""
    from scheduler.models import AuditEvent, TreatmentSession
    from scheduler.services import sessions

    TS = TreatmentSession
    same = db_session.scalars(
        select(TS).where(
            TS.patient_id == req.patient_id,
            TS.room_id == req.room_id,
            TS.starts_at == req.starts_at,
            TS.ends_at == req.ends_at,
            TS.kind == req.kind,
            TS.status == "booked",
        )
    ).first()
    if (
        same is not None
        and db_session.scalar(
            select(AuditEvent.id).where(
                AuditEvent.entity_type == "treatment_session",
                AuditEvent.entity_id == same.id,
                AuditEvent.action == "session.book",
                AuditEvent.actor_id == actor_id,
            )
        )
        is not None
    ):
        return same
    session, _ = sessions.book(actor_id, req)
    return session
