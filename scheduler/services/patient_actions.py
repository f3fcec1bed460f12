"""What a patient does through a message's link, without signing in: confirm a session (and say who
drives them home), cancel it with a reason, ask to reschedule it, or accept a waitlist offer.

A link acts once: after its first action it shows what was done. It never shows more than the
patient's first name and the session's time, place and instructions (no MRN, birth date, contact
details or anything clinical). Each action is audited with the reason "patient link".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from scheduler.db import db_session
from scheduler.errors import Conflict, NotFound, ValidationError
from scheduler.models import Clinic, Patient, PatientLink, Room, TreatmentSession, WaitlistEntry, WaitlistOffer, utcnow
from scheduler.services import audit, patient_links
from scheduler.services.delivery import first_name as _first_name
from scheduler.services.delivery import when as _when

VIA = "patient link"
OUTCOMES = {
    "confirmed": "You confirmed this appointment. Thank you — see you then.",
    "cancelled": "You cancelled this appointment. The clinic has been told.",
    "reschedule_requested": "You asked to reschedule. The clinic will call you to find a new time.",
    "accepted": "You accepted this time: it is booked for you.",
    "gone": "Sorry — this time has already been taken by someone else.",
}


@dataclass(frozen=True)
class LinkView:
    """Everything the public page may show."""

    purpose: str  # "session" or "offer"
    first_name: str
    clinic: str
    room: str
    when: str
    minutes: int
    instructions: list[str] = field(default_factory=list)
    ride_home_required: bool = False
    outcome: str | None = None
    expired: bool = False
    status_note: str | None = None

    @property
    def done(self) -> str | None:
        return OUTCOMES.get(self.outcome) if self.outcome else None


def _protocol(s: TreatmentSession):
    from scheduler.models import Course
    from scheduler.protocols_registry import protocols

    course = db_session.get(Course, s.course_id) if s.course_id else None
    return protocols().get(course.protocol_key) if course is not None else None


def _session_of(link: PatientLink) -> TreatmentSession:
    """The session a link that is not for an offer names (delivery makes every link for one or the other)."""
    if link.session_id is None:
        raise NotFound("This link is not valid. Please call the clinic.")
    return db_session.get_one(TreatmentSession, link.session_id)


def view(link: PatientLink, now: datetime | None = None) -> LinkView:
    from scheduler.services.delivery import instructions_for

    now = now or utcnow()
    if link.offer_id is not None:
        offer = db_session.get_one(WaitlistOffer, link.offer_id)
        entry = db_session.get_one(WaitlistEntry, offer.entry_id)
        patient = db_session.get_one(Patient, entry.patient_id)
        clinic, room = db_session.get_one(Clinic, offer.clinic_id), db_session.get_one(Room, offer.room_id)
        note = None if offer.status == "open" or link.outcome else "This time is no longer available."
        return LinkView(
            "offer",
            _first_name(patient.name),
            clinic.name,
            room.name,
            _when(offer.starts_at, clinic.timezone),
            int((offer.ends_at - offer.starts_at).total_seconds() // 60),
            outcome=link.outcome,
            expired=patient_links.expired(link, now),
            status_note=note,
        )
    s = _session_of(link)
    patient = db_session.get_one(Patient, s.patient_id)
    clinic, room = db_session.get_one(Clinic, s.clinic_id), db_session.get_one(Room, s.room_id)
    note = None
    if s.status == "cancelled" and link.outcome != "cancelled":
        note = "This appointment has been cancelled. Please call the clinic."
    return LinkView(
        "session",
        _first_name(patient.name),
        clinic.name,
        room.name,
        _when(s.starts_at, clinic.timezone),
        int((s.ends_at - s.starts_at).total_seconds() // 60),
        instructions=instructions_for(s),
        ride_home_required=s.kind == "dose" and _ride_home(s),
        outcome=link.outcome,
        expired=patient_links.expired(link, now),
        status_note=note,
    )


def _ride_home(s: TreatmentSession) -> bool:
    protocol = _protocol(s)
    if protocol is None:
        return True  # a dose without a protocol: ask, to be safe
    spec = protocol.spec_for("dose", s.phase)
    return bool(spec is not None and getattr(spec, "ride_home_required", False))


def _usable(link: PatientLink, now: datetime) -> None:
    if link.used_at is not None:
        raise Conflict("This link has already been used.", code="link_used")
    if patient_links.expired(link, now):
        raise Conflict("This link has expired.", code="link_expired")


def act(link: PatientLink, action: str, form: dict[str, str], now: datetime | None = None) -> str:
    """Carry out ``action`` once; answer the outcome."""
    now = now or utcnow()
    _usable(link, now)
    if link.offer_id is not None:
        if action != "accept":
            raise ValidationError("This link accepts an offered time.", field="action")
        return _accept(link, link.offer_id, now)
    s = _session_of(link)
    if s.status != "booked":
        raise Conflict(
            "This appointment can no longer be changed here. Please call the clinic.", code="invalid_transition"
        )
    if action == "confirm":
        return _confirm(link, s, form, now)
    if action == "cancel":
        return _cancel(link, s, form, now)
    if action == "reschedule":
        before = audit.snapshot(s)
        s.reschedule_requested_at = now
        outcome = "reschedule_requested"
        note = (form.get("note") or "").strip()[:300]
        audit.record(None, "session.reschedule_request", s, before=before, reason=f"{VIA}: {note}" if note else VIA)
    else:
        raise ValidationError("Choose confirm, cancel or reschedule.", field="action")
    patient_links.mark_used(link, outcome, now)
    return outcome


def _confirm(link: PatientLink, s: TreatmentSession, form: dict[str, str], now: datetime) -> str:
    driver = (form.get("ride_home_by") or "").strip()
    if s.kind == "dose" and _ride_home(s) and not driver:
        raise ValidationError("Please tell us who will drive you home.", field="ride_home_by")
    if len(driver) > 200:
        raise ValidationError("Please keep the name under 200 characters.", field="ride_home_by")
    before = audit.snapshot(s)
    s.confirmed_at = now
    s.ride_home_by = driver or None
    audit.record(None, "session.confirm", s, before=before, reason=VIA)
    patient_links.mark_used(link, "confirmed", now)
    return "confirmed"


def _cancel(link: PatientLink, s: TreatmentSession, form: dict[str, str], now: datetime) -> str:
    from scheduler.services import sessions

    reason = (form.get("reason") or "").strip()
    if not reason:
        raise ValidationError("Please give a reason, so the clinic can help.", field="reason")
    sessions.cancel(None, s, version=s.version, reason=f"{VIA}: {reason[:400]}")
    patient_links.mark_used(link, "cancelled", now)
    return "cancelled"


def _accept(link: PatientLink, offer_id: int, now: datetime) -> str:
    from scheduler.services import waitlist

    offer = db_session.get_one(WaitlistOffer, offer_id)
    try:
        waitlist.accept(None, offer, now=now)
    except Conflict as exc:
        if exc.code != "slot_taken":
            raise
        patient_links.mark_used(link, "gone", now)
        return "gone"
    patient_links.mark_used(link, "accepted", now)
    return "accepted"
