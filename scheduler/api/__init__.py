"""The JSON API under /api/v1: one module per resource, all on one blueprint."""

from __future__ import annotations

from flask import Blueprint, Flask, request
from werkzeug.routing import IntegerConverter

from scheduler.api import with_token
from scheduler.auth import authenticate_bearer

bp = Blueprint("api", __name__, url_prefix="/api/v1")

# Routes that answer without a token.
PUBLIC_ENDPOINTS = {"api.health", "api.openapi", "api.feed_ics"}


@bp.before_request
def _authenticate():
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    # a booking, a course plan: the patient they name read by the token's statement (with_token)
    authenticate_bearer(with_token.lookup_for(request.endpoint))
    return None


class BoundedInt(IntegerConverter):
    """An id in a URL, within the database's integer columns. A larger one still matches its route,
    as id 0 (which no row has), so that every method answers 404 for it: a converter that refused it
    would leave werkzeug to answer 405 where the same path has another method (GET and PATCH)."""

    def to_python(self, value: str) -> int:
        number = super().to_python(value)
        return number if number <= 2**31 - 1 else 0


def init_app(app: Flask) -> None:
    # Importing the modules registers their routes on ``bp``.
    from scheduler.api import (  # noqa: F401  # noqa: F401  # noqa: F401  # noqa: F401
        access_log,
        assessments,
        audit,
        authorizations,
        clinical_notes,
        clinics,
        courses,
        day,
        exports,
        feeds,
        flags,
        health,
        holds,
        imports,
        messages,
        openapi,
        patients,
        protocols,
        rems_forms,
        reports,
        rooms,
        sessions,
        staff,
        timeline,
        users,
        waitlist,
    )

    # Ids in URLs fit the database's integer columns; a larger one is a 404, not a driver error.
    app.url_map.converters["int"] = BoundedInt
    app.register_blueprint(bp)
