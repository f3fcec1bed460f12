"""Moved to tests.support.builders (``world.build()`` is ``builders.small_clinic()``; kept for tests
written against the old names)."""

from tests.support.builders import EVERY_DAY, NY, World  # noqa: F401
from tests.support.builders import small_clinic as build  # noqa: F401
