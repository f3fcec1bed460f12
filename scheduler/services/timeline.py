"""A patient's timeline: courses, every session (all statuses), assessments, flags, next due window."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from scheduler.db import db_session
from scheduler.domain.maintenance import DueWindow, due_window
from scheduler.domain.timezones import local_date
from scheduler.domain.vocabulary import LIVE_STATUSES
from scheduler.models import Assessment, Clinic, Course, Patient, TreatmentSession
from scheduler.protocols_registry import protocols
from scheduler.services import flags as flag_service
from scheduler.services import inputs, scope

TS = TreatmentSession


@dataclass
class Timeline:
    patient: Patient
    courses: list[Course]
    sessions: list[TreatmentSession]
    timezones: dict[int, str]  # clinic id -> zone
    assessments: list[Assessment] | None
    flags: list
    next_due: DueWindow | None
    earlier_before: datetime | None = None  # more sessions start before this instant (the next page)


def next_due(courses: list[Course], sessions: list[TreatmentSession], timezones: dict[int, str]) -> DueWindow | None:
    """The maintenance due window after the last live dose of the newest open course that has finished
    its induction (None when no course has a maintenance phase or the induction is still under way)."""
    for course in sorted(courses, key=lambda c: (c.start_on, c.id), reverse=True):
        proto = protocols().get(course.protocol_key)
        if proto is None or proto.maintenance is None or course.status in ("completed", "stopped"):
            continue
        doses = [s for s in sessions if s.course_id == course.id and s.kind == "dose" and s.status in LIVE_STATUSES]
        induction = {s.sequence for s in doses if s.phase == "induction"}
        if not doses or len(induction) < proto.induction.total_doses:
            continue
        last = max(doses, key=lambda s: s.starts_at)
        return due_window(local_date(last.starts_at, timezones[course.clinic_id]), proto)
    return None


DEFAULT_SESSIONS = 200  # sessions on one page of a timeline (the newest first: upcoming and recent)
MAX_SESSIONS = 1000


def timeline(
    patient_id: int, *, with_assessments: bool, before: datetime | None = None, limit: int = DEFAULT_SESSIONS
) -> Timeline:
    """The patient's timeline, one page of sessions: the newest ``limit`` starting before ``before``
    (None: the newest of all, upcoming ones included), in time order; ``earlier_before`` says where the
    next (earlier) page starts. Courses, assessments and the next due window are the whole record;
    the flags are those about the page's sessions and the open courses, computed from what the rule
    book can pair with them (``flags.for_patient(since=)``) — so a long history costs only its page."""
    patient = inputs.patient_row(patient_id)
    # Only what the user's clinics hold (scope); the flags still weigh every session of the patient
    # (a dose too close to one given elsewhere is a safety matter) but name only the visible ones.
    courses = list(
        db_session.scalars(
            select(Course)
            .where(Course.patient_id == patient.id, scope.clinic_clause(Course.clinic_id))
            .order_by(Course.start_on, Course.id)
        )
    )
    query = select(TS).where(TS.patient_id == patient.id, scope.clinic_clause(TS.clinic_id))
    if before is not None:
        query = query.where(TS.starts_at < before)
    newest = list(db_session.scalars(query.order_by(TS.starts_at.desc(), TS.id.desc()).limit(limit + 1)))
    more = len(newest) > limit
    sessions = newest[:limit][::-1]
    earlier_before = sessions[0].starts_at if more and sessions else None
    clinic_ids = {s.clinic_id for s in sessions} | {c.clinic_id for c in courses}
    timezones = (
        dict(db_session.execute(select(Clinic.id, Clinic.timezone).where(Clinic.id.in_(sorted(clinic_ids)))).all())
        if clinic_ids
        else {}
    )
    assessments = None
    if with_assessments:
        assessments = list(
            db_session.scalars(
                select(Assessment)
                .where(Assessment.patient_id == patient.id)
                .order_by(Assessment.taken_on, Assessment.id)
            )
        )
    shown = {s.id for s in sessions}
    since = earlier_before if (more or before is not None) and sessions else None
    flags = [
        f
        for f in flag_service.for_patient(patient.id, since=since)
        if since is None or not f.session_ids or shown & set(f.session_ids)
    ]
    flags = scope.visible_flags(flags, shown)
    open_ids = {c.id for c in courses if c.status not in ("completed", "stopped")}
    due_sessions = sessions
    if since is not None and open_ids:  # the open courses' doses, whatever the page shows
        due_sessions = list(db_session.scalars(select(TS).where(TS.course_id.in_(sorted(open_ids)))))
    return Timeline(
        patient=patient,
        courses=courses,
        sessions=sessions,
        timezones=timezones,
        assessments=assessments,
        flags=flags,
        next_due=next_due(courses, due_sessions, timezones),
        earlier_before=earlier_before,
    )
