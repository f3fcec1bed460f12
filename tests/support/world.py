"""A small clinic for the API-surface tests: America/New_York, one IV room, a nurse, a patient,
and helpers to book sessions through the booking service (so audit events exist)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from scheduler.db import db_session
from scheduler.services import booking
from tests.support import factories

NY = ZoneInfo("America/New_York")
EVERY_DAY = {d: [(time(8), time(18))] for d in range(7)}


@dataclass
class World:
    clinic: object
    room: object
    nurse: object
    patient: object

    def book(self, day: date, start: time = time(9), minutes: int = 120, *, status: str = "booked",
             kind: str = "dose", room=None, staff=None, patient=None):
        starts = datetime.combine(day, start, tzinfo=NY)
        req = booking.SessionRequest(
            clinic_id=self.clinic.id, patient_id=(patient or self.patient).id, room_id=(room or self.room).id,
            staff_member_id=(staff or self.nurse).id, kind=kind, starts_at=starts,
            ends_at=starts + timedelta(minutes=minutes))
        session = booking.book(None, req, status=status)
        db_session.flush()
        return session


def _plain(entity, *fields: str) -> SimpleNamespace:
    """The ids and names of an entity, usable after the request's ORM session is gone."""
    return SimpleNamespace(**{f: getattr(entity, f) for f in ("id", *fields)})


def build(commit: bool = True) -> World:
    clinic = factories.clinic(hours=EVERY_DAY)
    room = factories.room(clinic)
    nurse = factories.staff(clinic)
    patient = factories.patient(mrn="MRN-100", name="Pat Example")
    db_session.flush()
    w = World(_plain(clinic, "name", "timezone"), _plain(room, "name"), _plain(nurse, "name"),
              _plain(patient, "mrn", "name"))
    if commit:
        db_session.commit()
    return w
