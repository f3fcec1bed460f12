"""Booking one session and the session actions: reschedule, cancel, reinstate, check in, complete,
no-show. The one place that performs them; which status changes are allowed is the lifecycle table
(``scheduler.domain.lifecycle.TRANSITIONS``). ``services.booking`` holds the guarded writes they use.

Room and patient double bookings are refused by ``services.booking`` (409 naming the clashing
session). Every other conflict flag of severity ``error`` for the candidate (outside hours, closed,
clinician unavailable or over capacity, room unsuitable, doses too close, dosing hold, ...) refuses
the write with 409 ``flagged`` unless the caller gives an ``override_reason``, which is stored on the
session and audited with the overridden flag codes.

Every action names the version it was based on (``TreatmentSession.version``); a stale version is
refused with 409 ``stale`` so nobody overwrites a change they have not seen. The version counter is
SQLAlchemy's, so a concurrent writer that passed the check still fails at UPDATE time (also 409).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from types import EllipsisType

from sqlalchemy.orm.exc import StaleDataError

from scheduler.db import db_session
from scheduler.domain.flags.model import CourseFacts
from scheduler.domain.lifecycle import ATTENDANCE, RESCHEDULABLE, TRANSITIONS, allows, restored_status
from scheduler.domain.timezones import local_date, wall_clock
from scheduler.domain.vocabulary import DEAD_STATUSES
from scheduler.errors import Conflict, NotFound, UnprocessableError
from scheduler.models import TreatmentSession, utcnow
from scheduler.services import audit, booking, inputs, scope, setup_cache, suggestions
from scheduler.services import flags as flag_service


def get(session_id: int) -> TreatmentSession:
    session = db_session.get(TreatmentSession, session_id) if isinstance(session_id, int) else None
    if session is None:
        raise NotFound(f"No treatment session with id {session_id}.")
    return scope.check(session, "treatment session")


def _check_version(session: TreatmentSession, version: int) -> None:
    if session.version != version:
        raise Conflict(
            f"Session {session.id} was changed by someone else (it is at version {session.version}, "
            f"you sent {version}); reload it and try again.",
            code="stale",
            field="version",
            details={"current_version": session.version},
        )


def _stale(session_id: int) -> Conflict:
    return Conflict(
        f"Session {session_id} was changed by someone else at the same time; reload it.", code="stale", field="version"
    )


def _flush_versioned(session: TreatmentSession) -> None:
    session_id = session.id  # read before the flush: after a failed flush the ORM session must roll back
    try:
        db_session.flush()
    except StaleDataError as exc:
        raise _stale(session_id) from exc


def _resource_checks(clinic_id: int, room_id: int, staff_member_id: int | None) -> None:
    """The room and the clinician belong to the clinic (from its cached setup: no statement)."""
    found = setup_cache.setup(clinic_id) if isinstance(clinic_id, int) else None
    if found is None or found.room(room_id) is None or not scope.may_see_clinic(clinic_id):
        raise NotFound(f"No room with id {room_id} at clinic {clinic_id}.", field="room_id")
    if staff_member_id is not None and found.staff_member(staff_member_id) is None:
        raise NotFound(f"No staff member with id {staff_member_id} at clinic {clinic_id}.", field="staff_member_id")


def refuse_introduced(verdict, *, override_reason: str | None, what: str = "The session", hint: str = "") -> None:
    """409 ``flagged`` listing the error flags a change would introduce, unless ``override_reason``;
    an error no reason lifts (``rems_not_enrolled``) is refused whatever the request says."""
    # (also when the moved session already carried it: an unenrolled esketamine dose is never re-planned)
    refuse_unoverridable([*verdict.introduced, *verdict.conflicts], what=what)
    if verdict.introduced and not override_reason:
        raise Conflict(
            f"{what} breaks a scheduling rule: "
            + " ".join(f.message for f in verdict.introduced)
            + " Give override_reason to do it anyway."
            + hint,
            code="flagged",
            conflicts=[f.to_dict() for f in verdict.introduced],
        )


def refuse_unoverridable(found, *, what: str = "The session") -> None:
    """409 with the code itself (``rems_not_enrolled``) for an error an override_reason cannot lift;
    ``found``: flags or plan problems."""
    from scheduler.domain.rules.codes import UNOVERRIDABLE_CODES

    hard = [f for f in found if f.code in UNOVERRIDABLE_CODES]
    if hard:
        raise Conflict(
            f"{what} is refused: " + " ".join(f.message for f in hard) + " This cannot be overridden.",
            code=hard[0].code,
            conflicts=[f.to_dict() for f in hard],
        )


def _audit_override(actor_id: int | None, session: TreatmentSession, verdict, reason: str | None) -> None:
    if reason and verdict.introduced:
        audit.record(
            actor_id,
            "session.override",
            session,
            reason=reason,
            after={"flags": sorted({f.code for f in verdict.introduced}), "session_id": session.id},
        )


def refuse_the_past(req: booking.SessionRequest, *, record_past: bool, now: datetime) -> None:
    """A session that has already ended is history: 422 ``in_the_past`` unless the request says
    ``record_past`` (entering what happened)."""
    if req.ends_at <= now and not record_past:
        tz = inputs.clinic_row(req.clinic_id).timezone
        raise UnprocessableError(
            f"The session ended {wall_clock(req.ends_at, tz)}, before now ({wall_clock(now, tz)}); a session is "
            "booked ahead. To enter a past session as history, send record_past: true (and its status: "
            "completed, no_show or cancelled; booked by default).",
            code="in_the_past",
            field="starts_at",
        )


def book(
    actor_id: int | None,
    req: booking.SessionRequest,
    *,
    status: str = "booked",
    check_flags: bool = True,
    record_past: bool = False,
    past_status: str = "booked",
    now: datetime | None = None,
    with_sessions: Sequence[booking.SessionRequest] = (),
    alone: bool = False,
    stored_courses: Sequence[CourseFacts] | None = None,
) -> tuple[TreatmentSession, list]:
    """Book one session after the rule book's gate; returns the session and its conflicts.

    ``record_past``: a session that already ended is entered as history with ``past_status``
    (``booked``, ``completed``, ``no_show`` or ``cancelled``), audited as ``session.record_past``; a
    cancelled or no-show one holds nothing, so it is not checked for clashes or flags.
    ``with_sessions``: sessions booked together with it, judged together (a new dose and the
    integration session its suggestion books with it), all or nothing.
    ``alone``: the booking is the transaction's only work and the caller rolls it all back on a
    refusal (an API request): no savepoint; a racing booking caught by PostgreSQL's exclusion
    constraints rolls the transaction back before the 409 names the clash.
    ``check_flags=False``: not judged by the rule book (a re-plan its own judge passed, test data):
    booked as asked, at any time, once its shape, room and clinician and double bookings are checked.
    ``stored_courses``: the patient's stored courses, already read in this transaction
    (``inputs.patient_with_courses``), for the gate."""
    now = now or utcnow()
    booking.check_shape(req.starts_at, req.ends_at)  # a malformed session is refused for its shape first
    if check_flags:
        refuse_the_past(req, record_past=record_past, now=now)
    past = record_past and req.ends_at <= now
    if past:
        status = past_status
    if past and status in DEAD_STATUSES:
        _resource_checks(req.clinic_id, req.room_id, req.staff_member_id)
        session = booking.insert(actor_id, req, status=status)
        if status == "cancelled":
            session.cancel_reason, session.cancelled_at, session.cancelled_by_id = (
                "Entered as history: the session was cancelled",
                now,
                actor_id,
            )
        _record_past(actor_id, session, past_status)
        return session, []
    verdict = check(req, check_flags=check_flags, with_sessions=with_sessions, stored_courses=stored_courses)
    if alone:
        session = booking.insert(actor_id, req, status=status, savepoint=False)
        for r in with_sessions:
            booking.insert(actor_id, r, status=status, savepoint=False)
    elif not with_sessions:
        session = booking.insert(actor_id, req, status=status)  # in its own savepoint
    else:
        with db_session.begin_nested():
            session = booking.insert(actor_id, req, status=status)
            for r in with_sessions:
                booking.insert(actor_id, r, status=status)
    if verdict is not None:
        _audit_override(actor_id, session, verdict, req.override_reason)
    if past:
        _record_past(actor_id, session, past_status)
    return session, verdict.conflicts if verdict is not None else []


def check(
    req: booking.SessionRequest,
    *,
    check_flags: bool = True,
    with_sessions: Sequence[booking.SessionRequest] = (),
    stored_courses: Sequence[CourseFacts] | None = None,
):
    """Everything ``book`` checks before writing (also what FHIR $hold checks before holding):
    room and clinician of the clinic, shape, double booking (and holds), and the rule book's gate
    (409 ``flagged`` for an error flag the booking would introduce, unless ``override_reason``).
    Returns the rule book's verdict (None without ``check_flags``). ``stored_courses``: as for ``book``
    (only for requests of that one patient)."""
    requests = (req, *with_sessions)
    for r in requests:
        _resource_checks(r.clinic_id, r.room_id, r.staff_member_id)
        booking.check_shape(r.starts_at, r.ends_at)
    if not check_flags:
        for r in requests:
            booking.refuse_clashes(room_id=r.room_id, patient_id=r.patient_id, starts_at=r.starts_at, ends_at=r.ends_at)
        return None
    changes = [r.as_session() for r in requests]
    if stored_courses is not None and any(r.patient_id != req.patient_id for r in requests):
        raise ValueError("stored_courses are one patient's: the requests are of several.")
    ctx, pool, held = flag_service.gate_context(changes, stored_courses=stored_courses)
    for r in requests:
        # Double booking first: it is never overridable and names the clashing session. The gate's
        # sessions hold every live session of the room and of the patient around the request, and
        # the live holds on them.
        booking.refuse_clashes(
            room_id=r.room_id,
            patient_id=r.patient_id,
            starts_at=r.starts_at,
            ends_at=r.ends_at,
            among=pool,
            held=held,
        )
    verdict = flag_service.check_changes(changes, context=(ctx, pool))
    refuse_introduced(verdict, override_reason=req.override_reason)
    return verdict


def _record_past(actor_id: int | None, session: TreatmentSession, status: str) -> None:
    db_session.flush()
    audit.record(actor_id, "session.record_past", session, reason=f"Entered as history ({status})")
    if status == "completed" and session.course_id is not None:
        from scheduler.services.courses import advance

        advance(actor_id, session.course_id)


def reschedule(
    actor_id: int | None,
    session: TreatmentSession,
    *,
    version: int,
    starts_at: datetime,
    ends_at: datetime,
    room_id: int | None = None,
    staff_member_id: int | EllipsisType | None = ...,
    override_reason: str | None = None,
    move_dependents: bool = False,
    now: datetime | None = None,
) -> tuple[TreatmentSession, list]:
    """Move a proposed or booked session (and optionally change its room or clinician).

    Refused with 409 ``flagged`` when the move would introduce an error flag (for the session or its
    course) unless ``override_reason``. ``move_dependents``: a dose moves with its integration session
    when that one would no longer count for it (placed as the suggestions place it), in one step."""
    _check_version(session, version)
    if session.status not in RESCHEDULABLE:  # a move keeps the status (lifecycle.RESCHEDULABLE)
        raise Conflict(
            f"Session {session.id} is {session.status}; only proposed or booked sessions can be rescheduled.",
            code="invalid_transition",
            field="status",
        )
    room_id = session.room_id if room_id is None else room_id
    staff_id = session.staff_member_id if staff_member_id is ... else staff_member_id
    _resource_checks(session.clinic_id, room_id, staff_id)
    booking.check_shape(starts_at, ends_at)
    booking.refuse_clashes(
        room_id=room_id,
        patient_id=session.patient_id,
        starts_at=starts_at,
        ends_at=ends_at,
        exclude_ids=(session.id,),
        what="The new time",
    )
    candidate = replace(
        inputs.session_value(session),
        starts_at=starts_at,
        ends_at=ends_at,
        room_id=room_id,
        staff_member_id=staff_id,
        override_reason=override_reason,
    )
    moving = list(suggestions.dependents(session, candidate, now=now)) if move_dependents else []
    verdict = flag_service.check_changes([candidate, *moving])
    hint = (
        " Or give move_dependents: true to move its integration session with it."
        if not move_dependents
        and session.kind == "dose"
        and any(f.code == "integration_missing" for f in verdict.introduced)
        else ""
    )
    refuse_introduced(verdict, override_reason=override_reason, what="The new time", hint=hint)
    with db_session.begin_nested():
        for dep in moving:  # first: the dose may take the integration session's old place
            if dep.id is None:  # suggestions.dependents moves existing sessions only
                raise ValueError("A session to move with the dose has no id.")
            row = get(dep.id)
            before = audit.snapshot(row)
            row.starts_at, row.ends_at = dep.starts_at, dep.ends_at
            row.room_id, row.staff_member_id = booking.placed_room(dep), dep.staff_member_id
            _flush_versioned(row)
            audit.record(
                actor_id,
                "session.reschedule",
                row,
                before=before,
                reason=override_reason,
                after={**audit.snapshot(row), "moved_with": session.id},
            )
        before = audit.snapshot(session)
        session.starts_at, session.ends_at = starts_at, ends_at
        session.room_id, session.staff_member_id = room_id, staff_id
        if override_reason:
            session.override_reason = override_reason
        _flush_versioned(session)
        audit.record(actor_id, "session.reschedule", session, before=before, reason=override_reason)
        _audit_override(actor_id, session, verdict, override_reason)
    return session, verdict.conflicts


def cancel(actor_id: int | None, session: TreatmentSession, *, version: int, reason: str) -> TreatmentSession:
    """Cancel, keeping the row: status, reason, who and when (audited)."""
    _check_version(session, version)
    if not allows("cancel", session.status):
        raise Conflict(
            f"Session {session.id} is {session.status}; it cannot be cancelled.",
            code="invalid_transition",
            field="status",
        )
    before = audit.snapshot(session)
    session.status = "cancelled"
    session.cancel_reason = reason
    session.cancelled_at = utcnow()
    session.cancelled_by_id = actor_id
    _flush_versioned(session)
    audit.record(actor_id, "session.cancel", session, before=before, reason=reason)
    return session


def reinstate(
    actor_id: int | None, session: TreatmentSession, *, version: int, now: datetime | None = None
) -> TreatmentSession:
    """Undo a cancellation while the slot is still free: the session gets back the status it had
    before it was cancelled (from the audit trail; booked when none is recorded), its cancellation
    fields are cleared (the cancel event keeps them), and the change is audited.

    Refused (409) when the version is stale, when the session is not cancelled, when it has already
    started, or when its room or patient was booked for that time meanwhile (naming that session;
    on PostgreSQL the exclusion constraints catch a racing booking too)."""
    _check_version(session, version)
    if not allows("reinstate", session.status):
        raise Conflict(
            f"Session {session.id} is {session.status}; only a cancelled session can be reinstated.",
            code="invalid_transition",
            field="status",
        )
    if session.starts_at <= (now or utcnow()):
        tz = inputs.clinic_row(session.clinic_id).timezone
        raise Conflict(
            f"Session {session.id} was due at {wall_clock(session.starts_at, tz)}; a session in the past "
            "cannot be reinstated — book a new one.",
            code="invalid_transition",
            field="status",
        )
    booking.refuse_clashes(
        room_id=session.room_id,
        patient_id=session.patient_id,
        starts_at=session.starts_at,
        ends_at=session.ends_at,
        exclude_ids=(session.id,),
        what="The cancelled session's slot",
    )
    before = audit.snapshot(session)
    session.status = _status_before_cancel(session)
    session.cancel_reason = session.cancelled_at = session.cancelled_by_id = None
    booking.flush_update_guarded(session)
    audit.record(actor_id, "session.reinstate", session, before=before)
    return session


def _status_before_cancel(session: TreatmentSession) -> str:
    from sqlalchemy import select

    from scheduler.models import AuditEvent

    before = db_session.scalar(
        select(AuditEvent.before)
        .where(
            AuditEvent.entity_type == TreatmentSession.__tablename__,
            AuditEvent.entity_id == session.id,
            AuditEvent.action == "session.cancel",
        )
        .order_by(AuditEvent.id.desc())
        .limit(1)
    )
    return restored_status((before or {}).get("status"))


def refuse_check_in_on_another_day(session: TreatmentSession, now: datetime, tz: str) -> None:
    """A patient checks in on the session's own day in the clinic's zone: earlier is 409
    ``too_early``, a later day 409 ``too_late`` (mark it completed or no-show instead)."""
    day, today = local_date(session.starts_at, tz), local_date(now, tz)
    if today < day:
        raise Conflict(
            f"Session {session.id} is on {wall_clock(session.starts_at, tz)}; check-in opens that day "
            f"(it is now {wall_clock(now, tz)}).",
            code="too_early",
            field="status",
        )
    if today > day:
        raise Conflict(
            f"Session {session.id} was on {wall_clock(session.starts_at, tz)}; a past day's session is not "
            "checked in: mark it completed or no-show.",
            code="too_late",
            field="status",
        )


def transition(
    actor_id: int | None, session: TreatmentSession, action: str, *, version: int, now: datetime | None = None
) -> TreatmentSession:
    """check_in, complete or no_show (``lifecycle.ATTENDANCE``)."""
    allowed, target = TRANSITIONS[action]
    if action not in ATTENDANCE or target is None:
        raise ValueError(f"not an attendance action: {action}")
    _check_version(session, version)
    if session.status not in allowed:
        raise Conflict(
            f"Session {session.id} is {session.status}; {action.replace('_', ' ')} needs it to be "
            f"{' or '.join(allowed)}.",
            code="invalid_transition",
            field="status",
        )
    now = now or utcnow()
    tz = inputs.clinic_row(session.clinic_id).timezone
    if action in ("complete", "no_show") and session.starts_at > now:
        raise Conflict(
            f"Session {session.id} has not started yet (it starts {wall_clock(session.starts_at, tz)}; "
            f"it is now {wall_clock(now, tz)}); it cannot be marked {target.replace('_', '-')}.",
            code="invalid_transition",
            field="status",
        )
    if action == "check_in":
        refuse_check_in_on_another_day(session, now, tz)
    before = audit.snapshot(session)
    session.status = target
    _flush_versioned(session)
    audit.record(actor_id, f"session.{action}", session, before=before)
    if target in ("checked_in", "completed"):
        from scheduler.services.courses import advance

        advance(actor_id, session.course_id)
    return session


def list_for_clinic(
    clinic_id: int, window, *, patient_id: int | None = None, status: str | None = None
) -> list[TreatmentSession]:
    """The clinic's sessions overlapping ``window`` (any status unless ``status``), by start time."""
    from sqlalchemy import select

    from scheduler.services.windows import overlapping

    TS = TreatmentSession
    query = select(TS).where(TS.clinic_id == clinic_id, overlapping(TS.starts_at, TS.ends_at, window.start, window.end))
    if patient_id is not None:
        query = query.where(TS.patient_id == patient_id)
    if status is not None:
        query = query.where(TS.status == status)
    return list(db_session.scalars(query.order_by(TS.starts_at, TS.id)))
