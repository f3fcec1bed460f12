"""Spravato REMS test data: a clinic with a nasal room and an enrolled-to-be patient (``rems_clinic``),
the page tests' ``rems`` fixture (that clinic enrolled, on ``site``; registered for the whole suite by
``pytest_plugins`` in tests/conftest.py), and the API helpers the REMS tests share: ``enroll``,
``dose``, ``past_dose``, ``second_patient``, ``monday_at`` and a valid monitoring ``FORM``."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from scheduler.db import db_session
from scheduler.services import directory
from tests.support import builders
from tests.support.builders import next_monday

NY = ZoneInfo("America/New_York")


def rems_clinic(c) -> dict:
    """Clinic ``c`` (from ``builders.clinic_with_users()``) with a nasal room and patient Ana Ruiz
    (a ride home arranged, not enrolled yet), committed: the ids the helpers below take."""
    nasal = directory.create_room(None, c, name="Spravato", capabilities=["nasal"])
    patient = builders.patient(mrn="REMS-1", name="Ana Ruiz", ride_home_arranged=True)
    db_session.flush()
    staff = {m.role: m.id for m in c.staff}
    db_session.commit()
    return {
        "clinic": c.id,
        "patient": patient.id,
        "room": nasal.id,
        "nurse": staff["nurse"],
        "prescriber": staff["prescriber"],
    }


@pytest.fixture
def rems(site, sqlite_api):
    """The page tests' REMS clinic: ``rems_clinic`` on ``site``, the clinic certified and Ana enrolled."""
    world = rems_clinic(site["clinic"])
    enroll(sqlite_api, world)
    return world


def enroll(api, world, *, clinic=True, patient=True):
    if clinic:
        r = api.patch(f"/api/v1/clinics/{world['clinic']}", json={"rems_certification_id": "SPR-HCS-123"})
        assert r.status_code == 200 and r.json["rems_certification_id"] == "SPR-HCS-123", r.json
    if patient:
        r = api.as_("front_desk").patch(
            f"/api/v1/patients/{world['patient']}",
            json={"rems_enrollment_id": "SPR-PT-9", "rems_enrolled_on": "2025-01-06"},
        )
        assert r.status_code == 200 and r.json["rems_enrollment_id"] == "SPR-PT-9", r.json


def dose(api, world, start: datetime, **extra):
    return api.post(
        "/api/v1/sessions",
        json={
            "patient_id": world["patient"],
            "room_id": world["room"],
            "staff_member_id": world["nurse"],
            "kind": "dose",
            "route": "nasal",
            "starts_at": start.isoformat(),
            "duration_minutes": 135,
            **extra,
        },
    )


def second_patient(world) -> dict:
    """Ben, enrolled, with a second nasal room (Nurse Kim monitors two at once)."""
    from scheduler.models import Clinic

    ben = builders.patient(mrn="REMS-2", name="Ben Li", ride_home_arranged=True)
    ben.rems_enrollment_id, ben.rems_enrolled_on = "SPR-PT-2", date(2025, 1, 6)
    room = directory.create_room(
        None, db_session.get(Clinic, world["clinic"]), name="Spravato 2", capabilities=["nasal"]
    )
    db_session.flush()
    db_session.commit()
    return {**world, "patient": ben.id, "room": room.id}


def monday_at(hour: int, minute: int = 0) -> datetime:
    return datetime.combine(next_monday(datetime.now(NY).date()), time(hour, minute), NY)


FORM = {
    "bp_before_systolic": 128,
    "bp_before_diastolic": 82,
    "bp_40min_systolic": 146,
    "bp_40min_diastolic": 90,
    "bp_discharge_systolic": 130,
    "bp_discharge_diastolic": 84,
    "sedation": "mild",
    "dissociation": "moderate",
    "respiratory_status": "normal",
    "monitoring_minutes": 125,
    "adverse_events": "Nausea, resolved.",
}


def past_dose(api, world, days_ago: int, status: str = "completed") -> dict:
    today = datetime.now(NY).date()
    start = datetime.combine(today - timedelta(days=days_ago), time(9), NY)
    r = dose(api, world, start, record_past=True, status=status, override_reason="entered as history")
    assert r.status_code == 201, r.json
    return r.json
