"""Everything as FHIR R4 NDJSON in the shape of a Bulk Data export: one ``<Type>.ndjson`` file per
resource type (one resource per line) and ``manifest.json`` like the Bulk Data status answer
(``transactionTime``, ``request``, ``requiresAccessToken``, ``output`` [{type, url, count}], ``error``).

Locations are the clinics (``Location/clinic-<id>``) and their rooms, Practitioners the staff,
CarePlans the courses, Appointments the sessions, AuditEvents the audit trail; Observations
(assessments) and DocumentReferences (clinical notes) only when the export may carry clinical
content.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from scheduler.api.serialize import instant
from scheduler.db import db_session
from scheduler.domain.clinical_content import redact_reason, redact_state
from scheduler.fhir.appointments import appointment
from scheduler.fhir.care_plans import care_plan
from scheduler.fhir.directory import clinic_location, patient, practitioner, room_location
from scheduler.models import (
    Assessment,
    AuditEvent,
    Clinic,
    ClinicalNote,
    Course,
    Patient,
    Room,
    StaffMember,
    TreatmentSession,
    utcnow,
)
from scheduler.services.exports import Opener

PAGE = 1000
LOINC = {"PHQ-9": "44261-6", "GAD-7": "70274-6", "Y-BOCS": None, "PCL-5": None, "MADRS": None}


def _pages(model, *options) -> Iterator:
    last = 0
    while True:
        batch = list(
            db_session.scalars(select(model).where(model.id > last).order_by(model.id).limit(PAGE).options(*options))
        )
        if not batch:
            return
        yield from batch
        last = batch[-1].id


def _locations() -> Iterator[dict]:
    for clinic in _pages(Clinic):
        yield clinic_location(clinic)
    for room in _pages(Room, selectinload(Room.clinic)):
        yield room_location(room)


def _care_plans() -> Iterator[dict]:
    for course in _pages(Course, selectinload(Course.patient)):
        ids = list(
            db_session.scalars(
                select(TreatmentSession.id)
                .where(TreatmentSession.course_id == course.id)
                .order_by(TreatmentSession.starts_at, TreatmentSession.id)
            )
        )
        yield care_plan(course, ids)


def _appointments() -> Iterator[dict]:
    clinics = {c.id: c for c in db_session.scalars(select(Clinic))}
    TS = TreatmentSession
    for row in _pages(TS, selectinload(TS.patient), selectinload(TS.staff_member), selectinload(TS.room)):
        yield appointment(row, clinics[row.clinic_id])


def _observations() -> Iterator[dict]:
    for a in _pages(Assessment):
        coding = [{"system": "urn:scheduler:instrument", "code": a.instrument, "display": a.instrument}]
        if LOINC.get(a.instrument):
            coding.insert(0, {"system": "http://loinc.org", "code": LOINC[a.instrument]})
        yield {
            "resourceType": "Observation",
            "id": str(a.id),
            "status": "final",
            "category": [
                {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "survey"}]}
            ],
            "code": {"coding": coding, "text": a.instrument},
            "subject": {"reference": f"Patient/{a.patient_id}"},
            "effectiveDateTime": a.taken_on.isoformat(),
            "issued": instant(a.created_at),
            "valueInteger": a.score,
        }


def _documents() -> Iterator[dict]:
    for n in _pages(ClinicalNote):
        resource: dict[str, Any] = {
            "resourceType": "DocumentReference",
            "id": str(n.id),
            "status": "current",
            "type": {"text": "Clinical note"},
            "subject": {"reference": f"Patient/{n.patient_id}"},
            "date": instant(n.created_at),
            "content": [
                {
                    "attachment": {
                        "contentType": "text/plain; charset=utf-8",
                        "data": base64.b64encode(n.body.encode()).decode(),
                    }
                }
            ],
        }
        if n.treatment_session_id:
            resource["context"] = {"encounter": [{"display": f"Appointment/{n.treatment_session_id}"}]}
        yield resource


def _audit_events(clinical: bool) -> Iterator[dict]:
    for e in _pages(AuditEvent):
        after = e.after if clinical else redact_state(e.entity_type, e.after)
        who = (
            {"identifier": {"system": "urn:scheduler:user", "value": str(e.actor_id)}}
            if e.actor_id
            else {"display": "scheduler (command or system)"}
        )
        resource = {
            "resourceType": "AuditEvent",
            "id": str(e.id),
            "type": {"system": "urn:scheduler:audit-action", "code": e.action},
            "recorded": instant(e.at),
            "agent": [{"who": who, "requestor": True}],
            "source": {"observer": {"display": "scheduler"}},
            "entity": [
                {
                    "what": {"identifier": {"system": f"urn:scheduler:{e.entity_type}", "value": str(e.entity_id)}},
                    "detail": [{"type": "after", "valueString": json.dumps(after, sort_keys=True)}],
                }
            ],
        }
        if e.reason:
            resource["outcomeDesc"] = e.reason if clinical else redact_reason(e.action, e.reason)
        yield resource


def export(open_file: Opener, *, clinical: bool, request: str = "scheduler export --format fhir") -> dict:
    kinds = [
        ("Patient", lambda: (patient(p) for p in _pages(Patient))),
        ("Practitioner", lambda: (practitioner(s) for s in _pages(StaffMember))),
        ("Location", _locations),
        ("CarePlan", _care_plans),
        ("Appointment", _appointments),
    ]
    if clinical:
        kinds += [("Observation", _observations), ("DocumentReference", _documents)]
    kinds.append(("AuditEvent", lambda: _audit_events(clinical)))
    output = []
    started = utcnow()
    for kind, resources in kinds:
        n = 0
        with open_file(f"{kind}.ndjson") as out:
            for resource in resources():
                out.write(json.dumps(resource, ensure_ascii=False, separators=(",", ":")) + "\n")
                n += 1
        output.append({"type": kind, "url": f"{kind}.ndjson", "count": n})
    manifest = {
        "transactionTime": started.isoformat(),
        "request": request,
        "requiresAccessToken": False,
        "output": output,
        "error": [],
    }
    with open_file("manifest.json") as out:
        out.write(json.dumps(manifest, indent=2) + "\n")
    return manifest
