"""Every code the rule book can raise, with its ONE severity, its family and what it means.

A code has the same severity wherever it appears: a flag on the worklist, a problem of a plan, a
re-plan's problems, the ``conflicts`` of a 409 ``flagged``. :class:`~scheduler.domain.rules.model.Flag`
and the planner's ``Problem`` take their severity from here (:func:`severity_of`).

``kind``: ``conflict`` (something booked breaks a rule), ``gap`` (something is missing), ``plan``
(only a proposal can say it: a preference or guidance the planner could not meet) or ``refusal``
(only a refused write says it, never a flag: ``course_active``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

ERROR, WARNING, INFO = "error", "warning", "info"
SEVERITIES = (ERROR, WARNING, INFO)  # most severe first: the one order flags are sorted and shown in


@dataclass(frozen=True)
class Code:
    name: str
    severity: str
    kind: str  # conflict | gap | plan | refusal
    family: str  # spacing | windows | resources | calendar | patient | attendance | payer | rems | tms | plan
    meaning: str


CODES: dict[str, Code] = {
    c.name: c
    for c in (
        # resources (rules/resources.py)
        Code("room_double_booked", ERROR, "conflict", "resources", "Two live sessions in one room at once."),
        Code("patient_double_booked", ERROR, "conflict", "resources", "Two live sessions of one patient at once."),
        Code(
            "staff_over_capacity",
            ERROR,
            "conflict",
            "resources",
            "A clinician would monitor more sessions at once than their capacity.",
        ),
        Code(
            "staff_unavailable",
            ERROR,
            "conflict",
            "resources",
            "The clinician is off, not working then, inactive, or not of the role the session needs.",
        ),
        Code(
            "room_unsuitable",
            ERROR,
            "conflict",
            "resources",
            "The room lacks the capability the session needs (or is not in use).",
        ),
        Code("idle_chair_time", INFO, "gap", "resources", "A room has a free stretch long enough for a dose."),
        # calendar (rules/calendar.py)
        Code("outside_clinic_hours", ERROR, "conflict", "calendar", "The session is outside the clinic's hours."),
        Code("clinic_closed", ERROR, "conflict", "calendar", "The session falls on a clinic closure."),
        # spacing (rules/spacing.py)
        Code(
            "doses_too_close",
            ERROR,
            "conflict",
            "spacing",
            "Two doses are closer than the protocol's minimum gap (days, or minutes on a multi-dose day).",
        ),
        Code(
            "induction_gap",
            ERROR,
            "gap",
            "spacing",
            "Two induction doses are further apart than the protocol's maximum gap.",
        ),
        Code(
            "induction_window_exceeded",
            ERROR,
            "conflict",
            "spacing",
            "An induction stage is not done within its window from its first dose.",
        ),
        Code(
            "maintenance_too_early",
            ERROR,
            "conflict",
            "spacing",
            "A maintenance dose comes before the protocol's minimum interval.",
        ),
        # windows (rules/windows.py)
        Code(
            "dose_before_evaluation",
            ERROR,
            "conflict",
            "windows",
            "The first dose has no evaluation early enough before it.",
        ),
        Code(
            "evaluation_expired",
            ERROR,
            "conflict",
            "windows",
            "The evaluation is older than the protocol accepts at the first dose.",
        ),
        Code(
            "integration_missing",
            ERROR,
            "gap",
            "windows",
            "No integration session inside its window after a dose that needs one (and before the next).",
        ),
        Code(
            "follow_up_missing",
            WARNING,
            "gap",
            "windows",
            "No follow-up visit inside its window after the last induction dose.",
        ),
        Code(
            "induction_incomplete",
            WARNING,
            "gap",
            "windows",
            "Fewer induction doses than the protocol needs and none ahead (or the window has passed).",
        ),
        Code("maintenance_due", WARNING, "gap", "windows", "The next maintenance dose is due and none is booked."),
        Code(
            "maintenance_overdue",
            WARNING,
            "gap",
            "windows",
            "The maintenance due window has passed and no dose is booked.",
        ),
        # patient (rules/patient.py)
        Code("dosing_hold", ERROR, "conflict", "patient", "A dose is booked while a clinician holds dosing."),
        Code(
            "ride_home_missing",
            WARNING,
            "gap",
            "patient",
            "A dose that requires a ride home, for a patient without one arranged.",
        ),
        Code(
            "unconfirmed",
            WARNING,
            "gap",
            "patient",
            "A booked dose starts within 24 hours and the patient has not confirmed it.",
        ),
        Code(
            "course_active",
            ERROR,
            "refusal",
            "patient",
            "The patient already has an open (planned or active) course: a second is refused (409) unless it "
            "replaces the open one or gives override_reason.",
        ),
        # attendance (rules/attendance.py)
        Code(
            "attendance_unrecorded",
            WARNING,
            "gap",
            "attendance",
            "A session that has ended is still booked or checked in: mark it completed or no-show.",
        ),
        # payer (rules/authorization.py)
        Code(
            "authorization_exceeded",
            ERROR,
            "conflict",
            "payer",
            "A dose would use more units than the payer authorized, or falls outside the authorization's dates.",
        ),
        Code(
            "authorization_low",
            WARNING,
            "gap",
            "payer",
            "An authorization has few units left (or ends within 14 days) while doses are still booked on it.",
        ),
        # rems (rules/rems.py): the Spravato REMS
        Code(
            "rems_not_enrolled",
            ERROR,
            "conflict",
            "rems",
            "An esketamine (REMS) dose at a clinic without REMS certification or for a patient not enrolled: "
            "refused (409), never overridable.",
        ),
        Code(
            "prescriber_not_on_site",
            ERROR,
            "conflict",
            "rems",
            "No prescriber of the clinic works across the whole REMS dose (administration and monitoring).",
        ),
        Code(
            "bp_checks_too_close",
            WARNING,
            "conflict",
            "rems",
            "One nurse would take two patients' blood-pressure checks less than 10 minutes apart.",
        ),
        Code(
            "rems_form_due",
            WARNING,
            "gap",
            "rems",
            "A REMS dose took place and its Patient Monitoring Form is due (days 1-7 after it).",
        ),
        Code("rems_form_overdue", ERROR, "gap", "rems", "A REMS dose's Patient Monitoring Form is overdue (day 8 on)."),
        # tms (rules/tms.py)
        Code(
            "motor_threshold_due",
            WARNING,
            "gap",
            "tms",
            "A running TMS course has no motor threshold recorded in the last 7 days.",
        ),
        # plan only (the planner's objective and guidance)
        Code(
            "preference_not_met",
            INFO,
            "plan",
            "plan",
            "A proposed session falls outside the course's preferred weekdays or times.",
        ),
        Code(
            "protocol_guidance_not_met",
            WARNING,
            "plan",
            "plan",
            "A proposed dose breaks the protocol's weekday or per-week guidance.",
        ),
        Code(
            "start_moved_to_today",
            WARNING,
            "plan",
            "plan",
            "The course's start date is in the past; it is planned from today.",
        ),
    )
}

CONFLICT_CODES = frozenset(c.name for c in CODES.values() if c.kind == "conflict")
GAP_CODES = frozenset(c.name for c in CODES.values() if c.kind == "gap")
PLAN_CODES = frozenset(c.name for c in CODES.values() if c.kind == "plan")
ALL_CODES = CONFLICT_CODES | GAP_CODES  # the codes a Flag may carry
# Refused outright by booking (409 naming the clash); the other errors may be overridden with a reason.
HARD_CONFLICT_CODES = frozenset({"room_double_booked", "patient_double_booked"})
# Errors an override_reason does not lift: the write is refused with 409 and the code itself.
UNOVERRIDABLE_CODES = frozenset({"rems_not_enrolled"})


def severity_of(code: str) -> str:
    """The one severity of ``code``; ValueError for a code the rule book does not know."""
    try:
        return CODES[code].severity
    except KeyError:
        raise ValueError(f"unknown code {code!r}: add it to scheduler.domain.rules.codes") from None


def is_error(code: str) -> bool:
    return severity_of(code) == ERROR


def severity_rank(severity: str) -> int:
    """0 for the most severe (error), then warning, info (:data:`SEVERITIES`); a sort key."""
    return SEVERITIES.index(severity)


def worst_severity(severities: Iterable[str]) -> str | None:
    """The most severe of ``severities`` (None when there is none)."""
    return min(severities, key=severity_rank, default=None)
