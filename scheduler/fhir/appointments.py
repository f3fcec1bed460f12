"""``GET /fhir/Appointment?patient=MRN`` → a searchset Bundle of the patient's sessions."""
from __future__ import annotations

from flask import request
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from scheduler.auth import require
from scheduler.db import db_session
from scheduler.errors import ValidationError
from scheduler.fhir import base_url, bp, fhir_response
from scheduler.models import Clinic, Patient, TreatmentSession

MRN_SYSTEM = "urn:scheduler:mrn"
KIND_SYSTEM = "urn:scheduler:session-kind"
APPOINTMENT_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v2-0276"
# Our session status → FHIR R4 AppointmentStatus.
STATUS = {"proposed": "proposed", "booked": "booked", "checked_in": "checked-in", "completed": "fulfilled",
          "cancelled": "cancelled", "no_show": "noshow"}
KIND_DISPLAY = {"evaluation": "Evaluation", "preparation": "Preparation", "dose": "Dose",
                "integration": "Integration", "follow_up": "Follow-up"}


def _participant_status(session: TreatmentSession) -> str:
    return "needs-action" if session.status == "proposed" else "accepted"


def appointment(s: TreatmentSession, clinic: Clinic) -> dict:
    from scheduler.api.serialize import instant

    status = _participant_status(s)
    participants = [{"actor": {"reference": f"Patient/{s.patient_id}", "display": s.patient.name,
                               "identifier": {"system": MRN_SYSTEM, "value": s.patient.mrn}},
                     "required": "required", "status": status},
                    {"actor": {"reference": f"Location/{s.room_id}", "display": s.room.name},
                     "required": "required", "status": status}]
    if s.staff_member is not None:
        participants.insert(1, {"actor": {"reference": f"Practitioner/{s.staff_member_id}",
                                          "display": s.staff_member.name},
                                "required": "required", "status": status})
    resource = {
        "resourceType": "Appointment",
        "id": str(s.id),
        "meta": {"versionId": str(s.version), "lastUpdated": instant(s.updated_at)},
        "status": STATUS[s.status],
        "serviceType": [{"coding": [{"system": KIND_SYSTEM, "code": s.kind, "display": KIND_DISPLAY[s.kind]}]}],
        "appointmentType": {"coding": [{"system": APPOINTMENT_TYPE_SYSTEM,
                                        "code": "FOLLOWUP" if s.kind == "follow_up" else "ROUTINE"}],
                            "text": KIND_DISPLAY[s.kind]},
        "description": KIND_DISPLAY[s.kind] + (f" {s.sequence}" if s.kind == "dose" and s.sequence else ""),
        "start": instant(s.starts_at, clinic.timezone),
        "end": instant(s.ends_at, clinic.timezone),
        "minutesDuration": int((s.ends_at - s.starts_at).total_seconds() // 60),
        "created": instant(s.created_at),
        "participant": participants,
    }
    if s.status == "cancelled":
        resource["cancelationReason"] = {"text": s.cancel_reason or "cancelled"}
    return resource


def _mrn() -> str:
    raw = (request.args.get("patient") or "").strip()
    if not raw:
        raise ValidationError("patient is required: the patient's MRN (or urn:scheduler:mrn|MRN).", field="patient")
    system, bar, value = raw.rpartition("|")
    if bar and system and system != MRN_SYSTEM:
        raise ValidationError(f"patient: only the identifier system {MRN_SYSTEM} is known.", field="patient")
    return value if bar else raw


@bp.get("/Appointment")
@require("read_schedule")
def search_appointments():
    mrn = _mrn()
    patient = db_session.scalar(select(Patient).where(Patient.mrn == mrn))
    sessions = []
    if patient is not None:
        sessions = list(db_session.scalars(
            select(TreatmentSession).where(TreatmentSession.patient_id == patient.id)
            .options(selectinload(TreatmentSession.patient), selectinload(TreatmentSession.room),
                     selectinload(TreatmentSession.staff_member))
            .order_by(TreatmentSession.starts_at, TreatmentSession.id)))
    clinics = {c.id: c for c in db_session.scalars(
        select(Clinic).where(Clinic.id.in_({s.clinic_id for s in sessions})))}
    base = base_url()
    return fhir_response({
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(sessions),
        "link": [{"relation": "self", "url": request.url}],
        "entry": [{"fullUrl": f"{base}/Appointment/{s.id}", "resource": appointment(s, clinics[s.clinic_id]),
                   "search": {"mode": "match"}} for s in sessions],
    })
