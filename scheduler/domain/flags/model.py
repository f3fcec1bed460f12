"""The flag values, re-exported from the rule book (:mod:`scheduler.domain.rules`) for the engine's callers."""

from scheduler.domain.rules.codes import (
    ALL_CODES,
    CONFLICT_CODES,
    ERROR,
    GAP_CODES,
    HARD_CONFLICT_CODES,
    INFO,
    SEVERITIES,
    WARNING,
    severity_rank,
    worst_severity,
)
from scheduler.domain.rules.model import CLOSED_COURSE_STATUSES, CourseFacts, Flag, FlagContext, day_label, plural

__all__ = [
    "ALL_CODES",
    "CLOSED_COURSE_STATUSES",
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
    "day_label",
    "plural",
    "severity_rank",
    "worst_severity",
]
