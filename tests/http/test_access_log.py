"""The access log (HIPAA audit controls): every read of a patient's record, timeline, notes,
assessments, feed or FHIR appointments is logged in the request's transaction, on both databases;
admins list it, filtered and paged like /audit."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from scheduler.db import db_session
from scheduler.models import AccessLogEntry
from tests.support import builders


def _entries() -> list[tuple]:
    db_session.remove()
    return [
        (e.user_id, e.patient_id, e.what, e.route)
        for e in db_session.scalars(select(AccessLogEntry).order_by(AccessLogEntry.id))
    ]


def test_every_read_of_patient_data_is_logged_with_who_which_what_and_route(api):
    w = builders.small_clinic()
    w.book(date(2026, 3, 9))
    db_session.commit()
    pid = w.patient.id
    desk, clinician = api.as_("front_desk"), api.as_("clinician")
    feed = desk.post("/api/v1/feeds", json={"kind": "patient", "id": pid}).json
    reads = [
        (desk, f"/api/v1/patients/{pid}", "record"),
        (desk, f"/api/v1/patients/{pid}/timeline", "timeline"),
        (clinician, f"/api/v1/patients/{pid}/notes", "notes"),
        (clinician, f"/api/v1/patients/{pid}/assessments", "assessments"),
        (desk, f"/fhir/Patient/{pid}", "record"),
        (desk, f"/fhir/Appointment?patient=Patient/{pid}", "fhir_appointments"),
    ]
    for who, url, _what in reads:
        assert who.get(url).status_code == 200, url
    assert api.as_(None).get(f"/api/v1/feeds/{feed['token']}.ics").status_code == 200
    expected = [(api.users[who.role], pid, what, "GET " + url.split("?")[0]) for who, url, what in reads]
    expected.append((api.users["front_desk"], pid, "feed", f"GET /api/v1/feeds/{feed['token']}.ics"))
    assert _entries() == expected


def test_refused_and_unrelated_reads_are_not_logged(api):
    w = builders.small_clinic()
    assert api.as_("front_desk").get(f"/api/v1/patients/{w.patient.id}/notes").status_code == 403
    assert api.as_("front_desk").get("/api/v1/patients/999999").status_code == 404
    assert api.as_("front_desk").get("/api/v1/rooms").status_code == 200
    assert _entries() == []


def test_fhir_appointment_reads_log_each_patient_once(api):
    w = builders.small_clinic()
    first = w.book(date(2026, 3, 9))
    w.book(date(2026, 3, 11))
    db_session.commit()
    answer = api.as_("front_desk").get(f"/fhir/Appointment?patient=Patient/{w.patient.id}")
    assert answer.status_code == 200 and answer.json["total"] == 2
    one = api.as_("front_desk").get(f"/fhir/Appointment/{first.id}")
    assert one.status_code == 200
    assert [(p, what) for _u, p, what, _r in _entries()] == [(w.patient.id, "fhir_appointments")] * 2


def test_pages_log_their_reads(sqlite_app):
    from scheduler.services import directory
    from tests.support.builders import clinic_with_users
    from tests.support.pages import signed_in

    users = {role: u.id for role, u in clinic_with_users()[2].items()}
    patient = directory.create_patient(None, mrn="MRN-P1", name="Page Reader", birth_date=date(1980, 1, 2))
    db_session.commit()
    pid = patient.id
    assert signed_in(sqlite_app).get(f"/patients/{pid}").status_code == 200
    assert signed_in(sqlite_app, "clinician").get(f"/patients/{pid}/timeline").status_code == 200
    assert [(u, what) for u, p, what, _r in _entries() if p == pid] == [
        (users["front_desk"], "record"),
        (users["clinician"], "timeline"),
        (users["clinician"], "notes"),
        (users["clinician"], "assessments"),
    ]


def test_admins_list_the_log_filtered_and_paged(api):
    w = builders.small_clinic()
    other = builders.patient(mrn="MRN-200", name="Other Person")
    db_session.commit()
    desk, clinician = api.as_("front_desk"), api.as_("clinician")
    for _ in range(3):
        desk.get(f"/api/v1/patients/{w.patient.id}")
    clinician.get(f"/api/v1/patients/{w.patient.id}/timeline")
    desk.get(f"/api/v1/patients/{other.id}")
    admin = api.as_("admin")
    everything = admin.get("/api/v1/access-log").json
    assert everything["total"] == 5 and everything["next_page"] is None
    assert set(everything["entries"][0]) == {"at", "user_id", "patient_id", "what", "route"}
    by_patient = admin.get(f"/api/v1/access-log?patient_id={w.patient.id}&per_page=2").json
    assert (by_patient["total"], by_patient["page"], by_patient["per_page"], by_patient["next_page"]) == (4, 1, 2, 2)
    page_two = admin.get(f"/api/v1/access-log?patient_id={w.patient.id}&per_page=2&page=2").json
    assert [e["what"] for e in page_two["entries"]] == ["record", "timeline"] and page_two["next_page"] is None
    by_user = admin.get(f"/api/v1/access-log?user_id={api.users['clinician']}").json
    assert [(e["what"], e["patient_id"]) for e in by_user["entries"]] == [("timeline", w.patient.id)]
    today = date.today().isoformat()
    assert admin.get(f"/api/v1/access-log?start={today}&end={today}").json["total"] == everything["total"]
    assert admin.get("/api/v1/access-log?end=2000-01-01").json["total"] == 0
    bad = admin.get("/api/v1/access-log?patient_id=abc")
    assert bad.status_code == 400 and bad.json["error"]["field"] == "patient_id"
    assert admin.get("/api/v1/access-log?start=2026-03-02&end=2026-03-01").status_code == 422
    assert desk.get("/api/v1/access-log").status_code == 403
    assert clinician.get("/api/v1/access-log").status_code == 403
