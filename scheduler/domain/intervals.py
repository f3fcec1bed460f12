"""Half-open intervals ``[start, end)``: the one overlap predicate of the product.

Its SQL mirror is ``scheduler.services.windows.overlapping`` (every query for rows overlapping a window
uses it); keep the two in step (tests/integration/test_windows.py holds them to the same edge table).
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple, TypeVar

T = TypeVar("T", datetime, int, float)


def overlaps(a_start: T, a_end: T, b_start: T, b_end: T) -> bool:
    """True when [a_start, a_end) and [b_start, b_end) share at least one instant.

    Touching intervals (one ends exactly when the other starts) do not overlap.
    """
    return a_start < b_end and b_start < a_end


class Interval(NamedTuple):
    start: datetime
    end: datetime

    def overlaps(self, other: Interval) -> bool:
        return overlaps(self.start, self.end, other.start, other.end)

    def contains(self, other: Interval) -> bool:
        return self.start <= other.start and other.end <= self.end

    @property
    def duration(self):
        return self.end - self.start


def merge(intervals: list[Interval]) -> list[Interval]:
    """Union of intervals, sorted; touching intervals are joined."""
    out: list[Interval] = []
    for iv in sorted(intervals):
        if out and iv.start <= out[-1].end:
            if iv.end > out[-1].end:
                out[-1] = Interval(out[-1].start, iv.end)
        else:
            out.append(iv)
    return out


def subtract(base: list[Interval], holes: list[Interval]) -> list[Interval]:
    """``base`` minus every interval of ``holes`` (both taken as unions)."""
    result = merge(base)
    for hole in merge(holes):
        nxt: list[Interval] = []
        for iv in result:
            if not iv.overlaps(hole):
                nxt.append(iv)
                continue
            if iv.start < hole.start:
                nxt.append(Interval(iv.start, hole.start))
            if hole.end < iv.end:
                nxt.append(Interval(hole.end, iv.end))
        result = nxt
    return result
