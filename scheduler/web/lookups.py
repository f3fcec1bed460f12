"""Read-only look-ups the pages need that no service offers yet (kept thin: one query each)."""
from __future__ import annotations

from sqlalchemy import or_, select

from scheduler.db import db_session
from scheduler.models import Course, Patient


def patient_names(ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(db_session.execute(select(Patient.id, Patient.name).where(Patient.id.in_(sorted(ids)))).all())


def search_patients(q: str, limit: int = 50) -> list[Patient]:
    """The MRN exactly or a part of the name (case-insensitive), as ``GET /api/v1/patients?q=``."""
    query = select(Patient).order_by(Patient.name, Patient.id).limit(limit)
    if q:
        query = query.where(or_(Patient.mrn == q, Patient.name.ilike(f"%{q}%")))
    return list(db_session.scalars(query))


def courses_of(patient_id: int) -> list[Course]:
    return list(db_session.scalars(select(Course).where(Course.patient_id == patient_id)
                                   .order_by(Course.start_on.desc(), Course.id.desc())))
