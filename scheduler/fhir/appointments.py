"""Appointments: ``Appointment/<session id>`` (every treatment session), ``Appointment/hold-<id>``
(a slot held by $hold: ``pending`` while it lasts) and ``GET /fhir/Appointment?...`` searches."""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from scheduler import access
from scheduler.api.serialize import instant
from scheduler.auth import require
from scheduler.db import db_session
from scheduler.errors import NotFound
from scheduler.fhir import base_url, bp, fhir_response
from scheduler.fhir import search as s
from scheduler.fhir.search import MRN_SYSTEM, Param
from scheduler.models import AppointmentHold, Clinic, Patient, TreatmentSession
from scheduler.services import holds, scope

KIND_SYSTEM = "urn:scheduler:session-kind"
APPOINTMENT_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v2-0276"
# Our session status → FHIR R4 AppointmentStatus.
STATUS = {
    "proposed": "proposed",
    "booked": "booked",
    "checked_in": "checked-in",
    "completed": "fulfilled",
    "cancelled": "cancelled",
    "no_show": "noshow",
}
HOLD_STATUS = {"held": "pending", "booked": "booked", "released": "cancelled", "expired": "cancelled"}
KIND_DISPLAY = {
    "evaluation": "Evaluation",
    "preparation": "Preparation",
    "dose": "Dose",
    "integration": "Integration",
    "follow_up": "Follow-up",
}
TS = TreatmentSession

s.searchable(
    "Appointment",
    [
        Param("patient", "reference", "The patient: Patient/<id>, or patient:identifier=urn:scheduler:mrn|<MRN>"),
        Param(
            "date",
            "date",
            "Appointment start: prefixes eq, ne, gt, lt, ge, le; dates in the clinic's zone; repeat for a range",
            "http://hl7.org/fhir/SearchParameter/clinical-date",
        ),
        Param(
            "status",
            "token",
            "booked, checked-in, fulfilled, cancelled, noshow, proposed (comma: any)",
            "http://hl7.org/fhir/SearchParameter/Appointment-status",
        ),
        Param(
            "actor",
            "reference",
            "Patient/<id>, Practitioner/<id>, Location/<room id> or Location/clinic-<id>",
            "http://hl7.org/fhir/SearchParameter/Appointment-actor",
        ),
    ],
)


def service_type(kind: str) -> list[dict]:
    return [{"coding": [{"system": KIND_SYSTEM, "code": kind, "display": KIND_DISPLAY[kind]}]}]


def participants(row, status: str) -> list[dict]:
    """Patient, Practitioner (when there is one) and Location of a session or a hold."""
    out = [
        {
            "actor": {
                "reference": f"Patient/{row.patient_id}",
                "display": row.patient.name,
                "identifier": {"system": MRN_SYSTEM, "value": row.patient.mrn},
            },
            "required": "required",
            "status": status,
        }
    ]
    if row.staff_member_id is not None:
        out.append(
            {
                "actor": {"reference": f"Practitioner/{row.staff_member_id}", "display": row.staff_member.name},
                "required": "required",
                "status": status,
            }
        )
    out.append(
        {
            "actor": {"reference": f"Location/{row.room_id}", "display": row.room.name},
            "required": "required",
            "status": status,
        }
    )
    return out


def _timing(row, tz: str) -> dict:
    return {
        "start": instant(row.starts_at, tz),
        "end": instant(row.ends_at, tz),
        "minutesDuration": int((row.ends_at - row.starts_at).total_seconds() // 60),
    }


def appointment(row: TreatmentSession, clinic: Clinic) -> dict:
    resource = {
        "resourceType": "Appointment",
        "id": str(row.id),
        "meta": {"versionId": str(row.version), "lastUpdated": instant(row.updated_at)},
        "status": STATUS[row.status],
        "serviceType": service_type(row.kind),
        "appointmentType": {
            "coding": [
                {"system": APPOINTMENT_TYPE_SYSTEM, "code": "FOLLOWUP" if row.kind == "follow_up" else "ROUTINE"}
            ],
            "text": KIND_DISPLAY[row.kind],
        },
        "description": KIND_DISPLAY[row.kind] + (f" {row.sequence}" if row.kind == "dose" and row.sequence else ""),
        **_timing(row, clinic.timezone),
        "created": instant(row.created_at),
        "participant": participants(row, "needs-action" if row.status == "proposed" else "accepted"),
    }
    if row.status == "cancelled":
        resource["cancelationReason"] = {"text": row.cancel_reason or "cancelled"}
    return resource


def hold_appointment(row: AppointmentHold, clinic: Clinic) -> dict:
    """A held slot: ``pending`` while the hold lasts; ``booked`` (pointing at the session) after $book."""
    status = holds.status(row)
    resource = {
        "resourceType": "Appointment",
        "id": f"hold-{row.id}",
        "meta": {"lastUpdated": instant(row.updated_at)},
        "identifier": [{"system": "urn:scheduler:hold", "value": str(row.id)}],
        "status": HOLD_STATUS[status],
        "serviceType": service_type(row.kind),
        "description": f"{KIND_DISPLAY[row.kind]} held until {instant(row.expires_at, clinic.timezone)}",
        **_timing(row, clinic.timezone),
        "created": instant(row.created_at),
        "participant": participants(row, "tentative" if status == "held" else "accepted"),
    }
    if status in ("released", "expired"):
        resource["cancelationReason"] = {"text": row.released_reason or f"hold {status}"}
    if row.session_id is not None:
        resource["supportingInformation"] = [{"reference": f"Appointment/{row.session_id}"}]
    return resource


def load_session(ident: str) -> TreatmentSession:
    number = s.numeric(ident)
    row = db_session.get(TS, number) if number is not None else None
    if row is None or not scope.may_see_clinic(row.clinic_id):
        raise NotFound(f"No appointment with id {ident}.")
    return row


def load_hold(ident: str) -> AppointmentHold:
    number = s.numeric(ident.removeprefix("hold-")) if ident.startswith("hold-") else None
    row = db_session.get(AppointmentHold, number) if number is not None else None
    if row is None or not scope.may_see_clinic(row.clinic_id):
        raise NotFound(f"No appointment with id {ident}.")
    return row


def render(ident: str) -> dict:
    if ident.startswith("hold-"):
        hold = load_hold(ident)
        return hold_appointment(hold, db_session.get_one(Clinic, hold.clinic_id))
    row = load_session(ident)
    return appointment(row, db_session.get_one(Clinic, row.clinic_id))


@bp.get("/Appointment/<ident>")
@access.logged
@require("read_schedule")
def read_appointment(ident: str):
    resource = render(ident)
    access.log_read("fhir_appointments", *_patients_of([resource]))
    return fhir_response(resource)


def _patients_of(resources: list[dict]) -> list[int]:
    """The patients (ids) an Appointment answer names."""
    ids = []
    for resource in resources:
        for participant in resource.get("participant", []):
            reference = participant.get("actor", {}).get("reference", "")
            if reference.startswith("Patient/") and reference.removeprefix("Patient/").isdigit():
                ids.append(int(reference.removeprefix("Patient/")))
    return ids


def patient_clause(query: s.Query):
    """``patient`` as a reference, ``patient:identifier`` (or a token ``system|MRN``) as an MRN."""
    clauses = []
    for raw in query.values.get("patient", []):
        if "|" in raw:  # a token: the identifier form without the modifier
            clauses.append(Patient.mrn.in_(s.identifier_values(raw, "patient")))
        else:
            ids = [s.numeric(i) for _, i in s.reference_ids(raw, "patient", ("Patient",))]
            clauses.append(TS.patient_id.in_([i for i in ids if i is not None]))
    for raw in query.values.get("patient:identifier", []):
        clauses.append(Patient.mrn.in_(s.identifier_values(raw, "patient:identifier")))
    return clauses


ACTOR_COLUMNS = {"Patient": TS.patient_id, "Practitioner": TS.staff_member_id, "Location": TS.room_id}


def actor_clause(raw: str):
    parts = []
    for kind, ident in s.reference_ids(raw, "actor", ("Patient", "Practitioner", "Location")):
        if kind == "Location" and ident.startswith("clinic-"):
            number = s.numeric(ident.removeprefix("clinic-"))
            parts.append(TS.clinic_id == (number if number is not None else -1))
        else:
            number = s.numeric(ident)
            parts.append(ACTOR_COLUMNS[kind] == (number if number is not None else -1))
    return or_(*parts)


def date_clause(tests: list[s.DateTest], clinics: list[Clinic]):
    """Each clinic's sessions with its own zone's reading of the dates."""
    return (
        or_(*[(TS.clinic_id == c.id) & s.and_all([t.sql(TS.starts_at, c.timezone) for t in tests]) for c in clinics])
        if clinics
        else TS.id < 0
    )


@bp.get("/Appointment")
@access.logged
@require("read_schedule")
def search_appointments():
    query = s.parse("Appointment")  # no parameter: every appointment, a page at a time
    statement = select(TS).join(Patient, Patient.id == TS.patient_id).where(scope.clinic_clause(TS.clinic_id))
    for clause in patient_clause(query):
        statement = statement.where(clause)
    for raw in query.values.get("actor", []):
        statement = statement.where(actor_clause(raw))
    for raw in query.values.get("status", []):
        wanted = {
            ours
            for ours, theirs in STATUS.items()
            if theirs in s.tokens(raw, "status", {v: v for v in STATUS.values()})
        }
        statement = statement.where(TS.status.in_(sorted(wanted)))
    tests = s.date_tests(query, "date")
    clinics = list(db_session.scalars(select(Clinic).order_by(Clinic.id)))
    if tests:
        statement = statement.where(date_clause(tests, clinics))
    total = db_session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    rows = (
        []
        if query.count == 0
        else list(
            db_session.scalars(
                statement.options(selectinload(TS.patient), selectinload(TS.room), selectinload(TS.staff_member))
                .order_by(TS.starts_at, TS.id)
                .limit(query.count)
                .offset(query.offset)
            )
        )
    )
    by_id = {c.id: c for c in clinics}
    base = base_url()
    entries = [
        {"fullUrl": f"{base}/Appointment/{row.id}", "resource": appointment(row, by_id[row.clinic_id])} for row in rows
    ]
    access.log_read("fhir_appointments", *(row.patient_id for row in rows))
    return fhir_response(s.bundle(query, total, entries))
