"""Payer authorizations through the API: recorded per patient and protocol, units used counted from
booked doses, the plan and every booking checked against them (authorization_exceeded refuses unless
overridden), authorization_low on the next dose, shown on the timeline."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from scheduler.db import db_session
from tests.support import builders
from tests.support.builders import clinic_with_users, next_monday

NY = ZoneInfo("America/New_York")


@pytest.fixture
def clinic(app):
    c, _rooms, _ = clinic_with_users()
    patient = builders.patient(mrn="AUTH-1", name="Ana Ruiz", ride_home_arranged=True)
    db_session.commit()
    return {"clinic": c.id, "patient": patient.id}


def _plan(api, clinic, start: date, dry_run: bool):
    return api.post(
        f"/api/v1/patients/{clinic['patient']}/courses",
        json={
            "protocol": "ketamine-iv",
            "clinic_id": clinic["clinic"],
            "start_on": start.isoformat(),
            "dry_run": dry_run,
        },
    )


def test_a_plan_beyond_the_units_is_flagged_and_a_booked_course_is_counted(api, clinic):
    start = next_monday(datetime.now(NY).date())
    base = f"/api/v1/patients/{clinic['patient']}/authorizations"
    made = api.post(
        base,
        json={
            "payer": "Acme Health",
            "reference": "PA-7",
            "protocol": "ketamine-iv",
            "units_authorized": 4,
            "valid_from": start.isoformat(),
            "valid_to": (start + timedelta(days=120)).isoformat(),
        },
    )
    assert made.status_code == 201, made.json
    assert (made.json["units_used"], made.json["units_left"]) == (0, 4)
    dry = _plan(api, clinic, start, True)
    assert dry.status_code == 200, dry.json
    exceeded = [f for f in dry.json["flags"] if f["code"] == "authorization_exceeded"]
    assert len(exceeded) == 3 and all(f["severity"] == "error" for f in exceeded)  # doses 5, 6 and maintenance
    assert "would be unit 5 of 4 authorized by Acme Health (PA-7)" in exceeded[0]["message"]
    more = api.patch(f"{base}/{made.json['id']}", json={"units_authorized": 36})
    assert more.status_code == 200 and more.json["units_left"] == 36
    booked = _plan(api, clinic, start, False)
    assert booked.status_code == 201, booked.json
    [auth] = api.get(base).json["authorizations"]
    assert (auth["units_used"], auth["units_left"]) == (7, 29)  # six induction doses and one maintenance dose


def test_a_dose_past_the_units_needs_a_reason_and_low_units_are_flagged(api, clinic):
    start = next_monday(datetime.now(NY).date())
    base = f"/api/v1/patients/{clinic['patient']}/authorizations"
    assert _plan(api, clinic, start, False).status_code == 201
    made = api.post(
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
    assert made["units_used"] == 7 and made["units_left"] == 2
    timeline = api.get(f"/api/v1/patients/{clinic['patient']}/timeline").json
    low = [f for f in timeline["flags"] if f["code"] == "authorization_low"]
    assert len(low) == 1 and "7 of 9 units used" in low[0]["message"] and low[0]["severity"] == "warning"
    api.patch(f"{base}/{made['id']}", json={"units_authorized": 7})
    maintenance = next(s for s in timeline["sessions"] if s["phase"] == "maintenance")
    body = {
        "patient_id": clinic["patient"],
        "room_id": maintenance["room_id"],
        "staff_member_id": maintenance["staff_member_id"],
        "kind": "dose",
        "phase": "maintenance",
        "route": "iv",
        "course_id": maintenance["course_id"],
        "starts_at": (datetime.fromisoformat(maintenance["starts_at"]) + timedelta(days=63)).isoformat(),
        "duration_minutes": 120,
    }
    refused = api.post("/api/v1/sessions", json=body)
    assert refused.status_code == 409 and refused.json["error"]["code"] == "flagged", refused.json
    assert "authorization_exceeded" in {c["code"] for c in refused.json["error"]["conflicts"]}
    booked = api.post("/api/v1/sessions", json={**body, "override_reason": "patient pays this one"})
    assert booked.status_code == 201, booked.json
    assert api.get(base).json["authorizations"][0]["units_left"] == 0


def test_bad_authorizations_are_refused_naming_the_field(api, clinic):
    base = f"/api/v1/patients/{clinic['patient']}/authorizations"
    body = {
        "payer": "Acme",
        "reference": "PA",
        "protocol": "ketamine-iv",
        "units_authorized": 6,
        "valid_from": "2027-01-10",
        "valid_to": "2027-01-01",
    }
    assert api.post(base, json=body).json["error"]["field"] == "valid_to"
    assert (
        api.post(base, json={**body, "valid_to": "2027-02-01", "units_authorized": 0}).json["error"]["field"]
        == "units_authorized"
    )
    assert (
        api.post(base, json={**body, "valid_to": "2027-02-01", "protocol": "nope"}).json["error"]["field"] == "protocol"
    )
    assert api.as_("clinician").post(base, json={**body, "valid_to": "2027-02-01"}).status_code == 403
    assert api.get("/api/v1/patients/999999/authorizations").status_code == 404


def test_the_timeline_page_shows_units_used_and_the_end_date(app, api, clinic):
    import re

    from tests.support.builders import PASSWORD, email

    start = next_monday(datetime.now(NY).date())
    assert _plan(api, clinic, start, False).status_code == 201
    api.post(
        f"/api/v1/patients/{clinic['patient']}/authorizations",
        json={
            "payer": "Acme Health",
            "reference": "PA-9",
            "protocol": "ketamine-iv",
            "units_authorized": 36,
            "valid_from": start.isoformat(),
            "valid_to": date(start.year + 1, 6, 30).isoformat(),
        },
    )
    client = app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/sign-in").text).group(1)
    client.post("/sign-in", data={"email": email("clinician"), "password": PASSWORD, "csrf_token": token})
    page = client.get(f"/patients/{clinic['patient']}/timeline")
    assert page.status_code == 200
    assert f"7 of 36 used</strong>, until 30 Jun {start.year + 1}" in page.text


def test_a_dry_run_reads_authorizations_only_for_a_patient_with_one(api, clinic):
    """The token's statement tells whether the patient has a payer authorization: a dry run for one
    without any reads none (no statement), one with an authorization is judged against it as before."""
    from sqlalchemy import event

    start = next_monday(datetime.now(NY).date())
    statements: list[str] = []

    def seen(_conn, _cursor, statement, *_args):
        if statement.startswith("SELECT payer_authorization.id"):  # (the token's statement asks EXISTS)
            statements.append(statement)

    bind = db_session.get_bind()
    event.listen(bind, "before_cursor_execute", seen)
    try:
        dry = _plan(api, clinic, start, True)
        assert dry.status_code == 200, dry.json
        assert statements == []
        assert not [f for f in dry.json["flags"] if f["code"].startswith("authorization_")]
        made = api.post(
            f"/api/v1/patients/{clinic['patient']}/authorizations",
            json={
                "payer": "Acme Health",
                "reference": "PA-9",
                "protocol": "ketamine-iv",
                "units_authorized": 4,
                "valid_from": start.isoformat(),
                "valid_to": (start + timedelta(days=120)).isoformat(),
            },
        )
        assert made.status_code == 201, made.json
        statements.clear()
        dry = _plan(api, clinic, start, True)
        assert dry.status_code == 200, dry.json
        assert len(statements) == 1
        assert len([f for f in dry.json["flags"] if f["code"] == "authorization_exceeded"]) == 3
    finally:
        event.remove(bind, "before_cursor_execute", seen)
