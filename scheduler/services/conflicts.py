"""Double-booking checks against the database.

``overlap_clause``: the live sessions overlapping a time (``services.windows.overlapping``, the SQL
mirror of ``scheduler.domain.intervals.overlaps``, bounded below by the longest possible session so
that the ``(resource_id, starts_at)`` B-tree index serves the query instead of a scan).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, and_, or_, select

from scheduler.db import db_session
from scheduler.domain.intervals import overlaps
from scheduler.domain.timezones import to_local
from scheduler.domain.vocabulary import LIVE_STATUSES
from scheduler.models import Clinic, TreatmentSession
from scheduler.services.windows import overlapping

TS = TreatmentSession


def overlap_clause(start: datetime, end: datetime) -> ColumnElement[bool]:
    """Live sessions whose [starts_at, ends_at) overlaps [start, end)."""
    return and_(overlapping(TS.starts_at, TS.ends_at, start, end), TS.status.in_(LIVE_STATUSES))


def find_clashes(
    *,
    room_id: int | None,
    patient_id: int | None,
    starts_at: datetime,
    ends_at: datetime,
    exclude_ids: tuple[int, ...] = (),
) -> list[tuple[str, TreatmentSession]]:
    """Live sessions that hold the same room or the same patient during [starts_at, ends_at).

    Returns ``(resource, session)`` pairs, resource being ``"room"`` or ``"patient"``.
    """
    holders = []
    if room_id is not None:
        holders.append(TS.room_id == room_id)
    if patient_id is not None:
        holders.append(TS.patient_id == patient_id)
    if not holders:
        return []
    query = select(TS).where(or_(*holders), overlap_clause(starts_at, ends_at)).order_by(TS.starts_at, TS.id)
    if exclude_ids:
        query = query.where(TS.id.not_in(exclude_ids))
    clashes = []
    for other in db_session.scalars(query):
        if room_id is not None and other.room_id == room_id:
            clashes.append(("room", other))
        if patient_id is not None and other.patient_id == patient_id:
            clashes.append(("patient", other))
    return clashes


def clashes_among(
    sessions,
    *,
    room_id: int | None,
    patient_id: int | None,
    starts_at: datetime,
    ends_at: datetime,
    exclude_ids: tuple[int, ...] = (),
) -> list[tuple[str, object]]:
    """``find_clashes`` over sessions already loaded (plain values, by start time): the live ones
    that hold the room or the patient during [starts_at, ends_at)."""
    clashes = []
    for other in sessions:
        if (
            other.id in exclude_ids
            or other.status not in LIVE_STATUSES
            or not overlaps(other.starts_at, other.ends_at, starts_at, ends_at)
        ):
            continue
        if room_id is not None and other.room_id == room_id:
            clashes.append(("room", other))
        if patient_id is not None and other.patient_id == patient_id:
            clashes.append(("patient", other))
    return clashes


def describe(clashes: list[tuple[str, TreatmentSession]]) -> list[dict]:
    """The clashing sessions for a 409's ``conflicts``, their times with the clinic's offset."""

    def local(s: TreatmentSession, instant: datetime) -> str:
        return to_local(instant, db_session.get_one(Clinic, s.clinic_id).timezone).isoformat()

    return [
        {
            "resource": resource,
            "session_id": s.id,
            "room_id": s.room_id,
            "patient_id": s.patient_id,
            "starts_at": local(s, s.starts_at),
            "ends_at": local(s, s.ends_at),
            "kind": s.kind,
            "status": s.status,
        }
        for resource, s in clashes
    ]
