"""Clinical notes (clinicians only, append-only; never shown to the front desk)."""

from __future__ import annotations

from flask import g

from scheduler import access
from scheduler.api import bp, serialize
from scheduler.api import parsing as p
from scheduler.api.idempotency import idempotent
from scheduler.auth import require
from scheduler.errors import ValidationError
from scheduler.models import ClinicalNote, Patient, TreatmentSession
from scheduler.services import clinical


def note_json(n: ClinicalNote) -> dict:
    return {
        "id": n.id,
        "patient_id": n.patient_id,
        "session_id": n.treatment_session_id,
        "body": n.body,
        "author_id": n.author_id,
        "created_at": serialize.instant(n.created_at),
    }


@bp.post("/patients/<int:patient_id>/notes")
@require("write_clinical")
@idempotent
def create_note(patient_id: int):
    patient = p.get_or_404(Patient, patient_id, "patient")
    body = p.json_body()
    p.reject_unknown(body, {"body", "session_id"})
    text = p.string(body, "body", max_length=20000)
    session_id = p.integer(body, "session_id", required=False, minimum=1)
    if session_id is not None:
        session = p.get_or_404(TreatmentSession, session_id, "session")
        if session.patient_id != patient.id:
            raise ValidationError(f"session {session_id} belongs to another patient.", field="session_id")
    note = clinical.add_note(g.user.id, patient, body=text, treatment_session_id=session_id)
    return note_json(note), 201


@bp.get("/patients/<int:patient_id>/notes")
@access.logged
@require("read_clinical")
def list_notes(patient_id: int):
    p.get_or_404(Patient, patient_id, "patient")
    access.log_read("notes", patient_id)
    return {"notes": [note_json(n) for n, _author in clinical.notes(patient_id)]}
