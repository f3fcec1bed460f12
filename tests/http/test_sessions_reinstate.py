"""POST /sessions/{id}/reinstate: undoing a cancellation while the slot is free, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from scheduler.db import db_session
from scheduler.models import AuditEvent
from tests.support.builders import equipped_clinic, future_monday, patient_id

URL = "/api/v1/sessions"


def _world():
    return equipped_clinic(), patient_id(), patient_id(mrn="MRN-2", name="Second Patient"), future_monday()


def _book(api, clinic, pid, day, hh=9, room="Therapy", **extra):
    body = {
        "patient_id": pid,
        "room_id": clinic.rooms[room],
        "kind": "evaluation",
        "starts_at": clinic.iso(day, hh),
        "duration_minutes": 60,
    } | extra
    r = api.post(URL, json=body)
    assert r.status_code == 201, r.json
    return r.json


def _cancel(api, s):
    r = api.post(f"{URL}/{s['id']}/cancel", json={"reason": "Patient unwell", "version": s["version"]})
    assert r.status_code == 200, r.json
    return r.json


def _actions(session_id: int) -> list[str]:
    return list(
        db_session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.entity_type == "treatment_session", AuditEvent.entity_id == session_id)
            .order_by(AuditEvent.id)
        )
    )


def test_reinstate_undoes_a_cancellation_and_is_audited(api, app):
    clinic, pid, _, day = _world()
    desk = api.as_("front_desk")
    cancelled = _cancel(desk, _book(desk, clinic, pid, day))
    r = desk.post(f"{URL}/{cancelled['id']}/reinstate", json={"version": cancelled["version"]})
    assert r.status_code == 200, r.json
    assert (r.json["status"], r.json["cancel_reason"], r.json["cancelled_at"]) == ("booked", None, None)
    assert r.json["version"] == cancelled["version"] + 1
    assert _actions(cancelled["id"]) == ["session.book", "session.cancel", "session.reinstate"]
    event = db_session.scalars(select(AuditEvent).where(AuditEvent.action == "session.reinstate")).one()
    assert event.before["status"] == "cancelled" and event.before["cancel_reason"] == "Patient unwell"
    assert event.after["status"] == "booked" and event.actor_id is not None
    # reinstated means live again: the slot is taken for anyone else
    clash = desk.post(
        URL,
        json={
            "patient_id": patient_id(mrn="MRN-3", name="Third"),
            "room_id": clinic.rooms["Therapy"],
            "kind": "evaluation",
            "starts_at": clinic.iso(day, 9),
            "duration_minutes": 60,
        },
    )
    assert clash.status_code == 409 and clash.json["error"]["code"] == "room_double_booked"


def test_reinstate_refuses_when_the_room_was_taken_meanwhile(api, app):
    clinic, pid, other, day = _world()
    cancelled = _cancel(api, _book(api, clinic, pid, day))
    taker = _book(api, clinic, other, day, hh=9)  # the freed chair went to another patient
    r = api.post(f"{URL}/{cancelled['id']}/reinstate", json={"version": cancelled["version"]})
    assert r.status_code == 409 and r.json["error"]["code"] == "room_double_booked", r.json
    assert r.json["error"]["conflicts"][0]["session_id"] == taker["id"]
    assert str(taker["id"]) in r.json["error"]["message"]
    assert api.get(f"{URL}/{cancelled['id']}").json["status"] == "cancelled"
    assert _actions(cancelled["id"]) == ["session.book", "session.cancel"]


def test_reinstate_refuses_when_the_patient_was_booked_elsewhere_meanwhile(api, app):
    clinic, pid, _, day = _world()
    cancelled = _cancel(api, _book(api, clinic, pid, day))
    elsewhere = _book(api, clinic, pid, day, hh=9, room="Consult")
    r = api.post(f"{URL}/{cancelled['id']}/reinstate", json={"version": cancelled["version"]})
    assert r.status_code == 409 and r.json["error"]["code"] == "patient_double_booked"
    assert r.json["error"]["conflicts"][0]["session_id"] == elsewhere["id"]


def test_reinstate_refuses_a_stale_version_and_what_is_not_cancelled(api, app):
    clinic, pid, _, day = _world()
    booked = _book(api, clinic, pid, day)
    cancelled = _cancel(api, booked)
    stale = api.post(f"{URL}/{cancelled['id']}/reinstate", json={"version": booked["version"]})
    assert stale.status_code == 409 and stale.json["error"]["code"] == "stale"
    assert stale.json["error"]["current_version"] == cancelled["version"]
    assert api.get(f"{URL}/{cancelled['id']}").json["status"] == "cancelled"
    live = api.post(f"{URL}/{cancelled['id']}/reinstate", json={"version": cancelled["version"]}).json
    again = api.post(f"{URL}/{cancelled['id']}/reinstate", json={"version": live["version"]})
    assert again.status_code == 409 and again.json["error"]["code"] == "invalid_transition"
    assert api.post(f"{URL}/{cancelled['id']}/reinstate", json={}).json["error"]["field"] == "version"
    assert api.post(f"{URL}/{cancelled['id']}/reinstate", json={"version": 1, "x": 1}).status_code == 400
    assert api.post(f"{URL}/999999/reinstate", json={"version": 1}).status_code == 404
    assert (
        api.as_("clinician").post(f"{URL}/{cancelled['id']}/reinstate", json={"version": live["version"]}).status_code
        == 403
    )


def test_reinstate_keeps_a_proposed_session_proposed_and_refuses_the_past(api, app):
    clinic, pid, other, day = _world()
    from scheduler.models import TreatmentSession

    s = _book(api, clinic, pid, day)
    row = db_session.get(TreatmentSession, s["id"])
    row.status = "proposed"
    db_session.commit()
    cancelled = _cancel(api, api.get(f"{URL}/{s['id']}").json)
    assert api.post(f"{URL}/{s['id']}/reinstate", json={"version": cancelled["version"]}).json["status"] == "proposed"
    past = _book(
        api, clinic, other, day - timedelta(days=28), override_reason="Recording a past visit", record_past=True
    )
    past = _cancel(api, past)
    r = api.post(f"{URL}/{past['id']}/reinstate", json={"version": past["version"]})
    assert r.status_code == 409 and r.json["error"]["code"] == "invalid_transition"
