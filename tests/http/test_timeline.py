"""GET /patients/{id}/timeline: courses, every session, flags, next due; assessments for clinicians only."""

from __future__ import annotations

from datetime import date

from scheduler.domain.maintenance import due_window
from scheduler.protocols_registry import protocols
from tests.support.builders import equipped_clinic, future_monday, patient_id


def test_timeline_shows_everything_but_assessments_to_the_front_desk(api, app):
    clinic = equipped_clinic()
    pid = patient_id()
    booked = api.post(
        f"/api/v1/patients/{pid}/courses",
        json={"protocol": "ketamine-iv", "clinic_id": clinic.id, "start_on": str(future_monday())},
    ).json
    first = booked["sessions"][0]
    api.post(f"/api/v1/sessions/{first['id']}/cancel", json={"reason": "Moved", "version": first["version"]})
    score = api.as_("clinician").post(
        f"/api/v1/patients/{pid}/assessments", json={"instrument": "PHQ-9", "score": 17, "taken_on": str(date.today())}
    )
    assert score.status_code == 201, score.json

    desk = api.as_("front_desk").get(f"/api/v1/patients/{pid}/timeline")
    assert desk.status_code == 200
    t = desk.json
    assert "assessments" not in t
    assert t["patient"]["id"] == pid and [c["id"] for c in t["courses"]] == [booked["course"]["id"]]
    assert len(t["sessions"]) == len(booked["sessions"])
    assert {s["status"] for s in t["sessions"]} == {"booked", "cancelled"}
    doses = [s for s in t["sessions"] if s["kind"] == "dose" and s["status"] == "booked"]
    last = max(doses, key=lambda s: s["starts_at"])
    expected = due_window(date.fromisoformat(last["starts_at"][:10]), protocols()["ketamine-iv"]).to_dict()
    assert t["next_due"] == expected

    clinician = api.as_("clinician").get(f"/api/v1/patients/{pid}/timeline").json
    assert [(a["instrument"], a["score"]) for a in clinician["assessments"]] == [("PHQ-9", 17)]


def test_no_course_no_next_due_and_unknown_patient(api, app):
    pid = patient_id()
    t = api.get(f"/api/v1/patients/{pid}/timeline").json
    assert t["courses"] == [] and t["sessions"] == [] and t["next_due"] is None and t["flags"] == []
    assert api.get("/api/v1/patients/999999/timeline").status_code == 404


def test_induction_under_way_has_no_next_due_yet(api, app):
    clinic = equipped_clinic()
    pid = patient_id()
    booked = api.post(
        f"/api/v1/patients/{pid}/courses",
        json={
            "protocol": "ketamine-iv",
            "clinic_id": clinic.id,
            "start_on": str(future_monday()),
            "include_maintenance": False,
        },
    ).json
    dose6 = next(s for s in booked["sessions"] if s["kind"] == "dose" and s["sequence"] == 6)
    api.post(f"/api/v1/sessions/{dose6['id']}/cancel", json={"reason": "Stopping", "version": 1})
    assert api.get(f"/api/v1/patients/{pid}/timeline").json["next_due"] is None
