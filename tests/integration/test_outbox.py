"""The transactional outbox on both databases: what each change writes, in the change's transaction,
and what the worker delivers through a real SMTP server and an HTTP SMS stand-in."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from scheduler.db import db_session
from scheduler.models import Message, Patient, PatientLink, TreatmentSession
from scheduler.services import delivery, sessions
from tests.support import builders
from tests.support.messaging import sms_server, smtp_server  # noqa: F401 - fixtures

NY = ZoneInfo("America/New_York")


def _messages(session_id=None):
    db_session.expire_all()
    query = select(Message).order_by(Message.due_at, Message.id)
    if session_id is not None:
        query = query.where(Message.session_id == session_id)
    return list(db_session.scalars(query))


def _ahead(days: int) -> date:
    return datetime.now(NY).date() + timedelta(days=days)


def _patient(**changes):
    p = db_session.scalars(select(Patient)).first()
    for key, value in changes.items():
        setattr(p, key, value)
    db_session.commit()
    return p


@pytest.fixture
def w(app):
    built = builders.small_clinic()
    _patient(email="pat@example.test", phone="+15550100", contact_preference="email")
    return built


def test_a_booking_writes_its_reminders_72_and_24_hours_before(w):
    s = w.book(_ahead(10))
    db_session.commit()
    found = _messages(s.id)
    assert [(m.kind, m.channel, m.to, m.status) for m in found] == [
        ("reminder", "email", "pat@example.test", "pending")
    ] * 2
    assert [s.starts_at - m.due_at for m in found] == [timedelta(hours=72), timedelta(hours=24)]


def test_a_late_booking_confirms_at_once_and_keeps_the_later_reminder(w):
    soon = datetime.now(UTC) + timedelta(hours=30)
    local = soon.astimezone(NY)
    start = time(min(max(local.hour, 8), 15))
    s = w.book(local.date(), start)
    db_session.commit()
    kinds = [m.kind for m in _messages(s.id)]
    ahead = (s.starts_at - datetime.now(UTC)) > timedelta(hours=24)
    assert kinds == (["booking_confirmation", "reminder"] if ahead else ["booking_confirmation"])


def test_nothing_is_written_for_a_booking_that_rolls_back(w):
    w.book(_ahead(10))
    db_session.rollback()
    assert _messages() == []
    assert db_session.scalars(select(TreatmentSession)).all() == []


def test_reschedule_replaces_pending_reminders_and_cancel_withdraws_them_with_a_notice(w):
    s = w.book(_ahead(10))
    db_session.commit()
    first = {m.id for m in _messages(s.id)}
    moved, _ = sessions.reschedule(
        None, s, version=s.version, starts_at=s.starts_at + timedelta(days=1), ends_at=s.ends_at + timedelta(days=1)
    )
    db_session.commit()
    after = _messages(s.id)
    assert {m.id for m in after if m.status == "withdrawn"} == first
    pending = [m for m in after if m.status == "pending"]
    assert [moved.starts_at - m.due_at for m in pending] == [timedelta(hours=72), timedelta(hours=24)]
    sessions.cancel(None, moved, version=moved.version, reason="patient unwell")
    db_session.commit()
    final = _messages(s.id)
    assert [m.kind for m in final if m.status == "pending"] == ["cancellation"]
    assert sum(m.status == "withdrawn" for m in final) == 4  # withdrawn ones stay listed


@pytest.mark.parametrize("preference, expected", [("none", []), ("sms", [("email", "pat@example.test")] * 2)])
def test_the_contact_preference_is_honoured(w, preference, expected):
    _patient(contact_preference=preference)
    s = w.book(_ahead(10))
    db_session.commit()
    assert [(m.channel, m.to) for m in _messages(s.id)] == expected


def test_sms_waits_for_the_end_of_quiet_hours_in_clinic_time(app, w):
    app.config["SMS_URL"] = "http://127.0.0.1:9/2010-04-01"
    _patient(contact_preference="sms")
    s = w.book(_ahead(10), time(8))  # 72 h and 24 h before 08:00 are 08:00: outside quiet hours
    late = w.book(_ahead(12), time(17, 30))  # 24 h before: 17:30, fine
    early = w.book(_ahead(14), time(8), minutes=30)
    db_session.commit()
    for m in _messages(s.id) + _messages(late.id):
        assert m.channel == "sms" and m.to == "+15550100"
        assert 8 <= m.due_at.astimezone(NY).hour < 21
    app.config["QUIET_HOURS"] = "07:00-09:00"
    other = w.book(_ahead(16), time(8))
    db_session.commit()
    assert {m.due_at.astimezone(NY).time() for m in _messages(other.id)} == {time(9)}
    assert early.id


def test_the_worker_sends_email_with_text_html_and_calendar_and_a_working_link(app, w, smtp_server):
    app.config.update(
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=smtp_server.port,
        MAIL_FROM="clinic@example.test",
        PUBLIC_URL="https://clinic.example.test",
    )
    s = w.book(_ahead(10))
    db_session.commit()
    first_due = _messages(s.id)[0].due_at
    result = delivery.run_once(now=first_due + timedelta(seconds=1))
    assert (result.sent, result.failed) == (1, 0)
    [mail] = smtp_server.messages
    assert mail["To"] == "pat@example.test" and mail["From"] == "clinic@example.test"
    assert mail["Subject"].startswith("Reminder: your treatment on ")
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert "Pat" in text and "MRN-100" not in text and "Example" not in text  # first name only
    assert "A ride home is required" not in text  # a one-off dose without a protocol: generic lines
    assert "https://clinic.example.test/p/" in text and "https://clinic.example.test/p/" in html
    [ics] = [part for part in mail.iter_attachments() if part.get_content_type() == "text/calendar"]
    body = ics.get_content()
    assert "BEGIN:VEVENT" in body and "TZID=America/New_York" in body and "MRN" not in body
    sent = _messages(s.id)[0]
    assert (sent.status, sent.attempts) == ("sent", 1) and sent.sent_at is not None
    assert (
        db_session.scalars(select(PatientLink).where(PatientLink.message_id == sent.id)).one().expires_at == s.ends_at
    )
    assert delivery.run_once(now=first_due + timedelta(seconds=2)).sent == 0  # nothing twice


def test_the_worker_sends_sms_through_the_provider_and_retries_then_fails(app, w, sms_server):
    app.config.update(
        SMS_URL=sms_server.url, SMS_ACCOUNT="AC123", SMS_TOKEN="secret", SMS_FROM="+15559999", MESSAGE_MAX_ATTEMPTS=2
    )
    _patient(contact_preference="sms")
    s = w.book(_ahead(10), time(10))
    db_session.commit()
    due = _messages(s.id)[0].due_at
    assert delivery.run_once(now=due).sent == 1
    [req] = sms_server.received
    assert req["path"] == "/2010-04-01/Accounts/AC123/Messages.json"
    assert (req["account"], req["token"]) == ("AC123", "secret")
    assert req["form"]["To"] == "+15550100" and req["form"]["From"] == "+15559999"
    assert "/p/" in req["form"]["Body"]
    app.config["SMS_URL"] = "http://127.0.0.1:9/2010-04-01"  # nothing listens: a refused connection
    second_due = _messages(s.id)[1].due_at
    first_try = delivery.run_once(now=second_due)
    assert (first_try.sent, first_try.retried) == (0, 1)
    retry_at = _messages(s.id)[1].due_at
    assert retry_at == second_due + timedelta(minutes=1)
    last = delivery.run_once(now=retry_at)
    assert last.failed == 1
    failed = _messages(s.id)[1]
    assert (failed.status, failed.attempts) == ("failed", 2) and "SMS provider" in failed.last_error


def test_a_reminder_for_a_session_no_longer_booked_is_withdrawn_not_sent(app, w, smtp_server):
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=smtp_server.port)
    s = w.book(_ahead(10))
    db_session.commit()
    due = _messages(s.id)[0].due_at
    _patient(contact_preference="none", contact_opted_out_at=datetime.now(UTC))
    assert delivery.run_once(now=due).withdrawn == 1
    assert smtp_server.messages == []


def _waiting(w, day):
    from scheduler.models import Clinic
    from scheduler.services import waitlist

    other = builders.patient(mrn="WL-9", name="Wai Ting")
    db_session.flush()
    waitlist.add(
        None,
        patient=other,
        clinic=db_session.get(Clinic, w.clinic.id),
        kind="dose",
        protocol=None,
        earliest_on=day,
        latest_on=day,
        preferences={},
    )
    db_session.commit()
    return other


def test_a_moved_session_offers_its_old_slot(w):
    from scheduler.models import WaitlistOffer

    day = _ahead(10)
    _waiting(w, day)
    s = w.book(day, time(9))
    db_session.commit()
    sessions.reschedule(
        None, s, version=s.version, starts_at=s.starts_at + timedelta(hours=4), ends_at=s.ends_at + timedelta(hours=4)
    )
    db_session.commit()
    [offer] = db_session.scalars(select(WaitlistOffer)).all()
    assert (offer.starts_at.astimezone(NY).time(), offer.ends_at.astimezone(NY).time()) == (time(9), time(11))
    assert offer.freed_session_id == s.id and offer.status == "open"


def test_a_no_show_reported_early_offers_the_rest_of_its_slot(w):
    from sqlalchemy.orm.attributes import set_committed_value

    from scheduler.models import WaitlistOffer
    from scheduler.services import outbox

    day = _ahead(10)
    _waiting(w, day)
    s = w.book(day, time(9))
    db_session.commit()
    before = outbox.Before("booked", s.starts_at, s.ends_at, s.room_id, s.staff_member_id)
    # the change itself is not under test, only its effect: write it without the ORM noticing
    db_session.execute(
        TreatmentSession.__table__.update().where(TreatmentSession.__table__.c.id == s.id).values(status="no_show")
    )
    set_committed_value(s, "status", "no_show")
    reported = s.starts_at + timedelta(minutes=7)  # at 09:07 the rest starts on the next 5 minutes
    outbox.session_changed(s, before, reported)
    db_session.commit()
    [offer] = db_session.scalars(select(WaitlistOffer)).all()
    assert (offer.starts_at.astimezone(NY).time(), offer.ends_at.astimezone(NY).time()) == (time(9, 10), time(11))


def test_a_reinstated_session_takes_its_slot_back_from_the_waitlist(w):
    from scheduler.models import WaitlistOffer

    day = _ahead(10)
    _waiting(w, day)
    s = w.book(day, time(9))
    db_session.commit()
    sessions.cancel(None, s, version=s.version, reason="patient unwell")
    db_session.commit()
    assert [o.status for o in db_session.scalars(select(WaitlistOffer))] == ["open"]
    sessions.reinstate(None, s, version=s.version)
    db_session.commit()
    db_session.expire_all()
    assert [o.status for o in db_session.scalars(select(WaitlistOffer))] == ["gone"]
    assert [m.kind for m in _messages(s.id) if m.status == "pending"] == ["reminder", "reminder"]


# ---------------------------------------------------------------- an API booking's reminders (booking._insert_audited)


def _request(w, day: date, start: time, *, kind: str = "dose", minutes: int = 120):
    from scheduler.services import booking

    starts = datetime.combine(day, start, tzinfo=NY)
    return booking.SessionRequest(
        clinic_id=w.clinic.id,
        patient_id=w.patient.id,
        room_id=w.room.id,
        staff_member_id=w.nurse.id,
        kind=kind,
        starts_at=starts,
        ends_at=starts + timedelta(minutes=minutes),
    )


def _rows(session_id: int) -> list[tuple]:
    """A session's outbox rows as the outbox writes them (a confirmation's due time is its booking's now)."""
    return [
        (
            m.kind,
            m.channel,
            m.to,
            m.patient_id,
            m.offer_id,
            m.status,
            m.attempts,
            m.due_at if m.kind == "reminder" else None,
        )
        for m in _messages(session_id)
    ]


def _booked_by_the_outbox(w, req) -> list[tuple]:
    """The rows the outbox's listener writes for the booking (the ORM path), the session then cancelled
    so that the slot is free again."""
    s = sessions.book(None, req, check_flags=False)[0]
    db_session.commit()
    rows = _rows(s.id)
    sessions.cancel(None, s, reason="Test", version=s.version)
    db_session.commit()
    return rows


def _late(hours: int) -> tuple[date, time]:
    local = (datetime.now(UTC) + timedelta(hours=hours)).astimezone(NY)
    return local.date(), time(min(max(local.hour, 8), 15))


@pytest.mark.parametrize(
    "case", ["email", "two_reminders", "one_kind_default", "late", "sms_quiet_hours", "sms_without_provider", "none"]
)
def test_an_api_booking_writes_the_outboxs_reminders_once_with_its_session(app, w, case):
    """A booking that is its transaction's only work (``alone``: an API booking) writes its messages in
    its own statements: exactly the rows the outbox's listener writes for an ORM booking (kinds, due
    times, channel, address, quiet hours), once."""
    day, start, kind = _ahead(10), time(9), "dose"
    if case == "one_kind_default":
        kind = "evaluation"
    if case == "late":
        day, start = _late(30)
    if case == "sms_quiet_hours":
        app.config.update(SMS_URL="http://127.0.0.1:9/2010-04-01", QUIET_HOURS="07:00-09:30")
        _patient(contact_preference="sms")
    if case == "sms_without_provider":
        _patient(contact_preference="sms")
    if case == "none":
        _patient(contact_preference="none")
    req = _request(w, day, start, kind=kind)
    expected = _booked_by_the_outbox(w, req)
    s = sessions.book(None, req, check_flags=False, alone=True)[0]
    db_session.commit()
    assert _rows(s.id) == expected
    if case == "none":
        assert expected == []
    else:
        assert expected and all(m.created_at is not None for m in _messages(s.id))
    if case == "sms_quiet_hours":
        assert {(m.channel, m.due_at.astimezone(NY).time()) for m in _messages(s.id)} == {("sms", time(9, 30))}
    if case == "late":
        assert expected[0][0] == "booking_confirmation"


def test_an_api_booking_changed_later_in_its_transaction_writes_the_messages_of_what_it_became(w):
    req = _request(w, _ahead(10), time(9))
    moved_req = _request(w, _ahead(12), time(11))
    expected = _booked_by_the_outbox(w, moved_req)
    s = sessions.book(None, req, check_flags=False, alone=True)[0]
    s.starts_at, s.ends_at = moved_req.starts_at, moved_req.ends_at
    db_session.commit()
    assert _rows(s.id) == expected and len(expected) == 2

    other = sessions.book(None, _request(w, _ahead(14), time(9)), check_flags=False, alone=True)[0]
    sessions.cancel(None, other, reason="Test", version=other.version)
    db_session.commit()
    assert _messages(other.id) == []  # as for an ORM booking cancelled in its transaction: nothing


def test_an_api_booking_refused_with_409_writes_no_message(app, w, monkeypatch):
    from scheduler.errors import Conflict
    from scheduler.services import booking

    first = sessions.book(None, _request(w, _ahead(10), time(9)), check_flags=False, alone=True)[0]
    db_session.commit()
    written = _rows(first.id)
    assert len(written) == 2
    clash = _request(w, _ahead(10), time(10))
    with pytest.raises(Conflict):  # the check refuses it before anything is written
        sessions.book(None, clash, check_flags=False, alone=True)
    db_session.rollback()
    if db_session.get_bind().dialect.name == "postgresql":
        # a racing booking the check let through: the exclusion constraint refuses the one statement
        monkeypatch.setattr(booking, "find_clashes", lambda **_: [])
        with pytest.raises(Conflict) as raised:
            sessions.book(None, clash, check_flags=False, alone=True)
        assert raised.value.code == "concurrent_write"
        db_session.rollback()
    assert [m.session_id for m in _messages()] == [first.id] * 2
    assert _rows(first.id) == written
