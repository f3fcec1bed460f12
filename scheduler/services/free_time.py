"""A room's or a clinician's free time over a window (the FHIR Slot search).

Free time = the clinic's opening hours minus closures (domain.calendar.open_intervals), for a
clinician also their working hours minus time off (staff_available_intervals), minus the live
sessions holding the room (or, for a clinician, the times they already monitor as many sessions as
their capacity), minus the live holds placed through FHIR $hold. Interval arithmetic is
domain.intervals' (merge/subtract); no overlap test here.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

from scheduler.db import db_session
from scheduler.domain import calendar
from scheduler.domain.intervals import Interval, merge, subtract
from scheduler.domain.timezones import local_date
from scheduler.errors import NotFound
from scheduler.models import Room, StaffMember
from scheduler.services import inputs


def intersect(a: list[Interval], b: list[Interval]) -> list[Interval]:
    return subtract(a, subtract(a, b))


def saturated(intervals: list[Interval], capacity: int) -> list[Interval]:
    """Where at least ``capacity`` of ``intervals`` run at once (a sweep over their ends)."""
    events = sorted(
        [(iv.start, 1) for iv in intervals] + [(iv.end, -1) for iv in intervals], key=lambda e: (e[0], e[1])
    )
    out, running, since = [], 0, None
    for moment, step in events:
        running += step
        if running >= capacity and since is None:
            since = moment
        elif running < capacity and since is not None:
            if since < moment:
                out.append(Interval(since, moment))
            since = None
    return merge(out)


def owner(kind: str, ident: int) -> Room | StaffMember:
    row: Room | StaffMember | None = (
        db_session.get(Room, ident) if kind == "room" else db_session.get(StaffMember, ident)
    )
    if row is None:
        raise NotFound(f"No {'room' if kind == 'room' else 'staff member'} with id {ident}.", field="schedule")
    return row


def free_intervals(kind: str, ident: int, window: Interval, held: Iterable[Interval] = ()) -> list[Interval]:
    """``kind`` "room" or "practitioner"; ``held``: intervals of live holds on this resource."""
    row = owner(kind, ident)
    clinic = inputs.clinic_value(row.clinic_id, window)
    days = list(_days(window, clinic.timezone))
    if kind == "room":
        if not row.active:
            return []
        sessions = inputs.resource_sessions(window, room_ids=[ident])
        free = [iv for d in days for iv in calendar.room_free_intervals(ident, clinic, d, sessions)]
        free = subtract(merge(free), merge(list(held)))
    else:
        member = next(m for m in inputs.staff(row.clinic_id, window) if m.id == ident)
        sessions = inputs.resource_sessions(window, staff_ids=[ident])
        busy = [s.interval for s in sessions if s.live and s.staff_member_id == ident] + list(held)
        free = []
        for d in days:
            free += intersect(calendar.staff_available_intervals(member, clinic, d), calendar.open_intervals(clinic, d))
        free = subtract(free, saturated(busy, member.capacity))
    return intersect(merge(free), [window])


def _days(window: Interval, tz: str):
    d: date = local_date(window.start, tz) - timedelta(days=1)
    last = local_date(window.end, tz)
    while d <= last:
        yield d
        d += timedelta(days=1)
