"""The reminder and waitlist loop through what people touch: the API, the patient's public link
page, the worker delivering to a real SMTP server, and the front desk's waitlist page."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from scheduler.db import db_session
from scheduler.models import AuditEvent, PatientLink, WaitlistOffer
from scheduler.services import delivery
from tests.support import builders
from tests.support.messaging import smtp_server  # noqa: F401 - fixture

NY = ZoneInfo("America/New_York")
LINK = re.compile(r"https://clinic\.example\.test(/p/[A-Za-z0-9_.\-]+)")


@pytest.fixture
def loop(app, api, smtp_server):
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=smtp_server.port, PUBLIC_URL="https://clinic.example.test")
    w = builders.small_clinic()
    assert api.patch(f"/api/v1/patients/{w.patient.id}", json={"email": "pat@example.test"}).status_code == 200
    other = builders.patient(mrn="MRN-200", name="Ana Ruiz", email="ana@example.test")
    db_session.commit()
    return {"w": w, "other": other.id, "box": smtp_server, "client": app.test_client()}


def _book(api, w, day, start=time(10), patient_id=None):
    starts = datetime.combine(day, start, tzinfo=NY)
    answer = api.post(
        "/api/v1/sessions",
        json={
            "patient_id": patient_id or w.patient.id,
            "room_id": w.room.id,
            "staff_member_id": w.nurse.id,
            "kind": "dose",
            "route": "iv",
            "starts_at": starts.isoformat(),
            "duration_minutes": 120,
        },
    )
    assert answer.status_code == 201, answer.json
    return answer.json


def _deliver_first(api, session_id, box) -> str:
    pending = api.get(f"/api/v1/messages?session_id={session_id}&status=pending").json["messages"]
    due = min(datetime.fromisoformat(m["due_at"]) for m in pending)
    assert delivery.run_once(now=due + timedelta(seconds=1)).sent >= 1
    text = box.messages[-1].get_body(("plain",)).get_content()
    return LINK.search(text).group(1)


def _day(days: int):
    return datetime.now(NY).date() + timedelta(days=days)


def test_the_patient_confirms_with_who_drives_them_home_once(api, loop):
    s = _book(api, loop["w"], _day(10))
    link = _deliver_first(api, s["id"], loop["box"])
    client = loop["client"]
    page = client.get(link)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert "Hello Pat" in page.text and "Test Clinic" in page.text and "IV-1" in page.text
    for secret in ("MRN-100", "1980", "pat@example.test", "Example", "dose_mg"):
        assert secret not in page.text
    assert page.headers.get("Set-Cookie") is None  # Headers look names up case-insensitively
    refused = client.post(link, data={"action": "confirm"})
    assert refused.status_code == 400 and "who will drive you home" in refused.text
    done = client.post(link, data={"action": "confirm", "ride_home_by": "Sam (partner)"})
    assert done.status_code == 200 and "You confirmed this appointment" in done.text
    session = api.get(f"/api/v1/sessions/{s['id']}").json
    assert session["confirmed_at"] and session["ride_home_by"] == "Sam (partner)"
    again = client.post(link, data={"action": "cancel", "reason": "changed my mind"})
    assert again.status_code == 409 and "already been used" in again.text
    assert api.get(f"/api/v1/sessions/{s['id']}").json["status"] == "booked"
    tampered = link[:-2] + ("AA" if not link.endswith("AA") else "BB")
    assert client.get(tampered).status_code == 404
    audit = db_session.scalars(select(AuditEvent).where(AuditEvent.action == "session.confirm")).one()
    assert audit.actor_id is None and audit.reason == "patient link"


def test_a_cancel_by_link_frees_the_slot_for_the_waitlist_and_the_first_to_accept_wins(api, app, loop):
    w, day = loop["w"], _day(10)
    entry = api.post(
        "/api/v1/waitlist",
        json={
            "patient_id": loop["other"],
            "clinic_id": w.clinic.id,
            "kind": "dose",
            "earliest_on": day.isoformat(),
            "latest_on": day.isoformat(),
            "preferences": {"earliest": "08:00"},
        },
    )
    assert entry.status_code == 201, entry.json
    late = builders.patient(mrn="MRN-300", name="Late Comer")
    db_session.commit()
    api.post(
        "/api/v1/waitlist",
        json={
            "patient_id": late.id,
            "clinic_id": w.clinic.id,
            "kind": "dose",
            "earliest_on": (day + timedelta(days=1)).isoformat(),
            "latest_on": (day + timedelta(days=5)).isoformat(),
        },
    )
    s = _book(api, w, day)
    link = _deliver_first(api, s["id"], loop["box"])
    assert api.get(f"/api/v1/waitlist/offers?clinic_id={w.clinic.id}").json["offers"] == []
    done = loop["client"].post(link, data={"action": "cancel", "reason": "car broke down"})
    assert done.status_code == 200 and "You cancelled" in done.text
    cancelled = api.get(f"/api/v1/sessions/{s['id']}").json
    assert cancelled["status"] == "cancelled" and cancelled["cancel_reason"] == "patient link: car broke down"
    kinds = [(m["kind"], m["status"]) for m in api.get(f"/api/v1/messages?session_id={s['id']}").json["messages"]]
    assert ("cancellation", "pending") in kinds and ("reminder", "withdrawn") in kinds
    offers = api.get(f"/api/v1/waitlist/offers?clinic_id={w.clinic.id}").json["offers"]
    assert [o["entry_id"] for o in offers] == [entry.json["id"]]  # not the entry for other dates
    assert offers[0]["starts_at"] == s["starts_at"] and offers[0]["room_id"] == w.room.id
    accepted = api.post(f"/api/v1/waitlist/offers/{offers[0]['id']}/accept")
    assert accepted.status_code == 201, accepted.json
    assert accepted.json["session"]["patient_id"] == loop["other"]
    assert accepted.json["session"]["starts_at"] == s["starts_at"]
    again = api.post(f"/api/v1/waitlist/offers/{offers[0]['id']}/accept")
    assert again.status_code == 409 and again.json["error"]["code"] == "slot_taken"
    listed = api.get(f"/api/v1/waitlist?clinic_id={w.clinic.id}&status=booked").json["entries"]
    assert [e["id"] for e in listed] == [entry.json["id"]]


def test_an_offer_the_waitlisted_session_no_longer_fits_is_gone_not_a_crash(api, loop):
    w, day = loop["w"], _day(10)
    entry = api.post(
        "/api/v1/waitlist",
        json={
            "patient_id": loop["other"],
            "clinic_id": w.clinic.id,
            "kind": "dose",
            "protocol": "ketamine-iv",
            "earliest_on": day.isoformat(),
            "latest_on": day.isoformat(),
        },
    )
    assert entry.status_code == 201, entry.json
    s = _book(api, w, day)
    api.post(f"/api/v1/sessions/{s['id']}/cancel", json={"version": s["version"], "reason": "unwell"})
    [offer] = api.get(f"/api/v1/waitlist/offers?clinic_id={w.clinic.id}").json["offers"]
    row = db_session.get_one(WaitlistOffer, offer["id"])
    row.ends_at = row.starts_at + timedelta(minutes=60)  # shorter than the protocol's 120-minute dose
    db_session.commit()
    taken = api.post(f"/api/v1/waitlist/offers/{offer['id']}/accept")
    assert taken.status_code == 409 and taken.json["error"]["code"] == "slot_taken", taken.json
    assert "no longer fits" in taken.json["error"]["message"]


def test_a_patient_the_rules_forbid_is_not_offered_the_slot(api, loop):
    w, day = loop["w"], _day(10)
    api.post(
        "/api/v1/waitlist",
        json={
            "patient_id": loop["other"],
            "clinic_id": w.clinic.id,
            "kind": "dose",
            "earliest_on": day.isoformat(),
            "latest_on": day.isoformat(),
        },
    )
    hold = api.as_("clinician").post(f"/api/v1/patients/{loop['other']}/dosing_hold", json={"reason": "mania"})
    assert hold.status_code == 200, hold.json
    s = _book(api, w, day)
    api.post(f"/api/v1/sessions/{s['id']}/cancel", json={"version": s["version"], "reason": "unwell"})
    assert api.get(f"/api/v1/waitlist/offers?clinic_id={w.clinic.id}").json["offers"] == []


def test_auto_offer_messages_the_first_waiting_patient_who_accepts_by_link(api, app, loop):
    w, day = loop["w"], _day(10)
    assert api.patch(f"/api/v1/clinics/{w.clinic.id}", json={"waitlist_auto_offer": 1}).json["waitlist_auto_offer"] == 1
    api.post(
        "/api/v1/waitlist",
        json={
            "patient_id": loop["other"],
            "clinic_id": w.clinic.id,
            "kind": "dose",
            "earliest_on": day.isoformat(),
            "latest_on": day.isoformat(),
        },
    )
    s = _book(api, w, day)
    api.post(f"/api/v1/sessions/{s['id']}/cancel", json={"version": s["version"], "reason": "unwell"})
    offer_messages = [
        m for m in api.get("/api/v1/messages?status=pending").json["messages"] if m["kind"] == "waitlist_offer"
    ]
    assert [m["to"] for m in offer_messages] == ["ana@example.test"]
    delivery.run_once(now=datetime.now(UTC) + timedelta(seconds=5))
    [mail] = [m for m in loop["box"].messages if m["To"] == "ana@example.test"]
    assert mail["Subject"].startswith("An earlier time is free")
    link = LINK.search(mail.get_body(("plain",)).get_content()).group(1)
    page = loop["client"].get(link)
    assert page.status_code == 200 and "Hello Ana" in page.text and "Accept this time" in page.text
    done = loop["client"].post(link, data={"action": "accept"})
    assert done.status_code == 200 and "it is booked for you" in done.text
    booked = api.get(f"/api/v1/sessions?clinic_id={w.clinic.id}&start={day}&end={day}&status=booked").json
    assert [x["patient_id"] for x in booked["sessions"]] == [loop["other"]]
    assert db_session.scalars(select(PatientLink).where(PatientLink.outcome == "accepted")).one()


def test_waitlist_and_outbox_refuse_bad_input(api, loop):
    w = loop["w"]
    bad = api.post(
        "/api/v1/waitlist",
        json={
            "patient_id": loop["other"],
            "clinic_id": w.clinic.id,
            "kind": "dose",
            "earliest_on": "2026-12-10",
            "latest_on": "2026-12-01",
        },
    )
    assert bad.status_code == 422 and bad.json["error"]["field"] == "latest_on"
    weekdays = api.post(
        "/api/v1/waitlist",
        json={
            "patient_id": loop["other"],
            "clinic_id": w.clinic.id,
            "kind": "dose",
            "earliest_on": "2026-12-10",
            "latest_on": "2026-12-11",
            "preferences": {"weekdays": ["xyz"]},
        },
    )
    assert weekdays.status_code == 400 and weekdays.json["error"]["field"] == "preferences.weekdays"
    assert api.get("/api/v1/messages?status=lost").json["error"]["field"] == "status"
    assert api.get(f"/api/v1/waitlist?clinic_id={w.clinic.id}&status=nope").status_code == 400
    assert api.as_("front_desk").get("/api/v1/messages").status_code == 403
    hours = api.patch(f"/api/v1/clinics/{w.clinic.id}", json={"reminder_hours": {"dose": [0]}})
    assert hours.status_code == 400 and hours.json["error"]["field"] == "reminder_hours.dose"


def test_a_clinic_reminder_schedule_and_a_patient_opt_out(api, loop):
    w = loop["w"]
    api.patch(f"/api/v1/clinics/{w.clinic.id}", json={"reminder_hours": {"dose": [48]}})
    s = _book(api, w, _day(10))
    pending = api.get(f"/api/v1/messages?session_id={s['id']}").json["messages"]
    assert [datetime.fromisoformat(s["starts_at"]) - datetime.fromisoformat(m["due_at"]) for m in pending] == [
        timedelta(hours=48)
    ]
    out = api.patch(f"/api/v1/patients/{w.patient.id}", json={"contact_preference": "none"}).json
    assert out["contact_preference"] == "none" and out["contact_opted_out_at"]
    later = _book(api, w, _day(11))
    assert api.get(f"/api/v1/messages?session_id={later['id']}").json["messages"] == []


def _within_a_day() -> datetime:
    """The first whole hour at least an hour from now when the world's clinic (08:00-18:00) can take a
    two-hour dose: always less than 24 hours ahead."""
    t = (datetime.now(NY) + timedelta(hours=1)).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    while not 8 <= t.hour <= 16:
        t += timedelta(hours=1)
    return t


def test_an_unconfirmed_dose_is_flagged_on_the_board_and_worklist_until_the_patient_confirms(api, loop):
    w = loop["w"]
    start = _within_a_day()
    s = _book(api, w, start.date(), start.time())
    kinds = [m["kind"] for m in api.get(f"/api/v1/messages?session_id={s['id']}").json["messages"]]
    assert kinds == ["booking_confirmation"]  # booked inside the reminder times: confirmed at once
    day = start.date().isoformat()
    flags = api.get(f"/api/v1/flags?clinic_id={w.clinic.id}&start={day}&end={day}&code=unconfirmed").json["flags"]
    assert [(f["code"], f["severity"], f["session_ids"]) for f in flags] == [("unconfirmed", "warning", [s["id"]])]
    board = api.get(f"/api/v1/clinics/{w.clinic.id}/day?date={day}").json
    [on_board] = [x for room in board["rooms"] for x in room["sessions"] if x["id"] == s["id"]]
    assert "unconfirmed" in {f["code"] for f in on_board["flags"]}
    link = _deliver_first(api, s["id"], loop["box"])
    loop["client"].post(link, data={"action": "confirm", "ride_home_by": "Sam"})
    after = api.get(f"/api/v1/flags?clinic_id={w.clinic.id}&start={day}&end={day}&code=unconfirmed").json["flags"]
    assert after == []
