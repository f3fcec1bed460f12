"""FHIR R4 reads and searches: Appointment bundles (status codes, participants, invariants app-2/3/4),
free Slots, every reference resolving; every answer validated (tests/support/fhir_check.py)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import select

from scheduler.db import db_session
from scheduler.models import Clinic, StaffMember, TreatmentSession
from scheduler.services import directory
from scheduler.services import sessions as session_service
from tests.support import builders
from tests.support.fhir_check import Fhir

FHIR_STATUS = {
    "proposed": "proposed",
    "booked": "booked",
    "checked_in": "checked-in",
    "completed": "fulfilled",
    "cancelled": "cancelled",
    "no_show": "noshow",
}
APPOINTMENT_STATUSES = {
    "proposed",
    "pending",
    "booked",
    "arrived",
    "fulfilled",
    "cancelled",
    "noshow",
    "entered-in-error",
    "checked-in",
    "waitlist",
}
PARTICIPANT_STATUSES = {"accepted", "declined", "tentative", "needs-action"}


def _one_of_each_status(w):
    ids = {}
    for offset, status in enumerate(FHIR_STATUS):
        day = date(2026, 3, 2) + timedelta(days=offset)
        s = w.book(day, time(9), 90, status="booked" if status in ("cancelled",) else status)
        if status == "cancelled":
            session_service.cancel(None, s, version=s.version, reason="Snowstorm")
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


def test_appointments_of_a_patient(api):
    w = builders.small_clinic()
    ids = _one_of_each_status(w)
    fhir = Fhir(api)
    bundle = fhir.get(f"/fhir/Appointment?patient=Patient/{w.patient.id}").resource
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
    # The other forms of the patient find the same; an unknown one is an empty searchset (no "entry": []).
    for form in (str(w.patient.id), f"http://localhost/fhir/Patient/{w.patient.id}", "urn:scheduler:mrn|MRN-100"):
        assert fhir.get(f"/fhir/Appointment?patient={form}").resource["total"] == len(FHIR_STATUS), form
    assert fhir.get("/fhir/Appointment?patient:identifier=urn:scheduler:mrn|MRN-100").resource["total"] == 6
    empty = fhir.get("/fhir/Appointment?patient=Patient/424242").resource
    assert empty["total"] == 0 and "entry" not in empty


@pytest.mark.parametrize(
    "url, status, code",
    [
        ("/fhir/Appointment?patient=http://other|X", 400, "invalid"),
        ("/fhir/Appointment?date=xx2026-03-02", 400, "invalid"),
        ("/fhir/Appointment?date=ge2026-13-02", 400, "invalid"),
        ("/fhir/Appointment?date=ge0006-01-02", 400, "invalid"),
        ("/fhir/Appointment?status=maybe", 400, "invalid"),
        ("/fhir/Appointment?date=ge2026-03-02&_count=1000", 400, "invalid"),
        ("/fhir/Appointment/999999", 404, "not-found"),
        ("/fhir/Appointment/hold-999999", 404, "not-found"),
        ("/fhir/Patient/abc", 404, "not-found"),
        ("/fhir/Encounter/1", 404, "not-found"),
        ("/fhir/Slot?schedule=Schedule/room-{room}&start=ge2026-03-02&start=lt2026-06-02", 400, "invalid"),
        ("/fhir/Slot?start=ge2026-03-02", 400, "invalid"),
        ("/fhir/Slot?schedule=chair/1&start=ge2026-03-02", 400, "invalid"),
        ("/fhir/Slot?schedule=Schedule/room-99999&start=2026-03-02", 404, "not-found"),
        ("/fhir/CarePlan", 400, "invalid"),
    ],
)
def test_bad_requests_are_operation_outcomes(api, url, status, code):
    w = builders.small_clinic()
    outcome = Fhir(api).get(url.replace("{room}", str(w.room.id)), expect=status).resource
    assert outcome["resourceType"] == "OperationOutcome" and outcome["issue"][0]["code"] == code


def test_fhir_needs_a_bearer_token_but_metadata_is_public(api):
    outcome = Fhir(api, role=None).get("/fhir/Appointment?patient=Patient/1", expect=401).resource
    assert outcome["issue"][0]["code"] == "login"
    assert Fhir(api, role=None).get("/fhir/metadata").resource["resourceType"] == "CapabilityStatement"


def test_date_prefixes_status_actor_and_paging(api):
    w = builders.small_clinic()
    days = [date(2026, 3, 2) + timedelta(days=i) for i in range(5)]
    sessions = [w.book(d, time(9), 60) for d in days]
    session_service.cancel(None, sessions[4], version=sessions[4].version, reason="Flu")
    db_session.commit()
    fhir, pid = Fhir(api), w.patient.id

    def starts(url):
        return [e["resource"]["start"][:10] for e in fhir.get(url).resource.get("entry", [])]

    # date alone is a valid search; prefixes bound it; a date is the clinic's day.
    assert starts("/fhir/Appointment?date=ge2026-03-04") == ["2026-03-04", "2026-03-05", "2026-03-06"]
    assert starts("/fhir/Appointment?date=gt2026-03-04") == ["2026-03-05", "2026-03-06"]
    assert starts("/fhir/Appointment?date=lt2026-03-04") == ["2026-03-02", "2026-03-03"]
    assert starts("/fhir/Appointment?date=le2026-03-04") == ["2026-03-02", "2026-03-03", "2026-03-04"]
    assert starts("/fhir/Appointment?date=eq2026-03-03") == ["2026-03-03"]
    assert starts("/fhir/Appointment?date=2026-03-03") == ["2026-03-03"]
    assert starts("/fhir/Appointment?date=ne2026-03-03&date=le2026-03-04") == ["2026-03-02", "2026-03-04"]
    assert starts("/fhir/Appointment?date=ge2026-03-03&date=lt2026-03-05") == ["2026-03-03", "2026-03-04"]
    assert starts("/fhir/Appointment?date=2026-03") == [d.isoformat() for d in days]
    assert starts("/fhir/Appointment?date=ge2026-03-03T09:00:00-05:00&date=lt2026-03-04T09:00:00-05:00") == [
        "2026-03-03"
    ]
    assert starts(f"/fhir/Appointment?patient=Patient/{pid}&status=cancelled") == ["2026-03-06"]
    assert starts(f"/fhir/Appointment?patient=Patient/{pid}&status=booked,cancelled&date=ge2026-03-06") == [
        "2026-03-06"
    ]
    assert len(starts(f"/fhir/Appointment?actor=Location/{w.room.id}")) == 5
    assert len(starts(f"/fhir/Appointment?actor=Practitioner/{w.nurse.id}&date=lt2026-03-03")) == 1
    assert len(starts(f"/fhir/Appointment?actor=Location/clinic-{w.clinic.id}")) == 5
    assert starts("/fhir/Appointment?actor=Practitioner/424242") == []
    # _count pages with next/previous links that work, and the self link shows what was used.
    page = fhir.get(f"/fhir/Appointment?patient=Patient/{pid}&_count=2&unknown=1").resource
    links = {link["relation"]: link["url"] for link in page["link"]}
    assert page["total"] == 5 and len(page["entry"]) == 2
    assert "unknown" not in links["self"] and "_count=2" in links["self"] and "previous" not in links
    seen = [e["resource"]["id"] for e in page["entry"]]
    while "next" in links:
        page = fhir.get(links["next"].removeprefix("http://localhost")).resource
        links = {link["relation"]: link["url"] for link in page["link"]}
        seen += [e["resource"]["id"] for e in page["entry"]]
        assert "previous" in links
    assert seen == [str(s.id) for s in sessions]
    assert "entry" not in fhir.get(f"/fhir/Appointment?patient=Patient/{pid}&_count=0").resource


def test_strict_handling_refuses_unknown_parameters(api):
    w = builders.small_clinic()
    fhir = Fhir(api)
    url = f"/fhir/Appointment?patient=Patient/{w.patient.id}&_sort=date"
    assert fhir.get(url).resource["total"] == 0  # lenient: ignored
    outcome = fhir.get(url, headers={"Prefer": "handling=strict"}, expect=400).resource
    assert outcome["issue"][0]["expression"] == ["_sort"]
    fhir.get(f"/fhir/Appointment?patient=Patient/{w.patient.id}", headers={"Prefer": "handling=strict"})


@pytest.mark.parametrize(
    "fmt, status",
    [
        ("json", 200),
        ("application/fhir+json", 200),
        ("application/json", 200),
        ("xml", 406),
        ("application/fhir+xml", 406),
        ("ttl", 406),
    ],
)
def test_format_is_honoured_or_refused(api, fmt, status):
    fhir = Fhir(api)
    answer = fhir.get(f"/fhir/metadata?_format={fmt}", expect=status)
    assert answer.headers["Content-Type"].startswith("application/fhir+json")


def test_accept_header_ruling_out_json_is_406(api):
    fhir = Fhir(api)
    fhir.get("/fhir/metadata", headers={"Accept": "application/fhir+xml"}, expect=406)
    fhir.get("/fhir/metadata", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert fhir.post("/fhir/metadata", expect=405).headers["Allow"]


def test_capability_statement_states_what_is_supported(api):
    cap = Fhir(api).get("/fhir/metadata").resource
    assert cap["fhirVersion"] == "4.0.1" and cap["kind"] == "instance" and cap["status"] == "active"
    assert "application/fhir+json" in cap["format"]
    resources = {r["type"]: r for r in cap["rest"][0]["resource"]}
    assert set(resources) >= {"Patient", "Practitioner", "Location", "Schedule", "Slot", "Appointment", "CarePlan"}
    assert {p["name"] for p in resources["Appointment"]["searchParam"]} == {"patient", "date", "status", "actor"}
    assert {p["name"] for p in resources["Slot"]["searchParam"]} == {"schedule", "start", "status"}
    assert {p["name"] for p in resources["CarePlan"]["searchParam"]} == {"patient"}
    assert "searchParam" not in resources["Patient"]
    operations = {o["name"]: o["definition"] for o in resources["Appointment"]["operation"]}
    assert set(operations) == {"find", "hold", "book", "cancel"}
    for name, url in operations.items():
        definition = Fhir(api, role=None).get(url.removeprefix("http://localhost")).resource
        assert definition["code"] == name and definition["resource"] == ["Appointment"]
    # What is stated is served: every resource type answers a read (404 for an unknown id, not 405).
    for name in resources:
        Fhir(api).get(f"/fhir/{name}/does-not-exist", expect=404)


def test_every_reference_and_full_url_resolves(api):
    w = builders.small_clinic()
    w.book(date(2026, 3, 2), time(9), 60)
    db_session.commit()
    fhir = Fhir(api)
    bundle = fhir.get(f"/fhir/Appointment?patient=Patient/{w.patient.id}").resource
    slots = fhir.get(f"/fhir/Slot?schedule=Schedule/room-{w.room.id}&start=ge2026-03-02&start=lt2026-03-03").resource
    seen, todo = set(), [bundle, slots]
    while todo:
        resource = todo.pop()
        for url in _references(resource):
            path = url.removeprefix("http://localhost")
            path = path if path.startswith("/fhir/") else f"/fhir/{path}"
            if path in seen:
                continue
            seen.add(path)
            todo.append(fhir.get(path).resource)
    assert {p.split("/")[2] for p in seen} >= {"Appointment", "Patient", "Practitioner", "Location", "Schedule", "Slot"}
    assert f"/fhir/Location/clinic-{w.clinic.id}" in seen


def _references(value):
    if isinstance(value, dict):
        for k, v in value.items():
            if k in ("reference", "fullUrl") and isinstance(v, str):
                yield v
            else:
                yield from _references(v)
    elif isinstance(value, list):
        for v in value:
            yield from _references(v)


def test_directory_reads(api):
    w = builders.small_clinic()
    fhir = Fhir(api)
    patient = fhir.get(f"/fhir/Patient/{w.patient.id}").resource
    assert patient["identifier"] == [{"system": "urn:scheduler:mrn", "value": "MRN-100"}]
    assert patient["birthDate"] and patient["name"][0]["text"] == "Pat Example"
    assert fhir.get(f"/fhir/Practitioner/{w.nurse.id}").resource["name"][0]["text"] == w.nurse.name
    room = fhir.get(f"/fhir/Location/{w.room.id}").resource
    assert room["partOf"]["reference"] == f"Location/clinic-{w.clinic.id}" and room["status"] == "active"
    schedule = fhir.get(f"/fhir/Schedule/practitioner-{w.nurse.id}").resource
    assert schedule["actor"][0]["reference"] == f"Practitioner/{w.nurse.id}"
    assert fhir.get(f"/fhir/Schedule/room-{w.room.id}").resource["actor"][0]["reference"] == f"Location/{w.room.id}"


def _slots(api, schedule, start, end):
    url = f"/fhir/Slot?schedule=Schedule/{schedule}&start=ge{start}&start={'lt' if 'T' in end else 'le'}{end}"
    bundle = Fhir(api).get(url.replace("+", "%2B")).resource
    slots = [e["resource"] for e in bundle.get("entry", [])]
    for s in slots:
        assert s["resourceType"] == "Slot" and s["status"] == "free" and s["schedule"]["reference"]
        assert datetime.fromisoformat(s["start"]) < datetime.fromisoformat(s["end"])
    return [(s["start"], s["end"]) for s in slots]


def test_room_slots_are_open_hours_minus_sessions_and_closures(api):
    w = builders.small_clinic()
    w.book(date(2026, 3, 9), time(10), 120)  # Monday after the DST change
    clinic = db_session.get(Clinic, w.clinic.id)
    directory.add_closure(None, clinic, starts_on=date(2026, 3, 10), ends_on=date(2026, 3, 10), reason="Training")
    db_session.commit()
    assert _slots(api, f"room-{w.room.id}", "2026-03-09", "2026-03-10") == [
        ("2026-03-09T08:00:00-04:00", "2026-03-09T10:00:00-04:00"),
        ("2026-03-09T12:00:00-04:00", "2026-03-09T18:00:00-04:00"),
    ]
    # A cancelled session frees its time.
    row = db_session.scalars(select(TreatmentSession)).one()
    session_service.cancel(None, row, version=row.version, reason="x")
    db_session.commit()
    assert _slots(api, f"room-{w.room.id}", "2026-03-09", "2026-03-09") == [
        ("2026-03-09T08:00:00-04:00", "2026-03-09T18:00:00-04:00")
    ]
    # Instants clip the range.
    assert _slots(api, f"room-{w.room.id}", "2026-03-09T09:00:00-04:00", "2026-03-09T09:30:00-04:00") == [
        ("2026-03-09T09:00:00-04:00", "2026-03-09T09:30:00-04:00")
    ]


def test_practitioner_slots_respect_time_off_and_capacity(api):
    w = builders.small_clinic()
    nurse = db_session.get(StaffMember, w.nurse.id)
    ny = builders.NY
    directory.add_time_off(
        None,
        nurse,
        starts_at=datetime(2026, 3, 9, 8, tzinfo=ny),
        ends_at=datetime(2026, 3, 9, 12, tzinfo=ny),
        reason="Dentist",
    )
    w.book(date(2026, 3, 9), time(14), 60)
    db_session.commit()
    assert _slots(api, f"practitioner-{w.nurse.id}", "2026-03-09", "2026-03-09") == [
        ("2026-03-09T12:00:00-04:00", "2026-03-09T14:00:00-04:00"),
        ("2026-03-09T15:00:00-04:00", "2026-03-09T18:00:00-04:00"),
    ]
    nurse = db_session.get(StaffMember, w.nurse.id)
    nurse.capacity = 2  # can monitor two chairs: one session leaves her free
    db_session.commit()
    assert _slots(api, f"practitioner-{w.nurse.id}", "2026-03-09", "2026-03-09") == [
        ("2026-03-09T12:00:00-04:00", "2026-03-09T18:00:00-04:00")
    ]


def test_slot_range_is_bounded(api):
    w = builders.small_clinic()
    outcome = (
        Fhir(api)
        .get(f"/fhir/Slot?schedule=Schedule/room-{w.room.id}&start=ge2026-03-01&start=lt2026-06-01", expect=400)
        .resource
    )
    assert outcome["issue"][0]["expression"] == ["start"]
