"""The SQL mirror of ``scheduler.domain.intervals.overlaps`` (half-open ``[start, end)``): the one place
a query asks which rows of an interval table overlap a window.

``overlaps(a_start, a_end, b_start, b_end)`` is ``a_start < b_end and b_start < a_end``; here ``a`` is
the row (``starts_col``, ``ends_col``) and ``b`` the window. Touching intervals do not overlap.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam

from scheduler.domain.vocabulary import MAX_SESSION_DURATION


def overlapping(
    starts_col: Any, ends_col: Any, start: datetime, end: datetime, *, longest: timedelta | None = MAX_SESSION_DURATION
) -> ColumnElement[bool]:
    """Rows whose ``[starts_col, ends_col)`` overlaps ``[start, end)``.

    ``longest``: no row lasts longer (a session, a hold: ``MAX_SESSION_DURATION``, the default), so
    ``starts_col`` is bounded below too and a ``(…, starts_at)`` B-tree index serves the query instead
    of a scan; ``None`` for rows of any length (no index bound)."""
    clauses = [starts_col < end, ends_col > start]
    if longest is not None:
        clauses.append(starts_col >= start - longest)  # index bound: implied by the two above
    return and_(*clauses)


def overlapping_bound(starts_col: Any, ends_col: Any, prefix: str) -> ColumnElement[bool]:
    """``overlapping`` (with the index bound of ``MAX_SESSION_DURATION``) over bound parameters
    ``<prefix>_start``, ``<prefix>_end`` and ``<prefix>_low``, whose values ``window_params`` gives: for
    a statement built once and run with new values (no expression to build, its cache key memoized)."""
    return and_(
        starts_col < bindparam(f"{prefix}_end"),
        ends_col > bindparam(f"{prefix}_start"),
        starts_col >= bindparam(f"{prefix}_low"),
    )


def window_params(prefix: str, start: datetime, end: datetime) -> dict[str, datetime]:
    """The values of ``overlapping_bound``'s parameters for the window ``[start, end)``."""
    return {f"{prefix}_start": start, f"{prefix}_end": end, f"{prefix}_low": start - MAX_SESSION_DURATION}
