"""Moved to tests.support.builders (kept for tests written against the old module; the browser tests
themselves use ``scheduler demo``)."""

from tests.support.builders import PASSWORD, clinic_with_users, email, next_monday  # noqa: F401
from tests.support.builders import USER_ROLES as ROLES  # noqa: F401
