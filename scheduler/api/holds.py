"""Dosing holds (clinicians): stop and resume dosing for a patient, with a reason, audited."""

from __future__ import annotations

from flask import g

from scheduler.api import bp, serialize
from scheduler.api import parsing as p
from scheduler.auth import require
from scheduler.models import Patient
from scheduler.services import clinical


@bp.post("/patients/<int:patient_id>/dosing_hold")
@require("write_clinical")
def place_dosing_hold(patient_id: int):
    patient = p.get_or_404(Patient, patient_id, "patient")
    body = p.json_body()
    p.reject_unknown(body, {"reason"})
    clinical.place_dosing_hold(g.user.id, patient, reason=p.string(body, "reason", max_length=500))
    return serialize.patient(patient)


@bp.post("/patients/<int:patient_id>/dosing_hold/lift")
@require("write_clinical")
def lift_dosing_hold(patient_id: int):
    patient = p.get_or_404(Patient, patient_id, "patient")
    body = p.json_body()
    p.reject_unknown(body, {"reason"})
    clinical.lift_dosing_hold(g.user.id, patient, reason=p.string(body, "reason", max_length=500))
    return serialize.patient(patient)
