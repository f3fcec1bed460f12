"""What the manager's reports mean, as plain functions over the aggregates the database returns.

The services run the SQL (sums and counts grouped over indexed columns); this module holds the
definitions: which sessions count as attended, what a late cancellation is, the funnel's stages,
response and remission per instrument, a maintenance dose inside its due window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from statistics import median

from scheduler.domain.instruments import CATALOGUE
from scheduler.domain.maintenance import due_window
from scheduler.domain.timezones import zone

REPORTS = ("utilization", "attendance", "funnel", "outcomes", "maintenance")
# Sessions that took place: the chair was used.
ATTENDED = ("checked_in", "completed")
# A cancellation less than this long before the start is a late cancellation.
LATE_CANCEL = timedelta(hours=24)
FUNNEL_STAGES = (
    ("started", "Course started"),
    ("evaluated", "Evaluated"),
    ("first_dose", "First dose"),
    ("six_doses", "Six doses"),
    ("follow_up", "Follow-up"),
    ("maintenance", "Maintenance"),
)
# Remission: a score at or below this (PHQ-9 < 5 Kroenke 2001; Y-BOCS ≤ 12 Farris 2013; MADRS ≤ 10
# Zimmerman 2004; GAD-7 < 5 Spitzer 2006; PCL-5 below its probable-PTSD cut-off of 33).
REMISSION_AT_MOST = {"PHQ-9": 4, "Y-BOCS": 12, "MADRS": 10, "GAD-7": 4, "PCL-5": 32}
WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class OffsetSpan:
    """A stretch of instants [start, end) over which the zone's UTC offset does not change."""

    start: datetime
    end: datetime
    offset_seconds: int


def offset_spans(start: datetime, end: datetime, tz: str) -> list[OffsetSpan]:
    """[start, end) cut at the zone's offset changes (DST), so local dates and hours of each piece can
    be computed in SQL as ``instant + offset`` on a database without time zones (SQLite)."""
    z = zone(tz)

    def offset(at: datetime) -> int:
        delta = at.astimezone(z).utcoffset()
        assert delta is not None  # an aware datetime in a ZoneInfo has an offset (the stubs allow None)
        return int(delta.total_seconds())

    spans: list[OffsetSpan] = []
    cursor, current, probe = start, offset(start), start
    while probe < end:
        step = min(probe + timedelta(days=1), end)
        if offset(step) != current:  # the change is inside (probe, step]: find it to the quarter hour
            at = probe
            while offset(at) == current:
                at += timedelta(minutes=15)
            spans.append(OffsetSpan(cursor, at, current))
            cursor, current = at, offset(at)
        probe = step
    spans.append(OffsetSpan(cursor, end, current))
    return [s for s in spans if s.start < s.end]


def rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def week_of(d: date) -> date:
    """The Monday of ``d``'s week."""
    return d - timedelta(days=d.weekday())


def funnel_stage_counts(courses: list[dict]) -> dict[str, int]:
    """``courses``: per course ``evaluated`` (bool), ``induction_doses``, ``follow_ups``,
    ``maintenance_doses`` (attended counts). Each stage counts the courses that reached it."""
    reached = {
        "started": lambda c: True,
        "evaluated": lambda c: c["evaluated"],
        "first_dose": lambda c: c["induction_doses"] >= 1,
        "six_doses": lambda c: c["induction_doses"] >= 6,
        "follow_up": lambda c: c["follow_ups"] >= 1,
        "maintenance": lambda c: c["maintenance_doses"] >= 1,
    }
    return {stage: sum(1 for c in courses if reached[stage](c)) for stage, _ in FUNNEL_STAGES}


def loose_evaluation_for(spec, evaluation_days: list[date], first_dose_day: date | None, start_on: date) -> date | None:
    """The evaluation outside any course that counts for a course: with a first dose, the one the
    rule book accepts for it (the latest early enough, still valid: ``rules.windows.evaluation_code``);
    before any dose, the latest one still valid for a dose on the course's ``start_on`` or later.
    None when there is none (or the protocol needs no evaluation)."""
    from scheduler.domain.rules.windows import evaluation_code, evaluation_latest_day

    if spec is None or not evaluation_days:
        return None
    if first_dose_day is None:
        latest = max(evaluation_days)
        return latest if (start_on - latest).days <= spec.valid_days else None
    early_enough = [d for d in evaluation_days if d <= evaluation_latest_day(spec, first_dose_day)]
    if not early_enough:
        return None
    latest = max(early_enough)
    return latest if evaluation_code(spec, latest, first_dose_day) is None else None


def median_days(pairs: list[tuple[date, date]]) -> float | None:
    """The median of (later − earlier) in days over the pairs; None when there are none."""
    days = [(b - a).days for a, b in pairs]
    return float(median(days)) if days else None


def responded(instrument: str, baseline: int, latest: int) -> bool:
    return CATALOGUE[instrument].responded(baseline, latest)


def remitted(instrument: str, latest: int) -> bool:
    return latest <= REMISSION_AT_MOST[instrument]


def criteria(instrument: str) -> tuple[str, str]:
    inst = CATALOGUE[instrument]
    response = (
        f"≥ {round(inst.response_drop * 100)} % below baseline"
        if inst.response_drop < 1
        else f"≥ {inst.response_drop:g} points below baseline"
    )
    return response, f"score ≤ {REMISSION_AT_MOST[instrument]}"


def maintenance_timing(previous_dose_on: date, dose_on: date, protocol) -> str:
    """``early``, ``inside`` or ``late``: a maintenance dose against the due window that the dose
    before it opened (the protocol's maintenance interval)."""
    window = due_window(previous_dose_on, protocol)
    if dose_on < window.earliest:
        return "early"
    if dose_on > window.latest:
        return "late"
    return "inside"
