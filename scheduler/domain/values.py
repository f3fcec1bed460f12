"""Plain frozen values the services build from the database and hand to the domain rules.

Local times are naive ``datetime.time`` in the clinic's zone; instants are aware UTC datetimes.
Weekly hours are given per weekday (0 = Monday .. 6 = Sunday) as a sequence of ``(open, close)``
local times, each the half-open interval ``[open, close)``; ``close == time(0, 0)`` means midnight
at the end of the day. Any mapping/sequence given is normalised to tuples, so values stay hashable.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Protocol, TypeVar

from scheduler.domain.intervals import Interval
from scheduler.domain.vocabulary import LIVE_STATUSES, WEEKDAYS

DayHours = tuple[tuple[time, time], ...]
WeeklyHours = tuple[DayHours, DayHours, DayHours, DayHours, DayHours, DayHours, DayHours]
HoursInput = Mapping[int | str, Iterable[tuple[time, time]]] | Iterable[Iterable[tuple[time, time]]]


class _HasId(Protocol):
    @property
    def id(self) -> int: ...


_Identified = TypeVar("_Identified", bound=_HasId)


def by_id(items: Iterable[_Identified]) -> dict[int, _Identified]:
    """Values keyed by their ``id`` (the last of equal ids wins), e.g. for a ``FlagContext``."""
    return {item.id: item for item in items}


def weekly_hours(hours: HoursInput | None) -> WeeklyHours:
    """Normalise weekly hours: a mapping ``{0 or "mon": [(open, close), ...]}`` or a 7-sequence.

    Missing weekdays are closed. Intervals are sorted per day.
    """
    days: list[list[tuple[time, time]]] = [[] for _ in range(7)]
    if hours is None:
        return tuple(() for _ in range(7))  # type: ignore[return-value]
    if isinstance(hours, Mapping):
        for key, spans in hours.items():
            idx = WEEKDAYS.index(key.lower()[:3]) if isinstance(key, str) else int(key)
            if not 0 <= idx <= 6:
                raise ValueError(f"weekday {key!r} out of range 0..6")
            days[idx].extend((o, c) for o, c in spans)
    else:
        seq = list(hours)
        if len(seq) != 7:
            raise ValueError("weekly hours need 7 days (Monday first)")
        for idx, spans in enumerate(seq):
            days[idx].extend((o, c) for o, c in spans)
    for idx, spans in enumerate(days):
        for o, c in spans:
            if c != time(0, 0) and not o < c:
                raise ValueError(f"opening interval {o}-{c} on {WEEKDAYS[idx]} ends before it starts")
    return tuple(tuple(sorted(d)) for d in days)  # type: ignore[return-value]


@dataclass(frozen=True)
class Closure:
    """Closed on every local date in [starts_on, ends_on] (inclusive); whole days when both times are
    None, otherwise from ``from_time`` (default 00:00) until ``until_time`` (default end of day)."""

    starts_on: date
    ends_on: date
    from_time: time | None = None
    until_time: time | None = None
    reason: str = ""
    id: int | None = None

    def covers_date(self, d: date) -> bool:
        return self.starts_on <= d <= self.ends_on

    @property
    def whole_day(self) -> bool:
        return self.from_time is None and self.until_time is None


@dataclass(frozen=True)
class Clinic:
    id: int | None
    timezone: str
    hours: WeeklyHours = field(default_factory=lambda: weekly_hours(None))
    closures: tuple[Closure, ...] = ()
    name: str = ""
    rems_certification_id: str | None = None  # Spravato REMS healthcare-setting certification

    def __post_init__(self) -> None:
        object.__setattr__(self, "hours", weekly_hours(self.hours))
        object.__setattr__(self, "closures", tuple(sorted(self.closures, key=lambda c: (c.starts_on, c.ends_on))))


@dataclass(frozen=True)
class Room:
    id: int
    name: str = ""
    capabilities: tuple[str, ...] = ()
    active: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "capabilities", tuple(self.capabilities))

    def can(self, capability: str) -> bool:
        return self.active and capability in self.capabilities


@dataclass(frozen=True)
class StaffMember:
    """``hours`` None means the clinician works the clinic's opening hours; ``time_off`` are UTC
    instant intervals during which they are away."""

    id: int
    name: str = ""
    role: str = "nurse"
    capacity: int = 1
    hours: WeeklyHours | None = None
    time_off: tuple[Interval, ...] = ()
    active: bool = True

    def __post_init__(self) -> None:
        if self.hours is not None:
            object.__setattr__(self, "hours", weekly_hours(self.hours))
        object.__setattr__(self, "time_off", tuple(sorted(Interval(*iv) for iv in self.time_off)))
        if self.capacity < 1:
            raise ValueError("capacity must be at least 1")


@dataclass(frozen=True)
class Authorization:
    """A payer's approval of ``units_authorized`` doses of ``protocol`` between two local dates.
    ``counted``: (session id, start) of the patient's doses of that protocol inside the dates that use a
    unit (booked, checked in or completed), in time order. ``low_units``: at or below this many units
    left the authorization runs low."""

    id: int
    protocol: str
    payer: str
    reference: str
    units_authorized: int
    valid_from: date
    valid_to: date
    counted: tuple[tuple[int, datetime], ...] = ()
    low_units: int = 5

    @property
    def units_used(self) -> int:
        return len(self.counted)

    @property
    def units_left(self) -> int:
        return max(self.units_authorized - self.units_used, 0)

    def covers(self, day: date) -> bool:
        return self.valid_from <= day <= self.valid_to


@dataclass(frozen=True)
class Patient:
    id: int
    mrn: str = ""
    name: str = ""
    ride_home_arranged: bool = False
    dosing_hold_reason: str | None = None
    authorizations: tuple[Authorization, ...] = ()
    rems_enrollment_id: str | None = None  # Spravato REMS patient enrollment, since ``rems_enrolled_on``
    rems_enrolled_on: date | None = None

    @property
    def on_dosing_hold(self) -> bool:
        return self.dosing_hold_reason is not None


@dataclass(frozen=True)
class Session:
    """An existing treatment session (any status); ``starts_at``/``ends_at`` aware UTC."""

    id: int | None
    patient_id: int
    starts_at: datetime
    ends_at: datetime
    room_id: int | None
    kind: str = "dose"
    status: str = "booked"
    clinic_id: int | None = None
    course_id: int | None = None
    phase: str | None = None
    sequence: int | None = None
    route: str | None = None
    staff_member_id: int | None = None
    override_reason: str | None = None
    # The patient's answers through a message's link.
    confirmed_at: datetime | None = None
    ride_home_by: str | None = None

    @property
    def live(self) -> bool:
        return self.status in LIVE_STATUSES

    @property
    def interval(self) -> Interval:
        return Interval(self.starts_at, self.ends_at)


@dataclass(frozen=True)
class Preferences:
    """Scheduling wishes of a course. ``weekdays``: allowed weekdays (0 = Monday), None = any.
    A session must start at or after ``earliest`` and end at or before ``latest`` (local times).
    ``room_id``/``staff_member_id`` are tried first when suitable and free."""

    weekdays: frozenset[int] | None = None
    earliest: time | None = None
    latest: time | None = None
    room_id: int | None = None
    staff_member_id: int | None = None

    def __post_init__(self) -> None:
        if self.weekdays is not None:
            days = frozenset(WEEKDAYS.index(w.lower()[:3]) if isinstance(w, str) else int(w) for w in self.weekdays)
            if not days or any(not 0 <= w <= 6 for w in days):
                raise ValueError("preferred weekdays must be 0..6 (Monday = 0) and not empty")
            object.__setattr__(self, "weekdays", days)
        if self.earliest is not None and self.latest is not None and self.latest <= self.earliest:
            raise ValueError("preferred latest time must be after the earliest")
