"""Reads of the clinic's directory as FHIR: ``Patient/<id>``, ``Practitioner/<staff id>``,
``Location/<room id>`` (each room ``partOf`` its clinic) and ``Location/clinic-<id>``."""

from __future__ import annotations

from scheduler import access
from scheduler.api.serialize import instant
from scheduler.auth import require
from scheduler.db import db_session
from scheduler.errors import NotFound
from scheduler.fhir import bp, fhir_response
from scheduler.fhir.search import MRN_SYSTEM, numeric
from scheduler.models import Clinic, Patient, Room, StaffMember
from scheduler.services import scope

PHYSICAL_TYPE = "http://terminology.hl7.org/CodeSystem/location-physical-type"
ROLE_DISPLAY = {"prescriber": "Prescriber", "nurse": "Nurse", "therapist": "Therapist"}


def get(model, ident: str, what: str):
    row = db_session.get(model, numeric(ident)) if numeric(ident) is not None else None
    if row is None:
        raise NotFound(f"No {what} with id {ident}.")
    return scope.check(row, what)


def patient(row: Patient) -> dict:
    telecom = []
    if row.phone:
        telecom.append({"system": "phone", "value": row.phone})
    if row.email:
        telecom.append({"system": "email", "value": row.email})
    return {
        "resourceType": "Patient",
        "id": str(row.id),
        "meta": {"lastUpdated": instant(row.created_at)},
        "identifier": [{"system": MRN_SYSTEM, "value": row.mrn}],
        "active": True,
        "name": [{"text": row.name}],
        "telecom": telecom,
        "birthDate": row.birth_date.isoformat(),
    }


def practitioner(row: StaffMember) -> dict:
    return {
        "resourceType": "Practitioner",
        "id": str(row.id),
        "active": row.active,
        "name": [{"text": row.name}],
        "qualification": [
            {
                "code": {
                    "coding": [
                        {
                            "system": "urn:scheduler:staff-role",
                            "code": row.role,
                            "display": ROLE_DISPLAY.get(row.role, row.role),
                        }
                    ],
                    "text": ROLE_DISPLAY.get(row.role, row.role),
                }
            }
        ],
    }


def room_location(row: Room) -> dict:
    return {
        "resourceType": "Location",
        "id": str(row.id),
        "status": "active" if row.active else "inactive",
        "name": row.name,
        "mode": "instance",
        "type": [{"coding": [{"system": "urn:scheduler:room-capability", "code": c}]} for c in row.capabilities],
        "physicalType": {"coding": [{"system": PHYSICAL_TYPE, "code": "ro", "display": "Room"}]},
        "partOf": {"reference": f"Location/clinic-{row.clinic_id}", "display": row.clinic.name},
    }


def clinic_location(row: Clinic) -> dict:
    return {
        "resourceType": "Location",
        "id": f"clinic-{row.id}",
        "status": "active",
        "name": row.name,
        "mode": "instance",
        "description": f"Time zone {row.timezone}",
        "physicalType": {"coding": [{"system": PHYSICAL_TYPE, "code": "si", "display": "Site"}]},
    }


@bp.get("/Patient/<ident>")
@access.logged
@require("read_schedule")
def read_patient(ident: str):
    row = get(Patient, ident, "patient")
    access.log_read("record", row.id)
    return fhir_response(patient(row))


@bp.get("/Practitioner/<ident>")
@require("read_schedule")
def read_practitioner(ident: str):
    return fhir_response(practitioner(get(StaffMember, ident, "practitioner (staff member)")))


@bp.get("/Location/<ident>")
@require("read_schedule")
def read_location(ident: str):
    if ident.startswith("clinic-"):
        return fhir_response(clinic_location(get(Clinic, ident.removeprefix("clinic-"), "clinic")))
    return fhir_response(room_location(get(Room, ident, "location (room)")))
