"""The Flag value and the context the rules read (codes: :mod:`scheduler.domain.rules.codes`).

A flag is computed from the data, never stored: the services build a :class:`FlagContext` from the
database (plain values of :mod:`scheduler.domain.values` plus protocols) and call the entry points of
:mod:`scheduler.domain.flags` (the engine), which runs the rules of this package.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from scheduler.domain.protocols import Protocol, SessionSpec
from scheduler.domain.rules.codes import ALL_CODES, CONFLICT_CODES, SEVERITIES, severity_of
from scheduler.domain.timezones import to_local
from scheduler.domain.values import Clinic, Patient, Room, Session, StaffMember

# Course statuses whose gaps are no longer worth a warning (the course ended on purpose).
CLOSED_COURSE_STATUSES = ("completed", "stopped")


@dataclass(frozen=True)
class Flag:
    """Something wrong or missing. ``starts_at``/``ends_at`` are aware datetimes in the clinic's zone
    (the span the flag is about, e.g. the clashing session or the idle stretch); ``on`` is the local
    date it concerns (a due date for flags without sessions). ``severity`` is the code's one
    severity (:mod:`scheduler.domain.rules.codes`); left out, it is filled in from there."""

    code: str
    severity: str = ""
    message: str = ""
    patient_id: int | None = None
    session_ids: tuple[int, ...] = ()
    fix: str | None = None
    course_id: int | None = None
    room_id: int | None = None
    staff_member_id: int | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    on: date | None = None

    def __post_init__(self) -> None:
        if self.code not in ALL_CODES:
            raise ValueError(f"unknown flag code {self.code!r}")
        if self.severity and self.severity not in SEVERITIES:
            raise ValueError(f"unknown severity {self.severity!r}")
        if self.severity and self.severity != severity_of(self.code):
            raise ValueError(f"{self.code} has severity {severity_of(self.code)}, not {self.severity}")
        if not self.message:
            raise ValueError(f"a {self.code} flag needs a message")
        object.__setattr__(self, "severity", severity_of(self.code))
        object.__setattr__(self, "session_ids", tuple(self.session_ids))

    @property
    def is_conflict(self) -> bool:
        return self.code in CONFLICT_CODES

    def sort_key(self) -> tuple:
        when = self.starts_at.timestamp() if self.starts_at is not None else float("inf")
        day = self.on.toordinal() if self.on is not None else 10**9
        return (
            when,
            day,
            self.code,
            self.session_ids,
            self.patient_id or 0,
            self.room_id or 0,
            self.message,
        )

    def to_dict(self) -> dict[str, Any]:
        """The flag as every answer shows it (API, refusals' ``conflicts``, pages)."""
        return {
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "patient_id": self.patient_id,
            "session_ids": list(self.session_ids),
            "fix": self.fix,
            "course_id": self.course_id,
            "room_id": self.room_id,
            "staff_member_id": self.staff_member_id,
            "starts_at": self.starts_at.isoformat() if self.starts_at else None,
            "ends_at": self.ends_at.isoformat() if self.ends_at else None,
            "on": self.on.isoformat() if self.on else None,
        }


def ids_of(*sessions: Session) -> tuple[int, ...]:
    """The ids a flag names of the sessions it concerns. The engine gives a candidate or a change
    not yet booked a placeholder id while the rules run; a session given without one is not named."""
    return tuple(s.id for s in sessions if s.id is not None)


@dataclass(frozen=True)
class CourseFacts:
    """What the flag rules need of a course (values.py has no course value). ``clinic_id``, when
    given, lets :func:`clinic_flags` find the clinic's open courses with no session in the range."""

    id: int
    patient_id: int
    protocol_key: str
    status: str = "active"
    start_on: date | None = None
    clinic_id: int | None = None


@dataclass(frozen=True, eq=False)
class FlagContext:
    """Everything the rules look up by id: ``rooms``/``staff``/``patients``/``courses`` map id -> value
    (:func:`scheduler.domain.values.by_id` builds one from values); ``protocols`` maps protocol key ->
    Protocol."""

    clinic: Clinic
    protocols: Mapping[str, Protocol] = field(default_factory=dict)
    rooms: Mapping[int, Room] = field(default_factory=dict)
    staff: Mapping[int, StaffMember] = field(default_factory=dict)
    patients: Mapping[int, Patient] = field(default_factory=dict)
    courses: Mapping[int, CourseFacts] = field(default_factory=dict)
    # Ids of the sessions with a REMS Patient Monitoring Form on file; None: not loaded (the form
    # rules do not run, e.g. in the write gate, which no form can change).
    rems_forms: frozenset[int] | None = None
    # patient id -> the local dates of their motor_threshold assessments (TMS); None: not loaded (the
    # motor_threshold_due rule does not run).
    motor_thresholds: Mapping[int, tuple[date, ...]] | None = None

    def __post_init__(self) -> None:
        for name in ("rooms", "staff", "patients", "courses"):
            given = getattr(self, name)
            if not isinstance(given, Mapping):  # a list of values would fail later, far from here
                raise TypeError(f"FlagContext.{name} maps id -> value (values.by_id), not {type(given).__name__}")
        object.__setattr__(self, "protocols", dict(self.protocols or {}))

    @property
    def tz(self) -> str:
        return self.clinic.timezone

    # ---- lookups

    def course_of(self, s: Session) -> CourseFacts | None:
        return self.courses.get(s.course_id) if s.course_id is not None else None

    def protocol_of_course(self, course: CourseFacts | None) -> Protocol | None:
        return self.protocols.get(course.protocol_key) if course is not None else None

    def protocol_of(self, s: Session) -> Protocol | None:
        return self.protocol_of_course(self.course_of(s))

    def spec_of(self, s: Session) -> SessionSpec | None:
        """The protocol's rules for this kind of session (the maintenance dose block for maintenance)."""
        p = self.protocol_of(s)
        return p.spec_for(s.kind, s.phase) if p is not None else None

    # ---- words for messages

    def patient_name(self, patient_id: int | None) -> str:
        p = self.patients.get(patient_id) if patient_id is not None else None
        return p.name if p is not None and p.name else f"patient #{patient_id}"

    def room_name(self, room_id: int | None) -> str:
        r = self.rooms.get(room_id) if room_id is not None else None
        return r.name if r is not None and r.name else f"room #{room_id}"

    def staff_name(self, staff_id: int | None) -> str:
        m = self.staff.get(staff_id) if staff_id is not None else None
        return m.name if m is not None and m.name else f"clinician #{staff_id}"

    def protocol_name(self, s: Session) -> str:
        p = self.protocol_of(s)
        return p.key if p is not None else "its protocol"

    def local(self, instant: datetime) -> datetime:
        return to_local(instant, self.tz)

    def when(self, instant: datetime) -> str:
        """ "Tue 3 Mar 09:00" in the clinic's zone."""
        t = self.local(instant)
        return f"{t:%a} {t.day} {t:%b} {t:%H:%M}"

    def span(self, start: datetime, end: datetime) -> str:
        """ "Tue 3 Mar 09:00–11:00" (the end date is named when it differs)."""
        a, b = self.local(start), self.local(end)
        tail = f"{b:%H:%M}" if a.date() == b.date() else self.when(end)
        return f"{self.when(start)}–{tail}"

    def label(self, s: Session, ordinal: int | None = None) -> str:
        """ "dose 3", "maintenance dose 2", "evaluation", "integration session" …"""
        if s.kind == "dose":
            n = s.sequence if s.sequence is not None else ordinal
            prefix = "maintenance dose" if s.phase == "maintenance" else "dose"
            return f"{prefix} {n}" if n is not None else prefix
        return {
            "evaluation": "evaluation",
            "preparation": "preparation session",
            "integration": "integration session",
            "follow_up": "follow-up visit",
        }.get(s.kind, s.kind)


def day_label(d: date) -> str:
    """ "Tue 3 Mar 2026" (a date alone names its year)."""
    return f"{d:%a} {d.day} {d:%b} {d.year}"


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"
