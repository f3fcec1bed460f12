"""The re-planner tests' clinic as plain domain values (America/New_York, Mon-Fri 08:00-18:00, an IV
room and a therapy room, one clinician per role): ``booked_course(key)`` plans a course from Mon 4 Mar
2024 and books it (session ids 1..n, course 7), ``cancel(sessions, seq)`` misses one of its doses."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, time

from scheduler.domain.planning import plan_course
from scheduler.domain.protocols import load_protocols
from scheduler.domain.timezones import local_date
from scheduler.domain.values import Clinic, Patient, Room, Session, StaffMember

PROTOCOLS = load_protocols()
TZ = "America/New_York"
START = date(2024, 3, 4)
ROOMS = [Room(1, "IV", ("iv",)), Room(2, "Therapy", ("therapy", "consult"))]
STAFF = [StaffMember(1, "Dr", "prescriber"), StaffMember(2, "N", "nurse"), StaffMember(3, "T", "therapist")]
PATIENT = Patient(1, "M1", "P", ride_home_arranged=True)


def clinic(closures=()):
    return Clinic(1, TZ, {d: [(time(8), time(18))] for d in range(5)}, tuple(closures))


def booked_course(key="ketamine-iv", c=None):
    p = plan_course(PROTOCOLS[key], c or clinic(), ROOMS, STAFF, PATIENT, [], START)
    return [
        Session(
            i + 1,
            PATIENT.id,
            s.starts_at,
            s.ends_at,
            s.room_id,
            kind=s.kind,
            phase=s.phase,
            sequence=s.sequence,
            staff_member_id=s.staff_member_id,
            course_id=7,
            clinic_id=1,
        )
        for i, s in enumerate(p.sessions)
    ]


def cancel(sessions, seq, status="cancelled"):
    target = next(s for s in sessions if s.kind == "dose" and s.phase == "induction" and s.sequence == seq)
    return [replace(s, status=status) if s.id == target.id else s for s in sessions], target


def day(dt):
    return local_date(dt, TZ)
