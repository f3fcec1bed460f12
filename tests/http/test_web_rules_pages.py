"""The issue-13 flags on the pages the front desk and clinicians read, each appearing and going away:
rems_not_enrolled, prescriber_not_on_site and bp_checks_too_close on the worklist; authorization_low
on the patient's timeline. (rems_form_due/overdue: test_web_rems.py; motor_threshold_due:
test_motor_threshold.py; authorization_exceeded: test_web_holes.py.)"""

from __future__ import annotations

import re
from datetime import timedelta

from tests.support.rems import dose, monday_at, second_patient


def _rows(web, day) -> list[str]:
    page = web.get(f"/flags?start={day.isoformat()}&end={day.isoformat()}")
    assert page.status_code == 200
    return re.findall(r'<tr data-flag-code="([a-z_]+)"', page.text)


def test_rems_not_enrolled_shows_on_the_worklist_until_the_enrollment_covers_the_dose(rems, sqlite_api, desk):
    booked = dose(sqlite_api, rems, monday_at(9))
    assert booked.status_code == 201, booked.json
    day = monday_at(9).date()
    assert "rems_not_enrolled" not in _rows(desk, day)
    late = (day + timedelta(days=3)).isoformat()  # the enrollment recorded as starting after the dose
    assert (
        sqlite_api.as_("front_desk")
        .patch(f"/api/v1/patients/{rems['patient']}", json={"rems_enrollment_id": "SPR-PT-9", "rems_enrolled_on": late})
        .status_code
        == 200
    )
    assert "rems_not_enrolled" in _rows(desk, day)
    assert "needs the Spravato REMS" in desk.get(f"/flags?start={day}&end={day}").text
    assert (
        sqlite_api.as_("front_desk")
        .patch(
            f"/api/v1/patients/{rems['patient']}",
            json={"rems_enrollment_id": "SPR-PT-9", "rems_enrolled_on": "2025-01-06"},
        )
        .status_code
        == 200
    )
    assert "rems_not_enrolled" not in _rows(desk, day)


def test_prescriber_not_on_site_shows_on_the_worklist_until_the_dose_moves(rems, sqlite_api, desk):
    booked = dose(sqlite_api, rems, monday_at(9)).json
    day = monday_at(9).date()
    assert "prescriber_not_on_site" not in _rows(desk, day)
    off = sqlite_api.post(
        f"/api/v1/staff/{rems['prescriber']}/time_off",
        json={"starts_at": monday_at(10).isoformat(), "ends_at": monday_at(12).isoformat(), "reason": "course"},
    )
    assert off.status_code == 201, off.json
    assert "prescriber_not_on_site" in _rows(desk, day)
    moved = sqlite_api.post(
        f"/api/v1/sessions/{booked['id']}/reschedule",
        json={"version": booked["version"], "starts_at": monday_at(12, 30).isoformat()},
    )
    assert moved.status_code == 200, moved.json
    assert "prescriber_not_on_site" not in _rows(desk, day)


def test_bp_checks_too_close_shows_on_the_worklist_until_the_starts_are_apart(rems, sqlite_api, desk):
    assert dose(sqlite_api, rems, monday_at(9)).status_code == 201
    close = dose(sqlite_api, second_patient(rems), monday_at(9, 5)).json
    day = monday_at(9).date()
    assert "bp_checks_too_close" in _rows(desk, day)
    moved = sqlite_api.post(
        f"/api/v1/sessions/{close['id']}/reschedule",
        json={"version": close["version"], "starts_at": monday_at(9, 15).isoformat()},
    )
    assert moved.status_code == 200, moved.json
    assert "bp_checks_too_close" not in _rows(desk, day)


def test_authorization_low_shows_on_the_timeline_until_more_units_are_authorized(rems, sqlite_api, clinician):
    start = monday_at(9).date()
    course = sqlite_api.post(
        f"/api/v1/patients/{rems['patient']}/courses",
        json={"protocol": "ketamine-iv", "clinic_id": rems["clinic"], "start_on": start.isoformat(), "dry_run": False},
    )
    assert course.status_code == 201, course.json
    base = f"/api/v1/patients/{rems['patient']}/authorizations"
    made = sqlite_api.post(
        base,
        json={
            "payer": "Acme Health",
            "reference": "PA-8",
            "protocol": "ketamine-iv",
            "units_authorized": 9,
            "valid_from": start.isoformat(),
            "valid_to": (start + timedelta(days=200)).isoformat(),
        },
    ).json
    page = clinician.get(f"/patients/{rems['patient']}/timeline")
    assert page.status_code == 200 and 'data-flag-code="authorization_low"' in page.text
    assert "7 of 9" in page.text
    assert sqlite_api.patch(f"{base}/{made['id']}", json={"units_authorized": 36}).status_code == 200
    assert 'data-flag-code="authorization_low"' not in clinician.get(f"/patients/{rems['patient']}/timeline").text
