"""The SQL mirror of ``scheduler.domain.intervals.overlaps`` (half-open ``[start, end)``): the one place
a query asks which rows of an interval table overlap a window.

``overlaps(a_start, a_end, b_start, b_end)`` is ``a_start < b_end and b_start < a_end``; here ``a`` is
the row (``starts_col``, ``ends_col``) and ``b`` the window. Touching intervals do not overlap.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_

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
