"""Rating instruments: severity bands and the response threshold (pure clinical data).

Published cut-offs (Goodman 1989 for Y-BOCS; Kroenke 2001 PHQ-9; Spitzer 2006 GAD-7; Weathers 2013
PCL-5 cut-off 33; Snaith/Müller 2003 MADRS). A response is a fall from baseline of at least
``response_drop`` (Y-BOCS 35%, the usual OCD trial criterion; 50% for the depression and anxiety
scales; PCL-5 10 points, its minimal clinically important change).

The score range of each rating scale is ``vocabulary.RATING_SCALES`` (part of ``INSTRUMENTS``, the
one the models and the API validate against); ``CATALOGUE`` takes its ``low``/``high`` from there, and
its bands must cover exactly that range (checked on import).

``MEASUREMENTS`` are recorded like a score but are not symptom scales: the TMS ``motor_threshold``
(percent of machine output; re-measured at least weekly during a course, see the rule book's
``motor_threshold_due``) has no severity bands, no baseline response and no remission, so outcome
reports and the score charts leave it out (:func:`is_rating_scale`).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date

from scheduler.domain.vocabulary import MEASUREMENTS, RATING_SCALES


@dataclass(frozen=True)
class Band:
    low: int
    high: int  # inclusive
    label: str


@dataclass(frozen=True)
class Instrument:
    key: str
    low: int
    high: int
    bands: tuple[Band, ...]
    response_drop: float  # a fraction of baseline (0.35) or, when >= 1, points
    response_label: str

    def response_level(self, baseline: int) -> float:
        """The score at or below which a patient counts as responding."""
        if self.response_drop >= 1:
            return max(self.low, baseline - self.response_drop)
        return baseline * (1 - self.response_drop)

    def responded(self, baseline: int, score: int) -> bool:
        """Whether ``score`` is a response against ``baseline`` (a baseline of the floor never is)."""
        return baseline > self.low and score <= self.response_level(baseline)

    def band_of(self, score: int) -> Band:
        for band in self.bands:
            if band.low <= score <= band.high:
                return band
        raise ValueError(f"{self.key} scores run from {self.low} to {self.high}, not {score}.")


def _instrument(key: str, bands: tuple[tuple[int, int, str], ...], drop: float, label: str) -> Instrument:
    low, high = RATING_SCALES[key]
    rows = tuple(Band(lo, hi, name) for lo, hi, name in bands)
    if rows[0].low != low or rows[-1].high != high or any(a.high + 1 != b.low for a, b in itertools.pairwise(rows)):
        raise ValueError(f"{key}: the bands must cover {low}–{high} without gaps or overlaps.")
    return Instrument(key, low, high, rows, drop, label)


CATALOGUE: dict[str, Instrument] = {
    "Y-BOCS": _instrument(
        "Y-BOCS",
        ((0, 7, "Subclinical"), (8, 15, "Mild"), (16, 23, "Moderate"), (24, 31, "Severe"), (32, 40, "Extreme")),
        0.35,
        "Response: 35% below baseline",
    ),
    "PHQ-9": _instrument(
        "PHQ-9",
        ((0, 4, "Minimal"), (5, 9, "Mild"), (10, 14, "Moderate"), (15, 19, "Moderately severe"), (20, 27, "Severe")),
        0.5,
        "Response: 50% below baseline",
    ),
    "GAD-7": _instrument(
        "GAD-7",
        ((0, 4, "Minimal"), (5, 9, "Mild"), (10, 14, "Moderate"), (15, 21, "Severe")),
        0.5,
        "Response: 50% below baseline",
    ),
    "PCL-5": _instrument(
        "PCL-5", ((0, 32, "Below cut-off"), (33, 80, "Probable PTSD")), 10, "Response: 10 points below baseline"
    ),
    "MADRS": _instrument(
        "MADRS",
        ((0, 6, "Normal"), (7, 19, "Mild"), (20, 34, "Moderate"), (35, 60, "Severe")),
        0.5,
        "Response: 50% below baseline",
    ),
}
if set(CATALOGUE) != set(RATING_SCALES):  # pragma: no cover - a new scale needs its bands here
    raise ValueError("Every rating scale of vocabulary.RATING_SCALES needs its bands in CATALOGUE.")


@dataclass(frozen=True)
class Measurement:
    """A measured value recorded as an assessment, not a symptom score (no bands, no response)."""

    key: str
    low: int
    high: int
    label: str
    unit: str


MEASUREMENT_CATALOGUE: dict[str, Measurement] = {
    "motor_threshold": Measurement(
        "motor_threshold", *MEASUREMENTS["motor_threshold"], "Motor threshold", "% of machine output"
    ),
}
if set(MEASUREMENT_CATALOGUE) != set(MEASUREMENTS):  # pragma: no cover
    raise ValueError("Every measurement of vocabulary.MEASUREMENTS needs its entry in MEASUREMENT_CATALOGUE.")


def is_rating_scale(key: str) -> bool:
    """Whether ``key`` is a symptom rating scale (response, remission, bands), not a measurement."""
    return key in CATALOGUE


@dataclass(frozen=True)
class Baseline:
    score: int
    taken_on: date
    before_first_dose: bool  # False: no score before dose 1, so the course's first score stands in


def baseline(scores: list[tuple[date, int]], first_dose_on: date | None, since: date | None = None) -> Baseline | None:
    """The course's baseline on one instrument: its FIRST score on or before the day of dose 1 (so it
    stays put as later scores are recorded). ``since`` leaves out scores of an earlier course (the
    day after its last dose). Without a score before dose 1, the course's first score stands in;
    None when the course has no score at all."""
    mine = sorted((d, s) for d, s in scores if since is None or d >= since)
    if not mine:
        return None
    before = [(d, s) for d, s in mine if first_dose_on is None or d <= first_dose_on]
    taken_on, score = (before or mine)[0]
    return Baseline(score=score, taken_on=taken_on, before_first_dose=bool(before) and first_dose_on is not None)
