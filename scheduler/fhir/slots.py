"""``GET /fhir/Slot?schedule=room/<id>|practitioner/<id>&start=&end=`` → free Slots.

Free time = the clinic's opening hours minus closures (domain.calendar.open_intervals), for a
clinician also their working hours minus time off (staff_available_intervals), minus the live
sessions holding the room (or, for a clinician, the times they already monitor as many sessions as
their capacity). Interval arithmetic is domain.intervals' (merge/subtract); no overlap test here.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

from flask import request

from scheduler.api import parsing as p
from scheduler.api.serialize import instant
from scheduler.auth import require
from scheduler.db import db_session
from scheduler.domain import calendar
from scheduler.domain.intervals import Interval, merge, subtract
from scheduler.domain.timezones import local_date
from scheduler.errors import NotFound, ValidationError
from scheduler.fhir import base_url, bp, fhir_response
from scheduler.models import Room, StaffMember
from scheduler.services import inputs

MAX_RANGE = timedelta(days=31)


def intersect(a: list[Interval], b: list[Interval]) -> list[Interval]:
    return subtract(a, subtract(a, b))


def saturated(intervals: list[Interval], capacity: int) -> list[Interval]:
    """Where at least ``capacity`` of ``intervals`` run at once (a sweep over their ends)."""
    events = sorted([(iv.start, 1) for iv in intervals] + [(iv.end, -1) for iv in intervals],
                    key=lambda e: (e[0], e[1]))
    out, running, since = [], 0, None
    for moment, step in events:
        running += step
        if running >= capacity and since is None:
            since = moment
        elif running < capacity and since is not None:
            if since < moment:
                out.append(Interval(since, moment))
            since = None
    return merge(out)


def _schedule() -> tuple[str, int]:
    raw = (request.args.get("schedule") or "").strip()
    kind, _, ident = raw.removeprefix("Schedule/").partition("/")
    if kind not in ("room", "practitioner") or not ident.isdigit() or len(ident) > 9:
        raise ValidationError("schedule must be room/<id> or practitioner/<id>.", field="schedule")
    return kind, int(ident)


def _bound(name: str, tz: str, *, end: bool) -> datetime:
    raw = request.args.get(name)
    if not raw:
        raise ValidationError(f"{name} is required (a date YYYY-MM-DD or an instant with offset).", field=name)
    if len(raw) == 10:
        d = p.parse_date(raw, name)
        return inputs.local_range(_Zone(tz), d, d)[1 if end else 0]
    return p.parse_instant(raw, name)


class _Zone:
    def __init__(self, timezone: str):
        self.timezone = timezone


def free_intervals(kind: str, ident: int, window: Interval) -> tuple[list[Interval], str]:
    model = Room if kind == "room" else StaffMember
    row = db_session.get(model, ident)
    if row is None:
        raise NotFound(f"No {'room' if kind == 'room' else 'staff member'} with id {ident}.", field="schedule")
    clinic = inputs.clinic_value(row.clinic_id, window)
    days = list(_days(window, clinic.timezone))
    if kind == "room":
        if not row.active:
            return [], clinic.timezone
        sessions = inputs.resource_sessions(window, room_ids=[ident])
        free = [iv for d in days for iv in calendar.room_free_intervals(ident, clinic, d, sessions)]
    else:
        member = next(m for m in inputs.staff(row.clinic_id, window) if m.id == ident)
        sessions = inputs.resource_sessions(window, staff_ids=[ident])
        mine = [s.interval for s in sessions if s.live and s.staff_member_id == ident]
        free = []
        for d in days:
            free += intersect(calendar.staff_available_intervals(member, clinic, d),
                              calendar.open_intervals(clinic, d))
        free = subtract(free, saturated(mine, member.capacity))
    return intersect(merge(free), [window]), clinic.timezone


def _days(window: Interval, tz: str):
    d: date = local_date(window.start, tz) - timedelta(days=1)
    last = local_date(window.end, tz)
    while d <= last:
        yield d
        d += timedelta(days=1)


@bp.get("/Slot")
@require("read_schedule")
def search_slots():
    kind, ident = _schedule()
    model = Room if kind == "room" else StaffMember
    row = db_session.get(model, ident)
    if row is None:
        raise NotFound(f"No {'room' if kind == 'room' else 'staff member'} with id {ident}.", field="schedule")
    tz = inputs.clinic_row(row.clinic_id).timezone
    window = Interval(_bound("start", tz, end=False), _bound("end", tz, end=True))
    if not window.start < window.end:
        raise ValidationError("end must be after start.", field="end")
    if window.end - window.start > MAX_RANGE:
        raise ValidationError("The range may span at most 31 days.", field="end")
    free, tz = free_intervals(kind, ident, window)
    schedule = f"Schedule/{kind}-{ident}"
    base = base_url()
    entries = []
    for iv in free:
        slot_id = f"{kind}-{ident}-{int(iv.start.timestamp())}"
        entries.append({"fullUrl": f"{base}/Slot/{slot_id}", "search": {"mode": "match"},
                        "resource": {"resourceType": "Slot", "id": slot_id, "schedule": {"reference": schedule},
                                     "status": "free", "start": instant(iv.start, tz), "end": instant(iv.end, tz)}})
    return fhir_response({"resourceType": "Bundle", "type": "searchset", "total": len(entries),
                          "link": [{"relation": "self", "url": request.url}], "entry": entries})
