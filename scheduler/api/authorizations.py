"""A patient's payer authorizations: units authorized between two dates, and the units used."""

from __future__ import annotations

from flask import g

from scheduler import access
from scheduler.api import bp
from scheduler.api import parsing as p
from scheduler.auth import require
from scheduler.errors import NotFound, ValidationError
from scheduler.models import Authorization, Patient
from scheduler.services import authorizations as service

FIELDS = set(service.FIELDS)


def answer(a) -> dict:
    """A ``domain.values.Authorization`` as JSON."""
    return {
        "id": a.id,
        "protocol": a.protocol,
        "payer": a.payer,
        "reference": a.reference,
        "units_authorized": a.units_authorized,
        "valid_from": a.valid_from.isoformat(),
        "valid_to": a.valid_to.isoformat(),
        "units_used": a.units_used,
        "units_left": a.units_left,
    }


def _fields(body: dict, *, required: bool) -> dict:
    from scheduler.protocols_registry import protocols

    out: dict = {}
    for name, size in (("payer", 200), ("reference", 100)):
        if required or name in body:
            out[name] = p.string(body, name, max_length=size)
    if required or "protocol" in body:
        out["protocol"] = p.string(body, "protocol", max_length=64)
        if out["protocol"] not in protocols():
            raise ValidationError(f"Unknown protocol {out['protocol']!r}.", field="protocol")
    if required or "units_authorized" in body:
        out["units_authorized"] = p.integer(body, "units_authorized", minimum=1, maximum=1000)
    for name in ("valid_from", "valid_to"):
        if required or name in body:
            out[name] = p.date_field(body, name)
    return out


def _one(patient_id: int, authorization_id: int):
    return next((a for a in service.with_use(patient_id) if a.id == authorization_id), None)


@bp.post("/patients/<int:patient_id>/authorizations")
@require("manage_patients")
def add_authorization(patient_id: int):
    patient = p.get_or_404(Patient, patient_id)
    body = p.json_body()
    p.reject_unknown(body, FIELDS)
    row = service.add(g.user.id, patient, **_fields(body, required=True))
    return answer(_one(patient.id, row.id)), 201


@bp.get("/patients/<int:patient_id>/authorizations")
@access.logged
@require("read_schedule")
def list_authorizations(patient_id: int):
    patient = p.get_or_404(Patient, patient_id)
    access.log_read("authorizations", patient.id)
    return {"authorizations": [answer(a) for a in service.with_use(patient.id)]}


@bp.patch("/patients/<int:patient_id>/authorizations/<int:authorization_id>")
@require("manage_patients")
def update_authorization(patient_id: int, authorization_id: int):
    row = p.get_or_404(Authorization, authorization_id, "authorization")
    if row.patient_id != patient_id:
        raise NotFound(f"Patient {patient_id} has no authorization {authorization_id}.")
    body = p.json_body()
    p.reject_unknown(body, FIELDS)
    service.update(g.user.id, row, _fields(body, required=False))
    return answer(_one(patient_id, row.id))
