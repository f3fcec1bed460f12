"""Rules about a patient's courses as a whole: at most one open dosing course at a time.

Plain values in, plain values out: the services load the patient's courses and ask here before
booking a new one (``course_active``, README "Planning a course").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

# A course counts as open (the patient is being dosed on it) while planned or active. A course in
# maintenance, completed or stopped does not block a new course.
OPEN_COURSE_STATUSES = ("planned", "active")


@dataclass(frozen=True)
class CourseSummary:
    """What the rule needs of a course."""

    id: int
    patient_id: int
    protocol_key: str
    status: str
    start_on: date | None = None

    def to_conflict(self) -> dict:
        return {
            "course_id": self.id,
            "id": self.id,
            "protocol": self.protocol_key,
            "status": self.status,
            "start_on": self.start_on.isoformat() if self.start_on else None,
        }


def is_open(status: str) -> bool:
    return status in OPEN_COURSE_STATUSES


def open_courses(courses: Iterable[CourseSummary], *, except_ids: Iterable[int] = ()) -> list[CourseSummary]:
    """The open courses among ``courses`` (by id), leaving out ``except_ids``."""
    skip = set(except_ids)
    return sorted((c for c in courses if is_open(c.status) and c.id not in skip), key=lambda c: c.id)


def course_active_message(open_: list[CourseSummary], new_protocol: str) -> str:
    """The ``course_active`` refusal's sentence."""
    first = open_[0]
    since = f" starting {first.start_on.isoformat()}" if first.start_on else ""
    return (
        f"The patient already has an open course: course {first.id} ({first.protocol_key}{since}, "
        f"{first.status}). A patient has one open dosing course at a time; give replaces_course_id="
        f"{first.id} to stop it (its future sessions are cancelled) and book the {new_protocol} course "
        "instead, or override_reason to run both."
    )
