"""Maintenance dosing: when the next dose is due, and a proposed slot near the target.

Month arithmetic uses ``dateutil.relativedelta`` and is month-end safe: a dose on 31 December plus two
months is due on 28 February (29 in a leap year), never 3 March.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from dateutil.relativedelta import relativedelta

from scheduler.domain.protocols import MaintenanceSpec, Protocol


@dataclass(frozen=True)
class DueWindow:
    """The next maintenance dose is due on a local date in ``[earliest, latest]``, ideally ``target``."""

    earliest: date
    target: date
    latest: date

    def contains(self, d: date) -> bool:
        return self.earliest <= d <= self.latest

    def status_on(self, today: date) -> str:
        """``not_due`` before earliest, ``due`` inside the window, ``overdue`` after latest."""
        if today < self.earliest:
            return "not_due"
        return "due" if today <= self.latest else "overdue"

    def to_dict(self) -> dict[str, str]:
        return {
            "earliest": self.earliest.isoformat(),
            "target": self.target.isoformat(),
            "latest": self.latest.isoformat(),
        }


@lru_cache(maxsize=4096)
def add_interval(d: date, amount: int, unit: str) -> date:
    """``d`` plus ``amount`` months or weeks (month-end safe)."""
    if unit == "months":
        return d + relativedelta(months=amount)
    if unit == "weeks":
        return d + relativedelta(weeks=amount)
    raise ValueError(f"unknown maintenance unit {unit!r} (expected months or weeks)")


def due_window(last_dose_on: date, rule: MaintenanceSpec | Protocol) -> DueWindow:
    """The due window of the next maintenance dose after the dose given on ``last_dose_on``.

    ``rule`` is a protocol's :class:`MaintenanceSpec` (or the protocol itself).
    """
    if isinstance(rule, Protocol):
        if rule.maintenance is None:
            raise ValueError(f"protocol {rule.key!r} has no maintenance phase")
        rule = rule.maintenance
    return DueWindow(
        earliest=add_interval(last_dose_on, rule.min, rule.unit),
        target=add_interval(last_dose_on, rule.target, rule.unit),
        latest=add_interval(last_dose_on, rule.max, rule.unit),
    )


def dates_nearest_target(window: DueWindow) -> list[date]:
    """The window's dates ordered by distance from the target (earlier first on ties)."""
    span = (window.latest - window.earliest).days
    days = [window.earliest + timedelta(days=i) for i in range(span + 1)]
    return sorted(days, key=lambda d: (abs((d - window.target).days), d))
