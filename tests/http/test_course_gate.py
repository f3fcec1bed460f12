"""Issue 9 part 3: a course booking and a re-plan apply go through the same write gate as a single
booking. Any error flag the plan would introduce (not only the planner's own problems) is refused with
409 ``flagged`` naming it, unless ``override_reason`` (audited); nothing is written when refused. The
payer's units are counted over the whole plan (six new doses use six units). On both databases.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from scheduler.db import db_session
from scheduler.models import AuditEvent, Course, TreatmentSession
from tests.support.builders import count, equipped_clinic, future_monday, patient_id


def _authorize(api, pid, start, *, units, days=120):
    r = api.post(
        f"/api/v1/patients/{pid}/authorizations",
        json={
            "payer": "Acme Health",
            "reference": "PA-9",
            "protocol": "ketamine-iv",
            "units_authorized": units,
            "valid_from": start.isoformat(),
            "valid_to": (start + timedelta(days=days)).isoformat(),
        },
    )
    assert r.status_code == 201, r.json
    return r.json


def _course_body(clinic, start, **extra):
    return {
        "protocol": "ketamine-iv",
        "clinic_id": clinic.id,
        "start_on": start.isoformat(),
        "include_maintenance": False,
        "preferences": {"weekdays": ["mon", "wed", "fri"], "earliest": "09:00", "latest": "15:00"},
        **extra,
    }


def test_a_course_past_the_authorized_units_is_refused_unless_overridden(api, app):
    clinic, pid, start = equipped_clinic(), patient_id(), future_monday()
    _authorize(api, pid, start, units=4)
    url = f"/api/v1/patients/{pid}/courses"
    dry = api.post(url, json=_course_body(clinic, start, dry_run=True))
    assert dry.status_code == 200 and not [p for p in dry.json["problems"] if p["severity"] == "error"], dry.json
    announced = [f for f in dry.json["flags"] if f["code"] == "authorization_exceeded"]
    named = [dry.json["sessions"][i] for f in announced for i in f["plan_sessions"]]
    assert [(s["kind"], s["sequence"]) for s in named] == [("dose", 5), ("dose", 6)]
    sessions_before = count(TreatmentSession)
    refused = api.post(url, json=_course_body(clinic, start))
    assert refused.status_code == 409 and refused.json["error"]["code"] == "flagged", refused.json
    conflicts = refused.json["error"]["conflicts"]
    assert [c["code"] for c in conflicts] == ["authorization_exceeded", "authorization_exceeded"]
    assert all(c["severity"] == "error" for c in conflicts)
    assert "would be unit 5 of 4 authorized by Acme Health (PA-9)" in refused.json["error"]["message"]
    assert [c["plan_sessions"] for c in conflicts] == [f["plan_sessions"] for f in announced]  # as the dry run
    assert all(c["session_ids"] == [] for c in conflicts)
    assert count(TreatmentSession) == sessions_before and count(Course) == 0  # nothing written
    booked = api.post(url, json=_course_body(clinic, start, override_reason="Patient pays doses 5 and 6"))
    assert booked.status_code == 201, booked.json
    overridden = [s for s in booked.json["sessions"] if s["override_reason"]]
    assert {s["sequence"] for s in overridden if s["kind"] == "dose"} >= {5, 6}
    event = db_session.scalars(select(AuditEvent).where(AuditEvent.action == "course.create")).one()
    assert event.reason == "Patient pays doses 5 and 6"


def test_a_course_within_the_units_is_booked_without_a_reason(api, app):
    clinic, pid, start = equipped_clinic(), patient_id(), future_monday()
    _authorize(api, pid, start, units=6)
    r = api.post(f"/api/v1/patients/{pid}/courses", json=_course_body(clinic, start))
    assert r.status_code == 201, r.json
    assert not [s for s in r.json["sessions"] if s["override_reason"]]


def test_a_replan_that_would_break_a_rule_is_refused_unless_overridden(api, app):
    clinic, pid, start = equipped_clinic(), patient_id(), future_monday()
    r = api.post(f"/api/v1/patients/{pid}/courses", json=_course_body(clinic, start))
    assert r.status_code == 201, r.json
    doses = {s["sequence"]: s for s in r.json["sessions"] if s["kind"] == "dose"}
    # the payer covers only up to dose 5's day: a replacement for dose 6 cannot be paid
    last_day = datetime.fromisoformat(doses[5]["starts_at"]).date()
    _authorize(api, pid, start, units=6, days=(last_day - start).days)
    six = doses[6]
    cancelled = api.post(f"/api/v1/sessions/{six['id']}/cancel", json={"reason": "Ill", "version": six["version"]})
    assert cancelled.status_code == 200, cancelled.json
    url = f"/api/v1/sessions/{six['id']}/replan"
    proposal = api.post(url, json={})
    assert proposal.status_code == 200 and proposal.json["ok"] is False, proposal.json
    assert "authorization_exceeded" in {p["code"] for p in proposal.json["problems"]}
    before = count(TreatmentSession)
    refused = api.post(url, json={"apply": True, "version": cancelled.json["version"]})
    assert refused.status_code == 409 and refused.json["error"]["code"] == "flagged", refused.json
    assert "authorization_exceeded" in {c["code"] for c in refused.json["error"]["conflicts"]}
    assert count(TreatmentSession) == before  # nothing booked, nothing moved
    applied = api.post(
        url, json={"apply": True, "version": cancelled.json["version"], "override_reason": "Payer extension requested"}
    )
    assert applied.status_code == 200 and applied.json["applied"] is True, applied.json
    assert [s["sequence"] for s in applied.json["booked"] if s["kind"] == "dose"] == [6]
    event = db_session.scalars(select(AuditEvent).where(AuditEvent.action == "session.replan")).one()
    assert event.reason == "Payer extension requested"
