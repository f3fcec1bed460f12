"""FHIR's own clinic scoping and roles, beyond the route x role enumeration of test_clinic_scope:
another clinic's Patient, Appointment (a session or a hold), Schedule, Slot, Location and CarePlan
is the same 404 OperationOutcome as an id that does not exist; searches and $find naming clinic B
(a patient, a schedule, a location) find nothing of it; $hold/$book of a proposal at clinic B's
room (or a patient seen only there) are 404 and write nothing; a clinician reads but may not hold,
book or cancel (403 OperationOutcome)."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from scheduler.db import db_session
from scheduler.models import AppointmentHold, TreatmentSession
from tests.support import scope
from tests.support.scope import DAY, MARKER, NY


@pytest.fixture
def world(sqlite_app):
    return scope.two_clinics(sqlite_app)


FHIR_JSON = "application/fhir+json"
KIND = "urn:scheduler:session-kind|dose"
KIND_CODE = "dose"


def _call(caller, method: str, url: str, body=None):
    return caller.client.open(url, method=method, json=body, headers={"Authorization": f"Bearer {caller.token}"})


def _outcome(answer, status: int) -> dict:
    assert answer.status_code == status, (answer.status_code, answer.get_data(as_text=True)[:300])
    assert answer.mimetype == FHIR_JSON
    body = answer.json
    assert body["resourceType"] == "OperationOutcome" and body["issue"][0]["severity"] == "error"
    assert MARKER not in answer.get_data(as_text=True)
    return body


def _proposal(patient: int, room: int) -> dict:
    start = datetime.combine(DAY + timedelta(days=2), time(10), tzinfo=NY)
    return {
        "resourceType": "Appointment",
        "status": "proposed",
        "serviceType": [{"coding": [{"system": "urn:scheduler:session-kind", "code": KIND_CODE}]}],
        "start": start.isoformat(),
        "end": (start + timedelta(hours=2)).isoformat(),
        "participant": [{"actor": {"reference": f"Patient/{patient}"}}, {"actor": {"reference": f"Location/{room}"}}],
    }


def _params(resource: dict) -> dict:
    return {"resourceType": "Parameters", "parameter": [{"name": "appointment", "resource": resource}]}


def test_another_clinics_fhir_resources_are_404_outcomes_like_unknown_ones(world):
    w = world
    b = w["b"]
    for role in ("front_desk", "clinician", "admin"):
        caller = scope.callers(w)[role]
        for url in (
            f"/fhir/Patient/{b['patient']}",
            f"/fhir/Appointment/{b['session']}",
            f"/fhir/Schedule/room-{b['room']}",
            f"/fhir/Schedule/practitioner-{b['staff']}",
            f"/fhir/Slot/room-{b['room']}-{scope.free_hour()}",
            f"/fhir/Location/{b['room']}",
            f"/fhir/Location/clinic-{b['clinic']}",
            f"/fhir/Practitioner/{b['staff']}",
            f"/fhir/CarePlan/{b['course']}",
        ):
            mine = _outcome(_call(caller, "GET", url), 404)
            unknown = _outcome(_call(caller, "GET", _unknown(url)), 404)
            assert mine["issue"][0]["code"] == unknown["issue"][0]["code"] == "not-found", url
        # The same resources of clinic A are there (the 404 is about the clinic).
        a = w["a"]
        for url in (
            f"/fhir/Patient/{a['patient']}",
            f"/fhir/Appointment/{a['session']}",
            f"/fhir/CarePlan/{a['course']}",
            f"/fhir/Schedule/room-{a['room']}",
            f"/fhir/Location/clinic-{a['clinic']}",
        ):
            assert _call(caller, "GET", url).status_code == 200, (role, url)


def _unknown(url: str) -> str:
    head, _, ident = url.rpartition("/")
    prefix = "".join(ch for ch in ident.split("-")[0] if not ch.isdigit())
    return f"{head}/{prefix + '-' if prefix else ''}999999" if "Slot" not in url else f"{head}/room-999999-1-2"


def test_fhir_searches_and_find_naming_clinic_b_find_nothing_of_it(world):
    w = world
    b = w["b"]
    desk = scope.callers(w)["front_desk"]
    for url in (
        f"/fhir/Appointment?patient=Patient/{b['patient']}",
        f"/fhir/Appointment?actor=Location/{b['room']}",
        f"/fhir/Appointment?actor=Practitioner/{b['staff']}",
        f"/fhir/CarePlan?patient=Patient/{b['patient']}",
        f"/fhir/Appointment?patient:identifier=urn:scheduler:mrn|{b['mrn']}",
    ):
        answer = _call(desk, "GET", url)
        assert answer.status_code in (200, 404), (url, answer.status_code)
        assert MARKER not in answer.get_data(as_text=True), url
        if answer.status_code == 200:
            assert answer.json["total"] == 0 and "entry" not in answer.json, url
    _outcome(_call(desk, "GET", f"/fhir/Slot?schedule=Schedule/room-{b['room']}"), 404)
    for query in (
        f"patient=Patient/{b['patient']}&service-type={KIND}",
        f"patient=Patient/{w['a']['patient']}&service-type={KIND}&location=Location/clinic-{b['clinic']}",
        f"patient=Patient/{w['a']['patient']}&service-type={KIND}&location=Location/{b['room']}",
    ):
        _outcome(_call(desk, "GET", f"/fhir/Appointment/$find?{query}"), 404)


def test_holding_or_booking_at_clinic_b_is_404_and_writes_nothing(world):
    w = world
    a, b = w["a"], w["b"]
    desk = scope.callers(w)["front_desk"]
    count = lambda model: db_session.scalar(select(func.count()).select_from(model))  # noqa: E731
    before = (count(AppointmentHold), count(TreatmentSession))
    for patient, room in ((a["patient"], b["room"]), (b["patient"], a["room"])):
        for op in ("$hold", "$book"):
            _outcome(_call(desk, "POST", f"/fhir/Appointment/{op}", _params(_proposal(patient, room))), 404)
    _outcome(
        _call(
            desk,
            "PUT",
            f"/fhir/Appointment/{b['session']}",
            {"resourceType": "Appointment", "id": str(b["session"]), "status": "cancelled"},
        ),
        404,
    )
    db_session.remove()
    assert (count(AppointmentHold), count(TreatmentSession)) == before
    assert db_session.get(TreatmentSession, b["session"]).status == "booked"


def test_a_clinician_reads_fhir_but_may_not_hold_book_or_cancel(world):
    w = world
    a = w["a"]
    callers = scope.callers(w)
    desk, clinician = callers["front_desk"], callers["clinician"]
    proposal = _params(_proposal(a["patient"], a["room"]))
    for op, body in (("$hold", proposal), ("$book", proposal)):
        body_out = _outcome(_call(clinician, "POST", f"/fhir/Appointment/{op}", body), 403)
        assert body_out["issue"][0]["code"] == "forbidden"
    _outcome(_call(clinician, "POST", f"/fhir/Appointment/{a['session']}/$cancel"), 403)
    _outcome(
        _call(
            clinician,
            "PUT",
            f"/fhir/Appointment/{a['session']}",
            {"resourceType": "Appointment", "id": str(a["session"]), "status": "cancelled"},
        ),
        403,
    )
    assert _call(clinician, "GET", f"/fhir/Appointment/{a['session']}").status_code == 200
    assert _call(
        clinician, "GET", f"/fhir/Appointment/$find?patient=Patient/{a['patient']}&service-type={KIND}"
    ).status_code in (200, 422)
    # The front desk passes the role check (what follows is the rule book's: a dose needs its
    # integration session; the booking itself is tested in test_fhir_booking).
    assert _call(desk, "POST", "/fhir/Appointment/$hold", proposal).status_code in (200, 409)
