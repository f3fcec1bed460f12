"""The Spravato REMS Patient Monitoring Form of an esketamine session (clinicians only): fill it in or
correct it, and print the completed form for submission to the REMS. The front desk sees only that a
form is due or overdue (the flags), never this page (``read_clinical``)."""

from __future__ import annotations

from datetime import datetime

from flask import flash, g, redirect, render_template, request, url_for

from scheduler import access
from scheduler.db import db_session
from scheduler.domain import rems_form
from scheduler.domain.timezones import NonexistentLocalTime, to_utc
from scheduler.errors import AppError, ValidationError
from scheduler.services import flags as flag_service
from scheduler.services import inputs
from scheduler.services import rems_forms as service
from scheduler.services import sessions as session_service
from scheduler.web.clinician import bp
from scheduler.web.context import errors_from
from scheduler.web.filters import local
from scheduler.web.security import page

FORM_CODES = ("rems_form_due", "rems_form_overdue")
NUMBER_KINDS = ("systolic", "diastolic", "minutes")
LOCAL_INPUT = "%Y-%m-%dT%H:%M"  # an <input type="datetime-local"> in the clinic's zone


def _shown(row, tz: str) -> dict[str, str]:
    """The stored form as the inputs show it (empty when none is on file)."""
    if row is None:
        return {}
    out = {}
    for f in rems_form.FIELD_SETS[row.field_set]:
        value = getattr(row, f.name)
        out[f.name] = local(value, tz, LOCAL_INPUT) if f.kind == "instant" else ("" if value is None else str(value))
    return out


def _values(form, tz: str) -> dict:
    """The posted fields as the field set reads them: whole numbers, the local time in the clinic's
    zone as an instant, the rest as text (empty: not given). Bad input names its field."""
    out: dict = {}
    for f in rems_form.FIELDS:
        raw = (form.get(f.name) or "").strip()
        if not raw:
            out[f.name] = None
        elif f.kind in NUMBER_KINDS:
            try:
                out[f.name] = int(raw)
            except ValueError:
                raise ValidationError(f"{f.label}: enter a whole number.", field=f.name) from None
        elif f.kind == "instant":
            try:
                at = datetime.strptime(raw, LOCAL_INPUT)
            except ValueError:
                raise ValidationError(f"{f.label}: enter the date and time (YYYY-MM-DD HH:MM).", field=f.name) from None
            try:
                out[f.name] = to_utc(at.date(), at.time(), tz)
            except NonexistentLocalTime:
                raise ValidationError(
                    f"{f.label}: {raw.replace('T', ' ')} does not exist in {tz} (the clocks jump forward then).",
                    field=f.name,
                ) from None
        else:
            out[f.name] = raw
    return out


def _render(session, *, errors=None, form=None, status=200):
    clinic = inputs.clinic_row(session.clinic_id)
    row = service.form_of(session.id)
    access.log_read("rems_form", session.patient_id)
    owed = [f for f in flag_service.for_session(session) if f.code in FORM_CODES]
    return render_template(
        "clinician/rems_form.html",
        s=session,
        clinic=clinic,
        tz=clinic.timezone,
        row=row,
        fields=rems_form.FIELDS,
        needs_form=service.needs_form(session),
        took_place=service.took_place(session),
        owed=owed,
        errors=errors or {},
        form=form if form is not None else _shown(row, clinic.timezone),
        min_minutes=rems_form.MIN_MONITORING_MINUTES,
        ready_bounds=(
            local(session.starts_at, clinic.timezone, LOCAL_INPUT),
            local(session.ends_at + rems_form.READY_WITHIN, clinic.timezone, LOCAL_INPUT),
        ),
    ), status


@bp.get("/sessions/<int:session_id>/monitoring-form")
@access.logged
@page("read_clinical")
def rems_form_page(session_id: int):
    return _render(session_service.get(session_id))


@bp.post("/sessions/<int:session_id>/monitoring-form")
@page("write_clinical")
def record_rems_form(session_id: int):
    """Record or correct the form through the same service as the API (validated, audited)."""
    session = session_service.get(session_id)
    tz = inputs.clinic_row(session.clinic_id).timezone
    try:
        _row, created = service.record(g.user.id, session, _values(request.form, tz))
    except AppError as exc:
        db_session.rollback()
        session = session_service.get(session_id)
        return _render(
            session, errors=errors_from(exc, set(rems_form.FIELD_NAMES)), form=request.form, status=exc.status
        )
    access.log_read("rems_form", session.patient_id)
    flash(
        f"{'Recorded' if created else 'Corrected'} the REMS monitoring form of {session.patient.name}'s "
        f"dose on {local(session.starts_at, tz, '%d %b %Y')}.",
        "success",
    )
    return redirect(url_for("clinician.rems_form_page", session_id=session.id))


@bp.get("/sessions/<int:session_id>/monitoring-form/print")
@access.logged
@page("read_clinical")
def rems_form_print(session_id: int):
    """The completed form on one printable page (the browser's print or "save as PDF")."""
    session = session_service.get(session_id)
    clinic = inputs.clinic_row(session.clinic_id)
    row = service.form_of(session.id)
    access.log_read("rems_form", session.patient_id)
    fields = rems_form.FIELD_SETS[row.field_set] if row is not None else ()
    return render_template(
        "clinician/rems_form_print.html",
        s=session,
        clinic=clinic,
        tz=clinic.timezone,
        row=row,
        fields=fields,
        recorded_by=_recorder(row),
    )


def _recorder(row) -> str | None:
    if row is None or row.recorded_by_id is None:
        return None
    from scheduler.models import User

    user = db_session.get(User, row.recorded_by_id)
    return user.email if user is not None else None
