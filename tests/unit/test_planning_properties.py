"""Property-based: whatever the planner proposes satisfies its protocol and overlaps nothing live."""

import random
from datetime import date, time, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scheduler.domain.planning import PlanningError, plan_course
from scheduler.domain.protocols import load_protocols
from scheduler.domain.timezones import NonexistentLocalTime, to_utc
from scheduler.domain.values import Clinic, Closure, Patient, Preferences, Room, Session, StaffMember
from scheduler.domain.vocabulary import CAPABILITIES, SESSION_STATUSES

from .plan_checks import check_plan

PROTOCOLS = load_protocols()
ZONES = ["America/New_York", "Europe/London", "Australia/Sydney", "Asia/Kolkata", "UTC"]
START = date(2024, 3, 4)


@st.composite
def scenarios(draw):
    tz = draw(st.sampled_from(ZONES))
    open_days = draw(st.sets(st.integers(0, 6), min_size=3, max_size=7))
    hours = {}
    for d in open_days:
        o = draw(st.integers(6, 10))
        c = draw(st.integers(15, 21))
        hours[d] = [(time(o), time(c))]
    closures = []
    for _ in range(draw(st.integers(0, 3))):
        s = START + timedelta(days=draw(st.integers(0, 60)))
        e = s + timedelta(days=draw(st.integers(0, 4)))
        if draw(st.booleans()):
            closures.append(Closure(s, e, reason="holiday"))
        else:
            closures.append(Closure(s, s, from_time=time(12), until_time=time(draw(st.integers(13, 16)))))
    clinic = Clinic(1, tz, hours, tuple(closures))
    rooms = [
        Room(
            i,
            f"R{i}",
            tuple(draw(st.sets(st.sampled_from(CAPABILITIES), min_size=1, max_size=4))),
            active=draw(st.booleans()) or i == 1,
        )
        for i in range(1, draw(st.integers(1, 5)) + 1)
    ]
    staff = [
        StaffMember(i, f"S{i}", role, capacity=draw(st.integers(1, 3)))
        for i, role in enumerate(
            ["prescriber", "nurse", "therapist", *draw(st.lists(st.sampled_from(["nurse", "therapist"]), max_size=2))],
            start=1,
        )
    ]
    patient = Patient(1, "M", "P", ride_home_arranged=draw(st.booleans()))
    # bulk bookings from a drawn seed: cheap to generate, still reproducible from the example
    rnd = random.Random(draw(st.integers(0, 2**32 - 1)))
    existing = []
    for i in range(draw(st.integers(0, 150))):
        d = START + timedelta(days=rnd.randint(-2, 70))
        try:
            s = to_utc(d, time(rnd.randint(6, 19), rnd.choice([0, 15, 30, 45])), tz)
        except NonexistentLocalTime:
            continue
        existing.append(
            Session(
                i + 1,
                rnd.choice([1, 2, 3, 4]),
                s,
                s + timedelta(minutes=rnd.choice([30, 60, 120])),
                rnd.choice([r.id for r in rooms] + [99]),
                staff_member_id=rnd.choice([None] + [m.id for m in staff]),
                status=rnd.choice(SESSION_STATUSES),
            )
        )
    prefs = draw(
        st.one_of(
            st.none(),
            st.builds(
                Preferences,
                weekdays=st.one_of(st.none(), st.frozensets(st.integers(0, 6), min_size=2)),
                earliest=st.one_of(st.none(), st.just(time(9))),
                latest=st.none(),
            ),
        )
    )
    key = draw(st.sampled_from(sorted(PROTOCOLS)))
    return key, clinic, rooms, staff, patient, existing, prefs


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(scenarios())
def test_plan_satisfies_protocol_and_overlaps_nothing(scenario):
    key, clinic, rooms, staff, patient, existing, prefs = scenario
    protocol = PROTOCOLS[key]
    try:
        plan = plan_course(protocol, clinic, rooms, staff, patient, existing, START, prefs)
    except PlanningError as err:
        assert err.code in ("no_rooms", "no_slot")
        return
    check_plan(plan, protocol, clinic, rooms, staff, patient, existing, prefs)
    again = plan_course(protocol, clinic, rooms, staff, patient, list(reversed(existing)), START, prefs)
    assert again == plan


@pytest.mark.parametrize("key", sorted(PROTOCOLS))
def test_every_problem_names_real_sessions(key):
    clinic = Clinic(
        1,
        "Europe/London",
        {d: [(time(9), time(17))] for d in range(5)},
        (Closure(START + timedelta(days=8), START + timedelta(days=20)),),
    )
    rooms = [Room(1, "R", ("consult", "therapy"))]
    staff = [StaffMember(1, "Dr", "prescriber"), StaffMember(2, "T", "therapist")]
    try:
        plan = plan_course(PROTOCOLS[key], clinic, rooms, staff, Patient(1), [], START)
    except PlanningError as err:  # ten 10-minute TMS sessions an hour apart do not fit 09:00-17:00
        assert key == "tms-accelerated" and err.code == "no_slot" and "tms" in err.message
        return
    assert "room_unsuitable" in plan.codes
    for p in plan.problems:
        assert p.message and all(0 <= i < len(plan.sessions) for i in p.sessions)
