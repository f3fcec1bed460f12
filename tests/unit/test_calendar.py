from datetime import date, time, timedelta

import pytest

from scheduler.domain.calendar import (
    busy_intervals,
    closure_covering,
    is_open,
    is_staff_available,
    is_staff_away,
    is_staff_working,
    is_within_hours,
    open_intervals,
    room_free_intervals,
    staff_concurrency,
)
from scheduler.domain.intervals import Interval
from scheduler.domain.timezones import to_utc
from scheduler.domain.values import Clinic, Closure, Preferences, Session, StaffMember, weekly_hours

TZ = "America/New_York"
WEEKDAY_HOURS = {d: [(time(8), time(18))] for d in range(5)}


def clinic(closures=(), hours=None, tz=TZ):
    return Clinic(id=1, timezone=tz, hours=hours or WEEKDAY_HOURS, closures=tuple(closures))


def local(d, h, m=0, tz=TZ):
    return to_utc(d, time(h, m), tz)


def span(d, h1, h2, tz=TZ):
    return Interval(local(d, h1, tz=tz), local(d, h2, tz=tz))


MON = date(2024, 3, 11)  # the Monday after spring forward


@pytest.mark.parametrize(
    "closures, d, expected_hours",
    [
        ((), MON, [(8, 18)]),
        ((), MON + timedelta(days=5), []),  # Saturday
        ((Closure(MON, MON, reason="Holiday"),), MON, []),
        ((Closure(MON - timedelta(days=3), MON + timedelta(days=1)),), MON, []),
        ((Closure(MON, MON, from_time=time(12)),), MON, [(8, 12)]),
        ((Closure(MON, MON, until_time=time(10)),), MON, [(10, 18)]),
        ((Closure(MON, MON, from_time=time(12), until_time=time(13)),), MON, [(8, 12), (13, 18)]),
        ((Closure(MON + timedelta(days=1), MON + timedelta(days=2)),), MON, [(8, 18)]),
    ],
)
def test_open_intervals(closures, d, expected_hours):
    assert open_intervals(clinic(closures), d) == [span(d, a, b) for a, b in expected_hours]


def test_hours_keep_wall_clock_across_dst():
    c = clinic()
    before = open_intervals(c, date(2024, 3, 8))[0]
    after = open_intervals(c, date(2024, 3, 11))[0]
    assert before.start.hour == 13 and after.start.hour == 12  # 08:00 EST vs 08:00 EDT


def test_closing_at_midnight_and_split_hours():
    c = clinic(hours={0: [(time(8), time(12)), (time(13), time(0))]})
    ivs = open_intervals(c, MON)
    assert ivs == [span(MON, 8, 12), Interval(local(MON, 13), local(MON + timedelta(days=1), 0))]


@pytest.mark.parametrize(
    "h1, m1, h2, m2, within",
    [
        (8, 0, 10, 0, True),
        (16, 0, 18, 0, True),
        (7, 45, 9, 0, False),
        (17, 0, 18, 15, False),
    ],
)
def test_is_within_hours(h1, m1, h2, m2, within):
    assert is_within_hours(clinic(), Interval(local(MON, h1, m1), local(MON, h2, m2))) is within


def test_closure_covering():
    holiday = Closure(MON, MON, from_time=time(12), until_time=time(13), reason="Staff meeting")
    c = clinic([holiday])
    assert closure_covering(c, span(MON, 11, 12)) is None
    assert closure_covering(c, Interval(local(MON, 12, 30), local(MON, 14))) == holiday
    assert not is_open(c, span(MON, 11, 14)) and is_open(c, span(MON, 9, 11))


def test_staff_checks():
    off = Interval(local(MON, 12), local(MON, 14))
    nurse = StaffMember(id=5, role="nurse", hours={0: [(time(9), time(15))]}, time_off=(off,))
    c = clinic()
    assert is_staff_working(nurse, c, span(MON, 9, 11))
    assert not is_staff_working(nurse, c, span(MON, 8, 10))
    assert not is_staff_working(nurse, c, span(MON + timedelta(days=1), 9, 11))
    assert is_staff_away(nurse, span(MON, 13, 15)) and not is_staff_away(nurse, span(MON, 14, 15))
    assert is_staff_available(nurse, c, span(MON, 14, 15)) and not is_staff_available(nurse, c, span(MON, 11, 13))
    default = StaffMember(id=6, role="nurse")
    assert is_staff_working(default, c, span(MON, 8, 18))


def sess(id, h1, h2, room=1, patient=1, staff=None, status="booked", d=MON):
    return Session(
        id=id,
        patient_id=patient,
        starts_at=local(d, h1),
        ends_at=local(d, h2),
        room_id=room,
        staff_member_id=staff,
        status=status,
    )


def test_room_free_and_busy():
    sessions = [sess(1, 9, 10), sess(2, 10, 11), sess(3, 13, 14, status="cancelled"), sess(4, 15, 16, room=2)]
    assert room_free_intervals(1, clinic(), MON, sessions) == [span(MON, 8, 9), span(MON, 11, 18)]
    assert busy_intervals(sessions, patient_id=1) == [span(MON, 9, 11), span(MON, 15, 16)]


def test_staff_concurrency():
    sessions = [
        sess(1, 9, 11, staff=7),
        sess(2, 10, 12, room=2, staff=7),
        sess(3, 11, 13, room=3, staff=7),
        sess(4, 10, 11, room=4, staff=7, status="no_show"),
    ]
    assert staff_concurrency(7, span(MON, 9, 13), sessions) == 2
    assert staff_concurrency(7, span(MON, 12, 13), sessions) == 1
    assert staff_concurrency(8, span(MON, 9, 13), sessions) == 0


def test_values_normalise():
    assert weekly_hours({"mon": [(time(8), time(9))]})[0] == ((time(8), time(9)),)
    with pytest.raises(ValueError):
        weekly_hours({0: [(time(9), time(8))]})
    assert Preferences(weekdays={"mon", 2}).weekdays == frozenset({0, 2})
    with pytest.raises(ValueError):
        Preferences(earliest=time(12), latest=time(9))
    with pytest.raises(ValueError):
        StaffMember(id=1, capacity=0)
    c1 = Clinic(id=1, timezone=TZ, hours=WEEKDAY_HOURS)
    assert hash(c1) == hash(Clinic(id=1, timezone=TZ, hours=dict(WEEKDAY_HOURS)))
