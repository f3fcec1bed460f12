"""Load the plain domain values (scheduler.domain.values) from the database.

Few, indexed queries: a clinic with its hours and the closures touching a date range; its rooms; its
staff with their working hours and the time off touching the range; a patient; the sessions of a
clinic / a patient / some rooms or clinicians inside a time window. Every session query is bounded by
``starts_at`` (lower bound widened by the longest possible session) so that the
``(resource, starts_at)`` B-tree indexes serve it; no query runs per row.
"""

from __future__ import annotations

import typing
from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import date
from operator import attrgetter
from typing import Any

from sqlalchemy import (
    ColumnElement,
    DateTime,
    Enum,
    String,
    Table,
    and_,
    any_,
    bindparam,
    exists,
    func,
    literal,
    literal_column,
    null,
    or_,
    select,
    type_coerce,
    union,
    union_all,
)
from sqlalchemy.engine import Row
from sqlalchemy.orm import aliased, joinedload, make_transient_to_detached

from scheduler.db import db_session, is_postgres, one_of, read
from scheduler.domain import values as v
from scheduler.domain.flags.model import CourseFacts
from scheduler.domain.intervals import Interval, merge
from scheduler.domain.timezones import day_bounds_utc, local_date
from scheduler.errors import NotFound
from scheduler.models import AppointmentHold, Authorization, Clinic, Course, Patient, Room, TreatmentSession
from scheduler.models.base import UTCDateTime
from scheduler.services import scope, setup_cache
from scheduler.services.windows import overlapping, overlapping_bound, window_params

TS = TreatmentSession
# A domain session is a treatment_session row's fields of the same names, in the dataclass's order: the
# one conversion, for ORM rows (``session_value``) and for Core rows of these columns (``_values``).
_SESSION_FIELDS = tuple(f.name for f in fields(v.Session))
_SESSION_COLUMNS = tuple(getattr(TS, name) for name in _SESSION_FIELDS)
_session_attributes = attrgetter(*_SESSION_FIELDS)


@dataclass(frozen=True)
class ClinicInputs:
    """Everything the planner and the flag rules need about one clinic over a window."""

    clinic: v.Clinic
    rooms: tuple[v.Room, ...]
    staff: tuple[v.StaffMember, ...]
    sessions: tuple[v.Session, ...]
    window: Interval

    def room(self, room_id: int | None) -> v.Room | None:
        return next((r for r in self.rooms if r.id == room_id), None)

    def staff_member(self, staff_id: int | None) -> v.StaffMember | None:
        return next((s for s in self.staff if s.id == staff_id), None)


def _weekly(rows, start_attr: str, end_attr: str) -> dict[int, list]:
    out: dict[int, list] = {}
    for row in rows:
        out.setdefault(row.weekday, []).append((getattr(row, start_attr), getattr(row, end_attr)))
    return out


def clinic_row(clinic_id: int) -> Clinic:
    """The clinic a request names: NotFound when it does not exist or is outside the user's clinics."""
    clinic = db_session.get(Clinic, clinic_id) if isinstance(clinic_id, int) else None
    if clinic is None:
        raise NotFound(f"No clinic with id {clinic_id}.", field="clinic_id")
    return scope.check(clinic, field="clinic_id")


def local_range(clinic: Clinic | v.Clinic, first: date, last: date) -> Interval:
    """UTC instants of the clinic-local dates ``first`` .. ``last`` inclusive."""
    return Interval(day_bounds_utc(first, clinic.timezone)[0], day_bounds_utc(last, clinic.timezone)[1])


def clinic_with_hours(clinic_id: int) -> Clinic:
    """The clinic row with its opening hours (one statement)."""
    clinic = (
        db_session.scalars(select(Clinic).where(Clinic.id == clinic_id).options(joinedload(Clinic.opening_hours)))
        .unique()
        .first()
        if isinstance(clinic_id, int)
        else None
    )
    if clinic is None:
        raise NotFound(f"No clinic with id {clinic_id}.", field="clinic_id")
    return clinic


def clinic_value(clinic_id: int, window: Interval | None = None, *, row: Clinic | None = None) -> v.Clinic:
    """The clinic with its weekly hours and the closures touching ``window`` (all when None), from the
    setup cache (``services.setup_cache``); ``row`` is accepted for callers that hold the row already."""
    return setup_cache.setup(clinic_id).clinic_value(window)


def rooms(clinic_id: int) -> tuple[v.Room, ...]:
    return setup_cache.setup(clinic_id).rooms


def room_values(clinic_id: int, room_ids: Iterable[int | None]) -> tuple[v.Room, ...]:
    """The given rooms of the clinic (from the setup cache)."""
    wanted = {i for i in room_ids if isinstance(i, int)}
    return tuple(r for r in setup_cache.setup(clinic_id).rooms if r.id in wanted)


def staff(clinic_id: int, window: Interval) -> tuple[v.StaffMember, ...]:
    """The clinic's clinicians with weekly hours and the time off touching ``window`` (setup cache)."""
    return setup_cache.setup(clinic_id).staff_values(window)


def patient_row(patient_id: int) -> Patient:
    """The patient a request names: NotFound when unknown or not visible to the user (scope)."""
    patient = db_session.get(Patient, patient_id) if isinstance(patient_id, int) else None
    if patient is None:
        raise NotFound(f"No patient with id {patient_id}.", field="patient_id")
    _keep_for_request(patient)
    return scope.check(patient, field="patient_id")


# A course as the rule book's facts: these columns, in CourseFacts' order (one conversion, ``course_fact``).
COURSE_FACT_COLUMNS = (Course.id, Course.patient_id, Course.protocol_key, Course.status, Course.start_on)


def course_fact(row) -> CourseFacts:
    """A row of ``COURSE_FACT_COLUMNS`` as the rule book's course facts."""
    return CourseFacts(id=row[0], patient_id=row[1], protocol_key=row[2], status=row[3], start_on=row[4])


def _with_courses_and_room(statement):
    """``statement``, which reads a patient, joined to the patient's courses (a row each, by id) and to
    the room bound as ``room_id`` with its clinic: what ``booking_rows`` takes (the course fact
    columns, the room's clinic id and setup version, last in each row)."""
    return (
        statement.outerjoin(Course, Course.patient_id == Patient.id)
        .outerjoin(Room, Room.id == bindparam("room_id"))
        .outerjoin(Clinic, Clinic.id == Room.clinic_id)
        .order_by(Course.id)
    )


_PATIENT_WITH_COURSES = _with_courses_and_room(  # built once: read by web bookings and other views
    select(Patient, *COURSE_FACT_COLUMNS, Room.clinic_id, Clinic.setup_version).where(
        Patient.id == bindparam("patient_id")
    )
)


@dataclass(frozen=True)
class BookingRows:
    """What a booking reads first, from one statement (``patient_with_courses``)."""

    patient: Patient
    courses: tuple[CourseFacts, ...]  # the patient's courses as the rule book's facts
    room_version: tuple[int, int] | None  # the room's (clinic_id, setup_version); None: no such room
    # whether the patient has a payer authorization, when the statement read it (``token_with_patient``)
    has_authorizations: bool | None = None


def patient_with_courses(patient_id: int, room_id: int | None = None) -> BookingRows:
    """``patient_row``, the patient's courses as facts (what ``flags.course_fact_rows`` reads) and,
    given ``room_id``, the room's clinic and its setup version (``setup_cache.setup_of_room``), in
    one statement: for a booking, whose write gate and setup then need no statement of their own."""
    rows = (
        db_session.execute(_PATIENT_WITH_COURSES, {"patient_id": patient_id, "room_id": room_id}).all()
        if isinstance(patient_id, int)
        else []
    )
    return booking_rows(rows[0][0] if rows else None, [row[1:] for row in rows], patient_id)


def booking_rows(patient: Patient | None, rows, patient_id: int, has_authorizations: bool | None = None) -> BookingRows:
    """``patient_with_courses`` from what its statement read: the patient entity and, per row, the
    course fact columns, the room's clinic id and setup version (as ``token_with_patient`` reads them
    too): NotFound when the patient does not exist or is out of scope."""
    if patient is None:
        raise NotFound(f"No patient with id {patient_id}.", field="patient_id")
    _keep_for_request(patient)
    scope.check(patient, field="patient_id")
    clinic_id, version = rows[0][-2:]
    return BookingRows(
        patient=patient,
        courses=tuple(course_fact(row) for row in rows if row[0] is not None),
        room_version=(clinic_id, version) if clinic_id is not None else None,
        has_authorizations=has_authorizations,
    )


# The API token's look-up (``auth.token_row``) and ``patient_with_courses`` in one Core statement,
# per database (how the user's clinic ids are gathered into the token's one row differs): read by
# every API booking, whose token and patient then cost one statement. The patient as its columns
# (``_patient_entity`` makes the entity; the ORM's loading of it cost ~0.2 ms of CPU a booking).
_TOKEN_WITH_PATIENT: dict[bool, Any] = {}
_PATIENT_COLUMNS = tuple(typing.cast(Table, Patient.__table__).columns)
_PATIENT_KEYS = tuple(c.key for c in _PATIENT_COLUMNS)
_TOKEN_FIELDS = 5  # user id, role, active, revoked_at, clinic ids


def _token_with_patient_statement(postgres: bool):
    if (found := _TOKEN_WITH_PATIENT.get(postgres)) is not None:
        return found
    from scheduler.models import ApiToken, User, UserClinic

    theirs = select(UserClinic.clinic_id).where(UserClinic.user_id == User.id)
    clinic_ids = (
        func.array(theirs.order_by(UserClinic.clinic_id).scalar_subquery())
        if postgres
        else select(func.group_concat(UserClinic.clinic_id)).where(UserClinic.user_id == User.id).scalar_subquery()
    )
    statement = _with_courses_and_room(
        select(
            User.id,
            User.role,
            User.active,
            ApiToken.revoked_at,
            clinic_ids,
            *_PATIENT_COLUMNS,
            # (a dry run then reads no authorizations for a patient without any: ``courses.plan``)
            exists().where(Authorization.patient_id == Patient.id),
            *COURSE_FACT_COLUMNS,
            Room.clinic_id,
            Clinic.setup_version,
        )
        .select_from(ApiToken)
        .join(User, User.id == ApiToken.user_id)
        .outerjoin(Patient, Patient.id == bindparam("patient_id"))
        .where(ApiToken.token_hash == bindparam("digest"))
    )
    _TOKEN_WITH_PATIENT[postgres] = statement
    return statement


def _patient_entity(values) -> Patient:
    """The patient of a row of its columns as the ORM entity its loading would give: the one already
    in the ORM session when there is one (the ORM keeps that one, whatever the row says), else a
    new one attached as the persistent row it is, every column loaded (nothing read back; as
    ``booking._insert_audited`` attaches the session it wrote)."""
    found = db_session.identity_map.get(db_session.identity_key(Patient, values[0]))
    if found is not None:
        return typing.cast(Patient, found)
    patient = Patient(**dict(zip(_PATIENT_KEYS, values, strict=True)))
    make_transient_to_detached(patient)
    db_session.add(patient)
    return patient


def token_with_patient(digest: str, patient_id: int, room_id: int | None) -> tuple[tuple | None, Any]:
    """In one statement: the API token's row as ``auth.token_row`` reads it (None: no such token) and
    a callable giving ``patient_with_courses(patient_id, room_id)`` from the same rows (NotFound
    then, as there). Nothing is checked here: the token is judged by ``auth``, the patient by
    ``booking_rows``, each when its turn comes."""
    rows = read(
        _token_with_patient_statement(is_postgres()), {"digest": digest, "patient_id": patient_id, "room_id": room_id}
    ).all()
    if not rows:
        return None, None
    user_id, role, active, revoked_at, clinic_ids = rows[0][:_TOKEN_FIELDS]
    if isinstance(clinic_ids, str):  # SQLite's group_concat
        clinic_ids = sorted(int(i) for i in clinic_ids.split(","))
    found = (user_id, role, active, revoked_at, tuple(clinic_ids or ()))
    rest = _TOKEN_FIELDS + len(_PATIENT_COLUMNS)

    def booking() -> BookingRows:
        first = rows[0][_TOKEN_FIELDS:rest]
        patient = _patient_entity(first) if first[0] is not None else None
        return booking_rows(patient, [row[rest + 1 :] for row in rows], patient_id, bool(rows[0][rest]))

    return found, booking


def _keep_for_request(row) -> None:
    """Hold the row until the transaction ends: the ORM's identity map is weak, and what runs at commit
    (the outbox's reminders) asks for the same patient by primary key — then without a statement."""
    db_session.info.setdefault(setup_cache.KEEP, []).append(row)


def patient_value(patient: Patient | Row, authorizations: tuple[v.Authorization, ...] | None = None) -> v.Patient:
    """The patient (an entity, or a Core row of its columns: ``patient_values_of``) as the rule book's
    value; ``authorizations``: already loaded (``patient_values``), else read here."""
    return v.Patient(
        id=patient.id,
        mrn=patient.mrn,
        name=patient.name,
        ride_home_arranged=patient.ride_home_arranged,
        dosing_hold_reason=patient.dosing_hold_reason,
        authorizations=authorization_values(patient.id) if authorizations is None else authorizations,
        rems_enrollment_id=patient.rems_enrollment_id,
        rems_enrolled_on=patient.rems_enrolled_on,
    )


def patient_values(patients: Iterable[Patient]) -> list[v.Patient]:
    """Many patients with their authorizations, in two statements whatever their number."""
    patients = list(patients)
    auths = authorizations_of([p.id for p in patients])
    return [patient_value(p, auths.get(p.id, ())) for p in patients]


_P = Patient
_PATIENT_VALUES = (  # built once: the patients of a clinic's range (flags)
    select(
        _P.id, _P.mrn, _P.name, _P.ride_home_arranged, _P.dosing_hold_reason, _P.rems_enrollment_id, _P.rems_enrolled_on
    )
    .where(_P.id.in_(bindparam("ids", expanding=True)))
    .order_by(_P.id)
)


def patient_values_of(ids: Iterable[int], *, authorizations: bool = True) -> list[v.Patient]:
    """Many patients as values from Core rows (no ORM entity per patient), with their authorizations
    (one more statement, two when any has one) unless ``authorizations`` is False."""
    ids = sorted(set(ids))
    if not ids:
        return []
    rows = read(_PATIENT_VALUES, {"ids": ids}).all()
    auths = authorizations_of(ids) if authorizations else {}
    return [patient_value(row, auths.get(row.id, ())) for row in rows]


COUNTED_STATUSES = ("booked", "checked_in", "completed")


def authorization_values(patient_id: int) -> tuple[v.Authorization, ...]:
    """The patient's payer authorizations, each with the doses that use its units (one statement when
    there are none, two otherwise)."""
    return authorizations_of([patient_id]).get(patient_id, ())


_A = Authorization
_AUTHORIZATIONS = (  # built once: read by every write gate
    select(_A.id, _A.patient_id, _A.protocol, _A.payer, _A.reference, _A.units_authorized, _A.valid_from, _A.valid_to)
    .where(_A.patient_id.in_(bindparam("ids", expanding=True)))
    .order_by(_A.patient_id, _A.valid_from, _A.id)
)


def authorizations_of(patient_ids: Iterable[int]) -> dict[int, tuple[v.Authorization, ...]]:
    """The patients' payer authorizations by patient, each with the doses that use its units (one
    statement when none of them has one, two otherwise)."""
    from flask import current_app, has_app_context

    from scheduler.models import Course

    ids = sorted(set(patient_ids))
    if not ids:
        return {}
    rows = read(_AUTHORIZATIONS, {"ids": ids}).all()
    if not rows:
        return {}
    low = int(current_app.config.get("AUTHORIZATION_LOW_UNITS", 5)) if has_app_context() else 5
    doses = db_session.execute(
        select(TS.patient_id, TS.id, TS.starts_at, Clinic.timezone, Course.protocol_key)
        .join(Course, Course.id == TS.course_id)
        .join(Clinic, Clinic.id == TS.clinic_id)
        .where(
            TS.patient_id.in_(sorted({a.patient_id for a in rows})),
            TS.kind == "dose",
            TS.status.in_(COUNTED_STATUSES),
            Course.protocol_key.in_({a.protocol for a in rows}),
        )
        .order_by(TS.starts_at, TS.id)
    ).all()
    out: dict[int, list[v.Authorization]] = {}
    for a in rows:
        counted = tuple(
            (sid, start)
            for pid, sid, start, tz, key in doses
            if pid == a.patient_id and key == a.protocol and a.valid_from <= local_date(start, tz) <= a.valid_to
        )
        out.setdefault(a.patient_id, []).append(
            v.Authorization(
                id=a.id,
                protocol=a.protocol,
                payer=a.payer,
                reference=a.reference,
                units_authorized=a.units_authorized,
                valid_from=a.valid_from,
                valid_to=a.valid_to,
                counted=counted,
                low_units=low,
            )
        )
    return {pid: tuple(auths) for pid, auths in out.items()}


def session_value(s: TreatmentSession) -> v.Session:
    """The ORM row as the domain's session (its fields of ``_SESSION_FIELDS``)."""
    return v.Session(*_session_attributes(s))


def _in_window(window: Interval):
    """Sessions overlapping ``window``, bounded on ``starts_at`` for the index."""
    return overlapping(TS.starts_at, TS.ends_at, window.start, window.end)


def _values(query) -> tuple[v.Session, ...]:
    """The sessions of a Core ``select()`` of ``_SESSION_COLUMNS``, by start time. Executed on the
    session's connection (plain rows, none of the ORM's per-row work: half the CPU on a month's few
    thousand rows), after the autoflush the ORM would have done."""
    return tuple(v.Session(*row) for row in read(query.order_by(TS.starts_at, TS.id)).all())  # one fetch


def clinic_sessions(clinic_id: int, window: Interval | Iterable[Interval]) -> tuple[v.Session, ...]:
    """Every session (any status) of the clinic overlapping ``window`` (or any of several windows, e.g.
    the days of one patient's upcoming sessions: one query, one index range per window)."""
    windows = [window] if isinstance(window, Interval) else merge(list(window))
    if not windows:
        return ()
    return _values(select(*_SESSION_COLUMNS).where(TS.clinic_id == clinic_id, or_(*(_in_window(w) for w in windows))))


def clinics_sessions(
    windows: dict[int, list[Interval]],
    *,
    room_ids: Iterable[int | None] | None = None,
    staff_ids: Iterable[int | None] = (),
) -> dict[int, tuple[v.Session, ...]]:
    """``clinic_sessions`` of several clinics, each over its own windows, in one statement (one index
    range per clinic and window, each its own arm): by clinic, each by start time. ``room_ids`` given: only the
    sessions that hold one of those rooms or of the clinicians ``staff_ids``."""
    # one arm per clinic and window, each an index range (SQLite searched ``clinic_id = ?`` alone for a
    # clinic's OR of windows, the clinic's whole index range: 69 ms at 10k for 45 upcoming days)
    arms = [
        and_(TS.clinic_id == clinic_id, _in_window(w))
        for clinic_id, ws in sorted(windows.items())
        for w in merge(list(ws))
    ]
    where: ColumnElement[bool] = or_(*arms) if arms else literal(False)
    if room_ids is not None:
        holders = []
        if rooms_ := sorted({r for r in room_ids if r is not None}):
            holders.append(TS.room_id.in_(rooms_))
        if staff_ := sorted({m for m in staff_ids if m is not None}):
            holders.append(TS.staff_member_id.in_(staff_))
        if not holders:
            return {}
        where = and_(or_(*holders), where)
    out: dict[int, list[v.Session]] = {}
    if arms:
        for s in _values(select(*_SESSION_COLUMNS).where(where)):
            out.setdefault(clinic_of(s), []).append(s)
    return {clinic_id: tuple(ss) for clinic_id, ss in out.items()}


def patient_sessions(patient_ids: Iterable[int], window: Interval | None = None) -> tuple[v.Session, ...]:
    """Every session (any status, any clinic) of the patients, overlapping ``window`` when given.

    Without a window this reads a patient's whole history (a handful to a few hundred rows, served
    by the ``(patient_id, starts_at)`` index)."""
    ids = sorted(set(patient_ids))
    if not ids:
        return ()
    query = select(*_SESSION_COLUMNS).where(TS.patient_id.in_(ids))
    if window is not None:
        query = query.where(_in_window(window))
    return _values(query)


def resource_sessions(
    window: Interval, *, room_ids: Iterable[int] = (), patient_ids: Iterable[int] = (), staff_ids: Iterable[int] = ()
) -> tuple[v.Session, ...]:
    """Sessions overlapping ``window`` that hold any of the rooms, patients or clinicians."""
    holders = []
    if room_ids := sorted(set(room_ids)):
        holders.append(TS.room_id.in_(room_ids))
    if patient_ids := sorted(set(patient_ids)):
        holders.append(TS.patient_id.in_(patient_ids))
    if staff_ids := sorted(set(staff_ids)):
        holders.append(TS.staff_member_id.in_(staff_ids))
    if not holders:
        return ()
    return _values(select(*_SESSION_COLUMNS).where(or_(*holders), _in_window(window)))


def candidate_sessions(
    clinic_id: int, windows: list[Interval], *, patient_id: int, room_id: int | None, staff_id: int | None
) -> tuple[v.Session, ...]:
    """In one query: the patient's whole history (any status, any clinic) and the clinic's sessions
    (any status) in ``windows`` that hold the room or the clinician; by start time."""
    holders = [TS.room_id == room_id] if room_id is not None else []
    if staff_id is not None:
        holders.append(TS.staff_member_id == staff_id)
    where = TS.patient_id == patient_id
    if holders and (windows := merge(list(windows))):
        where = or_(where, and_(TS.clinic_id == clinic_id, or_(*holders), or_(*(_in_window(w) for w in windows))))
    return _values(select(*_SESSION_COLUMNS).where(where))


def change_sessions(
    clinic_id: int,
    windows: list[Interval],
    *,
    patient_ids: Iterable[int],
    room_ids: Iterable[int | None] = (),
    staff_ids: Iterable[int | None] = (),
) -> tuple[v.Session, ...]:
    """In one query: the patients' whole histories (any status, any clinic) and the clinic's sessions
    (any status) in ``windows`` that hold one of the rooms or clinicians (what a change's flags can name)."""
    holders = []
    if rooms_ := sorted({r for r in room_ids if r is not None}):
        holders.append(TS.room_id.in_(rooms_))
    if staff_ := sorted({m for m in staff_ids if m is not None}):
        holders.append(TS.staff_member_id.in_(staff_))
    where: ColumnElement[bool] = TS.patient_id.in_(sorted(set(patient_ids)))
    if holders and (windows := merge(list(windows))):
        where = or_(where, and_(TS.clinic_id == clinic_id, or_(*holders), or_(*(_in_window(w) for w in windows))))
    return _values(select(*_SESSION_COLUMNS).where(where))


def history_clause(patient_ids: Iterable[int], near: Interval, course_ids: Iterable[int] = ()):
    """The part of the patients' histories the rule book can pair with what happens in ``near``
    (``domain.rules.horizon``): their sessions overlapping ``near``, every session of ``course_ids``
    and of any course with a session in ``near``, and their evaluations. A long past beyond that is
    not read."""
    pids = sorted(set(patient_ids))
    in_near = and_(TS.patient_id.in_(pids), _in_window(near))
    nearby_courses = select(TS.course_id).where(in_near, TS.course_id.is_not(None))
    mine = [in_near, TS.kind == "evaluation", TS.course_id.in_(nearby_courses)]
    if course_ids := sorted(set(course_ids)):
        mine.append(TS.course_id.in_(course_ids))
    return and_(TS.patient_id.in_(pids), or_(*mine))


def patient_history(
    patient_ids: Iterable[int], near: Interval, course_ids: Iterable[int] = ()
) -> tuple[v.Session, ...]:
    """``history_clause`` as sessions (any status), by start time."""
    if not set(patient_ids):
        return ()
    return _values(select(*_SESSION_COLUMNS).where(history_clause(patient_ids, near, course_ids)))


# The clinic's range with its patients' histories (``clinic_range_history``): one statement per shape,
# built once over bound parameters, the patients named by a subquery (no list of ids in its text).
_RANGE_HISTORY: dict[tuple[bool, bool], Any] = {}


def _range_history_statement(open_courses: bool, postgres: bool):
    if (found := _RANGE_HISTORY.get((open_courses, postgres))) is not None:
        return found
    from scheduler.domain.rules.model import CLOSED_COURSE_STATUSES
    from scheduler.models import Course, RemsMonitoringForm

    here, near = aliased(TS), aliased(TS)
    everyone: Any = select(here.patient_id).where(
        here.clinic_id == bindparam("clinic_id"), overlapping_bound(here.starts_at, here.ends_at, "w")
    )
    if open_courses:
        everyone = union(
            everyone,
            select(Course.patient_id).where(
                Course.clinic_id == bindparam("clinic_id"), Course.status.not_in(CLOSED_COURSE_STATUSES)
            ),
        )
    patients = everyone.cte("everyone")
    # PostgreSQL: = ANY(ARRAY(subquery)), an InitPlan whose ids the (patient_id, starts_at) index serves;
    # for IN (subquery) its planner chose a scan of the whole table (452 vs 20 ms at 1M sessions)
    mine = (
        TS.patient_id == any_(func.array(select(patients.c.patient_id).scalar_subquery()))
        if postgres
        else TS.patient_id.in_(select(patients.c.patient_id))
    )
    nearby_courses = select(near.course_id).where(
        near.patient_id.in_(select(patients.c.patient_id)),
        overlapping_bound(near.starts_at, near.ends_at, "near"),
        near.course_id.is_not(None),
    )
    their_open_courses = select(Course.id).where(
        Course.patient_id.in_(select(patients.c.patient_id)), Course.status.not_in(CLOSED_COURSE_STATUSES)
    )
    statement = (
        select(*(_PG_SESSION_COLUMNS if postgres else _PLAIN_SESSION_COLUMNS), RemsMonitoringForm.id.is_not(None))
        .outerjoin(RemsMonitoringForm, RemsMonitoringForm.session_id == TS.id)
        .where(
            mine,
            or_(
                overlapping_bound(TS.starts_at, TS.ends_at, "near"),
                TS.kind == "evaluation",
                TS.course_id.in_(nearby_courses),
                TS.course_id.in_(their_open_courses),
            ),
        )
        .order_by(TS.starts_at, TS.id)
    )
    _RANGE_HISTORY[(open_courses, postgres)] = statement
    return statement


def clinic_range_history(
    clinic_id: int, window: Interval, near: Interval, *, open_courses: bool
) -> tuple[tuple[v.Session, ...], frozenset[int]]:
    """In one statement: the clinic's sessions overlapping ``window`` and, of every patient met there
    (and, with ``open_courses``, every patient with an open course at the clinic), ``history_clause``
    over ``near`` with their open courses whole — the same rows as ``clinic_sessions`` and
    ``patient_history`` together. Any status, by start time. Second: the ids of those sessions that
    have a REMS Patient Monitoring Form on file (read by the same statement)."""
    params = {"clinic_id": clinic_id, **window_params("w", window.start, window.end)}
    params.update(window_params("near", near.start, near.end))
    rows = read(_range_history_statement(open_courses, is_postgres()), params).all()
    sessions = tuple(v.Session(*row[:-1]) for row in rows)
    return sessions, frozenset(s.id for s, row in zip(sessions, rows, strict=True) if row[-1] and s.id is not None)


# A live hold in the gate's statement: a booked session whose id is minus the hold's (fields a hold
# lacks are NULL).
_H = AppointmentHold
_HOLD_AS_SESSION: dict[str, Any] = {
    **{name: getattr(_H, name) for name in _SESSION_FIELDS if hasattr(_H, name)},
    "id": (-_H.id).label("id"),
    "status": literal("booked", TS.status.type),
}

# The write gate's statements, built once per shape (SQLAlchemy then reuses their compiled form and
# cache key; building the expression anew cost about as much as running it).
_GATE: dict[tuple[int, bool, bool, bool, bool, bool], Any] = {}


def _gate_statement(windows: int, *, courses: bool, rooms: bool, staff: bool, held: bool, postgres: bool):
    """``postgres``: the lists of ids as arrays (``db.one_of``: ~0.03 ms of CPU less per booking than
    the expanding IN's rendering), the instants as psycopg loads them."""
    key = (windows, courses, rooms, staff, held, postgres)
    if (found := _GATE.get(key)) is not None:
        return found
    in_near = and_(
        one_of(TS.patient_id, "pids", postgres=postgres), overlapping_bound(TS.starts_at, TS.ends_at, "near")
    )
    nearby_courses = select(TS.course_id).where(in_near, TS.course_id.is_not(None))
    mine = [in_near, TS.kind == "evaluation", TS.course_id.in_(nearby_courses)]
    if courses:
        mine.append(one_of(TS.course_id, "course_ids", postgres=postgres))
    where = and_(one_of(TS.patient_id, "pids", postgres=postgres), or_(*mine))  # history_clause
    holders = []
    if rooms:
        holders.append(one_of(TS.room_id, "room_ids", postgres=postgres))
    if staff:
        holders.append(one_of(TS.staff_member_id, "staff_ids", postgres=postgres))
    if holders and windows:
        days = or_(*(overlapping_bound(TS.starts_at, TS.ends_at, f"w{i}") for i in range(windows)))
        where = or_(where, and_(TS.clinic_id == bindparam("clinic_id"), or_(*holders), days))
    # the columns as the flag reads of many rows read them (no result processing per value)
    query = select(*(_PG_SESSION_COLUMNS if postgres else _PLAIN_SESSION_COLUMNS)).where(where)
    if held:
        from scheduler.services import holds

        held_rows = select(*(_HOLD_AS_SESSION.get(name, null()) for name in _SESSION_FIELDS)).where(
            holds.live_where(rooms=rooms, postgres=postgres)
        )
        statement: Any = union_all(query, held_rows).order_by(literal_column("starts_at"), literal_column("id"))
    else:
        statement = query.order_by(TS.starts_at, TS.id)
    _GATE[key] = statement
    return statement


def gate_sessions(
    clinic_id: int,
    windows: list[Interval],
    *,
    patient_ids: Iterable[int],
    near: Interval,
    course_ids: Iterable[int] = (),
    room_ids: Iterable[int | None] = (),
    staff_ids: Iterable[int | None] = (),
    held_in: Interval | None = None,
) -> tuple[v.Session, ...]:
    """In one query, what the write gate needs for a change: the patients' ``history_clause`` (the
    change's time widened by the rules' reach as ``near``; ``course_ids`` the changes' own and the
    patients' open courses) and the clinic's sessions in ``windows`` that hold one of the rooms or
    clinicians. Any status; by start time.

    ``held_in``: also the live FHIR holds (``holds.live_where``) on the rooms or the patients that
    overlap it, as booked sessions whose id is minus the hold's (so the double-booking check needs
    no statement of its own); no session has a negative id."""
    pids = sorted(set(patient_ids))
    if not pids:
        return ()
    rooms_ = sorted({r for r in room_ids if r is not None})
    staff_ = sorted({m for m in staff_ids if m is not None})
    courses = sorted(set(course_ids))
    windows = merge(list(windows)) if rooms_ or staff_ else []
    params: dict[str, Any] = {"pids": pids, **window_params("near", near.start, near.end)}
    if courses:
        params["course_ids"] = courses
    if windows:
        params["clinic_id"] = clinic_id
        if rooms_:
            params["room_ids"] = rooms_
        if staff_:
            params["staff_ids"] = staff_
        for i, w in enumerate(windows):
            params.update(window_params(f"w{i}", w.start, w.end))
    if held_in is not None:
        from scheduler.services import holds

        params.update(holds.live_params(held_in.start, held_in.end, room_ids=rooms_, patient_ids=pids))
    statement = _gate_statement(
        len(windows),
        courses=bool(courses),
        rooms=bool(rooms_),
        staff=bool(staff_),
        held=held_in is not None,
        postgres=is_postgres(),
    )
    return tuple(v.Session(*row) for row in read(statement, params))


def clinic_inputs(
    clinic_id: int, window: Interval | Iterable[Interval], *, patient_ids: Iterable[int] = (), row: Clinic | None = None
) -> ClinicInputs:
    """The clinic, rooms, staff and the sessions over ``window`` (one interval or several): the
    clinic's own plus, for the given patients, their sessions anywhere (a patient cannot be in two
    clinics at once). ``row``: the clinic already read by ``clinic_with_hours``."""
    windows = [window] if isinstance(window, Interval) else merge(list(window))
    span = Interval(windows[0].start, windows[-1].end)
    clinic = clinic_value(clinic_id, span, row=row)
    sessions = {s.id: s for s in clinic_sessions(clinic_id, windows)}
    for s in patient_sessions(patient_ids, span):
        sessions.setdefault(s.id, s)
    window = span
    ordered = tuple(sorted(sessions.values(), key=lambda s: (s.starts_at, s.id or 0)))
    return ClinicInputs(
        clinic=clinic, rooms=rooms(clinic_id), staff=staff(clinic_id, window), sessions=ordered, window=window
    )


# The session columns with the Enum-typed ones (kind, phase, route, status) read as plain strings: the
# Enum's result processing is a look-up per value that returns the same string (the CHECK constraints
# hold the values); ~0.3 ms of CPU on a dry run's ~440 rows, on either database.
_PLAIN_SESSION_COLUMNS = tuple(
    type_coerce(c, String).label(c.key) if isinstance(c.type, Enum) else c for c in _SESSION_COLUMNS
)
# On PostgreSQL the instants too as psycopg loads them: aware, in UTC (``db`` sets the session's
# TimeZone; any other zone would still be the same instant), without UTCDateTime's processing per value
# (SQLite's are naive text until UTCDateTime reads them). For the flag reads of many rows.
_PG_SESSION_COLUMNS = tuple(
    type_coerce(c, DateTime(timezone=True)).label(c.key) if isinstance(getattr(c, "type", None), UTCDateTime) else c
    for c in _PLAIN_SESSION_COLUMNS
)
_PLAN_SESSIONS: dict[bool, Any] = {}  # by database: built once each


def _plan_sessions_statement(postgres: bool):
    if (found := _PLAN_SESSIONS.get(postgres)) is not None:
        return found
    statement = _PLAN_SESSIONS[postgres] = (
        # the columns as the flag reads of many rows read them (no result processing per value)
        select(*(_PG_SESSION_COLUMNS if postgres else _PLAIN_SESSION_COLUMNS))
        .where(
            or_(
                and_(TS.clinic_id == bindparam("clinic_id"), overlapping_bound(TS.starts_at, TS.ends_at, "w")),
                TS.patient_id == bindparam("patient_id"),
            )
        )
        .order_by(TS.starts_at, TS.id)
    )
    return statement


def clinic_inputs_and_history(
    clinic_id: int, window: Interval, patient_id: int
) -> tuple[ClinicInputs, tuple[v.Session, ...]]:
    """``clinic_inputs(clinic_id, window)`` and ``patient_sessions([patient_id])`` (the patient's whole
    history, any clinic) from one statement built once: the rows of either, split here by the same
    predicates."""
    params = window_params("w", window.start, window.end)
    rows = read(
        _plan_sessions_statement(is_postgres()), {"clinic_id": clinic_id, "patient_id": patient_id, **params}
    ).all()
    low, start, end = params["w_low"], window.start, window.end
    here, history = [], []
    for row in rows:
        s = v.Session(*row)
        if s.clinic_id == clinic_id and s.starts_at < end and s.ends_at > start and s.starts_at >= low:
            here.append(s)
        if s.patient_id == patient_id:
            history.append(s)
    loaded = ClinicInputs(
        clinic=clinic_value(clinic_id, window),
        rooms=rooms(clinic_id),
        staff=staff(clinic_id, window),
        sessions=tuple(here),
        window=window,
    )
    return loaded, tuple(history)


def clinic_of(s: v.Session) -> int:
    """The clinic of a session the services judge: every stored session and every request names one
    (a domain Session's ``clinic_id`` is Optional for the domain's own values)."""
    if s.clinic_id is None:
        raise ValueError(f"Session {s.id} names no clinic.")
    return s.clinic_id
