"""Plan a patient's course from a protocol: proposed sessions plus what could not be met.

Search is day by day on a local-time slot grid (15 minutes by default). Each session is looked for
first where every rule and preference holds; then without the weekday/time preferences
(``preference_not_met``); then on later dates (the broken rule reported with its flag code, DESIGN §3);
then without the protocol's weekday/per-week guidance; then without a clinician (``staff_unavailable``).
Nothing is dropped silently: a session that still cannot be placed raises :class:`PlanningError`.

Candidate times are local wall-clock times converted with :func:`timezones.to_utc`, so a 09:00 course
stays at 09:00 across a DST change; nonexistent local times are skipped, ambiguous ones are the first
occurrence. Day rules count local calendar days; the integration rule counts real hours.

The package: :mod:`.results` (Plan, ProposedSession, Problem, Slot, PlanningError), :mod:`.slots` (the
SlotFinder search), :mod:`.builder` (assembling a plan), :mod:`.induction` (dose stages) and
:mod:`.course` (:func:`plan_course`, :func:`plan_maintenance_dose`). Import from here.
"""
from scheduler.domain.planning.builder import KIND_ORDER
from scheduler.domain.planning.course import plan_course, plan_maintenance_dose, planning_start
from scheduler.domain.planning.induction import FIRST_DAY_SHIFT, SHIFT_INVARIANT
from scheduler.domain.planning.results import Plan, PlanningError, Problem, ProposedSession, Slot
from scheduler.domain.planning.slots import (
    DAY, EXTEND_DAYS, SlotFinder, date_range, extended_after, extended_from, to_utc_floor,
)

__all__ = [
    "DAY", "EXTEND_DAYS", "FIRST_DAY_SHIFT", "KIND_ORDER", "SHIFT_INVARIANT", "Plan", "PlanningError", "Problem",
    "ProposedSession", "Slot", "SlotFinder", "date_range", "extended_after", "extended_from", "plan_course",
    "plan_maintenance_dose", "planning_start", "to_utc_floor",
]
