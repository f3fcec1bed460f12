"""Booking through FHIR after IHE ITI Scheduling: $find (the product's slot search), $hold (an
expiring hold no one else is offered, respected by the API's bookings and suggestions), $book
(atomic, idempotent), $cancel and cancelling by a status update; CarePlan per course. Both
databases; every FHIR answer validated (tests/support/fhir_check.py)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import select

from scheduler.db import db_session
from scheduler.models import AuditEvent, Course, TreatmentSession
from scheduler.services import booking
from scheduler.services import sessions as session_service
from tests.support import builders
from tests.support.fhir_check import Fhir

KIND = "urn:scheduler:session-kind|follow_up"


def _clinic():
    """The world plus a consult room and a prescriber (a follow-up: 30 min, consult, prescriber)."""
    w = builders.small_clinic(commit=False)
    from scheduler.models import Clinic

    clinic = db_session.get(Clinic, w.clinic.id)
    consult = builders.room(clinic, name="Consult-1", capabilities=("consult",))
    doctor = builders.staff(clinic, name="Dr Rao", role="prescriber")
    other = builders.patient(mrn="MRN-200", name="Other Person")
    db_session.flush()
    ids = {
        "clinic": clinic.id,
        "room": consult.id,
        "doctor": doctor.id,
        "patient": w.patient.id,
        "other": other.id,
        "iv_room": w.room.id,
    }
    db_session.commit()
    return ids


def _tomorrow() -> date:
    return (datetime.now(builders.NY) + timedelta(days=1)).date()


def _find(fhir, ids, patient=None, post=False, days=2):
    start, end = _tomorrow(), _tomorrow() + timedelta(days=days)
    patient = patient or ids["patient"]
    if post:
        body = {
            "resourceType": "Parameters",
            "parameter": [
                {"name": "patient", "valueReference": {"reference": f"Patient/{patient}"}},
                {"name": "service-type", "valueCoding": {"system": "urn:scheduler:session-kind", "code": "follow_up"}},
                {"name": "location", "valueString": f"Location/clinic-{ids['clinic']}"},
                {"name": "start", "valueDate": start.isoformat()},
                {"name": "end", "valueDate": end.isoformat()},
            ],
        }
        bundle = fhir.post("/fhir/Appointment/$find", json=body).resource
    else:
        bundle = fhir.get(
            f"/fhir/Appointment/$find?patient=Patient/{patient}&service-type={KIND}"
            f"&location=Location/clinic-{ids['clinic']}&start={start}&end={end}"
        ).resource
    proposals = [e["resource"] for e in bundle.get("entry", [])]
    for a in proposals:
        assert a["status"] == "proposed" and a["minutesDuration"] == 30
        assert start <= datetime.fromisoformat(a["start"]).date() <= end
        assert {p["actor"]["reference"] for p in a["participant"]} >= {
            f"Patient/{patient}",
            f"Location/{ids['room']}",
            f"Practitioner/{ids['doctor']}",
        }
    return proposals


def _params(appointment):
    return {"resourceType": "Parameters", "parameter": [{"name": "appointment", "resource": appointment}]}


def test_find_hold_book_cancel(api):
    ids = _clinic()
    fhir = Fhir(api)
    proposals = _find(fhir, ids)
    assert proposals and proposals == _find(fhir, ids, post=True)
    first = proposals[0]

    held = fhir.post("/fhir/Appointment/$hold", json=_params(first)).resource
    assert held["id"].startswith("hold-") and held["status"] == "pending"
    assert (held["start"], held["end"]) == (first["start"], first["end"])
    assert fhir.post("/fhir/Appointment/$hold", json=_params(first)).resource["id"] == held["id"]  # a retry
    assert fhir.get(f"/fhir/Appointment/{held['id']}").resource["status"] == "pending"

    # The held slot is busy-tentative, not free, and offered to no one else.
    day = first["start"][:10]
    slots = fhir.get(f"/fhir/Slot?schedule=Schedule/room-{ids['room']}&start={day}").resource["entry"]
    tentative = [e["resource"] for e in slots if e["resource"]["status"] == "busy-tentative"]
    assert [(s["start"], s["end"]) for s in tentative] == [(first["start"], first["end"])]
    fhir.get(f"/fhir/Slot/{tentative[0]['id']}")
    for s in (e["resource"] for e in slots if e["resource"]["status"] == "free"):
        assert not (s["start"] < first["end"] and first["start"] < s["end"])
    assert first["start"] not in [a["start"] for a in _find(fhir, ids, patient=ids["other"])]

    # The API refuses to book over the hold.
    answer = api.as_("front_desk").post(
        "/api/v1/sessions",
        json={
            "patient_id": ids["other"],
            "room_id": ids["room"],
            "staff_member_id": ids["doctor"],
            "kind": "follow_up",
            "starts_at": first["start"],
            "ends_at": first["end"],
        },
    )
    assert answer.status_code == 409 and answer.json["error"]["code"] == "slot_held", answer.json

    booked = fhir.post("/fhir/Appointment/$book", json=_params(held)).resource
    assert booked["status"] == "booked" and booked["id"].isdigit() and booked["start"] == first["start"]
    assert fhir.post("/fhir/Appointment/$book", json=_params(held)).resource["id"] == booked["id"]  # a retry
    after = fhir.get(f"/fhir/Appointment/{held['id']}").resource
    assert after["status"] == "booked" and after["supportingInformation"] == [
        {"reference": f"Appointment/{booked['id']}"}
    ]
    assert len(db_session.scalars(select(TreatmentSession)).all()) == 1

    cancelled = fhir.post(
        f"/fhir/Appointment/{booked['id']}/$cancel",
        json={"resourceType": "Parameters", "parameter": [{"name": "reason", "valueString": "Patient called"}]},
    ).resource
    assert cancelled["status"] == "cancelled" and cancelled["cancelationReason"]["text"] == "Patient called"
    assert fhir.post(f"/fhir/Appointment/{booked['id']}/$cancel").resource["status"] == "cancelled"  # a retry

    actions = [
        e.action
        for e in db_session.scalars(select(AuditEvent).order_by(AuditEvent.id))
        if e.action.startswith(("hold.", "session."))
    ]
    assert actions == ["hold.place", "session.book", "hold.book", "session.cancel"]


def test_a_hold_expires_by_itself(api):
    ids = _clinic()
    fhir = Fhir(api)
    first = _find(fhir, ids)[0]
    api.app.config["FHIR_HOLD_MINUTES"] = 0  # expires at once
    held = fhir.post("/fhir/Appointment/$hold", json=_params(first)).resource
    assert fhir.get(f"/fhir/Appointment/{held['id']}").resource["status"] == "cancelled"
    fhir.get(f"/fhir/Slot/{held['id']}-room", expect=404)
    outcome = fhir.post("/fhir/Appointment/$book", json=_params(held), expect=409).resource
    assert "expired" in outcome["issue"][0]["diagnostics"]
    # The slot is offered and bookable again, also by someone else.
    api.app.config["FHIR_HOLD_MINUTES"] = 10
    assert first["start"] in [a["start"] for a in _find(fhir, ids, patient=ids["other"])]
    other = {
        **first,
        "participant": [
            {**p, "actor": {"reference": f"Patient/{ids['other']}"}}
            if p["actor"]["reference"].startswith("Patient/")
            else p
            for p in first["participant"]
        ],
    }
    fhir.post("/fhir/Appointment/$hold", json=_params(other))


def test_double_booking_through_fhir_is_impossible(api):
    ids = _clinic()
    fhir = Fhir(api)
    first = _find(fhir, ids)[0]
    other = {
        **first,
        "participant": [
            {**p, "actor": {"reference": f"Patient/{ids['other']}"}}
            if p["actor"]["reference"].startswith("Patient/")
            else p
            for p in first["participant"]
        ],
    }
    fhir.post("/fhir/Appointment/$hold", json=_params(first))
    assert (
        fhir.post("/fhir/Appointment/$hold", json=_params(other), expect=409).resource["issue"][0]["code"] == "conflict"
    )
    assert fhir.post("/fhir/Appointment/$book", json=_params(other), expect=409)
    # A proposal booked directly (no hold) books once; a retry answers the same appointment.
    second = _find(fhir, ids)[0]
    booked = fhir.post("/fhir/Appointment/$book", json=_params(second)).resource
    assert fhir.post("/fhir/Appointment/$book", json=_params(second)).resource["id"] == booked["id"]
    clash = {**second, "participant": other["participant"]}
    fhir.post("/fhir/Appointment/$book", json=_params(clash), expect=409)
    assert len(db_session.scalars(select(TreatmentSession)).all()) == 1


def test_cancel_by_status_update(api):
    ids = _clinic()
    fhir = Fhir(api)
    booked = fhir.post("/fhir/Appointment/$book", json=_params(_find(fhir, ids)[0])).resource
    fhir.put(f"/fhir/Appointment/{booked['id']}", json={**booked, "status": "fulfilled"}, expect=422)
    fhir.put(
        f"/fhir/Appointment/{booked['id']}",
        json={**booked, "status": "cancelled"},
        headers={"If-Match": 'W/"99"'},
        expect=409,
    )
    done = fhir.put(
        f"/fhir/Appointment/{booked['id']}",
        json={**booked, "status": "cancelled", "cancelationReason": {"text": "Moved away"}},
        headers={"If-Match": f'W/"{booked["meta"]["versionId"]}"'},
    ).resource
    assert done["status"] == "cancelled" and done["cancelationReason"]["text"] == "Moved away"
    assert db_session.get(TreatmentSession, int(booked["id"])).status == "cancelled"  # the record is kept
    held = fhir.post("/fhir/Appointment/$hold", json=_params(_find(fhir, ids)[0])).resource
    released = fhir.put(f"/fhir/Appointment/{held['id']}", json={**held, "status": "cancelled"}).resource
    assert released["status"] == "cancelled"


def test_operation_inputs_are_checked(api):
    ids = _clinic()
    fhir = Fhir(api)
    base = f"/fhir/Appointment/$find?patient=Patient/{ids['patient']}&location=Location/clinic-{ids['clinic']}"
    fhir.get(base, expect=400)  # no service-type
    fhir.get(base + "&service-type=http://other|follow_up", expect=400)
    fhir.get(base + "&service-type=urn:scheduler:session-kind|massage", expect=400)
    fhir.get(base + f"&service-type={KIND}&start=2026-01-01&end=2026-06-01", expect=422)  # a window over 31 days
    # A dose's room type depends on the protocol: without an open course it cannot be found.
    fhir.get(base + "&service-type=urn:scheduler:session-kind|dose", expect=422)
    fhir.get(f"/fhir/Appointment/$find?patient=Patient/999999&service-type={KIND}", expect=404)
    fhir.post("/fhir/Appointment/$hold", json={"resourceType": "Bundle"}, expect=400)
    fhir.post(
        "/fhir/Appointment/$hold", json=_params({"resourceType": "Appointment", "status": "proposed"}), expect=400
    )
    fhir.as_("clinician").post("/fhir/Appointment/$hold", json=_params(_find(fhir, ids)[0]), expect=403)
    fhir.post("/fhir/Appointment/hold-424242/$cancel", expect=404)


def test_care_plan_per_course_lists_its_appointments(api):
    ids = _clinic()
    course = Course(
        patient_id=ids["patient"],
        clinic_id=ids["clinic"],
        protocol_key="ketamine-iv",
        start_on=date(2026, 3, 2),
        status="active",
    )
    db_session.add(course)
    db_session.flush()
    made = []
    for i in range(3):
        starts = datetime.combine(date(2026, 3, 2) + timedelta(days=2 * i), time(9), tzinfo=builders.NY)
        made.append(
            session_service.book(
                None,
                booking.SessionRequest(
                    clinic_id=ids["clinic"],
                    patient_id=ids["patient"],
                    room_id=ids["iv_room"],
                    kind="dose",
                    starts_at=starts,
                    ends_at=starts + timedelta(hours=2),
                    course_id=course.id,
                    sequence=i + 1,
                ),
                check_flags=False,
            )[0].id
        )
    db_session.commit()
    fhir = Fhir(api)
    for query in (f"patient=Patient/{ids['patient']}", "patient:identifier=urn:scheduler:mrn|MRN-100"):
        plans = fhir.get(f"/fhir/CarePlan?{query}").resource
        assert plans["total"] == 1
    plan = plans["entry"][0]["resource"]
    assert plan["subject"]["reference"] == f"Patient/{ids['patient']}" and plan["status"] == "active"
    refs = [a["reference"]["reference"] for a in plan["activity"]]
    assert refs == [f"Appointment/{i}" for i in made]
    for ref in refs:
        fhir.get(f"/fhir/{ref}")
    assert fhir.get(f"/fhir/CarePlan/{course.id}").resource == plan
    assert "entry" not in fhir.get(f"/fhir/CarePlan?patient=Patient/{ids['other']}").resource
