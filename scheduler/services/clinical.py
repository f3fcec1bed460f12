"""Clinicians' records: assessments, clinical notes and dosing holds (each write audited)."""

from __future__ import annotations

from datetime import date

from scheduler.db import db_session
from scheduler.errors import Conflict
from scheduler.models import Assessment, ClinicalNote, Patient, utcnow
from scheduler.services import audit


def record_assessment(
    actor_id: int | None, patient: Patient, *, instrument: str, score: int, taken_on: date, course_id: int | None = None
) -> Assessment:
    row = Assessment(
        patient_id=patient.id,
        instrument=instrument,
        score=score,
        taken_on=taken_on,
        course_id=course_id,
        recorded_by_id=actor_id,
    )
    db_session.add(row)
    audit.record(actor_id, "assessment.create", row)
    return row


def add_note(
    actor_id: int | None, patient: Patient, *, body: str, treatment_session_id: int | None = None
) -> ClinicalNote:
    """Notes are append-only: a correction is a new note."""
    note = ClinicalNote(patient_id=patient.id, body=body, treatment_session_id=treatment_session_id, author_id=actor_id)
    db_session.add(note)
    audit.record(actor_id, "clinical_note.create", note)
    return note


def notes(patient_id: int) -> list[tuple[ClinicalNote, str | None]]:
    """The patient's clinical notes, oldest first, each with its author's email (None: unknown)."""
    from sqlalchemy import select

    from scheduler.models import User

    return [
        (n, email)
        for n, email in db_session.execute(
            select(ClinicalNote, User.email)
            .outerjoin(User, User.id == ClinicalNote.author_id)
            .where(ClinicalNote.patient_id == patient_id)
            .order_by(ClinicalNote.created_at, ClinicalNote.id)
        )
    ]


def place_dosing_hold(actor_id: int | None, patient: Patient, *, reason: str) -> Patient:
    if patient.dosing_hold_reason is not None:
        raise Conflict(
            f"Patient {patient.id} is already on a dosing hold ({patient.dosing_hold_reason}).", code="already_on_hold"
        )
    before = audit.snapshot(patient)
    patient.dosing_hold_reason = reason
    patient.dosing_hold_since = utcnow()
    patient.dosing_hold_by_id = actor_id
    audit.record(actor_id, "patient.dosing_hold", patient, before=before, reason=reason)
    return patient


def lift_dosing_hold(actor_id: int | None, patient: Patient, *, reason: str) -> Patient:
    if patient.dosing_hold_reason is None:
        raise Conflict(f"Patient {patient.id} is not on a dosing hold.", code="not_on_hold")
    before = audit.snapshot(patient)
    patient.dosing_hold_reason = None
    patient.dosing_hold_since = None
    patient.dosing_hold_by_id = None
    audit.record(actor_id, "patient.dosing_hold_lift", patient, before=before, reason=reason)
    return patient
