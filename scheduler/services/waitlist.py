"""The waitlist: patients waiting for a kind of session, and the freed slots offered to them.

A slot freed by a cancellation, a move or an early no-show (services.outbox notices it in the same
transaction) is offered to every waiting patient for whom it is valid: the right kind at that clinic,
inside the entry's dates and preferences, and no error flag under the rule book for that patient
(spacing, windows, hold, room, clinician…). The offers land on the front desk's worklist; when the
clinic sets ``waitlist_auto_offer`` to N, the first N (by time on the list) are also messaged at once.
The first to accept is booked through the booking service, whose double-booking guard (the exclusion
constraint on PostgreSQL, the serialised write on SQLite) lets exactly one through; the other offers
of that slot become ``gone``.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

from sqlalchemy import select, update

from scheduler.db import db_session
from scheduler.domain import values as v
from scheduler.domain.planning.results import Slot
from scheduler.domain.timezones import zone
from scheduler.domain.vocabulary import WEEKDAYS
from scheduler.errors import Conflict, UnprocessableError
from scheduler.models import Clinic, Course, Patient, TreatmentSession, WaitlistEntry, WaitlistOffer, utcnow
from scheduler.services import audit
from scheduler.services.windows import overlapping

OPEN_COURSE = ("planned", "active", "maintenance")
MAX_CANDIDATES = 50
SLOT_STEP = timedelta(minutes=5)


def add(
    actor_id: int | None,
    *,
    patient: Patient,
    clinic: Clinic,
    kind: str,
    protocol: str | None,
    earliest_on: date,
    latest_on: date,
    preferences: dict,
) -> WaitlistEntry:
    if latest_on < earliest_on:
        raise UnprocessableError("latest_on is before earliest_on.", field="latest_on")
    entry = WaitlistEntry(
        patient_id=patient.id,
        clinic_id=clinic.id,
        kind=kind,
        protocol=protocol,
        earliest_on=earliest_on,
        latest_on=latest_on,
        preferences=preferences,
        created_by_id=actor_id,
    )
    db_session.add(entry)
    audit.record(actor_id, "waitlist.add", entry)
    return entry


def remove(actor_id: int | None, entry: WaitlistEntry, reason: str | None) -> WaitlistEntry:
    if entry.status != "waiting":
        raise Conflict(
            f"Waitlist entry {entry.id} is {entry.status}; only a waiting entry can be removed.",
            code="invalid_transition",
            field="status",
        )
    before = audit.snapshot(entry)
    entry.status, entry.removed_at = "removed", utcnow()
    _close_offers(entry.id)
    audit.record(actor_id, "waitlist.remove", entry, before=before, reason=reason)
    return entry


def entries(clinic_id: int, status: str | None = "waiting") -> list[WaitlistEntry]:
    query = select(WaitlistEntry).where(WaitlistEntry.clinic_id == clinic_id)
    if status is not None:
        query = query.where(WaitlistEntry.status == status)
    return list(db_session.scalars(query.order_by(WaitlistEntry.created_at, WaitlistEntry.id)))


def offers(clinic_id: int, status: str | None = "open") -> list[WaitlistOffer]:
    query = select(WaitlistOffer).where(WaitlistOffer.clinic_id == clinic_id)
    if status is not None:
        query = query.where(WaitlistOffer.status == status)
    return list(db_session.scalars(query.order_by(WaitlistOffer.starts_at, WaitlistOffer.id)))


def patients_of_offers(found: list[WaitlistOffer]) -> list[int]:
    """The waitlisted patients these offers are made to (in the offers' order)."""
    entry_ids = [o.entry_id for o in found]
    if not entry_ids:
        return []
    owner = dict(
        db_session.execute(
            select(WaitlistEntry.id, WaitlistEntry.patient_id).where(WaitlistEntry.id.in_(entry_ids))
        ).all()
    )
    return [owner[i] for i in entry_ids]


def _open_course(patient_id: int, protocol: str | None) -> Course | None:
    if protocol is None:
        return None
    return db_session.scalar(
        select(Course)
        .where(Course.patient_id == patient_id, Course.protocol_key == protocol, Course.status.in_(OPEN_COURSE))
        .order_by(Course.id.desc())
    )


def _fits_preferences(start: datetime, end: datetime, tz: str, prefs: dict) -> bool:
    local_start, local_end = start.astimezone(zone(tz)), end.astimezone(zone(tz))
    weekdays = prefs.get("weekdays")
    if weekdays and WEEKDAYS[local_start.weekday()] not in weekdays:
        return False
    if prefs.get("earliest") and local_start.strftime("%H:%M") < prefs["earliest"]:
        return False
    return not (prefs.get("latest") and local_end.strftime("%H:%M") > prefs["latest"])


def candidate_for(entry: WaitlistEntry, slot: v.Session) -> v.Session | None:
    """The session ``entry``'s patient would get in the freed ``slot`` (its start, room, clinician),
    or None when the entry's session does not fit in it."""
    from scheduler.protocols_registry import protocols

    course = _open_course(entry.patient_id, entry.protocol)
    protocol = protocols().get(entry.protocol) if entry.protocol else None
    phase = None
    if entry.kind == "dose":
        phase = "maintenance" if course is not None and course.status == "maintenance" else "induction"
    spec = protocol.spec_for(entry.kind, phase) if protocol is not None else None
    length = spec.duration if spec is not None else slot.ends_at - slot.starts_at
    if slot.starts_at + length > slot.ends_at:
        return None
    route = protocol.dose.route if protocol is not None and entry.kind == "dose" else None
    return replace(
        slot,
        patient_id=entry.patient_id,
        ends_at=slot.starts_at + length,
        kind=entry.kind,
        course_id=course.id if course is not None else None,
        phase=phase,
        route=route,
        sequence=None,
    )


def valid_for(entry: WaitlistEntry, slot: v.Session, tz: str) -> v.Session | None:
    """The candidate session when the slot is valid for the entry under the rule book, else None."""
    from scheduler.services import flags as flag_service

    local_day = slot.starts_at.astimezone(zone(tz)).date()
    if not entry.earliest_on <= local_day <= entry.latest_on:
        return None
    candidate = candidate_for(entry, slot)
    if candidate is None or not _fits_preferences(candidate.starts_at, candidate.ends_at, tz, entry.preferences):
        return None
    # the rule book's write gate: offered only when booking it would introduce no error flag
    return None if flag_service.check_changes([candidate]).introduced else candidate


def slot_freed(freed: TreatmentSession, before, now: datetime) -> list[WaitlistOffer]:
    """Offer the slot ``freed`` held (``before``: its room, clinician and times then) to the waiting
    patients it is valid for; message the first ``waitlist_auto_offer`` of them."""
    from scheduler.services import outbox

    start = before.starts_at
    if start < now:  # the rest of a slot whose session was missed
        start = now + (SLOT_STEP - (now - now.replace(minute=0, second=0, microsecond=0)) % SLOT_STEP)
    if start >= before.ends_at:
        return []
    clinic = db_session.get_one(Clinic, freed.clinic_id)
    slot = Slot(start, before.ends_at, before.room_id, before.staff_member_id).as_session(
        patient_id=freed.patient_id, kind=freed.kind, clinic_id=freed.clinic_id
    )
    waiting = db_session.scalars(
        select(WaitlistEntry)
        .where(
            WaitlistEntry.clinic_id == freed.clinic_id,
            WaitlistEntry.status == "waiting",
            WaitlistEntry.kind == freed.kind,
            WaitlistEntry.patient_id != freed.patient_id,
        )
        .order_by(WaitlistEntry.created_at, WaitlistEntry.id)
        .limit(MAX_CANDIDATES)
    ).all()
    made = []
    for entry in waiting:
        candidate = valid_for(entry, slot, clinic.timezone)
        if candidate is None:
            continue
        offer = WaitlistOffer(
            entry_id=entry.id,
            clinic_id=clinic.id,
            room_id=candidate.room_id,
            staff_member_id=candidate.staff_member_id,
            starts_at=candidate.starts_at,
            ends_at=candidate.ends_at,
            freed_session_id=freed.id,
        )
        db_session.add(offer)
        made.append((entry, offer))
    if made:
        db_session.flush()
    for entry, offer in made[: clinic.waitlist_auto_offer]:
        outbox.enqueue(
            None,
            "waitlist_offer",
            now,
            patient=db_session.get(Patient, entry.patient_id),
            offer_id=offer.id,
            clinic=clinic,
        )
    return [offer for _, offer in made]


def withdraw_offers(freed_session_id: int) -> None:
    """The open offers of a slot that is taken again (its session reinstated) are gone, and their
    pending offer messages withdrawn."""
    from scheduler.models import Message

    ids = list(
        db_session.scalars(
            select(WaitlistOffer.id).where(
                WaitlistOffer.freed_session_id == freed_session_id, WaitlistOffer.status == "open"
            )
        )
    )
    if not ids:
        return
    db_session.execute(
        update(WaitlistOffer).where(WaitlistOffer.id.in_(ids)).values(status="gone", decided_at=utcnow())
    )
    db_session.execute(
        update(Message).where(Message.offer_id.in_(ids), Message.status == "pending").values(status="withdrawn")
    )


def _close_offers(entry_id: int) -> None:
    db_session.execute(
        update(WaitlistOffer)
        .where(WaitlistOffer.entry_id == entry_id, WaitlistOffer.status == "open")
        .values(status="gone", decided_at=utcnow())
    )


def _gone(offer: WaitlistOffer) -> Conflict:
    return Conflict(
        f"Sorry, the slot of offer {offer.id} is gone: another patient took it or it has passed.",
        code="slot_taken",
        field="offer_id",
    )


def accept(actor_id: int | None, offer: WaitlistOffer, *, now: datetime | None = None) -> tuple[TreatmentSession, list]:
    """Book the offered slot for the offer's patient (rule-checked, double booking impossible); the
    other open offers of the slot become ``gone``. A taken or passed slot is 409 ``slot_taken``."""
    from scheduler.services import booking, sessions

    now = now or utcnow()
    if offer.status != "open" or offer.starts_at <= now:
        raise _gone(offer)
    entry = db_session.get_one(WaitlistEntry, offer.entry_id)
    slot = Slot(offer.starts_at, offer.ends_at, offer.room_id, offer.staff_member_id).as_session(
        patient_id=entry.patient_id, kind=entry.kind, clinic_id=offer.clinic_id
    )
    candidate = candidate_for(entry, slot)
    if candidate is None:  # the entry's session is now longer than the offered slot (its course moved on)
        raise Conflict(
            f"Sorry, the slot of offer {offer.id} no longer fits the waitlisted session.",
            code="slot_taken",
            field="offer_id",
        )
    req = booking.SessionRequest(
        clinic_id=offer.clinic_id,
        patient_id=entry.patient_id,
        room_id=offer.room_id,
        kind=entry.kind,
        starts_at=offer.starts_at,
        ends_at=offer.ends_at,
        staff_member_id=offer.staff_member_id,
        course_id=candidate.course_id,
        phase=candidate.phase,
        route=candidate.route,
    )
    try:
        session, found = sessions.book(actor_id, req)
    except Conflict as exc:
        if exc.code in ("room_double_booked", "concurrent_write", "double_booked"):
            raise _gone(offer) from exc
        raise
    before = audit.snapshot(offer)
    offer.status, offer.decided_at, offer.session_id = "accepted", now, session.id
    entry.status, entry.session_id = "booked", session.id
    db_session.execute(
        update(WaitlistOffer)
        .where(
            WaitlistOffer.status == "open",
            WaitlistOffer.id != offer.id,
            WaitlistOffer.room_id == offer.room_id,
            overlapping(WaitlistOffer.starts_at, WaitlistOffer.ends_at, offer.starts_at, offer.ends_at, longest=None),
        )
        .values(status="gone", decided_at=now)
    )
    _close_offers(entry.id)
    audit.record(actor_id, "waitlist.accept", offer, before=before)
    return session, found
