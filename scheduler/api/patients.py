"""Patients: demographics (front desk) and search by MRN, name or date of birth."""

from __future__ import annotations

from datetime import date

from flask import g, request

from scheduler import access
from scheduler.api import bp, serialize
from scheduler.api import parsing as p
from scheduler.auth import require
from scheduler.errors import UnprocessableError, ValidationError
from scheduler.models import Patient
from scheduler.models.patient import CONTACT_PREFERENCES
from scheduler.services import directory

FIELDS = {"mrn", "name", "birth_date", "phone", "email", "ride_home_arranged", "contact_preference"}


def _birth_date(body: dict) -> date:
    born = p.date_field(body, "birth_date")
    if born > date.today():
        raise UnprocessableError("birth_date is in the future.", field="birth_date")
    if born.year < 1900:
        raise ValidationError("birth_date is before 1900.", field="birth_date")
    return born


REMS_FIELDS = {"rems_enrollment_id", "rems_enrolled_on"}


def _rems_enrollment(body: dict, patient: Patient) -> dict:
    """The Spravato REMS enrollment: an id and the date it starts (both, or null to clear both)."""
    out: dict = {}
    if "rems_enrollment_id" in body:
        out["rems_enrollment_id"] = p.string(body, "rems_enrollment_id", required=False, max_length=64) or None
    if "rems_enrolled_on" in body:
        out["rems_enrolled_on"] = p.date_field(body, "rems_enrolled_on", required=False)
    enrollment = out.get("rems_enrollment_id", patient.rems_enrollment_id)
    enrolled_on = out.get("rems_enrolled_on", patient.rems_enrolled_on)
    if enrollment and enrolled_on is None:
        raise ValidationError("rems_enrolled_on: give the date the REMS enrollment starts.", field="rems_enrolled_on")
    if enrolled_on is not None and not enrollment:
        raise ValidationError(
            "rems_enrollment_id: an enrollment date needs the enrollment id.", field="rems_enrollment_id"
        )
    if enrolled_on is not None and not 2019 <= enrolled_on.year <= date.today().year + 1:
        raise ValidationError(
            "rems_enrolled_on: not a plausible enrollment date (the REMS began in 2019).", field="rems_enrolled_on"
        )
    return out


@bp.post("/patients")
@require("manage_patients")
def create_patient():
    body = p.json_body()
    p.reject_unknown(body, FIELDS)
    patient = directory.create_patient(
        g.user.id,
        mrn=p.string(body, "mrn", max_length=64),
        name=p.string(body, "name"),
        birth_date=_birth_date(body),
        phone=p.string(body, "phone", required=False, max_length=40),
        email=p.string(body, "email", required=False),
        ride_home_arranged=p.boolean(body, "ride_home_arranged"),
        contact_preference=p.choice(body, "contact_preference", CONTACT_PREFERENCES, required=False),
    )
    return serialize.patient(patient), 201


@bp.patch("/patients/<int:patient_id>")
@require("manage_patients")
def update_patient(patient_id: int):
    patient = p.get_or_404(Patient, patient_id)
    body = p.json_body()
    p.reject_unknown(body, (FIELDS - {"mrn"}) | REMS_FIELDS)
    changes: dict = _rems_enrollment(body, patient)
    if "name" in body:
        changes["name"] = p.string(body, "name")
    if "birth_date" in body:
        changes["birth_date"] = _birth_date(body)
    for field, size in (("phone", 40), ("email", 200)):
        if field in body:
            changes[field] = p.string(body, field, required=False, max_length=size)
    if "ride_home_arranged" in body:
        changes["ride_home_arranged"] = p.boolean(body, "ride_home_arranged")
    if "contact_preference" in body:
        changes["contact_preference"] = p.choice(body, "contact_preference", CONTACT_PREFERENCES)
    directory.update_patient(g.user.id, patient, changes)
    return serialize.patient(patient)


@bp.get("/patients")
@access.logged
@require("read_schedule")
def search_patients():
    """``?q=``: MRN (case-insensitive, any part), name words in any order, or date of birth; without
    it the patients seen recently. 50 at most, each with the open course and the next session."""
    found = directory.search_patients(request.args.get("q") or "")
    access.log_read("search", *(m.patient.id for m in found))
    return {"patients": [serialize.patient_match(m) for m in found]}


@bp.get("/patients/<int:patient_id>")
@access.logged
@require("read_schedule")
def get_patient(patient_id: int):
    patient = p.get_or_404(Patient, patient_id)
    access.log_read("record", patient.id)
    return serialize.patient(patient)
