"""The flag engine: the rule book (:mod:`scheduler.domain.rules`) run over sessions;
conflicts and gaps computed from plain values, never stored.

Entry points (pure; the services load the values and call them):

* :func:`patient_flags` — everything about one patient (timeline);
* :func:`candidate_flags` — the conflicts one session would create before it is booked or moved;
* :func:`clinic_flags` — a clinic over local dates, with idle chair time per room per day;
* :func:`introduced_flags` — the write gate: the error flags a change (new sessions, moves) would
  introduce; every write and every proposal asks it.

Build a :class:`FlagContext` (clinic, protocols by key, rooms, staff, patients, :class:`CourseFacts`)
once per request and pass it with the sessions (:class:`scheduler.domain.values.Session`).
"""

from scheduler.domain.flags.engine import (
    apply_changes,
    candidate_flags,
    clinic_flags,
    introduced_flags,
    patient_flags,
)
from scheduler.domain.flags.model import (
    ALL_CODES,
    CONFLICT_CODES,
    ERROR,
    GAP_CODES,
    HARD_CONFLICT_CODES,
    INFO,
    SEVERITIES,
    WARNING,
    CourseFacts,
    Flag,
    FlagContext,
    severity_rank,
    worst_severity,
)
from scheduler.domain.rules.chairs import idle_chair_flags
from scheduler.domain.rules.course import course_flags
from scheduler.domain.rules.resources import resource_flags

__all__ = [
    "ALL_CODES",
    "CONFLICT_CODES",
    "ERROR",
    "GAP_CODES",
    "HARD_CONFLICT_CODES",
    "INFO",
    "SEVERITIES",
    "WARNING",
    "CourseFacts",
    "Flag",
    "FlagContext",
    "apply_changes",
    "candidate_flags",
    "introduced_flags",
    "clinic_flags",
    "course_flags",
    "idle_chair_flags",
    "patient_flags",
    "resource_flags",
    "severity_rank",
    "worst_severity",
]
