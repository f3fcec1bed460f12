"""Attendance: a session that has ended should say what happened.

Predicate :func:`attendance_unrecorded` — a session still ``booked`` or ``checked_in`` once it has
ended (the front desk marks it completed or no-show). Its flag rule, :func:`attendance_flags`, runs
over stored sessions whenever the engine knows ``as_of`` (now).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from scheduler.domain.rules.calendar import session_flag, what
from scheduler.domain.rules.model import Flag, FlagContext
from scheduler.domain.values import Session

UNRECORDED_STATUSES = ("booked", "checked_in")


def attendance_unrecorded(status: str, ends_at: datetime, as_of: datetime) -> bool:
    """Whether a session in ``status`` that ends at ``ends_at`` is past without its attendance."""
    return status in UNRECORDED_STATUSES and ends_at <= as_of


def attendance_flags(
    ctx: FlagContext, sessions: Iterable[Session], scope: set[int] | None, as_of: datetime
) -> list[Flag]:
    """``attendance_unrecorded`` for each session of ``scope`` (None: all) past without its outcome."""
    out: list[Flag] = []
    for s in sessions:
        if (scope is not None and s.id not in scope) or not attendance_unrecorded(s.status, s.ends_at, as_of):
            continue
        state = "checked in" if s.status == "checked_in" else "still booked"
        words = what(ctx, s)
        out.append(
            session_flag(
                ctx,
                "attendance_unrecorded",
                s,
                f"{words[0].upper() + words[1:]} has ended but is {state}: mark it completed or no-show.",
                "Mark it completed or no-show on its session page.",
            )
        )
    return out
