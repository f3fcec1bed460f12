"""The API's base: health, authentication, the directory endpoints and their validation."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from scheduler.db import db_session
from scheduler.models import AuditEvent

HOURS = {"mon": [["08:00", "18:00"]], "tue": [["08:00", "12:00"], ["13:00", "18:00"]]}


def make_clinic(api, **overrides):
    body = {"name": "Riverside", "timezone": "America/New_York", "hours": HOURS} | overrides
    return api.post("/api/v1/clinics", json=body)


def test_health_names_the_database(api):
    answer = api.as_(None).get("/api/v1/health")
    assert answer.status_code == 200
    assert answer.json["status"] == "ok"
    # the kind only: a public check never shows the SQLite file's path or the server's name
    assert answer.json["database"] == db_session.get_bind().dialect.name
    assert set(answer.json) == {"status", "database", "protocols"}


@pytest.mark.parametrize(
    "header, message",
    [
        (None, "Bearer"),
        ("Bearer not-a-token", "unknown or revoked"),
        ("Basic abc", "Bearer"),
    ],
)
def test_requests_without_a_valid_token_are_refused(api, header, message):
    headers = {"Authorization": header} if header else {}
    answer = api.as_(None).get("/api/v1/clinics", headers=headers)
    assert answer.status_code == 401
    assert message in answer.json["error"]["message"]


def test_create_and_read_a_clinic(api):
    created = make_clinic(api)
    assert created.status_code == 201, created.json
    clinic = created.json
    assert clinic["hours"] == {"mon": [["08:00", "18:00"]], "tue": [["08:00", "12:00"], ["13:00", "18:00"]]}
    assert api.get(f"/api/v1/clinics/{clinic['id']}").json["name"] == "Riverside"
    assert [c["id"] for c in api.get("/api/v1/clinics").json["clinics"]] == [clinic["id"]]
    event = db_session.scalars(select(AuditEvent).where(AuditEvent.entity_type == "clinic")).one()
    assert event.action == "clinic.create" and event.actor_id == api.users["admin"]
    assert event.after["name"] == "Riverside"


@pytest.mark.parametrize(
    "overrides, field, status",
    [
        ({"timezone": "Mars/Olympus"}, "timezone", 400),
        ({"timezone": 5}, "timezone", 400),
        ({"hours": {"mon": [["18:00", "08:00"]]}}, "hours.mon[0]", 422),
        ({"hours": {"mon": [["08:00", "08:00"]]}}, "hours.mon[0]", 422),
        ({"hours": {"funday": [["08:00", "18:00"]]}}, "hours.funday", 400),
        ({"hours": {"mon": [["8am", "18:00"]]}}, "hours.mon[0]", 400),
        ({"hours": {"mon": [["08:00", "12:00"], ["11:00", "13:00"]]}}, "hours.mon", 422),
        ({"hours": "always"}, "hours", 400),
        ({"name": ""}, "name", 400),
        ({"name": None}, "name", 400),
        ({"colour": "blue"}, "colour", 400),
    ],
)
def test_bad_clinic_input_names_the_field(api, overrides, field, status):
    answer = make_clinic(api, **overrides)
    assert answer.status_code == status, answer.json
    assert answer.json["error"]["field"] == field
    assert answer.json["error"]["message"]


def test_body_must_be_json(api):
    answer = api.post("/api/v1/clinics", data="name=x", headers={"Content-Type": "text/plain"})
    assert answer.status_code == 400 and answer.json["error"]["field"] == "body"


@pytest.mark.parametrize(
    "body, field",
    [
        ({"starts_on": "2026-12-25"}, None),
        ({"starts_on": "2026-12-24", "ends_on": "2026-12-26", "reason": "Holidays"}, None),
        ({"starts_on": "2026-12-24", "from_time": "13:00", "reason": "Early close"}, None),
        ({"starts_on": "25/12/2026"}, "starts_on"),
        ({"starts_on": "2026-02-30"}, "starts_on"),
        ({"starts_on": "2026-12-26", "ends_on": "2026-12-24"}, "ends_on"),  # a rule between fields: 422
        ({"starts_on": "2026-12-24", "from_time": "14:00", "until_time": "13:00"}, "until_time"),
        ({}, "starts_on"),
    ],
)
def test_closures(api, body, field):
    clinic = make_clinic(api).json
    answer = api.post(f"/api/v1/clinics/{clinic['id']}/closures", json=body)
    if field is None:
        assert answer.status_code == 201, answer.json
        listed = api.get(f"/api/v1/clinics/{clinic['id']}/closures").json["closures"]
        assert [c["id"] for c in listed] == [answer.json["id"]]
    else:
        assert answer.status_code == (422 if field in ("ends_on", "until_time") else 400), answer.json
        assert answer.json["error"]["field"] == field


def test_closure_on_unknown_clinic_is_404(api):
    answer = api.post("/api/v1/clinics/999/closures", json={"starts_on": "2026-12-25"})
    assert answer.status_code == 404 and "999" in answer.json["error"]["message"]


def test_rooms_and_staff(api):
    clinic_id = make_clinic(api).json["id"]
    room = api.post("/api/v1/rooms", json={"clinic_id": clinic_id, "name": "IV-1", "capabilities": ["iv"]})
    assert room.status_code == 201 and room.json["capabilities"] == ["iv"]
    again = api.post("/api/v1/rooms", json={"clinic_id": clinic_id, "name": "IV-1", "capabilities": ["iv"]})
    assert again.status_code == 409 and again.json["error"]["field"] == "name"
    bad = api.post("/api/v1/rooms", json={"clinic_id": clinic_id, "name": "X", "capabilities": ["laser"]})
    assert bad.status_code == 400 and bad.json["error"]["field"] == "capabilities"
    nurse = api.post(
        "/api/v1/staff",
        json={
            "clinic_id": clinic_id,
            "name": "Kim",
            "role": "nurse",
            "capacity": 2,
            "hours": {"mon": [["09:00", "17:00"]]},
        },
    )
    assert nurse.status_code == 201, nurse.json
    assert nurse.json["hours"] == {"mon": [["09:00", "17:00"]]} and nurse.json["capacity"] == 2
    for body, field in [
        ({"role": "surgeon"}, "role"),
        ({"capacity": 0}, "capacity"),
        ({"capacity": "two"}, "capacity"),
        ({"clinic_id": 999}, None),
    ]:
        answer = api.post("/api/v1/staff", json={"clinic_id": clinic_id, "name": "X", "role": "nurse"} | body)
        assert answer.status_code == (404 if field is None else 400), answer.json
        if field:
            assert answer.json["error"]["field"] == field
    off = api.post(
        f"/api/v1/staff/{nurse.json['id']}/time_off",
        json={"starts_at": "2026-03-02T09:00:00-05:00", "ends_at": "2026-03-02T13:00:00-05:00"},
    )
    assert off.status_code == 201 and off.json["time_off"][0]["starts_at"] == "2026-03-02T09:00:00-05:00"
    naive = api.post(
        f"/api/v1/staff/{nurse.json['id']}/time_off",
        json={"starts_at": "2026-03-02T09:00:00", "ends_at": "2026-03-02T13:00:00-05:00"},
    )
    assert naive.status_code == 400 and naive.json["error"]["field"] == "starts_at"
    assert [r["name"] for r in api.get(f"/api/v1/rooms?clinic_id={clinic_id}").json["rooms"]] == ["IV-1"]
    assert api.get("/api/v1/rooms?clinic_id=abc").status_code == 400


def test_patients(api):
    body = {"mrn": "MRN-100", "name": "Ana Ruiz", "birth_date": "1984-02-29", "ride_home_arranged": True}
    created = api.post("/api/v1/patients", json=body)
    assert created.status_code == 201, created.json
    assert created.json["ride_home_arranged"] is True and created.json["dosing_hold"] is None
    duplicate = api.post("/api/v1/patients", json=body | {"name": "Someone Else"})
    assert duplicate.status_code == 409 and duplicate.json["error"]["field"] == "mrn"
    for bad, field in [
        ({"birth_date": "1984-13-01"}, "birth_date"),
        ({"birth_date": "2999-01-01"}, "birth_date"),
        ({"mrn": ""}, "mrn"),
        ({"ride_home_arranged": "yes"}, "ride_home_arranged"),
    ]:
        answer = api.post("/api/v1/patients", json=body | {"mrn": "MRN-200"} | bad)
        assert answer.status_code == 400 and answer.json["error"]["field"] == field, answer.json
    found = api.get("/api/v1/patients?q=ruiz").json["patients"]
    assert [p["mrn"] for p in found] == ["MRN-100"]
    assert [p["name"] for p in api.get("/api/v1/patients?q=MRN-100").json["patients"]] == ["Ana Ruiz"]
    patched = api.patch(f"/api/v1/patients/{created.json['id']}", json={"phone": "555-0100"})
    assert patched.status_code == 200 and patched.json["phone"] == "555-0100"
    event = db_session.scalars(select(AuditEvent).where(AuditEvent.action == "patient.update")).one()
    assert event.before["phone"] is None and event.after["phone"] == "555-0100"
    assert api.get("/api/v1/patients/12345").status_code == 404


def test_unknown_route_and_method_answer_json(api):
    assert api.get("/api/v1/nothing-here").json["error"]["code"] == "not_found"
    answer = api.delete("/api/v1/clinics")
    assert answer.status_code == 405 and "error" in answer.json
