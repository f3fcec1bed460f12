"""The access log covers every route that answers with patient data: the URL map is enumerated (a
route added tomorrow is checked too), each GET is called by a user allowed to, in a clinic whose
patient has a course, a booked session, a waitlist entry and an offer, flags, audit entries and a
room feed, and must write an access-log entry naming that user, that patient and that route — unless
it is in ``EXEMPT``, each with the reason it shows no patient's data. Every logged view begins its
transaction as a writer (on SQLite ``BEGIN IMMEDIATE``), so its entry never fails on a lock upgrade.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from scheduler.auth import PERMISSIONS
from scheduler.db import db_session
from scheduler.models import AccessLogEntry, Message, utcnow
from scheduler.services import access_log
from tests.support import routes as r
from tests.support import scope
from tests.support.scope import DAY


@pytest.fixture
def world(sqlite_app):
    return scope.two_clinics(sqlite_app)


CLINIC = "the clinic's own set-up (rooms, staff, hours, closures), no patient"
EXEMPT = {
    "signin.home": "redirects to the role's start page",
    "signin.sign_in": "the sign-in form",
    "signin.account": "the signed-in user's own account page",
    "frontdesk.new_patient": "an empty registration form (its POST is audited)",
    "oversight.import_page": "the upload form; the import's report shows the uploaded file's rows (audited)",
    "oversight.reports_page": "aggregates per day or week (counts, rates), no patient",
    "oversight.report_csv": "the same aggregates as CSV",
    "public.show": "a patient's own link, read by the patient (no staff user reads anything)",
    "api.health": "public liveness",
    "api.openapi": "the public API document",
    "fhir.metadata": "the public CapabilityStatement",
    "fhir.read_operation_definition": "a public operation definition",
    "api.list_access_log": "the access log itself: ids, who read whom (reading it is not a read of a record)",
    "api.list_clinics": CLINIC,
    "api.get_clinic": CLINIC,
    "api.list_closures": CLINIC,
    "api.list_rooms": CLINIC,
    "api.get_room": CLINIC,
    "api.list_staff": CLINIC,
    "api.get_staff_member": CLINIC,
    "fhir.read_location": CLINIC,
    "fhir.read_practitioner": CLINIC,
    "fhir.read_schedule": CLINIC,
    "api.list_protocols": "the protocol rule book",
    "api.get_protocol": "the protocol rule book",
    "fhir.search_slots": "free and busy time of rooms, no patient named",
    "fhir.read_slot": "free and busy time of a room, no patient named",
    "api.session_suggestions": "free slots a session could move to (times, room and staff ids only)",
    "api.list_feeds": "the caller's feed tokens: kind and subject id, no patient's data",
    "api.list_users": "staff accounts",
    "api.list_tokens": "staff accounts' API tokens",
    "api.report_attendance": "aggregates (counts, rates), no patient",
    "api.report_funnel": "aggregates (counts, rates), no patient",
    "api.report_maintenance": "aggregates (counts, rates), no patient",
    "api.report_outcomes": "aggregates (score means per week), no patient",
    "api.report_utilization": "aggregates (booked minutes per room), no patient",
}
# Query strings that make a route answer with clinic A's patient (its session is on DAY).
QUERY = {
    "api.list_sessions": "clinic_id={clinic}&start={day}&end={day}",
    "api.list_flags": "clinic_id={clinic}&start={before}&end={after}",
    "api.day_board": "date={day}",
    "api.list_waitlist": "clinic_id={clinic}",
    "api.list_offers": "clinic_id={clinic}",
    "api.search_patients": "q={mrn}",
    "frontdesk.patients": "q={mrn}",
    "api.list_audit_events": "per_page=200",
    "fhir.search_appointments": "patient=Patient/{patient}",
    "fhir.search_care_plans": "patient=Patient/{patient}",
    "fhir.find": "patient=Patient/{patient}&service-type=urn:scheduler:session-kind|dose&start={day}",
    "frontdesk.day_board": "date={day}",
    "frontdesk.week": "date={day}",
    "clinician.my_day": "date={day}",
    "frontdesk.flags": "start={before}&end={after}",
    "frontdesk.open_time": "date={day}&days=14",
    "api.export_everything": "format=jsonl",
}
# Who calls a route: a role granted its permission; the network admin (no clinics) for the export.
CALLER = {"api.export_everything": "network"}


def _gets(app) -> list[r.Route]:
    return [route for route in r.routes(app) if route.method == "GET"]


def _role(route: r.Route) -> str:
    if route.endpoint in CALLER:
        return CALLER[route.endpoint]
    return (
        "clinician"
        if route.permission
        and route.permission in PERMISSIONS["clinician"]
        and route.permission not in PERMISSIONS["front_desk"]
        else r.role_for(route.permission)
    )


def _entries_since(last_id: int) -> list[AccessLogEntry]:
    db_session.remove()
    return list(
        db_session.scalars(select(AccessLogEntry).where(AccessLogEntry.id > last_id).order_by(AccessLogEntry.id))
    )


def test_every_get_with_patient_data_writes_an_access_log_entry(world):
    w, a = world, world["a"]
    callers = scope.callers(w)
    users = {who: uid for who, (uid, _token) in w["users"].items()}
    values = {
        "clinic": a["clinic"],
        "day": DAY,
        "before": DAY - timedelta(days=7),
        "after": DAY + timedelta(days=7),
        "mrn": a["mrn"],
        "patient": a["patient"],
    }
    db_session.add(
        Message(
            kind="reminder",
            channel="email",
            to="pat.alpha@example.org",
            patient_id=a["patient"],
            session_id=a["session"],
            due_at=utcnow(),
        )
    )  # the outbox shows it
    db_session.commit()
    failures, checked = [], 0
    for route in _gets(w["app"]):
        if route.endpoint in EXEMPT:
            continue
        url = scope.route_url(route, a)
        assert url is not None, f"{route}: add its id to test_clinic_scope.INT_PARAMS"
        query = QUERY.get(route.endpoint, "").format(**values)
        who = _role(route)
        last = db_session.scalar(select(func.coalesce(func.max(AccessLogEntry.id), 0)))
        db_session.remove()
        answer = callers[who].call(route, f"{url}?{query}" if query else url)
        if answer.status_code != 200:
            failures.append(f"{route} as {who}: {answer.status_code} {answer.get_data(as_text=True)[:200]!r}")
            continue
        reader = a["user"] if route.endpoint == "api.feed_ics" else users[who]  # a feed: its creator
        entries = _entries_since(last)
        if not any(e.user_id == reader and e.patient_id == a["patient"] and e.route == f"GET {url}" for e in entries):
            failures.append(
                f"{route} as {who}: no access-log entry for the patient "
                f"(got {[(e.user_id, e.patient_id, e.what, e.route) for e in entries]})"
            )
        if who != "network" and any(e.patient_id == w["b"]["patient"] for e in entries):
            failures.append(f"{route} as {who}: logged clinic B's patient, whom the user may not see")
        checked += 1
    assert not failures, "\n".join(failures)
    assert checked >= 30, checked


def test_every_logged_view_begins_as_a_writer_and_the_exemptions_are_real_routes(sqlite_app):
    """On SQLite a logged GET takes the write lock up front (BEGIN IMMEDIATE), so its log entry
    never fails on a lock upgrade: every GET that is not exempt is marked ``@access.logged``."""
    gets = {route.endpoint for route in _gets(sqlite_app)}
    marked = {name for name, view in sqlite_app.view_functions.items() if getattr(view, "writes_on_read", False)}
    assert marked == gets - set(EXEMPT)
    assert set(EXEMPT) <= gets, f"exempt but no such GET route: {sorted(set(EXEMPT) - gets)}"
    assert set(QUERY) <= gets


def test_an_audit_entry_names_the_patient_it_is_about():
    assert access_log.patients_in_audit_event("patient", 7, None, {"name": "x"}) == [7]
    assert access_log.patients_in_audit_event("session", 3, {"patient_id": 5}, {"patient_id": 5}) == [5, 5]
    assert access_log.patients_in_audit_event("room", 3, None, {"name": "IV-1"}) == []
    assert access_log.patients_in_audit_event("session", 3, None, {"patient_id": True}) == []
