"""Read-only look-ups the pages need that no service offers yet (kept thin: one query each).

Searching patients is ``services.directory.search_patients``, shared with the API."""
from __future__ import annotations

from sqlalchemy import select

from scheduler.db import db_session
from scheduler.models import Course, Patient


def patient_names(ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(db_session.execute(select(Patient.id, Patient.name).where(Patient.id.in_(sorted(ids)))).all())


def courses_of(patient_id: int) -> list[Course]:
    return list(db_session.scalars(select(Course).where(Course.patient_id == patient_id)
                                   .order_by(Course.start_on.desc(), Course.id.desc())))
