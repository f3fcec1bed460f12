"""The waitlist page (front desk): who is waiting, the freed slots offered to them (accept on the
patient's behalf), and a form to add a patient; and the outbox page (admins)."""

from __future__ import annotations

from datetime import timedelta

from flask import flash, g, redirect, render_template, request, url_for

from scheduler import access
from scheduler.db import db_session, rollback
from scheduler.domain.vocabulary import SESSION_KINDS, WEEKDAYS
from scheduler.errors import AppError, ValidationError
from scheduler.limits import parse_date, parse_time
from scheduler.models import Patient, WaitlistEntry, WaitlistOffer
from scheduler.models.message import MESSAGE_STATUSES
from scheduler.services import outbox, scope, waitlist
from scheduler.web.context import current_clinic, errors_from, today
from scheduler.web.frontdesk import bp
from scheduler.web.lookups import patient_names
from scheduler.web.security import page

FIELDS = {"patient_id", "kind", "protocol", "earliest_on", "latest_on", "weekdays", "earliest", "latest"}


def _render(clinic, form: dict, errors: dict, status: int = 200):
    from scheduler.protocols_registry import protocols

    entries = waitlist.entries(clinic.id)
    offers = waitlist.offers(clinic.id)
    by_entry = {e.id: e for e in entries}
    for o in offers:
        if o.entry_id not in by_entry:
            by_entry[o.entry_id] = db_session.get_one(WaitlistEntry, o.entry_id)
    names = patient_names({e.patient_id for e in by_entry.values()})
    access.log_read("waitlist", *(e.patient_id for e in by_entry.values()))
    rooms = {r.id: r.name for r in clinic.rooms}
    return render_template(
        "frontdesk/waitlist.html",
        clinic=clinic,
        entries=entries,
        offers=offers,
        entry_of=by_entry,
        names=names,
        rooms=rooms,
        kinds=SESSION_KINDS,
        weekdays=WEEKDAYS,
        protocols=sorted(protocols()),
        form=form,
        errors=errors,
    ), status


@bp.get("/waitlist")
@access.logged
@page("read_schedule")
def waitlist_page():
    clinic = current_clinic()
    if clinic is None:
        return redirect(url_for("frontdesk.day_board"))
    start = today(clinic.timezone)
    form = {"earliest_on": start.isoformat(), "latest_on": (start + timedelta(days=14)).isoformat(), "kind": "dose"}
    if request.args.get("patient_id", type=int):
        form["patient_id"] = request.args["patient_id"]
    return _render(clinic, form, {})


def _add(clinic, form: dict) -> WaitlistEntry:
    try:
        patient_id = int(form.get("patient_id") or "")
    except ValueError:
        raise ValidationError("Choose a patient (their id, from the patient's page).", field="patient_id") from None
    patient = scope.get(Patient, patient_id, "patient")
    kind = form.get("kind")
    if kind not in SESSION_KINDS:
        raise ValidationError("Choose the kind of session.", field="kind")
    earliest_on, latest_on = (
        parse_date(form.get("earliest_on"), "earliest_on"),
        parse_date(form.get("latest_on"), "latest_on"),
    )
    prefs: dict = {}
    if form.get("weekdays"):
        prefs["weekdays"] = [d for d in WEEKDAYS if d in form["weekdays"]]
    for key in ("earliest", "latest"):
        if form.get(key):
            prefs[key] = parse_time(form[key], key).strftime("%H:%M")
    return waitlist.add(
        g.user.id,
        patient=patient,
        clinic=clinic,
        kind=kind,
        protocol=form.get("protocol") or None,
        earliest_on=earliest_on,
        latest_on=latest_on,
        preferences=prefs,
    )


@bp.post("/waitlist")
@page("book")
def waitlist_add():
    clinic = current_clinic()
    form: dict[str, str | list[str]] = {k: request.form.get(k, "") for k in FIELDS - {"weekdays"}}
    form["weekdays"] = request.form.getlist("weekdays")
    try:
        entry = _add(clinic, form)
    except AppError as exc:
        rollback()
        return _render(clinic, form, errors_from(exc, FIELDS), exc.status)
    db_session.commit()
    flash(f"{directory_name(entry.patient_id)} is on the waitlist.", "success")
    return redirect(url_for("frontdesk.waitlist_page"))


def directory_name(patient_id: int) -> str:
    return patient_names({patient_id}).get(patient_id, f"Patient {patient_id}")


@bp.post("/waitlist/<int:entry_id>/remove")
@page("book")
def waitlist_remove(entry_id: int):
    entry = db_session.get(WaitlistEntry, entry_id)
    if entry is None or not scope.may_see_clinic(entry.clinic_id):
        flash("That waitlist entry no longer exists.", "warning")
        return redirect(url_for("frontdesk.waitlist_page"))
    waitlist.remove(g.user.id, entry, request.form.get("reason") or None)
    db_session.commit()
    flash(f"{directory_name(entry.patient_id)} is off the waitlist.", "success")
    return redirect(url_for("frontdesk.waitlist_page"))


@bp.post("/waitlist/offers/<int:offer_id>/accept")
@page("book")
def waitlist_accept(offer_id: int):
    offer = db_session.get(WaitlistOffer, offer_id)
    if offer is None or not scope.may_see_clinic(offer.clinic_id):
        flash("That offer no longer exists.", "warning")
        return redirect(url_for("frontdesk.waitlist_page"))
    try:
        session, _ = waitlist.accept(g.user.id, offer)
    except AppError as exc:
        rollback()
        flash(exc.message, "error")
        return redirect(url_for("frontdesk.waitlist_page"))
    db_session.commit()
    flash("Booked from the waitlist.", "success")
    return redirect(url_for("frontdesk.session_page", session_id=session.id))


@bp.get("/messages")
@access.logged
@page("read_messages")
def messages_page():
    status = request.args.get("status") or None
    if status not in (None, *MESSAGE_STATUSES):
        status = None
    pg = min(max(1, request.args.get("page", 1, type=int) or 1), 1_000_000)  # an offset SQL can hold
    rows, total = outbox.listing(status=status, page=pg, per_page=50)
    access.log_read("messages", *(m.patient_id for m in rows if m.patient_id))
    return render_template(
        "frontdesk/messages.html",
        messages=rows,
        total=total,
        page=pg,
        status=status,
        statuses=MESSAGE_STATUSES,
        names=patient_names({m.patient_id for m in rows}),
        more=pg * 50 < total,
    )
