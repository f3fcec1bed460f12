"""A small clinic with users who sign in with a password, built through the services.

Used by the page tests (Flask client); the browser tests use ``scheduler demo`` instead.
"""
from __future__ import annotations

from datetime import date, time, timedelta
from functools import lru_cache

from scheduler.auth import hash_password
from scheduler.db import db_session
from scheduler.models import User
from scheduler.services import directory

PASSWORD = "correct horse battery"
ROLES = ("admin", "front_desk", "clinician")


@lru_cache(maxsize=1)
def _hash() -> str:
    return hash_password(PASSWORD)


def email(role: str) -> str:
    return f"{role}@web.test"


def clinic_with_users():
    hours = {d: [(time(8), time(18))] for d in range(5)}
    clinic = directory.create_clinic(None, name="Web Test Clinic", timezone="America/New_York", hours=hours)
    db_session.flush()
    rooms = {name: directory.create_room(None, clinic, name=name, capabilities=caps)
             for name, caps in (("IV-1", ["iv"]), ("IV-2", ["iv"]), ("Therapy", ["therapy", "consult"]))}
    directory.create_staff_member(None, clinic, name="Dr Osei", role="prescriber")
    nurse = directory.create_staff_member(None, clinic, name="Nurse Kim", role="nurse", capacity=2)
    directory.create_staff_member(None, clinic, name="Sam Lee", role="therapist")
    db_session.flush()
    users = {}
    for role in ROLES:
        user = User(email=email(role), role=role, password_hash=_hash(),
                    staff_member_id=nurse.id if role == "clinician" else None)
        db_session.add(user)
        users[role] = user
    db_session.flush()
    db_session.commit()
    return clinic, rooms, users


def next_monday(after: date, weeks: int = 2) -> date:
    return after + timedelta(days=(7 - after.weekday()) % 7 or 7) + timedelta(weeks=weeks - 1)
