"""`scheduler demo`: a clinic whose courses come from the planner, with the flags the README promises."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from sqlalchemy import func, select

from scheduler.auth import verify_password
from scheduler.db import db_session
from scheduler.demo import DEMO_CLINIC, DEMO_PASSWORD, DEMO_USERS
from scheduler.domain.timezones import local_date
from scheduler.models import (
    Assessment,
    Clinic,
    Closure,
    Course,
    Patient,
    Room,
    StaffMember,
    TreatmentSession,
    User,
    utcnow,
)
from scheduler.services import flags
from tests.support.builders import count


def test_demo_loads_once_with_planned_courses_and_its_flags(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert "Loaded demo clinic" in result.output
    db_session.remove()

    clinic = db_session.scalars(select(Clinic).where(Clinic.name == DEMO_CLINIC)).one()
    assert clinic.timezone == "America/New_York"
    assert db_session.scalar(select(func.count()).select_from(Closure).where(Closure.clinic_id == clinic.id)) == 1
    assert count(Room) == 5 and count(StaffMember) == 7 and count(Patient) >= 32
    roles = Counter(db_session.scalars(select(StaffMember.role)))
    assert roles == {"prescriber": 2, "nurse": 3, "therapist": 2}
    assert count(Assessment) > 30
    for email, role in DEMO_USERS:
        user = db_session.scalars(select(User).where(User.email == email)).one()
        assert user.role == role and verify_password(user.password_hash, DEMO_PASSWORD)

    # courses at every stage; sessions in the past are done (or missed), the future is booked
    statuses = Counter(db_session.scalars(select(Course.status)))
    assert {"planned", "active", "maintenance"} <= set(statuses)
    now = utcnow()
    past = Counter(db_session.scalars(select(TreatmentSession.status).where(TreatmentSession.ends_at <= now)))
    future = Counter(db_session.scalars(select(TreatmentSession.status).where(TreatmentSession.starts_at > now)))
    assert set(past) <= {"completed", "no_show"} and past["no_show"] >= 2
    assert set(future) == {"booked"}
    protocols = set(db_session.scalars(select(Course.protocol_key)))
    assert {"ketamine-iv", "tms-daily", "tms-accelerated", "esketamine-trd"} <= protocols

    today = local_date(now, clinic.timezone)
    codes = Counter(f.code for f in flags.for_clinic(clinic.id, today, today + timedelta(days=27)))
    for code in ("induction_gap", "maintenance_overdue", "dosing_hold", "ride_home_missing", "idle_chair_time"):
        assert codes[code] >= 1, (code, codes)

    before = count(TreatmentSession)
    again = runner.invoke(args=["demo"])
    assert again.exit_code == 0 and "already loaded" in again.output
    db_session.remove()
    assert count(TreatmentSession) == before and count(Clinic) == 1
