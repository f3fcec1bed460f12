"""Read-only look-ups the pages need that no service offers yet (kept thin: one query each).

Searching patients is ``services.directory.search_patients``, shared with the API."""

from __future__ import annotations

from sqlalchemy import select

from scheduler.db import db_session
from scheduler.domain.vocabulary import DEAD_STATUSES, LIVE_STATUSES
from scheduler.models import Course, Patient, TreatmentSession
from scheduler.services import scope


def patient_names(ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(db_session.execute(select(Patient.id, Patient.name).where(Patient.id.in_(sorted(ids)))).all())


def courses_of(patient_id: int) -> list[Course]:
    return list(
        db_session.scalars(
            select(Course)
            .where(Course.patient_id == patient_id, scope.clinic_clause(Course.clinic_id))
            .order_by(Course.start_on.desc(), Course.id.desc())
        )
    )


def missed_dose(course_id: int) -> int | None:
    """The course's latest cancelled or missed dose (to re-plan from), or None."""
    TS = TreatmentSession
    return db_session.scalar(
        select(TS.id)
        .where(TS.course_id == course_id, TS.kind == "dose", TS.status.in_(DEAD_STATUSES))
        .order_by(TS.starts_at.desc(), TS.id.desc())
        .limit(1)
    )


def session_times(ids: set[int]) -> dict[int, tuple]:
    """id -> (starts_at, kind, sequence) of the sessions a worklist row lists."""
    if not ids:
        return {}
    TS = TreatmentSession
    return {
        i: (at, kind, seq)
        for i, at, kind, seq in db_session.execute(
            select(TS.id, TS.starts_at, TS.kind, TS.sequence).where(TS.id.in_(sorted(ids)))
        )
    }


def integration_after(dose: TreatmentSession) -> TreatmentSession | None:
    """The live integration session that follows a dose of a course (after the dose, before the
    course's next live dose), to offer moving it along with the dose."""
    if dose.course_id is None or dose.kind != "dose":
        return None
    TS = TreatmentSession
    live = ("proposed", "booked")
    next_dose = db_session.scalar(
        select(TS.starts_at)
        .where(
            TS.course_id == dose.course_id,
            TS.kind == "dose",
            TS.starts_at > dose.starts_at,
            TS.status.in_(LIVE_STATUSES),
        )
        .order_by(TS.starts_at)
        .limit(1)
    )
    query = select(TS).where(
        TS.course_id == dose.course_id, TS.kind == "integration", TS.status.in_(live), TS.starts_at >= dose.ends_at
    )
    if next_dose is not None:
        query = query.where(TS.starts_at < next_dose)
    return db_session.scalars(query.order_by(TS.starts_at).limit(1)).first()
