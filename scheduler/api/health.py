from __future__ import annotations

from flask import current_app
from sqlalchemy import text

from scheduler.api import bp
from scheduler.db import db_session


@bp.get("/health")
def health():
    """Liveness and the kind of database in use (public: never its name, path, host or credentials)."""
    db_session.execute(text("SELECT 1"))
    return {
        "status": "ok",
        "database": db_session.get_bind().dialect.name,
        "protocols": sorted(current_app.extensions.get("scheduler.protocols", {})),
    }
