"""The planner never proposes a session before ``now``: a past start date plans from today."""

from datetime import date, time, timedelta

import pytest

from scheduler.domain.planning import plan_course, planning_start
from scheduler.domain.timezones import local_date, to_utc
from tests.support.plan_world import PATIENT, PROTOCOLS, ROOMS, STAFF, TZ, make_clinic

MONDAY = date(2024, 3, 4)


@pytest.mark.parametrize(
    "start_on, now_local, expected",
    [
        (date(2024, 3, 1), (MONDAY, 10, 0), MONDAY),  # in the past: today
        (MONDAY, (MONDAY, 10, 0), MONDAY),  # today stays today
        (MONDAY + timedelta(days=3), (MONDAY, 10, 0), MONDAY + timedelta(days=3)),  # future: as asked
        (MONDAY, (MONDAY - timedelta(days=1), 23, 30), MONDAY),  # late evening local, already Monday in UTC
    ],
)
def test_planning_start(start_on, now_local, expected):
    d, hh, mm = now_local
    assert planning_start(start_on, to_utc(d, time(hh, mm), TZ), TZ) == expected
    assert planning_start(start_on, None, TZ) == start_on  # no now: history may be planned


@pytest.mark.parametrize("key", ["ketamine-iv", "tms-daily"])
def test_a_past_start_plans_from_now_and_says_so(key):
    now = to_utc(MONDAY, time(13, 7), TZ)
    p = plan_course(
        PROTOCOLS[key],
        make_clinic(),
        ROOMS,
        STAFF,
        PATIENT,
        [],
        MONDAY - timedelta(days=20),
        include_maintenance=False,
        now=now,
    )
    assert min(s.starts_at for s in p.sessions) >= now
    assert local_date(min(s.starts_at for s in p.sessions), TZ) == MONDAY  # today's afternoon is still used
    moved = [pr for pr in p.problems if pr.code == "start_moved_to_today"]
    assert len(moved) == 1 and moved[0].severity == "warning" and "2024-02-13" in moved[0].message


def test_without_now_a_past_start_is_planned_as_given():
    p = plan_course(
        PROTOCOLS["ketamine-iv"], make_clinic(), ROOMS, STAFF, PATIENT, [], MONDAY, include_maintenance=False
    )
    assert local_date(p.sessions[0].starts_at, TZ) == MONDAY
    assert "start_moved_to_today" not in p.codes
