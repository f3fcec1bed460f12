"""UTCDateTime's one-parse read of SQLite's stored text gives what the general way gives."""

from __future__ import annotations

from datetime import UTC

import pytest
from sqlalchemy.dialects import sqlite
from sqlalchemy.types import TypeDecorator

from scheduler.models.base import UTCDateTime

DIALECT = sqlite.dialect()
IMPL = UTCDateTime().dialect_impl(DIALECT)
FAST = IMPL.result_processor(DIALECT, None)
GENERAL = TypeDecorator.result_processor(IMPL, DIALECT, None)  # SQLite's DATETIME parse, then process_result_value


@pytest.mark.parametrize(
    "text",
    [
        "2026-12-21 05:00:00.000000",  # what SQLAlchemy stores
        "2026-03-08 07:30:00.123456",
        "0001-01-01 00:00:00.000000",
        "9999-12-31 23:59:59.999999",
        "2026-12-21 05:00:00",  # other shapes: the general way
        "2026-12-21",
        "2026-12-21T05:00:00+02:00",
        "2026-12-21 05:00:00.000000Z",
        None,
    ],
)
def test_the_same_instant_with_the_same_zone(text):
    fast, general = FAST(text), GENERAL(text)
    assert repr(fast) == repr(general)
    assert fast is None or (fast == general and fast.tzinfo is UTC)


@pytest.mark.parametrize("text", ["nonsense", "2026-13-21 05:00:00.000000", "2026-12-21 05:00:00.00000x"])
def test_what_the_general_way_refuses_is_refused(text):
    with pytest.raises(ValueError):
        GENERAL(text)
    with pytest.raises(ValueError):
        FAST(text)
