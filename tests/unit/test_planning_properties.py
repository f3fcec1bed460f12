"""Property-based: whatever the planner proposes satisfies its protocol and overlaps nothing live."""

from datetime import time, timedelta

import pytest
from hypothesis import HealthCheck, given, settings

from scheduler.domain.planning import PlanningError, plan_course
from scheduler.domain.values import Clinic, Closure, Patient, Room, StaffMember
from tests.support.plan_checks import check_plan
from tests.support.plan_scenarios import (
    PROTOCOLS,
    START,
    scenarios,
)


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
