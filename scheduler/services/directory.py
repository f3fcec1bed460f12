"""Clinics, closures, rooms, staff and patients: create and change, with an audit event each."""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import ColumnElement, and_, case, func, or_, select

from scheduler.db import db_session
from scheduler.domain.vocabulary import LIVE_STATUSES
from scheduler.errors import Conflict
from scheduler.models import (
    Clinic,
    Closure,
    Course,
    OpeningHours,
    Patient,
    Room,
    StaffMember,
    TimeOff,
    TreatmentSession,
    WorkingHours,
    utcnow,
)
from scheduler.models.patient import default_contact_preference
from scheduler.services import audit, scope

WeeklyHours = dict[int, list[tuple[time, time]]]


def create_clinic(
    actor_id: int | None, *, name: str, timezone: str, hours: WeeklyHours, settings: dict | None = None
) -> Clinic:
    """A clinic with its weekly hours; ``settings``: ``waitlist_auto_offer``, ``reminder_hours``."""
    clinic = Clinic(name=name, timezone=timezone, **(settings or {}))
    clinic.opening_hours = [
        OpeningHours(weekday=d, start_time=o, end_time=c)
        for d, intervals in sorted(hours.items())
        for o, c in intervals
    ]
    db_session.add(clinic)
    audit.record(actor_id, "clinic.create", clinic, after={**audit.snapshot(clinic), "hours": _hours_json(hours)})
    return clinic


def update_clinic(actor_id: int | None, clinic: Clinic, changes: dict) -> Clinic:
    before = audit.snapshot(clinic)
    for key, value in changes.items():
        setattr(clinic, key, value)
    audit.record(actor_id, "clinic.update", clinic, before=before)
    return clinic


def _hours_json(hours: WeeklyHours) -> dict:
    return {str(d): [[o.isoformat(), c.isoformat()] for o, c in iv] for d, iv in hours.items()}


def add_closure(
    actor_id: int | None,
    clinic: Clinic,
    *,
    starts_on: date,
    ends_on: date,
    reason: str,
    from_time: time | None = None,
    until_time: time | None = None,
) -> Closure:
    closure = Closure(starts_on=starts_on, ends_on=ends_on, reason=reason, from_time=from_time, until_time=until_time)
    clinic.closures.append(closure)
    audit.record(actor_id, "closure.create", closure)
    return closure


def create_room(actor_id: int | None, clinic: Clinic, *, name: str, capabilities: list[str]) -> Room:
    exists = db_session.scalar(select(Room.id).where(Room.clinic_id == clinic.id, Room.name == name))
    if exists:
        raise Conflict(f"The clinic already has a room named {name!r}.", field="name", code="duplicate")
    room = Room(clinic_id=clinic.id, name=name, capabilities=sorted(set(capabilities)))
    db_session.add(room)
    audit.record(actor_id, "room.create", room)
    return room


def create_staff_member(
    actor_id: int | None, clinic: Clinic, *, name: str, role: str, capacity: int = 1, hours: WeeklyHours | None = None
) -> StaffMember:
    member = StaffMember(clinic_id=clinic.id, name=name, role=role, capacity=capacity)
    member.working_hours = [
        WorkingHours(weekday=d, start_time=s, end_time=e)
        for d, intervals in sorted((hours or {}).items())
        for s, e in intervals
    ]
    db_session.add(member)
    audit.record(
        actor_id, "staff_member.create", member, after={**audit.snapshot(member), "hours": _hours_json(hours or {})}
    )
    return member


def add_time_off(
    actor_id: int | None, member: StaffMember, *, starts_at: datetime, ends_at: datetime, reason: str
) -> TimeOff:
    time_off = TimeOff(starts_at=starts_at, ends_at=ends_at, reason=reason)
    member.time_off.append(time_off)
    audit.record(actor_id, "time_off.create", time_off)
    return time_off


def create_patient(
    actor_id: int | None,
    *,
    mrn: str,
    name: str,
    birth_date: date,
    phone: str | None = None,
    email: str | None = None,
    ride_home_arranged: bool = False,
    contact_preference: str | None = None,
) -> Patient:
    existing = db_session.scalar(select(Patient).where(Patient.mrn == mrn))
    if existing is not None:
        raise Conflict(f"MRN {mrn} already belongs to patient {existing.id}.", field="mrn", code="duplicate")
    # Without a stated preference the column default picks email, else SMS, else none.
    chosen = {"contact_preference": contact_preference} if contact_preference else {}
    patient = Patient(
        mrn=mrn,
        name=name,
        birth_date=birth_date,
        phone=phone,
        email=email,
        ride_home_arranged=ride_home_arranged,
        **chosen,
    )
    db_session.add(patient)
    audit.record(actor_id, "patient.create", patient)
    return patient


def update_patient(actor_id: int | None, patient: Patient, changes: dict) -> Patient:
    """Change demographics; a contact preference of ``none`` records the opt-out (cleared again when
    the patient chooses a channel)."""
    before = audit.snapshot(patient)
    if "contact_preference" in changes and changes["contact_preference"] != patient.contact_preference:
        patient.contact_opted_out_at = utcnow() if changes["contact_preference"] == "none" else None
    elif (
        "contact_preference" not in changes
        and patient.contact_opted_out_at is None
        and patient.contact_preference == default_contact_preference(patient.email, patient.phone)
    ):
        # The preference was the default for the old contact details: it follows the new ones.
        changes = {
            **changes,
            "contact_preference": default_contact_preference(
                changes.get("email", patient.email), changes.get("phone", patient.phone)
            ),
        }
    for key, value in changes.items():
        setattr(patient, key, value)
    audit.record(actor_id, "patient.update", patient, before=before)
    return patient


@dataclass(frozen=True)
class PatientMatch:
    """A search result: the patient, their open course (latest not completed or stopped) and their
    next live session from now (None when there is none)."""

    patient: Patient
    open_course: Course | None
    next_session: TreatmentSession | None


RECENT_DAYS = 30
OPEN_COURSE_STATUSES = ("planned", "active", "maintenance")
_DATE_SLASHED = re.compile(r"^(\d{1,2})[/.](\d{1,2})[/.](\d{4})$")


def birth_dates_in(q: str) -> set[date]:
    """The dates of birth ``q`` may mean: ``1985-04-12``, or ``04/12/1985`` / ``12.04.1985`` read both
    month-first and day-first (an ambiguous one matches both); empty when ``q`` is no date."""
    q = q.strip()
    try:
        return {date.fromisoformat(q)} if re.fullmatch(r"\d{4}-\d{2}-\d{2}", q) else _slashed(q)
    except ValueError:
        return set()


def _slashed(q: str) -> set[date]:
    m = _DATE_SLASHED.match(q)
    if not m:
        return set()
    a, b, year = (int(x) for x in m.groups())
    out = set()
    for month, day in ((a, b), (b, a)):
        with contextlib.suppress(ValueError):
            out.add(date(year, month, day))
    return out


def _name_words(q: str) -> list[str]:
    """ "Ruiz, Ana" and "ana ruiz" are the same two words, in any order."""
    return [w for w in re.split(r"[\s,]+", q.lower()) if w]


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_patients(q: str, limit: int = 50, *, now: datetime | None = None) -> list[PatientMatch]:
    """Patients matching ``q``, each with their open course and next session.

    An MRN matches case-insensitively, whole or by its beginning or any part (``demo-0001``, ``DEMO``,
    ``0001``); a name when it contains every word of ``q`` in any order (``Ruiz, Ana``); a date of
    birth (``1985-04-12``, ``04/12/1985``). Exact MRNs first, then MRNs that begin with ``q``, then the
    rest by name. An empty ``q`` lists the patients seen most recently (a session started in the
    last ``RECENT_DAYS`` days, up to now), latest first."""
    now = now or utcnow()
    q = q.strip()[:200]
    if not q:
        return _with_details(_recently_seen(now, limit), now)
    needle = q.lower()
    mrn = func.lower(Patient.mrn)
    words = _name_words(q)
    conditions: list[ColumnElement[bool]] = [mrn.like(f"%{_like(needle)}%", escape="\\")]
    if words:
        conditions.append(and_(*(func.lower(Patient.name).like(f"%{_like(w)}%", escape="\\") for w in words)))
    born = birth_dates_in(q)
    if born:
        conditions.append(Patient.birth_date.in_(sorted(born)))
    rank = case((mrn == needle, 0), (mrn.like(f"{_like(needle)}%", escape="\\"), 1), else_=2)
    query = (
        select(Patient)
        .where(or_(*conditions), scope.patient_clause(Patient.id))
        .order_by(rank, Patient.name, Patient.id)
        .limit(limit)
    )
    return _with_details(list(db_session.scalars(query)), now)


def _recently_seen(now: datetime, limit: int) -> list[Patient]:
    TS = TreatmentSession
    last = func.max(TS.starts_at)
    rows = db_session.execute(
        select(TS.patient_id, last)
        .where(
            TS.starts_at <= now,
            TS.starts_at >= now - timedelta(days=RECENT_DAYS),
            TS.status.in_(LIVE_STATUSES),
            scope.clinic_clause(TS.clinic_id),
        )
        .group_by(TS.patient_id)
        .order_by(last.desc(), TS.patient_id)
        .limit(limit)
    ).all()
    ids = [pid for pid, _ in rows]
    by_id = {p.id: p for p in db_session.scalars(select(Patient).where(Patient.id.in_(ids)))} if ids else {}
    return [by_id[i] for i in ids if i in by_id]


def _with_details(patients: list[Patient], now: datetime) -> list[PatientMatch]:
    """Each patient's open course and next live session: two queries for the whole list."""
    ids = [p.id for p in patients]
    if not ids:
        return []
    courses: dict[int, Course] = {}
    for c in db_session.scalars(
        select(Course)
        .where(
            Course.patient_id.in_(ids), scope.clinic_clause(Course.clinic_id), Course.status.in_(OPEN_COURSE_STATUSES)
        )
        .order_by(Course.start_on, Course.id)
    ):
        courses[c.patient_id] = c  # the latest open course wins
    TS = TreatmentSession
    first = (
        select(TS.patient_id, func.min(TS.starts_at).label("at"))
        .where(
            TS.patient_id.in_(ids),
            TS.starts_at >= now,
            TS.status.in_(("proposed", "booked")),
            scope.clinic_clause(TS.clinic_id),
        )
        .group_by(TS.patient_id)
        .subquery()
    )
    upcoming: dict[int, TreatmentSession] = {}
    for s in db_session.scalars(
        select(TS)
        .join(first, and_(TS.patient_id == first.c.patient_id, TS.starts_at == first.c.at))
        .where(TS.status.in_(("proposed", "booked")), scope.clinic_clause(TS.clinic_id))
        .order_by(TS.id)
    ):
        upcoming.setdefault(s.patient_id, s)
    return [PatientMatch(p, courses.get(p.id), upcoming.get(p.id)) for p in patients]
