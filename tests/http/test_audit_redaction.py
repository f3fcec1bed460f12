"""Audit entries redact clinical content (dosing-hold reasons, notes, scores) for non-clinicians:
one redaction (scheduler.domain.clinical_content) for the audit API, the serialisers and exports."""

from __future__ import annotations

import json

import pytest

from scheduler.domain.clinical_content import REDACTED, clinical_field, redact_audit_event, redact_state
from tests.support import builders

SECRET = "xyzzy hypomanic at evaluation"


def test_the_audit_trail_shows_admins_that_clinical_things_happened_but_not_what(api):
    w = builders.small_clinic()
    clinician = api.as_("clinician")
    url = f"/api/v1/patients/{w.patient.id}"
    assert clinician.post(f"{url}/dosing_hold", json={"reason": SECRET}).status_code == 200
    assert clinician.post(f"{url}/dosing_hold/lift", json={"reason": SECRET + " resolved"}).status_code == 200
    assert clinician.post(f"{url}/notes", json={"body": SECRET}).status_code == 201
    assert (
        clinician.post(
            f"{url}/assessments", json={"instrument": "MADRS", "score": 31, "taken_on": "2026-03-01"}
        ).status_code
        == 201
    )
    trail = api.as_("admin").get("/api/v1/audit?per_page=200")
    assert trail.status_code == 200
    assert SECRET not in trail.text and '"score": 31' not in json.dumps(trail.json)
    events = {e["action"]: e for e in trail.json["events"]}
    hold = events["patient.dosing_hold"]
    assert hold["reason"] == REDACTED and hold["after"]["dosing_hold_reason"] == REDACTED
    assert hold["actor_id"] == api.users["clinician"] and hold["entity_id"] == w.patient.id
    lift = events["patient.dosing_hold_lift"]
    assert lift["before"]["dosing_hold_reason"] == REDACTED and lift["after"]["dosing_hold_reason"] is None
    assert events["clinical_note.create"]["after"]["body"] == REDACTED
    assert events["assessment.create"]["after"]["score"] == REDACTED
    # the front desk's view of the patient carries the hold's existence, not its reason (same table)
    held = clinician.post(f"{url}/dosing_hold", json={"reason": SECRET})
    assert held.json["dosing_hold"]["reason"] == SECRET
    assert api.as_("front_desk").get(url).json["dosing_hold"]["reason"] is None


@pytest.mark.parametrize(
    "entity_type, state, expected",
    [
        ("patient", {"name": "Pat", "dosing_hold_reason": "mania"}, {"name": "Pat", "dosing_hold_reason": REDACTED}),
        ("patient", {"dosing_hold_reason": None}, {"dosing_hold_reason": None}),
        ("clinical_note", {"body": "x", "author_id": 3}, {"body": REDACTED, "author_id": 3}),
        (
            "assessment",
            {"instrument": "PHQ-9", "score": 20, "taken_on": "2026-01-01"},
            {"instrument": REDACTED, "score": REDACTED, "taken_on": "2026-01-01"},
        ),
        ("treatment_session", {"notes": "bring ID"}, {"notes": "bring ID"}),
        ("patient", None, None),
    ],
)
def test_redact_state(entity_type, state, expected):
    assert redact_state(entity_type, state) == expected


def test_redact_audit_event_and_clinical_field():
    event = {
        "entity_type": "patient",
        "action": "patient.dosing_hold",
        "before": None,
        "after": {"dosing_hold_reason": "mania"},
        "reason": "mania",
    }
    assert redact_audit_event(event) == {**event, "after": {"dosing_hold_reason": REDACTED}, "reason": REDACTED}
    cancel = {
        "entity_type": "treatment_session",
        "action": "session.cancel",
        "before": None,
        "after": None,
        "reason": "patient asked",
    }
    assert redact_audit_event(cancel) == cancel
    assert clinical_field("patient", "dosing_hold_reason", "mania", clinical=False, hidden=None) is None
    assert clinical_field("patient", "dosing_hold_reason", "mania", clinical=True) == "mania"
    assert clinical_field("patient", "name", "Pat", clinical=False) == "Pat"
