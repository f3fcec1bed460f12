"""Patients (front desk and clinicians): search by MRN or name, a new patient, the patient page,
and "plan a course": form → preview of every session with its flags → one confirmation books all."""

from __future__ import annotations

from datetime import date, time

from flask import flash, g, redirect, render_template, request, url_for

from scheduler import access
from scheduler.auth import can
from scheduler.db import rollback
from scheduler.errors import AppError, ValidationError
from scheduler.protocols_registry import protocols
from scheduler.services import directory, inputs, scope
from scheduler.web import lookups
from scheduler.web.context import current_clinic, errors_from, today
from scheduler.web.frontdesk import bp
from scheduler.web.security import page

PATIENT_FIELDS = {"mrn", "name", "birth_date", "phone", "email", "ride_home_arranged"}
PLAN_FIELDS = {
    "protocol",
    "start_on",
    "weekdays",
    "earliest",
    "latest",
    "clinic_id",
    "override_reason",
    "replaces_course_id",
    "stop_reason",
}
WEEKDAY_NAMES = (
    ("mon", "Mon"),
    ("tue", "Tue"),
    ("wed", "Wed"),
    ("thu", "Thu"),
    ("fri", "Fri"),
    ("sat", "Sat"),
    ("sun", "Sun"),
)


@bp.get("/patients")
@access.logged
@page("read_schedule")
def patients():
    """Search by MRN (any part, any case), name words in any order, or date of birth; without a query
    the patients seen in the last days. Each result shows the open course and the next session."""
    q = (request.args.get("q") or "").strip()
    clinic = current_clinic()
    matches = directory.search_patients(q)
    access.log_read("search", *(m.patient.id for m in matches))
    return render_template(
        "frontdesk/patients.html",
        q=q,
        matches=matches,
        searched=bool(q),
        tz=clinic.timezone if clinic else "UTC",
        recent_days=directory.RECENT_DAYS,
    )


def _parse_patient(form) -> dict:
    values = {k: (form.get(k) or "").strip() for k in PATIENT_FIELDS - {"ride_home_arranged"}}
    if not values["mrn"]:
        raise ValidationError("Enter the medical record number.", field="mrn")
    if len(values["mrn"]) > 64:
        raise ValidationError("The MRN is at most 64 characters.", field="mrn")
    if not values["name"]:
        raise ValidationError("Enter the patient's name.", field="name")
    if len(values["name"]) > 200:
        raise ValidationError("The name is at most 200 characters.", field="name")
    try:
        born = date.fromisoformat(values["birth_date"])
    except ValueError:
        raise ValidationError("Enter the date of birth (YYYY-MM-DD).", field="birth_date") from None
    if born > date.today() or born.year < 1900:
        raise ValidationError("The date of birth must be between 1900 and today.", field="birth_date")
    if values["email"] and "@" not in values["email"]:
        raise ValidationError("That email address has no @.", field="email")
    return {
        "mrn": values["mrn"],
        "name": values["name"],
        "birth_date": born,
        "phone": values["phone"][:40] or None,
        "email": values["email"][:200] or None,
        "ride_home_arranged": form.get("ride_home_arranged") == "on",
    }


@bp.route("/patients/new", methods=["GET", "POST"])
@page("manage_patients")
def new_patient():
    errors: dict[str, str] = {}
    form = request.form if request.method == "POST" else {}
    if request.method == "POST":
        try:
            patient = directory.create_patient(g.user.id, **_parse_patient(request.form))
        except AppError as exc:
            errors = errors_from(exc, PATIENT_FIELDS)
            return render_template("frontdesk/new_patient.html", form=form, errors=errors), exc.status
        flash(f"Added {patient.name} (MRN {patient.mrn}).", "success")
        return redirect(url_for("frontdesk.patient_page", patient_id=patient.id))
    return render_template("frontdesk/new_patient.html", form=form, errors=errors)


@bp.get("/patients/<int:patient_id>")
@access.logged
@page("read_schedule")
def patient_page(patient_id: int, *, errors=None, form=None, status=200):
    from scheduler.services import flags as flag_service

    patient = inputs.patient_row(patient_id)
    access.log_read("record", patient.id)
    clinic = current_clinic()
    tz = clinic.timezone if clinic else "UTC"
    sessions = [s for s in inputs.patient_sessions([patient.id]) if scope.may_see_clinic(s.clinic_id)]
    rooms = {r.id: r for r in clinic.rooms} if clinic else {}
    return render_template(
        "frontdesk/patient.html",
        patient=patient,
        clinic=clinic,
        tz=tz,
        sessions=sessions,
        rooms=rooms,
        courses=lookups.courses_of(patient.id),
        flags=scope.visible_flags(flag_service.for_patient(patient.id), {s.id for s in sessions if s.id is not None}),
        maintenance_course=_maintenance_course(patient.id),
        show_clinical=can("read_clinical", g.user),
        errors=errors or {},
        form=form,
        fixing=request.args.get("fix"),
    ), status


def _maintenance_course(patient_id: int):
    """The patient's latest open course whose protocol has a maintenance phase (or None)."""
    from scheduler.services import suggestions

    return next(
        (
            c
            for c in lookups.courses_of(patient_id)
            if c.status not in ("stopped", "completed") and suggestions.spec_for(c, "dose", "maintenance")
        ),
        None,
    )


@bp.post("/patients/<int:patient_id>/edit")
@page("manage_patients")
def edit_patient(patient_id: int):
    """Contact details and the ride home (the MRN and date of birth are fixed once added)."""
    patient = inputs.patient_row(patient_id)
    form = request.form
    try:
        name = (form.get("name") or "").strip()
        if not name:
            raise ValidationError("Enter the patient's name.", field="name")
        email = (form.get("email") or "").strip()
        if email and "@" not in email:
            raise ValidationError("That email address has no @.", field="email")
        changes = {
            "name": name[:200],
            "phone": (form.get("phone") or "").strip()[:40] or None,
            "email": email[:200] or None,
            "ride_home_arranged": form.get("ride_home_arranged") == "on",
        }
        directory.update_patient(g.user.id, patient, changes)
    except AppError as exc:
        rollback()
        return patient_page(patient_id, errors=errors_from(exc, PATIENT_FIELDS), form=form, status=exc.status)
    flash(
        f"Saved {patient.name}'s details; ride home {'arranged' if patient.ride_home_arranged else 'not arranged'}.",
        "success",
    )
    return redirect(url_for("frontdesk.patient_page", patient_id=patient.id))


# ---------------------------------------------------------------- plan a course


def _plan_input(form, clinic) -> dict:
    key = form.get("protocol") or ""
    if key not in protocols():
        raise ValidationError("Choose a protocol.", field="protocol")
    try:
        start_on = date.fromisoformat(form.get("start_on") or "")
    except ValueError:
        raise ValidationError("Enter the first date (YYYY-MM-DD).", field="start_on") from None
    weekdays = [d for d, _ in WEEKDAY_NAMES if d in form.getlist("weekdays")]
    prefs: dict = {}
    if weekdays:
        prefs["weekdays"] = weekdays
    for name in ("earliest", "latest"):
        raw = (form.get(name) or "").strip()
        if raw:
            try:
                prefs[name] = time.fromisoformat(raw)
            except ValueError:
                raise ValidationError("Enter a time as HH:MM.", field=name) from None
    if "earliest" in prefs and "latest" in prefs and prefs["latest"] <= prefs["earliest"]:
        raise ValidationError("The latest time must be after the earliest.", field="latest")
    return {"protocol": key, "clinic_id": clinic.id, "start_on": start_on, "preferences": prefs}


def _replaces(form) -> int | None:
    raw = (form.get("replaces_course_id") or "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        raise ValidationError("Choose the course to stop.", field="replaces_course_id")
    return int(raw)


def _plan_marks(result) -> tuple[list, list, dict]:
    """The preview's flags the planner's own problems do not already say (what booking the plan would
    raise: a payer's units, another course's doses …), the error ones among them, and per planned
    session (by index) the problems and flags shown on its row."""
    if result is None:
        return [], [], {}
    said = {p.code for p in result.plan.problems}
    flags = [(f, idxs) for f, idxs in result.flags if f.code not in said]
    rows: dict[int, list] = {}
    for p in result.plan.problems:
        for i in p.sessions:
            rows.setdefault(i, []).append(p)
    for f, idxs in flags:
        for i in idxs:
            rows.setdefault(i, []).append(f)
    return [f for f, _ in flags], [f for f, _ in flags if f.severity == "error"], rows


def _plan_form(patient, clinic, form, *, errors=None, result=None, status=200, open_courses=()):
    plan_flags, plan_errors, row_marks = _plan_marks(result)
    return render_template(
        "frontdesk/plan.html",
        patient=patient,
        clinic=clinic,
        form=form,
        plan_flags=plan_flags,
        plan_errors=plan_errors,
        row_marks=row_marks,
        errors=errors or {},
        result=result,
        protocols=protocols(),
        open_courses=open_courses,
        weekday_names=WEEKDAY_NAMES,
        today=today(clinic.timezone),
        rooms={r.id: r for r in clinic.rooms},
        staff={s.id: s for s in clinic.staff},
    ), status


@bp.route("/patients/<int:patient_id>/plan", methods=["GET", "POST"])
@access.logged
@page("book")
def plan_course(patient_id: int):
    from scheduler.web import planning

    patient = inputs.patient_row(patient_id)
    access.log_read("courses", patient.id)
    clinic = current_clinic()
    if clinic is None:
        return redirect(url_for("frontdesk.day_board"))
    if request.method == "GET":
        defaults = {
            "protocol": request.args.get("protocol", "ketamine-iv"),
            "start_on": today(clinic.timezone).isoformat(),
            "weekdays": ["mon", "wed", "fri"],
            "earliest": "09:00",
            "latest": "17:00",
        }
        return _plan_form(patient, clinic, defaults)
    form: dict[str, str | list[str] | int | None] = {k: request.form.get(k) for k in PLAN_FIELDS}
    form |= {"weekdays": request.form.getlist("weekdays"), "clinic_id": clinic.id}
    confirm = request.form.get("action") == "confirm"
    try:
        params = _plan_input(request.form, clinic)
        override = (request.form.get("override_reason") or "").strip()[:500] or None
        params["replaces_course_id"] = _replaces(request.form)
        params["stop_reason"] = (request.form.get("stop_reason") or "").strip()[:500] or None
        result = planning.plan(g.user.id, patient, params, dry_run=not confirm, override_reason=override)
    except AppError as exc:
        rollback()
        # a second open course: offer to replace the open one (or to give a reason to run both)
        open_courses = exc.conflicts if exc.code == "course_active" else ()
        # a plan refused for its flags: the preview again, each flag on its session, and the reason field
        result = planning.plan(g.user.id, patient, params, dry_run=True) if exc.code == "flagged" else None
        return _plan_form(
            patient,
            clinic,
            form,
            errors=errors_from(exc, PLAN_FIELDS),
            status=exc.status,
            open_courses=open_courses,
            result=result,
        )
    if not confirm:
        return _plan_form(patient, clinic, form, result=result)
    flash(f"Booked {len(result.sessions)} sessions of {params['protocol']} for {patient.name}.", "success")
    return redirect(url_for("frontdesk.patient_page", patient_id=patient.id))
