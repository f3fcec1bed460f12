"""Windows: what must come before or after the doses, and when.

Predicates (used by the flag rules below, the planner, the re-planner and the write gate):

* :func:`doses_needing_integration` / :func:`integration_window` / :func:`integration_counts` — an
  integration session counts for a dose when it starts ``min_hours_after``..``within_hours`` real hours
  after the dose ends, and not after the next dose that needs one (it then counts for that dose: an
  integration session counts for the latest dose before it);
* :func:`evaluation_latest_day` / :func:`first_dose_days` / :func:`evaluation_code` — the evaluation's
  lead before the first dose and its validity at the first dose;
* :func:`follow_up_days` — the follow-up visit's window after the last induction dose;
* :func:`guidance_ok` — the stage's weekday and per-week cadence guidance (a preference of the
  protocol, not a hard rule);
* :func:`scheduler.domain.maintenance.due_window` — the maintenance due window (re-exported here).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from scheduler.domain.maintenance import DueWindow, due_window
from scheduler.domain.protocols import EvaluationSpec, FollowUpSpec, IntegrationSpec, PreparationSpec, Stage
from scheduler.domain.rules.model import Flag, day_label, plural
from scheduler.domain.rules.spacing import induction_window_end
from scheduler.domain.timezones import local_date

__all__ = [
    "DueWindow",
    "doses_needing_integration",
    "due_window",
    "evaluation_code",
    "evaluation_latest_day",
    "first_dose_days",
    "follow_up_days",
    "guidance_ok",
    "integration_counts",
    "integration_window",
    "preparation_days",
]

# ---------------------------------------------------------------- predicates


def doses_needing_integration(spec: IntegrationSpec, dose_starts: Sequence, total_doses: int) -> list[int]:
    """Ordinals (1-based) among ``dose_starts`` (the live induction doses in time order; any values)
    whose dose needs an integration session (the protocol's ``after_doses`` / ``then_every``)."""
    return [n for n in range(1, min(len(dose_starts), total_doses) + 1) if spec.applies_to(n)]


def integration_window(
    spec: IntegrationSpec, dose_end: datetime, next_needing_start: datetime | None = None
) -> tuple[datetime, datetime]:
    """``(lo, hi)``: an integration session counts for the dose that ended at ``dose_end`` when it
    starts in ``[lo, hi]``; ``next_needing_start`` (the start of the next dose that needs one) caps
    ``hi``: a session after it counts for that dose instead."""
    lo = dose_end + timedelta(hours=spec.min_hours_after)
    hi = dose_end + timedelta(hours=spec.within_hours)
    if next_needing_start is not None:
        hi = min(hi, next_needing_start)
    return lo, hi


def integration_counts(
    spec: IntegrationSpec, dose_end: datetime, next_needing_start: datetime | None, starts_at: datetime
) -> bool:
    lo, hi = integration_window(spec, dose_end, next_needing_start)
    return lo <= starts_at <= hi


def evaluation_latest_day(spec: EvaluationSpec, first_dose_day: date) -> date:
    """The last local date an evaluation may fall on before a first dose on ``first_dose_day``."""
    return first_dose_day - timedelta(days=spec.min_days_before_first_dose)


def first_dose_days(spec: EvaluationSpec, evaluation_day: date) -> tuple[date, date]:
    """First and last local date (inclusive) a first dose may take after an evaluation on
    ``evaluation_day`` (its lead, and its validity)."""
    return (
        evaluation_day + timedelta(days=spec.min_days_before_first_dose),
        evaluation_day + timedelta(days=spec.valid_days),
    )


def evaluation_code(spec: EvaluationSpec, evaluation_day: date | None, first_dose_day: date) -> str | None:
    """``dose_before_evaluation`` (no evaluation early enough), ``evaluation_expired`` (older than
    ``valid_days`` at the first dose) or None, for the latest evaluation early enough."""
    if evaluation_day is None or evaluation_day > evaluation_latest_day(spec, first_dose_day):
        return "dose_before_evaluation"
    if (first_dose_day - evaluation_day).days > spec.valid_days:
        return "evaluation_expired"
    return None


def follow_up_days(spec: FollowUpSpec, last_dose_day: date) -> tuple[date, date]:
    """First and last local date (inclusive) of the follow-up visit after the last induction dose."""
    return last_dose_day + timedelta(days=spec.min_days_after), last_dose_day + timedelta(days=spec.max_days_after)


def preparation_days(
    spec: PreparationSpec, prev_day: date | None, first_dose_day: date | None
) -> tuple[date | None, date | None]:
    """First and last local date (inclusive; None: unbounded) of a preparation session between the
    session before it (the evaluation or the previous preparation, on ``prev_day``) and the first
    dose: ``min_gap_days`` after the one and before the other."""
    gap = timedelta(days=spec.min_gap_days)
    return (prev_day + gap if prev_day else None), (first_dose_day - gap if first_dose_day else None)


def guidance_ok(stage: Stage, stage_first: date | None, stage_days: Sequence[date], d: date) -> bool:
    """Whether a dose day ``d`` keeps the stage's weekday and per-week guidance, given the stage's
    first day and the dose days already placed in it."""
    if stage.weekdays is not None and d.weekday() not in stage.weekdays:
        return False
    if stage.per_week_max is not None and stage_first is not None:
        week = (d - stage_first).days // 7
        done = sum(1 for x in stage_days if (x - stage_first).days // 7 == week) * stage.doses_per_day
        if done + stage.doses_per_day > stage.per_week_max:
            return False
    return True


# ---------------------------------------------------------------- flag rules over one course


def evaluation_flags(c) -> list[Flag]:
    spec = c.p.evaluation
    if spec is None or not c.induction:
        return []
    first = c.induction[0]
    fd = c.day(first)
    latest_ok = evaluation_latest_day(spec, fd)
    before = [e for e in c.evaluations if e.ends_at <= first.starts_at and c.day(e) <= latest_ok]
    code = evaluation_code(spec, c.day(before[-1]) if before else None, fd)
    dose = f"{c.label(first, 1)} for {c.name} on {c.ctx.when(first.starts_at)}"
    if code == "dose_before_evaluation":
        later = [e for e in c.evaluations if e not in before]
        why = (
            f"the evaluation on {c.ctx.when(later[0].starts_at)} is too late"
            if later
            else "no evaluation is booked before it"
        )
        ahead = (
            "at least " + plural(spec.min_days_before_first_dose, "day") + " before the first dose"
            if spec.min_days_before_first_dose
            else "before the first dose"
        )
        return [
            c.flag(
                "dose_before_evaluation",
                f"{dose[0].upper() + dose[1:]} comes before the evaluation: {why}; {c.p.key} needs an "
                f"evaluation {ahead}.",
                f"Book an evaluation on or before {day_label(latest_ok)}, or move {c.label(first, 1)} later.",
                (first, *later[:1]),
                anchor=first,
            )
        ]
    if code == "evaluation_expired":
        ev = before[-1]
        age = (fd - c.day(ev)).days
        return [
            c.flag(
                "evaluation_expired",
                f"The evaluation of {c.name} on {day_label(c.day(ev))} is {plural(age, 'day')} old at "
                f"{c.label(first, 1)} on {c.ctx.when(first.starts_at)}; {c.p.key} accepts an evaluation "
                f"at most {plural(spec.valid_days, 'day')} old.",
                f"Book a new evaluation between {day_label(fd - timedelta(days=spec.valid_days))} and "
                f"{day_label(latest_ok)}.",
                (ev, first),
                anchor=first,
            )
        ]
    return []


def integration_flags(c, integrations: list) -> list[Flag]:
    spec = c.p.integration
    if spec is None:
        return []
    out: list[Flag] = []
    needing = doses_needing_integration(spec, c.induction, c.p.induction.total_doses)
    for k, n in enumerate(needing):
        dose = c.induction[n - 1]
        nxt = c.induction[needing[k + 1] - 1].starts_at if k + 1 < len(needing) else None
        lo, hi = integration_window(spec, dose.ends_at, nxt)
        if any(lo <= s.starts_at <= hi for s in integrations):
            continue
        out.append(
            c.flag(
                "integration_missing",
                f"No integration session is booked within {spec.within_hours} h after "
                f"{c.label(dose, n)} for {c.name} on {c.ctx.when(dose.starts_at)} ({c.p.key}).",
                f"Book an integration session ({spec.role}, {spec.capability} room) between "
                f"{c.ctx.when(lo)} and {c.ctx.when(hi)}.",
                (dose,),
            )
        )
    return out


def follow_up_flags(c, follow_ups: list) -> list[Flag]:
    spec = c.p.follow_up
    total = c.p.induction.total_doses
    if spec is None or len(c.induction) < total:
        return []
    last = c.induction[total - 1]
    lo, hi = follow_up_days(spec, c.day(last))
    if any(lo <= c.day(s) <= hi for s in follow_ups):
        return []
    return [
        c.flag(
            "follow_up_missing",
            f"No follow-up visit is booked for {c.name} between {day_label(lo)} and {day_label(hi)} "
            f"({spec.min_days_after}–{spec.max_days_after} days after the last induction dose on "
            f"{day_label(c.day(last))}).",
            f"Book a follow-up visit ({spec.role}) between {day_label(lo)} and {day_label(hi)}.",
            (last,),
            on=lo,
        )
    ]


def incomplete_flags(c, as_of: datetime) -> list[Flag]:
    """induction_incomplete: fewer live induction doses than the protocol needs, and either a dose was
    cancelled or missed without a replacement (at once, whether or not doses lie ahead), or none is
    ahead, or the induction window has passed."""
    total = c.p.induction.total_doses
    have = len(c.induction)
    if have >= total:
        return []
    today = local_date(as_of, c.ctx.tz)
    if c.missed_induction:
        lost = c.missed_induction[-1]
        state = "marked a no-show" if lost.status == "no_show" else "cancelled"
        return [
            c.flag(
                "induction_incomplete",
                f"{c.name} has {have} of {total} induction doses booked for {c.p.key}: "
                f"{c.label(lost)} on {c.ctx.when(lost.starts_at)} was {state}.",
                f"Re-plan the course from {c.label(lost)} (its session page: Re-plan) to book a "
                "replacement within the protocol's gaps and window.",
                (lost,),
                on=today,
            )
        ]
    end = induction_window_end(c.p, c.day(c.induction[0])) if c.induction else None
    ahead = [s for s in c.induction if s.starts_at >= as_of]
    if ahead and (end is None or today <= end):
        return []
    if not c.induction:
        why = "no induction dose is booked"
    elif end is not None and today > end:
        why = f"the induction window ended on {day_label(end)}"
    else:
        why = "no further dose is booked"
    last = c.induction[-1] if c.induction else None
    return [
        c.flag(
            "induction_incomplete",
            f"{c.name} has {have} of {total} induction doses for {c.p.key} and {why}.",
            f"Book the remaining {plural(total - have, 'dose')}, or record why the course stopped.",
            (last,) if last else (),
            on=today,
        )
    ]


def maintenance_due_flags(c, as_of: datetime) -> list[Flag]:
    m = c.p.maintenance
    if m is None or len(c.induction) < c.p.induction.total_doses or not c.doses:
        return []
    last = c.doses[-1]
    if last.starts_at > as_of:
        return []
    ld = c.day(last)
    window = due_window(ld, m)
    today = local_date(as_of, c.ctx.tz)
    since = f"nothing is booked since {c.label(last)} on {day_label(ld)}"
    status = window.status_on(today)
    if status == "overdue":
        return [
            c.flag(
                "maintenance_overdue",
                f"The maintenance dose for {c.name} ({c.p.key}) is overdue: it was due by "
                f"{day_label(window.latest)} and {since}.",
                "Book a maintenance dose now, or ask the prescriber whether to restart the induction.",
                (last,),
                on=today,
            )
        ]
    if status == "due":
        return [
            c.flag(
                "maintenance_due",
                f"The maintenance dose for {c.name} ({c.p.key}) is due between {day_label(window.earliest)} "
                f"and {day_label(window.latest)} (target {day_label(window.target)}); {since}.",
                f"Book a maintenance dose, ideally around {day_label(window.target)}.",
                (last,),
                on=today,
            )
        ]
    return []
