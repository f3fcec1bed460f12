"""Moved to tests.support.builders (``build_clinic`` is ``equipped_clinic``, ``patient`` is
``patient_id``; kept for tests written against the old names)."""

from tests.support.builders import ENGINE_HOURS as HOURS  # noqa: F401
from tests.support.builders import NEW_YORK as NY  # noqa: F401
from tests.support.builders import ROOMS, STAFF, count, future_monday  # noqa: F401
from tests.support.builders import EquippedClinic as TestClinic  # noqa: F401
from tests.support.builders import equipped_clinic as build_clinic  # noqa: F401
from tests.support.builders import patient_id as patient  # noqa: F401
