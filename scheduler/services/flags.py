"""Flags computed from the data (never stored): load → ``scheduler.domain.flags`` → Flag values.

Three scopes: a clinic over a range of local dates, one patient, one candidate session (before it is
booked or moved). Course rules (spacing, windows, gaps) read the patients' whole histories, served by
the ``(patient_id, starts_at)`` index; resource rules (rooms, clinicians, capacity) read the clinic's
sessions of the days concerned only (one query, one index range per day).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from sqlalchemy import bindparam, or_, select

from scheduler.db import db_session, read
from scheduler.domain import flags as rules
from scheduler.domain import values as v
from scheduler.domain.flags.model import CLOSED_COURSE_STATUSES, CourseFacts, FlagContext
from scheduler.domain.intervals import Interval, merge, overlaps
from scheduler.domain.rules.authorization import may_use_units, recounted
from scheduler.domain.rules.horizon import neighbour_horizon
from scheduler.domain.timezones import day_bounds_utc, local_date, local_days_between
from scheduler.domain.values import Session, by_id
from scheduler.domain.vocabulary import MAX_SESSION_DURATION
from scheduler.models import Course, Patient, TreatmentSession, utcnow
from scheduler.protocols_registry import protocols
from scheduler.services import inputs, setup_cache

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
    return CourseFacts(
        id=c.id, patient_id=c.patient_id, protocol_key=c.protocol_key, status=c.status, start_on=c.start_on
    )


def _patients(ids, *, authorizations: bool = True) -> list:
    """``authorizations=False``: the patients without their payer authorizations (no statement for
    them), for a judgement no authorization can change (``rules.authorization.may_use_units``)."""
    ids = sorted({i for i in ids if i is not None})
    if len(ids) == 1:  # by primary key: no statement when the request already read the patient
        patient = db_session.get(Patient, ids[0])
        if patient is None:
            return []
        return [inputs.patient_value(patient, None if authorizations else ())]
    if not ids:
        return []
    return inputs.patient_values_of(ids, authorizations=authorizations)


def _took_place_doses(sessions) -> list[int]:
    """The ids of the stored doses among ``sessions`` that took place (what a REMS form is owed for)."""
    return sorted(
        {
            s.id
            for s in sessions
            if s.kind == "dose" and s.status in ("checked_in", "completed") and s.id is not None and s.id > 0
        }
    )


def with_forms(
    ctx: FlagContext,
    sessions,
    *,
    filed: frozenset[int] | None = None,
    thresholds: Mapping[int, tuple[date, ...]] | None = None,
) -> FlagContext:
    """``ctx`` knowing which of ``sessions`` (doses that took place) have a REMS Patient Monitoring
    Form on file, for the rules rems_form_due / rems_form_overdue (one query, only when there are such
    doses; none when ``filed``, the sessions with a form, was read with them), and the
    motor-threshold dates of the patients with an open TMS course (:func:`with_motor_thresholds`;
    ``thresholds``: read already, by patient, for at least those patients)."""
    ids = _took_place_doses(sessions)
    if filed is not None:
        filed = frozenset(i for i in ids if i in filed)
    else:
        filed = _filed_forms(sessions)
    return with_motor_thresholds(replace(ctx, rems_forms=filed), thresholds=thresholds)


def with_motor_thresholds(ctx: FlagContext, *, thresholds: Mapping[int, tuple[date, ...]] | None = None) -> FlagContext:
    """``ctx`` with the dates of the motor_threshold assessments of every patient who has an open TMS
    course in it, for the rule motor_threshold_due (one query, only when there is such a course;
    none when ``thresholds`` holds them)."""
    patients = {c.patient_id for c in ctx.courses.values() if _open_tms(c.status, c.protocol_key)}
    dates = (
        {k: d for k, d in thresholds.items() if k in patients}
        if thresholds is not None
        else _motor_threshold_dates(patients)
    )
    return replace(ctx, motor_thresholds=dates)


def owed_rems_forms(clinic_id: int, *, as_of: datetime | None = None) -> list:
    """rems_form_due / rems_form_overdue of the REMS doses at the clinic in the last
    ``FORM_CHASE_DAYS`` local days that took place and have no Patient Monitoring Form: the worklist
    lists what is owed now, whatever dates it shows. The query only narrows (doses checked in or
    completed, ended, by the nasal route or of a protocol marked ``rems``, no form on file; the
    ``(clinic_id, starts_at)`` index bounds it); the rule book's ``form_flags`` decides."""
    from scheduler.domain.rules.rems import FORM_CHASE_DAYS, TOOK_PLACE, form_flags
    from scheduler.models import RemsMonitoringForm

    as_of = as_of or utcnow()
    clinic = inputs.clinic_with_hours(clinic_id)
    since, _ = day_bounds_utc(local_date(as_of, clinic.timezone) - timedelta(days=FORM_CHASE_DAYS), clinic.timezone)
    rems_keys = sorted(key for key, proto in protocols().items() if proto.rems)
    TS = TreatmentSession
    rows = db_session.scalars(
        select(TS)
        .outerjoin(Course, Course.id == TS.course_id)
        .where(
            TS.clinic_id == clinic_id,
            TS.starts_at >= since,
            TS.starts_at < as_of,
            TS.kind == "dose",
            TS.status.in_(TOOK_PLACE),
            TS.ends_at <= as_of,
            or_(TS.route == "nasal", Course.protocol_key.in_(rems_keys)),
            ~select(RemsMonitoringForm.id).where(RemsMonitoringForm.session_id == TS.id).exists(),
        )
        .order_by(TS.starts_at, TS.id)
    ).all()
    if not rows:
        return []
    sessions = [inputs.session_value(s) for s in rows]
    patient_ids = {s.patient_id for s in sessions}
    ctx = FlagContext(
        clinic=inputs.clinic_value(clinic_id, Interval(since, as_of), row=clinic),
        protocols=protocols(),
        patients=by_id(_patients(patient_ids)),
        courses=by_id([course_facts(c) for c in _courses(patient_ids=patient_ids)]),
        rems_forms=frozenset(),
    )  # none of these has a form: the query says so
    return sorted(form_flags(ctx, sessions, None, as_of), key=lambda f: f.sort_key())


def day_windows(tz: str, sessions) -> list[Interval]:
    """The local days touched by the sessions, each as a UTC interval."""
    days = sorted({d for s in sessions for d in local_days_between(s.starts_at, s.ends_at, tz)})
    return [Interval(*day_bounds_utc(d, tz)) for d in days]


def _context(
    clinic_id: int, window: Interval, open_courses: list[CourseFacts], *, row=None
) -> tuple[FlagContext, list[Session]]:
    """The FlagContext and sessions: the clinic's sessions in ``window`` plus, of every patient met
    there and of the patients of ``open_courses`` (the clinic's), what the rules can pair with them
    (``inputs.history_clause``: sessions near the window, their open courses and every course met
    there whole, evaluations) — not their whole past; in one statement
    (``inputs.clinic_range_history``)."""
    reach = neighbour_horizon(protocols().values())
    near = Interval(window.start - reach, window.end + reach)
    loaded, filed = inputs.clinic_range_history(clinic_id, window, near, open_courses=bool(open_courses))
    low = window.start - MAX_SESSION_DURATION  # the index bound of the statement's window
    everyone = {
        s.patient_id
        for s in loaded
        if s.clinic_id == clinic_id and s.starts_at >= low and s.starts_at < window.end and s.ends_at > window.start
    } | {c.patient_id for c in open_courses}
    facts = {c.id: c for c in course_fact_rows(everyone)}
    whole = {c.id for c in facts.values() if c.status not in CLOSED_COURSE_STATUSES}
    met = {s.course_id for s in loaded if s.course_id is not None}
    ctx = FlagContext(
        clinic=inputs.clinic_value(clinic_id, window, row=row),
        protocols=protocols(),
        rooms=by_id(inputs.rooms(clinic_id)),
        staff=by_id(inputs.staff(clinic_id, window)),
        patients=by_id(_patients(everyone)),
        courses={cid: f for cid, f in facts.items() if cid in whole or cid in met},
    )
    sessions = sorted(loaded, key=lambda s: (s.starts_at, s.id or 0))
    return with_forms(ctx, sessions, filed=filed), sessions


def _open_course_facts(clinic_id: int) -> list[CourseFacts]:
    """The clinic's open courses as facts (one Core statement; ``clinic_id`` left out of the facts, as
    the rules read them here: :func:`for_clinic` asks for their gaps itself)."""
    return [inputs.course_fact(row) for row in read(_OPEN_COURSES, {"clinic_id": clinic_id})]


_OPEN_COURSES = (
    select(*inputs.COURSE_FACT_COLUMNS)
    .where(Course.clinic_id == bindparam("clinic_id"), Course.status.not_in(CLOSED_COURSE_STATUSES))
    .order_by(Course.id)
)


def for_clinic(
    clinic_id: int,
    first: date,
    last: date,
    *,
    as_of: datetime | None = None,
    idle_chairs: bool = True,
    course_gaps: bool = True,
) -> list:
    """The clinic's flags over local dates ``first`` .. ``last``: every session's conflicts and gaps,
    idle chair time, and (``course_gaps``) the gaps of open courses at the clinic with no session in
    the range (maintenance due or overdue, an induction left incomplete)."""
    clinic = inputs.clinic_with_hours(clinic_id)
    as_of = as_of or utcnow()
    window = inputs.local_range(clinic, first, last)
    open_courses = _open_course_facts(clinic_id) if course_gaps else []
    ctx, sessions = _context(clinic_id, window, open_courses, row=clinic)
    found = set(rules.clinic_flags(ctx, first, last, sessions, as_of=as_of, idle_chairs=idle_chairs))
    # Adapter: clinic_flags runs the course rules only for courses with a session in the range; the
    # open courses with nothing in the range (overdue maintenance) are asked separately.
    in_range = {
        s.course_id
        for s in sessions
        if s.course_id is not None
        and s.clinic_id == clinic_id
        and overlaps(s.starts_at, s.ends_at, window.start, window.end)
    }
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
        found.update(
            f
            for f in rules.course_flags(ctx, course, mine, as_of=as_of, loose=loose)
            if f.on is not None and first <= f.on <= last
        )
    return sorted(found, key=lambda f: f.sort_key())


def for_patient(patient_id: int, *, as_of: datetime | None = None, since: datetime | None = None) -> list:
    """Every flag about a patient (over each clinic they have sessions or courses at). ``since``: only
    what the rules need for the sessions from that instant on and the open courses
    (``inputs.history_clause``) is read, not the whole past; flags about earlier sessions may be left
    out (a timeline page asks for its own).

    The rule book runs once per clinic (that clinic's calendar, rooms and clinicians), but what it
    reads is loaded for all the clinics at once: their setups (``setup_cache.setups``), the other
    sessions on the days of the patient's upcoming sessions there that hold one of the patient's
    rooms or clinicians (``inputs.clinics_sessions``), the patients met, the REMS forms and the motor
    thresholds — a fixed number of statements, whatever the number of clinics."""
    as_of = as_of or utcnow()
    courses = _courses(patient_ids=[patient_id])
    if since is None:
        history = inputs.patient_sessions([patient_id])
    else:
        reach = neighbour_horizon(protocols().values())
        far = max(as_of, since) + timedelta(days=3660)
        open_ids = {c.id for c in courses if c.status not in CLOSED_COURSE_STATUSES}
        history = inputs.patient_history([patient_id], Interval(since - reach, far), open_ids)
    clinic_ids = sorted({inputs.clinic_of(s) for s in history} | {c.clinic_id for c in courses})
    setups = setup_cache.setups(clinic_ids)
    windows: dict[int, list[Interval]] = {}
    for clinic_id in clinic_ids:
        tz = setups[clinic_id].timezone
        upcoming = [s for s in history if s.clinic_id == clinic_id and s.status in UPCOMING and s.ends_at > as_of]
        windows[clinic_id] = merge(day_windows(tz, upcoming) or [Interval(*day_bounds_utc(local_date(as_of, tz), tz))])
    # Only the other sessions in the rooms or with the clinicians of the patient's: no rule of a
    # patient's flags pairs theirs with another (double bookings, capacity and check spacing pair by
    # room or clinician; every other rule judges the patient's own sessions).
    theirs = inputs.clinics_sessions(
        windows, room_ids={s.room_id for s in history}, staff_ids={s.staff_member_id for s in history}
    )
    others = {cid: [s for s in theirs.get(cid, ()) if s.patient_id != patient_id] for cid in clinic_ids}
    # the others by name only (their holds and authorizations judge none of the patient's sessions)
    patients = by_id(_patients({patient_id}))
    patients.update(by_id(_patients({s.patient_id for ss in others.values() for s in ss}, authorizations=False)))
    filed = _filed_forms(history)
    thresholds = _motor_threshold_dates(
        {patient_id} if any(_open_tms(c.status, c.protocol_key) for c in courses) else set()
    )
    found: set = set()
    for clinic_id in clinic_ids:
        setup, mine = setups[clinic_id], windows[clinic_id]
        span = Interval(mine[0].start, mine[-1].end)
        met = {patient_id} | {s.patient_id for s in others[clinic_id]}
        ctx = FlagContext(
            clinic=setup.clinic_value(span),
            protocols=protocols(),
            rooms=by_id(setup.rooms),
            staff=by_id(setup.staff_values(span)),
            patients={i: p for i, p in patients.items() if i in met},
            courses=by_id([course_facts(c) for c in courses if c.clinic_id == clinic_id]),
        )
        ctx = with_forms(ctx, [s for s in history if s.clinic_id == clinic_id], filed=filed, thresholds=thresholds)
        found.update(rules.patient_flags(ctx, patient_id, history, as_of=as_of, others=others[clinic_id]))
    return sorted(found, key=lambda f: f.sort_key())


def _filed_forms(sessions) -> frozenset[int]:
    """Of the doses among ``sessions`` that took place, those with a REMS Patient Monitoring Form on
    file (one statement, none when there are no such doses)."""
    from scheduler.models import RemsMonitoringForm

    ids = _took_place_doses(sessions)
    if not ids:
        return frozenset()
    return frozenset(
        db_session.scalars(select(RemsMonitoringForm.session_id).where(RemsMonitoringForm.session_id.in_(ids)))
    )


def _open_tms(status: str, protocol_key: str) -> bool:
    from scheduler.domain.rules.tms import is_tms

    return status not in CLOSED_COURSE_STATUSES and (p := protocols().get(protocol_key)) is not None and is_tms(p)


def _motor_threshold_dates(patient_ids: Iterable[int]) -> dict[int, tuple[date, ...]]:
    """The local dates of the patients' motor_threshold assessments, by patient (one statement, none
    without patients)."""
    from scheduler.models import Assessment

    patients = sorted(set(patient_ids))
    dates: dict[int, list] = {}
    if patients:
        rows = db_session.execute(
            select(Assessment.patient_id, Assessment.taken_on).where(
                Assessment.patient_id.in_(patients), Assessment.instrument == "motor_threshold"
            )
        )
        for pid, taken_on in rows:
            dates.setdefault(pid, []).append(taken_on)
    return {k: tuple(sorted(v)) for k, v in dates.items()}


def _patient_context(session: Session) -> tuple[FlagContext, list[Session], list[Session]]:
    """For rules about one session: the context, the patient's whole history and the other live
    sessions of the clinic on the session's days (rooms, clinicians, capacity)."""
    clinic_id = inputs.clinic_of(session)
    clinic = inputs.clinic_with_hours(clinic_id)
    loaded = inputs.clinic_inputs(clinic_id, day_windows(clinic.timezone, [session]), row=clinic)
    history = list(inputs.patient_sessions([session.patient_id]))
    others = [s for s in loaded.sessions if s.patient_id != session.patient_id and s.live]
    ctx = FlagContext(
        clinic=loaded.clinic,
        protocols=protocols(),
        rooms=by_id(loaded.rooms),
        staff=by_id(loaded.staff),
        patients=by_id(_patients({session.patient_id} | {s.patient_id for s in others})),
        courses=by_id([course_facts(c) for c in _courses(patient_ids=[session.patient_id])]),
    )
    return with_forms(ctx, history), history, others


def _candidate_context(candidate: Session) -> tuple[FlagContext, list[Session]]:
    """For the candidate rules: the context and, from one query, the patient's whole history plus the
    other patients' live sessions at the clinic on the candidate's days in its room or with its
    clinician (the only other sessions a candidate's flag can name: double bookings by room,
    clinician capacity)."""
    clinic_id = inputs.clinic_of(candidate)
    row = inputs.clinic_with_hours(clinic_id)
    windows = merge(day_windows(row.timezone, [candidate]))
    span = Interval(windows[0].start, windows[-1].end)
    loaded = inputs.candidate_sessions(
        clinic_id,
        windows,
        patient_id=candidate.patient_id,
        room_id=candidate.room_id,
        staff_id=candidate.staff_member_id,
    )
    history = [s for s in loaded if s.patient_id == candidate.patient_id]
    others = [s for s in loaded if s.patient_id != candidate.patient_id and s.live]
    ctx = FlagContext(
        clinic=inputs.clinic_value(clinic_id, span, row=row),
        protocols=protocols(),
        rooms=by_id(inputs.room_values(clinic_id, [candidate.room_id])),
        staff=by_id(inputs.staff(clinic_id, span)),
        patients=by_id(_patients({candidate.patient_id} | {s.patient_id for s in others})),
        courses=by_id(_candidate_course(candidate)),
    )
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


@dataclass(frozen=True)
class PlanCalendar:
    """What a course was planned over (``services.courses.plan``): the clinic's calendar over the
    plan's horizon, the patient's whole history, the patient and their courses. The plan's flags
    and the write gate read these again instead of the database."""

    loaded: inputs.ClinicInputs
    history: tuple[Session, ...]
    patient: v.Patient
    courses: tuple[CourseFacts, ...]


def _plan_changes(
    cal: PlanCalendar, proposed, *, hidden_session_ids: frozenset[int], past_status: str | None, now: datetime | None
) -> list[Session]:
    """The plan as changes: its sessions (new), and the sessions booking it cancels."""
    planned = [
        ps.as_session(
            id=None,
            patient_id=cal.patient.id,
            clinic_id=cal.loaded.clinic.id,
            course_id=PLANNED_COURSE_ID,
            status=past_status if past_status and ps.ends_at <= now else "booked",
        )
        for ps in proposed
    ]
    return planned + [replace(s, status="cancelled") for s in cal.history if s.id in hidden_session_ids]


def _plan_context(
    cal: PlanCalendar,
    protocol_key: str,
    start_on: date,
    planned: list[Session],
    *,
    stopped_course_id: int | None,
    others_known: bool = False,
) -> tuple[FlagContext, list[Session]]:
    """The flag context and sessions for a plan, from its calendar: the patient's history and the
    other patients' live sessions on the plan's days in its rooms or with its clinicians (what its
    flags can name); the planned course added, the course it replaces stopped. The other patients
    themselves (names, holds, authorizations) are read only with ``others_known``: a flag that
    needs them names one of their sessions (:func:`_flags_of_plan`)."""
    windows = day_windows(cal.loaded.clinic.timezone, planned)
    ends = [w.end for w in windows]  # (the days ascend and are disjoint: so do their ends)
    rooms = {s.room_id for s in planned}
    staff_ids = {s.staff_member_id for s in planned if s.staff_member_id is not None}

    def on_the_days(s: Session) -> bool:
        """``s`` overlaps one of the days: the first day ending after it starts is the only one that can."""
        i = bisect_right(ends, s.starts_at)
        return i < len(windows) and overlaps(s.starts_at, s.ends_at, windows[i].start, windows[i].end)

    others = [
        s
        for s in cal.loaded.sessions
        if s.patient_id != cal.patient.id
        and s.live
        and (s.room_id in rooms or s.staff_member_id in staff_ids)
        and on_the_days(s)
    ]
    courses = [replace(c, status="stopped") if c.id == stopped_course_id else c for c in cal.courses]
    courses.append(
        CourseFacts(
            id=PLANNED_COURSE_ID,
            patient_id=cal.patient.id,
            protocol_key=protocol_key,
            status="planned",
            start_on=start_on,
            clinic_id=cal.loaded.clinic.id,
        )
    )
    ctx = FlagContext(
        clinic=cal.loaded.clinic,
        protocols=protocols(),
        rooms=by_id(cal.loaded.rooms),
        staff=by_id(cal.loaded.staff),
        patients=by_id([cal.patient, *(_patients({s.patient_id for s in others}) if others_known else ())]),
        courses=by_id(courses),
    )
    return ctx, list(cal.history) + others


def _flags_of_plan(cal: PlanCalendar, protocol_key: str, start_on: date, planned: list[Session], stopped, judge):
    """``judge(ctx, pool)`` over the plan's context: first without reading the other patients; again
    with them when a flag names one of their sessions (the only flags their names, holds or
    authorizations can change: the planner books around other patients' sessions, so rarely)."""
    ctx, pool = _plan_context(cal, protocol_key, start_on, planned, stopped_course_id=stopped)
    found = judge(ctx, pool)
    theirs = {s.id for s in pool if s.patient_id != cal.patient.id}
    if theirs and any(i in theirs for f in found for i in f.session_ids):
        ctx, pool = _plan_context(cal, protocol_key, start_on, planned, stopped_course_id=stopped, others_known=True)
        found = judge(ctx, pool)
    return found


def for_plan(
    cal: PlanCalendar,
    protocol_key: str,
    start_on: date,
    proposed,
    *,
    as_of: datetime | None = None,
    hidden_session_ids: frozenset[int] = frozenset(),
    stopped_course_id: int | None = None,
) -> list[tuple]:
    """The flags a proposed course (``planning.Plan.sessions``) would carry once booked, as
    ``(flag, plan indexes)`` pairs; the flag's own ``session_ids`` keep only existing sessions.
    ``hidden_session_ids``/``stopped_course_id``: what booking the plan would cancel and stop (a
    course it replaces). Reads nothing the calendar ``cal`` holds."""
    changes = _plan_changes(cal, proposed, hidden_session_ids=hidden_session_ids, past_status=None, now=None)
    planned = [c for c in changes if c.id is None]
    if not planned:
        return []
    when = as_of or utcnow()

    def judge(ctx: FlagContext, pool: list[Session]) -> list:
        after, placed = rules.apply_changes(pool, changes)
        return rules.patient_flags(recounted(ctx, placed), cal.patient.id, after, as_of=when)

    out = []
    for f in _flags_of_plan(cal, protocol_key, start_on, planned, stopped_course_id, judge):
        indexes = [-i - 1 for i in f.session_ids if i < 0]
        if not indexes and f.course_id != PLANNED_COURSE_ID:
            continue  # about the patient's existing sessions only
        out.append(
            (
                replace(
                    f,
                    session_ids=tuple(i for i in f.session_ids if i > 0),
                    course_id=None if f.course_id == PLANNED_COURSE_ID else f.course_id,
                ),
                indexes,
            )
        )
    return out


def plan_flag_dict(f) -> dict:
    """A flag of the plan's write gate as the refusal names it: ``session_ids`` the existing sessions,
    ``plan_sessions`` the indexes of the planned ones (as in a dry run's ``sessions``)."""
    return {
        **f.to_dict(),
        "session_ids": [i for i in f.session_ids if i > 0],
        "plan_sessions": [-i - 1 for i in f.session_ids if i < 0],
    }


def introduced_by_plan(
    cal: PlanCalendar,
    protocol_key: str,
    start_on: date,
    proposed,
    *,
    now: datetime,
    hidden_session_ids: frozenset[int] = frozenset(),
    stopped_course_id: int | None = None,
    past_status: str | None = None,
) -> list:
    """The rule book's write gate on a whole course (``rules.introduced_flags``): the error flags
    booking ``proposed`` (and cancelling ``hidden_session_ids``, stopping ``stopped_course_id``)
    would introduce, double bookings aside (refused outright by the clash check)."""
    changes = _plan_changes(cal, proposed, hidden_session_ids=hidden_session_ids, past_status=past_status, now=now)
    planned = [c for c in changes if c.id is None]
    if not planned:
        return []

    def judge(ctx: FlagContext, pool: list[Session]) -> list:
        return rules.introduced_flags(ctx, changes, pool, as_of=now)

    return [
        replace(f, course_id=None if f.course_id == PLANNED_COURSE_ID else f.course_id)
        for f in _flags_of_plan(cal, protocol_key, start_on, planned, stopped_course_id, judge)
        if f.code not in rules.HARD_CONFLICT_CODES
    ]


def course_fact_rows(patient_ids: Iterable[int]) -> list[CourseFacts]:
    """The patients' courses as plain facts (one Core statement)."""
    ids = sorted(set(patient_ids))
    if not ids:
        return []
    return [inputs.course_fact(row) for row in read(_COURSE_FACTS, {"ids": ids})]


_COURSE_FACTS = (  # built once: read by every write gate
    select(*inputs.COURSE_FACT_COLUMNS)
    .where(Course.patient_id.in_(bindparam("ids", expanding=True)))
    .order_by(Course.id)
)


def _stored_times(changes: list[Session]) -> list[tuple[datetime, datetime]]:
    """Where the changed existing sessions are now (a move's old place)."""
    ids = sorted({c.id for c in changes if c.id is not None and c.id > 0})
    if not ids:
        return []
    return [
        (starts_at, ends_at)
        for starts_at, ends_at in db_session.execute(
            select(TreatmentSession.starts_at, TreatmentSession.ends_at).where(TreatmentSession.id.in_(ids))
        )
    ]


def change_context(changes: list[Session], *, courses: Iterable[CourseFacts] = ()) -> tuple[FlagContext, list[Session]]:
    """``gate_context`` without the holds."""
    ctx, pool, _held = gate_context(changes, courses=courses)
    return ctx, pool


def gate_context(
    changes: list[Session], *, courses: Iterable[CourseFacts] = (), stored_courses: Iterable[CourseFacts] | None = None
) -> tuple[FlagContext, list[Session], list[Session]]:
    """The context and sessions the write gate needs for ``changes`` (new sessions and new versions of
    existing ones, at one clinic): of the patients, what the rules can pair the changes with
    (``domain.rules.horizon``: their own and open courses whole, evaluations, any session or course
    near in time), and the clinic's sessions on the changes' days in their rooms or with their
    clinicians. ``courses``: course facts that replace the stored ones by id or add to them (a course
    being planned, one being stopped). The clinic's setup comes from the setup cache. Third: the live
    FHIR holds on the changes' rooms and patients around their times, as sessions (read by the same
    statement; ``holds.held_among``). ``stored_courses``: every stored course of the changes' patients,
    read by the caller in this transaction (``inputs.patient_with_courses``): not read again."""
    clinic_id = inputs.clinic_of(changes[0])
    setup = setup_cache.setup(clinic_id)
    windows = merge(day_windows(setup.timezone, changes))
    span = Interval(windows[0].start, windows[-1].end)
    patient_ids = {c.patient_id for c in changes}
    facts = {c.id: c for c in (course_fact_rows(patient_ids) if stored_courses is None else stored_courses)}
    given = {c.id: c for c in courses}
    facts.update(given)
    whole = {c.course_id for c in changes if c.course_id is not None}
    whole |= {c.id for c in facts.values() if c.status not in CLOSED_COURSE_STATUSES}
    reach = neighbour_horizon(protocols().values())
    times = [(c.starts_at, c.ends_at) for c in changes] + _stored_times(changes)
    near = Interval(min(a for a, _ in times) - reach, max(b for _, b in times) + reach)
    loaded = inputs.gate_sessions(
        clinic_id,
        windows,
        patient_ids=patient_ids,
        near=near,
        course_ids=whole,
        room_ids={c.room_id for c in changes},
        staff_ids={c.staff_member_id for c in changes},
        held_in=Interval(min(c.starts_at for c in changes), max(c.ends_at for c in changes)),
    )
    held = [s for s in loaded if s.id is not None and s.id < 0]
    pool = [s for s in loaded if (s.id is None or s.id >= 0) and (s.patient_id in patient_ids or s.live)]
    met = {s.course_id for s in pool if s.patient_id in patient_ids and s.course_id is not None}
    ctx = FlagContext(
        clinic=setup.clinic_value(span),
        protocols=protocols(),
        rooms=by_id(inputs.room_values(clinic_id, {c.room_id for c in changes})),
        staff=by_id(setup.staff_values(span)),
        patients=by_id(_patients(patient_ids, authorizations=may_use_units(changes))),
        courses={cid: f for cid, f in facts.items() if cid in whole or cid in met or cid in given},
    )
    return ctx, pool, held


@dataclass(frozen=True)
class Verdict:
    """What the rule book says of a change: the error flags it would introduce (the gate), and the
    conflicts its first session would then carry (for the answer)."""

    introduced: list
    conflicts: list


def check_changes(
    changes: list[Session],
    *,
    courses: Iterable[CourseFacts] = (),
    as_of: datetime | None = None,
    context: tuple | None = None,
) -> Verdict:
    """The rule book on a change before it is written (``rules.introduced_flags``); ``context``: what
    ``change_context`` gave for these changes, when the caller has it already."""
    ctx, pool = context if context is not None else change_context(changes, courses=courses)
    as_of = as_of or utcnow()
    introduced = [
        f for f in rules.introduced_flags(ctx, changes, pool, as_of=as_of) if f.code not in rules.HARD_CONFLICT_CODES
    ]
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
    ctx = FlagContext(
        clinic=loaded.clinic,
        protocols=protocols(),
        rooms=by_id(loaded.rooms),
        staff=by_id(loaded.staff),
        patients=by_id(_patients(patient_ids)),  # (the others' names are not needed to judge)
        courses=by_id([course_facts(c) for c in _courses(patient_ids=patient_ids)]),
    )
    return ctx, pool
