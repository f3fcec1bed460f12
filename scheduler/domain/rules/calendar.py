"""Calendar: a session inside the clinic's opening hours and on no closure.

Predicates: :func:`scheduler.domain.calendar.is_within_hours` and
:func:`scheduler.domain.calendar.closure_covering` (the planner's slot search keeps to
:func:`scheduler.domain.calendar.open_intervals`, the same hours minus the same closures).
A session at another clinic is not judged by this clinic's calendar.
"""

from __future__ import annotations

from datetime import time

from scheduler.domain.calendar import closure_covering, is_within_hours
from scheduler.domain.rules.model import Flag, FlagContext, ids_of
from scheduler.domain.timezones import local_date
from scheduler.domain.values import Session

_DAY_NAMES = ("Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays", "Saturdays", "Sundays")


def hm(t: time) -> str:
    return "24:00" if t == time(0, 0) else t.strftime("%H:%M")


def what(ctx: FlagContext, s: Session) -> str:
    """ "dose 3 for Ana Ruiz on Tue 3 Mar 09:00–11:00"."""
    return f"{ctx.label(s)} for {ctx.patient_name(s.patient_id)} on {ctx.span(s.starts_at, s.ends_at)}"


def session_flag(ctx: FlagContext, code: str, s: Session, message: str, fix: str, **extra) -> Flag:
    """A flag about one session (its span, day, patient and course)."""
    return Flag(
        code=code,
        message=message,
        patient_id=s.patient_id,
        session_ids=ids_of(s),
        fix=fix,
        course_id=s.course_id,
        starts_at=ctx.local(s.starts_at),
        ends_at=ctx.local(s.ends_at),
        on=local_date(s.starts_at, ctx.tz),
        **extra,
    )


def _same_clinic(ctx: FlagContext, s: Session) -> bool:
    return s.clinic_id is None or ctx.clinic.id is None or s.clinic_id == ctx.clinic.id


def _hours_words(ctx: FlagContext, s: Session) -> str:
    d = local_date(s.starts_at, ctx.tz)
    spans = ctx.clinic.hours[d.weekday()]
    if not spans:
        return f"the clinic is closed on {_DAY_NAMES[d.weekday()]}"
    return f"open {', '.join(f'{hm(o)}–{hm(c)}' for o, c in spans)} on {_DAY_NAMES[d.weekday()]}"


def _capitalized_what(ctx: FlagContext, s: Session) -> str:
    w = what(ctx, s)
    return w[0].upper() + w[1:]


def outside_hours_flags(ctx: FlagContext, s: Session) -> list[Flag]:
    """outside_clinic_hours for one live, not completed session of this clinic."""
    if not _same_clinic(ctx, s) or is_within_hours(ctx.clinic, s.interval):
        return []
    return [
        session_flag(
            ctx,
            "outside_clinic_hours",
            s,
            f"{_capitalized_what(ctx, s)} is outside the clinic's opening hours ({_hours_words(ctx, s)}).",
            "Move the session inside the clinic's opening hours.",
        )
    ]


def closure_flags(ctx: FlagContext, s: Session) -> list[Flag]:
    """clinic_closed for one live, not completed session of this clinic."""
    if not _same_clinic(ctx, s):
        return []
    closure = closure_covering(ctx.clinic, s.interval)
    if closure is None:
        return []
    why = f" ({closure.reason})" if closure.reason else ""
    part = (
        ""
        if closure.whole_day
        else (f" from {hm(closure.from_time or time(0))} to {hm(closure.until_time or time(0))}")
    )
    return [
        session_flag(
            ctx,
            "clinic_closed",
            s,
            f"{_capitalized_what(ctx, s)} falls on a clinic closure{part}{why}.",
            "Reschedule the session to a time the clinic is open.",
        )
    ]
