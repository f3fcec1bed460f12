"""Read-only look-ups the pages need that no service offers yet (kept thin: one query each).

Searching patients is ``services.directory.search_patients``, shared with the API."""
from __future__ import annotations

from sqlalchemy import select

from scheduler.db import db_session
from scheduler.models import Course, Patient, TreatmentSession


def patient_names(ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(db_session.execute(select(Patient.id, Patient.name).where(Patient.id.in_(sorted(ids)))).all())


def courses_of(patient_id: int) -> list[Course]:
    return list(db_session.scalars(select(Course).where(Course.patient_id == patient_id)
                                   .order_by(Course.start_on.desc(), Course.id.desc())))


def missed_dose(course_id: int) -> int | None:
    """The course's latest cancelled or missed dose (to re-plan from), or None."""
    TS = TreatmentSession
    return db_session.scalar(select(TS.id).where(TS.course_id == course_id, TS.kind == "dose",
                                                 TS.status.in_(("cancelled", "no_show")))
                             .order_by(TS.starts_at.desc(), TS.id.desc()).limit(1))


def session_times(ids: set[int]) -> dict[int, tuple]:
    """id -> (starts_at, kind, sequence) of the sessions a worklist row lists."""
    if not ids:
        return {}
    TS = TreatmentSession
    return {i: (at, kind, seq) for i, at, kind, seq in db_session.execute(
        select(TS.id, TS.starts_at, TS.kind, TS.sequence).where(TS.id.in_(sorted(ids))))}
