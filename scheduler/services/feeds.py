"""iCalendar feed subscriptions: revocable secret tokens (stored hashed) and the sessions they show."""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from scheduler.auth import token_digest
from scheduler.db import db_session
from scheduler.errors import Conflict
from scheduler.models import Clinic, FeedToken, Patient, Room, StaffMember, TreatmentSession, utcnow
from scheduler.services import audit, scope

SUBJECTS: dict[str, type[Room] | type[StaffMember] | type[Patient]] = {
    "room": Room,
    "staff": StaffMember,
    "patient": Patient,
}
HISTORY_DAYS = 365  # past sessions kept in a feed (config FEED_HISTORY_DAYS)
MAX_EVENTS = 5000


def create(actor_id: int | None, kind: str, subject_id: int) -> tuple[FeedToken, str]:
    token = secrets.token_urlsafe(32)
    row = FeedToken(kind=kind, subject_id=subject_id, token_hash=token_digest(token), created_by_id=actor_id)
    db_session.add(row)
    audit.record(actor_id, "feed_token.create", row)
    return row, token


def revoke(actor_id: int | None, row: FeedToken) -> FeedToken:
    if row.revoked_at is not None:
        raise Conflict(f"Feed {row.id} is already revoked.", code="already_revoked")
    before = audit.snapshot(row)
    row.revoked_at = utcnow()
    audit.record(actor_id, "feed_token.revoke", row, before=before)
    return row


def _subject(row: FeedToken) -> Room | StaffMember | Patient | None:
    """The feed's room, clinician or patient (``kind`` is one of the three), None when it is gone."""
    if row.kind == "room":
        return db_session.get(Room, row.subject_id)
    if row.kind == "staff":
        return db_session.get(StaffMember, row.subject_id)
    return db_session.get(Patient, row.subject_id)


def visible(row: FeedToken) -> bool:
    """The feed's room, clinician or patient is one the user may see (scope)."""
    subject = _subject(row)
    if subject is None:
        return True
    if isinstance(subject, Patient):
        return scope.may_see_patient(subject.id)
    return scope.may_see_clinic(subject.clinic_id)


def by_token(token: str) -> FeedToken | None:
    row = db_session.scalar(select(FeedToken).where(FeedToken.token_hash == token_digest(token)))
    return None if row is None or row.revoked_at is not None else row


def subject_name(row: FeedToken) -> str:
    subject = _subject(row)
    if subject is None:
        return f"{row.kind} {row.subject_id}"
    if isinstance(subject, Patient):
        return f"Sessions of {subject.mrn}"
    return f"Sessions in {subject.name}" if isinstance(subject, Room) else f"Sessions of {subject.name}"


def sessions_for(row: FeedToken, history_days: int = HISTORY_DAYS) -> tuple[list[TreatmentSession], dict[int, Clinic]]:
    TS = TreatmentSession
    column = {"room": TS.room_id, "staff": TS.staff_member_id, "patient": TS.patient_id}[row.kind]
    query = (
        select(TS)
        .where(
            column == row.subject_id,
            TS.starts_at >= utcnow() - timedelta(days=history_days),
            scope.clinic_clause(TS.clinic_id),
        )
        .options(selectinload(TS.patient), selectinload(TS.room), selectinload(TS.staff_member))
        .order_by(TS.starts_at, TS.id)
        .limit(MAX_EVENTS)
    )
    sessions = list(db_session.scalars(query))
    clinic_ids = {s.clinic_id for s in sessions}
    if not clinic_ids and row.kind in ("room", "staff"):
        subject = _subject(row)
        if isinstance(subject, (Room, StaffMember)):
            clinic_ids = {subject.clinic_id}
    clinics = {c.id: c for c in db_session.scalars(select(Clinic).where(Clinic.id.in_(clinic_ids)))}
    return sessions, clinics
