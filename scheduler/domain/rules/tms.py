"""TMS: the motor threshold, re-measured at least weekly while a TMS course is running.

The stimulation intensity of each session is a percentage of the patient's resting motor threshold,
which drifts from day to day; the usual practice is to re-measure it at least once a week during a
course (Bourla et al., Brain Sci 2023;13:1246: "the current recommendations propose its realization at
least once a week"; Zarkowski et al., Brain Stimul 2009;2:163-7: weekly re-measurement, some patients
drifting ~20 %; Cotovio et al., Brain Stimul 2022: weekly measurement keeps sessions near their target).

``motor_threshold_due`` (a warning) is raised on today for a running TMS course — a protocol whose dose
route is ``tms``, an open course (planned or active) with a live induction dose on or before today and
another today or later — when the patient has no ``motor_threshold`` assessment in the last
``MOTOR_THRESHOLD_EVERY_DAYS`` days (taken on or after today minus 6: a Monday's measurement is due
again the next Monday). The dates come from ``FlagContext.motor_thresholds`` (loaded by the services;
None: not loaded, the rule does not run, e.g. in the write gate, which no measurement can change).
The flag names no value, only dates, so the front desk may see it.

Predicates: :func:`is_tms`, :func:`motor_threshold_due_on`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from scheduler.domain.protocols import Protocol
from scheduler.domain.rules.model import CLOSED_COURSE_STATUSES, Flag, day_label, plural
from scheduler.domain.timezones import local_date

MOTOR_THRESHOLD_EVERY_DAYS = 7


def is_tms(protocol: Protocol) -> bool:
    return protocol.dose.route == "tms"


def motor_threshold_due_on(measured_on: Iterable[date], today: date) -> date | None:
    """The latest measurement when it is too old (or the earliest possible date ``date.min`` when there
    is none); None when one was taken in the last ``MOTOR_THRESHOLD_EVERY_DAYS`` days."""
    past = [d for d in measured_on if d <= today]
    latest = max(past, default=None)
    if latest is not None and (today - latest).days < MOTOR_THRESHOLD_EVERY_DAYS:
        return None
    return latest if latest is not None else date.min


def motor_threshold_flags(c, as_of: datetime) -> list[Flag]:
    """``c``: :class:`scheduler.domain.rules.course.CourseView`."""
    measured = c.ctx.motor_thresholds
    if (
        measured is None
        or not is_tms(c.p)
        or c.course.status in CLOSED_COURSE_STATUSES
        or c.course.status == "maintenance"
        or not c.induction
    ):
        return []
    today = local_date(as_of, c.ctx.tz)
    days = [c.day(s) for s in c.induction]
    if days[0] > today or days[-1] < today:
        return []  # not running: not started yet, or every booked session is past
    latest = motor_threshold_due_on(measured.get(c.course.patient_id, ()), today)
    if latest is None:
        return []
    upcoming = next(s for s in c.induction if c.day(s) >= today)
    if latest == date.min:
        since = "no motor threshold has been recorded"
    else:
        since = (
            f"the motor threshold was last measured on {day_label(latest)} ({plural((today - latest).days, 'day')} ago)"
        )
    return [
        c.flag(
            "motor_threshold_due",
            f"{c.name}'s TMS course ({c.p.key}) is running and {since}; it is re-measured at least every "
            f"{plural(MOTOR_THRESHOLD_EVERY_DAYS, 'day')}.",
            f"Measure the resting motor threshold at {c.label(upcoming)} on "
            f"{c.ctx.when(upcoming.starts_at)} and record it (assessment 'motor_threshold', % of machine "
            "output).",
            (upcoming,),
            on=today,
        )
    ]
