"""What the timeline and the day board draw: the axes (instrument bands: tests/unit/test_instruments.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from scheduler.web.geometry import DateScale, DayAxis, ValueScale


def test_the_day_axis_covers_the_hours_and_every_session_with_an_hour_either_side():
    tz = "America/New_York"
    day = date(2030, 3, 11)
    at = lambda h, m=0: datetime(2030, 3, 11, h, m, tzinfo=ZoneInfo(tz)).astimezone(UTC)  # noqa: E731
    axis = DayAxis.covering(day, tz, [(at(8), at(18)), (at(18, 30), at(19, 15))])
    assert (axis.first_hour, axis.last_hour) == (7, 21)
    assert axis.pct(at(7)) == 0 and axis.pct(at(21)) == 100
    assert axis.box(at(14), at(15)) == {"left": 50.0, "width": pytest.approx(100 / 14, abs=1e-3)}
    yesterday = datetime(2030, 3, 10, 23, tzinfo=ZoneInfo(tz))
    assert axis.pct(yesterday) == 0.0  # clamped to the day


def test_date_and_value_scales_place_marks_between_their_bounds():
    xs = DateScale(date(2030, 1, 1), date(2030, 1, 11), 100, 1100)
    assert xs.x(date(2030, 1, 6)) == 600
    assert xs.ticks(5)[0] == (100, "01 Jan")
    ys = ValueScale(0, 40, 230, 20)
    assert ys.y(0) == 230 and ys.y(40) == 20 and ys.y(20) == 125
