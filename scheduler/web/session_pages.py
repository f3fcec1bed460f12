"""One treatment session: its details and flags, and the front desk's actions on it — reschedule
(choosing among suggested free slots), cancel with a reason (confirmed first) and reinstate (undo),
check in, complete, no-show."""

from __future__ import annotations

from datetime import date, datetime, time
from types import EllipsisType

from flask import flash, g, redirect, render_template, request, url_for

from scheduler import access
from scheduler.auth import can
from scheduler.db import db_session, rollback
from scheduler.domain.lifecycle import ATTENDANCE, RESCHEDULABLE, allows
from scheduler.domain.timezones import NonexistentLocalTime, local_date, to_utc
from scheduler.errors import AppError, UnprocessableError, ValidationError
from scheduler.models import Clinic, utcnow
from scheduler.services import flags as flag_service
from scheduler.services import sessions as service
from scheduler.web import lookups
from scheduler.web.context import errors_from, today
from scheduler.web.frontdesk import bp
from scheduler.web.security import page

ACTIONS = {"check_in": "Checked in", "complete": "Completed", "no_show": "Marked as no-show"}
ACTION_FIELDS = {"reason", "slot", "override_reason", "starts_on", "starts_time", "room_id", "staff_member_id"}


def _render(session, *, errors=None, form=None, status=200, confirm_cancel=False):
    from scheduler.services import suggestions

    clinic = db_session.get_one(Clinic, session.clinic_id)
    access.log_read("schedule", session.patient_id)
    slots = suggestions.for_session(session) if session.status in RESCHEDULABLE else []
    on_its_day = local_date(session.starts_at, clinic.timezone) == today(clinic.timezone)
    started = session.starts_at <= utcnow()
    actions = [
        a
        for a in ATTENDANCE
        if allows(a, session.status)
        and (a != "check_in" or on_its_day)  # check-in is offered on the session's day only
        and (a not in ("complete", "no_show") or started)
    ]  # and these once it has started
    from scheduler.services import rems_forms

    rems = {"filed": rems_forms.form_of(session.id) is not None} if rems_forms.needs_form(session) else None
    return render_template(
        "frontdesk/session.html",
        s=session,
        clinic=clinic,
        tz=clinic.timezone,
        rems=rems,
        flags=flag_service.for_session(session),
        errors=errors or {},
        slots=list(zip(slots, suggestions.flags_if_moved(session, slots))),
        form=form or {},
        rooms={r.id: r for r in clinic.rooms},
        staff={m.id: m for m in clinic.staff},
        can_book=can("book", g.user),
        actions=actions,
        on_its_day=on_its_day,
        integration=lookups.integration_after(session) if session.kind == "dose" else None,
        reschedulable=session.status in RESCHEDULABLE,
        may_cancel=allows("cancel", session.status),
        may_reinstate=allows("reinstate", session.status),
        check_in_later=allows("check_in", session.status) and not on_its_day,
        today=today(clinic.timezone),
        confirm_cancel=confirm_cancel,
    ), status


def _version() -> int:
    try:
        return int(request.form.get("version") or "")
    except ValueError:
        raise ValidationError("The page is missing the session's version; reload it.", field="version") from None


def _done(session, message: str):
    flash(message, "success")
    return redirect(url_for("frontdesk.session_page", session_id=session.id))


def _failed(session, exc: AppError):
    rollback()
    session = service.get(session.id)  # fresh after the rollback
    return _render(session, errors=errors_from(exc, ACTION_FIELDS), form=request.form, status=exc.status)


@bp.get("/sessions/<int:session_id>")
@access.logged
@page("read_schedule")
def session_page(session_id: int):
    return _render(service.get(session_id))


@bp.post("/sessions/<int:session_id>/cancel")
@page("book")
def cancel(session_id: int):
    session = service.get(session_id)
    try:
        reason = (request.form.get("reason") or "").strip()
        if not reason:
            raise ValidationError("Say why the session is cancelled.", field="reason")
        version = _version()
        if request.form.get("confirm") != "yes":  # first ask: the page shows what will be cancelled
            return _render(session, form=request.form, confirm_cancel=True)
        service.cancel(g.user.id, session, version=version, reason=reason[:500])
    except AppError as exc:
        return _failed(session, exc)
    return _done(
        session,
        f"Cancelled the {session.kind.replace('_', '-')} session: {reason}. "
        "Changed your mind? Reinstate it below while the time is still free.",
    )


@bp.post("/sessions/<int:session_id>/reinstate")
@page("book")
def reinstate(session_id: int):
    """Undo a cancellation (``services.sessions.reinstate``: only while the slot is still free)."""
    session = service.get(session_id)
    try:
        service.reinstate(g.user.id, session, version=_version())
    except AppError as exc:
        return _failed(session, exc)
    return _done(
        session,
        f"Reinstated the {session.kind.replace('_', '-')} session: it is {session.status.replace('_', ' ')} again.",
    )


@bp.post("/sessions/<int:session_id>/<any(check_in, complete, no_show):action>")
@page("book")
def act(session_id: int, action: str):
    session = service.get(session_id)
    try:
        service.transition(g.user.id, session, action, version=_version())
    except AppError as exc:
        return _failed(session, exc)
    return _done(session, f"{ACTIONS[action]}: {session.patient.name}, {session.kind.replace('_', '-')}.")


@bp.post("/sessions/<int:session_id>/reschedule")
@page("book")
def reschedule(session_id: int):
    """To a suggested slot or a time of one's own (date, time, room, clinician); a dose can take its
    integration session along (placed in the dose's new window by the rule book), in the same transaction."""
    session = service.get(session_id)
    clinic = db_session.get_one(Clinic, session.clinic_id)
    try:
        starts_at, room_id, staff_id = _new_time(session, clinic.timezone)
        override = (request.form.get("override_reason") or "").strip()[:500] or None
        version = _version()
        # the suggestion says the dose takes its integration session along ("|move"), or the box is ticked:
        # the rule book places it in the dose's new window (services.suggestions.dependents)
        move_dependents = (request.form.get("slot") or "").endswith("|move") or request.form.get(
            "move_integration"
        ) == "on"
        follower = lookups.integration_after(session) if move_dependents else None
        before = follower.starts_at if follower is not None else None
        service.reschedule(
            g.user.id,
            session,
            version=version,
            starts_at=starts_at,
            ends_at=starts_at + (session.ends_at - session.starts_at),
            room_id=room_id,
            staff_member_id=staff_id,
            override_reason=override,
            move_dependents=move_dependents,
        )
        if follower is not None:
            db_session.refresh(follower)
    except AppError as exc:
        return _failed(session, exc)
    from scheduler.web.filters import local

    moved = f"Moved to {local(session.starts_at, clinic.timezone, '%a %d %b %H:%M')} in {session.room.name}."
    if follower is not None and follower.starts_at != before:
        moved += (
            f" Its integration session moved too, to {local(follower.starts_at, clinic.timezone, '%a %d %b %H:%M')}."
        )
    return _done(session, moved)


def local_instant(on: date, at: time, tz: str) -> datetime:
    """A wall-clock time typed in, in the clinic's zone (a time skipped by the clock change is refused;
    an ambiguous one is its first occurrence)."""
    try:
        return to_utc(on, at, tz)
    except NonexistentLocalTime:
        raise UnprocessableError(
            f"{on.isoformat()} {at:%H:%M} does not exist in {tz} (the clocks jump forward then); choose another time.",
            field="starts_time",
        ) from None


def _new_time(session, tz: str) -> tuple[datetime, int, int | EllipsisType | None]:
    """(starts_at, room id, clinician id or ... to keep the session's) from the chosen suggestion or
    the time typed in."""
    raw = request.form.get("slot") or ""
    if raw == "other":
        try:
            on = date.fromisoformat(request.form.get("starts_on") or "")
        except ValueError:
            raise ValidationError("Enter the date (YYYY-MM-DD).", field="starts_on") from None
        try:
            at = time.fromisoformat(request.form.get("starts_time") or "")
        except ValueError:
            raise ValidationError("Enter the time as HH:MM.", field="starts_time") from None
        if not 2000 <= on.year <= 2100:
            raise ValidationError("Enter a date between 2000 and 2100.", field="starts_on")
        room_raw, staff_raw = request.form.get("room_id") or "", request.form.get("staff_member_id") or ""
        try:
            room_id = int(room_raw) if room_raw else session.room_id
        except ValueError:
            raise ValidationError("Choose a room and a clinician from the lists.", field="room_id") from None
        try:
            chosen = int(staff_raw) if staff_raw else None
        except ValueError:
            raise ValidationError("Choose a room and a clinician from the lists.", field="staff_member_id") from None
        return local_instant(on, at, tz), room_id, chosen
    parts = raw.split("|")
    if len(parts) == 4 and parts[3] == "move":  # the suggestion moves the integration session too
        parts = parts[:3]
    if len(parts) != 3:
        raise ValidationError("Choose one of the suggested times, or another time.", field="slot")
    try:
        starts_at = datetime.fromisoformat(parts[0])
        room_id = int(parts[1])
        staff_id = int(parts[2]) if parts[2] else ...  # no clinician in the slot: keep the session's
    except ValueError:
        raise ValidationError("That time is not one of the suggestions; choose again.", field="slot") from None
    if starts_at.tzinfo is None:
        raise ValidationError("That time is not one of the suggestions; choose again.", field="slot")
    return starts_at, room_id, staff_id


@bp.route("/sessions/<int:session_id>/replan", methods=["GET", "POST"])
@access.logged
@page("book")
def replan(session_id: int):
    """GET: the proposed replacement and the moves it needs; POST: apply them in one step."""
    from scheduler.services import replanning

    session = service.get(session_id)
    access.log_read("schedule", session.patient_id)
    clinic = db_session.get_one(Clinic, session.clinic_id)
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        try:
            override = (request.form.get("override_reason") or "").strip()[:500] or None
            _result, booked, moved = replanning.apply(g.user.id, session, version=_version(), override_reason=override)
        except AppError as exc:
            rollback()
            session = service.get(session_id)
            errors, status = errors_from(exc, {"override_reason"}), exc.status
        else:
            from scheduler.web.filters import local

            when = ", ".join(local(s.starts_at, clinic.timezone, "%a %d %b %H:%M") for s in booked)
            flash(
                f"Re-planned: booked {len(booked)} replacement session{'s' if len(booked) != 1 else ''} ({when})"
                + (f" and moved {len(moved)} later session{'s' if len(moved) != 1 else ''}." if moved else "."),
                "success",
            )
            return redirect(url_for("frontdesk.patient_page", patient_id=session.patient_id))
    try:
        proposal, _course = replanning.propose(session)
        problem = None
    except AppError as exc:
        proposal, problem = None, exc.message
    return render_template(
        "frontdesk/replan.html",
        s=session,
        clinic=clinic,
        tz=clinic.timezone,
        proposal=proposal,
        problem=problem,
        errors=errors,
        form=request.form,
        rooms={r.id: r for r in clinic.rooms},
        staff={m.id: m for m in clinic.staff},
    ), status
