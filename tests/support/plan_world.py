"""The planner tests' clinic as plain domain values (America/New_York, Mon-Fri 08:00-18:00, a course
starting Mon 4 Mar 2024 across the spring-forward weekend): every room and role the shipped
protocols need (``ROOMS``, ``STAFF``, ``PATIENT``), ``make_clinic()``, ``plan(key)`` (a course planned
and checked by ``plan_checks.check_plan``) and ``busy_clinic()`` (a few hundred other sessions)."""

from __future__ import annotations

from datetime import date, time, timedelta

from scheduler.domain.planning import plan_course
from scheduler.domain.protocols import load_protocols
from scheduler.domain.timezones import to_utc
from scheduler.domain.values import Clinic, Patient, Room, Session, StaffMember
from tests.support.plan_checks import check_plan

PROTOCOLS = load_protocols()
TZ = "America/New_York"
START = date(2024, 3, 4)  # a Monday; DST starts 2024-03-10 in New York
WEEKDAYS = {d: [(time(8), time(18))] for d in range(5)}


def make_clinic(closures=(), tz=TZ, hours=None, rems_certification_id="SPR-CLINIC-1"):
    return Clinic(
        id=1,
        timezone=tz,
        hours=hours or WEEKDAYS,
        closures=tuple(closures),
        rems_certification_id=rems_certification_id,
    )


ROOMS = [
    Room(1, "IV 1", ("iv", "im")),
    Room(2, "IV 2", ("iv", "im")),
    Room(3, "Therapy", ("therapy", "lozenge")),
    Room(4, "Consult", ("consult",)),
    Room(5, "Spravato", ("nasal",)),
    Room(6, "TMS", ("tms",)),
    Room(7, "Lozenge", ("lozenge", "therapy")),
]
STAFF = [
    StaffMember(1, "Dr A", "prescriber"),
    StaffMember(2, "Nurse B", "nurse", capacity=2),
    StaffMember(3, "Nurse C", "nurse"),
    StaffMember(4, "Therapist D", "therapist"),
    StaffMember(5, "Therapist E", "therapist"),
]
PATIENT = Patient(
    1, "MRN1", "Pat", ride_home_arranged=True, rems_enrollment_id="SPR-PT-1", rems_enrolled_on=date(2024, 1, 2)
)


def plan(key, clinic=None, rooms=ROOMS, staff=STAFF, patient=PATIENT, existing=(), prefs=None, **kw):
    clinic = clinic or make_clinic()
    p = plan_course(PROTOCOLS[key], clinic, rooms, staff, patient, list(existing), START, prefs, **kw)
    check_plan(p, PROTOCOLS[key], clinic, rooms, staff, patient, list(existing), prefs)
    return p


def busy_clinic(n=300, seed=7):
    """``n`` other sessions (some cancelled) over 45 days from START in every room and staff member."""
    import random

    rnd = random.Random(seed)
    out = []
    for i in range(n):
        d = START + timedelta(days=rnd.randrange(0, 45))
        s = to_utc(d, time(rnd.randrange(8, 16)), TZ)
        out.append(
            Session(
                1000 + i,
                100 + i % 50,
                s,
                s + timedelta(hours=2),
                rnd.choice([1, 2, 3, 4, 5, 6, 7]),
                staff_member_id=rnd.choice([1, 2, 3, 4, 5]),
                status=rnd.choice(["booked", "booked", "completed", "cancelled"]),
            )
        )
    return out
