"""tms-daily-taper: stages anchored to the course's first dose (the 3-2-1 taper in course weeks 7-9) and
the interruption tolerance (a TMS course allows longer gaps than ketamine before induction_gap)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from scheduler.domain.flags import CourseFacts, FlagContext, patient_flags
from scheduler.domain.protocols import ProtocolError, validate
from scheduler.domain.rules import gap_code, induction_window_end, within_window
from scheduler.domain.timezones import local_date
from scheduler.domain.values import Closure, Session, by_id
from tests.support.plan_world import PATIENT, PROTOCOLS, ROOMS, STAFF, START, TZ, make_clinic, plan

TAPER = PROTOCOLS["tms-daily-taper"]
TMS_ROOMS = ROOMS


def _day(s):
    return local_date(s.starts_at, TZ)


def _course_days(p):
    doses = p.of_kind("dose")
    first = _day(doses[0])
    return [(_day(s) - first).days for s in doses]


def test_the_taper_falls_in_course_weeks_7_8_9():
    p = plan("tms-daily-taper", rooms=TMS_ROOMS)
    assert p.problems == ()
    days = _course_days(p)
    assert len(days) == 36
    daily, taper = days[:30], days[30:]
    assert all(d < 42 for d in daily)
    assert [sum(1 for d in taper if 42 + 7 * k <= d <= 48 + 7 * k) for k in range(3)] == [3, 2, 1]


def test_a_holiday_pushes_the_daily_sessions_not_the_taper_weeks():
    """Weeks count from the course's first session: the 30th daily session slips into week 7 and the
    week-7 taper still has its 3 sessions in week 7 (not a week counted from the slipped session)."""
    first = _day(plan("tms-daily-taper", rooms=TMS_ROOMS).of_kind("dose")[0])
    holidays = [Closure(first + timedelta(days=7), first + timedelta(days=7), reason="holiday")]
    p = plan("tms-daily-taper", clinic=make_clinic(holidays), rooms=TMS_ROOMS)
    assert p.problems == ()
    days = _course_days(p)
    assert days[29] >= 42  # the last daily session is in week 7
    assert [sum(1 for d in days[30:] if 42 + 7 * k <= d <= 48 + 7 * k) for k in range(3)] == [3, 2, 1]


def _flags(sessions, key="tms-daily-taper"):
    ctx = FlagContext(
        clinic=make_clinic(),
        protocols=PROTOCOLS,
        rooms=by_id(TMS_ROOMS),
        staff=by_id(STAFF),
        patients=by_id([PATIENT]),
        courses=by_id([CourseFacts(id=1, patient_id=PATIENT.id, protocol_key=key, start_on=START, clinic_id=1)]),
    )
    as_of = datetime.combine(START - timedelta(days=1), time(12), tzinfo=UTC)
    return patient_flags(ctx, PATIENT.id, sessions, as_of=as_of, others=[])


def _booked(p, moves=None):
    moves = moves or {}
    out = []
    for i, s in enumerate(p.sessions):
        shift = timedelta(days=moves.get((s.kind, s.sequence), 0))
        out.append(
            Session(
                id=i + 1,
                patient_id=PATIENT.id,
                starts_at=s.starts_at + shift,
                ends_at=s.ends_at + shift,
                room_id=s.room_id,
                kind=s.kind,
                status="booked",
                clinic_id=1,
                course_id=1,
                phase=s.phase,
                sequence=s.sequence,
                route=s.route,
                staff_member_id=s.staff_member_id,
            )
        )
    return out


def test_a_taper_session_outside_its_course_week_is_flagged_and_the_flag_goes_when_it_is_back():
    p = plan("tms-daily-taper", rooms=TMS_ROOMS)
    assert _flags(_booked(p)) == []
    week2 = p.of_kind("dose")[-2]  # course week 8; one week later is week 9 (gaps still tolerated)
    late = [f for f in _flags(_booked(p, {("dose", week2.sequence): 7})) if f.severity == "error"]
    assert [f.code for f in late] == ["induction_window_exceeded"]
    assert "week 8 of the course" in late[0].message
    assert _flags(_booked(p, {("dose", week2.sequence): 0})) == []


@pytest.mark.parametrize(
    "key, stage, gap, code",
    [
        ("ketamine-iv", 0, 7, None),
        ("ketamine-iv", 0, 8, "induction_gap"),
        ("tms-daily", 0, 4, None),  # the usual cadence
        ("tms-daily", 0, 8, None),  # tolerated: longer than ketamine allows
        ("tms-daily", 0, 10, None),
        ("tms-daily", 0, 11, "induction_gap"),
        ("tms-daily-taper", 0, 10, None),
        ("tms-daily-taper", 0, 11, "induction_gap"),
        ("tms-daily-taper", 2, 10, None),
        ("tms-daily-taper", 2, 11, "induction_gap"),
        ("esketamine-trd", 0, 5, None),  # no tolerance key: max_gap_days is the limit
        ("esketamine-trd", 0, 6, "induction_gap"),
    ],
)
def test_interruption_tolerance_is_protocol_data(key, stage, gap, code):
    st = PROTOCOLS[key].induction.stages[stage]
    assert gap_code(st, date(2024, 3, 1), date(2024, 3, 1) + timedelta(days=gap)) == code


@pytest.mark.parametrize(
    "key, rooms, from_dose, days, interrupted",
    [
        ("tms-daily", TMS_ROOMS, 5, 7, False),  # a missed week of TMS (Friday to the Monday after next)
        ("tms-daily", TMS_ROOMS, 5, 8, True),
        ("ketamine-iv", ROOMS, 4, 6, True),  # ketamine's induction allows 7 days
    ],
)
def test_a_missed_week_interrupts_ketamine_not_tms(key, rooms, from_dose, days, interrupted):
    p = plan(key, rooms=rooms)
    moves = {("dose", s.sequence): days for s in p.of_kind("dose") if s.sequence >= from_dose}
    moves.update({("integration", s.sequence): days for s in p.of_kind("integration") if s.sequence >= from_dose})
    moves.update({("follow_up", 1): days})
    codes = [f.code for f in _flags(_booked(p, moves), key)]
    assert ("induction_gap" in codes) == interrupted, codes
    if not interrupted:  # a whole week later: same weekdays, the window still holds
        assert codes == []


@pytest.mark.parametrize(
    "stage, problem",
    [
        ({"anchor": "course", "offset_days": 3}, "induction.stages[0].anchor: the first stage begins the course"),
        ("later", None),
        ({"anchor": "week"}, "unknown anchor 'week'"),
        ({"offset_days": 3}, "offset_days: only with anchor"),
        ({"anchor": "course"}, "offset_days: missing"),
        ({"interruption_tolerance_days": 1}, "interruption_tolerance_days: out of range: 1 is less than 2"),
    ],
)
def test_anchor_and_tolerance_are_validated(stage, problem):
    base = {"count": 2, "min_gap_days": 1, "max_gap_days": 2, "window_days": 3}
    stages = [dict(base)]
    if stage == "later":
        stages.append({**base, "anchor": "course", "offset_days": 7})
    else:
        stages[0].update(stage)
        if "anchor" not in stage or stage.get("anchor") != "course" or "offset_days" not in stage:
            pass
    data = {
        "name": "x",
        "source": "s",
        "induction": {"stages": stages},
        "dose": {"duration_minutes": 40, "route": "tms", "capability": "tms", "role": "nurse"},
    }
    if problem is None:
        p = validate(data, "x.toml")
        st = p.induction.stages[1]
        assert st.anchored_to_course and st.offset_days == 7 and p.induction.anchored
        assert within_window(st, None, date(2024, 3, 4), date(2024, 3, 11))
        assert not within_window(st, None, date(2024, 3, 4), date(2024, 3, 10))
        assert not within_window(st, None, date(2024, 3, 4), date(2024, 3, 15))
        return
    if stage.get("anchor") == "course" and "offset_days" not in stage:
        stages.insert(0, dict(base))  # a later stage without offset_days
        problem = "induction.stages[1].offset_days: missing"
    with pytest.raises(ProtocolError) as err:
        validate(data, "x.toml")
    assert problem in str(err.value)


def test_the_induction_window_end_of_the_taper_is_week_9():
    first = date(2024, 3, 5)
    assert induction_window_end(TAPER, first) == first + timedelta(days=62)


@pytest.mark.parametrize(
    "measured_days_ago, due",
    [
        (None, True),
        (0, False),
        (6, False),
        (7, True),
        (30, True),
    ],
)
def test_motor_threshold_due_table(measured_days_ago, due):
    from scheduler.domain.rules.tms import motor_threshold_due_on

    today = date(2026, 3, 9)
    measured = () if measured_days_ago is None else (today - timedelta(days=measured_days_ago),)
    assert (motor_threshold_due_on((*measured, today + timedelta(days=1)), today) is not None) is due
