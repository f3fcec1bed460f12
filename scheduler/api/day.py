"""The day board of a clinic: ``GET /clinics/{id}/day?date=YYYY-MM-DD`` (default: today, clinic zone)."""

from __future__ import annotations

from datetime import datetime

from scheduler import access
from scheduler.api import bp, serialize
from scheduler.api import parsing as p
from scheduler.api.flags import plausible
from scheduler.auth import require
from scheduler.domain.timezones import zone
from scheduler.services import dayboard, inputs


def _span(iv, tz: str) -> dict:
    return {"starts_at": serialize.instant(iv.start, tz), "ends_at": serialize.instant(iv.end, tz)}


@bp.get("/clinics/<int:clinic_id>/day")
@access.logged
@require("read_schedule")
def day_board(clinic_id: int):
    clinic = inputs.clinic_row(clinic_id)
    day = p.query_date("date") or datetime.now(zone(clinic.timezone)).date()
    plausible(day, "date")
    board = dayboard.day_board(clinic.id, day)
    access.log_read("schedule", *(s.patient_id for r in board.rooms for s in r.sessions))
    access.log_read("flags", *(f.patient_id for f in board.other_flags if f.patient_id))
    tz = clinic.timezone
    rooms = []
    for r in board.rooms:
        sessions = []
        for s in r.sessions:
            data = serialize.session(s, tz, flags=board.flags_by_session.get(s.id, []))
            data["patient_name"] = s.patient.name
            sessions.append(data)
        rooms.append(
            {
                **serialize.room(r.room),
                "sessions": sessions,
                "idle": [
                    {
                        "starts_at": serialize.instant(f.starts_at, tz),
                        "ends_at": serialize.instant(f.ends_at, tz),
                        "minutes": int((f.ends_at - f.starts_at).total_seconds() // 60),
                        "message": f.message,
                    }
                    for f in r.idle
                ],
            }
        )
    return {
        "clinic": serialize.clinic(clinic, with_closures=False),
        "date": day.isoformat(),
        "hours": [_span(iv, tz) for iv in board.hours],
        "closures": [{**_span(iv, tz), **serialize.closure_value(c)} for iv, c in board.closures],
        "open": [_span(iv, tz) for iv in board.open],
        "rooms": rooms,
        "flags": [serialize.flag(f) for f in board.other_flags],
    }
