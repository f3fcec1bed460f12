"""When a clinic is open, a clinician works and a room is free, as UTC instant intervals.

All functions take the plain values of :mod:`scheduler.domain.values`. Local dates are in the clinic's
zone. Overlap is the one predicate of :mod:`scheduler.domain.intervals` (half-open ``[start, end)``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, time, timedelta

from scheduler.domain.intervals import Interval, merge, subtract
from scheduler.domain.timezones import local_days_between, to_utc_lenient
from scheduler.domain.values import Clinic, Closure, DayHours, Session, StaffMember, WeeklyHours

MIDNIGHT = time(0, 0)


def _local_span(d: date, start: time, end: time, tz: str) -> Interval:
    """UTC interval of local ``[start, end)`` on ``d``; ``end == 00:00`` is the end of the day."""
    s = to_utc_lenient(d, start, tz)
    e = to_utc_lenient(d + timedelta(days=1), MIDNIGHT, tz) if end == MIDNIGHT else to_utc_lenient(d, end, tz)
    return Interval(s, e)


def _hours_on(hours: WeeklyHours, d: date, tz: str) -> list[Interval]:
    spans: DayHours = hours[d.weekday()]
    return merge([_local_span(d, o, c, tz) for o, c in spans if c == MIDNIGHT or o < c])


def hours_intervals(clinic: Clinic, d: date) -> list[Interval]:
    """The clinic's weekly opening hours on local date ``d`` as UTC intervals (closures ignored)."""
    return _hours_on(clinic.hours, d, clinic.timezone)


def closure_intervals(clinic: Clinic, d: date) -> list[tuple[Interval, Closure]]:
    """The closed spans on local date ``d`` (whole or part day) with the closure each comes from."""
    out = []
    for c in clinic.closures:
        if c.covers_date(d):
            out.append((_local_span(d, c.from_time or MIDNIGHT, c.until_time or MIDNIGHT, clinic.timezone), c))
    return out


def open_intervals(clinic: Clinic, d: date) -> list[Interval]:
    """When the clinic is open on local date ``d``: weekly hours minus closures, as UTC intervals."""
    base = hours_intervals(clinic, d)
    if not base:
        return []
    holes = [iv for iv, _ in closure_intervals(clinic, d)]
    return subtract(base, holes) if holes else base


def is_within_hours(clinic: Clinic, interval: Interval) -> bool:
    """True when ``interval`` lies inside one opening interval of the weekly hours (closures are a
    separate question: :func:`closure_covering`)."""
    for d in local_days_between(interval.start, interval.end, clinic.timezone):
        if any(iv.contains(interval) for iv in hours_intervals(clinic, d)):
            return True
    return False


def closure_covering(clinic: Clinic, interval: Interval) -> Closure | None:
    """The first closure whose closed time overlaps ``interval``, or None."""
    for d in local_days_between(interval.start, interval.end, clinic.timezone):
        for iv, c in closure_intervals(clinic, d):
            if iv.overlaps(interval):
                return c
    return None


def is_open(clinic: Clinic, interval: Interval) -> bool:
    """Within the weekly hours and not touched by any closure."""
    return is_within_hours(clinic, interval) and closure_covering(clinic, interval) is None


# ---------------------------------------------------------------- staff


def staff_hours_intervals(staff: StaffMember, clinic: Clinic, d: date) -> list[Interval]:
    """The clinician's working hours on local date ``d`` (the clinic's hours when they have none of
    their own), before time off and closures."""
    if staff.hours is None:
        return hours_intervals(clinic, d)
    return _hours_on(staff.hours, d, clinic.timezone)


def staff_available_intervals(staff: StaffMember, clinic: Clinic, d: date) -> list[Interval]:
    """Working hours on ``d`` minus time off (closures not subtracted)."""
    base = staff_hours_intervals(staff, clinic, d) if staff.active else []
    if not base or not staff.time_off:
        return base
    return subtract(base, list(staff.time_off))


def is_staff_working(staff: StaffMember, clinic: Clinic, interval: Interval) -> bool:
    """True when ``interval`` lies inside one of the clinician's working intervals."""
    if not staff.active:
        return False
    for d in local_days_between(interval.start, interval.end, clinic.timezone):
        if any(iv.contains(interval) for iv in staff_hours_intervals(staff, clinic, d)):
            return True
    return False


def time_off_overlapping(staff: StaffMember, interval: Interval) -> Interval | None:
    """The first time-off interval that overlaps ``interval``, or None."""
    for iv in staff.time_off:
        if iv.start >= interval.end:
            break
        if iv.overlaps(interval):
            return iv
    return None


def is_staff_away(staff: StaffMember, interval: Interval) -> bool:
    return time_off_overlapping(staff, interval) is not None


def is_staff_available(staff: StaffMember, clinic: Clinic, interval: Interval) -> bool:
    """Working and not away during the whole interval."""
    return is_staff_working(staff, clinic, interval) and not is_staff_away(staff, interval)


def staff_concurrency(staff_id: int, interval: Interval, sessions: Iterable[Session]) -> int:
    """The largest number of live sessions of ``staff_id`` running at one instant inside ``interval``."""
    mine = [s for s in sessions if s.live and s.staff_member_id == staff_id and s.interval.overlaps(interval)]
    return max_concurrency([s.interval for s in mine], interval)


def max_concurrency(intervals: list[Interval], within: Interval) -> int:
    """Largest number of ``intervals`` that overlap one another at one instant of ``within``."""
    if not intervals:
        return 0
    points = sorted({max(iv.start, within.start) for iv in intervals})
    return max(sum(1 for iv in intervals if iv.start <= p < iv.end) for p in points)


# ---------------------------------------------------------------- rooms


def busy_intervals(
    sessions: Iterable[Session],
    *,
    room_id: int | None = None,
    patient_id: int | None = None,
    staff_member_id: int | None = None,
) -> list[Interval]:
    """Merged intervals of the live sessions that hold the given room / patient / clinician."""
    out = []
    for s in sessions:
        if not s.live:
            continue
        if room_id is not None and s.room_id != room_id:
            continue
        if patient_id is not None and s.patient_id != patient_id:
            continue
        if staff_member_id is not None and s.staff_member_id != staff_member_id:
            continue
        out.append(s.interval)
    return merge(out)


def room_free_intervals(room_id: int, clinic: Clinic, d: date, sessions: Iterable[Session]) -> list[Interval]:
    """The clinic's open time on local date ``d`` during which the room holds no live session."""
    base = open_intervals(clinic, d)
    if not base:
        return []
    return subtract(base, busy_intervals(sessions, room_id=room_id))


def clashes(
    interval: Interval,
    sessions: Iterable[Session],
    *,
    room_id: int | None = None,
    patient_id: int | None = None,
    exclude_ids: Iterable[int] = (),
) -> list[Session]:
    """Live sessions overlapping ``interval`` that hold the room or the patient (either given)."""
    skip = set(exclude_ids)
    out = []
    for s in sessions:
        if not s.live or (s.id is not None and s.id in skip) or not s.interval.overlaps(interval):
            continue
        if (room_id is not None and s.room_id == room_id) or (patient_id is not None and s.patient_id == patient_id):
            out.append(s)
    return out
