"""Course booking through the services: dry run writes nothing; the whole plan or nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from scheduler.db import db_session
from scheduler.domain.values import Preferences
from scheduler.errors import Conflict
from scheduler.models import AuditEvent, Course, TreatmentSession, utcnow
from scheduler.services import booking, courses
from scheduler.services import flags as flag_service
from scheduler.services import sessions as session_service
from tests.support.builders import count, equipped_clinic, future_monday, patient_id


def test_dry_run_writes_nothing(app):
    clinic = equipped_clinic()
    pid = patient_id()
    before = (count(Course), count(TreatmentSession), count(AuditEvent))
    result = courses.plan_and_book(None, pid, clinic.id, "ketamine-iv", future_monday(), Preferences(), dry_run=True)
    db_session.commit()
    assert len(result.plan.sessions) >= 6 and result.course is None
    assert (count(Course), count(TreatmentSession), count(AuditEvent)) == before


def test_a_clash_on_the_fifth_session_books_nothing(app):
    clinic = equipped_clinic()
    pid = patient_id()
    other = patient_id(mrn="MRN-2", name="Other Patient")
    start = future_monday()
    plan = courses.plan_and_book(None, pid, clinic.id, "ketamine-iv", start, Preferences(), dry_run=True).plan
    fifth = plan.sessions[4]
    # Someone else takes the fifth session's room at that time; the planner is made not to see it
    # (as if it was booked between planning and booking), so the booking itself must catch it.
    intruder = session_service.book(
        None,
        booking.SessionRequest(
            clinic_id=clinic.id,
            patient_id=other,
            room_id=fifth.room_id,
            kind="evaluation",
            starts_at=fifth.starts_at,
            ends_at=fifth.ends_at,
        ),
        check_flags=False,
    )[0]
    db_session.commit()
    before = (count(Course), count(TreatmentSession))
    with pytest.raises(Conflict) as err:
        courses.plan_and_book(
            None,
            pid,
            clinic.id,
            "ketamine-iv",
            start,
            Preferences(),
            dry_run=False,
            hidden_session_ids=frozenset({intruder.id}),
        )
    assert err.value.code == "room_double_booked"
    assert err.value.conflicts[0]["session_id"] == intruder.id
    db_session.commit()  # the caller's transaction goes on: the savepoint took the plan back
    assert (count(Course), count(TreatmentSession)) == before
    assert db_session.scalars(select(TreatmentSession.patient_id)).all() == [other]


def test_booked_course_links_sessions(app):
    clinic = equipped_clinic()
    pid = patient_id()
    result = courses.plan_and_book(
        None,
        pid,
        clinic.id,
        "ketamine-iv",
        future_monday(),
        Preferences(weekdays=frozenset({0, 2, 4}), earliest=None, latest=None),
        dry_run=False,
    )
    db_session.commit()
    rows = db_session.scalars(select(TreatmentSession).where(TreatmentSession.course_id == result.course.id)).all()
    assert {(s.kind, s.phase, s.sequence) for s in rows} == {
        (p.kind, p.phase, p.sequence) for p in result.plan.sessions
    }
    assert all(s.status == "booked" for s in rows)
    assert result.course.preferences["weekdays"] == ["mon", "wed", "fri"]


def test_course_status_follows_attendance(app):
    from datetime import date, timedelta

    from scheduler.services import sessions

    clinic = equipped_clinic()
    pid = patient_id()
    # entering history (past_status): the course lies in the past, its sessions still booked
    result = courses.plan_and_book(
        None,
        pid,
        clinic.id,
        "ketamine-iv",
        date.today() - timedelta(days=40),
        Preferences(),
        dry_run=False,
        include_maintenance=False,
        past_status="booked",
    )
    course = result.course
    course.status = "planned"  # as booked ahead of time
    db_session.commit()
    rows = sorted(result.sessions, key=lambda s: s.starts_at)
    sessions.transition(None, rows[0], "complete", version=rows[0].version)
    assert course.status == "active"
    for s in rows:
        if s.status == "booked":
            sessions.transition(None, s, "complete", version=s.version)
    db_session.commit()
    assert db_session.get(Course, course.id).status == "maintenance"
    assert db_session.scalars(select(AuditEvent.after).where(AuditEvent.action == "course.update")).all()


def test_the_plan_gate_names_the_other_patient_whose_session_a_flag_is_about(app):
    """The plan's write gate reads the other patients (names, holds, authorizations) only when a flag
    names one of their sessions; such a flag then names them as any flag does."""
    clinic = equipped_clinic()
    pid = patient_id()
    other = patient_id(mrn="MRN-2", name="Other Patient")
    start = future_monday()
    proposal = courses.plan_and_book(None, pid, clinic.id, "ketamine-iv", start, Preferences(), dry_run=True).plan
    evaluation = proposal.sessions[0]
    assert evaluation.kind == "evaluation" and evaluation.staff_member_id == clinic.staff["Dr Prescriber"]
    # another patient's visit with the same prescriber (capacity 1) at the same time, in another room
    room = next(r for n, r in clinic.rooms.items() if n in ("Consult", "Therapy") and r != evaluation.room_id)
    intruder = session_service.book(
        None,
        booking.SessionRequest(
            clinic_id=clinic.id,
            patient_id=other,
            room_id=room,
            staff_member_id=evaluation.staff_member_id,
            kind="follow_up",
            starts_at=evaluation.starts_at,
            ends_at=evaluation.ends_at,
        ),
        check_flags=False,
    )[0]
    db_session.commit()
    # the calendar as planning reads it now (with the intruder), judged on the first proposal
    calendar = courses.plan(pid, clinic.id, "ketamine-iv", start, Preferences())[2]
    found = flag_service.introduced_by_plan(calendar, "ketamine-iv", start, proposal.sessions, now=utcnow())
    over = [f for f in found if f.code == "staff_over_capacity"]
    assert over and all(intruder.id in f.session_ids and -1 in f.session_ids for f in over), found
    assert all("Other Patient" in f.message for f in over), [f.message for f in over]
    assert not [f for f in found if f.code != "staff_over_capacity"], found
