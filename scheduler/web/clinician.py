"""Clinicians' pages: the patient timeline (SVG course line and assessment chart), dosing holds,
and the clinician's own day."""

from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from scheduler import access
from scheduler.db import db_session, rollback
from scheduler.domain.instruments import is_rating_scale
from scheduler.domain.timezones import local_date
from scheduler.domain.vocabulary import INSTRUMENTS, LIVE_STATUSES, MEASUREMENTS
from scheduler.errors import AppError, ValidationError
from scheduler.models import StaffMember
from scheduler.protocols_registry import protocols
from scheduler.services import clinical, dayboard, inputs
from scheduler.services import timeline as timeline_service
from scheduler.web import charts, security
from scheduler.web.context import current_clinic, date_arg, errors_from, today
from scheduler.web.security import page

bp = Blueprint("clinician", __name__)
security.protect(bp)


def _before(raw: str | None):
    """The page's ``before`` (the "Earlier sessions" link); anything else shows the latest page."""
    from datetime import datetime

    try:
        value = datetime.fromisoformat(raw) if raw else None
    except ValueError:
        return None
    return value if value is not None and value.tzinfo is not None and 1900 <= value.year <= 2200 else None


@bp.get("/patients/<int:patient_id>/timeline")
@access.logged
@page("read_clinical")
def timeline(patient_id: int, *, errors=None, status=200):
    before = _before(request.args.get("before"))
    data = timeline_service.timeline(patient_id, with_assessments=True, before=before)
    access.log_read("timeline", data.patient.id)  # the page shows the notes and assessments too
    access.log_read("notes", data.patient.id)
    access.log_read("assessments", data.patient.id)
    patient = data.patient
    clinic = current_clinic()
    tz = clinic.timezone if clinic else "UTC"
    if data.courses:
        tz = data.timezones.get(data.courses[-1].clinic_id, tz)
    whole = request.args.get("span") == "all"
    first_dose_on, since = _course_dose_one(data, tz)
    course_svg = charts.course_timeline(data, tz, whole=whole, today=today(tz))
    scales = [a for a in data.assessments or [] if is_rating_scale(a.instrument)]
    tracked = scales[-1].instrument if scales else None  # the latest rating scale recorded
    from scheduler.services import authorizations

    return render_template(
        "clinician/timeline.html",
        patient=data.patient,
        data=data,
        tz=tz,
        whole=whole,
        rems_doses=_rems_doses(data),
        authorizations=authorizations.with_use(patient.id),
        course_svg=course_svg,
        protocols=protocols(),
        tracked=tracked,
        assessment_charts=charts.assessment_charts(data, first_dose_on=first_dose_on, since=since),
        measurement_charts=charts.measurement_charts(data),
        measurements=MEASUREMENTS,
        kind_colours=charts.KIND_COLOURS,
        errors=errors or {},
        form=request.form,
        instruments=INSTRUMENTS,
        today=today(tz),
        notes=clinical.notes(patient.id),
    ), status


def _rems_doses(data) -> list[tuple]:
    """The patient's REMS doses that took place, each with its form's state: filed, the flag owed
    (rems_form_due / rems_form_overdue), or none yet (the day itself)."""
    from scheduler.services import rems_forms

    doses = [s for s in data.sessions if s.kind == "dose" and rems_forms.took_place(s) and rems_forms.needs_form(s)]
    filed = rems_forms.forms_of(s.id for s in doses)
    owed = {
        sid: f.code for f in data.flags if f.code in ("rems_form_due", "rems_form_overdue") for sid in f.session_ids
    }
    return [(s, "filed" if s.id in filed else owed.get(s.id)) for s in sorted(doses, key=lambda s: s.starts_at)]


def _course_dose_one(data, tz: str) -> tuple[date | None, date | None]:
    """The day of dose 1 of the patient's latest course with a dose, and the day after the last dose
    of any earlier course (scores before it belong to that course)."""
    doses = [s for s in data.sessions if s.kind == "dose" and s.status in LIVE_STATUSES]
    if not doses:
        return None, None
    courses = {s.course_id for s in doses}
    latest = max(courses, key=lambda cid: max(s.starts_at for s in doses if s.course_id == cid))
    mine = [s for s in doses if s.course_id == latest]
    first = min(s.starts_at for s in mine)
    earlier = [s.starts_at for s in doses if s.course_id != latest and s.starts_at < first]
    since = local_date(max(earlier), tz) + timedelta(days=1) if earlier else None
    return local_date(first, tz), since


@bp.post("/patients/<int:patient_id>/dosing-hold")
@page("write_clinical")
def dosing_hold(patient_id: int):
    patient = inputs.patient_row(patient_id)
    lifting = request.form.get("action") == "lift"
    try:
        reason = (request.form.get("reason") or "").strip()
        if not reason:
            raise ValidationError("Give the clinical reason.", field="reason")
        if lifting:
            clinical.lift_dosing_hold(g.user.id, patient, reason=reason[:500])
        else:
            clinical.place_dosing_hold(g.user.id, patient, reason=reason[:500])
    except AppError as exc:
        rollback()
        return timeline(patient_id, errors=errors_from(exc, {"reason"}), status=exc.status)
    if lifting:
        flash(f"Lifted the dosing hold on {patient.name}: {reason}. Doses can be booked again.", "success")
    else:
        flash(f"Placed a dosing hold on {patient.name}: {reason}. New doses are flagged until it is lifted.", "success")
    return redirect(url_for("clinician.timeline", patient_id=patient.id))


@bp.post("/patients/<int:patient_id>/assessments")
@page("write_clinical")
def record_assessment(patient_id: int):
    patient = inputs.patient_row(patient_id)
    try:
        instrument = request.form.get("instrument") or ""
        if instrument not in INSTRUMENTS:
            raise ValidationError("Choose an instrument.", field="instrument")
        low, high = INSTRUMENTS[instrument]
        try:
            score = int(request.form.get("score") or "")
        except ValueError:
            raise ValidationError("Enter the score as a whole number.", field="score") from None
        if not low <= score <= high:
            what = "values (percent of machine output)" if instrument in MEASUREMENTS else "scores"
            raise ValidationError(f"{instrument} {what} run from {low} to {high}.", field="score")
        try:
            taken_on = date.fromisoformat(request.form.get("taken_on") or "")
        except ValueError:
            raise ValidationError("Enter the date it was taken (YYYY-MM-DD).", field="taken_on") from None
        if taken_on > date.today() + timedelta(days=1):
            raise ValidationError("The date is in the future.", field="taken_on")
        clinical.record_assessment(g.user.id, patient, instrument=instrument, score=score, taken_on=taken_on)
    except AppError as exc:
        rollback()
        return timeline(patient_id, errors=errors_from(exc, {"instrument", "score", "taken_on"}), status=exc.status)
    flash(f"Recorded {instrument} {score} for {patient.name} on {taken_on:%d %b %Y}.", "success")
    return redirect(url_for("clinician.timeline", patient_id=patient.id))


NOTE_MAX = 20000


@bp.post("/patients/<int:patient_id>/notes")
@page("write_clinical")
def add_note(patient_id: int):
    """Append a clinical note (append-only: a correction is a new note)."""
    patient = inputs.patient_row(patient_id)
    try:
        body = (request.form.get("note") or "").strip()
        if not body:
            raise ValidationError("Write the note first.", field="note")
        if len(body) > NOTE_MAX:
            raise ValidationError(f"A note is at most {NOTE_MAX} characters; split it in two.", field="note")
        clinical.add_note(g.user.id, patient, body=body)
    except AppError as exc:
        rollback()
        return timeline(patient_id, errors=errors_from(exc, {"note"}), status=exc.status)
    flash(f"Added a clinical note to {patient.name}'s record.", "success")
    return redirect(url_for("clinician.timeline", patient_id=patient.id) + "#notes-h")


@bp.get("/my-day")
@access.logged
@page("read_clinical")
def my_day():
    clinic = current_clinic()
    if clinic is None:
        return render_template("error.html", status=404, title="No clinic yet", message="Create a clinic first."), 404
    day, problem = date_arg("date", today(clinic.timezone))
    if problem:
        flash(problem, "warning")
    member = db_session.get(StaffMember, g.user.staff_member_id) if g.user.staff_member_id else None
    board = dayboard.day_board(clinic.id, day)
    rows = sorted(
        ((s, r.room) for r in board.rooms for s in r.sessions if member is None or s.staff_member_id == member.id),
        key=lambda x: x[0].starts_at,
    )
    access.log_read("schedule", *(s.patient_id for s, _room in rows))
    from scheduler.services import flags as flag_service
    from scheduler.web.lookups import patient_names

    owed = flag_service.owed_rems_forms(clinic.id)  # forms owed now, whoever gave the dose
    access.log_read("flags", *(f.patient_id for f in owed if f.patient_id))
    return render_template(
        "clinician/my_day.html",
        clinic=clinic,
        tz=clinic.timezone,
        day=day,
        member=member,
        owed_forms=owed,
        owed_names=patient_names({f.patient_id for f in owed if f.patient_id}),
        rows=rows,
        flags_by_session=board.flags_by_session,
        today=today(clinic.timezone),
        prev_day=day - timedelta(days=1),
        next_day=day + timedelta(days=1),
    )


# Importing the module registers its routes on ``bp``.
from scheduler.web import rems_pages  # noqa: E402,F401
