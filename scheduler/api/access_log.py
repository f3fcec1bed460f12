"""The access log (admin): who read which patient's data, what and when; paginated like /audit."""

from __future__ import annotations

from sqlalchemy import select

from scheduler.api import bp, serialize
from scheduler.api import parsing as p
from scheduler.api.audit import paged, within
from scheduler.auth import require
from scheduler.errors import ValidationError
from scheduler.models import AccessLogEntry


def entry_json(e: AccessLogEntry) -> dict:
    return {
        "at": serialize.instant(e.at),
        "user_id": e.user_id,
        "patient_id": e.patient_id,
        "what": e.what,
        "route": e.route,
    }


def _id_filter(name: str) -> int | None:
    value = p.query_int(name)
    if value is not None and not 1 <= value <= 2**31 - 1:
        raise ValidationError(f"{name} is out of range.", field=name)
    return value


@bp.get("/access-log")
@require("read_audit")
def list_access_log():
    query = select(AccessLogEntry)
    patient_id, user_id = _id_filter("patient_id"), _id_filter("user_id")
    if patient_id is not None:
        query = query.where(AccessLogEntry.patient_id == patient_id)
    if user_id is not None:
        query = query.where(AccessLogEntry.user_id == user_id)
    query = within(query, AccessLogEntry.at)
    return paged(query, (AccessLogEntry.at, AccessLogEntry.id), "entries", entry_json)
