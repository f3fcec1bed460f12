"""Demo data: one realistic clinic (placeholder until the planner builds real courses)."""
from __future__ import annotations

from datetime import date, time

from sqlalchemy import select

from scheduler.db import db_session
from scheduler.models import Clinic

DEMO_CLINIC = "Riverside Interventional Psychiatry"


def load_demo(today: date | None = None) -> str:
    if db_session.scalar(select(Clinic).where(Clinic.name == DEMO_CLINIC)) is not None:
        return "Demo clinic already loaded."
    from scheduler.services import directory

    weekday = [(time(8), time(18))]
    clinic = directory.create_clinic(None, name=DEMO_CLINIC, timezone="America/New_York",
                                     hours={d: weekday for d in range(5)} | {5: [(time(9), time(13))]})
    return f"Loaded demo clinic {clinic.id}."
