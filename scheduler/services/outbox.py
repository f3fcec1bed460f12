"""The transactional outbox: the messages a change to a treatment session causes are written in the
same transaction as the change, so a message is never lost and never sent for a change that rolled
back. ``scheduler worker`` (services.delivery) sends them later.

Every write path (a booking, a course, a reschedule, a cancel, a no-show, a reinstate, a re-plan, an
import, a FHIR ``$book``) changes ``TreatmentSession`` rows through the ORM session, so the outbox
listens there, once, instead of trusting each path to remember (the one exception, an API booking
written by Core statements, says so itself: ``booked``; it writes the rows of its booking,
``booking_values``, in its own statement, and they are written again only if the session changes
later in the transaction, in place of those): ``before_flush`` notes each touched
session with the state it had when the transaction first saw it, and ``before_commit`` turns the
net change into outbox rows (and freed slots into waitlist offers):

* booked (or reinstated, or a proposal booked) and still ahead → its reminders (a booking
  confirmation at once when a reminder's time has already passed);
* moved → pending messages withdrawn, new reminders; the old slot is freed;
* cancelled → pending messages withdrawn, a cancellation notice; the slot is freed;
* no-show, checked in, completed → pending messages withdrawn (a no-show reported before the
  session's end frees the rest of its slot).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import delete, event, inspect, select, update

from scheduler.db import db_session
from scheduler.domain import messaging
from scheduler.models import Clinic, Message, Patient, TreatmentSession, utcnow

_KEY = "scheduler.outbox"
_WRITTEN_KEY = "scheduler.outbox.written"  # new sessions whose booking messages were written with them
_WATCHED = ("status", "starts_at", "ends_at", "room_id", "staff_member_id")
LIVE = ("proposed", "booked")


@dataclass(frozen=True)
class Before:
    """A session as the transaction first saw it."""

    status: str
    starts_at: datetime
    ends_at: datetime
    room_id: int
    staff_member_id: int | None


def setting(name: str, default=None):
    return current_app.config.get(name, default) if has_app_context() else default


def sms_enabled() -> bool:
    return bool(setting("SMS_URL"))


def _old(state, name: str):
    history = state.attrs[name].history
    return history.deleted[0] if history.deleted else getattr(state.object, name)


def _note_changes(session, _flush_context, _instances) -> None:
    seen: dict[int, tuple[TreatmentSession, Before | None]] = session.info.setdefault(_KEY, {})
    for obj in session.new:
        if isinstance(obj, TreatmentSession):
            seen.setdefault(id(obj), (obj, None))
    for obj in session.dirty:
        if isinstance(obj, TreatmentSession) and id(obj) not in seen:
            state = inspect(obj)
            if any(state.attrs[name].history.has_changes() for name in _WATCHED):
                seen[id(obj)] = (obj, Before(*(_old(state, name) for name in _WATCHED)))


def booked(s: TreatmentSession, *, written: bool = False) -> None:
    """Note a session written as new without the ORM's unit of work (``booking._insert_audited``: a
    Core INSERT, then attached as persistent), as ``before_flush`` notes a new one. ``written``: the
    rows its booking writes (``booking_values``) were written with it, so ``before_commit`` writes
    them only if the session has changed since (then in place of those)."""
    db_session.info.setdefault(_KEY, {}).setdefault(id(s), (s, None))
    if written:
        db_session.info.setdefault(_WRITTEN_KEY, {})[id(s)] = _booked_as(s)


def _booked_as(s: TreatmentSession) -> tuple:
    """What a new session's booking messages depend on."""
    return (s.status, s.kind, s.patient_id, s.clinic_id, *(getattr(s, name) for name in _WATCHED))


def _write_outbox(session) -> None:
    seen = session.info.pop(_KEY, None)
    if not seen:
        return
    session.flush()  # ids for new sessions; later changes of this flush are noted again
    seen.update(session.info.pop(_KEY, {}))
    written = session.info.pop(_WRITTEN_KEY, {})
    now = utcnow()
    for obj, before in list(seen.values()):
        if (booked_as := written.get(id(obj))) is not None:
            if booked_as == _booked_as(obj):
                continue  # its booking's messages were written with it
            # changed since, in this transaction: the messages its booking wrote give way to those of
            # its change, as if they had never been written
            session.execute(delete(Message).where(Message.session_id == obj.id))
        session_changed(obj, before, now)


def _forget(session) -> None:
    session.info.pop(_KEY, None)
    session.info.pop(_WRITTEN_KEY, None)


_LISTENERS = (("before_flush", _note_changes), ("before_commit", _write_outbox), ("after_rollback", _forget))


def init_app(_app=None) -> None:
    """Listen to the ORM session (once per process, whatever the number of apps)."""
    for name, fn in _LISTENERS:
        if not event.contains(db_session, name, fn):
            event.listen(db_session, name, fn)


def session_changed(s: TreatmentSession, before: Before | None, now: datetime) -> None:
    """Turn one session's net change in this transaction into outbox rows and freed slots."""
    from scheduler.services import waitlist

    if before is None:
        for values in booking_values(s, now):
            _add(values)
        return
    moved = (before.starts_at, before.ends_at, before.room_id) != (s.starts_at, s.ends_at, s.room_id)
    was_live = before.status in LIVE
    if was_live and s.status == "cancelled":
        withdraw(s.id)
        if before.starts_at > now:
            enqueue(s, "cancellation", now)
            waitlist.slot_freed(s, before, now)
    elif was_live and s.status == "no_show":
        withdraw(s.id)
        if before.ends_at > now:
            waitlist.slot_freed(s, before, now)
    elif s.status in ("checked_in", "completed"):
        withdraw(s.id)
    elif s.status == "booked" and (moved or not was_live or before.status == "proposed"):
        # reinstated: an unsent cancellation notice is withdrawn too, and its slot is no longer on offer
        reinstated = before.status == "cancelled"
        withdraw(
            s.id,
            ("reminder", "booking_confirmation", "cancellation")
            if reinstated
            else ("reminder", "booking_confirmation"),
        )
        schedule_reminders(s, now)
        if reinstated:
            waitlist.withdraw_offers(s.id)
        if moved and was_live and before.starts_at > now:
            waitlist.slot_freed(s, before, now)


def booking_values(s: TreatmentSession, now: datetime) -> list[dict[str, Any]]:
    """The outbox rows a new session's booking at ``now`` writes (its reminders, when it is booked),
    as ``Message`` attribute values; ``session_id`` is None while the session has no id
    (``booking._insert_audited`` writes them in the session's own statement)."""
    return reminder_values(s, now) if s.status == "booked" else []


def reminder_values(s: TreatmentSession, now: datetime) -> list[dict[str, Any]]:
    """The session's reminders (``messaging.messages_for_booking``) as ``Message`` attribute values."""
    from scheduler.services import setup_cache

    patient = db_session.get(Patient, s.patient_id)
    if patient is None or address(patient) is None:
        return []  # nothing reaches the patient: message_values would make none of them
    hours = messaging.reminder_hours(s.kind, setup_cache.setup(s.clinic_id).reminder_hours)
    return [
        values
        for due in messaging.messages_for_booking(s.starts_at, hours, now)
        if (values := message_values(s, due.kind, due.at, patient=patient)) is not None
    ]


def schedule_reminders(s: TreatmentSession, now: datetime) -> list[Message]:
    return [_add(values) for values in reminder_values(s, now)]


def _quiet_hours() -> tuple:
    return messaging.parse_quiet_hours(setting("QUIET_HOURS", messaging.DEFAULT_QUIET_HOURS))


def address(patient: Patient) -> tuple[str, str] | None:
    return messaging.channel_for(
        patient.contact_preference, email=patient.email, phone=patient.phone, sms_enabled=sms_enabled()
    )


def enqueue(
    s: TreatmentSession | None,
    kind: str,
    due_at: datetime,
    *,
    patient: Patient | None = None,
    offer_id: int | None = None,
    clinic: Clinic | None = None,
) -> Message | None:
    """One outbox row, addressed by the patient's contact preference (None when nothing reaches the
    patient: preference ``none``, opted out, or no address). SMS never falls in quiet hours."""
    values = message_values(s, kind, due_at, patient=patient, offer_id=offer_id, clinic=clinic)
    return _add(values) if values is not None else None


def message_values(
    s: TreatmentSession | None,
    kind: str,
    due_at: datetime,
    *,
    patient: Patient | None = None,
    offer_id: int | None = None,
    clinic: Clinic | None = None,
) -> dict[str, Any] | None:
    """The ``Message`` attribute values of one outbox row (``enqueue``), or None."""
    if patient is None:
        if s is None:
            raise TypeError("enqueue needs the session or the patient the message is for")
        patient = db_session.get(Patient, s.patient_id)
    reach = address(patient) if patient is not None else None
    if patient is None or reach is None:
        return None
    channel, to = reach
    if channel == "sms":
        if clinic is None:
            if s is None:
                raise TypeError("enqueue needs the session or the clinic of an SMS")
            clinic = db_session.get_one(Clinic, s.clinic_id)
        due_at = messaging.after_quiet_hours(due_at, clinic.timezone, _quiet_hours())
    return {
        "kind": kind,
        "channel": channel,
        "to": to,
        "patient_id": patient.id,
        "session_id": s.id if s is not None else None,
        "offer_id": offer_id,
        "due_at": due_at,
    }


def _add(values: dict[str, Any]) -> Message:
    message = Message(**values)
    db_session.add(message)
    return message


def withdraw(session_id: int, kinds: tuple[str, ...] = ("reminder", "booking_confirmation")) -> None:
    """Pending messages about a session are withdrawn (kept, listed as ``withdrawn``)."""
    db_session.execute(
        update(Message)
        .where(Message.session_id == session_id, Message.status == "pending", Message.kind.in_(kinds))
        .values(status="withdrawn")
    )


def listing(
    *, status: str | None = None, session_id: int | None = None, page: int = 1, per_page: int = 50
) -> tuple[list[Message], int]:
    """The outbox, newest due first, paged; and how many match."""
    from sqlalchemy import func

    from scheduler.services import scope

    query = select(Message).where(scope.patient_clause(Message.patient_id))  # patients the user may see
    if status is not None:
        query = query.where(Message.status == status)
    if session_id is not None:
        query = query.where(Message.session_id == session_id)
    total = db_session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db_session.scalars(
        query.order_by(Message.due_at.desc(), Message.id.desc()).offset((page - 1) * per_page).limit(per_page)
    ).all()
    return list(rows), total
