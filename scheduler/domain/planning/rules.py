"""The protocol's hard rules as the planner asks them: thin adapters over the rule book
(:mod:`scheduler.domain.rules`), which defines each rule once for flags, planner, re-planner,
suggestions and writes. Nothing here restates a rule; the planner's own choice (the order of the
preparation sessions, which the rule book does not flag) is the one exception and says so.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from scheduler.domain import rules as book
from scheduler.domain.protocols import EvaluationSpec, IntegrationSpec, PreparationSpec, Protocol, Stage


def next_dose_days(stage: Stage, previous: date) -> tuple[date, date]:
    """``doses_too_close`` / ``induction_gap``: the first and last day the next dose day may take
    (``stage`` is the stage of the later dose; the last is the interruption tolerance)."""
    return book.next_dose_days(stage, previous)


def cadence_ok(stage: Stage, previous: date | None, day: date) -> bool:
    """The stage's usual cadence (``max_gap_days``): guidance, like the weekdays."""
    return book.cadence_ok(stage, previous, day)


def within_stage_window(
    stage: Stage, stage_first: date | None, course_first: date | None, day: date, remaining: int = 0
) -> bool:
    """``induction_window_exceeded``: a dose day on ``day`` lies inside the stage's window (from the
    stage's first dose on ``stage_first``, or the course days it is anchored to, counted from the
    course's first dose on ``course_first``) and leaves room for the ``remaining`` dose days after it."""
    return book.within_window(stage, stage_first, course_first, day, remaining)


def window_origin(stage: Stage, stage_first: date | None, course_first: date | None) -> date | None:
    return book.window_origin(stage, stage_first, course_first)


def stage_opens_on(stage: Stage, course_first: date | None) -> date | None:
    """The first day a stage anchored to the course may take a dose (None: not anchored)."""
    return book.stage_opens_on(stage, course_first)


def guidance_ok(stage: Stage, origin: date | None, day: date, doses_this_week: int) -> bool:
    """The stage's weekday and per-week guidance (``protocol_guidance_not_met``, a warning).
    ``doses_this_week``: the stage's doses already in the week of ``day`` (weeks counted from the
    stage window's origin, :func:`window_origin`); the rule book counts dose days, so that many days of
    the week stand for them."""
    if origin is None:
        return book.guidance_ok(stage, None, (), day)
    week_start = origin + timedelta(days=(day - origin).days // 7 * 7)
    return book.guidance_ok(stage, origin, [week_start] * (doses_this_week // stage.doses_per_day), day)


def evaluation_covers(spec: EvaluationSpec, evaluation_day: date, first_dose_day: date) -> bool:
    """``dose_before_evaluation`` / ``evaluation_expired``: the evaluation is early enough and still valid."""
    return book.evaluation_code(spec, evaluation_day, first_dose_day) is None


def integration_window(spec: IntegrationSpec, dose_ends_at: datetime) -> tuple[datetime, datetime]:
    """``integration_missing``: an integration session for a dose starts in ``[lo, hi]``; the planner
    places it before the next dose, so the cap by the next dose that needs one always holds."""
    return book.integration_window(spec, dose_ends_at)


def needs_integration(protocol: Protocol, sequence: int) -> bool:
    spec = protocol.integration
    return spec is not None and sequence in book.doses_needing_integration(spec, range(sequence), sequence)


def preparation_before(spec: PreparationSpec, previous_day: date) -> date:
    """The planner's order of the preparation sessions (not a flagged rule): each, and then the first
    dose, at least ``min_gap_days`` after the one before."""
    return previous_day + timedelta(days=spec.min_gap_days)
