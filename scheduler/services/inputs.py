"""Load the plain domain values (scheduler.domain.values) from the database.

Few, indexed queries: a clinic with its hours and the closures touching a date range; its rooms; its
staff with their working hours and the time off touching the range; a patient; the sessions of a
clinic / a patient / some rooms or clinicians inside a time window. Every session query is bounded by
``starts_at`` (lower bound widened by the longest possible session) so that the
``(resource, starts_at)`` B-tree indexes serve it; no query runs per row.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import joinedload

from scheduler.db import db_session
from scheduler.domain import values as v
from scheduler.domain.intervals import Interval, merge
from scheduler.domain.timezones import day_bounds_utc, local_date
from scheduler.domain.vocabulary import MAX_SESSION_DURATION
from scheduler.errors import NotFound
from scheduler.models import Clinic, Closure, Patient, Room, StaffMember, TimeOff, TreatmentSession
from scheduler.services import scope

TS = TreatmentSession
_SESSION_COLUMNS = (TS.id, TS.patient_id, TS.starts_at, TS.ends_at, TS.room_id, TS.kind, TS.status,
                    TS.clinic_id, TS.course_id, TS.phase, TS.sequence, TS.route, TS.staff_member_id,
                    TS.override_reason, TS.confirmed_at, TS.ride_home_by)


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
    clinic = db_session.scalars(select(Clinic).where(Clinic.id == clinic_id)
                                .options(joinedload(Clinic.opening_hours))).unique().first() \
        if isinstance(clinic_id, int) else None
    if clinic is None:
        raise NotFound(f"No clinic with id {clinic_id}.", field="clinic_id")
    return clinic


def clinic_value(clinic_id: int, window: Interval | None = None, *, row: Clinic | None = None) -> v.Clinic:
    """The clinic with its weekly hours and the closures touching ``window`` (all when None);
    ``row``: the clinic already read by ``clinic_with_hours``."""
    clinic = row if row is not None else clinic_with_hours(clinic_id)
    query = select(Closure).where(Closure.clinic_id == clinic_id)
    if window is not None:
        first = local_date(window.start, clinic.timezone) - timedelta(days=1)
        last = local_date(window.end, clinic.timezone) + timedelta(days=1)
        query = query.where(Closure.ends_on >= first, Closure.starts_on <= last)
    closures = tuple(v.Closure(starts_on=c.starts_on, ends_on=c.ends_on, from_time=c.from_time,
                               until_time=c.until_time, reason=c.reason, id=c.id)
                     for c in db_session.scalars(query))
    return v.Clinic(id=clinic.id, timezone=clinic.timezone, name=clinic.name, closures=closures,
                    hours=_weekly(clinic.opening_hours, "opens_at", "closes_at"),
                    rems_certification_id=clinic.rems_certification_id)


def rooms(clinic_id: int) -> tuple[v.Room, ...]:
    rows = db_session.scalars(select(Room).where(Room.clinic_id == clinic_id).order_by(Room.name, Room.id))
    return tuple(v.Room(id=r.id, name=r.name, capabilities=tuple(r.capabilities or ()), active=r.active)
                 for r in rows)


def room_values(clinic_id: int, room_ids: Iterable[int | None]) -> tuple[v.Room, ...]:
    """The given rooms of the clinic (by primary key: no statement for rows the request already
    read, e.g. the booking's room check)."""
    rows = [db_session.get(Room, i) for i in sorted({i for i in room_ids if isinstance(i, int)})]
    return tuple(v.Room(id=r.id, name=r.name, capabilities=tuple(r.capabilities or ()), active=r.active)
                 for r in rows if r is not None and r.clinic_id == clinic_id)


def staff(clinic_id: int, window: Interval) -> tuple[v.StaffMember, ...]:
    """The clinic's clinicians with weekly hours and the time off touching ``window``."""
    members = db_session.scalars(select(StaffMember).where(StaffMember.clinic_id == clinic_id)
                                 .options(joinedload(StaffMember.working_hours))
                                 .order_by(StaffMember.name, StaffMember.id)).unique().all()
    away: dict[int, list[tuple[datetime, datetime]]] = {}
    if members:
        rows = db_session.execute(
            select(TimeOff.staff_member_id, TimeOff.starts_at, TimeOff.ends_at)
            .join(StaffMember, StaffMember.id == TimeOff.staff_member_id)
            .where(StaffMember.clinic_id == clinic_id, TimeOff.starts_at < window.end,
                   TimeOff.ends_at > window.start))
        for staff_id, starts_at, ends_at in rows:
            away.setdefault(staff_id, []).append((starts_at, ends_at))
    return tuple(
        v.StaffMember(id=m.id, name=m.name, role=m.role, capacity=m.capacity, active=m.active,
                      hours=_weekly(m.working_hours, "starts_at", "ends_at") if m.working_hours else None,
                      time_off=tuple(away.get(m.id, ())))
        for m in members)


def patient_row(patient_id: int) -> Patient:
    """The patient a request names: NotFound when unknown or not visible to the user (scope)."""
    patient = db_session.get(Patient, patient_id) if isinstance(patient_id, int) else None
    if patient is None:
        raise NotFound(f"No patient with id {patient_id}.", field="patient_id")
    return scope.check(patient, field="patient_id")


def patient_value(patient: Patient, authorizations: tuple[v.Authorization, ...] | None = None) -> v.Patient:
    """``authorizations``: already loaded (``patient_values``), else read here."""
    return v.Patient(id=patient.id, mrn=patient.mrn, name=patient.name,
                     ride_home_arranged=patient.ride_home_arranged,
                     dosing_hold_reason=patient.dosing_hold_reason,
                     authorizations=authorization_values(patient.id) if authorizations is None else authorizations,
                     rems_enrollment_id=patient.rems_enrollment_id, rems_enrolled_on=patient.rems_enrolled_on)


def patient_values(patients: Iterable[Patient]) -> list[v.Patient]:
    """Many patients with their authorizations, in two statements whatever their number."""
    patients = list(patients)
    auths = authorizations_of([p.id for p in patients])
    return [patient_value(p, auths.get(p.id, ())) for p in patients]


COUNTED_STATUSES = ("booked", "checked_in", "completed")


def authorization_values(patient_id: int) -> tuple[v.Authorization, ...]:
    """The patient's payer authorizations, each with the doses that use its units (one statement when
    there are none, two otherwise)."""
    return authorizations_of([patient_id]).get(patient_id, ())


def authorizations_of(patient_ids: Iterable[int]) -> dict[int, tuple[v.Authorization, ...]]:
    """The patients' payer authorizations by patient, each with the doses that use its units (one
    statement when none of them has one, two otherwise)."""
    from flask import current_app, has_app_context

    from scheduler.models import Authorization, Course

    ids = sorted(set(patient_ids))
    if not ids:
        return {}
    rows = db_session.scalars(select(Authorization).where(Authorization.patient_id.in_(ids))
                              .order_by(Authorization.patient_id, Authorization.valid_from, Authorization.id)).all()
    if not rows:
        return {}
    low = int(current_app.config.get("AUTHORIZATION_LOW_UNITS", 5)) if has_app_context() else 5
    doses = db_session.execute(
        select(TS.patient_id, TS.id, TS.starts_at, Clinic.timezone, Course.protocol_key)
        .join(Course, Course.id == TS.course_id).join(Clinic, Clinic.id == TS.clinic_id)
        .where(TS.patient_id.in_(sorted({a.patient_id for a in rows})), TS.kind == "dose",
               TS.status.in_(COUNTED_STATUSES), Course.protocol_key.in_({a.protocol for a in rows}))
        .order_by(TS.starts_at, TS.id)).all()
    out: dict[int, list[v.Authorization]] = {}
    for a in rows:
        counted = tuple((sid, start) for pid, sid, start, tz, key in doses
                        if pid == a.patient_id and key == a.protocol and a.valid_from <= local_date(start, tz) <= a.valid_to)
        out.setdefault(a.patient_id, []).append(v.Authorization(
            id=a.id, protocol=a.protocol, payer=a.payer, reference=a.reference, units_authorized=a.units_authorized,
            valid_from=a.valid_from, valid_to=a.valid_to, counted=counted, low_units=low))
    return {pid: tuple(auths) for pid, auths in out.items()}


def session_value(s: TreatmentSession) -> v.Session:
    return v.Session(id=s.id, patient_id=s.patient_id, starts_at=s.starts_at, ends_at=s.ends_at,
                     room_id=s.room_id, kind=s.kind, status=s.status, clinic_id=s.clinic_id,
                     course_id=s.course_id, phase=s.phase, sequence=s.sequence, route=s.route,
                     staff_member_id=s.staff_member_id, override_reason=s.override_reason,
                     confirmed_at=s.confirmed_at, ride_home_by=s.ride_home_by)


def _in_window(window: Interval):
    """Sessions overlapping ``window``, bounded on ``starts_at`` for the index."""
    return (TS.starts_at < window.end, TS.starts_at >= window.start - MAX_SESSION_DURATION,
            TS.ends_at > window.start)


def _values(query) -> tuple[v.Session, ...]:
    return tuple(v.Session(*row) for row in db_session.execute(query.order_by(TS.starts_at, TS.id)))


def clinic_sessions(clinic_id: int, window: Interval | Iterable[Interval]) -> tuple[v.Session, ...]:
    """Every session (any status) of the clinic overlapping ``window`` (or any of several windows, e.g.
    the days of one patient's upcoming sessions: one query, one index range per window)."""
    windows = [window] if isinstance(window, Interval) else merge(list(window))
    if not windows:
        return ()
    return _values(select(*_SESSION_COLUMNS).where(TS.clinic_id == clinic_id,
                                                   or_(*(and_(*_in_window(w)) for w in windows))))


def patient_sessions(patient_ids: Iterable[int], window: Interval | None = None) -> tuple[v.Session, ...]:
    """Every session (any status, any clinic) of the patients, overlapping ``window`` when given.

    Without a window this reads a patient's whole history (a handful to a few hundred rows, served
    by the ``(patient_id, starts_at)`` index)."""
    ids = sorted(set(patient_ids))
    if not ids:
        return ()
    query = select(*_SESSION_COLUMNS).where(TS.patient_id.in_(ids))
    if window is not None:
        query = query.where(*_in_window(window))
    return _values(query)


def resource_sessions(window: Interval, *, room_ids: Iterable[int] = (), patient_ids: Iterable[int] = (),
                      staff_ids: Iterable[int] = ()) -> tuple[v.Session, ...]:
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
    return _values(select(*_SESSION_COLUMNS).where(or_(*holders), *_in_window(window)))


def candidate_sessions(clinic_id: int, windows: list[Interval], *, patient_id: int, room_id: int | None,
                       staff_id: int | None) -> tuple[v.Session, ...]:
    """In one query: the patient's whole history (any status, any clinic) and the clinic's sessions
    (any status) in ``windows`` that hold the room or the clinician; by start time."""
    holders = [TS.room_id == room_id] if room_id is not None else []
    if staff_id is not None:
        holders.append(TS.staff_member_id == staff_id)
    where = TS.patient_id == patient_id
    if holders and (windows := merge(list(windows))):
        where = or_(where, and_(TS.clinic_id == clinic_id, or_(*holders),
                                or_(*(and_(*_in_window(w)) for w in windows))))
    return _values(select(*_SESSION_COLUMNS).where(where))


def change_sessions(clinic_id: int, windows: list[Interval], *, patient_ids: Iterable[int],
                    room_ids: Iterable[int | None] = (), staff_ids: Iterable[int | None] = ()) -> tuple[v.Session, ...]:
    """In one query: the patients' whole histories (any status, any clinic) and the clinic's sessions
    (any status) in ``windows`` that hold one of the rooms or clinicians (what a change's flags can name)."""
    holders = []
    if rooms_ := sorted({r for r in room_ids if r is not None}):
        holders.append(TS.room_id.in_(rooms_))
    if staff_ := sorted({m for m in staff_ids if m is not None}):
        holders.append(TS.staff_member_id.in_(staff_))
    where = TS.patient_id.in_(sorted(set(patient_ids)))
    if holders and (windows := merge(list(windows))):
        where = or_(where, and_(TS.clinic_id == clinic_id, or_(*holders),
                                or_(*(and_(*_in_window(w)) for w in windows))))
    return _values(select(*_SESSION_COLUMNS).where(where))


def clinic_inputs(clinic_id: int, window: Interval | Iterable[Interval], *,
                  patient_ids: Iterable[int] = (), row: Clinic | None = None) -> ClinicInputs:
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
    return ClinicInputs(clinic=clinic, rooms=rooms(clinic_id), staff=staff(clinic_id, window),
                        sessions=ordered, window=window)
