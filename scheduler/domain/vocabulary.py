"""The clinic's words as closed sets of values (README "Glossary"), shared by models, API and rules."""

from __future__ import annotations

from datetime import timedelta

CAPABILITIES = ("iv", "im", "lozenge", "nasal", "tms", "therapy", "consult")
STAFF_ROLES = ("prescriber", "nurse", "therapist")
USER_ROLES = ("admin", "front_desk", "clinician")

SESSION_KINDS = ("evaluation", "preparation", "dose", "integration", "follow_up")
PHASES = ("induction", "maintenance")
ROUTES = ("iv", "im", "lozenge", "nasal", "tms")
SESSION_STATUSES = ("proposed", "booked", "checked_in", "completed", "cancelled", "no_show")
# Statuses that hold a room, a patient and a clinician. A cancelled session or a no-show frees
# the slot (a waiting patient may take the chair), but its row is kept.
LIVE_STATUSES = ("proposed", "booked", "checked_in", "completed")
DEAD_STATUSES = ("cancelled", "no_show")

COURSE_STATUSES = ("planned", "active", "maintenance", "completed", "stopped")

# rating scale -> (min, max) of its score; bands and response in domain/instruments.py
RATING_SCALES: dict[str, tuple[int, int]] = {
    "Y-BOCS": (0, 40),
    "PHQ-9": (0, 27),
    "GAD-7": (0, 21),
    "PCL-5": (0, 80),
    "MADRS": (0, 60),
}
# measurements recorded like a score but not a symptom scale: no bands, no response or remission.
# motor_threshold: the TMS resting motor threshold, in percent of the machine's maximum output.
MEASUREMENTS: dict[str, tuple[int, int]] = {
    "motor_threshold": (1, 100),
}
# everything an assessment may record (the models, the API and the pages validate against it)
INSTRUMENTS: dict[str, tuple[int, int]] = {**RATING_SCALES, **MEASUREMENTS}

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

# No session may last longer than this. It also bounds overlap queries so that the
# (resource, starts_at) B-tree index is used: a session overlapping [s, e) starts in [s - MAX, e).
MAX_SESSION_DURATION = timedelta(hours=12)

# The one set of date bounds of every endpoint and page: dates and instants outside are typing
# mistakes (year 0001, 9999) and would overflow day arithmetic or the database's types. Wide enough
# for dates of birth.
FIRST_YEAR, LAST_YEAR = 1900, 2200
