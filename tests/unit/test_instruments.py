"""The instruments' severity bands and response thresholds (scheduler.domain.instruments)."""

from __future__ import annotations

import pytest

from scheduler.domain.instruments import CATALOGUE, MEASUREMENT_CATALOGUE, _instrument, is_rating_scale
from scheduler.domain.vocabulary import INSTRUMENTS, MEASUREMENTS, RATING_SCALES


def test_every_instrument_has_bands_covering_its_whole_range_without_holes():
    assert set(CATALOGUE) == set(RATING_SCALES) and set(INSTRUMENTS) == set(RATING_SCALES) | set(MEASUREMENTS)
    for key, inst in CATALOGUE.items():
        assert (inst.low, inst.high) == INSTRUMENTS[key]
        assert inst.bands[0].low == inst.low and inst.bands[-1].high == inst.high
        for lower, upper in zip(inst.bands, inst.bands[1:]):
            assert upper.low == lower.high + 1, (key, lower, upper)
        for score in range(inst.low, inst.high + 1):
            band = inst.band_of(score)
            assert band.low <= score <= band.high


def test_a_band_table_with_a_hole_or_the_wrong_range_is_refused():
    with pytest.raises(ValueError, match="without gaps"):
        _instrument("GAD-7", ((0, 4, "a"), (6, 21, "b")), 0.5, "x")
    with pytest.raises(ValueError, match="0–21"):
        _instrument("GAD-7", ((0, 4, "a"), (5, 20, "b")), 0.5, "x")


def test_a_score_outside_the_range_has_no_band():
    inst = CATALOGUE["PHQ-9"]
    with pytest.raises(ValueError, match="0 to 27"):
        inst.band_of(inst.high + 1)


@pytest.mark.parametrize(
    "key,baseline,level",
    [
        ("Y-BOCS", 30, 19.5),
        ("Y-BOCS", 20, 13.0),
        ("PHQ-9", 20, 10.0),
        ("GAD-7", 16, 8.0),
        ("MADRS", 30, 15.0),
        ("PCL-5", 50, 40),
        ("PCL-5", 6, 0),
    ],
)
def test_the_response_level_is_the_instruments_drop_from_baseline(key, baseline, level):
    assert CATALOGUE[key].response_level(baseline) == pytest.approx(level)


def test_y_bocs_response_is_a_fall_of_at_least_35_percent():
    ybocs = CATALOGUE["Y-BOCS"]
    assert ybocs.responded(20, 13)  # exactly 35% down
    assert not ybocs.responded(20, 14)  # 30% down
    assert not ybocs.responded(0, 0)  # nothing to fall from


def test_pcl5_response_is_ten_points():
    pcl = CATALOGUE["PCL-5"]
    assert pcl.responded(50, 40) and not pcl.responded(50, 41)


from datetime import date as _date  # noqa: E402

from scheduler.domain.instruments import Baseline, baseline  # noqa: E402

D1 = _date(2026, 11, 16)  # dose 1


@pytest.mark.parametrize(
    "scores, since, expected",
    [
        # the course's FIRST score on or before the day of dose 1, not the latest before it
        ([(_date(2026, 11, 2), 17), (_date(2026, 11, 12), 11)], None, Baseline(17, _date(2026, 11, 2), True)),
        # a score on the day of dose 1 (taken before it) counts; later scores never move the baseline
        ([(D1, 15), (_date(2026, 11, 20), 9), (_date(2026, 11, 27), 4)], None, Baseline(15, D1, True)),
        # nothing before dose 1: the course's first score stands in
        ([(_date(2026, 11, 20), 12), (_date(2026, 11, 18), 14)], None, Baseline(14, _date(2026, 11, 18), False)),
        # an earlier course's scores are not this course's baseline
        (
            [(_date(2025, 6, 1), 25), (_date(2026, 11, 10), 19)],
            _date(2025, 9, 1),
            Baseline(19, _date(2026, 11, 10), True),
        ),
        ([], None, None),
    ],
)
def test_the_baseline_is_the_courses_first_score_before_dose_1(scores, since, expected):
    assert baseline(scores, D1, since) == expected


def test_recording_a_new_score_never_moves_the_baseline():
    scores = [(_date(2026, 11, 10), 17)]
    first = baseline(scores, D1)
    for day, score in ((_date(2026, 11, 14), 11), (_date(2026, 11, 30), 5), (_date(2026, 12, 7), 3)):
        scores.append((day, score))
        assert baseline(scores, D1) == first


@pytest.mark.parametrize("key, scale", [("PHQ-9", True), ("MADRS", True), ("motor_threshold", False)])
def test_the_motor_threshold_is_a_measurement_not_a_rating_scale(key, scale):
    assert is_rating_scale(key) is scale
    if not scale:
        m = MEASUREMENT_CATALOGUE[key]
        assert (m.low, m.high) == INSTRUMENTS[key] == (1, 100) and m.unit == "% of machine output"
