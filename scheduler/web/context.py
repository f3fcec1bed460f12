"""Small helpers shared by the page blueprints: the clinic being looked at, dates from the query
string, and turning a service error into a message next to the form field it names."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import request, session
from sqlalchemy import select

from scheduler.db import db_session
from scheduler.errors import AppError, NotFound, ValidationError
from scheduler.limits import INT_MAX, within_bounds
from scheduler.models import Clinic
from scheduler.services import scope


def clinics() -> list[Clinic]:
    return list(
        db_session.scalars(select(Clinic).where(scope.clinic_clause(Clinic.id)).order_by(Clinic.name, Clinic.id))
    )


def current_clinic() -> Clinic | None:
    """``?clinic_id=`` (remembered in the session), else the last one chosen, else the first clinic."""
    wanted = request.args.get("clinic_id", type=int) or session.get("clinic_id")
    clinic = db_session.get(Clinic, wanted) if isinstance(wanted, int) and 0 < wanted <= INT_MAX else None
    if clinic is not None and not scope.may_see_clinic(clinic.id):
        if request.args.get("clinic_id"):  # asked for by id: as if it did not exist
            raise NotFound(f"No clinic with id {clinic.id}.", field="clinic_id")
        clinic = None  # remembered from before the user's clinics changed
    if clinic is None:
        clinic = db_session.scalars(
            select(Clinic).where(scope.clinic_clause(Clinic.id)).order_by(Clinic.id).limit(1)
        ).first()
    if clinic is not None and session.get("clinic_id") != clinic.id:
        session["clinic_id"] = clinic.id
    return clinic


def today(tz: str) -> date:
    return datetime.now(ZoneInfo(tz)).date()


def date_arg(name: str, default: date) -> tuple[date, str | None]:
    """A ``YYYY-MM-DD`` query argument; a bad value falls back to ``default`` with a message."""
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return default, None
    try:
        return within_bounds(date.fromisoformat(raw), name), None
    except ValueError:
        return default, f"{raw!r} is not a date (YYYY-MM-DD); showing {default.isoformat()} instead."
    except ValidationError as exc:
        return default, f"{exc.message} Showing {default.isoformat()} instead."


def errors_from(
    exc: AppError, fields: set[str] | frozenset[str] = frozenset(), aliases: dict[str, str] | None = None
) -> dict[str, str]:
    """``{field: message}`` for a field the form shows, else ``{"_form": message}``."""
    name = (aliases or {}).get(exc.field or "", exc.field)
    if name and name in fields:
        return {name: exc.message}
    return {"_form": exc.message}
