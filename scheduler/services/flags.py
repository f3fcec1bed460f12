"""Flags computed from the data (never stored): load → ``scheduler.domain.flags`` → Flag values.

Three scopes: a clinic over a range of local dates, one patient, one candidate session (before it is
booked or moved). Course rules (spacing, windows, gaps) read the patients' whole histories, served by
the ``(patient_id, starts_at)`` index; resource rules (rooms, clinicians, capacity) read the clinic's
sessions of the days concerned only (one query, one index range per day).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime

from sqlalchemy import select

from scheduler.db import db_session
from scheduler.domain import flags as rules
from scheduler.domain.flags.model import CLOSED_COURSE_STATUSES, CourseFacts, FlagContext
from scheduler.domain.intervals import Interval, merge
from scheduler.domain.timezones import day_bounds_utc, local_date, local_days_between
from scheduler.domain.values import Session
from scheduler.models import Course, Patient, TreatmentSession, utcnow
from scheduler.protocols_registry import protocols
from scheduler.services import inputs

UPCOMING = ("proposed", "booked", "checked_in")


def _courses(*, patient_ids=(), clinic_id: int | None = None, open_only: bool = False) -> list[Course]:
    query = select(Course)
    if clinic_id is not None:
        query = query.where(Course.clinic_id == clinic_id)
    if patient_ids:
        query = query.where(Course.patient_id.in_(sorted(set(patient_ids))))
    if open_only:
        query = query.where(Course.status.not_in(CLOSED_COURSE_STATUSES))
    return list(db_session.scalars(query.order_by(Course.id)))


def course_facts(c: Course) -> CourseFacts:
    return CourseFacts(id=c.id, patient_id=c.patient_id, protocol_key=c.protocol_key, status=c.status,
                       start_on=c.start_on)


def _patients(ids) -> list:
    ids = sorted({i for i in ids if i is not None})
    if len(ids) == 1:  # by primary key: no statement when the request already read the patient
        patient = db_session.get(Patient, ids[0])
        return [inputs.patient_value(patient)] if patient is not None else []
    if not ids:
        return []
    return inputs.patient_values(db_session.scalars(select(Patient).where(Patient.id.in_(ids))))


def day_windows(tz: str, sessions) -> list[Interval]:
    """The local days touched by the sessions, each as a UTC interval."""
    days = sorted({d for s in sessions for d in local_days_between(s.starts_at, s.ends_at, tz)})
    return [Interval(*day_bounds_utc(d, tz)) for d in days]


def _context(clinic_id: int, windows: list[Interval], patient_ids, *, row=None) -> tuple[FlagContext, list[Session]]:
    """The FlagContext and sessions: the clinic's sessions in ``windows`` plus the whole history of
    ``patient_ids`` and of every patient met in the windows."""
    loaded = inputs.clinic_inputs(clinic_id, windows, row=row)
    sessions = {s.id: s for s in loaded.sessions}
    everyone = {s.patient_id for s in sessions.values()} | set(patient_ids)
    for s in inputs.patient_sessions(everyone):
        sessions.setdefault(s.id, s)
    ctx = FlagContext(clinic=loaded.clinic, protocols=protocols(), rooms=loaded.rooms, staff=loaded.staff,
                      patients=_patients(everyone),
                      courses=[course_facts(c) for c in _courses(patient_ids=everyone)] if everyone else [])
    return ctx, sorted(sessions.values(), key=lambda s: (s.starts_at, s.id or 0))


def for_clinic(clinic_id: int, first: date, last: date, *, as_of: datetime | None = None,
               idle_chairs: bool = True, course_gaps: bool = True) -> list:
    """The clinic's flags over local dates ``first`` .. ``last``: every session's conflicts and gaps,
    idle chair time, and (``course_gaps``) the gaps of open courses at the clinic with no session in
    the range (maintenance due or overdue, an induction left incomplete)."""
    clinic = inputs.clinic_with_hours(clinic_id)
    as_of = as_of or utcnow()
    window = inputs.local_range(clinic, first, last)
    open_courses = _courses(clinic_id=clinic_id, open_only=True) if course_gaps else []
    ctx, sessions = _context(clinic_id, [window], {c.patient_id for c in open_courses}, row=clinic)
    found = set(rules.clinic_flags(ctx, first, last, sessions, as_of=as_of, idle_chairs=idle_chairs))
    # Adapter: clinic_flags runs the course rules only for courses with a session in the range; the
    # open courses with nothing in the range (overdue maintenance) are asked separately.
    in_range = {s.course_id for s in sessions if s.course_id is not None and s.clinic_id == clinic_id
                and window.start < s.ends_at and s.starts_at < window.end}
    by_course: dict[int, list[Session]] = {}
    loose_by_patient: dict[int, list[Session]] = {}
    for s in sessions:  # one pass, in order: each course's and each patient's loose sessions
        if s.course_id is None:
            loose_by_patient.setdefault(s.patient_id, []).append(s)
        else:
            by_course.setdefault(s.course_id, []).append(s)
    for course in open_courses:
        if course.id in in_range:
            continue
        mine = by_course.get(course.id, [])
        loose = loose_by_patient.get(course.patient_id, [])
        found.update(f for f in rules.course_flags(ctx, course_facts(course), mine, as_of=as_of, loose=loose)
                     if f.on is not None and first <= f.on <= last)
    return sorted(found, key=lambda f: f.sort_key())


def for_patient(patient_id: int, *, as_of: datetime | None = None) -> list:
    """Every flag about a patient (over each clinic they have sessions or courses at)."""
    as_of = as_of or utcnow()
    history = inputs.patient_sessions([patient_id])
    courses = _courses(patient_ids=[patient_id])
    clinic_ids = sorted({s.clinic_id for s in history} | {c.clinic_id for c in courses})
    found: set = set()
    for clinic_id in clinic_ids:
        clinic = inputs.clinic_with_hours(clinic_id)
        upcoming = [s for s in history if s.clinic_id == clinic_id and s.status in UPCOMING and s.ends_at > as_of]
        loaded = inputs.clinic_inputs(clinic_id, day_windows(clinic.timezone, upcoming)
                                      or [Interval(*day_bounds_utc(local_date(as_of, clinic.timezone),
                                                                   clinic.timezone))], row=clinic)
        others = [s for s in loaded.sessions if s.patient_id != patient_id]
        ctx = FlagContext(clinic=loaded.clinic, protocols=protocols(), rooms=loaded.rooms, staff=loaded.staff,
                          patients=_patients({patient_id} | {s.patient_id for s in others}),
                          courses=[course_facts(c) for c in courses if c.clinic_id == clinic_id])
        found.update(rules.patient_flags(ctx, patient_id, history, as_of=as_of, others=others))
    return sorted(found, key=lambda f: f.sort_key())


def _patient_context(session: Session) -> tuple[FlagContext, list[Session], list[Session]]:
    """For rules about one session: the context, the patient's whole history and the other live
    sessions of the clinic on the session's days (rooms, clinicians, capacity)."""
    clinic = inputs.clinic_with_hours(session.clinic_id)
    loaded = inputs.clinic_inputs(session.clinic_id, day_windows(clinic.timezone, [session]), row=clinic)
    history = list(inputs.patient_sessions([session.patient_id]))
    others = [s for s in loaded.sessions if s.patient_id != session.patient_id and s.live]
    ctx = FlagContext(clinic=loaded.clinic, protocols=protocols(), rooms=loaded.rooms, staff=loaded.staff,
                      patients=_patients({session.patient_id} | {s.patient_id for s in others}),
                      courses=[course_facts(c) for c in _courses(patient_ids=[session.patient_id])])
    return ctx, history, others


def _candidate_context(candidate: Session) -> tuple[FlagContext, list[Session]]:
    """For the candidate rules: the context and, from one query, the patient's whole history plus the
    other patients' live sessions at the clinic on the candidate's days in its room or with its
    clinician (the only other sessions a candidate's flag can name: double bookings by room,
    clinician capacity)."""
    row = inputs.clinic_with_hours(candidate.clinic_id)
    windows = merge(day_windows(row.timezone, [candidate]))
    span = Interval(windows[0].start, windows[-1].end)
    loaded = inputs.candidate_sessions(candidate.clinic_id, windows, patient_id=candidate.patient_id,
                                       room_id=candidate.room_id, staff_id=candidate.staff_member_id)
    history = [s for s in loaded if s.patient_id == candidate.patient_id]
    others = [s for s in loaded if s.patient_id != candidate.patient_id and s.live]
    ctx = FlagContext(clinic=inputs.clinic_value(candidate.clinic_id, span, row=row), protocols=protocols(),
                      rooms=inputs.room_values(candidate.clinic_id, [candidate.room_id]), staff=inputs.staff(candidate.clinic_id, span),
                      patients=_patients({candidate.patient_id} | {s.patient_id for s in others}),
                      courses=_candidate_course(candidate))
    return ctx, history + others


def _candidate_course(candidate: Session) -> list[CourseFacts]:
    """The candidate's own course (the only one its rules read), by primary key: no statement when the
    request already read it; for a dose every course of the patient (doses are spaced across courses
    and outside any course)."""
    if candidate.kind == "dose":
        return [course_facts(c) for c in _courses(patient_ids=[candidate.patient_id])]
    course = db_session.get(Course, candidate.course_id) if isinstance(candidate.course_id, int) else None
    return [course_facts(course)] if course is not None and course.patient_id == candidate.patient_id else []


def for_candidate(candidate: Session, *, exclude_ids: tuple[int, ...] = (), as_of: datetime | None = None) -> list:
    """Conflicts the candidate session would carry if booked (or moved: ``exclude_ids`` its old self)."""
    ctx, loaded = _candidate_context(candidate)
    skip = set(exclude_ids)
    pool = [s for s in loaded if s.id not in skip]
    return rules.candidate_flags(ctx, candidate, pool, as_of=as_of or utcnow())


def for_session(session: TreatmentSession) -> list:
    """The flags that name one session."""
    ctx, history, others = _patient_context(inputs.session_value(session))
    found = rules.patient_flags(ctx, session.patient_id, history, as_of=utcnow(), others=others)
    return [f for f in found if session.id in f.session_ids]


PLANNED_COURSE_ID = -1


def _with_plan(patient, planned, tz: str, protocol_key: str, dropped: frozenset[int]):
    """The patient's authorizations counting the plan's doses too (and not the sessions it cancels)."""
    from scheduler.domain.rules.authorization import with_planned

    if not patient.authorizations:
        return patient
    return replace(patient, authorizations=tuple(with_planned(a, planned, tz, protocol_key, frozenset(dropped))
                                                 for a in patient.authorizations))


def for_plan(patient_id: int, clinic_id: int, protocol_key: str, start_on: date, proposed,
             *, as_of: datetime | None = None, hidden_session_ids: frozenset[int] = frozenset(),
             stopped_course_id: int | None = None) -> list[tuple]:
    """The flags a proposed course (``planning.Plan.sessions``) would carry once booked, as
    ``(flag, plan indexes)`` pairs; the flag's own ``session_ids`` keep only existing sessions.
    ``hidden_session_ids``/``stopped_course_id``: what booking the plan would cancel and stop (a
    course it replaces)."""
    clinic = inputs.clinic_with_hours(clinic_id)
    planned = [Session(id=-(i + 1), patient_id=patient_id, starts_at=ps.starts_at, ends_at=ps.ends_at,
                       room_id=ps.room_id, kind=ps.kind, status="booked", clinic_id=clinic_id,
                       course_id=PLANNED_COURSE_ID, phase=ps.phase, sequence=ps.sequence, route=ps.route,
                       staff_member_id=ps.staff_member_id) for i, ps in enumerate(proposed)]
    if not planned:
        return []
    loaded = inputs.clinic_inputs(clinic_id, day_windows(clinic.timezone, planned), row=clinic)
    history = [replace(s, status="cancelled") if s.id in hidden_session_ids else s
               for s in inputs.patient_sessions([patient_id])]
    others = [s for s in loaded.sessions if s.patient_id != patient_id and s.live]
    courses = [replace(course_facts(c), status="stopped") if c.id == stopped_course_id else course_facts(c)
               for c in _courses(patient_ids=[patient_id])]
    courses.append(CourseFacts(id=PLANNED_COURSE_ID, patient_id=patient_id, protocol_key=protocol_key,
                               status="planned", start_on=start_on))
    patients = [_with_plan(p, planned, loaded.clinic.timezone, protocol_key, hidden_session_ids)
                if p.id == patient_id else p for p in _patients({patient_id} | {s.patient_id for s in others})]
    ctx = FlagContext(clinic=loaded.clinic, protocols=protocols(), rooms=loaded.rooms, staff=loaded.staff,
                      patients=patients, courses=courses)
    out = []
    for f in rules.patient_flags(ctx, patient_id, history + planned, as_of=as_of or utcnow(), others=others):
        indexes = [-i - 1 for i in f.session_ids if i < 0]
        if not indexes and f.course_id != PLANNED_COURSE_ID:
            continue  # about the patient's existing sessions only
        out.append((replace(f, session_ids=tuple(i for i in f.session_ids if i > 0),
                            course_id=None if f.course_id == PLANNED_COURSE_ID else f.course_id), indexes))
    return out


def change_context(changes: list[Session], *, courses: Iterable[CourseFacts] = ()) -> tuple[FlagContext, list[Session]]:
    """The context and sessions the write gate needs for ``changes`` (new sessions and new versions of
    existing ones, at one clinic): the patients' whole histories, and the clinic's sessions on the
    changes' days in their rooms or with their clinicians. ``courses``: course facts that replace
    the stored ones by id or add to them (a course being planned, one being stopped)."""
    clinic_id = changes[0].clinic_id
    row = inputs.clinic_with_hours(clinic_id)
    windows = merge(day_windows(row.timezone, changes))
    span = Interval(windows[0].start, windows[-1].end)
    patient_ids = {c.patient_id for c in changes}
    loaded = inputs.change_sessions(clinic_id, windows, patient_ids=patient_ids,
                                    room_ids={c.room_id for c in changes},
                                    staff_ids={c.staff_member_id for c in changes})
    pool = [s for s in loaded if s.patient_id in patient_ids or s.live]
    facts = {c.id: course_facts(c) for c in _courses(patient_ids=patient_ids)}
    facts.update({c.id: c for c in courses})
    ctx = FlagContext(clinic=inputs.clinic_value(clinic_id, span, row=row), protocols=protocols(),
                      rooms=inputs.room_values(clinic_id, {c.room_id for c in changes}),
                      staff=inputs.staff(clinic_id, span), patients=_patients(patient_ids),
                      courses=list(facts.values()))
    return ctx, pool


@dataclass(frozen=True)
class Verdict:
    """What the rule book says of a change: the error flags it would introduce (the gate), and the
    conflicts its first session would then carry (for the answer)."""
    introduced: list
    conflicts: list


def check_changes(changes: list[Session], *, courses: Iterable[CourseFacts] = (),
                  as_of: datetime | None = None) -> Verdict:
    """The rule book on a change before it is written (``rules.introduced_flags``)."""
    ctx, pool = change_context(changes, courses=courses)
    as_of = as_of or utcnow()
    introduced = [f for f in rules.introduced_flags(ctx, changes, pool, as_of=as_of)
                  if f.code not in rules.HARD_CONFLICT_CODES]
    rest, _ = rules.apply_changes(pool, changes[1:])
    conflicts = rules.candidate_flags(ctx, changes[0], rest, as_of=as_of)
    return Verdict(introduced, conflicts)


def loaded_context(loaded, patient_ids: Iterable[int]) -> tuple[FlagContext, list[Session]]:
    """The gate's context over a calendar already loaded (``inputs.clinic_inputs``): its clinic,
    rooms, staff and sessions, plus the patients' whole histories and courses."""
    patient_ids = set(patient_ids)
    sessions = {s.id: s for s in loaded.sessions}
    for s in inputs.patient_sessions(patient_ids):
        sessions.setdefault(s.id, s)
    pool = sorted(sessions.values(), key=lambda s: (s.starts_at, s.id or 0))
    ctx = FlagContext(clinic=loaded.clinic, protocols=protocols(), rooms=loaded.rooms, staff=loaded.staff,
                      patients=_patients(patient_ids),  # (the others' names are not needed to judge)
                      courses=[course_facts(c) for c in _courses(patient_ids=patient_ids)])
    return ctx, pool
