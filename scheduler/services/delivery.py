"""Delivering the outbox (``scheduler worker``).

Each round claims the due messages in a short transaction: on PostgreSQL ``SELECT … FOR UPDATE SKIP
LOCKED`` so several workers never claim the same row; on SQLite the claim is a ``BEGIN IMMEDIATE``
write transaction, so workers claim one at a time. A claim is a lease (``claimed_until``): the worker
sends outside any transaction, then records the outcome; a worker that dies mid-round leaves its
rows to be claimed again when the lease runs out. A failed send is retried with backoff and becomes
``failed`` after ``MESSAGE_MAX_ATTEMPTS``.

Before sending, a message is checked against the world as it is now: a reminder whose session is no
longer booked, an offer that is no longer open, or a patient who opted out is withdrawn instead.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app, render_template
from sqlalchemy import or_, select, update

from scheduler.db import db_session, transaction
from scheduler.domain import messaging
from scheduler.domain.timezones import zone
from scheduler.models import Clinic, Message, Patient, Room, TreatmentSession, WaitlistOffer, utcnow
from scheduler.services import outbox, patient_links
from scheduler.services.channels import Channel, DeliveryError, Outgoing, from_config

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
SESSION_KIND_WORDS = {
    "evaluation": "evaluation appointment",
    "preparation": "preparation session",
    "dose": "treatment",
    "integration": "integration therapy session",
    "follow_up": "follow-up visit",
}
SUBJECTS = {
    "reminder": "Reminder: your {what} on {when}",
    "booking_confirmation": "Booked: your {what} on {when}",
    "cancellation": "Cancelled: your {what} on {when}",
    "waitlist_offer": "An earlier time is free: {when}",
}


@dataclass
class RoundResult:
    sent: int = 0
    failed: int = 0
    retried: int = 0
    withdrawn: int = 0
    ids: list[int] = field(default_factory=list)  # every message claimed this round


def claim(now: datetime, limit: int = 50) -> list[int]:
    """Lease up to ``limit`` due messages to this worker (their ids)."""
    with transaction():
        query = (
            select(Message.id)
            .where(
                Message.status == "pending",
                Message.due_at <= now,
                or_(Message.claimed_until.is_(None), Message.claimed_until < now),
            )
            .order_by(Message.due_at, Message.id)
            .limit(limit)
        )
        if db_session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        ids = list(db_session.scalars(query))
        if ids:
            db_session.execute(update(Message).where(Message.id.in_(ids)).values(claimed_until=now + LEASE))
    return ids


@dataclass(frozen=True)
class Prepared:
    message_id: int
    channel: str
    outgoing: Outgoing


def first_name(name: str) -> str:
    """The first name a message or the public page greets (Ana, for "Ruiz, Ana" or "Ana Ruiz")."""
    if "," in name:  # "Ruiz, Ana"
        name = name.split(",", 1)[1]
    return (name.split() or ["there"])[0]


def when(instant: datetime, tz: str) -> str:
    """The instant in the clinic's zone, as a patient reads it: Tuesday 1 December 2026 at 08:00 (EST)."""
    local = instant.astimezone(zone(tz))
    return f"{local:%A %-d %B %Y} at {local:%H:%M} ({local.tzname()})"


def _still_wanted(
    message: Message, patient: Patient, s: TreatmentSession | None, offer: WaitlistOffer | None, now: datetime
) -> bool:
    if outbox.address(patient) is None:
        return False
    if message.kind in ("reminder", "booking_confirmation"):
        return s is not None and s.status == "booked" and s.starts_at > now
    if message.kind == "waitlist_offer":
        return offer is not None and offer.status == "open" and offer.starts_at > now
    return True


def instructions_for(s: TreatmentSession) -> list[str]:
    """The lines a reminder for ``s`` carries (its protocol's instructions, generic ones without)."""
    from scheduler.models import Course
    from scheduler.protocols_registry import protocols

    course = db_session.get(Course, s.course_id) if s.course_id else None
    protocol = protocols().get(course.protocol_key) if course is not None else None
    dose = protocol.spec_for("dose", s.phase) if protocol is not None and s.kind == "dose" else None
    return messaging.instructions(s.kind, protocol.instructions if protocol else None, dose)


def _invitation(s: TreatmentSession, clinic: Clinic, room: Room, cancelled: bool, now: datetime) -> bytes:
    from icalendar import Calendar, Event

    from scheduler import ical

    cal = Calendar()
    cal.add("prodid", ical.PRODID)
    cal.add("version", "2.0")
    cal.add("method", "CANCEL" if cancelled else "PUBLISH")
    cal.add_component(
        ical.vtimezone(
            clinic.timezone, s.starts_at.date().replace(month=1, day=1), s.ends_at.date().replace(month=12, day=31)
        )
    )
    ev = Event()
    ev.add("uid", ical.uid(s, current_app.config.get("ICAL_UID_DOMAIN", "scheduler.invalid")))
    ev.add("sequence", s.version)
    ev.add("dtstamp", now)
    ev.add("dtstart", s.starts_at.astimezone(zone(clinic.timezone)))
    ev.add("dtend", s.ends_at.astimezone(zone(clinic.timezone)))
    ev.add("summary", f"Appointment at {clinic.name}")
    ev.add("location", f"{room.name}, {clinic.name}")
    ev.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    cal.add_component(ev)
    return cal.to_ical()


def prepare(message_id: int, now: datetime) -> Prepared | None:
    """Render a claimed message (with a new link in it), or withdraw it when it is no longer wanted.
    Runs in the caller's transaction."""
    message = db_session.get(Message, message_id)
    if message is None or message.status != "pending":
        return None
    patient = db_session.get_one(Patient, message.patient_id)
    offer = db_session.get(WaitlistOffer, message.offer_id) if message.offer_id else None
    s = db_session.get(TreatmentSession, message.session_id) if message.session_id else None
    if not _still_wanted(message, patient, s, offer, now):
        message.status = "withdrawn"
        return None
    if offer is not None:
        clinic, room = db_session.get_one(Clinic, offer.clinic_id), db_session.get_one(Room, offer.room_id)
        starts_at, ends_at, session_kind = offer.starts_at, offer.ends_at, None
        lines: list[str] = []
        _, token = patient_links.create(expires_at=offer.starts_at, message_id=message.id, offer_id=offer.id)
    elif s is not None:
        clinic, room = db_session.get_one(Clinic, s.clinic_id), db_session.get_one(Room, s.room_id)
        starts_at, ends_at, session_kind = s.starts_at, s.ends_at, s.kind
        lines = instructions_for(s) if message.kind != "cancellation" else []
        token = None
        if message.kind != "cancellation":
            _, token = patient_links.create(expires_at=s.ends_at, message_id=message.id, session_id=s.id)
    else:  # outbox.enqueue makes every message about a session or an offer
        raise ValueError(f"Message {message.id} is about neither a session nor a waitlist offer.")
    values = {
        "kind": message.kind,
        "first_name": first_name(patient.name),
        "clinic": clinic.name,
        "room": room.name,
        "when": when(starts_at, clinic.timezone),
        "what": SESSION_KIND_WORDS.get(session_kind or "", "appointment"),
        "instructions": lines,
        "minutes": int((ends_at - starts_at).total_seconds() // 60),
        "link": patient_links.url(token) if token else None,
    }
    subject = SUBJECTS[message.kind].format(**values)
    text = render_template(f"messages/{message.channel}.txt", subject=subject, **values)
    html = render_template("messages/email.html", subject=subject, **values) if message.channel == "email" else None
    ics = None
    if message.channel == "email" and s is not None:
        ics = _invitation(s, clinic, room, message.kind == "cancellation", now)
    return Prepared(
        message.id, message.channel, Outgoing(to=message.to, subject=subject, text=text, html=html, ics=ics)
    )


def _record(message_id: int, now: datetime, error: str | None, max_attempts: int, result: RoundResult) -> None:
    message = db_session.get_one(Message, message_id)
    message.attempts += 1
    message.claimed_until = None
    if error is None:
        message.status, message.sent_at, message.last_error = "sent", now, None
        result.sent += 1
    elif message.attempts >= max_attempts:
        message.status, message.last_error = "failed", error[:500]
        result.failed += 1
    else:
        message.due_at, message.last_error = now + messaging.backoff(message.attempts), error[:500]
        result.retried += 1


def run_once(
    *, now: datetime | None = None, limit: int = 50, channels: dict[str, Channel] | None = None
) -> RoundResult:
    """Send what is due now (one round); answer what happened."""
    now = now or utcnow()
    channels = channels if channels is not None else from_config(current_app.config)
    max_attempts = int(current_app.config.get("MESSAGE_MAX_ATTEMPTS", 5))
    result = RoundResult()
    for message_id in claim(now, limit):
        with transaction():
            prepared = prepare(message_id, now)
        result.ids.append(message_id)
        if prepared is None:
            result.withdrawn += 1
            continue
        channel = channels.get(prepared.channel)
        error = None
        if channel is None:
            error = f"no {prepared.channel} channel is configured"
        else:
            try:
                channel.send(prepared.outgoing)
            except DeliveryError as exc:
                error = str(exc)
                log.warning("message %s not delivered: %s", message_id, exc)
        with transaction():
            _record(message_id, now, error, max_attempts, result)
    return result
