from datetime import UTC, date, datetime, time, timedelta

import pytest

from scheduler.domain.timezones import (
    NonexistentLocalTime,
    UnknownTimeZone,
    day_bounds_utc,
    exists,
    hours_between,
    is_ambiguous,
    iter_days,
    local_date,
    local_time,
    to_utc,
    to_utc_lenient,
)


@pytest.mark.parametrize(
    "tz, d, t, expected_utc",
    [
        # ordinary days
        ("America/New_York", date(2024, 1, 15), time(9), datetime(2024, 1, 15, 14, tzinfo=UTC)),
        ("America/New_York", date(2024, 7, 15), time(9), datetime(2024, 7, 15, 13, tzinfo=UTC)),
        # around spring forward (2024-03-10 02:00 -> 03:00)
        ("America/New_York", date(2024, 3, 10), time(1, 59), datetime(2024, 3, 10, 6, 59, tzinfo=UTC)),
        ("America/New_York", date(2024, 3, 10), time(3, 0), datetime(2024, 3, 10, 7, 0, tzinfo=UTC)),
        ("America/New_York", date(2024, 3, 11), time(9), datetime(2024, 3, 11, 13, tzinfo=UTC)),
        # fall back (2024-11-03 02:00 -> 01:00): 01:30 is ambiguous -> first occurrence (EDT, UTC-4)
        ("America/New_York", date(2024, 11, 3), time(1, 30), datetime(2024, 11, 3, 5, 30, tzinfo=UTC)),
        ("America/New_York", date(2024, 11, 4), time(9), datetime(2024, 11, 4, 14, tzinfo=UTC)),
        # London: spring 2024-03-31 01:00 -> 02:00; autumn 2024-10-27 02:00 -> 01:00
        ("Europe/London", date(2024, 3, 31), time(2, 0), datetime(2024, 3, 31, 1, 0, tzinfo=UTC)),
        ("Europe/London", date(2024, 10, 27), time(1, 30), datetime(2024, 10, 27, 0, 30, tzinfo=UTC)),
        ("Europe/London", date(2024, 10, 28), time(9), datetime(2024, 10, 28, 9, tzinfo=UTC)),
        # Sydney: DST ends 2024-04-07 03:00 -> 02:00, starts 2024-10-06 02:00 -> 03:00
        ("Australia/Sydney", date(2024, 4, 7), time(2, 30), datetime(2024, 4, 6, 15, 30, tzinfo=UTC)),
        ("Australia/Sydney", date(2024, 10, 6), time(3, 0), datetime(2024, 10, 5, 16, 0, tzinfo=UTC)),
        ("Australia/Sydney", date(2024, 6, 1), time(9), datetime(2024, 5, 31, 23, 0, tzinfo=UTC)),
    ],
)
def test_to_utc(tz, d, t, expected_utc):
    got = to_utc(d, t, tz)
    assert got == expected_utc
    assert got.tzinfo == UTC
    assert local_date(got, tz) == d and local_time(got, tz) == t


@pytest.mark.parametrize(
    "tz, d, t",
    [
        ("America/New_York", date(2024, 3, 10), time(2, 30)),
        ("America/New_York", date(2024, 3, 10), time(2, 0)),
        ("Europe/London", date(2024, 3, 31), time(1, 15)),
        ("Australia/Sydney", date(2024, 10, 6), time(2, 45)),
    ],
)
def test_nonexistent_refused(tz, d, t):
    with pytest.raises(NonexistentLocalTime) as err:
        to_utc(d, t, tz)
    assert isinstance(err.value, ValueError)
    msg = str(err.value)
    assert d.isoformat() in msg and t.strftime("%H:%M") in msg and tz in msg
    assert not exists(d, t, tz)
    # lenient conversion shifts forward by the gap
    assert local_time(to_utc_lenient(d, t, tz), tz) == (datetime.combine(d, t) + timedelta(hours=1)).time()


@pytest.mark.parametrize(
    "tz, d, t, ambiguous",
    [
        ("America/New_York", date(2024, 11, 3), time(1, 30), True),
        ("America/New_York", date(2024, 11, 3), time(2, 30), False),
        ("Europe/London", date(2024, 10, 27), time(1, 0), True),
        ("Australia/Sydney", date(2024, 4, 7), time(2, 0), True),
        ("America/New_York", date(2024, 3, 10), time(2, 30), False),
    ],
)
def test_ambiguous_detected_and_first_occurrence(tz, d, t, ambiguous):
    assert is_ambiguous(d, t, tz) is ambiguous
    if ambiguous:
        first = to_utc(d, t, tz)
        # one hour later the same wall-clock time happens again: we chose the earlier instant
        again = (first + timedelta(hours=1)).astimezone(__import__("zoneinfo").ZoneInfo(tz))
        assert again.time() == t and again.fold == 1


@pytest.mark.parametrize("name", ["Mars/Olympus", "", "  UTC", "../etc/passwd", "America/New York"])
def test_unknown_zone(name):
    with pytest.raises(UnknownTimeZone):
        to_utc(date(2024, 1, 1), time(9), name)


@pytest.mark.parametrize(
    "tz, d, hours",
    [
        ("America/New_York", date(2024, 3, 10), 23),
        ("America/New_York", date(2024, 11, 3), 25),
        ("Europe/London", date(2024, 6, 1), 24),
        ("Australia/Sydney", date(2024, 4, 7), 25),
    ],
)
def test_day_bounds(tz, d, hours):
    s, e = day_bounds_utc(d, tz)
    assert hours_between(s, e) == hours


def test_naive_refused_and_iter_days():
    with pytest.raises(ValueError):
        local_date(datetime(2024, 1, 1), "UTC")
    assert list(iter_days(date(2024, 2, 28), date(2024, 3, 1))) == [
        date(2024, 2, 28),
        date(2024, 2, 29),
        date(2024, 3, 1),
    ]
    assert list(iter_days(date(2024, 3, 1), date(2024, 2, 1))) == []
