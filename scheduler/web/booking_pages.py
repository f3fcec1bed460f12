"""Booking ONE session outside a course planning run (from the patient page), and the next
maintenance dose (from a ``maintenance_due``/``maintenance_overdue`` flag or the patient page).

Suggested free slots come from ``services.suggestions``; the booking is ``services.sessions.book``
(double booking refused; a flagged error refused unless overridden with a reason)."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Literal, overload
from zoneinfo import ZoneInfo

from flask import flash, g, redirect, render_template, request, url_for

from scheduler import access
from scheduler.db import db_session, rollback
from scheduler.domain.protocols import SessionSpec
from scheduler.domain.vocabulary import CAPABILITIES, SESSION_KINDS, STAFF_ROLES
from scheduler.errors import AppError, ValidationError
from scheduler.models import Course
from scheduler.services import booking, inputs, scope, suggestions
from scheduler.services import sessions as service
from scheduler.web import lookups
from scheduler.web.context import current_clinic, errors_from, today
from scheduler.web.filters import humanize, local
from scheduler.web.frontdesk import bp
from scheduler.web.security import page

FIELDS = {
    "kind",
    "course_id",
    "duration_minutes",
    "capability",
    "role",
    "from_on",
    "slot",
    "starts_on",
    "starts_time",
    "room_id",
    "staff_member_id",
    "override_reason",
    "after",
}


@overload
def _int(form, name: str, *, required: Literal[True], low: int = 1, high: int = 2**31 - 1) -> int: ...
@overload
def _int(form, name: str, *, required: bool = False, low: int = 1, high: int = 2**31 - 1) -> int | None: ...
def _int(form, name: str, *, required: bool = False, low: int = 1, high: int = 2**31 - 1) -> int | None:
    raw = (form.get(name) or "").strip()
    if not raw:
        if required:
            raise ValidationError("Required.", field=name)
        return None
    try:
        value = int(raw)
    except ValueError:
        raise ValidationError("Enter a whole number.", field=name) from None
    if not low <= value <= high:
        raise ValidationError(f"Enter a number from {low} to {high}.", field=name)
    return value


def _course(patient, form) -> Course | None:
    course_id = _int(form, "course_id")
    if course_id is None:
        return None
    course = db_session.get(Course, course_id)
    if course is None or course.patient_id != patient.id or not scope.may_see_clinic(course.clinic_id):
        raise ValidationError("Choose one of the patient's courses.", field="course_id")
    return course


def _describe(patient, clinic, form) -> suggestions.NewSession:
    """The session to book: a course's protocol gives its length, room type and role; outside a
    course (or for a session the protocol has not) the form's."""
    kind = form.get("kind") or ""
    if kind not in SESSION_KINDS:
        raise ValidationError("Choose the kind of session.", field="kind")
    course = _course(patient, form)
    if course is not None and course.clinic_id != clinic.id:
        raise ValidationError("That course runs at another clinic; switch clinic first.", field="course_id")
    custom = None
    if course is None or (form.get("duration_minutes") or "").strip():
        minutes = _int(form, "duration_minutes", required=True, low=5, high=12 * 60)
        capability, role = form.get("capability") or "", form.get("role") or ""
        if capability not in CAPABILITIES:
            raise ValidationError("Choose the kind of room.", field="capability")
        if role not in STAFF_ROLES:
            raise ValidationError("Choose the clinician's role.", field="role")
        custom = SessionSpec(duration_minutes=minutes, capability=capability, role=role)
    return suggestions.new_session(clinic.id, patient.id, kind, course=course, custom=custom)


def _from_on(form, tz: str) -> date:
    raw = (form.get("from_on") or "").strip()
    if not raw:
        return today(tz)
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValidationError("Enter a date (YYYY-MM-DD).", field="from_on") from None


def _with_sessions(raw: str) -> list[tuple[str, datetime, int, int | None]]:
    """The sessions a suggestion books with it: ``with:kind;start;room;staff,...`` (kind, time, room, clinician)."""
    out = []
    for item in raw.removeprefix("with:").split(","):
        kind, start, room, staff = item.split(";")
        if kind not in ("integration",):
            raise ValueError(kind)
        out.append((kind, datetime.fromisoformat(start), int(room), int(staff) if staff else None))
    return out


def _chosen_time(form, tz: str) -> tuple[datetime, int, int | None]:
    """The slot chosen among the suggestions, or the time, room and clinician typed in."""
    raw = form.get("slot") or ""
    if raw and raw != "other":
        parts = raw.split("|")
        try:
            starts_at = datetime.fromisoformat(parts[0])
            if len(parts) > 3:
                _with_sessions(parts[3])  # (checked here; booked by _book)
            return starts_at, int(parts[1]), int(parts[2]) if len(parts) > 2 and parts[2] else None
        except (ValueError, IndexError):
            raise ValidationError("That time is not one of the suggestions; choose again.", field="slot") from None
    if not raw:
        raise ValidationError("Choose a suggested time, or another time below.", field="slot")
    try:
        on = date.fromisoformat(form.get("starts_on") or "")
    except ValueError:
        raise ValidationError("Enter the date (YYYY-MM-DD).", field="starts_on") from None
    try:
        at = time.fromisoformat(form.get("starts_time") or "")
    except ValueError:
        raise ValidationError("Enter the time as HH:MM.", field="starts_time") from None
    if not 2000 <= on.year <= 2100:
        raise ValidationError("Enter a date between 2000 and 2100.", field="starts_on")
    room_id = _int(form, "room_id", required=True)
    staff_id = _int(form, "staff_member_id")
    return datetime.combine(on, at, tzinfo=ZoneInfo(tz)), room_id, staff_id


def _book(patient, clinic, new: suggestions.NewSession, form):
    starts_at, room_id, staff_id = _chosen_time(form, clinic.timezone)
    override = (form.get("override_reason") or "").strip()[:500] or None
    req = booking.SessionRequest(
        clinic_id=clinic.id,
        patient_id=patient.id,
        room_id=room_id,
        staff_member_id=staff_id,
        kind=new.kind,
        phase=new.phase,
        sequence=new.sequence,
        route=new.route,
        course_id=new.course_id,
        starts_at=starts_at,
        ends_at=starts_at + new.spec.duration,
        override_reason=override,
    )
    parts = (form.get("slot") or "").split("|")
    together = [
        booking.SessionRequest(
            clinic_id=clinic.id,
            patient_id=patient.id,
            room_id=room,
            staff_member_id=staff,
            kind=kind,
            course_id=new.course_id,
            sequence=new.sequence,
            starts_at=start,
            ends_at=start + _spec_duration(new, kind),
            override_reason=override,
        )
        for kind, start, room, staff in (_with_sessions(parts[3]) if len(parts) > 3 else [])
    ]
    session, found = service.book(g.user.id, req, with_sessions=together)
    if together:
        flash(f"Booked the {humanize(together[0].kind).lower()} session with it.", "success")
    what = (
        humanize(new.kind)
        + (f" {new.sequence}" if new.sequence else "")
        + (" (maintenance)" if new.phase == "maintenance" else "")
    )
    warned = [f for f in found if f.severity != "error"]
    message = (
        f"Booked {what} for {patient.name} on {local(session.starts_at, clinic.timezone, '%a %d %b %H:%M')}"
        f" in {session.room.name}" + (f" with {session.staff_member.name}" if session.staff_member else "") + "."
    )
    if override and any(f.severity == "error" for f in found):
        message += f" Overridden: {override}."
    if warned:
        message += " Flagged: " + " ".join(f.message for f in warned)
    flash(message, "success" if not warned else "warning")
    return redirect(url_for("frontdesk.session_page", session_id=session.id))


def _spec_duration(new: suggestions.NewSession, kind: str):
    course = db_session.get(Course, new.course_id) if new.course_id else None
    spec = suggestions.spec_for(course, kind)
    if spec is None:
        raise ValidationError("That time is not one of the suggestions; choose again.", field="slot")
    return spec.duration


def _conflicts(exc: AppError) -> list[dict]:
    return list(exc.conflicts or [])


def _options(patient) -> dict:
    courses = [
        (str(c.id), f"{c.protocol_key} from {c.start_on:%d %b %Y} ({c.status})") for c in lookups.courses_of(patient.id)
    ]
    return {
        "kinds": [(k, humanize(k)) for k in SESSION_KINDS],
        "courses": [("", "— none (a one-off session) —"), *courses],
        "capabilities": [(c, c) for c in CAPABILITIES],
        "roles": [(r, humanize(r)) for r in STAFF_ROLES],
    }


@bp.route("/patients/<int:patient_id>/book", methods=["GET", "POST"])
@access.logged
@page("book")
def book_one(patient_id: int):
    """GET: the form (kind, course, and for a session outside a protocol its length, room type and
    role). POST action=find: the suggested free slots; action=book: book the one chosen."""
    patient = inputs.patient_row(patient_id)
    access.log_read("record", patient.id)
    clinic = current_clinic()
    if clinic is None:
        return redirect(url_for("frontdesk.day_board"))
    source = dict((request.form if request.method == "POST" else request.args).items())
    open_course = _open_course(patient, clinic)
    if request.method == "GET" and "course_id" not in source and open_course is not None:
        source["course_id"] = str(open_course.id)  # the patient's open course, preselected
    defaults = kind_defaults(open_course)
    kind = source.get("kind") or "dose"
    for name, value in zip(("capability", "role"), defaults.get(kind, ("consult", "prescriber"))):
        source.setdefault(name, value)
    after = _after(patient, source, clinic.timezone)
    form = {k: source.get(k) for k in FIELDS}
    errors: dict[str, str] = {}
    slots, new, conflicts, status = [], None, [], 200
    if request.method == "POST" or request.args.get("kind"):
        try:
            new = _describe(patient, clinic, source)
            if request.method == "POST" and source.get("action") == "book":
                return _book(patient, clinic, new, source)
        except AppError as exc:
            rollback()
            errors, status, conflicts = errors_from(exc, FIELDS), exc.status, _conflicts(exc)
            if exc.code == "flagged":
                errors = {"override_reason": exc.message}
        if new is not None:
            try:
                first = _from_on(source, clinic.timezone) if source.get("from_on") or after is None else after[0]
                slots = suggestions.for_new(new, first=first, time_hint=after[1] if after else None)
                if after is not None:  # after that session, not before it
                    not_before = datetime.combine(after[0], after[1], tzinfo=ZoneInfo(clinic.timezone))
                    slots = [slot for slot in slots if slot.starts_at >= not_before]
            except AppError as exc:
                errors.setdefault(exc.field or "_form", exc.message)
                status = max(status, exc.status)
    return render_template(
        "frontdesk/book_one.html",
        patient=patient,
        clinic=clinic,
        tz=clinic.timezone,
        form=form,
        errors=errors,
        conflicts=conflicts,
        slots=slots,
        new=new,
        options=_options(patient),
        today=today(clinic.timezone),
        defaults=defaults,
        open_course=open_course,
        after=after,
        rooms={r.id: r for r in clinic.rooms},
        staff={m.id: m for m in clinic.staff},
    ), status


# A one-off session's room type and clinician role by kind (a course's protocol overrides them).
ONE_OFF = {
    "evaluation": ("consult", "prescriber"),
    "preparation": ("therapy", "therapist"),
    "dose": ("iv", "nurse"),
    "integration": ("therapy", "therapist"),
    "follow_up": ("consult", "prescriber"),
}


def kind_defaults(course: Course | None) -> dict[str, tuple[str, str]]:
    """Room capability and clinician role per session kind: the course protocol's, else ``ONE_OFF``."""
    out = dict(ONE_OFF)
    for kind in SESSION_KINDS:
        spec = suggestions.spec_for(course, kind) if course is not None else None
        if spec is not None:
            out[kind] = (spec.capability, spec.role)
    return out


def _open_course(patient, clinic) -> Course | None:
    """The patient's latest course at this clinic that is neither completed nor stopped."""
    return next(
        (
            c
            for c in lookups.courses_of(patient.id)
            if c.clinic_id == clinic.id and c.status not in ("completed", "stopped")
        ),
        None,
    )


def _after(patient, source, tz: str) -> tuple[date, time] | None:
    """``?after=<session id>`` (the worklist's "book integration"): search from that session's end."""
    raw = (source.get("after") or "").strip()
    if not raw.isdigit():
        return None
    from scheduler.models import TreatmentSession

    earlier = db_session.get(TreatmentSession, int(raw))
    if earlier is None or earlier.patient_id != patient.id:
        return None
    end = earlier.ends_at.astimezone(ZoneInfo(tz))
    return end.date(), end.time().replace(second=0, microsecond=0)


@bp.route("/patients/<int:patient_id>/maintenance", methods=["GET", "POST"])
@access.logged
@page("book")
def book_maintenance(patient_id: int):
    """The planner's proposal for the next maintenance dose of a course (``?course_id=``, default
    the patient's latest course with a maintenance phase); POST books it or another suggested slot."""
    patient = inputs.patient_row(patient_id)
    access.log_read("courses", patient.id)
    clinic = current_clinic()
    source = request.form if request.method == "POST" else request.args
    courses = [
        c
        for c in lookups.courses_of(patient.id)
        if suggestions.spec_for(c, "dose", "maintenance") and c.status != "stopped"
    ]
    wanted = source.get("course_id", type=int)
    course = next((c for c in courses if c.id == wanted), courses[0] if courses else None)
    errors: dict[str, str] = {}
    conflicts: list = []
    status = 200
    if course is None:
        flash(f"{patient.name} has no course with a maintenance phase; plan one first.", "warning")
        return redirect(url_for("frontdesk.patient_page", patient_id=patient.id))
    clinic = inputs.clinic_row(course.clinic_id)
    form = {"kind": "dose", "course_id": str(course.id), **{k: source.get(k) for k in ("slot", "override_reason")}}
    try:
        new = suggestions.new_session(clinic.id, patient.id, "dose", course=course, phase="maintenance")
        if request.method == "POST":
            return _book(patient, clinic, new, source)
    except AppError as exc:
        rollback()
        errors, status, conflicts = errors_from(exc, FIELDS), exc.status, _conflicts(exc)
        if exc.code == "flagged":
            errors = {"override_reason": exc.message}
        course = db_session.get_one(Course, course.id)
        new = suggestions.new_session(clinic.id, patient.id, "dose", course=course, phase="maintenance")
    proposal, problem = None, None
    try:
        proposal = suggestions.maintenance(course)
    except AppError as exc:
        problem = exc.message
    first = (
        proposal.plan.sessions[0].starts_at.astimezone(ZoneInfo(clinic.timezone)).date()
        if proposal and proposal.plan.sessions
        else today(clinic.timezone)
    )
    others = [
        s
        for s in suggestions.for_new(new, first=first)
        if not (proposal and proposal.plan.sessions and s.starts_at == proposal.plan.sessions[0].starts_at)
    ]
    return render_template(
        "frontdesk/maintenance.html",
        patient=patient,
        clinic=clinic,
        tz=clinic.timezone,
        course=course,
        courses=courses,
        proposal=proposal,
        problem=problem,
        slots=others,
        new=new,
        form=form,
        errors=errors,
        conflicts=conflicts,
        today=today(clinic.timezone),
        rooms={r.id: r for r in clinic.rooms},
        staff={m.id: m for m in clinic.staff},
    ), status
