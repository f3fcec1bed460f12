"""The REMS Patient Monitoring Form of an esketamine session (clinicians): record or correct it, read it."""

from __future__ import annotations

from flask import g

from scheduler import access
from scheduler.api import bp, serialize
from scheduler.api import parsing as p
from scheduler.api.idempotency import idempotent
from scheduler.auth import require
from scheduler.domain import rems_form
from scheduler.services import rems_forms as service
from scheduler.services import sessions as session_service

INTEGER_KINDS = ("systolic", "diastolic", "minutes")


def form_json(row, tz: str) -> dict:
    body = {
        "id": row.id,
        "session_id": row.session_id,
        "patient_id": row.patient_id,
        "field_set": row.field_set,
        "recorded_by_id": row.recorded_by_id,
        "created_at": serialize.instant(row.created_at, tz),
        "updated_at": serialize.instant(row.updated_at, tz),
    }
    for f in rems_form.FIELD_SETS[row.field_set]:
        value = getattr(row, f.name)
        body[f.name] = serialize.instant(value, tz) if f.kind == "instant" else value
    return body


def _tz(session) -> str:
    from scheduler.db import db_session
    from scheduler.models import Clinic

    clinic = db_session.get(Clinic, session.clinic_id)
    assert clinic is not None  # a session's clinic is a foreign key
    return clinic.timezone


def _values(body: dict) -> dict:
    """The request's fields as the field set reads them (instants parsed, the rest as given)."""
    out = {}
    for f in rems_form.FIELDS:
        value = body.get(f.name)
        if f.kind == "instant" and value is not None:
            value = p.parse_instant(value, f.name)
        out[f.name] = value
    return out


@bp.post("/sessions/<int:session_id>/rems-form")
@require("write_clinical")
@idempotent
def record_rems_form(session_id: int):
    session = session_service.get(session_id)
    body = p.json_body()
    p.reject_unknown(body, set(rems_form.FIELD_NAMES))
    row, created = service.record(g.user.id, session, _values(body))
    access.log_read("rems_form", session.patient_id)
    return form_json(row, _tz(session)), 201 if created else 200


@bp.get("/sessions/<int:session_id>/rems-form")
@access.logged
@require("read_clinical")
def get_rems_form(session_id: int):
    """``{"session_id", "needs_form", "form"}``: ``form`` is null while none is recorded."""
    session = session_service.get(session_id)
    row = service.form_of(session.id)
    access.log_read("rems_form", session.patient_id)
    return {
        "session_id": session.id,
        "needs_form": service.needs_form(session),
        "form": form_json(row, _tz(session)) if row is not None else None,
    }
