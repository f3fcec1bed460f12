"""Clinic-local time <-> UTC instants.

Rules of the product (README "Architecture", **Time**):

* Instants are aware UTC datetimes. Planning happens in the clinic's zone, so a 09:00 session stays
  09:00 local across a daylight-saving change.
* A local time that does not exist (the spring-forward gap, e.g. 02:30 in New York on the second
  Sunday of March) is refused: :func:`to_utc` raises :class:`NonexistentLocalTime`.
* A local time that happens twice (the fall-back overlap, e.g. 01:30 in New York on the first
  Sunday of November) resolves to its FIRST occurrence: ``fold=0``, the earlier instant, i.e. still
  on daylight time.
* Day rules ("2 calendar days apart") count calendar dates in the clinic's zone; hour rules
  ("within 72 h") count real elapsed hours between instants.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class UnknownTimeZone(ValueError):
    """The name is not an IANA time zone known to this system."""


class NonexistentLocalTime(ValueError):
    """A local wall-clock time skipped by a daylight-saving change (spring forward)."""

    def __init__(self, local_date: date, local_time: time, tz_name: str):
        self.local_date = local_date
        self.local_time = local_time
        self.tz_name = tz_name
        super().__init__(
            f"{local_date.isoformat()} {local_time.strftime('%H:%M')} does not exist in {tz_name} "
            "(the clocks skip it when daylight saving time starts); choose another time"
        )


@lru_cache(maxsize=256)
def zone(tz_name: str) -> ZoneInfo:
    """The ZoneInfo for an IANA name; :class:`UnknownTimeZone` when there is none."""
    if not isinstance(tz_name, str) or not tz_name or tz_name != tz_name.strip():
        raise UnknownTimeZone(f"unknown time zone {tz_name!r}")
    try:
        return ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise UnknownTimeZone(f"unknown time zone {tz_name!r}") from exc


def exists(local_date: date, local_time: time, tz_name: str) -> bool:
    """False when the wall-clock time falls in a spring-forward gap."""
    z = zone(tz_name)
    naive = datetime.combine(local_date, local_time.replace(tzinfo=None))
    back = naive.replace(tzinfo=z, fold=0).astimezone(UTC).astimezone(z)
    return back.replace(tzinfo=None) == naive


def is_ambiguous(local_date: date, local_time: time, tz_name: str) -> bool:
    """True when the wall-clock time happens twice (fall-back overlap)."""
    z = zone(tz_name)
    naive = datetime.combine(local_date, local_time.replace(tzinfo=None))
    first = naive.replace(tzinfo=z, fold=0)
    second = naive.replace(tzinfo=z, fold=1)
    return first.utcoffset() != second.utcoffset() and exists(local_date, local_time, tz_name)


def to_utc(local_date: date, local_time: time, tz_name: str) -> datetime:
    """The aware UTC instant of a wall-clock time in ``tz_name``.

    * Nonexistent (spring-forward gap): raises :class:`NonexistentLocalTime`.
    * Ambiguous (fall-back overlap): the FIRST occurrence (``fold=0``, the earlier instant, still
      daylight time). Example: 2024-11-03 01:30 America/New_York -> 05:30 UTC (EDT), not 06:30.
    * Unknown zone: :class:`UnknownTimeZone`.
    """
    z = zone(tz_name)
    naive = datetime.combine(local_date, local_time.replace(tzinfo=None))
    instant = naive.replace(tzinfo=z, fold=0).astimezone(UTC)
    if instant.astimezone(z).replace(tzinfo=None) != naive:
        raise NonexistentLocalTime(local_date, local_time, tz_name)
    return instant


@lru_cache(maxsize=65536)
def to_utc_lenient(local_date: date, local_time: time, tz_name: str) -> datetime:
    """Like :func:`to_utc` but a nonexistent time is shifted forward by the gap (02:30 -> 03:30 on
    a spring-forward night). For interval bounds (opening hours, day starts), not for bookings.
    Memoized (the result is immutable): the planner and the rules ask for the same days' bounds
    again and again, within a plan and across requests."""
    z = zone(tz_name)
    naive = datetime.combine(local_date, local_time.replace(tzinfo=None))
    return naive.replace(tzinfo=z, fold=0).astimezone(UTC)


def _require_aware(instant: datetime) -> None:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"naive datetime {instant.isoformat()}: instants must be timezone-aware")


def to_local(instant: datetime, tz_name: str) -> datetime:
    """The aware local datetime of an instant in ``tz_name``."""
    if instant.tzinfo is UTC:  # what the database gives: memoized (the rules ask for the same instants often)
        return _utc_to_local(instant, tz_name)
    _require_aware(instant)
    return instant.astimezone(zone(tz_name))


@lru_cache(maxsize=65536)
def _utc_to_local(instant: datetime, tz_name: str) -> datetime:
    """An instant in UTC (``tzinfo is UTC``: equal keys are equal instants, no fold) in ``tz_name``."""
    return instant.astimezone(zone(tz_name))


def wall_clock(instant: datetime, tz_name: str) -> str:
    """An instant as people at the clinic read it: "Tue 3 Mar 2026 09:00 EST" (never raw UTC)."""
    t = to_local(instant, tz_name)
    return f"{t:%a} {t.day} {t:%b} {t.year} {t:%H:%M} {t.tzname()}"


def local_date(instant: datetime, tz_name: str) -> date:
    """The calendar date of an instant in ``tz_name``."""
    return to_local(instant, tz_name).date()


def local_time(instant: datetime, tz_name: str) -> time:
    """The wall-clock time (naive) of an instant in ``tz_name``."""
    return to_local(instant, tz_name).time().replace(tzinfo=None)


def day_start_utc(d: date, tz_name: str) -> datetime:
    """The first instant of local date ``d`` (midnight, or the end of a gap at midnight)."""
    return to_utc_lenient(d, time(0, 0), tz_name)


def day_bounds_utc(d: date, tz_name: str) -> tuple[datetime, datetime]:
    """``[start, end)`` UTC instants of local date ``d`` (23, 24 or 25 hours long)."""
    return day_start_utc(d, tz_name), day_start_utc(d + timedelta(days=1), tz_name)


def iter_days(first: date, last: date) -> Iterator[date]:
    """Every date from ``first`` to ``last`` inclusive (nothing when last < first)."""
    d = first
    one = timedelta(days=1)
    while d <= last:
        yield d
        d += one


def local_days_between(start: datetime, end: datetime, tz_name: str) -> Iterator[date]:
    """Every local date touched by the instant interval ``[start, end)``."""
    first = local_date(start, tz_name)
    last = local_date(end - timedelta(microseconds=1), tz_name) if end > start else first
    return iter_days(first, last)


def hours_between(a: datetime, b: datetime) -> float:
    """Real elapsed hours from ``a`` to ``b`` (DST-independent)."""
    _require_aware(a)
    _require_aware(b)
    return (b - a).total_seconds() / 3600.0
