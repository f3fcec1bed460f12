"""The outbox (admins): every message to a patient with its delivery state; withdrawn ones stay."""

from __future__ import annotations

from flask import request

from scheduler import access
from scheduler.api import bp, serialize
from scheduler.api import parsing as p
from scheduler.auth import require
from scheduler.errors import ValidationError
from scheduler.models.message import MESSAGE_STATUSES
from scheduler.services import outbox

MAX_PER_PAGE = 200
MAX_PAGE = 1_000_000


@bp.get("/messages")
@access.logged
@require("read_messages")
def list_messages():
    status = request.args.get("status")
    if status is not None and status not in MESSAGE_STATUSES:
        raise ValidationError(f"status must be one of {', '.join(MESSAGE_STATUSES)}.", field="status")
    page = p.query_int("page") or 1
    per_page = p.query_int("per_page") or 50
    if not 1 <= page <= MAX_PAGE:
        raise ValidationError(f"page must be between 1 and {MAX_PAGE}.", field="page")
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise ValidationError(f"per_page must be 1 to {MAX_PER_PAGE}.", field="per_page")
    rows, total = outbox.listing(status=status, session_id=p.query_int("session_id"), page=page, per_page=per_page)
    access.log_read("messages", *(m.patient_id for m in rows if m.patient_id))
    return {
        "messages": [serialize.message(m) for m in rows],
        "page": page,
        "per_page": per_page,
        "total": total,
        "next_page": page + 1 if page * per_page < total else None,
    }
