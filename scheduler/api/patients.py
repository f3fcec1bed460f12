"""Patients: demographics (front desk) and search by MRN, name or date of birth."""
from __future__ import annotations

from datetime import date

from flask import g, request

from scheduler import access
from scheduler.api import bp, serialize
from scheduler.api import parsing as p
from scheduler.auth import require
from scheduler.errors import ValidationError
from scheduler.models import Patient
from scheduler.models.patient import CONTACT_PREFERENCES
from scheduler.services import directory

FIELDS = {"mrn", "name", "birth_date", "phone", "email", "ride_home_arranged", "contact_preference"}


def _birth_date(body: dict) -> date:
    born = p.date_field(body, "birth_date")
    if born > date.today():
        raise ValidationError("birth_date is in the future.", field="birth_date")
    if born.year < 1900:
        raise ValidationError("birth_date is before 1900.", field="birth_date")
    return born


@bp.post("/patients")
@require("manage_patients")
def create_patient():
    body = p.json_body()
    p.reject_unknown(body, FIELDS)
    patient = directory.create_patient(
        g.user.id, mrn=p.string(body, "mrn", max_length=64), name=p.string(body, "name"),
        birth_date=_birth_date(body), phone=p.string(body, "phone", required=False, max_length=40),
        email=p.string(body, "email", required=False), ride_home_arranged=p.boolean(body, "ride_home_arranged"),
        contact_preference=p.choice(body, "contact_preference", CONTACT_PREFERENCES, required=False))
    return serialize.patient(patient), 201


@bp.patch("/patients/<int:patient_id>")
@require("manage_patients")
def update_patient(patient_id: int):
    patient = p.get_or_404(Patient, patient_id)
    body = p.json_body()
    p.reject_unknown(body, FIELDS - {"mrn"})
    changes: dict = {}
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
