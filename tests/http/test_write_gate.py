"""Issue 9 part 3: every write and every proposal goes through the rule book.

A booking, a reschedule or a re-plan that would introduce an error flag is refused with 409 ``flagged``
(listing the flags) unless it carries ``override_reason`` (audited); a flag already there does not
refuse. Suggestions offer only slots that introduce no error flag, and moving a dose offers to move its
integration session with it (``move_dependents``). On both databases.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from scheduler.db import db_session
from scheduler.models import AuditEvent, TreatmentSession
from tests.support.builders import equipped_clinic, future_monday, patient_id


def _course(api, clinic, pid):
    r = api.post(
        f"/api/v1/patients/{pid}/courses",
        json={
            "protocol": "ketamine-iv",
            "clinic_id": clinic.id,
            "start_on": str(future_monday()),
            "include_maintenance": False,
            "preferences": {"weekdays": ["mon", "wed", "fri"], "earliest": "09:00", "latest": "15:00"},
        },
    )
    assert r.status_code == 201, r.json
    sessions = r.json["sessions"]
    return r.json["course"], sessions


def _dose_and_integration(sessions, n=2):
    dose = next(s for s in sessions if s["kind"] == "dose" and s["sequence"] == n)
    integ = next(s for s in sessions if s["kind"] == "integration" and s["sequence"] == n)
    return dose, integ


def _error_codes(api, pid):
    return {f["code"] for f in api.get(f"/api/v1/patients/{pid}/timeline").json["flags"] if f["severity"] == "error"}


def test_moving_an_integration_session_out_of_its_window_is_flagged_unless_overridden(api, app):
    clinic = equipped_clinic()
    pid = patient_id()
    _, sessions = _course(api, clinic, pid)
    dose, integ = _dose_and_integration(sessions)
    assert "integration_missing" not in _error_codes(api, pid)
    # the integration session before its dose: it no longer counts for it
    earlier = datetime.fromisoformat(dose["starts_at"]) - timedelta(days=1)
    body = {"version": integ["version"], "starts_at": earlier.isoformat()}
    r = api.post(f"/api/v1/sessions/{integ['id']}/reschedule", json=body)
    assert r.status_code == 409 and r.json["error"]["code"] == "flagged", r.json
    flagged = r.json["error"]["conflicts"]
    assert {f["code"] for f in flagged} >= {"integration_missing"}
    assert all(f["severity"] == "error" for f in flagged)
    assert dose["id"] in next(f for f in flagged if f["code"] == "integration_missing")["session_ids"]
    assert "integration_missing" not in _error_codes(api, pid)  # nothing was written
    r = api.post(f"/api/v1/sessions/{integ['id']}/reschedule", json={**body, "override_reason": "Therapist's leave"})
    assert r.status_code == 200, r.json
    assert "integration_missing" in _error_codes(api, pid)
    audit = db_session.scalars(
        select(AuditEvent).where(AuditEvent.action == "session.override", AuditEvent.entity_id == integ["id"])
    ).all()
    assert audit and audit[-1].reason == "Therapist's leave"
    assert "integration_missing" in audit[-1].after["flags"]


def test_a_flag_already_there_does_not_refuse_a_move(api, app):
    clinic = equipped_clinic()
    pid = patient_id()
    _, sessions = _course(api, clinic, pid)
    dose, integ = _dose_and_integration(sessions)
    earlier = datetime.fromisoformat(dose["starts_at"]) - timedelta(days=1)
    r = api.post(
        f"/api/v1/sessions/{integ['id']}/reschedule",
        json={"version": integ["version"], "starts_at": earlier.isoformat(), "override_reason": "Leave"},
    )
    assert r.status_code == 200, r.json
    # integration_missing for the dose is there already: moving the session by an hour keeps it, not refused
    r = api.post(
        f"/api/v1/sessions/{integ['id']}/reschedule",
        json={"version": r.json["version"], "starts_at": (earlier + timedelta(hours=1)).isoformat()},
    )
    assert r.status_code == 200, r.json


def test_booking_a_dose_that_breaks_the_spacing_is_refused_with_its_flags(api, app):
    clinic = equipped_clinic()
    pid = patient_id()
    course, sessions = _course(api, clinic, pid)
    dose, _ = _dose_and_integration(sessions)
    start = datetime.fromisoformat(dose["starts_at"]) + timedelta(hours=3)
    body = {
        "patient_id": pid,
        "room_id": dose["room_id"],
        "kind": "dose",
        "phase": "induction",
        "route": "iv",
        "course_id": course["id"],
        "starts_at": start.isoformat(),
        "duration_minutes": 120,
    }
    r = api.post("/api/v1/sessions", json=body)
    assert r.status_code == 409 and r.json["error"]["code"] == "flagged", r.json
    assert "doses_too_close" in {f["code"] for f in r.json["error"]["conflicts"]}


def test_suggestions_for_a_dose_move_its_integration_session_with_it(api, app):
    clinic = equipped_clinic()
    pid = patient_id()
    _, sessions = _course(api, clinic, pid)
    dose, integ = _dose_and_integration(sessions, n=6)  # the last dose: nothing after it to keep apart from
    answer = api.get(f"/api/v1/sessions/{dose['id']}/suggestions")
    assert answer.status_code == 200, answer.json
    slots = answer.json["suggestions"]
    assert slots
    moving = [s for s in slots if s["move_dependents"]]
    assert moving, slots  # a later day: its integration session would no longer count
    slot = moving[0]
    assert [d["session_id"] for d in slot["dependents"]] == [integ["id"]]
    dep = slot["dependents"][0]
    assert datetime.fromisoformat(dep["starts_at"]) >= datetime.fromisoformat(slot["ends_at"])
    # without move_dependents the same move is refused: it would leave the dose without integration
    body = {
        "version": dose["version"],
        "starts_at": slot["starts_at"],
        "room_id": slot["room_id"],
        "staff_member_id": slot["staff_member_id"],
    }
    r = api.post(f"/api/v1/sessions/{dose['id']}/reschedule", json=body)
    assert r.status_code == 409 and r.json["error"]["code"] == "flagged", r.json
    assert "integration_missing" in {f["code"] for f in r.json["error"]["conflicts"]}
    r = api.post(f"/api/v1/sessions/{dose['id']}/reschedule", json={**body, "move_dependents": True})
    assert r.status_code == 200, r.json
    moved = db_session.get(TreatmentSession, integ["id"])
    db_session.refresh(moved)
    assert moved.starts_at == datetime.fromisoformat(dep["starts_at"])
    assert moved.version == integ["version"] + 1
    assert "integration_missing" not in _error_codes(api, pid)
    events = db_session.scalars(select(AuditEvent).where(AuditEvent.action == "session.reschedule")).all()
    assert {e.entity_id for e in events} >= {dose["id"], integ["id"]}
    # every suggestion, applied, raises no error flag (the integration session moves with the dose)
    assert all(not s["move_dependents"] or s["dependents"] for s in slots)


def test_suggestions_never_offer_a_slot_that_introduces_an_error(api, app):
    clinic = equipped_clinic()
    pid = patient_id()
    _, sessions = _course(api, clinic, pid)
    dose, _ = _dose_and_integration(sessions, n=3)
    before = _error_codes(api, pid)
    slots = api.get(f"/api/v1/sessions/{dose['id']}/suggestions").json["suggestions"]
    version = dose["version"]
    for slot in slots[:3]:
        r = api.post(
            f"/api/v1/sessions/{dose['id']}/reschedule",
            json={
                "version": version,
                "starts_at": slot["starts_at"],
                "room_id": slot["room_id"],
                "staff_member_id": slot["staff_member_id"],
                "move_dependents": slot["move_dependents"],
            },
        )
        assert r.status_code == 200, (slot, r.json)
        assert _error_codes(api, pid) <= before
        version = r.json["version"]
        back = api.post(
            f"/api/v1/sessions/{dose['id']}/reschedule",
            json={
                "version": version,
                "starts_at": dose["starts_at"],
                "room_id": dose["room_id"],
                "staff_member_id": dose["staff_member_id"],
                "move_dependents": True,
            },
        )
        assert back.status_code == 200, back.json
        version = back.json["version"]


def test_the_booking_reads_the_patients_courses_and_the_room_with_the_patient(api, app):
    """An API booking's gate takes the patient's courses, and its setup the room's clinic and version,
    from the patient's own statement (inputs.patient_with_courses): the same facts the gate and the
    setup cache would read, none for a patient without a course or for an unknown room."""
    import pytest

    from scheduler.errors import NotFound
    from scheduler.models import Clinic
    from scheduler.services import flags, inputs

    clinic = equipped_clinic()
    pid, other = patient_id(), patient_id(mrn="MRN-2", name="No Course")
    first, _ = _course(api, clinic, pid)
    db_session.remove()
    room_id = clinic.rooms["IV-1"]
    found = inputs.patient_with_courses(pid, room_id)
    assert found.patient.id == pid
    assert list(found.courses) == flags.course_fact_rows([pid]) and [c.id for c in found.courses] == [first["id"]]
    assert found.room_version == (clinic.id, db_session.get_one(Clinic, clinic.id).setup_version)
    assert inputs.patient_with_courses(other, room_id).courses == ()
    assert inputs.patient_with_courses(other, 10**9).room_version is None
    assert inputs.patient_with_courses(other).room_version is None
    with pytest.raises(NotFound) as missing:
        inputs.patient_with_courses(10**9, room_id)
    assert missing.value.field == "patient_id"


def test_a_booking_names_the_malformed_or_unknown_room_after_the_patient(api, app):
    clinic = equipped_clinic()
    pid = patient_id()
    body = {
        "patient_id": pid,
        "kind": "evaluation",
        "starts_at": clinic.iso(future_monday(), 9),
        "duration_minutes": 60,
    }
    for room, status in (("7", 400), (True, 400), (0, 400), (None, 400), (10**9, 404)):
        r = api.post("/api/v1/sessions", json=body | {"room_id": room})
        assert r.status_code == status, (room, r.json)
        assert r.json["error"]["field"] == "room_id" if status == 400 else "room" in r.json["error"]["message"]
    r = api.post("/api/v1/sessions", json=body | {"patient_id": 10**9, "room_id": "7"})
    assert r.status_code == 404 and r.json["error"]["field"] == "patient_id", r.json
