"""Re-planning after a cancelled or missed dose: ``domain.replanning.replan_after_missed_dose`` over
the clinic's real calendar, proposed (dry run) or applied in one step.

Applying books the replacement session(s) and moves the later sessions the proposal names, inside
one savepoint: a clash or a stale session undoes all of it. The proposal is recomputed at apply time
(never trusted from the client), and applied only when it keeps the course within its rules, or with
an ``override_reason`` when it cannot (the best-effort plan, audited).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import select

from scheduler.db import db_session
from scheduler.domain.replanning import Replan, replan_after_missed_dose
from scheduler.domain.values import Preferences
from scheduler.errors import Conflict, UnprocessableError
from scheduler.models import Course, TreatmentSession, utcnow
from scheduler.services import audit, booking, inputs, sessions
from scheduler.services import courses as course_service
from scheduler.services import flags as flag_service
from scheduler.services.sessions import _check_version, _flush_versioned

TS = TreatmentSession
LOOKAHEAD_DAYS = 120


def preferences_of(course: Course) -> Preferences:
    raw = course.preferences or {}

    def hm(value):
        return time.fromisoformat(value) if value else None

    return Preferences(
        weekdays=frozenset(raw["weekdays"]) if raw.get("weekdays") else None,
        earliest=hm(raw.get("earliest")),
        latest=hm(raw.get("latest")),
        room_id=raw.get("room_id"),
        staff_member_id=raw.get("staff_member_id"),
    )


def propose(session: TreatmentSession, *, now: datetime | None = None) -> tuple[Replan, Course]:
    """The replacement for a cancelled / no-show dose of a course, and the moves it needs."""
    now = now or utcnow()
    if session.course_id is None:
        raise UnprocessableError(
            f"Session {session.id} is not part of a course; book a new session instead.", code="not_in_course"
        )
    course = db_session.get_one(Course, session.course_id)
    proto = course_service.protocol(course.protocol_key)
    clinic = inputs.clinic_row(course.clinic_id)
    course_rows = db_session.scalars(select(TS).where(TS.course_id == course.id).order_by(TS.starts_at)).all()
    course_values = [inputs.session_value(s) for s in course_rows]
    last = max([now] + [s.ends_at for s in course_rows])
    window = inputs.local_range(
        clinic,
        now.astimezone(clinic_zone(clinic)).date(),
        last.astimezone(clinic_zone(clinic)).date() + timedelta(days=LOOKAHEAD_DAYS),
    )
    loaded = inputs.clinic_inputs(clinic.id, window, patient_ids=[session.patient_id])
    course_ids = {s.id for s in course_rows}
    others = [s for s in loaded.sessions if s.id not in course_ids and s.live]
    result = replan_after_missed_dose(
        proto,
        loaded.clinic,
        loaded.rooms,
        loaded.staff,
        inputs.patient_value(session.patient),
        course_values,
        others,
        session.id,
        now,
        preferences_of(course),
    )
    return result, course


def changes_of(result: Replan, missed: TreatmentSession) -> list:
    """The re-plan as changes for the rule book's gate: the new sessions, and the moved ones."""
    from dataclasses import replace

    new = [
        ps.as_session(id=None, patient_id=missed.patient_id, clinic_id=missed.clinic_id, course_id=missed.course_id)
        for ps in result.new_sessions
    ]
    moved = [
        replace(
            inputs.session_value(db_session.get_one(TS, m.session_id)),
            starts_at=m.starts_at,
            ends_at=m.ends_at,
            room_id=m.room_id,
            staff_member_id=m.staff_member_id,
        )
        for m in result.moves
    ]
    return new + moved


def clinic_zone(clinic):
    from scheduler.domain.timezones import zone

    return zone(clinic.timezone)


def apply(
    actor_id: int | None, session: TreatmentSession, *, version: int, override_reason: str | None = None
) -> tuple[Replan, list[TreatmentSession], list[TreatmentSession]]:
    """Book the replacement and move the later sessions, all or nothing."""
    _check_version(session, version)
    result, course = propose(session)
    if not result.new_sessions:
        raise UnprocessableError(
            result.reason.message if result.reason else "Nothing to re-plan.",
            code=result.reason.code if result.reason else "nothing_to_replan",
        )
    verdict = flag_service.check_changes(changes_of(result, session))
    if (not result.ok or verdict.introduced) and not override_reason:
        why = result.reason.message if result.reason else " ".join(f.message for f in verdict.introduced)
        said = {p.code for p in result.problems}
        raise Conflict(
            f"The re-plan cannot keep the course within its rules: {why} "
            "Give override_reason to apply the best-effort plan anyway.",
            code="flagged",
            conflicts=[p.to_dict() for p in result.problems]
            + [f.to_dict() for f in verdict.introduced if f.code not in said],
        )
    booked, moved = [], []
    with db_session.begin_nested():
        # Later sessions first: moves push sessions later, so no move lands on one not yet moved.
        for move in sorted(result.moves, key=lambda m: m.starts_at, reverse=True):
            row = db_session.get_one(TS, move.session_id)
            before = audit.snapshot(row)
            row.starts_at, row.ends_at = move.starts_at, move.ends_at
            row.room_id, row.staff_member_id = booking.placed_room(move), move.staff_member_id
            _flush_versioned(row)
            audit.record(actor_id, "session.replan_move", row, before=before, reason=override_reason)
            moved.append(row)
        for ps in result.new_sessions:
            req = booking.SessionRequest(
                clinic_id=course.clinic_id,
                patient_id=session.patient_id,
                room_id=booking.placed_room(ps),
                kind=ps.kind,
                phase=ps.phase,
                sequence=ps.sequence,
                route=ps.route,
                starts_at=ps.starts_at,
                ends_at=ps.ends_at,
                staff_member_id=ps.staff_member_id,
                course_id=course.id,
                notes=ps.label,
                override_reason=override_reason if not result.ok else None,
            )
            booked.append(sessions.book(actor_id, req, check_flags=False)[0])  # judged above
        audit.record(
            actor_id,
            "session.replan",
            session,
            reason=override_reason,
            after={"missed_session_id": session.id, "booked": [s.id for s in booked], "moved": [s.id for s in moved]},
        )
    return result, booked, sorted(moved, key=lambda s: s.starts_at)
