"""Spacing: doses apart by the protocol's gaps (clinic calendar days), induction stages inside their
window, maintenance doses after their minimum interval.

Predicates (used by the flag rules below, the planner, the re-planner and the write gate):

* :func:`next_dose_days` — the local dates the next induction dose may fall on after one without
  interrupting the induction (up to the stage's interruption tolerance);
* :func:`cadence_ok` — whether a gap keeps the stage's usual cadence (``max_gap_days``; past it and
  within the tolerance the gap is tolerated: guidance for the planner, no flag);
* :func:`gap_code` — ``doses_too_close`` / ``induction_gap`` / None for two dose days;
* :func:`same_day_code` — the same on a day of several doses (count per day, minutes between);
* :func:`window_origin` / :func:`stage_opens_on` / :func:`stage_last_day` / :func:`latest_day_for` —
  the stage window (from the stage's first dose, or, for a stage anchored to the course, from
  ``offset_days`` after the course's first induction dose), and the last day a dose may take with
  ``remaining`` doses of the stage still to come after it;
* :func:`induction_window_end` — the last day a whole induction can still be completed;
* :func:`maintenance_earliest` — the first day a maintenance dose may follow the previous dose.

Days are local calendar dates in the clinic's zone (never 24-hour periods).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from scheduler.domain.maintenance import add_interval
from scheduler.domain.protocols import MaintenanceSpec, Protocol, Stage
from scheduler.domain.rules.model import Flag, day_label, plural

# ---------------------------------------------------------------- predicates


def stage_of_dose(protocol: Protocol, ordinal: int) -> tuple[int, Stage]:
    """(index, stage) of the ``ordinal``-th induction dose (doses past the induction: the last stage)."""
    stages = protocol.induction.stages
    if ordinal > protocol.induction.total_doses:
        return len(stages) - 1, stages[-1]
    return protocol.induction.stage_of(ordinal)


def spacing_stage(protocol: Protocol, ordinal: int | None) -> Stage:
    """The stage a course's dose is spaced by from the patient's doses of other courses (and outside
    any course): the ``ordinal``-th live induction dose's stage; a maintenance dose (``None``) the
    induction's last stage."""
    return stage_of_dose(protocol, ordinal)[1] if ordinal is not None else protocol.induction.stages[-1]


def next_dose_days(stage: Stage, prev_day: date) -> tuple[date, date]:
    """First and last local date (inclusive) the next dose of ``stage`` may fall on after a dose on
    ``prev_day`` without breaking a rule, on a day of its own (``stage.doses_per_day > 1`` also allows
    the same day: see :func:`same_day_code`). The last is the interruption tolerance; the usual
    cadence ends earlier (:func:`cadence_days`)."""
    return prev_day + timedelta(days=stage.min_gap_days), prev_day + timedelta(days=stage.tolerated_gap_days)


def cadence_days(stage: Stage, prev_day: date) -> tuple[date, date]:
    """First and last local date (inclusive) the next dose of ``stage`` keeps the stage's usual
    cadence (``min_gap_days``..``max_gap_days``)."""
    return prev_day + timedelta(days=stage.min_gap_days), prev_day + timedelta(days=stage.max_gap_days)


def cadence_ok(stage: Stage, prev_day: date | None, day: date) -> bool:
    """Whether a dose day ``day`` after one on ``prev_day`` keeps the usual cadence (``max_gap_days``):
    guidance for the planner (``protocol_guidance_not_met``); a longer gap up to the interruption
    tolerance is not flagged on booked doses."""
    return prev_day is None or (day - prev_day).days <= stage.max_gap_days


def gap_code(stage: Stage, prev_day: date, day: date) -> str | None:
    """``doses_too_close`` when ``day`` is fewer than ``stage.min_gap_days`` after ``prev_day``,
    ``induction_gap`` when more than the stage's interruption tolerance
    (``interruption_tolerance_days``, default ``max_gap_days``), else None. Two doses on one day of a
    multi-dose stage are judged by :func:`same_day_code` instead."""
    days = (day - prev_day).days
    if days == 0 and stage.doses_per_day > 1:
        return None
    if days < stage.min_gap_days:
        return "doses_too_close"
    if days > stage.tolerated_gap_days:
        return "induction_gap"
    return None


def same_day_code(stage: Stage, prev_end: datetime, start: datetime, nth_of_day: int) -> str | None:
    """``doses_too_close`` for the ``nth_of_day`` dose of one day (starting at ``start``, the previous
    one ending at ``prev_end``) when the stage allows fewer doses a day or more minutes between."""
    if nth_of_day > stage.doses_per_day:
        return "doses_too_close"
    if start - prev_end < timedelta(minutes=stage.minutes_between_doses):
        return "doses_too_close"
    return None


def window_origin(stage: Stage, stage_first_day: date | None, course_first_day: date | None) -> date | None:
    """The day the stage's window (and its weeks, for the per-week guidance) counts from: the stage's
    first dose, or ``offset_days`` after the course's first induction dose for a stage anchored to the
    course (None while that dose is unknown)."""
    if stage.anchored_to_course:
        return course_first_day + timedelta(days=stage.offset_days) if course_first_day is not None else None
    return stage_first_day


def stage_opens_on(stage: Stage, course_first_day: date | None) -> date | None:
    """The first day a dose of a stage anchored to the course may take (None: the stage opens with its
    own first dose, whenever the gaps allow)."""
    return window_origin(stage, None, course_first_day) if stage.anchored_to_course else None


def stage_last_day(stage: Stage, stage_first_day: date | None, course_first_day: date | None = None) -> date:
    """The last local date of the stage's window: ``window_days`` after its origin
    (:func:`window_origin`)."""
    origin = window_origin(stage, stage_first_day, course_first_day)
    if origin is None:
        raise ValueError("the stage window needs its origin: the stage's (or, anchored, the course's) first dose")
    return origin + timedelta(days=stage.window_days)


def latest_day_for(
    stage: Stage, stage_first_day: date | None, remaining: int = 0, course_first_day: date | None = None
) -> date:
    """The last day a dose of the stage may take when ``remaining`` dose days of the stage still
    follow it (each at least ``min_gap_days`` later, all inside the window)."""
    return stage_last_day(stage, stage_first_day, course_first_day) - timedelta(days=remaining * stage.min_gap_days)


def within_window(
    stage: Stage, stage_first_day: date | None, course_first_day: date | None, day: date, remaining: int = 0
) -> bool:
    """Whether a dose day on ``day`` lies inside the stage's window (after its opening, for a stage
    anchored to the course) leaving room for ``remaining`` dose days of the stage after it."""
    opens = stage_opens_on(stage, course_first_day)
    if opens is not None and day < opens:
        return False
    first = stage_first_day if stage_first_day is not None else day
    return day <= latest_day_for(stage, first, remaining, course_first_day)


def induction_window_end(protocol: Protocol, first_day: date) -> date:
    """The last day the induction that began on ``first_day`` can still be completed (every stage's
    window, and the longest tolerated gaps between stages; an anchored stage's window is fixed)."""
    end = first_day
    for i, st in enumerate(protocol.induction.stages):
        if st.anchored_to_course:
            end = max(end, stage_last_day(st, None, first_day))
        else:
            end = end + timedelta(days=(st.tolerated_gap_days if i else 0) + st.window_days)
    return end


def maintenance_earliest(rule: MaintenanceSpec, prev_day: date) -> date:
    """The first local date a maintenance dose may follow a dose on ``prev_day``."""
    return add_interval(prev_day, rule.min, rule.unit)


# ---------------------------------------------------------------- flag rules over one course


def spacing_flags(c) -> list[Flag]:
    """doses_too_close, induction_gap and induction_window_exceeded over the course's live induction
    doses in time order (``c``: :class:`scheduler.domain.rules.course.CourseView`)."""
    out: list[Flag] = []
    key = c.p.key
    per_day_count = 1
    for i in range(1, len(c.induction)):
        a, b = c.induction[i - 1], c.induction[i]
        n = i + 1
        _, stage = stage_of_dose(c.p, n)
        da, db = c.day(a), c.day(b)
        days = (db - da).days
        # the words of a flag, built only for a pair that is flagged (most are not)
        what = lambda b=b, n=n: f"{c.label(b, n).capitalize()} for {c.name} on {c.ctx.when(b.starts_at)}"  # noqa: E731
        prev = lambda a=a, n=n: c.label(a, n - 1)  # noqa: E731
        per_day_count = per_day_count + 1 if days == 0 else 1
        if days == 0 and stage.doses_per_day > 1:
            if same_day_code(stage, a.ends_at, b.starts_at, per_day_count) is None:
                continue
            if per_day_count > stage.doses_per_day:
                out.append(
                    c.flag(
                        "doses_too_close",
                        f"{what()} is dose {per_day_count} on one day; {key} allows {stage.doses_per_day} a day.",
                        f"Move {c.label(b, n)} to the next treatment day.",
                        (a, b),
                    )
                )
            else:
                gap_min = int((b.starts_at - a.ends_at).total_seconds() // 60)
                later = c.ctx.when(a.ends_at + timedelta(minutes=stage.minutes_between_doses))
                out.append(
                    c.flag(
                        "doses_too_close",
                        f"{what()} starts {gap_min} min after {prev()} ends; {key} needs at least "
                        f"{stage.minutes_between_doses} min between doses.",
                        f"Move {c.label(b, n)} to {later} or later.",
                        (a, b),
                    )
                )
            continue
        code = gap_code(stage, da, db)
        if code is None:
            continue
        lo, hi = next_dose_days(stage, da)
        if code == "doses_too_close":
            gap = "on the same day as" if days == 0 else f"{plural(days, 'day')} after"
            out.append(
                c.flag(
                    "doses_too_close",
                    f"{what()} is {gap} {prev()}; {key} needs at least {plural(stage.min_gap_days, 'day')}.",
                    f"Move {c.label(b, n)} to {day_label(lo)} or later.",
                    (a, b),
                )
            )
        elif code == "induction_gap":
            out.append(
                c.flag(
                    "induction_gap",
                    f"{what()} is {plural(days, 'day')} after {prev()}; {key} allows at most "
                    f"{plural(stage.tolerated_gap_days, 'day')} between induction doses, so the induction "
                    "is interrupted.",
                    f"Book a dose on or before {day_label(hi)}, "
                    "or ask the prescriber whether to restart the induction.",
                    (a, b),
                )
            )
    # the window of each stage, from the stage's first dose (or the course weeks it is anchored to)
    flagged: set[int] = set()
    course_first = c.day(c.induction[0]) if c.induction else None
    for i, s in enumerate(c.induction):
        n = i + 1
        if n > c.p.induction.total_doses:
            break
        idx, stage = c.p.induction.stage_of(n)
        first_n = c.p.induction.first_sequence(idx)
        if idx in flagged:
            continue
        if stage.anchored_to_course:
            assert course_first is not None  # the course has this dose, so a first one
            opens = course_first + timedelta(days=stage.offset_days)
            last_ok = stage_last_day(stage, None, course_first)
            if opens <= c.day(s) <= last_ok:
                continue
            flagged.add(idx)
            week = stage.offset_days // 7 + 1
            span = (
                f"week {week} of the course"
                if stage.offset_days % 7 == 0 and stage.window_days == 6
                else f"days {stage.offset_days}–{stage.offset_days + stage.window_days} of the course"
            )
            part = f"stage “{stage.name}”" if stage.name else f"stage {idx + 1}"
            out.append(
                c.flag(
                    "induction_window_exceeded",
                    f"{c.label(s, n).capitalize()} for {c.name} on {c.ctx.when(s.starts_at)} is outside "
                    f"{span} ({day_label(opens)} to {day_label(last_ok)}), counted from "
                    f"{c.label(c.induction[0], 1)} on {day_label(course_first)}; {key}'s {part} "
                    "falls in those days.",
                    f"Move {c.label(s, n)} to a day from {day_label(opens)} to {day_label(last_ok)}.",
                    (c.induction[0], s),
                )
            )
            continue
        if first_n == n:
            continue
        first = c.induction[first_n - 1]
        last_ok = stage_last_day(stage, c.day(first))
        if c.day(s) > last_ok:
            flagged.add(idx)
            days = (c.day(s) - c.day(first)).days
            part = f"stage “{stage.name}”" if len(c.p.induction.stages) > 1 and stage.name else "induction"
            out.append(
                c.flag(
                    "induction_window_exceeded",
                    f"{c.label(s, n).capitalize()} for {c.name} on {c.ctx.when(s.starts_at)} is "
                    f"{plural(days, 'day')} after {c.label(first, first_n)} "
                    f"({day_label(c.day(first))}); {c.p.key}'s {part} must be done within "
                    f"{plural(stage.window_days, 'day')}.",
                    f"Move {c.label(s, n)} to {day_label(last_ok)} or earlier.",
                    (first, s),
                )
            )
    return out


def too_close_across(
    stage: Stage, earlier_day: date, earlier_end: datetime, later_day: date, later_start: datetime
) -> bool:
    """Whether two doses of different courses (or one outside any course) break ``stage``'s minimum
    gap: fewer than ``min_gap_days`` calendar days apart, or, on a day of several doses, fewer than
    ``minutes_between_doses`` between them."""
    days = (later_day - earlier_day).days
    if days == 0 and stage.doses_per_day > 1:
        return later_start - earlier_end < timedelta(minutes=stage.minutes_between_doses)
    return days < stage.min_gap_days


def cross_course_spacing_flags(c, elsewhere: list, loose: list) -> list[Flag]:
    """doses_too_close between a dose of this course and a live dose of another course of the
    patient (``elsewhere``), judged by the stage of this course's later dose; and between this
    course's dose and a later dose outside any course (``loose``), spaced by this course's gap when
    the course is open. Each pair is flagged once: by the course of the later dose."""
    from scheduler.domain.courses import is_open

    out: list[Flag] = []
    mine = [(n, s) for n, s in enumerate(c.induction, start=1)] + [(None, s) for s in c.maintenance]
    if not mine:
        return out
    others = [s for s in elsewhere if s.live and s.kind == "dose"]
    outside = [s for s in loose if s.live and s.kind == "dose"] if is_open(c.course.status) else []
    key = c.p.key
    for n, d in mine:
        stage = spacing_stage(c.p, n)
        for o in others + outside:
            later_is_mine = (o.starts_at, o.id or 0) <= (d.starts_at, d.id or 0)
            if not later_is_mine and o not in outside:
                continue  # the other course's own rules judge the pair
            a, b = (o, d) if later_is_mine else (d, o)
            if not too_close_across(stage, c.day(a), a.ends_at, c.day(b), b.starts_at):
                continue
            theirs = "outside any course" if o in outside else f"of another course (#{o.course_id})"
            days = (c.day(b) - c.day(a)).days
            gap = "on the same day as" if days == 0 else f"{plural(days, 'day')} after"
            first = c.label(a) + (f" {theirs}" if a is o else "")
            second = c.label(b) + (f" {theirs}" if b is o else "")
            lo = c.day(a) + timedelta(days=stage.min_gap_days)
            out.append(
                c.flag(
                    "doses_too_close",
                    f"{second[0].upper() + second[1:]} for {c.name} on {c.ctx.when(b.starts_at)} is {gap} "
                    f"{first} ({c.ctx.when(a.starts_at)}); {key} needs at least "
                    f"{plural(stage.min_gap_days, 'day')} between doses, across courses too.",
                    f"Move the later dose to {day_label(lo)} or later, or stop one of the courses.",
                    (a, b),
                )
            )
    return out


def maintenance_spacing_flags(c) -> list[Flag]:
    """maintenance_too_early: a maintenance dose before the minimum interval after the previous dose."""
    m = c.p.maintenance
    if m is None or not c.maintenance:
        return []
    out: list[Flag] = []
    prev = None
    k = 0
    for s in c.doses:
        if s.phase == "maintenance":
            k += 1
            earliest = maintenance_earliest(m, c.day(prev)) if prev is not None else None
            if earliest is not None and c.day(s) < earliest:
                out.append(
                    c.flag(
                        "maintenance_too_early",
                        f"{c.label(s, k).capitalize()} for {c.name} on {c.ctx.when(s.starts_at)} is only "
                        f"{plural((c.day(s) - c.day(prev)).days, 'day')} after {c.label(prev)} "
                        f"({day_label(c.day(prev))}); {c.p.key} spaces maintenance doses at least "
                        f"{plural(m.min, m.unit[:-1])} apart.",
                        f"Move it to {day_label(earliest)} or later.",
                        (prev, s),
                    )
                )
        prev = s
    return out
