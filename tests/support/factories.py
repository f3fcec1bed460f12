"""Moved to tests.support.builders (kept for tests written against the old name)."""

from tests.support.builders import WEEKDAY_HOURS, clinic, patient, room, staff  # noqa: F401
