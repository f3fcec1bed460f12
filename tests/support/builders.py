"""Builders for test data, in one place, all written through the services (so audit events exist).

- entities: ``clinic``, ``room``, ``staff``, ``patient`` (flushed, not committed);
- ``small_clinic()``: a clinic open every day with one IV room, a nurse and a patient (a ``World``
  that books sessions through the booking service) for the API-surface tests;
- ``equipped_clinic()``: a weekday clinic with every kind of room and staff the protocols need (an
  ``EquippedClinic``) for the scheduling-engine tests, and ``patient_id()`` for its patients;
- ``clinic_with_users()``: a clinic with an admin, a front desk and a clinician who sign in with
  ``PASSWORD`` (``email(role)``), for the page tests;
- dates and counts: ``future_monday()``, ``next_monday()``, ``count()``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from argon2 import PasswordHasher
from sqlalchemy import func, select

from scheduler.db import db_session
from scheduler.models import User
from scheduler.services import booking, directory
from scheduler.services import sessions as session_service

NEW_YORK = "America/New_York"
NY = ZoneInfo(NEW_YORK)
WEEKDAY_HOURS = {d: [(time(8), time(18))] for d in range(5)}
EVERY_DAY = {d: [(time(8), time(18))] for d in range(7)}


# ---------------------------------------------------------------- entities


def clinic(name: str = "Test Clinic", timezone: str = NEW_YORK, hours=None):
    c = directory.create_clinic(None, name=name, timezone=timezone, hours=hours or WEEKDAY_HOURS)
    db_session.flush()
    return c


def room(c, name: str = "IV-1", capabilities=("iv",)):
    return directory.create_room(None, c, name=name, capabilities=list(capabilities))


def staff(c, name: str = "Nurse Kim", role: str = "nurse", capacity: int = 1, hours=None):
    return directory.create_staff_member(None, c, name=name, role=role, capacity=capacity, hours=hours)


def patient(mrn: str = "MRN-1", name: str = "Pat Example", birth_date=date(1980, 5, 17), **kw):
    return directory.create_patient(None, mrn=mrn, name=name, birth_date=birth_date, **kw)


# ---------------------------------------------------------------- a small clinic (API surface)


@dataclass
class World:
    clinic: object
    room: object
    nurse: object
    patient: object

    def book(
        self,
        day: date,
        start: time = time(9),
        minutes: int = 120,
        *,
        status: str = "booked",
        kind: str = "dose",
        room=None,
        staff=None,
        patient=None,
    ):
        starts = datetime.combine(day, start, tzinfo=NY)
        req = booking.SessionRequest(
            clinic_id=self.clinic.id,
            patient_id=(patient or self.patient).id,
            room_id=(room or self.room).id,
            staff_member_id=(staff or self.nurse).id,
            kind=kind,
            starts_at=starts,
            ends_at=starts + timedelta(minutes=minutes),
        )
        session = session_service.book(None, req, status=status, check_flags=False)[0]
        db_session.flush()
        return session


def _plain(entity, *fields: str) -> SimpleNamespace:
    """The ids and names of an entity, usable after the request's ORM session is gone."""
    return SimpleNamespace(**{f: getattr(entity, f) for f in ("id", *fields)})


def small_clinic(commit: bool = True) -> World:
    """America/New_York, open 8-18 every day, one IV room, a nurse and a patient (MRN-100)."""
    c = clinic(hours=EVERY_DAY)
    r = room(c)
    nurse = staff(c)
    p = patient(mrn="MRN-100", name="Pat Example")
    db_session.flush()
    w = World(_plain(c, "name", "timezone"), _plain(r, "name"), _plain(nurse, "name"), _plain(p, "mrn", "name"))
    if commit:
        db_session.commit()
    return w


# ---------------------------------------------------------------- an equipped clinic (scheduling engine)

ENGINE_HOURS = WEEKDAY_HOURS | {5: [(time(9), time(13))]}
ROOMS = {
    "IV-1": ("iv",),
    "IV-2": ("iv",),
    "IM-1": ("im", "iv"),
    "Therapy": ("therapy", "consult"),
    "Consult": ("consult",),
    "TMS": ("tms",),
    "Nasal": ("nasal",),
    "KAP": ("lozenge", "therapy"),
}
STAFF = {
    "Dr Prescriber": ("prescriber", 1),
    "Nurse Ana": ("nurse", 2),
    "Nurse Ben": ("nurse", 1),
    "Tess Therapist": ("therapist", 1),
    "Theo Therapist": ("therapist", 1),
}


@dataclass
class EquippedClinic:
    id: int
    tz: str
    rooms: dict[str, int]
    staff: dict[str, int]

    def at(self, d: date, hh: int, mm: int = 0) -> datetime:
        return datetime.combine(d, time(hh, mm), tzinfo=ZoneInfo(self.tz))

    def iso(self, d: date, hh: int, mm: int = 0) -> str:
        return self.at(d, hh, mm).isoformat()


def equipped_clinic(name: str = "Engine Clinic", tz: str = NEW_YORK) -> EquippedClinic:
    """Weekdays 8-18 and Saturday 9-13, the rooms of ROOMS and the staff of STAFF; committed."""
    c = clinic(name=name, timezone=tz, hours=ENGINE_HOURS)
    rooms = {n: room(c, name=n, capabilities=caps).id for n, caps in ROOMS.items()}
    people = {n: staff(c, name=n, role=role, capacity=cap).id for n, (role, cap) in STAFF.items()}
    db_session.commit()
    return EquippedClinic(c.id, tz, rooms, people)


def patient_id(mrn: str = "MRN-1", name: str = "Pat Example", *, ride: bool = True) -> int:
    """A committed patient (with a ride home arranged unless ``ride=False``): its id."""
    p = patient(mrn=mrn, name=name, ride_home_arranged=ride)
    db_session.commit()
    return p.id


# ---------------------------------------------------------------- a clinic with users (pages)

PASSWORD = "correct horse battery"
USER_ROLES = ("admin", "front_desk", "clinician")


# The test users' password hashes: argon2id like production's, at the lowest cost argon2 accepts (one
# pass over 8 KiB in one lane), so a sign-in verifies in microseconds instead of ~0.3 s of CPU (the
# cost is read from the hash: sign-in runs the production ``auth.verify_password`` unchanged).
# Hashes the app makes (users created through the API, password changes, the dummy hash checked for
# unknown emails) keep production's parameters; tests/http/test_users.py checks that.
TEST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


@lru_cache(maxsize=8)
def password_hash(password: str = PASSWORD) -> str:
    """A low-cost argon2id hash of ``password`` for a test user (see TEST_HASHER)."""
    return TEST_HASHER.hash(password)


def email(role: str) -> str:
    return f"{role}@web.test"


def clinic_with_users():
    """ "Web Test Clinic" (weekdays), rooms IV-1, IV-2 and Therapy, three staff and one user per role
    of USER_ROLES (the clinician is Nurse Kim); committed. Returns (clinic, rooms by name, users by role)."""
    c = directory.create_clinic(None, name="Web Test Clinic", timezone=NEW_YORK, hours=WEEKDAY_HOURS)
    db_session.flush()
    rooms = {
        name: directory.create_room(None, c, name=name, capabilities=caps)
        for name, caps in (("IV-1", ["iv"]), ("IV-2", ["iv"]), ("Therapy", ["therapy", "consult"]))
    }
    directory.create_staff_member(None, c, name="Dr Osei", role="prescriber")
    nurse = directory.create_staff_member(None, c, name="Nurse Kim", role="nurse", capacity=2)
    directory.create_staff_member(None, c, name="Sam Lee", role="therapist")
    db_session.flush()
    users = {}
    for role in USER_ROLES:
        user = User(
            email=email(role),
            role=role,
            password_hash=password_hash(),
            staff_member_id=nurse.id if role == "clinician" else None,
        )
        db_session.add(user)
        users[role] = user
    db_session.flush()
    db_session.commit()
    return c, rooms, users


# ---------------------------------------------------------------- dates and counts


def future_monday(weeks: int = 2) -> date:
    """A Monday a few weeks ahead (no federal holiday matters: the test clinics have no closures)."""
    today = date.today()
    return today + timedelta(days=(7 - today.weekday()) % 7 + 7 * weeks)


def next_monday(after: date, weeks: int = 2) -> date:
    return after + timedelta(days=(7 - after.weekday()) % 7 or 7) + timedelta(weeks=weeks - 1)


def count(model) -> int:
    return db_session.scalar(select(func.count()).select_from(model))
