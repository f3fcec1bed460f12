"""A fully equipped test clinic for the scheduling-engine tests (services and HTTP)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from scheduler.db import db_session
from tests.support import factories

NY = "America/New_York"
HOURS = {d: [(time(8), time(18))] for d in range(5)} | {5: [(time(9), time(13))]}
ROOMS = {"IV-1": ("iv",), "IV-2": ("iv",), "IM-1": ("im", "iv"), "Therapy": ("therapy", "consult"),
         "Consult": ("consult",), "TMS": ("tms",), "Nasal": ("nasal",), "KAP": ("lozenge", "therapy")}
STAFF = {"Dr Prescriber": ("prescriber", 1), "Nurse Ana": ("nurse", 2), "Nurse Ben": ("nurse", 1),
         "Tess Therapist": ("therapist", 1), "Theo Therapist": ("therapist", 1)}


@dataclass
class TestClinic:
    id: int
    tz: str
    rooms: dict[str, int]
    staff: dict[str, int]

    def at(self, d: date, hh: int, mm: int = 0) -> datetime:
        return datetime.combine(d, time(hh, mm), tzinfo=ZoneInfo(self.tz))

    def iso(self, d: date, hh: int, mm: int = 0) -> str:
        return self.at(d, hh, mm).isoformat()


def build_clinic(name: str = "Engine Clinic", tz: str = NY) -> TestClinic:
    clinic = factories.clinic(name=name, timezone=tz, hours=HOURS)
    rooms = {n: factories.room(clinic, name=n, capabilities=caps).id for n, caps in ROOMS.items()}
    staff = {n: factories.staff(clinic, name=n, role=role, capacity=cap).id for n, (role, cap) in STAFF.items()}
    db_session.commit()
    return TestClinic(clinic.id, tz, rooms, staff)


def patient(mrn: str = "MRN-1", name: str = "Pat Example", *, ride: bool = True) -> int:
    p = factories.patient(mrn=mrn, name=name, ride_home_arranged=ride)
    db_session.commit()
    return p.id


def future_monday(weeks: int = 2) -> date:
    """A Monday a few weeks ahead (no federal holiday matters: the test clinic has no closures)."""
    today = date.today()
    return today + timedelta(days=(7 - today.weekday()) % 7 + 7 * weeks)


def count(model) -> int:
    return db_session.scalar(select(func.count()).select_from(model))
