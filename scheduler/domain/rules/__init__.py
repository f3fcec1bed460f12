"""The rule book: every protocol and scheduling rule, once, as plain functions over plain values.

Families (each module holds its rules' predicates, codes' sentences and fixes):

* :mod:`.spacing` — dose gaps in clinic calendar days, same-day doses, the induction window,
  maintenance intervals;
* :mod:`.windows` — integration after a dose (and before the next), the evaluation's lead and
  validity, the follow-up window, the maintenance due window, weekly cadence guidance, an
  incomplete induction;
* :mod:`.resources` — the room's capability and the clinician's role and availability, double
  bookings, clinician capacity (:mod:`.chairs`: idle chair time);
* :mod:`.calendar` — opening hours and closures;
* :mod:`.patient` — dosing hold, ride home;
* :mod:`.authorization` — payer units and dates;
* :mod:`.rems` — the Spravato REMS: enrollment and certification, a prescriber on site, one nurse's
  blood-pressure checks apart, the Patient Monitoring Form due and overdue.

:mod:`.codes` is the one table of codes: each code has ONE severity wherever it appears (flags,
plan and re-plan problems, 409 ``flagged`` refusals). :mod:`.model` has :class:`Flag` (its severity
comes from the table) and :class:`FlagContext` (what the rules look up by id).

Who calls the rules: the flag engine (:mod:`scheduler.domain.flags`) runs them over stored sessions;
the write gate (:func:`scheduler.domain.flags.introduced_flags`) runs them on a candidate change
(booking, reschedule, a course, a re-plan) and refuses what would introduce an error; the slot
suggestions keep only slots that introduce none; the planner and the re-planner place sessions with
the predicates (``next_dose_days``, ``integration_window``, ``follow_up_days`` …) and judge their
answer with the engine.

How to add a rule:

1. Add its code to :data:`.codes.CODES` (severity, kind, family, one line of meaning).
2. Write the predicate in its family module: a plain function over plain values (dates, datetimes,
   protocol specs, :mod:`scheduler.domain.values`), documented, no I/O.
3. Write its flag rule next to it: it builds :class:`Flag` values with the sentence and the fix (for
   a course rule, a function of :class:`.course.CourseView`, called from :func:`.course.course_flags`;
   for a per-session rule, a function ``(ctx, session) -> list[Flag]`` listed in
   :data:`.resources.SESSION_RULES`, which :func:`.resources.single_session_flags` runs).
4. Add an appear/disappear case to ``tests/unit/test_flags.py``; the planner, the re-planner, the
   suggestions and every write see the new rule without further change.
"""

from scheduler.domain.rules.codes import (
    ALL_CODES,
    CODES,
    CONFLICT_CODES,
    ERROR,
    GAP_CODES,
    HARD_CONFLICT_CODES,
    INFO,
    PLAN_CODES,
    SEVERITIES,
    UNOVERRIDABLE_CODES,
    WARNING,
    Code,
    is_error,
    severity_of,
    severity_rank,
    worst_severity,
)
from scheduler.domain.rules.model import CLOSED_COURSE_STATUSES, CourseFacts, Flag, FlagContext
from scheduler.domain.rules.patient import needs_ride_home, on_dosing_hold
from scheduler.domain.rules.rems import (
    CHECK_SPACING,
    check_times,
    checks_clash,
    needs_rems,
    prescriber_on_site,
    rems_missing,
)
from scheduler.domain.rules.resources import room_suits, staff_problem, staff_suits
from scheduler.domain.rules.spacing import (
    cadence_days,
    cadence_ok,
    gap_code,
    induction_window_end,
    latest_day_for,
    maintenance_earliest,
    next_dose_days,
    same_day_code,
    stage_last_day,
    stage_of_dose,
    stage_opens_on,
    window_origin,
    within_window,
)
from scheduler.domain.rules.windows import (
    doses_needing_integration,
    due_window,
    evaluation_code,
    evaluation_latest_day,
    first_dose_days,
    follow_up_days,
    guidance_ok,
    integration_counts,
    integration_window,
    preparation_days,
)

__all__ = [
    "ALL_CODES",
    "CLOSED_COURSE_STATUSES",
    "CODES",
    "CONFLICT_CODES",
    "ERROR",
    "GAP_CODES",
    "HARD_CONFLICT_CODES",
    "INFO",
    "PLAN_CODES",
    "SEVERITIES",
    "UNOVERRIDABLE_CODES",
    "WARNING",
    "CHECK_SPACING",
    "check_times",
    "checks_clash",
    "needs_rems",
    "prescriber_on_site",
    "rems_missing",
    "Code",
    "CourseFacts",
    "Flag",
    "FlagContext",
    "doses_needing_integration",
    "due_window",
    "evaluation_code",
    "evaluation_latest_day",
    "first_dose_days",
    "follow_up_days",
    "cadence_days",
    "cadence_ok",
    "gap_code",
    "guidance_ok",
    "induction_window_end",
    "integration_counts",
    "integration_window",
    "is_error",
    "latest_day_for",
    "maintenance_earliest",
    "needs_ride_home",
    "next_dose_days",
    "on_dosing_hold",
    "preparation_days",
    "room_suits",
    "same_day_code",
    "severity_of",
    "severity_rank",
    "worst_severity",
    "stage_last_day",
    "stage_of_dose",
    "stage_opens_on",
    "window_origin",
    "within_window",
    "staff_problem",
    "staff_suits",
]
