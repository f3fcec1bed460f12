"""The access log: every read of a patient's data, added to the reading request's own transaction
(committed with the answer, so an answer that was sent was logged)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import insert

from scheduler.db import db_session
from scheduler.models import AccessLogEntry, utcnow

# What was read: the patient's record (demographics; a search's matches), timeline, clinical notes,
# assessments, calendar feed (a patient's, a room's or a clinician's), FHIR appointments, the
# schedule (sessions in a list, the day board, the week, a session's page), courses, FHIR care plans,
# payer authorizations, the waitlist, flags (worklists), messages to the patient, the audit trail's
# entries about the patient, an export, a REMS Patient Monitoring Form.
WHAT = (
    "record",
    "search",
    "timeline",
    "notes",
    "assessments",
    "feed",
    "fhir_appointments",
    "schedule",
    "courses",
    "care_plans",
    "authorizations",
    "waitlist",
    "flags",
    "messages",
    "audit",
    "export",
    "rems_form",
)


def record(user_id: int, patient_ids: Iterable[int], what: str, route: str) -> int:
    """Log the reads (each patient once, in order) as one INSERT; how many entries were written."""
    if what not in WHAT:
        raise ValueError(f"unknown access kind {what!r}")
    at = utcnow()
    rows = [
        {"at": at, "user_id": user_id, "patient_id": pid, "what": what, "route": route[:200]}
        for pid in dict.fromkeys(patient_ids)
    ]
    if rows:
        db_session.execute(insert(AccessLogEntry), rows)
    return len(rows)


def patients_in_audit_event(
    entity_type: str, entity_id: int | None, before: dict | None, after: dict | None
) -> list[int]:
    """The patients an audit entry is about: the patient changed, or the ``patient_id`` its
    snapshots name (a session, a course, a note...)."""
    found = [entity_id] if entity_type == "patient" and entity_id else []
    for snapshot in (before, after):
        pid = snapshot.get("patient_id") if isinstance(snapshot, dict) else None
        if isinstance(pid, int) and not isinstance(pid, bool):
            found.append(pid)
    return found
