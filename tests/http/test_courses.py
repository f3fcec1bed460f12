"""POST /patients/{id}/courses: dry run, booking, preferences, bad input."""

from __future__ import annotations

from datetime import date, time

import pytest

from scheduler.models import AuditEvent, Course, TreatmentSession
from tests.support.builders import count, equipped_clinic, future_monday, patient_id


def _url(pid):
    return f"/api/v1/patients/{pid}/courses"


def _body(clinic, start, **extra):
    return {
        "protocol": "ketamine-iv",
        "clinic_id": clinic.id,
        "start_on": str(start),
        "preferences": {"weekdays": ["mon", "wed", "fri"], "earliest": "09:00", "latest": "15:00"},
    } | extra


def test_dry_run_answers_the_plan_and_writes_nothing(api, app):
    clinic = equipped_clinic()
    pid = patient_id()
    api.token("front_desk")
    before = (count(Course), count(TreatmentSession), count(AuditEvent))
    r = api.as_("front_desk").post(_url(pid), json=_body(clinic, future_monday(), dry_run=True))
    assert r.status_code == 200, r.json
    plan = r.json
    assert plan["course"] is None and plan["dry_run"] is True
    kinds = [s["kind"] for s in plan["sessions"]]
    assert kinds.count("dose") == 7 and kinds.count("evaluation") == 1 and kinds.count("follow_up") == 1
    for s in plan["sessions"]:
        if s["kind"] == "dose" and s["phase"] == "induction":
            local = date.fromisoformat(s["starts_at"][:10])
            assert local.weekday() in (0, 2, 4)
            assert time(9) <= time.fromisoformat(s["starts_at"][11:16]) and s["ends_at"][11:16] <= "15:00"
    assert set(plan["next_due"]) == {"earliest", "target", "latest"}
    assert (count(Course), count(TreatmentSession), count(AuditEvent)) == before


def test_booking_writes_the_course_and_every_session(api, app):
    clinic = equipped_clinic()
    pid = patient_id(ride=False)
    dry = api.post(_url(pid), json=_body(clinic, future_monday(), dry_run=True)).json
    r = api.post(_url(pid), json=_body(clinic, future_monday()))
    assert r.status_code == 201, r.json
    body = r.json
    # the dry run foretold the booked course's flags (no ride home for each dose, here)
    foretold = sorted(
        (f["code"], tuple(dry["sessions"][i]["starts_at"] for i in f["plan_sessions"])) for f in dry["flags"]
    )
    by_id = {s["id"]: s["starts_at"] for s in body["sessions"]}
    booked = sorted((f["code"], tuple(by_id[i] for i in f["session_ids"])) for f in body["flags"])
    assert foretold == booked and "ride_home_missing" in {code for code, _ in booked}
    assert body["course"]["protocol"] == "ketamine-iv" and body["course"]["status"] == "planned"
    assert count(Course) == 1 and count(TreatmentSession) == len(body["sessions"])
    assert {s["course_id"] for s in body["sessions"]} == {body["course"]["id"]}
    assert all(s["version"] == 1 and s["status"] == "booked" for s in body["sessions"])
    assert not [f for f in body["flags"] if f["severity"] == "error"]
    assert [s["starts_at"] for s in body["sessions"]] == [s["starts_at"] for s in dry["sessions"]]
    listed = api.get(_url(pid)).json["courses"]
    assert [c["id"] for c in listed] == [body["course"]["id"]]


@pytest.mark.parametrize(
    "change, field, status",
    [
        ({"protocol": "ketamine-oral"}, "protocol", 404),
        ({"protocol": None}, "protocol", 400),
        ({"clinic_id": 999999}, "clinic_id", 404),
        ({"start_on": "next monday"}, "start_on", 400),
        ({"start_on": "9999-12-31"}, "start_on", 400),
        ({"preferences": {"weekdays": ["funday"]}}, "preferences.weekdays", 400),
        ({"preferences": {"earliest": "25:00"}}, "preferences.earliest", 400),
        ({"preferences": {"earliest": "15:00", "latest": "09:00"}}, "preferences.latest", 422),
        ({"preferences": {"staff_member_id": "a"}}, "preferences.staff_member_id", 400),
        ({"preferences": {"room_id": 0}}, "preferences.room_id", 400),
        ({"preferences": {"room_id": 999999}}, "preferences.room_id", 404),
        ({"preferences": {"colour": "red"}}, "preferences.colour", 400),
        ({"preferences": []}, "preferences", 400),
        ({"dry_run": "yes"}, "dry_run", 400),
        ({"extra": 1}, "extra", 400),
    ],
)
def test_bad_input_names_the_field(api, app, change, field, status):
    clinic = equipped_clinic()
    pid = patient_id()
    body = {k: v for k, v in (_body(clinic, future_monday()) | change).items() if v is not None}
    r = api.post(_url(pid), json=body)
    assert r.status_code == status, r.json
    assert r.json["error"]["field"] == field
    assert count(Course) == 0


def test_unknown_patient_and_role(api, app):
    clinic = equipped_clinic()
    pid = patient_id()
    assert api.post(_url(999999), json=_body(clinic, future_monday())).status_code == 404
    assert api.as_("clinician").post(_url(pid), json=_body(clinic, future_monday())).status_code == 403
