"""The SQL window helper (``services.windows.overlapping``) and the domain's ``intervals.overlaps`` agree
on the same edge table, on both databases: half-open ``[start, end)``, touching is not overlapping."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import select

from scheduler.db import db_session
from scheduler.domain.intervals import overlaps
from scheduler.models import TreatmentSession as TS
from scheduler.services.windows import overlapping
from tests.support.builders import NY, small_clinic

DAY = date(2030, 1, 7)
ROW = (time(10), time(11))  # the session: [10:00, 11:00) New York time


def _at(hh: int, mm: int = 0) -> datetime:
    return datetime.combine(DAY, time(hh, mm), tzinfo=NY)


# name -> the window [start, end), and whether it overlaps the session (what intervals.overlaps says)
EDGES = {
    "touching_before": ((9, 0), (10, 0), False),
    "touching_after": ((11, 0), (12, 0), False),
    "far_before": ((7, 0), (8, 0), False),
    "far_after": ((13, 0), (14, 0), False),
    "window_contains_session": ((9, 0), (12, 0), True),
    "session_contains_window": ((10, 15), (10, 45), True),
    "same": ((10, 0), (11, 0), True),
    "overlaps_the_start": ((9, 30), (10, 30), True),
    "overlaps_the_end": ((10, 30), (11, 30), True),
    "one_minute_in_at_the_start": ((9, 0), (10, 1), True),
    "one_minute_in_at_the_end": ((10, 59), (12, 0), True),
    "empty_at_the_start": ((10, 0), (10, 0), False),
    "empty_at_the_end": ((11, 0), (11, 0), False),
    "empty_inside": ((10, 30), (10, 30), True),
}


def _book_row():
    world = small_clinic(commit=False)
    return world.book(DAY, ROW[0], minutes=60)


def _found(session_id: int, start: datetime, end: datetime, **kw) -> bool:
    query = select(TS.id).where(TS.id == session_id, overlapping(TS.starts_at, TS.ends_at, start, end, **kw))
    return db_session.scalar(query) is not None


@pytest.mark.parametrize("name", list(EDGES))
def test_sql_helper_agrees_with_intervals_overlaps(app, name):
    (sh, sm), (eh, em), expected = EDGES[name]
    start, end = _at(sh, sm), _at(eh, em)
    row = _book_row()
    in_python = overlaps(row.starts_at, row.ends_at, start, end)
    assert in_python is expected
    assert _found(row.id, start, end) is in_python
    assert _found(row.id, start, end, longest=None) is in_python


def test_the_index_bound_is_a_promise_about_the_longest_row(app):
    """``longest`` only narrows: a row longer than it is missed when the window starts past its start
    plus ``longest`` (so it must be the table's real maximum), and found without the bound."""
    row = _book_row()
    start, end = _at(10, 45), _at(11, 0)
    assert overlaps(row.starts_at, row.ends_at, start, end)
    assert _found(row.id, start, end, longest=None)
    assert _found(row.id, start, end, longest=timedelta(minutes=45))
    assert not _found(row.id, start, end, longest=timedelta(minutes=30))
