"""Report definitions: offset spans across DST, funnel stages, response/remission, maintenance timing."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime

import pytest

from scheduler.domain import reports as r
from scheduler.domain.protocols import load_protocols


def test_offset_spans_cut_at_each_dst_change_and_cover_the_window():
    start, end = datetime(2026, 1, 1, 5, tzinfo=UTC), datetime(2027, 1, 1, 5, tzinfo=UTC)
    spans = r.offset_spans(start, end, "America/New_York")
    assert [(s.start, s.offset_seconds) for s in spans] == [
        (start, -5 * 3600),
        (datetime(2026, 3, 8, 7, tzinfo=UTC), -4 * 3600),
        (datetime(2026, 11, 1, 6, tzinfo=UTC), -5 * 3600),
    ]
    assert spans[-1].end == end and all(a.end == b.start for a, b in itertools.pairwise(spans))
    assert [(s.start, s.end) for s in r.offset_spans(start, end, "America/Phoenix")] == [(start, end)]


def test_funnel_counts_each_stage_reached():
    courses = [
        {"evaluated": True, "induction_doses": 6, "follow_ups": 1, "maintenance_doses": 2},
        {"evaluated": True, "induction_doses": 2, "follow_ups": 0, "maintenance_doses": 0},
        {"evaluated": False, "induction_doses": 0, "follow_ups": 0, "maintenance_doses": 0},
    ]
    assert r.funnel_stage_counts(courses) == {
        "started": 3,
        "evaluated": 2,
        "first_dose": 2,
        "six_doses": 1,
        "follow_up": 1,
        "maintenance": 1,
    }
    assert r.median_days([(date(2026, 1, 1), date(2026, 1, 5)), (date(2026, 1, 1), date(2026, 1, 2))]) == 2.5
    assert r.median_days([]) is None and r.rate(1, 0) is None


@pytest.mark.parametrize(
    "instrument, baseline, latest, responded, remitted",
    [
        ("Y-BOCS", 30, 19, True, False),  # 36.7 % down
        ("Y-BOCS", 30, 20, False, False),  # 33 %
        ("Y-BOCS", 20, 12, True, True),
        ("PHQ-9", 20, 10, True, False),
        ("PHQ-9", 20, 11, False, False),
        ("PHQ-9", 8, 4, True, True),
        ("MADRS", 30, 10, True, True),
    ],
)
def test_response_and_remission(instrument, baseline, latest, responded, remitted):
    assert r.responded(instrument, baseline, latest) is responded
    assert r.remitted(instrument, latest) is remitted


@pytest.mark.parametrize(
    "previous, dose, timing",
    [
        (date(2026, 1, 31), date(2026, 3, 30), "early"),  # 2 months from 31 Jan is 31 Mar (relativedelta: 31st kept)
        (date(2026, 1, 31), date(2026, 3, 31), "inside"),
        (date(2026, 1, 31), date(2026, 7, 31), "inside"),
        (date(2026, 1, 31), date(2026, 8, 1), "late"),
    ],
)
def test_maintenance_timing_against_the_due_window(previous, dose, timing):
    proto = load_protocols()["ketamine-iv"]
    assert r.maintenance_timing(previous, dose, proto) == timing
