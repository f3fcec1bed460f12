"""The TMS motor threshold: recorded by clinicians (percent of machine output, 1-100) as an assessment,
shown as a measurement (no bands, no response), and chased by motor_threshold_due while a TMS course is
running — appearing and disappearing through the API (both databases) and the pages."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from scheduler.db import db_session
from scheduler.models import Course, TreatmentSession
from scheduler.services import directory
from tests.support import builders
from tests.support.builders import clinic_with_users

NY = ZoneInfo("America/New_York")


def _today() -> date:
    return datetime.now(NY).date()


def _running_tms_course(clinic) -> dict:
    """A tms-daily course of Ana's: a session yesterday (completed) and one tomorrow (booked)."""
    room = directory.create_room(None, clinic, name="TMS chair", capabilities=["tms"])
    patient = builders.patient(mrn="TMS-1", name="Ana Ruiz")
    db_session.flush()
    nurse = next(m for m in clinic.staff if m.role == "nurse")
    course = Course(
        patient_id=patient.id,
        clinic_id=clinic.id,
        protocol_key="tms-daily",
        start_on=_today() - timedelta(days=8),
        status="active",
    )
    db_session.add(course)
    db_session.flush()
    ids = []
    for seq, (days, status) in enumerate(((-1, "completed"), (1, "booked")), start=1):
        start = datetime.combine(_today() + timedelta(days=days), time(9), NY)
        s = TreatmentSession(
            clinic_id=clinic.id,
            patient_id=patient.id,
            course_id=course.id,
            room_id=room.id,
            staff_member_id=nurse.id,
            kind="dose",
            phase="induction",
            sequence=seq,
            route="tms",
            starts_at=start,
            ends_at=start + timedelta(minutes=40),
            status=status,
        )
        db_session.add(s)
        db_session.flush()
        ids.append(s.id)
    db_session.commit()
    return {"clinic": clinic.id, "patient": patient.id, "next": ids[1]}


@pytest.fixture
def tms(app):
    clinic, _rooms, _users = clinic_with_users()
    return _running_tms_course(clinic)


def _due(api, w) -> list[dict]:
    day = _today().isoformat()
    r = api.get(f"/api/v1/flags?clinic_id={w['clinic']}&start={day}&end={day}")
    assert r.status_code == 200, r.json
    return [f for f in r.json["flags"] if f["code"] == "motor_threshold_due"]


def _record(api, w, score, taken_on: date, role="clinician"):
    return api.as_(role).post(
        f"/api/v1/patients/{w['patient']}/assessments",
        json={"instrument": "motor_threshold", "score": score, "taken_on": taken_on.isoformat()},
    )


def test_motor_threshold_due_appears_and_goes_when_it_is_measured(api, tms):
    (due,) = _due(api, tms)
    assert due["severity"] == "warning" and due["session_ids"] == [tms["next"]]
    assert "no motor threshold has been recorded" in due["message"]
    # a measurement 7 days ago is a week old: due again today
    assert _record(api, tms, 58, _today() - timedelta(days=7)).status_code == 201
    (due,) = _due(api, tms)
    assert "7 days ago" in due["message"] and "58" not in due["message"]  # dates only, never the value
    made = _record(api, tms, 60, _today() - timedelta(days=6))
    assert made.status_code == 201 and made.json["max_score"] == 100
    assert _due(api, tms) == []


@pytest.mark.parametrize(
    "score, role, status, field",
    [
        (0, "clinician", 400, "score"),
        (101, "clinician", 400, "score"),
        (55, "front_desk", 403, None),
    ],
)
def test_only_clinicians_record_a_plausible_motor_threshold(api, tms, score, role, status, field):
    r = _record(api, tms, score, _today(), role=role)
    assert r.status_code == status, r.json
    if field:
        assert r.json["error"]["field"] == field and "percent of machine output" in r.json["error"]["message"]
    assert len(_due(api, tms)) == 1  # nothing recorded


def test_a_course_not_running_is_not_chased(api, tms):
    db_session.get(TreatmentSession, tms["next"]).status = "cancelled"
    db_session.commit()
    assert _due(api, tms) == []  # every live session is past: the course is not running


@pytest.fixture
def page_tms(site):
    from sqlalchemy import select

    from scheduler.models import Clinic

    return _running_tms_course(db_session.scalars(select(Clinic).where(Clinic.name == "Web Test Clinic")).one())


def test_the_worklist_row_goes_when_the_clinician_records_it_on_the_timeline(desk, clinician, page_tms):
    day = _today().isoformat()
    url = f"/flags?code=motor_threshold_due&start={day}&end={day}"
    page = desk.get(url)
    assert page.status_code == 200 and page.text.count('data-flag-code="motor_threshold_due"') == 1
    assert "TMS motor threshold due" in page.text
    timeline = clinician.get(f"/patients/{page_tms['patient']}/timeline")
    assert 'value="motor_threshold"' in timeline.text and "1–100 % of machine output" in timeline.text
    r = clinician.post(
        f"/patients/{page_tms['patient']}/assessments",
        {"instrument": "motor_threshold", "score": "62", "taken_on": day},
    )
    assert r.status_code == 302, r.text
    assert 'data-flag-code="motor_threshold_due"' not in desk.get(url).text
    timeline = clinician.get(f"/patients/{page_tms['patient']}/timeline").text
    # a measurement chart, not a score chart: no severity bands, baseline or response line
    assert 'data-testid="measurement-chart" data-instrument="motor_threshold"' in timeline
    assert 'data-testid="assessment-chart"' not in timeline and 'data-testid="response-threshold"' not in timeline
    assert re.search(r"Motor threshold · latest 62 % of machine output", timeline)
