"""Edge cases of the flag rules: touching sessions, DST, data that changes after booking, capacity,
cancellations, the candidate and clinic entry points, multi-stage and multi-dose-per-day protocols."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, time, timedelta

import pytest

from scheduler.domain.flags import ALL_CODES, CourseFacts, FlagContext, candidate_flags, clinic_flags
from scheduler.domain.values import Closure, Patient, Session, StaffMember, by_id
from tests.support.flag_scenarios import (
    ANA,
    BEN,
    COURSE,
    IV_ROOM,
    IV_ROOM_2,
    NURSE,
    NURSE_2,
    PRESCRIBER,
    THERAPIST,
    THERAPY_ROOM,
    Scenario,
    as_of,
    at,
    ben,
    build,
    march,
    session,
    with_closure,
    with_hold,
    with_time_off,
)

ALL_WEEK_LATE = {d: [(time(7), time(22))] for d in range(7)}


def replace_courses(ctx: FlagContext, courses) -> FlagContext:
    return FlagContext(
        clinic=ctx.clinic,
        protocols=ctx.protocols,
        rooms=ctx.rooms,
        staff=ctx.staff,
        patients=ctx.patients,
        courses=by_id(courses),
    )


def codes_of(flags) -> list[str]:
    return [f.code for f in flags]


# ---------------------------------------------------------------- touching and capacity


def test_touching_sessions_are_not_double_booked():
    sc = build().add(
        ben(90, 4, 11, room=IV_ROOM, staff=NURSE),  # starts as dose 1 ends, same chair and nurse
        session(91, 4, 11, 60, IV_ROOM_2, kind="preparation", course=None, staff=NURSE_2),
    )
    assert sc.flags() == []
    assert sc.flags(BEN) == []


@pytest.mark.parametrize("extra, over", [(1, False), (2, True)])
def test_capacity_two_allows_two_concurrent_sessions_and_flags_the_third(extra, over):
    sc = build()
    sc.staff[NURSE] = replace(sc.staff[NURSE], capacity=2)
    sc.add(*[ben(90 + i, 4, 9, m=15 * (i + 1), room=IV_ROOM_2 if i == 0 else None, staff=NURSE) for i in range(extra)])
    flags = [f for f in sc.flags() if f.code == "staff_over_capacity"]
    assert bool(flags) is over
    if over:
        assert flags[0].session_ids == (11, 90, 91) and flags[0].staff_member_id == NURSE
        assert "3 sessions at once" in flags[0].message and "can monitor 2" in flags[0].message
        assert flags[0].starts_at.time() == time(9, 30) and flags[0].ends_at.time() == time(11)


def test_capacity_must_be_positive():
    with pytest.raises(ValueError):
        StaffMember(1, capacity=0)


# ---------------------------------------------------------------- data that changes later


def test_a_closure_added_after_booking_flags_what_it_covers():
    sc = build()
    assert sc.flags() == []
    with_closure(sc, Closure(march(4), march(4), from_time=time(10), until_time=time(12), reason="Fire drill"))
    closed = [f for f in sc.flags() if f.code == "clinic_closed"]
    assert [f.session_ids for f in closed] == [(11,)]  # the dose 09:00-11:00, not the 13:00 integration
    assert "Fire drill" in closed[0].message and "from 10:00 to 12:00" in closed[0].message


def test_changes_after_a_session_took_place_do_not_flag_it():
    sc = with_time_off(with_closure(build(), Closure(march(4), march(4))), at(4, 8), at(4, 12))
    assert {"clinic_closed", "staff_unavailable"} <= sc.codes()
    sc.edit(11, status="completed").edit(21, status="completed")
    assert not {"clinic_closed", "staff_unavailable"} & sc.codes()


def test_time_off_and_own_working_hours_make_staff_unavailable():
    sc = with_time_off(build(), at(6, 7), at(6, 10))
    flags = [f for f in sc.flags() if f.code == "staff_unavailable"]
    assert [f.session_ids for f in flags] == [(12,)] and "Nurse Kim is off" in flags[0].message
    sc = build()
    sc.staff[NURSE] = replace(sc.staff[NURSE], hours={0: [(time(8), time(18))], 4: [(time(8), time(18))]})
    flags = [f for f in sc.flags() if f.code == "staff_unavailable"]
    assert sorted(f.session_ids for f in flags) == [(11,), (14,)]  # the Wednesday doses
    assert "does not work at that time" in flags[0].message


def test_patient_state_changes_make_flags_appear():
    sc = with_hold(build(), "psychosis found at evaluation")
    holds = [f for f in sc.flags() if f.code == "dosing_hold"]
    assert sorted(f.session_ids[0] for f in holds) == [11, 12, 13, 14, 15, 16]
    sc.edit(11, status="completed")  # a dose already given is history, not a booking on hold
    assert 11 not in {f.session_ids[0] for f in sc.flags() if f.code == "dosing_hold"}


# ---------------------------------------------------------------- cancellations


@pytest.mark.parametrize("status", ["cancelled", "no_show"])
def test_dead_sessions_hold_nothing(status):
    sc = with_hold(build(), "mania")
    sc.add(ben(90, 4, 9, room=IV_ROOM, staff=NURSE, status=status))
    sc.edit(12, status=status)
    flags = sc.flags()
    assert not {"room_double_booked", "staff_over_capacity"} & set(codes_of(flags))
    assert all(12 not in f.session_ids for f in flags if f.code == "dosing_hold")


def test_cancelled_doses_leave_their_gap():
    sc = build()
    for sid in (13, 14, 15):
        sc.edit(sid, status="cancelled")
    gaps = [f for f in sc.flags() if f.code == "induction_gap"]
    assert [f.session_ids for f in gaps] == [(12, 16)]
    assert "10 days after dose 2" in gaps[0].message
    # and once the last dose has passed, the induction is incomplete
    assert "induction_incomplete" in as_of(sc, march(17)).codes()


def test_closed_courses_have_no_gaps():
    sc = build(follow_up_after=None)
    sc.course_status = "stopped"
    assert "follow_up_missing" not in sc.codes()


# ---------------------------------------------------------------- DST and calendar days


def test_integration_window_counts_real_hours_across_spring_forward():
    # dose 2 Fri 6 Mar 09:00-11:00 EST; the clocks go forward on Sun 8 Mar; next dose Wed 11 Mar.
    sc = build((4, 6, 11, 13, 16, 18)).drop(22)
    sc.add(session(22, 9, 11, 60, THERAPY_ROOM, m=30, kind="integration", staff=THERAPIST))  # 71.5 h later
    assert "integration_missing" not in sc.codes()
    sc.move(22, 9, 12, 30)  # wall clock says 73.5 h, real time 72.5 h: too late
    missing = [f for f in sc.flags() if f.code == "integration_missing"]
    assert [f.session_ids for f in missing] == [(12,)]


def test_opening_hours_keep_the_wall_clock_across_dst():
    sc = build()
    sc.move(13, 9, 8)  # Mon 9 Mar 08:00 EDT, the first weekday after spring forward
    assert "outside_clinic_hours" not in sc.codes()
    sc.move(13, 9, 7, 30)
    flags = [f for f in sc.flags() if f.code == "outside_clinic_hours"]
    assert flags and flags[0].starts_at.utcoffset() == timedelta(hours=-4)
    assert "Mon 9 Mar 07:30" in flags[0].message and "open 08:00–18:00 on Mondays" in flags[0].message


@pytest.mark.parametrize("second, too_close", [(date(2026, 11, 2), False), (date(2026, 11, 1), True)])
def test_dose_spacing_counts_local_dates_across_fall_back(second, too_close):
    sc = Scenario(
        sessions=[
            session(1, date(2026, 10, 28), 10, 60, THERAPY_ROOM, kind="evaluation", staff=PRESCRIBER),
            session(11, date(2026, 10, 31), 9, 120, IV_ROOM, staff=NURSE, seq=1),
            session(12, second, 9, 120, IV_ROOM, staff=NURSE, seq=2),
        ],
        hours=ALL_WEEK_LATE,
        as_of=at(date(2026, 10, 27), 8),
    )
    assert ("doses_too_close" in sc.codes()) is too_close


def test_dose_spacing_uses_the_clinic_zone_not_utc():
    # 19:30 New York is 00:30 UTC the next day: UTC dates say 1 day apart, local dates 2.
    sc = Scenario(
        sessions=[
            session(1, 2, 10, 60, THERAPY_ROOM, kind="evaluation", staff=PRESCRIBER),
            session(11, 4, 19, 120, IV_ROOM, m=30, staff=NURSE, seq=1),
            session(12, 6, 8, 120, IV_ROOM, staff=NURSE, seq=2),
        ],
        hours=ALL_WEEK_LATE,
    )
    assert "doses_too_close" not in sc.codes()


# ---------------------------------------------------------------- other protocols


def test_esketamine_second_stage_spacing_applies_from_the_previous_stage():
    days = [date(2026, 3, 2) + timedelta(days=d) for d in (0, 3, 7, 10, 14, 17, 21, 24)]

    def sc_with(ninth: date) -> Scenario:
        sessions = [session(1, date(2026, 2, 27), 10, 60, THERAPY_ROOM, kind="evaluation", staff=PRESCRIBER)]
        sessions += [
            session(10 + n, d, 9, 135, IV_ROOM_2, staff=NURSE, seq=n, route="nasal")
            for n, d in enumerate([*days, ninth], start=1)
        ]
        sc = Scenario(sessions=sessions, hours=ALL_WEEK_LATE, protocol_key="esketamine-trd")
        sc.rooms[IV_ROOM_2] = replace(sc.rooms[IV_ROOM_2], capabilities=("nasal",))
        return sc

    close = [f for f in sc_with(days[-1] + timedelta(days=3)).flags() if f.code == "doses_too_close"]
    assert [f.session_ids for f in close] == [(18, 19)] and "at least 5 days" in close[0].message
    assert "doses_too_close" not in sc_with(days[-1] + timedelta(days=5)).codes()


@pytest.mark.parametrize("gap_minutes, per_day, expected", [(50, 10, False), (30, 10, True), (50, 11, True)])
def test_accelerated_tms_minutes_between_doses_and_doses_per_day(gap_minutes, per_day, expected):
    sessions = [session(1, 2, 10, 60, IV_ROOM_2, kind="evaluation", staff=PRESCRIBER)]
    start = at(4, 7)
    for n in range(per_day):
        s = start + n * timedelta(minutes=10 + gap_minutes)
        sessions.append(
            Session(
                id=10 + n,
                patient_id=ANA,
                starts_at=s,
                ends_at=s + timedelta(minutes=10),
                room_id=IV_ROOM_2,
                kind="dose",
                phase="induction",
                route="tms",
                clinic_id=1,
                course_id=COURSE,
                sequence=n + 1,
                staff_member_id=NURSE,
            )
        )
    sc = Scenario(sessions=sessions, hours=ALL_WEEK_LATE, protocol_key="tms-accelerated")
    sc.rooms[IV_ROOM_2] = replace(sc.rooms[IV_ROOM_2], capabilities=("tms",))
    assert ("doses_too_close" in sc.codes()) is expected


def test_maintenance_doses_are_spaced_from_one_another():
    sc = build()
    sc.add(
        session(41, date(2026, 5, 18), 9, 120, IV_ROOM, staff=NURSE, phase="maintenance", seq=1),
        session(42, date(2026, 6, 15), 9, 120, IV_ROOM, staff=NURSE, phase="maintenance", seq=2),
    )
    early = [f for f in sc.flags() if f.code == "maintenance_too_early"]
    assert [f.session_ids for f in early] == [(41, 42)] and "at least 2 months apart" in early[0].message


def test_evaluation_on_the_dose_day_is_too_late():
    sc = build(evaluation_day=4).move(1, 4, 8)  # 08:00, before the 09:00 dose, but the same day
    flags = [f for f in sc.flags() if f.code == "dose_before_evaluation"]
    assert flags and flags[0].session_ids == (11, 1)


# ---------------------------------------------------------------- candidate and clinic entry points


def test_candidate_new_session_names_the_clash_and_not_itself():
    sc = build()
    new = ben(None, 4, 10, room=IV_ROOM, staff=NURSE_2)
    flags = candidate_flags(sc.ctx(), new, sc.sessions)
    assert codes_of(flags) == ["room_double_booked"] and flags[0].session_ids == (11,)


def test_candidate_reschedule_excludes_its_old_self():
    sc = build()
    moved = replace(sc.sid(12), starts_at=at(6, 10), ends_at=at(6, 12))  # overlaps its own old slot
    assert candidate_flags(sc.ctx(), moved, sc.sessions) == []
    too_close = replace(sc.sid(12), starts_at=at(5, 9), ends_at=at(5, 11))
    flags = candidate_flags(sc.ctx(), too_close, sc.sessions)
    assert codes_of(flags) == ["doses_too_close"] and flags[0].session_ids == (11, 12)


def test_candidate_reports_only_what_it_takes_part_in():
    sc = build().add(ben(90, 4, 9, room=IV_ROOM))  # an existing clash with dose 1
    new = ben(None, 5, 9, room=IV_ROOM_2)
    assert candidate_flags(sc.ctx(), new, sc.sessions) == []
    sc.patients[BEN] = Patient(BEN, "MRN2", "Ben Li", dosing_hold_reason="mania")
    assert codes_of(candidate_flags(sc.ctx(), new, sc.sessions)) == ["dosing_hold"]


def test_candidate_codes_can_include_gaps():
    sc = build()
    sc.patients[ANA] = replace(sc.patients[ANA], ride_home_arranged=False)
    cand = replace(sc.sid(12), starts_at=at(6, 10), ends_at=at(6, 12))
    assert candidate_flags(sc.ctx(), cand, sc.sessions) == []
    assert "ride_home_missing" in codes_of(candidate_flags(sc.ctx(), cand, sc.sessions, codes=ALL_CODES))


def test_clinic_flags_keep_to_the_range():
    sc = build().add(ben(90, 4, 9, room=IV_ROOM), ben(91, 11, 9, room=IV_ROOM))
    week1 = clinic_flags(sc.ctx(), march(2), march(6), sc.sessions, as_of=sc.as_of, idle_chairs=False)
    assert [f.session_ids for f in week1 if f.code == "room_double_booked"] == [(11, 90)]
    week2 = clinic_flags(sc.ctx(), march(9), march(13), sc.sessions, as_of=sc.as_of, idle_chairs=False)
    assert [f.session_ids for f in week2 if f.code == "room_double_booked"] == [(14, 91)]


def test_clinic_flags_show_course_gaps_dated_in_the_range():
    sc = as_of(build(), date(2026, 6, 1))
    today = clinic_flags(sc.ctx(), date(2026, 6, 1), date(2026, 6, 5), sc.sessions, as_of=sc.as_of, idle_chairs=False)
    assert codes_of(today) == []  # no session in the range, and the course's clinic is not known
    ctx = replace_courses(sc.ctx(), [CourseFacts(COURSE, ANA, "ketamine-iv", clinic_id=1)])
    today = clinic_flags(ctx, date(2026, 6, 1), date(2026, 6, 5), sc.sessions, as_of=sc.as_of, idle_chairs=False)
    assert codes_of(today) == ["maintenance_due"]
    later = clinic_flags(ctx, date(2026, 6, 8), date(2026, 6, 12), sc.sessions, as_of=sc.as_of, idle_chairs=False)
    assert codes_of(later) == []  # dated today: not in next week's list
    window = clinic_flags(sc.ctx(), march(16), date(2026, 6, 5), sc.sessions, as_of=sc.as_of, idle_chairs=False)
    assert "maintenance_due" in codes_of(window)


def test_idle_chair_time_starts_at_as_of_and_skips_closed_days():
    sc = build()
    sc.rooms = {IV_ROOM: sc.rooms[IV_ROOM]}
    sc.as_of = at(4, 14)
    idle = clinic_flags(sc.ctx(), march(4), march(8), sc.sessions, as_of=sc.as_of)
    spans = [(f.on, f.starts_at.time(), f.ends_at.time()) for f in idle if f.code == "idle_chair_time"]
    assert spans == [
        (march(4), time(14), time(18)),
        (march(5), time(8), time(18)),
        (march(6), time(11), time(18)),
    ]  # 08:00-09:00 is too short for a 120-min dose


def kap(integration_days: dict[int, tuple[int, int]]) -> Scenario:
    """KAP lozenge course: doses 09:00-12:00 on 4, 6, 9, 11, 13, 16 March; integration sessions after
    dose n at ``integration_days[n] = (day, hour)``."""
    sessions = [session(1, 2, 10, 60, THERAPY_ROOM, kind="evaluation", staff=PRESCRIBER)]
    for n, d in enumerate((4, 6, 9, 11, 13, 16), start=1):
        sessions.append(session(10 + n, d, 9, 180, IV_ROOM, staff=THERAPIST, seq=n, route="lozenge"))
    for n, (d, h) in integration_days.items():
        sessions.append(session(20 + n, d, h, 60, THERAPY_ROOM, kind="integration", staff=THERAPIST))
    sc = Scenario(sessions=sessions, protocol_key="ketamine-lozenge-kap", hours=ALL_WEEK_LATE)
    sc.rooms[IV_ROOM] = replace(sc.rooms[IV_ROOM], capabilities=("lozenge",))
    return sc


def test_kap_integration_after_doses_1_2_then_every_second_dose():
    plan = {1: (4, 13), 2: (6, 13), 4: (11, 13), 6: (16, 13)}
    assert "integration_missing" not in kap(plan).codes()
    # dose 4's integration may come after dose 5 (which needs none), within 72 h
    assert "integration_missing" not in kap(plan | {4: (13, 14)}).codes()
    missing = [f for f in kap({k: v for k, v in plan.items() if k != 4}).flags() if f.code == "integration_missing"]
    assert [f.session_ids for f in missing] == [(14,)]
    # more than 72 h after dose 4 ended (Wed 11 Mar 12:00) is too late
    assert [f.session_ids for f in kap(plan | {4: (14, 13)}).flags() if f.code == "integration_missing"] == [(14,)]
    # dose 6's session does not count for dose 4: each dose needs its own
    both = kap({1: (4, 13), 2: (6, 13), 6: (16, 13)})
    assert [f.session_ids for f in both.flags() if f.code == "integration_missing"] == [(14,)]
