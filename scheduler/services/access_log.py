"""The access log: every read of a patient's data, added to the reading request's own transaction
(committed with the answer, so an answer that was sent was logged)."""
from __future__ import annotations

from collections.abc import Iterable

from scheduler.db import db_session
from scheduler.models import AccessLogEntry, utcnow

# What was read: the patient's record (demographics), timeline, clinical notes, assessments,
# calendar feed, FHIR appointments.
WHAT = ("record", "timeline", "notes", "assessments", "feed", "fhir_appointments")


def record(user_id: int, patient_ids: Iterable[int], what: str, route: str) -> list[AccessLogEntry]:
    if what not in WHAT:
        raise ValueError(f"unknown access kind {what!r}")
    at = utcnow()
    entries = [AccessLogEntry(at=at, user_id=user_id, patient_id=pid, what=what, route=route[:200])
               for pid in dict.fromkeys(patient_ids)]  # each patient once, in order
    db_session.add_all(entries)
    return entries
