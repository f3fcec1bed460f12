"""Every flag code of the rule book (scheduler.domain.rules.codes): a table of (break, fix) pairs on one clean ketamine-iv course.

The clean scenario (America/New_York, open Mon-Fri 08:00-18:00, spanning the spring-forward weekend of
8 March 2026; built by tests/support/flag_scenarios.py) raises no flag at all; each case changes one thing and the code appears, then repairs it
and the code is gone.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, time, timedelta

import pytest

from scheduler.domain.flags import (
    ALL_CODES,
    CONFLICT_CODES,
    GAP_CODES,
    Flag,
    candidate_flags,
    clinic_flags,
)
from scheduler.domain.values import Closure
from tests.support.flag_scenarios import (
    ANA,
    BEN,
    COURSE,
    IV_ROOM,
    IV_ROOM_2,
    NURSE,
    NURSE_2,
    THERAPIST,
    THERAPY_ROOM,
    Scenario,
    as_of,
    at,
    ben,
    build,
    maintenance_dose,
    march,
    nasal,
    session,
    tms_course,
    two_nasal_doses,
    with_auth,
    with_closure,
    with_form,
    with_hold,
    with_prescriber_off,
    with_ride,
    with_time_off,
)

# (code, break the clean scenario, repair it) — each callable builds its own scenario
CASES = {
    "room_double_booked": (
        lambda: build().add(ben(90, 4, 10, room=IV_ROOM)),
        lambda: build().add(ben(90, 4, 10, room=IV_ROOM_2)),
    ),
    "patient_double_booked": (
        lambda: build().add(session(90, 4, 10, 60, IV_ROOM_2, kind="preparation", course=None, staff=NURSE_2)),
        lambda: build().add(session(90, 4, 15, 60, IV_ROOM_2, kind="preparation", course=None, staff=NURSE_2)),
    ),
    "staff_over_capacity": (
        lambda: build().add(ben(90, 4, 9, m=30, staff=NURSE)),
        lambda: build().add(ben(90, 4, 9, m=30, staff=NURSE_2)),
    ),
    "outside_clinic_hours": (
        lambda: build().move(11, 4, 17),
        lambda: build().move(11, 4, 16),
    ),  # ends exactly at closing time
    "clinic_closed": (
        lambda: with_closure(build(), Closure(march(4), march(4), reason="Staff training")),
        lambda: with_closure(build(), Closure(march(5), march(5), reason="Staff training")),
    ),
    "staff_unavailable": (
        lambda: with_time_off(build(), at(4, 8), at(4, 12)),
        lambda: with_time_off(build(), at(4, 11), at(4, 12)),
    ),  # starts as the dose ends
    "room_unsuitable": (
        lambda: build().edit(11, room_id=THERAPY_ROOM).move(21, 4, 14),
        lambda: build().edit(11, room_id=IV_ROOM_2),
    ),
    "doses_too_close": (lambda: build().move(12, 5, 9), lambda: build().move(12, 6, 9)),
    "induction_window_exceeded": (lambda: build((4, 9, 16, 20, 23, 26)), lambda: build((4, 9, 16, 18, 20, 23))),
    "dose_before_evaluation": (lambda: build(evaluation_day=4).move(1, 4, 15), lambda: build(evaluation_day=3)),
    "evaluation_expired": (
        lambda: build(evaluation_day=date(2026, 1, 30)),
        lambda: build(evaluation_day=date(2026, 2, 2)),
    ),  # exactly 30 days
    "maintenance_too_early": (
        lambda: build().add(maintenance_dose(date(2026, 5, 4))),
        lambda: build().add(maintenance_dose(date(2026, 5, 18))),
    ),
    "dosing_hold": (lambda: with_hold(build(), "acute mania at evaluation"), lambda: with_hold(build(), None)),
    "induction_gap": (lambda: build((4, 6, 9, 17, 20, 23)), lambda: build((4, 6, 9, 16, 20, 23))),
    "induction_incomplete": (
        lambda: as_of(build().edit(16, status="cancelled"), march(20)),
        lambda: as_of(
            build().edit(16, status="cancelled").add(session(17, 18, 9, 120, IV_ROOM, staff=NURSE, seq=6)), march(20)
        ),
    ),
    "integration_missing": (
        lambda: build().drop(23),
        lambda: build().drop(23).add(session(23, 10, 15, 60, THERAPY_ROOM, kind="integration", staff=THERAPIST)),
    ),
    "follow_up_missing": (lambda: build(follow_up_after=None), lambda: build(follow_up_after=14)),
    "maintenance_due": (
        lambda: as_of(build(), date(2026, 6, 1)),
        lambda: as_of(build().add(maintenance_dose(date(2026, 6, 2))), date(2026, 6, 1)),
    ),
    "maintenance_overdue": (
        lambda: as_of(build(), date(2026, 10, 1)),
        lambda: as_of(build().add(maintenance_dose(date(2026, 10, 2))), date(2026, 10, 1)),
    ),
    "ride_home_missing": (lambda: with_ride(build(), False), lambda: with_ride(build(), True)),
    # six doses; dose 6 would be unit 6 of 5 (and every dose is low on units: in both scenarios)
    "authorization_exceeded": (lambda: with_auth(build(), 5), lambda: with_auth(build(), 6)),
    # 10 units for 6 doses: 4 left, at or below the 5 that count as low
    "authorization_low": (lambda: with_auth(build(), 10), lambda: with_auth(build(), 20)),
    # REMS (dose 1 by the nasal route): the patient's enrollment, then a prescriber on site
    "rems_not_enrolled": (lambda: nasal(build(), enrolled=False), lambda: nasal(build())),
    # Dr Osei (the clinic's prescriber) off 08:00-10:00 while dose 1 runs 09:00-11:00; then from 11:00
    "prescriber_not_on_site": (
        lambda: with_prescriber_off(nasal(build()), at(4, 8), at(4, 10)),
        lambda: with_prescriber_off(nasal(build()), at(4, 11), at(4, 12)),
    ),
    # one nurse: Ana's checks 09:00/09:40/11:15, Ben's 5 minutes later; then 15 minutes later
    "bp_checks_too_close": (lambda: two_nasal_doses(5), lambda: two_nasal_doses(15)),
    # dose 1 (Wed 4 Mar) completed; Fri 6 Mar is day 2, Thu 12 Mar day 8; then the form is on file
    "rems_form_due": (
        lambda: as_of(nasal(build(), status="completed"), march(6)),
        lambda: with_form(as_of(nasal(build(), status="completed"), march(6)), 11),
    ),
    "rems_form_overdue": (
        lambda: as_of(nasal(build(), status="completed"), march(12)),
        lambda: with_form(as_of(nasal(build(), status="completed"), march(12)), 11),
    ),
    # a running TMS course: no motor threshold in the last 7 days (2 Mar is 7 days before 9 Mar), then one on 3 Mar
    "motor_threshold_due": (lambda: tms_course(march(2)), lambda: tms_course(march(2), march(3))),
    # dose 1 is at 09:00 on Wed 4 Mar; at noon the day before it is within 24 hours
    "unconfirmed": (lambda: as_of(build(), march(3)), lambda: as_of(build().edit(11, confirmed_at=at(3, 8)), march(3))),
    # now (12:00 on 4 Mar) is after the evaluation and dose 1: still booked, then recorded
    "attendance_unrecorded": (
        lambda: as_of(build(), march(4)),
        lambda: as_of(build().edit(1, status="completed").edit(11, status="completed"), march(4)),
    ),
}


def idle_flags(sc: Scenario, day: int) -> list[Flag]:
    sc.rooms = {IV_ROOM: sc.rooms[IV_ROOM], THERAPY_ROOM: sc.rooms[THERAPY_ROOM]}
    return clinic_flags(sc.ctx(), march(day), march(day), sc.sessions, as_of=sc.as_of)


def test_the_tables_cover_every_code():
    assert set(CASES) | {"idle_chair_time"} == ALL_CODES
    assert CONFLICT_CODES.isdisjoint(GAP_CODES)
    assert len(ALL_CODES) == 31


def test_the_clean_scenario_has_no_flag():
    assert build().flags() == []
    assert [
        f.code
        for f in clinic_flags(build().ctx(), march(2), march(31), build().sessions, as_of=at(2, 7), idle_chairs=False)
    ] == []


# Gaps that break a hard rule of the protocol: errors like the conflicts (issue 9, "one code, one severity").
HARD_RULE_GAPS = {"induction_gap", "integration_missing", "rems_form_overdue"}
# A conflict that only warns: the nurse can still take both checks, a little late.
WARNING_CONFLICTS = {"bp_checks_too_close"}


@pytest.mark.parametrize("code", sorted(CASES))
def test_code_appears(code):
    broken, _ = CASES[code]
    flags = broken().flags()
    assert code in {f.code for f in flags}
    flag = next(f for f in flags if f.code == code)
    assert flag.severity == ("error" if code in (CONFLICT_CODES | HARD_RULE_GAPS) - WARNING_CONFLICTS else "warning")
    assert flag.message.endswith(".") and flag.fix
    assert flag.patient_id in (ANA, None)


@pytest.mark.parametrize("code", sorted(CASES))
def test_code_gone_once_fixed(code):
    _, fixed = CASES[code]
    assert code not in fixed().codes()


@pytest.mark.parametrize("code", sorted(CASES))
def test_only_the_broken_rule_fires(code):
    """The break changes one thing: no unrelated code appears (keeps the table honest)."""
    broken, fixed = CASES[code]
    assert broken().codes() - fixed().codes() == {code}


def test_idle_chair_time_appears_and_is_gone_once_the_chair_is_filled():
    flags = idle_flags(build(), 4)
    idle = [f for f in flags if f.code == "idle_chair_time"]
    # Chair 1 on Wed 4 Mar: dose 09:00-11:00; 08:00-09:00 is too short for a 120-min block.
    assert [(f.room_id, f.starts_at.time(), f.ends_at.time()) for f in idle] == [(IV_ROOM, time(11), time(18))]
    assert idle[0].severity == "info" and "Chair 1" in idle[0].message and "7 h" in idle[0].message
    filled = build().add(ben(90, 4, 11, room=IV_ROOM), ben(91, 4, 13, room=IV_ROOM), ben(92, 4, 15, room=IV_ROOM))
    assert "idle_chair_time" not in {f.code for f in idle_flags(filled, 4)}  # 17:00-18:00 is left: 1 h


def test_message_names_local_times_and_the_rule():
    flag = next(f for f in CASES["doses_too_close"][0]().flags() if f.code == "doses_too_close")
    assert flag.message == (
        "Dose 2 for Ana Ruiz on Thu 5 Mar 09:00 is 1 day after dose 1; ketamine-iv needs at least 2 days."
    )
    assert flag.session_ids == (11, 12) and flag.course_id == COURSE
    assert "Fri 6 Mar 2026" in flag.fix


def test_to_dict_is_json_ready_with_the_clinic_offset():
    import json

    flag = next(f for f in CASES["room_double_booked"][0]().flags() if f.code == "room_double_booked")
    body = flag.to_dict()
    assert json.loads(json.dumps(body)) == body
    assert body["code"] == "room_double_booked" and body["severity"] == "error"
    assert body["session_ids"] == [11, 90] and body["room_id"] == IV_ROOM
    assert body["starts_at"] == "2026-03-04T10:00:00-05:00" and body["on"] == "2026-03-04"
    assert set(body) >= {"code", "severity", "message", "patient_id", "session_ids", "fix"}


def test_flag_rejects_unknown_codes_and_severities():
    with pytest.raises(ValueError):
        Flag(code="nope", severity="error", message="x")
    with pytest.raises(ValueError):
        Flag(code="dosing_hold", severity="fatal", message="x")


def test_output_order_is_deterministic():
    sc = with_ride(with_hold(build().add(ben(90, 4, 10, room=IV_ROOM)), "psychosis"), False)
    first = sc.flags()
    sc.sessions = list(reversed(sc.sessions))
    assert sc.flags() == first
    keys = [f.sort_key() for f in first]
    assert keys == sorted(keys)


@pytest.mark.parametrize("code", sorted(CONFLICT_CODES))
def test_candidate_flags_agree_with_patient_flags(code):
    """Booking the last session a conflict names, as a candidate, reports the same conflict; booking it
    in the repaired scenario does not."""
    broken, fixed = CASES[code]
    sc = broken()
    flag = next(f for f in sc.flags() if f.code == code)
    cand = sc.sid(flag.session_ids[-1])
    assert code in {f.code for f in candidate_flags(sc.ctx(), cand, sc.sessions)}
    sc = fixed()
    cand = next((s for s in sc.sessions if s.id == cand.id), None)
    if cand is not None:
        assert code not in {f.code for f in candidate_flags(sc.ctx(), cand, sc.sessions)}


def test_a_clinician_of_the_wrong_role_is_staff_unavailable():
    """A therapist on an IV dose block that needs a nurse: staff_unavailable naming the role needed;
    it is gone once a nurse is assigned."""
    sc = build().edit(11, staff_member_id=THERAPIST)
    flags = [f for f in sc.flags() if f.code == "staff_unavailable"]
    assert [(f.session_ids, f.staff_member_id) for f in flags] == [((11,), THERAPIST)]
    assert flags[0].message.startswith("Dr Tran is a therapist, but is assigned to dose 1 for Ana Ruiz")
    assert flags[0].message.endswith("; ketamine-iv needs a nurse for it.")
    assert flags[0].fix == "Assign a nurse to the session."
    assert sc.codes() == {"staff_unavailable"}
    assert "staff_unavailable" in {f.code for f in candidate_flags(sc.ctx(), sc.sid(11), sc.sessions)}
    assert "staff_unavailable" not in build().edit(11, staff_member_id=NURSE_2).codes()
    # the other way round: a nurse on the integration session that needs a therapist
    flags = [f for f in build().edit(21, staff_member_id=NURSE_2).flags() if f.code == "staff_unavailable"]
    assert [f.session_ids for f in flags] == [(21,)] and "needs a therapist" in flags[0].message


def test_a_session_without_a_protocol_is_not_judged_by_role():
    sc = build().add(ben(90, 5, 9, staff=THERAPIST))  # Ben's dose has no course, so no protocol to ask
    assert "staff_unavailable" not in sc.codes(BEN)


def test_a_ride_home_named_through_the_reminder_link_counts_for_that_session():
    sc = with_ride(build(), False).edit(11, ride_home_by="Sam (partner)")
    missing = [f for f in sc.flags() if f.code == "ride_home_missing"]
    assert missing and all(11 not in f.session_ids for f in missing)


@pytest.mark.parametrize(
    "hours_before, confirmed, status, expected",
    [
        (25, False, "booked", False),  # not yet within 24 hours
        (24, False, "booked", True),  # exactly 24 hours before: due
        (1, False, "booked", True),
        (1, True, "booked", False),  # confirmed
        (1, False, "cancelled", False),
        (0, False, "booked", False),  # started: attendance is what matters now
    ],
)
def test_unconfirmed_edges(hours_before, confirmed, status, expected):
    from scheduler.domain.rules.patient import unconfirmed

    dose = session(11, 4, 9, 120, IV_ROOM, staff=NURSE, seq=1, status=status)
    if confirmed:
        dose = replace(dose, confirmed_at=at(3, 8))
    assert unconfirmed(dose, dose.starts_at - timedelta(hours=hours_before)) is expected


@pytest.mark.parametrize(
    "valid_from, valid_to, units, flagged",
    [
        (date(2026, 3, 1), date(2026, 6, 30), 6, set()),  # exactly enough
        (date(2026, 3, 1), date(2026, 6, 30), 5, {16}),  # the sixth dose is one too many
        (date(2026, 3, 1), date(2026, 3, 12), 36, {15, 16}),  # doses 5 and 6 fall after the end date
        (date(2026, 3, 6), date(2026, 6, 30), 36, {11}),  # dose 1 falls before the start date
    ],
)
def test_authorization_exceeded_edges(valid_from, valid_to, units, flagged):
    sc = with_auth(build(), units, valid_from, valid_to)
    found = {sid for f in sc.flags() if f.code == "authorization_exceeded" for sid in f.session_ids}
    assert found == flagged


def test_authorization_low_when_it_ends_within_14_days_and_not_on_a_patient_without_one():
    near_end = with_auth(build(), 36, date(2026, 3, 1), date(2026, 3, 16))
    assert "authorization_low" in near_end.codes()
    low = next(f for f in near_end.flags() if f.code == "authorization_low")
    assert low.session_ids == (11,) and "6 of 36 units used, until Mon 16 Mar 2026" in low.message
    assert not {"authorization_low", "authorization_exceeded"} & build().codes()
