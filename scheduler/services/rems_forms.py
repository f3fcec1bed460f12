"""REMS Patient Monitoring Forms: a clinician records (or corrects) the form of an esketamine session
that took place; every write audited, every read of its content logged by the caller (access log)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from scheduler.db import db_session
from scheduler.domain import rems_form
from scheduler.domain.rules.rems import TOOK_PLACE, needs_rems
from scheduler.errors import Conflict, ValidationError
from scheduler.models import RemsMonitoringForm, TreatmentSession, utcnow
from scheduler.protocols_registry import protocols
from scheduler.services import audit


def needs_form(session: TreatmentSession) -> bool:
    """A dose the Spravato REMS applies to (route nasal, or its protocol says ``rems = true``)."""
    proto = protocols().get(session.course.protocol_key) if session.course is not None else None
    return needs_rems(proto, session.kind, session.route)


def form_of(session_id: int) -> RemsMonitoringForm | None:
    return db_session.scalars(select(RemsMonitoringForm).where(RemsMonitoringForm.session_id == session_id)).first()


def forms_of(session_ids) -> dict[int, RemsMonitoringForm]:
    """The forms on file of these sessions, by session id."""
    ids = sorted(set(session_ids))
    if not ids:
        return {}
    return {
        f.session_id: f
        for f in db_session.scalars(select(RemsMonitoringForm).where(RemsMonitoringForm.session_id.in_(ids)))
    }


def took_place(session: TreatmentSession, now: datetime | None = None) -> bool:
    """Checked in or completed, and ended: the form can be recorded."""
    return session.status in TOOK_PLACE and session.ends_at <= (now or utcnow())


def record(
    actor_id: int | None, session: TreatmentSession, values: dict, *, now: datetime | None = None
) -> tuple[RemsMonitoringForm, bool]:
    """Record the form of ``session`` (validated by the field set); a second call corrects it.
    Returns (the form, whether it is new). 409 for a session the REMS does not apply to or that has
    not taken place (checked in or completed, and ended)."""
    now = now or utcnow()
    if not needs_form(session):
        raise Conflict(
            f"Session {session.id} is not an esketamine (REMS) dose; it has no monitoring form.", code="not_rems"
        )
    if not took_place(session, now):
        raise Conflict(
            f"Session {session.id} is {session.status.replace('_', ' ')}"
            f"{'' if session.ends_at <= now else ' and has not ended'}; the form is recorded once the "
            "dose took place (checked in or completed, and ended).",
            code="not_taken_place",
        )
    try:
        clean = rems_form.validate(values, session_start=session.starts_at, session_end=session.ends_at)
    except rems_form.FormError as exc:
        raise ValidationError(f"{exc.field}: {exc.problem}.", field=exc.field) from None
    row = form_of(session.id)
    if row is None:
        row = RemsMonitoringForm(
            session_id=session.id,
            patient_id=session.patient_id,
            field_set=rems_form.FIELD_SET_VERSION,
            recorded_by_id=actor_id,
            **clean,
        )
        db_session.add(row)
        audit.record(actor_id, "rems_form.create", row)
        return row, True
    before = audit.snapshot(row)
    for key, value in clean.items():
        setattr(row, key, value)
    row.field_set, row.recorded_by_id, row.updated_at = rems_form.FIELD_SET_VERSION, actor_id, now
    audit.record(actor_id, "rems_form.update", row, before=before)
    return row, False


__all__ = ["form_of", "forms_of", "needs_form", "record", "took_place"]
