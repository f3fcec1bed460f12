"""The JSON API under /api/v1: one module per resource, all on one blueprint."""
from __future__ import annotations

from flask import Blueprint, Flask, request
from werkzeug.routing import IntegerConverter

from scheduler.auth import authenticate_bearer

bp = Blueprint("api", __name__, url_prefix="/api/v1")

# Routes that answer without a token.
PUBLIC_ENDPOINTS = {"api.health", "api.openapi", "api.feed_ics"}


@bp.before_request
def _authenticate():
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    authenticate_bearer()
    return None


class BoundedInt(IntegerConverter):
    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(url_map, *args, **kwargs)


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
