"""A patient's timeline: ``GET /patients/{id}/timeline``. Assessments only for roles that may read
clinical data (the front desk never sees them). Sessions come a page at a time, newest first:
``limit`` (default 200, at most 1000) sessions starting before ``before`` (an instant with offset;
default: all, upcoming ones included), in time order; ``earlier_before`` is the ``before`` of the
next (earlier) page, null on the last one."""

from __future__ import annotations

from flask import request

from scheduler import access
from scheduler.api import bp, serialize
from scheduler.api import parsing as p
from scheduler.api.assessments import assessment_json
from scheduler.auth import can, require
from scheduler.errors import ValidationError
from scheduler.services import inputs
from scheduler.services import timeline as service


@bp.get("/patients/<int:patient_id>/timeline")
@access.logged
@require("read_schedule")
def patient_timeline(patient_id: int):
    inputs.patient_row(patient_id)  # an unknown patient is 404 before any parameter is judged
    before = request.args.get("before")
    limit = p.query_int("limit")
    if limit is not None and not 1 <= limit <= service.MAX_SESSIONS:
        raise ValidationError(f"limit must be between 1 and {service.MAX_SESSIONS}.", field="limit")
    t = service.timeline(
        patient_id,
        with_assessments=can("read_clinical"),
        before=p.parse_instant(before, "before") if before else None,
        limit=limit or service.DEFAULT_SESSIONS,
    )
    access.log_read("timeline", t.patient.id)
    body = {
        "patient": serialize.patient(t.patient),
        "courses": [serialize.course(c) for c in t.courses],
        "sessions": [serialize.session(s, t.timezones[s.clinic_id]) for s in t.sessions],
        "flags": [serialize.flag(f) for f in t.flags],
        "next_due": t.next_due.to_dict() if t.next_due else None,
        "earlier_before": serialize.instant(t.earlier_before),
    }
    if t.assessments is not None:
        body["assessments"] = [assessment_json(a) for a in t.assessments]
    return body
