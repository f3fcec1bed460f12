from __future__ import annotations

from flask import current_app
from sqlalchemy import text

from scheduler.api import bp
from scheduler.db import db_session


@bp.get("/health")
def health():
    """Liveness and the database in use (dialect and database name, never credentials)."""
    db_session.execute(text("SELECT 1"))
    url = db_session.get_bind().url
    return {
        "status": "ok",
        "database": {"dialect": url.get_backend_name(), "name": url.database},
        "protocols": sorted(current_app.extensions.get("scheduler.protocols", {})),
    }
