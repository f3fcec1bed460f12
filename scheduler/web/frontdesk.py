"""The front desk's pages: day board and week, patients, planning a course, a session and its
actions, the flags worklist and open chair time. Routes live in modules that register on ``bp``."""

from __future__ import annotations

from flask import Blueprint

from scheduler.web import security

bp = Blueprint("frontdesk", __name__)
security.protect(bp)

# Importing the modules registers their routes on ``bp``.
from scheduler.web import board, booking_pages, patients, session_pages, waitlist_pages  # noqa: E402,F401
