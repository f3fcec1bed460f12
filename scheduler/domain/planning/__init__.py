"""Plan a patient's course from a protocol: proposed sessions plus what could not be met.

The evaluation, preparation, induction doses and their integration sessions are placed by an exact
search (:mod:`.exact`): the protocol's hard rules are constraints, the weekday/per-week guidance and the
course's preferences the objective, and whenever a plan meeting every hard rule exists with the first
dose within ``FIRST_DOSE_HORIZON_DAYS`` of ``start_on``, one is returned. When none exists, the
least-bad planner takes over: each session is looked for first where every rule and preference holds;
then without the weekday/time preferences (``preference_not_met``); then on later dates (the broken rule
reported with its flag code, README "Planning a course"); then without the protocol's weekday/per-week guidance; then
without a clinician (``staff_unavailable``). Nothing is dropped silently: a session that still cannot be
placed raises :class:`PlanningError`. The follow-up and the maintenance dose follow at the earliest free
time of their windows.

Candidate times are local wall-clock times on a grid (15 minutes by default) converted with
:func:`timezones.to_utc`, so a 09:00 course stays at 09:00 across a DST change; nonexistent local times
are skipped, ambiguous ones are the first occurrence. Day rules count local calendar days; the
integration rule counts real hours. The hard rules are asked through :mod:`.rules`.

The package: :mod:`.results` (Plan, ProposedSession, Problem, Slot, PlanningError), :mod:`.slots` (the
SlotFinder search and each day's free times), :mod:`.exact` (the exact search), :mod:`.builder`
(assembling a plan), :mod:`.induction` (the least-bad dose stages) and :mod:`.course`
(:func:`plan_course`, :func:`plan_maintenance_dose`). Import from here.
"""

from scheduler.domain.planning.builder import KIND_ORDER
from scheduler.domain.planning.course import plan_course, plan_maintenance_dose, planning_start
from scheduler.domain.planning.exact import FIRST_DOSE_HORIZON_DAYS
from scheduler.domain.planning.induction import FIRST_DAY_SHIFT, SHIFT_INVARIANT
from scheduler.domain.planning.results import Plan, PlanningError, Problem, ProposedSession, Slot
from scheduler.domain.planning.slots import (
    DAY,
    EXTEND_DAYS,
    SlotFinder,
    date_range,
    extended_after,
    extended_from,
    to_utc_floor,
)

__all__ = [
    "DAY",
    "EXTEND_DAYS",
    "FIRST_DAY_SHIFT",
    "FIRST_DOSE_HORIZON_DAYS",
    "KIND_ORDER",
    "SHIFT_INVARIANT",
    "Plan",
    "PlanningError",
    "Problem",
    "ProposedSession",
    "Slot",
    "SlotFinder",
    "date_range",
    "extended_after",
    "extended_from",
    "plan_course",
    "plan_maintenance_dose",
    "planning_start",
    "to_utc_floor",
]
