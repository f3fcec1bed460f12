"""Each shipped protocol planned end to end and booked through the services, on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from sqlalchemy import select

from scheduler.db import db_session
from scheduler.domain.intervals import overlaps
from scheduler.domain.timezones import local_date
from scheduler.domain.values import Preferences
from scheduler.models import AuditEvent, Course, Room, StaffMember, TreatmentSession
from scheduler.protocols_registry import protocols
from scheduler.services import courses, flags
from tests.support.builders import count, equipped_clinic, future_monday, patient_id

SHIPPED = ["esketamine-trd", "ketamine-im", "ketamine-iv", "ketamine-lozenge-kap", "tms-accelerated", "tms-daily"]


@pytest.mark.parametrize("key", SHIPPED)
def test_each_protocol_is_planned_and_booked(app, key):
    clinic = equipped_clinic()
    pid = patient_id()
    proto = protocols()[key]
    start = future_monday()
    if proto.rems:  # esketamine: a certified clinic, an enrolled patient (else 409 rems_not_enrolled)
        from datetime import date

        from scheduler.models import Clinic, Patient

        db_session.get(Clinic, clinic.id).rems_certification_id = "SPR-HCS-1"
        row = db_session.get(Patient, pid)
        row.rems_enrollment_id, row.rems_enrolled_on = "SPR-PT-1", date(2025, 1, 6)
        db_session.commit()
    result = courses.plan_and_book(None, pid, clinic.id, key, start, Preferences(), dry_run=False)
    db_session.commit()

    rows = db_session.scalars(
        select(TreatmentSession)
        .where(TreatmentSession.course_id == result.course.id)
        .order_by(TreatmentSession.starts_at)
    ).all()
    assert len(rows) == len(result.plan.sessions) > 0
    course = db_session.get(Course, result.course.id)
    assert (course.protocol_key, course.status, course.patient_id) == (key, "planned", pid)
    # every induction dose is there, numbered 1..N, with the protocol's route and block length
    doses = [s for s in rows if s.kind == "dose" and s.phase == "induction"]
    assert sorted(s.sequence for s in doses) == list(range(1, proto.induction.total_doses + 1))
    assert {s.route for s in doses} == {proto.dose.route}
    assert {s.ends_at - s.starts_at for s in doses} == {timedelta(minutes=proto.dose.duration_minutes)}
    # each dose in a room with the capability, with a clinician of the role
    room_caps = {r.id: set(r.capabilities) for r in db_session.scalars(select(Room))}
    roles = {m.id: m.role for m in db_session.scalars(select(StaffMember))}
    for s in doses:
        assert proto.dose.capability in room_caps[s.room_id]
        assert roles[s.staff_member_id] == proto.dose.role
    # nothing overlaps for the patient; the first dose is on or after the start date
    for a, b in itertools.pairwise(rows):
        assert not overlaps(a.starts_at, a.ends_at, b.starts_at, b.ends_at)
    assert local_date(min(s.starts_at for s in doses), clinic.tz) >= start
    # no conflict flag on what the planner booked, and every booking audited
    conflicts = [f for f in flags.for_patient(pid) if f.is_conflict]
    assert conflicts == []
    assert count(AuditEvent) >= len(rows) + 1
    if proto.maintenance is not None:
        assert result.next_due is not None and result.next_due.earliest <= result.next_due.target


def test_same_input_same_plan(app):
    clinic = equipped_clinic()
    pid = patient_id()
    start = future_monday()
    a = courses.plan_and_book(None, pid, clinic.id, "ketamine-iv", start, Preferences(), dry_run=True)
    b = courses.plan_and_book(None, pid, clinic.id, "ketamine-iv", start, Preferences(), dry_run=True)
    assert a.plan == b.plan and a.course is None and count(TreatmentSession) == 0
