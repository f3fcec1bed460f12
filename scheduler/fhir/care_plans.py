"""A CarePlan per course: ``CarePlan/<course id>`` and ``CarePlan?patient=``; its
``activity.reference`` lists the course's appointments (every session, in time order)."""

from __future__ import annotations

from sqlalchemy import func, select

from scheduler import access
from scheduler.api.serialize import instant
from scheduler.auth import require
from scheduler.db import db_session
from scheduler.errors import ValidationError
from scheduler.fhir import base_url, bp, fhir_response
from scheduler.fhir import search as s
from scheduler.fhir.directory import get
from scheduler.fhir.search import Param
from scheduler.models import Course, Patient, TreatmentSession
from scheduler.protocols_registry import protocols
from scheduler.services import scope

STATUS = {
    "planned": "active",
    "active": "active",
    "maintenance": "active",
    "completed": "completed",
    "stopped": "revoked",
}

s.searchable(
    "CarePlan",
    [
        Param(
            "patient",
            "reference",
            "The patient: Patient/<id>, or patient:identifier=urn:scheduler:mrn|<MRN>",
            "http://hl7.org/fhir/SearchParameter/clinical-patient",
        ),
    ],
)


def care_plan(course: Course, session_ids: list[int]) -> dict:
    proto = protocols().get(course.protocol_key)
    title = getattr(proto, "name", None) or course.protocol_key
    return {
        "resourceType": "CarePlan",
        "id": str(course.id),
        "meta": {"lastUpdated": instant(course.created_at)},
        "identifier": [{"system": "urn:scheduler:protocol", "value": course.protocol_key}],
        "status": STATUS[course.status],
        "intent": "plan",
        "title": f"{title} course",
        "description": f"Course {course.id} of the {course.protocol_key} protocol ({course.status})"
        + (f": {course.stopped_reason}" if course.stopped_reason else ""),
        "subject": {"reference": f"Patient/{course.patient_id}", "display": course.patient.name},
        "period": {"start": course.start_on.isoformat()},
        "created": instant(course.created_at),
        "activity": [{"reference": {"reference": f"Appointment/{i}"}} for i in session_ids],
    }


def _sessions_of(course_ids: list[int]) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {i: [] for i in course_ids}
    TS = TreatmentSession
    for course_id, session_id in db_session.execute(
        select(TS.course_id, TS.id).where(TS.course_id.in_(course_ids)).order_by(TS.starts_at, TS.id)
    ):
        assert course_id is not None  # IN (...) matches no NULL
        out[course_id].append(session_id)
    return out


@bp.get("/CarePlan/<ident>")
@access.logged
@require("read_schedule")
def read_care_plan(ident: str):
    course = get(Course, ident, "care plan (course)")
    access.log_read("care_plans", course.patient_id)
    return fhir_response(care_plan(course, _sessions_of([course.id])[course.id]))


@bp.get("/CarePlan")
@access.logged
@require("read_schedule")
def search_care_plans():
    query = s.parse("CarePlan")
    statement = (
        select(Course).join(Patient, Patient.id == Course.patient_id).where(scope.clinic_clause(Course.clinic_id))
    )
    if not query.values:
        raise ValidationError(
            "patient is required (Patient/<id> or patient:identifier=urn:scheduler:mrn|<MRN>).", field="patient"
        )
    for raw in query.values.get("patient", []):
        if "|" in raw:
            statement = statement.where(Patient.mrn.in_(s.identifier_values(raw, "patient")))
        else:
            ids = [s.numeric(i) for _, i in s.reference_ids(raw, "patient", ("Patient",))]
            statement = statement.where(Course.patient_id.in_([i for i in ids if i is not None]))
    for raw in query.values.get("patient:identifier", []):
        statement = statement.where(Patient.mrn.in_(s.identifier_values(raw, "patient:identifier")))
    total = db_session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    courses = (
        []
        if query.count == 0
        else list(
            db_session.scalars(statement.order_by(Course.start_on, Course.id).limit(query.count).offset(query.offset))
        )
    )
    sessions = _sessions_of([c.id for c in courses])
    access.log_read("care_plans", *(c.patient_id for c in courses))
    base = base_url()
    return fhir_response(
        s.bundle(
            query,
            total,
            [{"fullUrl": f"{base}/CarePlan/{c.id}", "resource": care_plan(c, sessions[c.id])} for c in courses],
        )
    )
