"""Plan a course with the planner (``scheduler.domain.planning.plan_course``) and book it.

A dry run writes nothing. Otherwise the Course row and every planned session are written inside one
savepoint: a clash on any session (room or patient double booking, caught by the booking service or
the PostgreSQL exclusion constraint) undoes the whole plan, and the request answers 409 naming the
clashing session. A plan that breaks a rule (problems of severity ``error``) is only booked with an
``override_reason``, which is audited, like a single flagged session.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from operator import attrgetter

from sqlalchemy import select

from scheduler.db import db_session
from scheduler.domain import courses as course_rules
from scheduler.domain.calendar import clashes
from scheduler.domain.flags import CourseFacts
from scheduler.domain.intervals import Interval, overlaps
from scheduler.domain.maintenance import DueWindow, due_window
from scheduler.domain.planning import Plan, PlanningError, plan_course, planning_start
from scheduler.domain.protocols import Protocol
from scheduler.domain.rules.course import spacing_stages
from scheduler.domain.timezones import local_date
from scheduler.domain.values import Preferences
from scheduler.domain.vocabulary import LIVE_STATUSES, WEEKDAYS
from scheduler.errors import Conflict, NotFound, UnprocessableError
from scheduler.models import AuditEvent, Course, TreatmentSession, utcnow
from scheduler.protocols_registry import protocols
from scheduler.services import audit, booking, inputs, scope
from scheduler.services import flags as flag_service

_START_AND_ID = attrgetter("starts_at", "id")
PLANNER_EXTEND_DAYS = 60  # the planner looks this far past a rule's window before giving up
SPACING_LOOKBACK_DAYS = 31  # the patient's doses this far before the plan are spaced from (no protocol's gap is longer)


@dataclass
class CourseResult:
    plan: Plan
    course: Course | None
    sessions: list[TreatmentSession]
    next_due: DueWindow | None
    timezone: str
    replaced: Course | None = None  # the course ``replaces_course_id`` stops
    cancelled_session_ids: tuple[int, ...] = ()  # its future sessions, cancelled (or to be, in a dry run)
    flags: list = field(default_factory=list)  # dry run: the plan's flags, (flag, plan indexes) pairs


def protocol(key: str) -> Protocol:
    found = protocols().get(key)
    if found is None:
        raise NotFound(f"No protocol {key!r}; known: {', '.join(sorted(protocols()))}.", field="protocol")
    return found


def preferences_json(prefs: Preferences) -> dict:
    return {
        "weekdays": None if prefs.weekdays is None else [WEEKDAYS[d] for d in sorted(prefs.weekdays)],
        "earliest": prefs.earliest.strftime("%H:%M") if prefs.earliest else None,
        "latest": prefs.latest.strftime("%H:%M") if prefs.latest else None,
        "room_id": prefs.room_id,
        "staff_member_id": prefs.staff_member_id,
    }


def horizon_days(p: Protocol) -> int:
    """How far after the start date a plan of ``p`` can reach (loose upper bound, for loading)."""
    days = 14 + PLANNER_EXTEND_DAYS  # evaluation
    if p.preparation is not None:
        days += p.preparation.max_count * (14 + p.preparation.min_gap_days)
    for stage in p.induction.stages:
        days += stage.window_days + stage.tolerated_gap_days + stage.offset_days + PLANNER_EXTEND_DAYS
    if p.follow_up is not None:
        days += p.follow_up.max_days_after + PLANNER_EXTEND_DAYS
    if p.maintenance is not None:
        days += p.maintenance.max * (31 if p.maintenance.unit == "months" else 7) + PLANNER_EXTEND_DAYS
    return days


def last_evaluation_on(history, tz: str, start_on: date) -> date | None:
    days = [
        local_date(s.starts_at, tz)
        for s in history
        if s.kind == "evaluation" and s.status in LIVE_STATUSES and local_date(s.starts_at, tz) <= start_on
    ]
    return max(days) if days else None


def plan(
    patient_id: int,
    clinic_id: int,
    protocol_key: str,
    start_on: date,
    prefs: Preferences,
    *,
    include_maintenance: bool = True,
    hidden_session_ids: frozenset[int] = frozenset(),
    now: datetime | None = None,
    courses: Sequence[CourseFacts] | None = None,
    no_authorizations: bool = False,
) -> tuple[Plan, str, flag_service.PlanCalendar]:
    """The planner's proposal for the patient's course, over the clinic's real calendar; with ``now``
    nothing is proposed before it (a past ``start_on`` plans from today). Also the calendar it was
    planned over (to flag the plan without reading it again); ``courses``: the patient's, if read;
    ``no_authorizations``: the patient is known to have no payer authorization (none is read)."""
    proto = protocol(protocol_key)
    patient = inputs.patient_value(inputs.patient_row(patient_id), () if no_authorizations else None)
    clinic = inputs.clinic_row(clinic_id)
    first = planning_start(start_on, now, clinic.timezone)
    window = inputs.local_range(clinic, first - timedelta(days=1), first + timedelta(days=horizon_days(proto)))
    # The clinic's calendar over the horizon and the patient's whole history (any clinic), in one
    # statement: the planner reads the history's part inside the window, and the doses shortly before
    # it (a planned dose keeps the minimum gap from them too).
    loaded, history = inputs.clinic_inputs_and_history(clinic_id, window, patient_id)
    if prefs.room_id is not None and loaded.room(prefs.room_id) is None:
        raise NotFound(f"No room with id {prefs.room_id} at clinic {clinic_id}.", field="preferences.room_id")
    if prefs.staff_member_id is not None and loaded.staff_member(prefs.staff_member_id) is None:
        raise NotFound(
            f"No staff member with id {prefs.staff_member_id} at clinic {clinic_id}.",
            field="preferences.staff_member_id",
        )
    mine_here = {s.id for s in loaded.sessions if s.patient_id == patient_id}
    since = window.start - timedelta(days=SPACING_LOOKBACK_DAYS)
    in_window = [
        s
        for s in history
        if s.id not in mine_here
        and overlaps(s.starts_at, s.ends_at, since if s.kind == "dose" else window.start, window.end)
    ]
    existing = sorted((*loaded.sessions, *in_window), key=_START_AND_ID)  # (stored sessions: ids are set)
    if hidden_session_ids:
        existing = [s for s in existing if s.id not in hidden_session_ids]
    visible = [s for s in history if s.id not in hidden_session_ids]
    rows = courses if courses is not None else patient_courses(patient_id)
    try:
        proposal = plan_course(
            proto,
            loaded.clinic,
            loaded.rooms,
            loaded.staff,
            patient,
            existing,
            start_on,
            prefs,
            last_evaluation_on(visible, clinic.timezone, first),
            include_maintenance=include_maintenance,
            now=now,
            dose_stages=spacing_stages(visible, _protocols_of(rows)),
        )
    except PlanningError as exc:
        raise UnprocessableError(exc.message, code=exc.code, field="protocol") from exc
    calendar = flag_service.PlanCalendar(loaded=loaded, history=history, patient=patient, courses=tuple(rows))
    return proposal, clinic.timezone, calendar


def _protocols_of(courses: Sequence[CourseFacts]) -> dict[int, Protocol]:
    """Each course's protocol by course id (a course of a protocol no longer shipped has none)."""
    known = protocols()
    return {c.id: known[c.protocol_key] for c in courses if c.protocol_key in known}


def next_due_of(plan_: Plan, proto: Protocol, tz: str) -> DueWindow | None:
    doses = [s for s in plan_.sessions if s.kind == "dose" and s.phase == "induction"]
    if proto.maintenance is None or not doses:
        return None
    return due_window(local_date(doses[-1].starts_at, tz), proto)


def summary(c: CourseFacts) -> course_rules.CourseSummary:
    return course_rules.CourseSummary(
        id=c.id, patient_id=c.patient_id, protocol_key=c.protocol_key, status=c.status, start_on=c.start_on
    )


def patient_courses(patient_id: int) -> list[CourseFacts]:
    """The patient's courses as the rule book's facts, by id (one Core statement)."""
    return flag_service.course_fact_rows([patient_id])


def refuse_second_course(
    patient_id: int,
    protocol_key: str,
    *,
    override_reason: str | None,
    replaces_course_id: int | None,
    courses: Sequence[CourseFacts] | None = None,
) -> list[course_rules.CourseSummary]:
    """409 ``course_active`` naming the patient's open course(s), unless the request replaces it or
    gives an ``override_reason``; returns the open courses overridden (to audit)."""
    rows = courses if courses is not None else patient_courses(patient_id)
    others = course_rules.open_courses(
        [summary(c) for c in rows], except_ids=[replaces_course_id] if replaces_course_id else []
    )
    if others and not override_reason:
        raise Conflict(
            course_rules.course_active_message(others, protocol_key),
            code="course_active",
            field="replaces_course_id",
            conflicts=[c.to_conflict() for c in others],
        )
    return others


def replaceable(patient_id: int, course_id: int) -> Course:
    course = db_session.get(Course, course_id) if isinstance(course_id, int) else None
    if course is None or course.patient_id != patient_id or not scope.may_see_clinic(course.clinic_id):
        raise NotFound(f"The patient has no course {course_id}.", field="replaces_course_id")
    if not course_rules.is_open(course.status) and course.status != "maintenance":
        raise UnprocessableError(
            f"Course {course_id} is already {course.status}; there is nothing to replace.",
            code="course_closed",
            field="replaces_course_id",
        )
    return course


def future_sessions(course: Course, now: datetime) -> list[TreatmentSession]:
    """The course's sessions still to come (proposed or booked, starting at or after ``now``)."""
    TS = TreatmentSession
    return list(
        db_session.scalars(
            select(TS)
            .where(TS.course_id == course.id, TS.starts_at >= now, TS.status.in_(("proposed", "booked")))
            .order_by(TS.starts_at)
        )
    )


def stop(actor_id: int | None, course: Course, *, reason: str, now: datetime) -> list[TreatmentSession]:
    """Stop a course: status ``stopped`` with the reason, its future sessions cancelled with it."""
    from scheduler.services import sessions

    cancelled = [sessions.cancel(actor_id, s, version=s.version, reason=reason) for s in future_sessions(course, now)]
    before = audit.snapshot(course)
    course.status, course.stopped_reason = "stopped", reason
    db_session.flush()
    audit.record(actor_id, "course.stop", course, before=before, reason=reason)
    return cancelled


def plan_and_book(
    actor_id: int | None,
    patient_id: int,
    clinic_id: int,
    protocol_key: str,
    start_on: date,
    prefs: Preferences,
    *,
    dry_run: bool,
    override_reason: str | None = None,
    include_maintenance: bool = True,
    hidden_session_ids: frozenset[int] = frozenset(),
    past_status: str | None = None,
    now: datetime | None = None,
    replaces_course_id: int | None = None,
    stop_reason: str | None = None,
    courses: Sequence[CourseFacts] | None = None,
    has_authorizations: bool | None = None,
) -> CourseResult:
    """Plan, and unless ``dry_run`` book the whole course in one savepoint (all or nothing).

    A patient has one open course at a time (``course_active``): ``replaces_course_id`` stops that
    course (its future sessions cancelled with ``stop_reason``) in the same transaction, and
    ``override_reason`` books a second one anyway (audited).

    ``past_status`` (demo and imports only, entering history): the plan may start in the past and
    planned sessions that ended before ``now`` get this status. Otherwise nothing is planned before
    ``now`` (a past ``start_on`` plans from today: problem ``start_moved_to_today``).

    ``courses``: the patient's courses as facts, when the caller read them in this transaction
    (``inputs.patient_with_courses``); else read here. ``has_authorizations``: whether the patient
    has a payer authorization, when the caller read it (``inputs.token_with_patient``): a dry run then
    reads no authorizations for a patient without any (a booking reads them as before).
    """
    now = now or utcnow()
    protocol(protocol_key)  # 404 for an unknown protocol before anything else
    replaced = replaceable(patient_id, replaces_course_id) if replaces_course_id is not None else None
    rows = list(courses) if courses is not None else patient_courses(patient_id)
    overridden = refuse_second_course(
        patient_id, protocol_key, override_reason=override_reason, replaces_course_id=replaces_course_id, courses=rows
    )
    leaving = future_sessions(replaced, now) if replaced is not None else []
    hidden = frozenset(hidden_session_ids) | {s.id for s in leaving}
    proposal, tz, calendar = plan(
        patient_id,
        clinic_id,
        protocol_key,
        start_on,
        prefs,
        include_maintenance=include_maintenance,
        hidden_session_ids=hidden,
        now=None if past_status else now,
        courses=rows,
        no_authorizations=dry_run and has_authorizations is False,
    )
    proto = protocol(protocol_key)
    due = next_due_of(proposal, proto, tz)
    leaving_ids = tuple(s.id for s in leaving)
    first_day = planning_start(start_on, None if past_status else now, tz)
    stopped = replaced.id if replaced is not None else None
    if dry_run:
        flags = flag_service.for_plan(
            calendar,
            protocol_key,
            first_day,
            proposal.sessions,
            as_of=now,
            hidden_session_ids=frozenset(leaving_ids),
            stopped_course_id=stopped,
        )
        return CourseResult(proposal, None, [], due, tz, replaced, leaving_ids, flags)
    errors = [p for p in proposal.problems if p.severity == "error"]
    introduced = flag_service.introduced_by_plan(
        calendar,
        protocol_key,
        first_day,
        proposal.sessions,
        now=now,
        hidden_session_ids=frozenset(leaving_ids),
        stopped_course_id=stopped,
        past_status=past_status,
    )
    from scheduler.services.sessions import refuse_unoverridable

    refuse_unoverridable([*errors, *introduced], what="The plan")
    if (errors or introduced) and not override_reason:
        said = {p.code for p in errors}
        words = [p.message for p in errors] + [f.message for f in introduced if f.code not in said]
        raise Conflict(
            "The plan breaks a scheduling rule: "
            + " ".join(words)
            + " Give override_reason to book it anyway, or change the start date or preferences.",
            code="flagged",
            conflicts=[p.to_dict() for p in errors] + [flag_service.plan_flag_dict(f) for f in introduced],
        )
    errors = errors or introduced
    with db_session.begin_nested():
        if replaced is not None:
            stop(actor_id, replaced, now=now, reason=stop_reason or f"Replaced by a new {protocol_key} course.")
        course = Course(
            patient_id=patient_id,
            clinic_id=clinic_id,
            protocol_key=protocol_key,
            start_on=first_day,
            preferences=preferences_json(prefs),
            status="active" if proposal.sessions and proposal.sessions[0].starts_at <= now else "planned",
        )
        db_session.add(course)
        audit.record(actor_id, "course.create", course, reason=override_reason)
        if overridden:
            audit.record(
                actor_id,
                "course.override",
                course,
                reason=override_reason,
                after={"flags": ["course_active"], "course_id": course.id, "open_courses": [c.id for c in overridden]},
            )
        requests = [
            booking.SessionRequest(
                clinic_id=clinic_id,
                patient_id=patient_id,
                room_id=booking.placed_room(ps),
                kind=ps.kind,
                phase=ps.phase,
                sequence=ps.sequence,
                route=ps.route,
                starts_at=ps.starts_at,
                ends_at=ps.ends_at,
                staff_member_id=ps.staff_member_id,
                course_id=course.id,
                override_reason=override_reason if errors else None,
                notes=ps.label,
            )
            for ps in proposal.sessions
        ]
        statuses = [past_status if past_status and r.ends_at <= now else "booked" for r in requests]
        booked = book_all(actor_id, requests, statuses)
    return CourseResult(proposal, course, booked, due, tz, replaced, leaving_ids)


def book_all(
    actor_id: int | None, requests: list[booking.SessionRequest], statuses: list[str]
) -> list[TreatmentSession]:
    """Book many sessions of one patient at once (a course): one clash query for all of them, one
    flush, one audit event each. Inside the caller's savepoint; refuses double bookings like ``sessions.book``."""
    if not requests:
        return []
    for r in requests:
        booking.check_shape(r.starts_at, r.ends_at)
    span = Interval(min(r.starts_at for r in requests), max(r.ends_at for r in requests))
    around = inputs.resource_sessions(
        span, room_ids={r.room_id for r in requests}, patient_ids={r.patient_id for r in requests}
    )
    for r in requests:
        if clashes(Interval(r.starts_at, r.ends_at), around, room_id=r.room_id, patient_id=r.patient_id):
            booking.refuse_clashes(room_id=r.room_id, patient_id=r.patient_id, starts_at=r.starts_at, ends_at=r.ends_at)
    rows = [booking.new_session(r, status) for r, status in zip(requests, statuses)]
    booking.flush_guarded(rows)
    # One audit event per session, written in one flush (audit.record flushes once per event).
    db_session.add_all(
        [
            AuditEvent(
                actor_id=actor_id,
                action="session.book",
                entity_type=row.__tablename__,
                entity_id=row.id,
                before=None,
                after=audit.snapshot(row),
                reason=row.override_reason,
            )
            for row in rows
        ]
    )
    db_session.flush()
    return rows


def advance(actor_id: int | None, course_id: int | None) -> Course | None:
    """Move a course along ``planned → active → maintenance`` (or ``completed`` for a protocol
    without maintenance) from what has happened: a session attended makes it active; every induction
    dose completed ends the induction. Stopped and completed courses stay as they are."""
    course = db_session.get(Course, course_id) if course_id is not None else None
    if course is None or course.status in ("completed", "stopped"):
        return course
    proto = protocols().get(course.protocol_key)
    rows = db_session.execute(
        select(TreatmentSession.kind, TreatmentSession.phase, TreatmentSession.status).where(
            TreatmentSession.course_id == course.id, TreatmentSession.status.in_(("checked_in", "completed"))
        )
    ).all()
    doses = sum(1 for kind, phase, status in rows if kind == "dose" and phase == "induction" and status == "completed")
    target = course.status
    if proto is not None and doses >= proto.induction.total_doses:
        target = "maintenance" if proto.maintenance is not None else "completed"
    elif rows and course.status == "planned":
        target = "active"
    if target != course.status:
        before = audit.snapshot(course)
        course.status = target
        audit.record(actor_id, "course.update", course, before=before)
    return course
