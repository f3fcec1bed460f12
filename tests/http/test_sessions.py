"""POST /sessions and the session actions over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from scheduler.db import db_session
from scheduler.models import AuditEvent, TreatmentSession
from tests.support.builders import count, equipped_clinic, future_monday, patient_id

URL = "/api/v1/sessions"


@pytest.fixture
def world(app):
    clinic = equipped_clinic()
    return clinic, patient_id(), patient_id(mrn="MRN-2", name="Second Patient"), future_monday()


def dose(clinic, pid, day, hh=9, room="IV-1", **extra):
    body = {
        "patient_id": pid,
        "room_id": clinic.rooms[room],
        "staff_member_id": clinic.staff["Nurse Ben"],
        "kind": "evaluation",
        "starts_at": clinic.iso(day, hh),
        "duration_minutes": 60,
    }
    return body | extra


def test_book_one_session(api, world):
    clinic, pid, _, day = world
    r = api.as_("front_desk").post(
        URL, json=dose(clinic, pid, day, room="Therapy", staff_member_id=clinic.staff["Dr Prescriber"])
    )
    assert r.status_code == 201, r.json
    s = r.json
    assert (s["patient_id"], s["status"], s["version"], s["kind"]) == (pid, "booked", 1, "evaluation")
    assert s["starts_at"] == clinic.iso(day, 9) and s["ends_at"] == clinic.iso(day, 10)
    assert s["flags"] == []
    assert api.get(f"{URL}/{s['id']}").json["id"] == s["id"]


def test_a_booking_is_audited_as_stored_and_writes_its_reminders(api, world):
    """The API booking writes its row and audit event by Core statements (services.booking
    ._insert_audited): the event's ``after`` is the stored row's snapshot with its id, the outbox
    still writes the reminders, and the session answers later changes at version 1."""
    from scheduler.models import Message, Patient
    from scheduler.services import audit

    clinic, pid, _, day = world
    patient = db_session.get_one(Patient, pid)
    patient.email, patient.contact_preference = "pat@example.test", "email"
    db_session.commit()
    r = api.as_("front_desk").post(
        URL, json=dose(clinic, pid, day, room="Therapy", staff_member_id=clinic.staff["Dr Prescriber"])
    )
    assert r.status_code == 201, r.json
    db_session.expire_all()
    stored = db_session.get_one(TreatmentSession, r.json["id"])
    event = db_session.scalars(
        select(AuditEvent).where(AuditEvent.entity_type == "treatment_session", AuditEvent.entity_id == stored.id)
    ).one()
    assert (event.action, event.actor, event.actor_id, event.before) == (
        "session.book",
        "user",
        api.users["front_desk"],
        None,
    )
    row = audit.snapshot(stored)
    instants = ("starts_at", "ends_at", "created_at", "updated_at")  # as given (local offset) or as stored (UTC)
    assert {k: v for k, v in event.after.items() if k not in instants} == {
        k: v for k, v in row.items() if k not in instants
    }
    for key in instants:
        assert datetime.fromisoformat(event.after[key]) == datetime.fromisoformat(row[key]).replace(
            tzinfo=datetime.fromisoformat(row[key]).tzinfo or UTC
        ), key
    written = db_session.scalars(select(Message).where(Message.session_id == stored.id)).all()
    assert [(m.kind, m.channel, m.to, m.status, stored.starts_at - m.due_at) for m in written] == [
        ("reminder", "email", "pat@example.test", "pending", timedelta(hours=24))
    ]  # once: written with the session, not again by the outbox's listener
    stored_id = stored.id
    clash = api.as_("front_desk").post(
        URL, json=dose(clinic, pid, day, room="Therapy", staff_member_id=clinic.staff["Dr Prescriber"])
    )
    assert clash.status_code == 409
    db_session.expire_all()
    assert db_session.scalars(select(Message.session_id)).all() == [stored_id]  # none for the refused one
    moved = api.post(f"{URL}/{stored_id}/cancel", json={"reason": "Ill", "version": 1})
    assert moved.status_code == 200 and moved.json["version"] == 2


@pytest.mark.parametrize("holder", ["room", "patient"])
def test_double_booking_is_refused_naming_the_session(api, world, holder):
    clinic, pid, other, day = world
    first = api.post(URL, json=dose(clinic, pid, day, room="Therapy", staff_member_id=None)).json
    again = dose(
        clinic,
        other if holder == "room" else pid,
        day,
        hh=9,
        room="Therapy" if holder == "room" else "Consult",
        staff_member_id=None,
    ) | {"starts_at": clinic.iso(day, 9, 30)}
    r = api.post(URL, json=again)
    assert r.status_code == 409
    assert r.json["error"]["code"] == f"{holder}_double_booked"
    assert str(first["id"]) in r.json["error"]["message"]
    assert r.json["error"]["conflicts"][0]["session_id"] == first["id"]


def test_flagged_session_needs_an_override_reason_which_is_audited(api, world):
    clinic, pid, _, day = world
    body = dose(clinic, pid, day, hh=19, room="Therapy", staff_member_id=None)  # the clinic closes at 18:00
    r = api.post(URL, json=body)
    assert r.status_code == 409 and r.json["error"]["code"] == "flagged"
    assert "outside_clinic_hours" in {c["code"] for c in r.json["error"]["conflicts"]}
    assert count(TreatmentSession) == 0

    r = api.post(URL, json=body | {"override_reason": "Late slot agreed with the prescriber"})
    assert r.status_code == 201, r.json
    assert r.json["override_reason"] == "Late slot agreed with the prescriber"
    assert "outside_clinic_hours" in {f["code"] for f in r.json["flags"]}
    event = db_session.scalars(select(AuditEvent).where(AuditEvent.action == "session.override")).one()
    assert event.reason == "Late slot agreed with the prescriber" and "outside_clinic_hours" in event.after["flags"]


def test_room_unsuitable_is_flagged(api, world):
    clinic, pid, _, day = world
    body = dose(
        clinic, pid, day, room="TMS", kind="dose", phase="induction", route="iv", sequence=1, duration_minutes=120
    )
    r = api.post(URL, json=body)
    assert r.status_code == 409 and "room_unsuitable" in {c["code"] for c in r.json["error"]["conflicts"]}


@pytest.mark.parametrize(
    "change, field, status",
    [
        ({"patient_id": None}, "patient_id", 400),
        ({"patient_id": "7"}, "patient_id", 400),
        ({"patient_id": 999999}, "patient_id", 404),
        ({"room_id": 999999}, None, 404),
        ({"patient_id": 2**31}, "patient_id", 400),  # beyond the integer columns, read with the token or not
        ({"room_id": 2**31}, "room_id", 400),
        ({"kind": "massage"}, "kind", 400),
        ({"starts_at": "2026-13-01T09:00"}, "starts_at", 400),
        ({"starts_at": "2026-03-02T09:00:00"}, "starts_at", 400),
        ({"duration_minutes": 0}, "duration_minutes", 400),
        ({"duration_minutes": None, "ends_at": None}, "ends_at", 400),
        ({"ends_at": "2020-01-01T00:00:00+00:00", "duration_minutes": None}, "ends_at", 422),
        ({"dose_mg": "lots"}, "dose_mg", 400),
        ({"phase": "forever"}, "phase", 400),
        ({"colour": "blue"}, "colour", 400),
        ({"staff_member_id": 999999}, "staff_member_id", 404),
        ({"starts_at": "9999-12-31T23:00:00+00:00"}, "starts_at", 400),
        ({"ends_at": "0001-01-01T00:00:00+00:00", "duration_minutes": None}, "ends_at", 400),
    ],
)
def test_bad_input_names_the_field(api, world, change, field, status):
    clinic, pid, _, day = world
    body = {k: v for k, v in (dose(clinic, pid, day) | change).items() if v is not None}
    r = api.post(URL, json=body)
    assert r.status_code == status, r.json
    if field:
        assert r.json["error"]["field"] == field
    assert count(TreatmentSession) == 0


def test_clinician_may_not_book(api, world):
    clinic, pid, _, day = world
    assert api.as_("clinician").post(URL, json=dose(clinic, pid, day)).status_code == 403


def _booked(api, clinic, pid, day, hh=9):
    r = api.post(URL, json=dose(clinic, pid, day, hh=hh, room="Therapy", staff_member_id=None))
    assert r.status_code == 201, r.json
    return r.json


def test_reschedule_needs_the_current_version(api, world):
    clinic, pid, other, day = world
    s = _booked(api, clinic, pid, day)
    url = f"{URL}/{s['id']}/reschedule"
    r = api.post(url, json={"starts_at": clinic.iso(day, 11), "version": s["version"]})
    assert r.status_code == 200, r.json
    moved = r.json
    assert moved["starts_at"] == clinic.iso(day, 11) and moved["ends_at"] == clinic.iso(day, 12)
    assert moved["version"] == s["version"] + 1
    stale = api.post(url, json={"starts_at": clinic.iso(day, 14), "version": s["version"]})
    assert stale.status_code == 409 and stale.json["error"]["code"] == "stale"
    assert api.get(f"{URL}/{s['id']}").json["starts_at"] == clinic.iso(day, 11)
    # a clash at the new time is refused and names the clashing session
    blocker = _booked(api, clinic, other, day, hh=15)
    r = api.post(url, json={"starts_at": clinic.iso(day, 15), "version": moved["version"]})
    assert r.status_code == 409 and r.json["error"]["conflicts"][0]["session_id"] == blocker["id"]
    event = db_session.scalars(select(AuditEvent).where(AuditEvent.action == "session.reschedule")).one()
    assert event.before["starts_at"] != event.after["starts_at"]
    assert api.post(url, json={"starts_at": clinic.iso(day, 16)}).json["error"]["field"] == "version"


def test_cancel_then_actions_are_invalid_transitions(api, world):
    clinic, pid, _, day = world
    s = _booked(api, clinic, pid, day)
    r = api.post(f"{URL}/{s['id']}/cancel", json={"reason": "Patient unwell", "version": s["version"]})
    assert r.status_code == 200 and r.json["status"] == "cancelled" and r.json["cancel_reason"] == "Patient unwell"
    for action in ("check_in", "no_show", "cancel"):
        body = {"version": r.json["version"]} | ({"reason": "again"} if action == "cancel" else {})
        again = api.post(f"{URL}/{s['id']}/{action}", json=body)
        assert again.status_code == 409 and again.json["error"]["code"] == "invalid_transition", action
    move = api.post(
        f"{URL}/{s['id']}/reschedule", json={"starts_at": clinic.iso(day, 12), "version": r.json["version"]}
    )
    assert move.json["error"]["code"] == "invalid_transition"
    assert api.post(f"{URL}/{s['id']}/cancel", json={"version": 1}).json["error"]["field"] in ("reason", "version")


def test_check_in_complete_and_no_show(api, world):
    clinic, pid, other, day = world
    past = day - timedelta(days=28)
    body = dose(
        clinic,
        pid,
        past,
        room="Therapy",
        staff_member_id=None,
        override_reason="Recording a past visit",
        record_past=True,
    )
    s = api.post(URL, json=body).json
    r = api.post(f"{URL}/{s['id']}/check_in", json={"version": s["version"]})
    assert r.status_code == 409 and r.json["error"]["code"] == "too_late"  # a past day: complete or no-show
    r = api.post(f"{URL}/{s['id']}/complete", json={"version": s["version"]})
    assert r.status_code == 200 and r.json["status"] == "completed"
    actions = db_session.scalars(
        select(AuditEvent.action).where(AuditEvent.entity_id == s["id"], AuditEvent.entity_type == "treatment_session")
    ).all()
    assert {"session.book", "session.record_past", "session.complete"} <= set(actions)

    missed = api.post(URL, json=body | {"patient_id": other, "room_id": clinic.rooms["Consult"]}).json
    r = api.post(f"{URL}/{missed['id']}/no_show", json={"version": missed["version"]})
    assert r.status_code == 200 and r.json["status"] == "no_show"
    future = _booked(api, clinic, pid, day)
    r = api.post(f"{URL}/{future['id']}/complete", json={"version": future["version"]})
    assert r.status_code == 409 and r.json["error"]["code"] == "invalid_transition"
    assert api.post(f"{URL}/999999/check_in", json={"version": 1}).status_code == 404


def test_check_in_only_on_the_sessions_own_day_in_the_clinics_zone(api, world):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    clinic, pid, _, day = world
    today = datetime.now(ZoneInfo(clinic.tz)).date()
    future = _booked(api, clinic, pid, day)
    r = api.post(f"{URL}/{future['id']}/check_in", json={"version": future["version"]})
    assert r.status_code == 409 and r.json["error"]["code"] == "too_early"
    # the refusal names the session's time as the clinic reads it, never raw UTC
    assert f"{day.day} {day:%b} {day.year} 09:00 E" in r.json["error"]["message"]
    assert "UTC" not in r.json["error"]["message"] and "+00:00" not in r.json["error"]["message"]
    r = api.post(f"{URL}/{future['id']}/no_show", json={"version": future["version"]})
    assert (
        r.status_code == 409 and "09:00 E" in r.json["error"]["message"] and "+00:00" not in r.json["error"]["message"]
    )
    # today (late in the evening, so it has not ended yet; flagged outside hours, booked with a reason)
    late = api.post(
        URL,
        json=dose(
            clinic,
            pid,
            today,
            hh=23,
            room="Therapy",
            staff_member_id=None,
            duration_minutes=55,
            override_reason="Evening visit",
            record_past=True,
        ),
    ).json
    r = api.post(f"{URL}/{late['id']}/check_in", json={"version": late["version"]})
    assert r.status_code == 200 and r.json["status"] == "checked_in"


def test_a_session_that_ended_is_refused_unless_record_past(api, world):
    clinic, pid, _, day = world
    past = day - timedelta(days=28)
    body = dose(clinic, pid, past, room="Therapy", staff_member_id=None)
    r = api.post(URL, json=body)
    assert r.status_code == 422 and r.json["error"]["code"] == "in_the_past"
    assert r.json["error"]["field"] == "starts_at" and "record_past" in r.json["error"]["message"]
    assert "+00:00" not in r.json["error"]["message"]
    r = api.post(URL, json=body | {"status": "completed"})
    assert r.status_code == 400 and r.json["error"]["field"] == "status"
    assert count(TreatmentSession) == 0
    booked = api.post(URL, json=body | {"record_past": True})
    assert booked.status_code == 201 and booked.json["status"] == "booked"
    statuses = {}
    for hh, status in ((11, "completed"), (13, "no_show"), (15, "cancelled")):
        r = api.post(
            URL,
            json=dose(clinic, pid, past, hh=hh, room="Therapy", staff_member_id=None, record_past=True, status=status),
        )
        assert r.status_code == 201, r.json
        statuses[r.json["id"]] = r.json["status"]
    assert sorted(statuses.values()) == ["cancelled", "completed", "no_show"]
    events = db_session.scalars(select(AuditEvent).where(AuditEvent.action == "session.record_past")).all()
    assert sorted(e.entity_id for e in events) == sorted([booked.json["id"], *statuses])
    # a history entry that never happened holds nothing: the cancelled slot can still be entered as completed
    again = api.post(
        URL,
        json=dose(clinic, pid, past, hh=15, room="Therapy", staff_member_id=None, record_past=True, status="completed"),
    )
    assert again.status_code == 201, again.json
    r = api.post(URL, json=body | {"record_past": True, "status": "lost"})
    assert r.status_code == 400 and r.json["error"]["field"] == "status"


def test_list_sessions_of_a_clinic(api, world):
    clinic, pid, other, day = world
    a = _booked(api, clinic, pid, day)
    b = _booked(api, clinic, other, day + timedelta(days=1))
    r = api.as_("front_desk").get(f"{URL}?clinic_id={clinic.id}&start={day}&end={day}")
    assert r.status_code == 200 and [s["id"] for s in r.json["sessions"]] == [a["id"]]
    r = api.get(f"{URL}?clinic_id={clinic.id}&start={day}&end={day + timedelta(days=1)}")
    assert [s["id"] for s in r.json["sessions"]] == [a["id"], b["id"]]
    instants = f"start={clinic.at(day, 9, 30).isoformat().replace('+', '%2B')}&end={clinic.at(day, 23).isoformat().replace('+', '%2B')}"
    assert [s["id"] for s in api.get(f"{URL}?clinic_id={clinic.id}&{instants}").json["sessions"]] == [a["id"]]
    for query, field in [
        ("", "clinic_id"),
        (f"clinic_id={clinic.id}&start=tomorrow", "start"),
        (f"clinic_id={clinic.id}&start={day}&end={day - timedelta(days=1)}", "end"),
        (f"clinic_id={clinic.id}&status=lost", "status"),
    ]:
        r = api.get(f"{URL}?{query}")
        expected = 422 if "end=" in query else 400  # an end before its start: a rule between fields
        assert r.status_code == expected and r.json["error"]["field"] == field, query
    assert api.get(f"{URL}?clinic_id=999999").status_code == 404


def test_dosing_hold_refuses_a_dose_unless_overridden(api, world):
    clinic, pid, _, day = world
    held = api.as_("clinician").post(f"/api/v1/patients/{pid}/dosing_hold", json={"reason": "Manic symptoms"})
    assert held.status_code == 200, held.json
    body = dose(clinic, pid, day, kind="dose", phase="induction", sequence=1, route="iv", duration_minutes=120)
    r = api.post(URL, json=body)
    assert r.status_code == 409 and r.json["error"]["code"] == "flagged"
    assert [c["code"] for c in r.json["error"]["conflicts"]] == ["dosing_hold"]
    assert r.json["error"]["conflicts"][0]["patient_id"] == pid
    evaluation = api.post(
        URL, json=dose(clinic, pid, day, hh=14, room="Therapy", staff_member_id=clinic.staff["Dr Prescriber"])
    )
    assert evaluation.status_code == 201  # a hold stops dosing, not visits
