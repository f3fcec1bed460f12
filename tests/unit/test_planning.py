import itertools
from datetime import date, time, timedelta

import pytest

from scheduler.domain.planning import PlanningError, plan_course, plan_maintenance_dose
from scheduler.domain.timezones import local_date, local_time, to_utc
from scheduler.domain.values import Closure, Patient, Preferences, Room, Session, StaffMember
from tests.support.plan_checks import check_plan
from tests.support.plan_world import (
    PATIENT,
    PROTOCOLS,
    ROOMS,
    STAFF,
    START,
    TZ,
    busy_clinic,
    make_clinic,
    plan,
)


@pytest.mark.parametrize(
    "key, sessions",
    [
        ("ketamine-iv", 1 + 6 + 6 + 1 + 1),
        ("ketamine-im", 1 + 6 + 6 + 1 + 1),
        ("ketamine-lozenge-kap", 1 + 2 + 6 + 4 + 1 + 1),
        ("esketamine-trd", 1 + 12 + 1 + 1),
        ("tms-daily", 1 + 30 + 1),
        ("tms-daily-taper", 1 + 36 + 1),
        ("tms-accelerated", 1 + 50 + 1),
    ],
)
def test_each_protocol_end_to_end(key, sessions):
    p = plan(key)
    assert len(p.sessions) == sessions
    assert p.problems == ()
    assert all(s.label for s in p.sessions)


def test_wall_clock_kept_across_dst():
    p = plan("tms-daily")
    times = {local_time(s.starts_at, TZ) for s in p.of_kind("dose")}
    assert times == {time(8)}
    utc_hours = {s.starts_at.hour for s in p.of_kind("dose")}
    assert utc_hours == {13, 12}  # EST before 10 March, EDT after


def test_esketamine_twice_then_once_weekly():
    doses = plan("esketamine-trd").of_kind("dose")
    days = [local_date(d.starts_at, TZ) for d in doses if d.phase == "induction"]
    first = days[0]
    for week in range(4):
        assert sum(1 for d in days[:8] if (d - first).days // 7 == week) == 2
    stage2 = days[8:]
    assert all(6 <= (b - a).days <= 9 for a, b in itertools.pairwise(stage2))


def test_closures_honoured():
    closures = [
        Closure(date(2024, 3, 6), date(2024, 3, 8), reason="Conference"),
        Closure(date(2024, 3, 12), date(2024, 3, 12), from_time=time(8), until_time=time(13)),
    ]
    p = plan("ketamine-iv", clinic=make_clinic(closures))
    assert p.problems == ()


def test_two_week_closure_early_in_the_course_is_cleared_by_starting_after_it():
    """The old planner slid the first dose at most 7 days and broke the window; the first dose may now
    move as far as the horizon allows."""
    clinic = make_clinic([Closure(date(2024, 3, 11), date(2024, 3, 24), reason="Renovation")])
    p = plan("ketamine-iv", clinic=clinic)
    assert p.problems == ()
    doses = [local_date(d.starts_at, TZ) for d in p.of_kind("dose") if d.phase == "induction"]
    assert doses[0] >= date(2024, 3, 25) or doses[-1] < date(2024, 3, 11)


def test_closure_that_no_start_in_the_horizon_clears_is_reported_not_dropped():
    clinic = make_clinic([Closure(date(2024, 3, 11), date(2024, 4, 30), reason="Renovation")])
    p = plan("ketamine-iv", clinic=clinic)
    assert len(p.of_kind("dose")) == 7  # six induction + first maintenance
    assert "induction_window_exceeded" in p.codes
    assert "induction_gap" in p.codes
    exceeded = next(x for x in p.problems if x.code == "induction_window_exceeded")
    assert exceeded.sessions and all(p.sessions[i].kind == "dose" for i in exceeded.sessions)


def test_first_dose_moves_up_to_the_horizon_and_no_further():
    """A closure of the first 30 days: the induction starts after it (within 35 days of start_on). A
    closure of 40 days cannot be cleared within the horizon: the least-bad plan says so."""
    p = plan("ketamine-iv", clinic=make_clinic([Closure(START + timedelta(days=1), START + timedelta(days=30))]))
    assert p.problems == ()
    assert local_date(p.of_kind("dose")[0].starts_at, TZ) > START + timedelta(days=30)
    late = plan("ketamine-iv", clinic=make_clinic([Closure(START + timedelta(days=1), START + timedelta(days=40))]))
    assert late.problems


def test_no_room_with_capability_reported():
    rooms = [r for r in ROOMS if "iv" not in r.capabilities]
    p = plan("ketamine-iv", rooms=rooms)
    assert "room_unsuitable" in p.codes
    assert len(p.of_kind("dose")) == 7


def test_no_rooms_at_all_raises():
    with pytest.raises(PlanningError) as err:
        plan_course(PROTOCOLS["ketamine-iv"], make_clinic(), [], STAFF, PATIENT, [], START)
    assert err.value.code == "no_rooms"


def test_no_nurse_reported():
    staff = [s for s in STAFF if s.role != "nurse"]
    p = plan("ketamine-iv", staff=staff)
    assert "staff_unavailable" in p.codes
    assert all(s.staff_member_id is None for s in p.of_kind("dose"))


@pytest.mark.parametrize(
    "prefs",
    [
        Preferences(weekdays=frozenset({1, 3})),
        Preferences(earliest=time(13), latest=time(17, 30)),
        Preferences(weekdays=frozenset({0, 2, 4}), earliest=time(10)),
        Preferences(room_id=2, staff_member_id=3),
    ],
)
def test_preferences_honoured(prefs):
    p = plan("ketamine-iv", prefs=prefs)
    assert "preference_not_met" not in p.codes
    for s in p.sessions:
        if prefs.weekdays:
            assert local_date(s.starts_at, TZ).weekday() in prefs.weekdays
        if prefs.earliest:
            assert local_time(s.starts_at, TZ) >= prefs.earliest
        if prefs.latest:
            assert local_time(s.ends_at, TZ) <= prefs.latest
    if prefs.room_id:
        assert all(s.room_id == 2 for s in p.of_kind("dose"))
        assert all(s.staff_member_id == 3 for s in p.of_kind("dose"))


def test_impossible_preference_relaxed_and_reported():
    p = plan("ketamine-iv", prefs=Preferences(weekdays=frozenset({0})))  # Mondays only cannot be 2-7 days apart
    assert "preference_not_met" in p.codes


def test_deterministic():
    existing = busy_clinic()
    a = plan("ketamine-lozenge-kap", existing=existing)
    b = plan("ketamine-lozenge-kap", existing=list(reversed(existing)))
    assert a == b


def test_existing_sessions_avoided():
    """Speed is measured in bench/ (planning p50), never in a timed test."""
    existing = busy_clinic()
    p = plan("ketamine-iv", existing=existing)  # check_plan asserts no live overlap
    assert p.sessions


def test_patient_other_sessions_avoided():
    # the patient has a visit elsewhere every morning 08:00-12:00 (a visit: doses would be spaced from)
    other = [
        Session(
            9000 + i,
            PATIENT.id,
            to_utc(START + timedelta(days=i), time(8), TZ),
            to_utc(START + timedelta(days=i), time(12), TZ),
            99,
            kind="follow_up",
            clinic_id=2,
        )
        for i in range(60)
    ]
    p = plan("ketamine-iv", existing=other)
    assert all(local_time(s.starts_at, TZ) >= time(12) for s in p.sessions if s.phase != "maintenance")


def test_staff_capacity():
    # one nurse with capacity 2, one IV room per patient: three concurrent sessions already booked with her
    staff = [
        StaffMember(1, "Dr", "prescriber"),
        StaffMember(2, "Nurse", "nurse", capacity=2),
        StaffMember(4, "T", "therapist"),
    ]
    rooms = [Room(i, f"IV{i}", ("iv",)) for i in range(1, 5)] + [Room(8, "Th", ("therapy", "consult"))]
    existing = []
    for day in range(30):
        d = START + timedelta(days=day)
        for k, room in enumerate((1, 2)):
            s = to_utc(d, time(8), TZ)
            existing.append(Session(100 * day + k, 50 + k, s, s + timedelta(hours=4), room, staff_member_id=2))
    p = plan("ketamine-iv", rooms=rooms, staff=staff, existing=existing)
    assert all(local_time(s.starts_at, TZ) >= time(12) for s in p.of_kind("dose") if s.phase == "induction")
    # capacity 3: she can take a third patient at 08:00
    staff3 = [StaffMember(2, "Nurse", "nurse", capacity=3) if s.id == 2 else s for s in staff]
    p3 = plan("ketamine-iv", rooms=rooms, staff=staff3, existing=existing)
    assert local_time(p3.of_kind("dose")[0].starts_at, TZ) == time(8)


def test_staff_time_off_and_hours():
    off = (to_utc(START, time(0), TZ), to_utc(START + timedelta(days=14), time(0), TZ))
    staff = [
        StaffMember(1, "Dr", "prescriber"),
        StaffMember(2, "Nurse", "nurse", time_off=(off,)),
        StaffMember(3, "Nurse 2", "nurse", hours={1: [(time(14), time(18))], 3: [(time(14), time(18))]}),
        StaffMember(4, "T", "therapist"),
    ]
    p = plan("ketamine-iv", staff=staff)
    for d in p.of_kind("dose"):
        if d.starts_at < off[1]:
            assert d.staff_member_id == 3 and local_time(d.starts_at, TZ) >= time(14)


def test_valid_evaluation_reused_and_expiry():
    p = plan("ketamine-iv", has_valid_evaluation_on=START - timedelta(days=10))
    assert not p.of_kind("evaluation")
    p2 = plan("ketamine-iv", has_valid_evaluation_on=START - timedelta(days=40))
    assert len(p2.of_kind("evaluation")) == 1


def test_flags_for_patient():
    p = plan("ketamine-iv", patient=Patient(1, "M", "P", ride_home_arranged=False, dosing_hold_reason="mania"))
    assert {"dosing_hold", "ride_home_missing"} <= p.codes
    assert "ride_home_missing" not in plan("tms-daily", patient=Patient(1, "M", "P")).codes


@pytest.mark.parametrize("tz", ["Europe/London", "Australia/Sydney", "America/New_York"])
def test_other_zones(tz):
    clinic = make_clinic(tz=tz)
    p = plan_course(PROTOCOLS["ketamine-iv"], clinic, ROOMS, STAFF, PATIENT, [], date(2024, 3, 25))
    check_plan(p, PROTOCOLS["ketamine-iv"], clinic, ROOMS, STAFF, PATIENT, [])
    assert {local_time(s.starts_at, tz) for s in p.of_kind("dose")} == {time(8)}


def test_plan_maintenance_dose_near_target():
    p = plan_maintenance_dose(PROTOCOLS["ketamine-iv"], make_clinic(), ROOMS, STAFF, PATIENT, [], date(2024, 1, 31))
    (s,) = p.sessions
    assert s.phase == "maintenance" and s.kind == "dose"
    assert local_date(s.starts_at, TZ) == date(2024, 4, 30)  # 31 Jan + 3 months, a Tuesday


@pytest.mark.parametrize("key", sorted(PROTOCOLS))
def test_every_shipped_protocol_is_planned_by_the_exact_search(key):
    """Not by the least-bad fallback: the exact search itself finds the plan (and the plan meets every rule)."""
    from scheduler.domain.planning.exact import ExactPlanner
    from scheduler.domain.planning.slots import SlotFinder

    finder = SlotFinder(make_clinic(), ROOMS, STAFF, PATIENT, busy_clinic(n=150, seed=3))
    placed = ExactPlanner(PROTOCOLS[key], finder, START, START, None).search()
    assert placed is not None
    doses = [p for p in placed if p.kind == "dose"]
    assert sum(len(p.slots) for p in doses) == PROTOCOLS[key].induction.total_doses
    p = plan(key, existing=busy_clinic(n=150, seed=3))
    assert not [x for x in p.problems if x.severity == "error"]


def test_the_patients_doses_elsewhere_are_spaced_from():
    """A dose outside any course (or of another course) two days into the plan: no planned dose within
    the protocol's minimum gap of it, before or after (doses_too_close across courses is a constraint)."""
    elsewhere = to_utc(START + timedelta(days=9), time(8), TZ)
    dose = Session(9100, PATIENT.id, elsewhere, elsewhere + timedelta(hours=2), 99, kind="dose", clinic_id=2)
    p = plan("ketamine-iv", existing=[dose])
    gap = PROTOCOLS["ketamine-iv"].induction.stages[0].min_gap_days
    days = [local_date(s.starts_at, TZ) for s in p.sessions if s.kind == "dose"]
    assert days and all(abs((d - (START + timedelta(days=9))).days) >= gap for d in days), days
    assert not [x for x in p.problems if x.code == "doses_too_close"]
