"""Presentation geometry only (no rules): where a block sits on the day board, where a date or a
score sits on an SVG axis. Everything is computed from values the services return."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class DayAxis:
    """Local hours across the day board: ``first_hour`` .. ``last_hour`` of ``day`` in ``tz``."""

    day: date
    tz: str
    first_hour: int
    last_hour: int

    @classmethod
    def covering(cls, day: date, tz: str, spans, default=(8, 18), pad: int = 1) -> DayAxis:
        """The whole hours covering every (start, end) instant pair in ``spans`` (default 08–18),
        with ``pad`` hours either side so closed time shows around the opening hours."""
        zone = ZoneInfo(tz)
        first, last = default
        for start, end in spans:
            s, e = start.astimezone(zone), end.astimezone(zone)
            if s.date() == day:
                first = min(first, s.hour)
            else:
                first = 0
            if e.date() == day:
                last = max(last, e.hour + (1 if e.minute or e.second else 0))
            else:
                last = 24
        return cls(day, tz, max(0, first - pad), min(24, max(last, first + 1) + pad))

    @property
    def start(self) -> datetime:
        return datetime.combine(self.day, time(0), ZoneInfo(self.tz)) + timedelta(hours=self.first_hour)

    @property
    def minutes(self) -> int:
        return (self.last_hour - self.first_hour) * 60

    def pct(self, instant: datetime) -> float:
        """Percent across the axis (clamped to 0–100). DST days are drawn on wall-clock time."""
        local = instant.astimezone(ZoneInfo(self.tz))
        if local.date() < self.day:
            return 0.0
        if local.date() > self.day:
            return 100.0
        minutes = local.hour * 60 + local.minute - self.first_hour * 60
        return max(0.0, min(100.0, 100.0 * minutes / self.minutes))

    def box(self, start: datetime, end: datetime) -> dict:
        left = self.pct(start)
        return {"left": round(left, 3), "width": round(max(0.4, self.pct(end) - left), 3)}

    def hours(self) -> list[dict]:
        return [
            {"label": f"{h:02d}:00", "left": round(100.0 * (h - self.first_hour) * 60 / self.minutes, 3)}
            for h in range(self.first_hour, self.last_hour + 1)
        ]


@dataclass(frozen=True)
class DateScale:
    """Dates → x pixels between ``x0`` and ``x1``."""

    first: date
    last: date
    x0: float
    x1: float

    def x(self, d: date | datetime) -> float:
        if isinstance(d, datetime):
            d = d.date()
        span = max(1, (self.last - self.first).days)
        return round(self.x0 + (self.x1 - self.x0) * (d - self.first).days / span, 2)

    def ticks(self, max_ticks: int = 10) -> list[tuple[float, str]]:
        span = max(1, (self.last - self.first).days)
        step = max(1, math.ceil(span / max_ticks))
        if step > 7:
            step = 7 * math.ceil(step / 7)
        out = []
        d = self.first
        while d <= self.last:
            out.append((self.x(d), d.strftime("%d %b")))
            d += timedelta(days=step)
        return out


@dataclass(frozen=True)
class ValueScale:
    """Scores → y pixels (``lo`` at ``y0`` bottom, ``hi`` at ``y1`` top)."""

    lo: float
    hi: float
    y0: float
    y1: float

    def y(self, value: float) -> float:
        span = (self.hi - self.lo) or 1
        return round(self.y0 - (self.y0 - self.y1) * (value - self.lo) / span, 2)
