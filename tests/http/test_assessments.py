"""Assessments, clinical notes and dosing holds: validation, who may, and the audit trail."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from scheduler.db import db_session
from scheduler.domain.vocabulary import INSTRUMENTS
from scheduler.models import Assessment, AuditEvent, Patient
from tests.support import builders


@pytest.mark.parametrize("instrument", sorted(INSTRUMENTS))
def test_scores_inside_each_instrument_range_are_recorded_outside_refused(sqlite_api, instrument):
    w = builders.small_clinic()
    low, high = INSTRUMENTS[instrument]
    clinician = sqlite_api.as_("clinician")
    url = f"/api/v1/patients/{w.patient.id}/assessments"
    for score in (low, high):
        answer = clinician.post(url, json={"instrument": instrument, "score": score, "taken_on": "2026-03-01"})
        assert answer.status_code == 201 and answer.json["max_score"] == high
    for score in (low - 1, high + 1):
        answer = clinician.post(url, json={"instrument": instrument, "score": score, "taken_on": "2026-03-01"})
        assert answer.status_code == 400 and answer.json["error"]["field"] == "score"
    assert [a["score"] for a in clinician.get(url).json["assessments"]] == [low, high]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"instrument": "HAM-D", "score": 3, "taken_on": "2026-03-01"}, "instrument"),
        ({"instrument": "PHQ-9", "score": "12", "taken_on": "2026-03-01"}, "score"),
        ({"instrument": "PHQ-9", "score": 12.5, "taken_on": "2026-03-01"}, "score"),
        ({"instrument": "PHQ-9", "score": 12, "taken_on": "01/03/2026"}, "taken_on"),
        ({"instrument": "PHQ-9", "score": 12, "taken_on": "2999-01-01"}, "taken_on"),
        ({"instrument": "PHQ-9", "score": 12}, "taken_on"),
        ({"instrument": "PHQ-9", "score": 12, "taken_on": "2026-03-01", "mood": "ok"}, "mood"),
    ],
)
def test_bad_assessments_name_the_field(api, body, field):
    w = builders.small_clinic()
    answer = api.as_("clinician").post(f"/api/v1/patients/{w.patient.id}/assessments", json=body)
    assert answer.status_code == 400 and answer.json["error"]["field"] == field
    assert db_session.scalars(select(Assessment)).first() is None


def test_notes_are_recorded_with_their_author_and_session(api):
    w = builders.small_clinic()
    from datetime import date

    session = w.book(date(2026, 3, 9))
    db_session.commit()
    clinician = api.as_("clinician")
    url = f"/api/v1/patients/{w.patient.id}/notes"
    answer = clinician.post(url, json={"body": "Tolerated infusion well.", "session_id": session.id})
    assert answer.status_code == 201
    assert answer.json["author_id"] == api.users["clinician"] and answer.json["session_id"] == session.id
    assert clinician.post(url, json={"body": "  "}).json["error"]["field"] == "body"
    assert clinician.post(url, json={"body": "x", "session_id": 99999}).status_code == 404
    assert [n["body"] for n in clinician.get(url).json["notes"]] == ["Tolerated infusion well."]
    assert api.as_("front_desk").get(url).status_code == 403


def test_dosing_hold_placed_and_lifted_with_reasons_audited(api):
    w = builders.small_clinic()
    clinician = api.as_("clinician")
    url = f"/api/v1/patients/{w.patient.id}/dosing_hold"
    assert clinician.post(url, json={}).json["error"]["field"] == "reason"
    placed = clinician.post(url, json={"reason": "Hypomanic at evaluation"})
    assert placed.status_code == 200 and placed.json["dosing_hold"]["reason"] == "Hypomanic at evaluation"
    assert clinician.post(url, json={"reason": "again"}).status_code == 409
    lifted = clinician.post(url + "/lift", json={"reason": "Reassessed: euthymic"})
    assert lifted.status_code == 200 and lifted.json["dosing_hold"] is None
    assert clinician.post(url + "/lift", json={"reason": "again"}).status_code == 409
    events = db_session.scalars(
        select(AuditEvent)
        .where(AuditEvent.entity_type == "patient", AuditEvent.action.like("patient.dosing_hold%"))
        .order_by(AuditEvent.id)
    ).all()
    assert [(e.action, e.reason) for e in events] == [
        ("patient.dosing_hold", "Hypomanic at evaluation"),
        ("patient.dosing_hold_lift", "Reassessed: euthymic"),
    ]
    assert events[0].before["dosing_hold_reason"] is None
    assert events[0].after["dosing_hold_reason"] == "Hypomanic at evaluation"
    assert events[1].after["dosing_hold_reason"] is None
    assert all(e.actor_id == api.users["clinician"] for e in events)
    db_session.expire_all()
    assert db_session.get(Patient, w.patient.id).dosing_hold_reason is None


def test_front_desk_sees_that_a_hold_exists_but_not_its_clinical_reason(api):
    w = builders.small_clinic()
    api.as_("clinician").post(f"/api/v1/patients/{w.patient.id}/dosing_hold", json={"reason": "Acute mania"})
    desk = api.as_("front_desk")
    patient = desk.get(f"/api/v1/patients/{w.patient.id}").json
    assert patient["dosing_hold"]["since"] and patient["dosing_hold"]["reason"] is None
    assert api.as_("clinician").get(f"/api/v1/patients/{w.patient.id}").json["dosing_hold"]["reason"] == "Acute mania"
    timeline = desk.get(f"/api/v1/patients/{w.patient.id}/timeline")
    assert timeline.status_code == 200
    assert "Acute mania" not in timeline.get_data(as_text=True)
