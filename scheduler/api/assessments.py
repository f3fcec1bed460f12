"""Assessments (clinicians): dated scores on a rating instrument, range-checked."""

from __future__ import annotations

from datetime import date, timedelta

from flask import g
from sqlalchemy import select

from scheduler import access
from scheduler.api import bp, serialize
from scheduler.api import parsing as p
from scheduler.api.idempotency import idempotent
from scheduler.auth import require
from scheduler.db import db_session
from scheduler.domain.vocabulary import INSTRUMENTS, MEASUREMENTS
from scheduler.errors import UnprocessableError, ValidationError
from scheduler.models import Assessment, Course, Patient
from scheduler.services import clinical


def assessment_json(a: Assessment) -> dict:
    _low, high = INSTRUMENTS[a.instrument]
    return {
        "id": a.id,
        "patient_id": a.patient_id,
        "course_id": a.course_id,
        "instrument": a.instrument,
        "score": a.score,
        "max_score": high,
        "taken_on": a.taken_on.isoformat(),
        "recorded_by_id": a.recorded_by_id,
        "created_at": serialize.instant(a.created_at),
    }


@bp.post("/patients/<int:patient_id>/assessments")
@require("write_clinical")
@idempotent
def create_assessment(patient_id: int):
    patient = p.get_or_404(Patient, patient_id, "patient")
    body = p.json_body()
    p.reject_unknown(body, {"instrument", "score", "taken_on", "course_id"})
    instrument = p.choice(body, "instrument", INSTRUMENTS)
    low, high = INSTRUMENTS[instrument]
    score = p.integer(body, "score")
    if not low <= score <= high:
        what = "values (percent of machine output)" if instrument in MEASUREMENTS else "scores"
        raise ValidationError(f"score: {instrument} {what} run from {low} to {high}, not {score}.", field="score")
    taken_on = p.date_field(body, "taken_on")
    # A day of slack: the clinic's local date may be ahead of the server's UTC date.
    if taken_on > date.today() + timedelta(days=1):
        raise UnprocessableError("taken_on is in the future.", field="taken_on")
    course_id = p.integer(body, "course_id", required=False, minimum=1)
    if course_id is not None:
        course = p.get_or_404(Course, course_id, "course")
        if course.patient_id != patient.id:
            raise UnprocessableError(f"course {course_id} belongs to another patient.", field="course_id")
    row = clinical.record_assessment(
        g.user.id, patient, instrument=instrument, score=score, taken_on=taken_on, course_id=course_id
    )
    return assessment_json(row), 201


@bp.get("/patients/<int:patient_id>/assessments")
@access.logged
@require("read_clinical")
def list_assessments(patient_id: int):
    p.get_or_404(Patient, patient_id, "patient")
    access.log_read("assessments", patient_id)
    rows = db_session.scalars(
        select(Assessment).where(Assessment.patient_id == patient_id).order_by(Assessment.taken_on, Assessment.id)
    )
    return {"assessments": [assessment_json(a) for a in rows]}
