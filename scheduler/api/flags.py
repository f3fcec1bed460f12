"""The clinic's flags over a range: ``GET /flags?clinic_id=&start=&end=&severity=&code=``."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from flask import request

from scheduler import access
from scheduler.api import bp, serialize
from scheduler.api import parsing as p
from scheduler.auth import require
from scheduler.domain.flags import ALL_CODES, SEVERITIES
from scheduler.domain.intervals import Interval
from scheduler.domain.timezones import local_date, zone
from scheduler.errors import UnprocessableError, ValidationError
from scheduler.services import flags as service
from scheduler.services import inputs

DEFAULT_DAYS = 28
MAX_DAYS = 93


plausible = p.within_bounds  # the one set of date bounds (parsing.within_bounds)


def today_at(tz: str) -> date:
    return datetime.now(zone(tz)).date()


def query_window(clinic, *, default_days: int = DEFAULT_DAYS, max_days: int = MAX_DAYS) -> Interval:
    """``start``/``end`` query parameters: local dates YYYY-MM-DD (``end`` inclusive) or ISO instants
    with offset (``end`` exclusive). Default: today and the following ``default_days - 1`` days."""

    def bound(name: str, is_end: bool) -> datetime | None:
        raw = request.args.get(name)
        if raw is None or raw == "":
            return None
        if len(raw) == 10:
            d = plausible(p.parse_date(raw, name), name)
            day = inputs.local_range(clinic, d, d)
            return day.end if is_end else day.start
        return plausible(p.parse_instant(raw, name), name)

    start, end = bound("start", False), bound("end", True)
    if start is None:
        first = (
            today_at(clinic.timezone)
            if end is None
            else local_date(end, clinic.timezone) - timedelta(days=default_days - 1)
        )
        start = inputs.local_range(clinic, first, first).start
    if end is None:
        last = local_date(start, clinic.timezone) + timedelta(days=default_days - 1)
        end = inputs.local_range(clinic, last, last).end
    if end <= start:
        raise UnprocessableError("end must be after start.", field="end")
    if end - start > timedelta(days=max_days + 1):
        raise UnprocessableError(f"The range may cover at most {max_days} days.", field="end")
    return Interval(start, end)


def local_days(clinic, window: Interval) -> tuple[date, date]:
    return (
        local_date(window.start, clinic.timezone),
        local_date(window.end - timedelta(microseconds=1), clinic.timezone),
    )


@bp.get("/flags")
@access.logged
@require("read_schedule")
def list_flags():
    clinic = inputs.clinic_row(p.query_int("clinic_id", required=True))
    first, last = local_days(clinic, query_window(clinic))
    severity = request.args.get("severity") or None
    if severity is not None and severity not in SEVERITIES:
        raise ValidationError(f"severity must be one of: {', '.join(SEVERITIES)}.", field="severity")
    codes = {c for c in (request.args.get("code") or "").split(",") if c}
    unknown = sorted(codes - ALL_CODES)
    if unknown:
        raise ValidationError(f"Unknown flag code {unknown[0]!r}.", field="code")
    found = [
        f
        for f in service.for_clinic(clinic.id, first, last)
        if (severity is None or f.severity == severity) and (not codes or f.code in codes)
    ]
    access.log_read("flags", *(f.patient_id for f in found if f.patient_id))
    return {
        "clinic_id": clinic.id,
        "start": first.isoformat(),
        "end": last.isoformat(),
        "flags": [serialize.flag(f) for f in found],
    }
