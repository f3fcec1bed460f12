"""The waitlist: patients waiting for a kind of session, and the freed slots offered to them."""

from __future__ import annotations

from flask import g, request

from scheduler import access
from scheduler.api import bp, serialize
from scheduler.api import parsing as p
from scheduler.api.users import optional_body
from scheduler.auth import require
from scheduler.domain.vocabulary import SESSION_KINDS, WEEKDAYS
from scheduler.errors import UnprocessableError, ValidationError
from scheduler.models import Clinic, Patient, WaitlistEntry, WaitlistOffer
from scheduler.models.waitlist_entry import WAITLIST_STATUSES
from scheduler.models.waitlist_offer import OFFER_STATUSES
from scheduler.services import waitlist

FIELDS = {"patient_id", "clinic_id", "kind", "protocol", "earliest_on", "latest_on", "preferences"}
PREFERENCE_FIELDS = {"weekdays", "earliest", "latest"}


def _preferences(body: dict) -> dict:
    raw = body.get("preferences")
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ValidationError("preferences must be an object.", field="preferences")
    for key in raw:
        if key not in PREFERENCE_FIELDS:
            raise ValidationError(f"Unknown field preferences.{key}.", field=f"preferences.{key}")
    out: dict = {}
    if raw.get("weekdays") is not None:
        days = raw["weekdays"]
        if not isinstance(days, list) or not days or any(d not in WEEKDAYS for d in days):
            raise ValidationError(
                f"preferences.weekdays must be a non-empty list drawn from {', '.join(WEEKDAYS)}.",
                field="preferences.weekdays",
            )
        out["weekdays"] = sorted(set(days), key=WEEKDAYS.index)
    for key in ("earliest", "latest"):
        if raw.get(key) is not None:
            out[key] = serialize.hhmm(p.parse_time(raw[key], f"preferences.{key}"))
    if out.get("earliest") and out.get("latest") and out["latest"] <= out["earliest"]:
        raise UnprocessableError("preferences.latest must be after preferences.earliest.", field="preferences.latest")
    return out


def _status(choices: tuple[str, ...], default: str | None) -> str | None:
    raw = request.args.get("status")
    if raw is None:
        return default
    if raw == "all":
        return None
    if raw not in choices:
        raise ValidationError(f"status must be one of {', '.join(choices)} or all.", field="status")
    return raw


@bp.post("/waitlist")
@require("book")
def add_to_waitlist():
    from scheduler.protocols_registry import protocols

    body = p.json_body()
    p.reject_unknown(body, FIELDS)
    patient = p.get_or_404(Patient, p.integer(body, "patient_id", minimum=1))
    clinic = p.get_or_404(Clinic, p.integer(body, "clinic_id", minimum=1))
    protocol = p.string(body, "protocol", required=False, max_length=64)
    if protocol is not None and protocol not in protocols():
        raise ValidationError(f"Unknown protocol {protocol!r}.", field="protocol")
    entry = waitlist.add(
        g.user.id,
        patient=patient,
        clinic=clinic,
        kind=p.choice(body, "kind", SESSION_KINDS),
        protocol=protocol,
        earliest_on=p.date_field(body, "earliest_on"),
        latest_on=p.date_field(body, "latest_on"),
        preferences=_preferences(body),
    )
    return serialize.waitlist_entry(entry), 201


@bp.get("/waitlist")
@access.logged
@require("read_schedule")
def list_waitlist():
    clinic = p.get_or_404(Clinic, p.query_int("clinic_id", required=True))
    found = waitlist.entries(clinic.id, _status(WAITLIST_STATUSES, "waiting"))
    access.log_read("waitlist", *(e.patient_id for e in found))
    return {"entries": [serialize.waitlist_entry(e) for e in found]}


@bp.post("/waitlist/<int:entry_id>/remove")
@require("book")
def remove_from_waitlist(entry_id: int):
    entry = p.get_or_404(WaitlistEntry, entry_id, "waitlist entry")
    body = optional_body()
    p.reject_unknown(body, {"reason"})
    waitlist.remove(g.user.id, entry, p.string(body, "reason", required=False, max_length=500))
    return serialize.waitlist_entry(entry)


@bp.get("/waitlist/offers")
@access.logged
@require("read_schedule")
def list_offers():
    clinic = p.get_or_404(Clinic, p.query_int("clinic_id", required=True))
    found = waitlist.offers(clinic.id, _status(OFFER_STATUSES, "open"))
    access.log_read("waitlist", *waitlist.patients_of_offers(found))
    return {"offers": [serialize.waitlist_offer(o, clinic.timezone) for o in found]}


@bp.post("/waitlist/offers/<int:offer_id>/accept")
@require("book")
def accept_offer(offer_id: int):
    offer = p.get_or_404(WaitlistOffer, offer_id, "waitlist offer")
    clinic = p.get_or_404(Clinic, offer.clinic_id)
    session, found = waitlist.accept(g.user.id, offer)
    return {
        "offer": serialize.waitlist_offer(offer, clinic.timezone),
        "session": serialize.session(session, clinic.timezone, flags=found),
    }, 201
