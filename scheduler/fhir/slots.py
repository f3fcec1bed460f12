"""Slots of a Schedule: ``GET /fhir/Slot?schedule=Schedule/room-<id>&start=ge...&start=lt...``.

``free`` Slots are the room's or clinician's free time (services.free_time: opening hours,
closures, working hours, time off, capacity, live sessions and holds); ``busy-tentative`` Slots
are the live holds placed by $hold. A free Slot's id encodes its schedule and interval
(``room-3-<start epoch>-<end epoch>``), so ``Slot/<id>`` reads it back while it is still free.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from scheduler.api.serialize import instant
from scheduler.auth import require
from scheduler.db import db_session
from scheduler.domain.intervals import Interval
from scheduler.errors import NotFound, ValidationError
from scheduler.fhir import base_url, bp, fhir_response
from scheduler.fhir import search as s
from scheduler.fhir.appointments import service_type
from scheduler.fhir.schedules import owner, split
from scheduler.fhir.search import Param
from scheduler.models import AppointmentHold, Clinic, utcnow
from scheduler.services import free_time, holds, scope

MAX_RANGE = timedelta(days=31)
DEFAULT_RANGE = timedelta(days=7)
SLOT_STATUSES = ("free", "busy-tentative")

s.searchable(
    "Slot",
    [
        Param(
            "schedule",
            "reference",
            "Required: Schedule/room-<id> or Schedule/practitioner-<id>",
            "http://hl7.org/fhir/SearchParameter/Slot-schedule",
        ),
        Param(
            "start",
            "date",
            "Slot start: ge/gt and lt/le bound the window (default: now, for 7 days; 31 days at "
            "most); dates in the clinic's zone",
            "http://hl7.org/fhir/SearchParameter/Slot-start",
        ),
        Param(
            "status",
            "token",
            "free or busy-tentative (held); default both",
            "http://hl7.org/fhir/SearchParameter/Slot-status",
        ),
    ],
)


def free_slot(kind: str, ident: int, iv: Interval, tz: str) -> dict:
    slot_id = f"{kind}-{ident}-{int(iv.start.timestamp())}-{int(iv.end.timestamp())}"
    return {
        "resourceType": "Slot",
        "id": slot_id,
        "schedule": {"reference": f"Schedule/{kind}-{ident}"},
        "status": "free",
        "start": instant(iv.start, tz),
        "end": instant(iv.end, tz),
    }


def held_slot(row: AppointmentHold, kind: str, ident: int, tz: str) -> dict:
    return {
        "resourceType": "Slot",
        "id": f"hold-{row.id}-{kind}",
        "schedule": {"reference": f"Schedule/{kind}-{ident}"},
        "serviceType": service_type(row.kind),
        "status": "busy-tentative",
        "start": instant(row.starts_at, tz),
        "end": instant(row.ends_at, tz),
        "comment": f"Held until {instant(row.expires_at, tz)} (Appointment/hold-{row.id})",
    }


def _window(query: s.Query, tz: str) -> Interval:
    lower, upper = None, None
    for test in s.date_tests(query, "start"):
        lo, hi = test.bounds(tz)
        low, high = {"ge": (lo, None), "gt": (hi, None), "lt": (None, lo), "le": (None, hi), "eq": (lo, hi)}.get(
            test.prefix, (None, None)
        )
        if test.prefix == "ne":
            raise ValidationError("start: the ne prefix is not supported for Slot.", field="start")
        lower = max(lower, low) if lower and low else (lower or low)
        upper = min(upper, high) if upper and high else (upper or high)
    lower = lower or (upper - DEFAULT_RANGE if upper else utcnow().replace(microsecond=0))
    upper = upper or lower + DEFAULT_RANGE
    if not lower < upper:
        raise ValidationError("start: the window is empty (its end is not after its beginning).", field="start")
    if upper - lower > MAX_RANGE:
        raise ValidationError("start: the window may span at most 31 days.", field="start")
    return Interval(lower, upper)


def _held(kind: str, ident: int, window: Interval) -> list[AppointmentHold]:
    if kind == "room":
        return holds.live(window.start, window.end, room_ids=[ident])
    return holds.live(window.start, window.end, staff_ids=[ident])


@bp.get("/Slot")
@require("read_schedule")
def search_slots():
    query = s.parse("Slot")
    raw = query.one("schedule")
    if raw is None:
        raise ValidationError(
            "schedule is required: Schedule/room-<id> or Schedule/practitioner-<id>.", field="schedule"
        )
    kind, ident = split(raw.rsplit("/fhir/", 1)[-1])
    row = owner(kind, ident)
    tz = db_session.get_one(Clinic, row.clinic_id).timezone
    window = _window(query, tz)
    wanted = set(SLOT_STATUSES)
    for raw_status in query.values.get("status", []):
        wanted &= set(s.tokens(raw_status, "status", {v: v for v in SLOT_STATUSES}))
    held = _held(kind, ident, window)
    resources = []
    if "free" in wanted:
        free = free_time.free_intervals(kind, ident, window, [Interval(h.starts_at, h.ends_at) for h in held])
        resources += [free_slot(kind, ident, iv, tz) for iv in free]
    if "busy-tentative" in wanted:
        resources += [held_slot(h, kind, ident, tz) for h in held]
    resources.sort(key=lambda r: (datetime.fromisoformat(r["start"]), r["id"]))
    page = resources[query.offset : query.offset + query.count]
    base = base_url()
    return fhir_response(
        s.bundle(query, len(resources), [{"fullUrl": f"{base}/Slot/{r['id']}", "resource": r} for r in page])
    )


@bp.get("/Slot/<ident>")
@require("read_schedule")
def read_slot(ident: str):
    held = re.fullmatch(r"hold-(\d{1,9})-(room|practitioner)", ident)
    if held:
        row = db_session.get(AppointmentHold, int(held[1]))
        if row is None or not row.live(utcnow()) or not scope.may_see_clinic(row.clinic_id):
            raise NotFound(f"No slot with id {ident} (the hold is over).")
        kind = held[2]
        number = row.room_id if kind == "room" else row.staff_member_id
        if number is None:
            raise NotFound(f"No slot with id {ident}.")
        return fhir_response(held_slot(row, kind, number, db_session.get_one(Clinic, row.clinic_id).timezone))
    m = re.fullmatch(r"(room|practitioner)-(\d{1,9})-(\d{1,11})-(\d{1,11})", ident)
    if m is None:
        raise NotFound(f"No slot with id {ident}.")
    kind, number = m[1], int(m[2])
    window = Interval(datetime.fromtimestamp(int(m[3]), UTC), datetime.fromtimestamp(int(m[4]), UTC))
    if not window.start < window.end or window.end - window.start > MAX_RANGE:
        raise NotFound(f"No slot with id {ident}.")
    row = owner(kind, number)
    free = free_time.free_intervals(
        kind, number, window, [Interval(h.starts_at, h.ends_at) for h in _held(kind, number, window)]
    )
    if free != [window]:
        raise NotFound(f"Slot {ident} is no longer free.")
    return fhir_response(free_slot(kind, number, window, db_session.get_one(Clinic, row.clinic_id).timezone))
