"""Cancelled doses open an induction gap; POST /sessions/{id}/replan proposes and applies the fix."""

from __future__ import annotations

from sqlalchemy import select

from scheduler.db import db_session
from scheduler.models import AuditEvent, TreatmentSession
from tests.support.builders import count, equipped_clinic, future_monday, patient_id


def _flag_codes(api, clinic, pid):
    flags = api.get(f"/api/v1/patients/{pid}/timeline").json["flags"]
    return [f["code"] for f in flags]


def _course(api, clinic, pid):
    r = api.post(
        f"/api/v1/patients/{pid}/courses",
        json={
            "protocol": "ketamine-iv",
            "clinic_id": clinic.id,
            "start_on": str(future_monday()),
            "include_maintenance": False,
            "preferences": {"weekdays": ["tue", "fri"], "earliest": "09:00", "latest": "13:00"},
        },
    )
    assert r.status_code == 201, r.json
    return {s["sequence"]: s for s in r.json["sessions"] if s["kind"] == "dose"}


def test_cancel_opens_a_gap_and_the_replan_closes_it(api, app):
    clinic = equipped_clinic()
    pid = patient_id()
    doses = _course(api, clinic, pid)
    assert "induction_gap" not in _flag_codes(api, clinic, pid)
    # the patient is away for a week: doses 3 and 4 are cancelled
    for n in (3, 4):
        r = api.post(
            f"/api/v1/sessions/{doses[n]['id']}/cancel", json={"reason": "Away", "version": doses[n]["version"]}
        )
        assert r.status_code == 200
    assert "induction_gap" in _flag_codes(api, clinic, pid)

    for n in (3, 4):
        url = f"/api/v1/sessions/{doses[n]['id']}/replan"
        before = count(TreatmentSession)
        proposal = api.post(url, json={})
        assert proposal.status_code == 200, proposal.json
        assert proposal.json["applied"] is False and proposal.json["ok"] is True
        assert [s["sequence"] for s in proposal.json["new_sessions"] if s["kind"] == "dose"] == [n]
        assert count(TreatmentSession) == before  # a proposal writes nothing
        current = api.get(f"/api/v1/sessions/{doses[n]['id']}").json["version"]
        applied = api.post(url, json={"apply": True, "version": current})
        assert applied.status_code == 200, applied.json
        assert applied.json["applied"] is True
        assert [s["sequence"] for s in applied.json["booked"] if s["kind"] == "dose"] == [n]
        assert {s["course_id"] for s in applied.json["booked"]} == {doses[1]["course_id"]}
    assert "induction_gap" not in _flag_codes(api, clinic, pid)
    assert db_session.scalars(select(AuditEvent).where(AuditEvent.action == "session.replan")).all()


def test_replan_refusals(api, app):
    clinic = equipped_clinic()
    pid = patient_id()
    doses = _course(api, clinic, pid)
    live = doses[2]
    r = api.post(f"/api/v1/sessions/{live['id']}/replan", json={})
    assert r.status_code == 200 and r.json["ok"] is False and r.json["reason"]["code"] == "not_missed"
    r = api.post(f"/api/v1/sessions/{live['id']}/replan", json={"apply": True})
    assert r.status_code == 400 and r.json["error"]["field"] == "version"
    cancelled = api.post(f"/api/v1/sessions/{live['id']}/cancel", json={"reason": "Flu", "version": 1}).json
    r = api.post(f"/api/v1/sessions/{live['id']}/replan", json={"apply": True, "version": 1})
    assert r.status_code == 409 and r.json["error"]["code"] == "stale"
    assert cancelled["version"] == 2
    r = api.post(f"/api/v1/sessions/{live['id']}/replan", json={"apply": "yes", "version": 2})
    assert r.status_code == 400 and r.json["error"]["field"] == "apply"
    assert api.post("/api/v1/sessions/999999/replan", json={}).status_code == 404
    assert api.as_("clinician").post(f"/api/v1/sessions/{live['id']}/replan", json={}).status_code == 403


def _all_sessions(api, clinic, pid):
    r = api.post(
        f"/api/v1/patients/{pid}/courses",
        json={
            "protocol": "ketamine-iv",
            "clinic_id": clinic.id,
            "start_on": str(future_monday()),
            "include_maintenance": False,
        },
    )
    assert r.status_code == 201, r.json
    return r.json["sessions"]


def test_cancelling_a_future_dose_raises_induction_incomplete_at_once_and_the_replan_clears_it(api, app):
    clinic = equipped_clinic()
    pid = patient_id()
    doses = {s["sequence"]: s for s in _all_sessions(api, clinic, pid) if s["kind"] == "dose"}
    assert "induction_incomplete" not in _flag_codes(api, clinic, pid)
    r = api.post(f"/api/v1/sessions/{doses[3]['id']}/cancel", json={"reason": "Away", "version": 1})
    assert r.status_code == 200
    flags = api.get(f"/api/v1/patients/{pid}/timeline").json["flags"]
    incomplete = [f for f in flags if f["code"] == "induction_incomplete"]
    assert len(incomplete) == 1 and "5 of 6" in incomplete[0]["message"]
    assert incomplete[0]["session_ids"] == [doses[3]["id"]] and incomplete[0]["fix"].startswith("Re-plan")
    url = f"/api/v1/sessions/{doses[3]['id']}/replan"
    applied = api.post(url, json={"apply": True, "version": 2})
    assert applied.status_code == 200 and applied.json["ok"] is True, applied.json
    assert "induction_incomplete" not in _flag_codes(api, clinic, pid)


def test_replan_of_every_other_kind_answers_like_a_dose(api, app):
    clinic = equipped_clinic()
    pid = patient_id()
    sessions = _all_sessions(api, clinic, pid)
    for kind in ("follow_up", "integration", "evaluation"):
        target = next(s for s in sessions if s["kind"] == kind)
        r = api.post(f"/api/v1/sessions/{target['id']}/cancel", json={"reason": "Clash", "version": 1})
        assert r.status_code == 200
        url = f"/api/v1/sessions/{target['id']}/replan"
        proposal = api.post(url, json={})
        assert proposal.status_code == 200, proposal.json
        body = proposal.json
        assert set(body) == {"applied", "ok", "reason", "new_sessions", "moves", "problems"}
        assert body["ok"] is True and body["reason"] is None and body["moves"] == [], (kind, body)
        assert [s["kind"] for s in body["new_sessions"]] == [kind]
        applied = api.post(url, json={"apply": True, "version": 2})
        assert applied.status_code == 200, applied.json
        assert [s["kind"] for s in applied.json["booked"]] == [kind]
        assert applied.json["booked"][0]["course_id"] == target["course_id"]
    codes = _flag_codes(api, clinic, pid)
    assert not {"integration_missing", "follow_up_missing", "dose_before_evaluation"} & set(codes), codes
