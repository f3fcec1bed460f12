from __future__ import annotations

from flask import current_app
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as SATimeoutError

from scheduler.api import bp
from scheduler.db import db_session


@bp.get("/health")
def health():
    """Liveness and the kind of database in use (public: never its name, path, host or credentials).
    The database unavailable: 503 ``{"status": "unavailable", "database": kind}`` with Retry-After."""
    try:
        db_session.execute(text("SELECT 1"))
    except (DBAPIError, SATimeoutError):
        db_session.remove()
        retry = str(current_app.config["DATABASE_RETRY_AFTER"])
        return {"status": "unavailable", "database": db_session.get_bind().dialect.name}, 503, {"Retry-After": retry}
    return {
        "status": "ok",
        "database": db_session.get_bind().dialect.name,
        "protocols": sorted(current_app.extensions.get("scheduler.protocols", {})),
    }
