"""The pages' calls into the planning services (course planning; re-planning is
``services.replanning``, slot suggestions ``services.suggestions``).

Kept in one place so the page modules stay thin while the services' names settle."""

from __future__ import annotations

from scheduler.domain.values import Preferences
from scheduler.errors import ValidationError


def plan(actor_id: int, patient, params: dict, *, dry_run: bool, override_reason: str | None = None):
    """Plan (``dry_run``) or book a course: ``services.courses.CourseResult``."""
    from scheduler.services import courses

    try:
        prefs = Preferences(
            weekdays=params["preferences"].get("weekdays"),
            earliest=params["preferences"].get("earliest"),
            latest=params["preferences"].get("latest"),
        )
    except ValueError as exc:
        raise ValidationError(str(exc).capitalize() + ".", field="weekdays") from None
    return courses.plan_and_book(
        actor_id,
        patient.id,
        params["clinic_id"],
        params["protocol"],
        params["start_on"],
        prefs,
        dry_run=dry_run,
        override_reason=override_reason,
        replaces_course_id=params.get("replaces_course_id"),
        stop_reason=params.get("stop_reason"),
    )
