"""The protocol's rules on one course: spacing of doses, evaluation, maintenance, and what is missing.

Doses are taken in time order among the LIVE sessions of the course (a cancelled or no-show dose leaves
the gap it leaves). "Dose n" in the rules is the n-th live induction dose; messages show the session's
sequence number when it has one. Day rules count calendar dates in the clinic's zone, hour rules real
elapsed hours (DESIGN §5, :mod:`scheduler.domain.timezones`).
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

from scheduler.domain.flags.model import (
    CLOSED_COURSE_STATUSES, ERROR, WARNING, CourseFacts, Flag, FlagContext, day_label, plural,
)
from scheduler.domain.maintenance import add_interval, due_window
from scheduler.domain.protocols import Protocol, Stage
from scheduler.domain.timezones import local_date
from scheduler.domain.values import Session


def _stage_of(protocol: Protocol, ordinal: int) -> tuple[int, Stage]:
    stages = protocol.induction.stages
    if ordinal > protocol.induction.total_doses:
        return len(stages) - 1, stages[-1]
    return protocol.induction.stage_of(ordinal)


class _Course:
    """One course's sessions read once: live doses in order, and the words for its messages."""

    def __init__(self, ctx: FlagContext, course: CourseFacts, protocol: Protocol, sessions: list[Session],
                 evaluations: list[Session]):
        self.ctx, self.course, self.p = ctx, course, protocol
        live = [s for s in sessions if s.live]
        order = lambda s: (s.starts_at, s.ends_at, s.id if s.id is not None else -1)  # noqa: E731
        doses = sorted((s for s in live if s.kind == "dose"), key=order)
        self.induction = [s for s in doses if s.phase != "maintenance"]
        self.maintenance = [s for s in doses if s.phase == "maintenance"]
        self.doses = doses
        self.live = live
        self.evaluations = sorted((s for s in evaluations if s.live and s.kind == "evaluation"), key=order)
        self.name = ctx.patient_name(course.patient_id)

    def day(self, s: Session) -> date:
        return local_date(s.starts_at, self.ctx.tz)

    def label(self, s: Session, ordinal: int | None = None) -> str:
        return self.ctx.label(s, ordinal)

    def flag(self, code: str, severity: str, message: str, fix: str | None, sessions: tuple[Session, ...] = (),
             on: date | None = None, anchor: Session | None = None) -> Flag:
        anchor = anchor or (sessions[-1] if sessions else None)
        return Flag(code=code, severity=severity, message=message, patient_id=self.course.patient_id,
                    session_ids=tuple(s.id for s in sessions), fix=fix, course_id=self.course.id,
                    starts_at=self.ctx.local(anchor.starts_at) if anchor else None,
                    ends_at=self.ctx.local(anchor.ends_at) if anchor else None,
                    on=on if on is not None else (self.day(anchor) if anchor else None))


# ---------------------------------------------------------------- conflicts


def _spacing(c: _Course) -> list[Flag]:
    """doses_too_close, induction_gap and induction_window_exceeded over the induction doses."""
    out: list[Flag] = []
    key = c.p.key
    per_day_count = 1
    for i in range(1, len(c.induction)):
        a, b = c.induction[i - 1], c.induction[i]
        n = i + 1
        _, stage = _stage_of(c.p, n)
        da, db = c.day(a), c.day(b)
        days = (db - da).days
        what = f"{c.label(b, n).capitalize()} for {c.name} on {c.ctx.when(b.starts_at)}"
        prev = c.label(a, n - 1)
        per_day_count = per_day_count + 1 if days == 0 else 1
        if days == 0 and stage.doses_per_day > 1:
            gap_min = int((b.starts_at - a.ends_at).total_seconds() // 60)
            if per_day_count > stage.doses_per_day:
                out.append(c.flag("doses_too_close", ERROR,
                                  f"{what} is dose {per_day_count} on one day; {key} allows "
                                  f"{stage.doses_per_day} a day.",
                                  f"Move {c.label(b, n)} to the next treatment day.", (a, b)))
            elif gap_min < stage.minutes_between_doses:
                out.append(c.flag("doses_too_close", ERROR,
                                  f"{what} starts {gap_min} min after {prev} ends; {key} needs at least "
                                  f"{stage.minutes_between_doses} min between doses.",
                                  f"Move {c.label(b, n)} to {c.ctx.when(a.ends_at + timedelta(minutes=stage.minutes_between_doses))} or later.",
                                  (a, b)))
        elif days < stage.min_gap_days:
            gap = "on the same day as" if days == 0 else f"{plural(days, 'day')} after"
            out.append(c.flag("doses_too_close", ERROR,
                              f"{what} is {gap} {prev}; {key} needs at least {plural(stage.min_gap_days, 'day')}.",
                              f"Move {c.label(b, n)} to {day_label(da + timedelta(days=stage.min_gap_days))} or later.",
                              (a, b)))
        elif days > stage.max_gap_days:
            out.append(c.flag("induction_gap", WARNING,
                              f"{what} is {plural(days, 'day')} after {prev}; {key} allows at most "
                              f"{plural(stage.max_gap_days, 'day')} between induction doses, so the induction "
                              "is interrupted.",
                              f"Book a dose on or before {day_label(da + timedelta(days=stage.max_gap_days))}, "
                              "or ask the prescriber whether to restart the induction.", (a, b)))
    # the window of each stage, from the stage's first dose
    flagged: set[int] = set()
    for i, s in enumerate(c.induction):
        n = i + 1
        if n > c.p.induction.total_doses:
            break
        idx, stage = c.p.induction.stage_of(n)
        first_n = c.p.induction.first_sequence(idx)
        if idx in flagged or first_n == n:
            continue
        first = c.induction[first_n - 1]
        days = (c.day(s) - c.day(first)).days
        if days > stage.window_days:
            flagged.add(idx)
            part = f"stage “{stage.name}”" if len(c.p.induction.stages) > 1 and stage.name else "induction"
            out.append(c.flag("induction_window_exceeded", ERROR,
                              f"{c.label(s, n).capitalize()} for {c.name} on {c.ctx.when(s.starts_at)} is "
                              f"{plural(days, 'day')} after {c.label(first, first_n)} "
                              f"({day_label(c.day(first))}); {c.p.key}'s {part} must be done within "
                              f"{plural(stage.window_days, 'day')}.",
                              f"Move {c.label(s, n)} to {day_label(c.day(first) + timedelta(days=stage.window_days))} "
                              "or earlier.", (first, s)))
    return out


def _evaluation(c: _Course) -> list[Flag]:
    spec = c.p.evaluation
    if spec is None or not c.induction:
        return []
    first = c.induction[0]
    fd = c.day(first)
    latest_ok = fd - timedelta(days=spec.min_days_before_first_dose)
    before = [e for e in c.evaluations if e.ends_at <= first.starts_at and c.day(e) <= latest_ok]
    dose = f"{c.label(first, 1)} for {c.name} on {c.ctx.when(first.starts_at)}"
    if not before:
        later = [e for e in c.evaluations if e not in before]
        why = (f"the evaluation on {c.ctx.when(later[0].starts_at)} is too late"
               if later else "no evaluation is booked before it")
        ahead = ("at least " + plural(spec.min_days_before_first_dose, "day") + " before the first dose"
                 if spec.min_days_before_first_dose else "before the first dose")
        return [c.flag("dose_before_evaluation", ERROR,
                       f"{dose[0].upper() + dose[1:]} comes before the evaluation: {why}; {c.p.key} needs an "
                       f"evaluation {ahead}.",
                       f"Book an evaluation on or before {day_label(latest_ok)}, or move {c.label(first, 1)} later.",
                       (first, *later[:1]), anchor=first)]
    ev = before[-1]
    age = (fd - c.day(ev)).days
    if age > spec.valid_days:
        return [c.flag("evaluation_expired", ERROR,
                       f"The evaluation of {c.name} on {day_label(c.day(ev))} is {plural(age, 'day')} old at "
                       f"{c.label(first, 1)} on {c.ctx.when(first.starts_at)}; {c.p.key} accepts an evaluation "
                       f"at most {plural(spec.valid_days, 'day')} old.",
                       f"Book a new evaluation between {day_label(fd - timedelta(days=spec.valid_days))} and "
                       f"{day_label(latest_ok)}.", (ev, first), anchor=first)]
    return []


def _maintenance_spacing(c: _Course) -> list[Flag]:
    m = c.p.maintenance
    if m is None or not c.maintenance:
        return []
    out: list[Flag] = []
    prev: Session | None = None
    k = 0
    for s in c.doses:
        if s.phase == "maintenance":
            k += 1
            earliest = add_interval(c.day(prev), m.min, m.unit) if prev is not None else None
            if earliest is not None and c.day(s) < earliest:
                out.append(c.flag("maintenance_too_early", ERROR,
                                  f"{c.label(s, k).capitalize()} for {c.name} on {c.ctx.when(s.starts_at)} is only "
                                  f"{plural((c.day(s) - c.day(prev)).days, 'day')} after {c.label(prev)} "
                                  f"({day_label(c.day(prev))}); {c.p.key} spaces maintenance doses at least "
                                  f"{plural(m.min, m.unit[:-1])} apart.",
                                  f"Move it to {day_label(earliest)} or later.", (prev, s)))
        prev = s
    return out


# ---------------------------------------------------------------- gaps


def _integration(c: _Course, integrations: list[Session]) -> list[Flag]:
    spec = c.p.integration
    if spec is None:
        return []
    out: list[Flag] = []
    needing = [(i + 1, d) for i, d in enumerate(c.induction[:c.p.induction.total_doses]) if spec.applies_to(i + 1)]
    for k, (n, dose) in enumerate(needing):
        lo = dose.ends_at + timedelta(hours=spec.min_hours_after)
        hi = dose.ends_at + timedelta(hours=spec.within_hours)
        # an integration session after the next dose that needs one belongs to that dose
        if k + 1 < len(needing):
            hi = min(hi, needing[k + 1][1].starts_at)
        if any(lo <= s.starts_at <= hi for s in integrations):
            continue
        out.append(c.flag("integration_missing", WARNING,
                          f"No integration session is booked within {spec.within_hours} h after "
                          f"{c.label(dose, n)} for {c.name} on {c.ctx.when(dose.starts_at)} ({c.p.key}).",
                          f"Book an integration session ({spec.role}, {spec.capability} room) between "
                          f"{c.ctx.when(lo)} and {c.ctx.when(hi)}.", (dose,)))
    return out


def _follow_up(c: _Course, follow_ups: list[Session]) -> list[Flag]:
    spec = c.p.follow_up
    total = c.p.induction.total_doses
    if spec is None or len(c.induction) < total:
        return []
    last = c.induction[total - 1]
    lo, hi = c.day(last) + timedelta(days=spec.min_days_after), c.day(last) + timedelta(days=spec.max_days_after)
    if any(lo <= c.day(s) <= hi for s in follow_ups):
        return []
    return [c.flag("follow_up_missing", WARNING,
                   f"No follow-up visit is booked for {c.name} between {day_label(lo)} and {day_label(hi)} "
                   f"({spec.min_days_after}–{spec.max_days_after} days after the last induction dose on "
                   f"{day_label(c.day(last))}).",
                   f"Book a follow-up visit ({spec.role}) between {day_label(lo)} and {day_label(hi)}.",
                   (last,), on=lo)]


def _induction_window_end(c: _Course) -> date | None:
    if not c.induction:
        return None
    stages = c.p.induction.stages
    span = sum(st.window_days for st in stages) + sum(st.max_gap_days for st in stages[1:])
    return c.day(c.induction[0]) + timedelta(days=span)


def _incomplete(c: _Course, as_of: datetime) -> list[Flag]:
    total = c.p.induction.total_doses
    have = len(c.induction)
    if have >= total:
        return []
    today = local_date(as_of, c.ctx.tz)
    end = _induction_window_end(c)
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
    return [c.flag("induction_incomplete", WARNING,
                   f"{c.name} has {have} of {total} induction doses for {c.p.key} and {why}.",
                   f"Book the remaining {plural(total - have, 'dose')}, or record why the course stopped.",
                   (last,) if last else (), on=today)]


def _maintenance_due(c: _Course, as_of: datetime) -> list[Flag]:
    m = c.p.maintenance
    if m is None or len(c.induction) < c.p.induction.total_doses or not c.doses:
        return []
    last = c.doses[-1]
    if last.starts_at > as_of:
        return []
    ld = c.day(last)
    window = due_window(ld, m)
    earliest, target, latest = window.earliest, window.target, window.latest
    today = local_date(as_of, c.ctx.tz)
    since = f"nothing is booked since {c.label(last)} on {day_label(ld)}"
    if today > latest:
        return [c.flag("maintenance_overdue", WARNING,
                       f"The maintenance dose for {c.name} ({c.p.key}) is overdue: it was due by "
                       f"{day_label(latest)} and {since}.",
                       "Book a maintenance dose now, or ask the prescriber whether to restart the induction.",
                       (last,), on=today)]
    if today >= earliest:
        return [c.flag("maintenance_due", WARNING,
                       f"The maintenance dose for {c.name} ({c.p.key}) is due between {day_label(earliest)} and "
                       f"{day_label(latest)} (target {day_label(target)}); {since}.",
                       f"Book a maintenance dose, ideally around {day_label(target)}.", (last,), on=today)]
    return []


def course_flags(ctx: FlagContext, course: CourseFacts, sessions: list[Session], *, as_of: datetime | None,
                 loose: list[Session] = ()) -> list[Flag]:
    """Every rule of the course's protocol over ``sessions`` (the course's sessions, any status).
    ``loose`` are the patient's sessions without a course (an evaluation booked on its own counts).
    Gaps need ``as_of`` where they depend on today (incomplete induction, maintenance due/overdue)."""
    protocol = ctx.protocols.get(course.protocol_key)
    if protocol is None:
        return []
    pool = list(sessions) + [s for s in loose if s.course_id is None]
    c = _Course(ctx, course, protocol, list(sessions), pool)
    out = _spacing(c) + _evaluation(c) + _maintenance_spacing(c)
    if course.status in CLOSED_COURSE_STATUSES:
        return out
    live_pool = [s for s in pool if s.live]
    out += _integration(c, [s for s in live_pool if s.kind == "integration"])
    out += _follow_up(c, [s for s in live_pool if s.kind == "follow_up"])
    if as_of is not None:
        out += _incomplete(c, as_of) + _maintenance_due(c, as_of)
    return out
