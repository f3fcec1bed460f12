"""Small builders for test data, written through the services (so audit events exist too)."""
from __future__ import annotations

from datetime import date, time

from scheduler.db import db_session
from scheduler.services import directory

WEEKDAY_HOURS = {d: [(time(8), time(18))] for d in range(5)}


def clinic(name: str = "Test Clinic", timezone: str = "America/New_York", hours=None):
    c = directory.create_clinic(None, name=name, timezone=timezone, hours=hours or WEEKDAY_HOURS)
    db_session.flush()
    return c


def room(c, name: str = "IV-1", capabilities=("iv",)):
    return directory.create_room(None, c, name=name, capabilities=list(capabilities))


def staff(c, name: str = "Nurse Kim", role: str = "nurse", capacity: int = 1, hours=None):
    return directory.create_staff_member(None, c, name=name, role=role, capacity=capacity, hours=hours)


def patient(mrn: str = "MRN-1", name: str = "Pat Example", birth_date=date(1980, 5, 17), **kw):
    return directory.create_patient(None, mrn=mrn, name=name, birth_date=birth_date, **kw)
