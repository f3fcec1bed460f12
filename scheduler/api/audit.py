"""The audit trail (admin): who did what to which entity, when, before and after; paginated."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from flask import request
from sqlalchemy import func, select

from scheduler import access
from scheduler.api import bp, serialize
from scheduler.api import parsing as p
from scheduler.auth import can, require
from scheduler.db import db_session
from scheduler.domain.clinical_content import redact_audit_event
from scheduler.errors import UnprocessableError, ValidationError
from scheduler.models import AuditEvent
from scheduler.services import access_log, scope

MAX_PER_PAGE = 200


def event_json(e: AuditEvent) -> dict:
    """The event; for a reader without clinical access its clinical content is redacted (a note's
    body, an assessment's instrument and score, a dosing hold's reason), never who, what or when."""
    event = {
        "id": e.id,
        "at": serialize.instant(e.at),
        "actor_id": e.actor_id,
        "actor": e.actor,
        "action": e.action,
        "entity_type": e.entity_type,
        "entity_id": e.entity_id,
        "before": e.before,
        "after": e.after,
        "reason": e.reason,
    }
    return event if can("read_clinical") else redact_audit_event(event)


def _bound(name: str, *, end: bool) -> datetime | None:
    """An instant with offset, or a date (a UTC day; as ``end`` the whole day is included)."""
    raw = request.args.get(name)
    if not raw:
        return None
    if len(raw) == 10:
        day = p.parse_date(raw, name)
        moment = datetime.combine(day, time(0), tzinfo=UTC)
        return moment + timedelta(days=1) if end else moment
    return p.parse_instant(raw, name)


@bp.get("/audit")
@access.logged
@require("read_audit")
def list_audit_events():
    query = select(AuditEvent).where(scope.audit_clause(AuditEvent.entity_type, AuditEvent.entity_id))
    entity_type = request.args.get("entity_type")
    if entity_type:
        query = query.where(AuditEvent.entity_type == entity_type)
    entity_id = p.query_int("entity_id")
    if entity_id is not None:
        if not 0 <= entity_id <= 2**31 - 1:
            raise ValidationError("entity_id is out of range.", field="entity_id")
        query = query.where(AuditEvent.entity_id == entity_id)
    query = within(query, AuditEvent.at)
    return paged(query, (AuditEvent.at, AuditEvent.id), "events", _logged_event_json)


def _logged_event_json(e: AuditEvent) -> dict:
    """The event, its patients noted in the access log (the entries carry their snapshots)."""
    access.log_read("audit", *access_log.patients_in_audit_event(e.entity_type, e.entity_id, e.before, e.after))
    return event_json(e)


def within(query, column):
    """``?start=&end=`` (instants with offset, or UTC dates, ``end`` inclusive) applied to ``column``."""
    start, end = _bound("start", end=False), _bound("end", end=True)
    if start is not None and end is not None and end <= start:
        raise UnprocessableError("end must be after start.", field="end")
    if start is not None:
        query = query.where(column >= start)
    if end is not None:
        query = query.where(column < end)
    return query


def paged(query, order_by: tuple, key: str, to_json) -> dict:
    """``?page=&per_page=`` (default 1 and 50, at most MAX_PER_PAGE): one page, oldest first, with
    ``page``, ``per_page``, ``total`` and ``next_page`` (None on the last page)."""
    page = p.query_int("page")
    page = 1 if page is None else page
    per_page = p.query_int("per_page")
    per_page = 50 if per_page is None else per_page
    if page < 1 or page > 1_000_000:
        raise ValidationError("page must be between 1 and 1000000.", field="page")
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise ValidationError(f"per_page must be between 1 and {MAX_PER_PAGE}.", field="per_page")
    total = db_session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db_session.scalars(query.order_by(*order_by).offset((page - 1) * per_page).limit(per_page))
    return {
        key: [to_json(r) for r in rows],
        "page": page,
        "per_page": per_page,
        "total": total,
        "next_page": page + 1 if page * per_page < total else None,
    }
