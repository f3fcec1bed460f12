"""Suggested free slots: where to move a session, where to book a new one, and the next maintenance
dose. Loads the calendar and calls :func:`scheduler.domain.suggesting.suggest`: the planner's
SlotFinder (room capability, clinician role and hours, clinic hours, closures, what is booked) and
the rule book's write gate (a slot that would introduce an error flag for the session or its course
is not suggested; a dose moves with its integration session when that one would no longer count).
Adds no rule of its own."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta

from scheduler.domain.maintenance import DueWindow
from scheduler.domain.planning import Plan, PlanningError, SlotFinder
from scheduler.domain.protocols import SessionSpec
from scheduler.domain.suggesting import Suggestion, dependents_for, suggest
from scheduler.domain.timezones import local_date, local_time
from scheduler.domain.values import Session
from scheduler.domain.vocabulary import LIVE_STATUSES
from scheduler.errors import UnprocessableError, ValidationError
from scheduler.models import Course, Patient, TreatmentSession, utcnow
from scheduler.protocols_registry import protocols
from scheduler.services import flags as flag_service
from scheduler.services import holds, inputs

SUGGESTIONS = 6
SEARCH_DAYS = 10
PER_DAY = 2


@dataclass(frozen=True)
class NewSession:
    """A session to be booked: what it is and the rule it needs (``spec``)."""

    clinic_id: int
    patient_id: int
    kind: str
    spec: SessionSpec
    course_id: int | None = None
    phase: str | None = None
    sequence: int | None = None
    route: str | None = None


def spec_for(course: Course | None, kind: str, phase: str | None = None) -> SessionSpec | None:
    """The course protocol's rule for a session of ``kind`` (duration, room capability, clinician
    role), or None outside a course or when the protocol has no such session."""
    proto = protocols().get(course.protocol_key) if course is not None else None
    return proto.spec_for(kind, phase) if proto is not None else None


def new_session(
    clinic_id: int,
    patient_id: int,
    kind: str,
    *,
    course: Course | None = None,
    phase: str | None = None,
    custom: SessionSpec | None = None,
) -> NewSession:
    """What booking one ``kind`` session means: within a course whose protocol has that session,
    the protocol's duration, room capability, clinician role and route, and a dose's next sequence
    number in its phase (maintenance when the course is in maintenance); otherwise ``custom``."""
    if course is not None and course.patient_id != patient_id:
        raise ValidationError(f"Course {course.id} belongs to another patient.", field="course_id")
    if course is not None and phase is None and kind == "dose":
        phase = "maintenance" if course.status == "maintenance" else "induction"
    spec = spec_for(course, kind, phase)
    if spec is None or course is None:  # (no course: no protocol's spec)
        if custom is None:
            raise ValidationError(
                f"The course's protocol has no {kind.replace('_', '-')} session; give its length, "
                "room type and clinician role.",
                field="duration_minutes",
            )
        return NewSession(clinic_id, patient_id, kind, custom, course_id=course.id if course else None)
    sequence = None
    if kind == "dose":
        sequence = _next_sequence(course, phase)
    return NewSession(
        clinic_id,
        patient_id,
        kind,
        SessionSpec(duration_minutes=spec.duration_minutes, capability=spec.capability, role=spec.role),
        course_id=course.id,
        phase=phase if kind == "dose" else None,
        sequence=sequence,
        route=getattr(spec, "route", None),
    )


def _next_sequence(course: Course, phase: str | None) -> int:
    return 1 + max(
        (
            s.sequence or 0
            for s in inputs.patient_sessions([course.patient_id])
            if s.course_id == course.id and s.kind == "dose" and s.phase == phase and s.status in LIVE_STATUSES
        ),
        default=0,
    )


def _spec_of(session: TreatmentSession, clinic_inputs) -> tuple[SessionSpec, bool]:
    """The protocol's rule for this session (room capability, clinician role), else the session's
    own room and clinician; the length is always the session's own. Second: no clinician needed."""
    minutes = int((session.ends_at - session.starts_at).total_seconds() // 60)
    spec = spec_for(session.course, session.kind, session.phase)
    if spec is not None:
        return SessionSpec(duration_minutes=minutes, capability=spec.capability, role=spec.role), False
    room = clinic_inputs.room(session.room_id)
    member = clinic_inputs.staff_member(session.staff_member_id)
    capability = session.route or (room.capabilities[0] if room and room.capabilities else "consult")
    return (
        SessionSpec(duration_minutes=minutes, capability=capability, role=member.role if member else "nurse"),
        member is None,
    )


def _load(clinic, first: date, patient_id: int, days: int = SEARCH_DAYS):
    dates = [first + timedelta(days=i) for i in range(days)]
    return dates, inputs.clinic_inputs(
        clinic.id, inputs.local_range(clinic, dates[0], dates[-1]), patient_ids=[patient_id]
    )


def _search(
    loaded,
    dates: list[date],
    patient: Patient,
    spec: SessionSpec,
    template: Session,
    *,
    now: datetime,
    exclude_id: int | None = None,
    time_hint: time | None = None,
    room_hint: int | None = None,
    staff_hint: int | None = None,
    no_staff: bool = False,
) -> list[Suggestion]:
    ctx, pool = flag_service.loaded_context(loaded, [patient.id])
    # Live FHIR holds count as booked: a held slot is offered to no one.
    others = [s for s in loaded.sessions if s.id != exclude_id] + holds.as_sessions(
        loaded.clinic.id, loaded.window, patient_ids=[patient.id]
    )
    finder = SlotFinder(loaded.clinic, loaded.rooms, loaded.staff, inputs.patient_value(patient), others)
    finder.use_checks(getattr(spec, "route", None), getattr(spec, "checks", ()))
    return suggest(
        ctx,
        pool,
        finder,
        spec,
        template,
        dates,
        now=now,
        limit=SUGGESTIONS,
        per_day=PER_DAY,
        time_hint=time_hint,
        room_hint=room_hint,
        staff_hint=staff_hint,
        no_staff=no_staff,
    )


def dependents(session: TreatmentSession, moved: Session, *, now: datetime | None = None) -> tuple[Session, ...]:
    """The sessions to move with ``session`` moved to ``moved`` (``move_dependents``): its
    integration session when it would no longer count for the dose, as the suggestions place it.
    422 ``no_slot`` when the integration session has no free slot in the dose's new window."""
    now = now or utcnow()
    clinic = inputs.clinic_row(session.clinic_id)
    tz = clinic.timezone
    first = min(local_date(moved.starts_at, tz), local_date(session.starts_at, tz))
    last = max(local_date(moved.ends_at, tz), local_date(session.ends_at, tz)) + timedelta(days=4)
    loaded = inputs.clinic_inputs(clinic.id, inputs.local_range(clinic, first, last), patient_ids=[session.patient_id])
    history = inputs.patient_sessions([session.patient_id])
    course = [s for s in history if session.course_id is not None and s.course_id == session.course_id]
    others = [s for s in loaded.sessions if s.id != session.id] + holds.as_sessions(
        clinic.id, loaded.window, patient_ids=[session.patient_id]
    )
    finder = SlotFinder(loaded.clinic, loaded.rooms, loaded.staff, inputs.patient_value(session.patient), others)
    proto = protocols().get(session.course.protocol_key) if session.course is not None else None
    got = dependents_for(proto, finder, course, inputs.session_value(session), moved)
    if got is None:
        raise UnprocessableError(
            "The integration session has no free slot inside the dose's new window; "
            "choose another time for the dose or move the integration session yourself.",
            field="move_dependents",
            code="no_slot",
        )
    return got


def for_session(session: TreatmentSession, *, now: datetime | None = None) -> list[Suggestion]:
    """Free slots to move ``session`` to: the same length, a suitable room and clinician, near its
    old time of day, from today (or three days before it) over the next days; at most six."""
    now = now or utcnow()
    clinic = inputs.clinic_row(session.clinic_id)
    tz = clinic.timezone
    first = max(local_date(now, tz), local_date(session.starts_at, tz) - timedelta(days=3))
    dates, loaded = _load(clinic, first, session.patient_id)
    spec, no_staff = _spec_of(session, loaded)
    return _in_time_order(
        _search(
            loaded,
            dates,
            session.patient,
            spec,
            inputs.session_value(session),
            now=now,
            exclude_id=session.id,
            time_hint=local_time(session.starts_at, tz),
            room_hint=session.room_id,
            staff_hint=session.staff_member_id,
            no_staff=no_staff,
        )
    )


def _in_time_order(slots: list[Suggestion]) -> list[Suggestion]:
    return sorted(slots, key=lambda s: (s.starts_at, s.room_id, s.staff_member_id or 0))


def flags_if_moved(session: TreatmentSession, slots: list[Suggestion]) -> list[list]:
    """For each slot, the flags moving ``session`` there would raise (warnings and notes: a slot with
    an error is never suggested), so the page can say what each choice breaks."""
    base = inputs.session_value(session)
    return [
        flag_service.for_candidate(
            replace(
                base,
                starts_at=s.starts_at,
                ends_at=s.ends_at,
                room_id=s.room_id,
                staff_member_id=s.staff_member_id or base.staff_member_id,
            ),
            exclude_ids=(session.id,),
        )
        for s in slots
    ]


def for_new(
    new: NewSession, *, first: date | None = None, time_hint: time | None = None, now: datetime | None = None
) -> list[Suggestion]:
    """Free slots for a session not yet booked, from ``first`` (default today) over the next days."""
    now = now or utcnow()
    clinic = inputs.clinic_row(new.clinic_id)
    first = max(first or local_date(now, clinic.timezone), local_date(now, clinic.timezone))
    patient = inputs.patient_row(new.patient_id)
    template = Session(
        id=None,
        patient_id=new.patient_id,
        starts_at=now,
        ends_at=now,
        room_id=None,
        kind=new.kind,
        clinic_id=new.clinic_id,
        course_id=new.course_id,
        phase=new.phase,
        sequence=new.sequence,
        route=new.route,
    )
    dates, loaded = _load(clinic, first, patient.id)
    return _in_time_order(_search(loaded, dates, patient, new.spec, template, now=now, time_hint=time_hint))


@dataclass(frozen=True)
class MaintenanceProposal:
    course: Course
    last_dose_on: date
    sequence: int
    window: DueWindow  # after ``last_dose_on``
    plan: Plan  # one maintenance dose; ``plan.problems`` says when it falls after the due window


def maintenance(course: Course, *, now: datetime | None = None) -> MaintenanceProposal:
    """The planner's proposal for the course's next maintenance dose (the protocol's due window
    after the course's latest dose, as near its target as the calendar allows, never in the past)."""
    proto = protocols().get(course.protocol_key)
    if proto is None or proto.maintenance is None:
        raise UnprocessableError(
            f"The {course.protocol_key} protocol has no maintenance phase.", field="course_id", code="no_maintenance"
        )
    clinic = inputs.clinic_row(course.clinic_id)
    tz = clinic.timezone
    doses = [
        s
        for s in inputs.patient_sessions([course.patient_id])
        if s.course_id == course.id and s.kind == "dose" and s.status in LIVE_STATUSES
    ]
    if not doses:
        raise UnprocessableError(
            "The course has no dose yet; plan its induction first.", field="course_id", code="no_dose"
        )
    last = max(doses, key=lambda s: s.starts_at)
    last_on = local_date(last.starts_at, tz)
    sequence = _next_sequence(course, "maintenance")
    now = now or utcnow()
    first = max(last_on, local_date(now, tz))
    window = inputs.local_range(clinic, first, first + timedelta(days=180))
    loaded = inputs.clinic_inputs(clinic.id, window, patient_ids=[course.patient_id])
    patient = inputs.patient_value(inputs.patient_row(course.patient_id))
    try:
        plan = _propose(proto, loaded, patient, loaded.sessions, last_on, sequence, now)
    except PlanningError as exc:
        raise UnprocessableError(exc.message, field="course_id", code=exc.code) from None
    from scheduler.domain.maintenance import due_window

    return MaintenanceProposal(
        course=course, last_dose_on=last_on, sequence=sequence, window=due_window(last_on, proto.maintenance), plan=plan
    )


def _propose(proto, loaded, patient, existing, last_on: date, sequence: int, now: datetime) -> Plan:
    """The next maintenance dose (``domain.planning.plan_maintenance_dose``), never before ``now``
    (an overdue dose is proposed from today on)."""
    from scheduler.domain.planning import plan_maintenance_dose

    return plan_maintenance_dose(
        proto, loaded.clinic, loaded.rooms, loaded.staff, patient, existing, last_on, sequence=sequence, not_before=now
    )
