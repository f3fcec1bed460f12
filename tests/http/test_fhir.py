"""FHIR R4 export: Appointment bundles (status codes, participants, invariants app-2/3/4) and free Slots."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import select

from scheduler.db import db_session
from scheduler.models import Clinic, StaffMember, TreatmentSession
from scheduler.services import booking, directory
from tests.support import world

FHIR_STATUS = {"proposed": "proposed", "booked": "booked", "checked_in": "checked-in", "completed": "fulfilled",
               "cancelled": "cancelled", "no_show": "noshow"}
APPOINTMENT_STATUSES = {"proposed", "pending", "booked", "arrived", "fulfilled", "cancelled", "noshow",
                        "entered-in-error", "checked-in", "waitlist"}
PARTICIPANT_STATUSES = {"accepted", "declined", "tentative", "needs-action"}


def _one_of_each_status(w):
    ids = {}
    for offset, status in enumerate(FHIR_STATUS):
        day = date(2026, 3, 2) + timedelta(days=offset)
        s = w.book(day, time(9), 90, status="booked" if status in ("cancelled",) else status)
        if status == "cancelled":
            booking.cancel(None, s, reason="Snowstorm")
        ids[status] = s.id
    db_session.commit()
    return ids


def check_appointment(a: dict) -> None:
    """The FHIR R4 rules that matter for Appointment."""
    assert a["resourceType"] == "Appointment" and a["id"]
    assert a["status"] in APPOINTMENT_STATUSES
    assert a["participant"], "participant is 1..*"
    for p in a["participant"]:
        assert p["status"] in PARTICIPANT_STATUSES
        assert "actor" in p or "type" in p  # app-1
    assert ("start" in a) == ("end" in a)  # app-2
    if "start" not in a:
        assert a["status"] in ("proposed", "cancelled", "waitlist")  # app-3
    if "cancelationReason" in a:
        assert a["status"] in ("cancelled", "noshow")  # app-4
    if "start" in a:
        start, end = datetime.fromisoformat(a["start"]), datetime.fromisoformat(a["end"])
        assert start.utcoffset() is not None and start < end
        assert a["minutesDuration"] == (end - start) // timedelta(minutes=1)


def test_appointments_of_a_patient_by_mrn(api):
    w = world.build()
    ids = _one_of_each_status(w)
    answer = api.as_("front_desk").get("/fhir/Appointment?patient=MRN-100")
    assert answer.status_code == 200 and answer.mimetype == "application/fhir+json"
    bundle = answer.json
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "searchset"
    assert bundle["total"] == len(bundle["entry"]) == len(FHIR_STATUS)
    by_id = {e["resource"]["id"]: e for e in bundle["entry"]}
    for status, fhir_status in FHIR_STATUS.items():
        entry = by_id[str(ids[status])]
        a = entry["resource"]
        assert entry["fullUrl"].endswith(f"/fhir/Appointment/{ids[status]}") and entry["search"]["mode"] == "match"
        check_appointment(a)
        assert a["status"] == fhir_status
        assert a["minutesDuration"] == 90
        assert a["start"].endswith("-05:00") and "T09:00:00" in a["start"]
        actors = {p["actor"]["reference"].split("/")[0]: p["actor"] for p in a["participant"]}
        assert actors["Patient"]["identifier"]["value"] == "MRN-100"
        assert actors["Practitioner"]["reference"] == f"Practitioner/{w.nurse.id}"
        assert actors["Location"]["reference"] == f"Location/{w.room.id}"
        assert a["serviceType"][0]["coding"][0]["code"] == "dose"
        assert a["appointmentType"]["coding"][0]["code"] == "ROUTINE"
        assert ("cancelationReason" in a) == (status == "cancelled")
    assert by_id[str(ids["cancelled"])]["resource"]["cancelationReason"]["text"] == "Snowstorm"
    # The system|value token form finds the same; an unknown MRN is an empty searchset.
    assert api.get("/fhir/Appointment?patient=urn:scheduler:mrn|MRN-100").json["total"] == len(FHIR_STATUS)
    assert api.get("/fhir/Appointment?patient=NOPE").json == {**api.get("/fhir/Appointment?patient=NOPE").json,
                                                             "total": 0, "entry": []}


@pytest.mark.parametrize("url, status, code", [
    ("/fhir/Appointment", 400, "invalid"),
    ("/fhir/Appointment?patient=http://other|X", 400, "invalid"),
    ("/fhir/Slot?schedule=room/1", 400, "invalid"),
    ("/fhir/Slot?schedule=chair/1&start=2026-03-02&end=2026-03-03", 400, "invalid"),
    ("/fhir/Slot?schedule=room/99999&start=2026-03-02&end=2026-03-03", 404, "not-found"),
])
def test_bad_searches_are_operation_outcomes(api, url, status, code):
    world.build()
    answer = api.get(url)
    assert answer.status_code == status
    assert answer.json["resourceType"] == "OperationOutcome" and answer.json["issue"][0]["code"] == code


def test_fhir_needs_a_bearer_token(api):
    answer = api.as_(None).get("/fhir/Appointment?patient=MRN-100")
    assert answer.status_code == 401 and answer.json["resourceType"] == "OperationOutcome"


def _slots(api, schedule, start, end):
    answer = api.get(f"/fhir/Slot?schedule={schedule}&start={start}&end={end}")
    assert answer.status_code == 200, answer.json
    slots = [e["resource"] for e in answer.json["entry"]]
    for s in slots:
        assert s["resourceType"] == "Slot" and s["status"] == "free" and s["schedule"]["reference"]
        assert datetime.fromisoformat(s["start"]) < datetime.fromisoformat(s["end"])
    return [(s["start"], s["end"]) for s in slots]


def test_room_slots_are_open_hours_minus_sessions_and_closures(api):
    w = world.build()
    w.book(date(2026, 3, 9), time(10), 120)  # Monday after the DST change
    clinic = db_session.get(Clinic, w.clinic.id)
    directory.add_closure(None, clinic, starts_on=date(2026, 3, 10), ends_on=date(2026, 3, 10), reason="Training")
    db_session.commit()
    assert _slots(api, f"room/{w.room.id}", "2026-03-09", "2026-03-10") == [
        ("2026-03-09T08:00:00-04:00", "2026-03-09T10:00:00-04:00"),
        ("2026-03-09T12:00:00-04:00", "2026-03-09T18:00:00-04:00"),
    ]
    # A cancelled session frees its time.
    booking.cancel(None, db_session.scalars(select(TreatmentSession)).one(), reason="x")
    db_session.commit()
    assert _slots(api, f"room/{w.room.id}", "2026-03-09", "2026-03-09") == [
        ("2026-03-09T08:00:00-04:00", "2026-03-09T18:00:00-04:00")]
    # Instants clip the range.
    assert _slots(api, f"room/{w.room.id}", "2026-03-09T09:00:00-04:00", "2026-03-09T09:30:00-04:00") == [
        ("2026-03-09T09:00:00-04:00", "2026-03-09T09:30:00-04:00")]


def test_practitioner_slots_respect_time_off_and_capacity(api):
    w = world.build()
    nurse = db_session.get(StaffMember, w.nurse.id)
    ny = world.NY
    directory.add_time_off(None, nurse, starts_at=datetime(2026, 3, 9, 8, tzinfo=ny),
                           ends_at=datetime(2026, 3, 9, 12, tzinfo=ny), reason="Dentist")
    w.book(date(2026, 3, 9), time(14), 60)
    db_session.commit()
    assert _slots(api, f"practitioner/{w.nurse.id}", "2026-03-09", "2026-03-09") == [
        ("2026-03-09T12:00:00-04:00", "2026-03-09T14:00:00-04:00"),
        ("2026-03-09T15:00:00-04:00", "2026-03-09T18:00:00-04:00"),
    ]
    nurse = db_session.get(StaffMember, w.nurse.id)
    nurse.capacity = 2  # can monitor two chairs: one session leaves her free
    db_session.commit()
    assert _slots(api, f"practitioner/{w.nurse.id}", "2026-03-09", "2026-03-09") == [
        ("2026-03-09T12:00:00-04:00", "2026-03-09T18:00:00-04:00")]


def test_slot_range_is_bounded(api):
    w = world.build()
    answer = api.get(f"/fhir/Slot?schedule=room/{w.room.id}&start=2026-03-01&end=2026-06-01")
    assert answer.status_code == 400 and answer.json["issue"][0]["expression"] == ["end"]
