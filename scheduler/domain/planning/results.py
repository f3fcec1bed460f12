"""What the planner returns: proposed sessions, the problems of a plan, slots, and its one error."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from scheduler.domain.intervals import Interval
from scheduler.domain.rules.codes import CODES, severity_of
from scheduler.domain.values import Session


class PlanningError(ValueError):
    """The planner cannot propose a session at all (e.g. the clinic has no rooms)."""

    def __init__(self, code: str, message: str):
        self.code = code
        self.message = message
        super().__init__(message)


@dataclass(frozen=True)
class ProposedSession:
    kind: str
    phase: str | None
    sequence: int
    route: str | None
    starts_at: datetime
    ends_at: datetime
    room_id: int | None
    staff_member_id: int | None
    label: str

    @property
    def interval(self) -> Interval:
        return Interval(self.starts_at, self.ends_at)

    def as_session(
        self, *, id: int | None, patient_id: int, clinic_id: int | None, course_id: int | None, status: str = "booked"
    ) -> Session:
        """The proposal as the session booking it would make (what the rule book judges)."""
        return Session(
            id=id,
            patient_id=patient_id,
            starts_at=self.starts_at,
            ends_at=self.ends_at,
            room_id=self.room_id,
            kind=self.kind,
            status=status,
            clinic_id=clinic_id,
            course_id=course_id,
            phase=self.phase,
            sequence=self.sequence,
            route=self.route,
            staff_member_id=self.staff_member_id,
        )

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "phase": self.phase,
            "sequence": self.sequence,
            "route": self.route,
            "starts_at": self.starts_at.isoformat(),
            "ends_at": self.ends_at.isoformat(),
            "room_id": self.room_id,
            "staff_member_id": self.staff_member_id,
            "label": self.label,
        }


@dataclass(frozen=True)
class Problem:
    """Something the plan breaks. ``sessions``: indexes into ``Plan.sessions``. ``severity`` is always
    the code's one severity in the rule book (:func:`scheduler.domain.rules.codes.severity_of`),
    whatever the caller passes; every code must be in that table (a test reads the sources)."""

    code: str
    message: str
    sessions: tuple[int, ...] = ()
    severity: str = ""

    def __post_init__(self) -> None:
        if self.code in CODES:
            object.__setattr__(self, "severity", severity_of(self.code))
        elif not self.severity:  # (a code not in the table yet: tests/unit/test_rule_codes.py says so)
            object.__setattr__(self, "severity", "error")

    def to_dict(self) -> dict:
        return {"code": self.code, "message": self.message, "sessions": list(self.sessions), "severity": self.severity}


@dataclass(frozen=True)
class Plan:
    protocol_key: str
    sessions: tuple[ProposedSession, ...]
    problems: tuple[Problem, ...] = ()

    @property
    def codes(self) -> set[str]:
        return {p.code for p in self.problems}

    def of_kind(self, kind: str) -> list[ProposedSession]:
        return [s for s in self.sessions if s.kind == kind]


@dataclass(frozen=True)
class Slot:
    starts_at: datetime
    ends_at: datetime
    room_id: int | None
    staff_member_id: int | None
    relaxed: frozenset[str] = frozenset()  # "preferences", "window", "guidance", "room", "staff"

    def as_session(
        self,
        *,
        patient_id: int,
        kind: str,
        clinic_id: int | None,
        course_id: int | None = None,
        id: int | None = None,
        status: str = "booked",
    ) -> Session:
        """The slot taken by a session of ``kind`` for the patient (its time, room and clinician)."""
        return Session(
            id=id,
            patient_id=patient_id,
            starts_at=self.starts_at,
            ends_at=self.ends_at,
            room_id=self.room_id,
            kind=kind,
            status=status,
            clinic_id=clinic_id,
            course_id=course_id,
            staff_member_id=self.staff_member_id,
        )
