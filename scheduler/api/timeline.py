"""A patient's timeline: ``GET /patients/{id}/timeline``. Assessments only for roles that may read
clinical data (the front desk never sees them)."""
from __future__ import annotations

from scheduler import access
from scheduler.api import bp, serialize
from scheduler.api.assessments import assessment_json
from scheduler.auth import can, require
from scheduler.services import timeline as service


@bp.get("/patients/<int:patient_id>/timeline")
@access.logged
@require("read_schedule")
def patient_timeline(patient_id: int):
    t = service.timeline(patient_id, with_assessments=can("read_clinical"))
    access.log_read("timeline", t.patient.id)
    body = {"patient": serialize.patient(t.patient),
            "courses": [serialize.course(c) for c in t.courses],
            "sessions": [serialize.session(s, t.timezones[s.clinic_id]) for s in t.sessions],
            "flags": [serialize.flag(f) for f in t.flags],
            "next_due": t.next_due.to_dict() if t.next_due else None}
    if t.assessments is not None:
        body["assessments"] = [assessment_json(a) for a in t.assessments]
    return body
