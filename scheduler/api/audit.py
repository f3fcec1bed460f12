"""The audit trail (admin): who did what to which entity, when, before and after; paginated."""
from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

from flask import request
from sqlalchemy import func, select

from scheduler.api import bp, parsing as p, serialize
from scheduler.auth import can, require
from scheduler.db import db_session
from scheduler.errors import ValidationError
from scheduler.models import AuditEvent

MAX_PER_PAGE = 200


# The clinical record stays with clinicians: an admin reading the trail sees that a note or an
# assessment was written, by whom and when, but not its content.
CLINICAL_FIELDS = {"clinical_note": {"body"}, "assessment": {"instrument", "score"}}
REDACTED = "[clinical content: clinicians only]"


def _visible(entity_type: str, state: dict | None) -> dict | None:
    hidden = CLINICAL_FIELDS.get(entity_type)
    if state is None or not hidden or can("read_clinical"):
        return state
    return {k: (REDACTED if k in hidden else v) for k, v in state.items()}


def event_json(e: AuditEvent) -> dict:
    return {"id": e.id, "at": serialize.instant(e.at), "actor_id": e.actor_id, "actor": e.actor,
            "action": e.action,
            "entity_type": e.entity_type, "entity_id": e.entity_id, "before": _visible(e.entity_type, e.before),
            "after": _visible(e.entity_type, e.after), "reason": e.reason}


def _bound(name: str, *, end: bool) -> datetime | None:
    """An instant with offset, or a date (a UTC day; as ``end`` the whole day is included)."""
    raw = request.args.get(name)
    if not raw:
        return None
    if len(raw) == 10:
        day = p.parse_date(raw, name)
        moment = datetime.combine(day, time(0), tzinfo=timezone.utc)
        return moment + timedelta(days=1) if end else moment
    return p.parse_instant(raw, name)


@bp.get("/audit")
@require("read_audit")
def list_audit_events():
    query = select(AuditEvent)
    entity_type = request.args.get("entity_type")
    if entity_type:
        query = query.where(AuditEvent.entity_type == entity_type)
    entity_id = p.query_int("entity_id")
    if entity_id is not None:
        if not 0 <= entity_id <= 2**31 - 1:
            raise ValidationError("entity_id is out of range.", field="entity_id")
        query = query.where(AuditEvent.entity_id == entity_id)
    start, end = _bound("start", end=False), _bound("end", end=True)
    if start is not None:
        query = query.where(AuditEvent.at >= start)
    if end is not None:
        query = query.where(AuditEvent.at < end)
    if start is not None and end is not None and end <= start:
        raise ValidationError("end must be after start.", field="end")
    page = p.query_int("page")
    page = 1 if page is None else page
    per_page = p.query_int("per_page")
    per_page = 50 if per_page is None else per_page
    if page < 1 or page > 1_000_000:
        raise ValidationError("page must be between 1 and 1000000.", field="page")
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise ValidationError(f"per_page must be between 1 and {MAX_PER_PAGE}.", field="per_page")
    total = db_session.scalar(select(func.count()).select_from(query.subquery()))
    rows = db_session.scalars(query.order_by(AuditEvent.at, AuditEvent.id)
                              .offset((page - 1) * per_page).limit(per_page))
    return {"events": [event_json(e) for e in rows], "page": page, "per_page": per_page, "total": total,
            "next_page": page + 1 if page * per_page < total else None}
