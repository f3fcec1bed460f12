"""The waitlist and messages pages through the Flask client: the front desk adds a patient, sees an
offer when a slot frees, books it; an admin reads the outbox; the front desk may not."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from scheduler.db import db_session
from scheduler.models import Patient, StaffMember, TreatmentSession, WaitlistEntry
from scheduler.services import booking, sessions
from scheduler.services import sessions as session_service
from tests.support import builders
from tests.support.builders import PASSWORD, clinic_with_users, email, next_monday

NY = ZoneInfo("America/New_York")


def _signed_in(app, role):
    client = app.test_client()
    page = client.get("/sign-in")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    assert (
        client.post("/sign-in", data={"email": email(role), "password": PASSWORD, "csrf_token": token}).status_code
        == 302
    )
    return client, token


def _csrf(client) -> str:
    with client.session_transaction() as s:
        return s["csrf_token"]


@pytest.fixture
def site(sqlite_app):
    clinic, rooms, _ = clinic_with_users()
    ana = builders.patient(mrn="W-1", name="Ana Ruiz", email="ana@example.test")
    ben = builders.patient(mrn="W-2", name="Ben Okafor", email="ben@example.test")
    db_session.commit()
    return {"app": sqlite_app, "clinic": clinic, "rooms": rooms, "ana": ana.id, "ben": ben.id}


def test_the_front_desk_adds_to_the_waitlist_sees_the_offer_and_books_it(site):
    client, _ = _signed_in(site["app"], "front_desk")
    day = next_monday(datetime.now(NY).date())
    page = client.get("/waitlist")
    assert page.status_code == 200 and "Nobody is waiting" in page.text
    bad = client.post(
        "/waitlist",
        data={
            "csrf_token": _csrf(client),
            "patient_id": site["ana"],
            "kind": "dose",
            "earliest_on": day.isoformat(),
            "latest_on": "not a date",
        },
    )
    assert bad.status_code == 400 and "latest_on" in bad.text and 'aria-invalid="true"' in bad.text
    added = client.post(
        "/waitlist",
        data={
            "csrf_token": _csrf(client),
            "patient_id": site["ana"],
            "kind": "dose",
            "earliest_on": day.isoformat(),
            "latest_on": day.isoformat(),
            "weekdays": ["mon"],
            "earliest": "08:00",
        },
    )
    assert added.status_code == 302
    listed = client.get("/waitlist").text
    assert "Ana Ruiz" in listed and "No open offers" in listed
    nurse = db_session.scalars(select(StaffMember).where(StaffMember.role == "nurse")).first()
    start = datetime.combine(day, time(10), tzinfo=NY)
    s = session_service.book(
        None,
        booking.SessionRequest(
            clinic_id=site["clinic"].id,
            patient_id=site["ben"],
            room_id=site["rooms"]["IV-1"].id,
            kind="dose",
            starts_at=start,
            ends_at=start + timedelta(hours=2),
            staff_member_id=nurse.id,
        ),
        check_flags=False,
    )[0]
    db_session.commit()
    sessions.cancel(None, s, version=s.version, reason="Ben is unwell")
    db_session.commit()
    offers = client.get("/waitlist").text
    assert "Open offers" in offers and "10:00" in offers and 'Book<span class="sr-only"> for Ana Ruiz' in offers
    worklist = client.get("/flags").text
    assert "1 freed time offered to waitlisted patients" in worklist and 'href="/waitlist"' in worklist
    offer_id = re.search(r"/waitlist/offers/(\d+)/accept", offers).group(1)
    booked = client.post(f"/waitlist/offers/{offer_id}/accept", data={"csrf_token": _csrf(client)})
    assert booked.status_code == 302 and "/sessions/" in booked.headers["Location"]
    db_session.expire_all()
    mine = db_session.scalars(select(TreatmentSession).where(TreatmentSession.patient_id == site["ana"])).one()
    assert (mine.starts_at, mine.status) == (start, "booked")
    assert db_session.scalars(select(WaitlistEntry)).one().status == "booked"


def test_an_admin_reads_the_outbox_page_and_the_front_desk_may_not(site):
    nurse = db_session.scalars(select(StaffMember).where(StaffMember.role == "nurse")).first()
    day = next_monday(datetime.now(NY).date())
    start = datetime.combine(day, time(9), tzinfo=NY)
    session_service.book(
        None,
        booking.SessionRequest(
            clinic_id=site["clinic"].id,
            patient_id=site["ana"],
            room_id=site["rooms"]["IV-1"].id,
            kind="dose",
            starts_at=start,
            ends_at=start + timedelta(hours=2),
            staff_member_id=nurse.id,
        ),
        check_flags=False,
    )[0]
    db_session.commit()
    admin, _ = _signed_in(site["app"], "admin")
    page = admin.get("/messages")
    assert page.status_code == 200 and "ana@example.test" in page.text and "Reminder" in page.text
    assert admin.get("/messages?status=sent").text.count("ana@example.test") == 0
    desk, _ = _signed_in(site["app"], "front_desk")
    assert desk.get("/messages").status_code == 403
    assert 'href="/messages"' not in desk.get("/waitlist").text
    assert 'href="/messages"' in page.text
    assert db_session.get(Patient, site["ana"]).contact_preference == "email"
