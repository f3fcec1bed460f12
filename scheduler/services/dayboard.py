"""The day board: one clinic day — hours, closures, each room's sessions with their flags, and the
idle chair stretches (``idle_chair_time`` flags) the front desk could fill."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from scheduler.db import db_session
from scheduler.domain import calendar
from scheduler.domain.intervals import Interval
from scheduler.domain.values import Closure
from scheduler.models import Room, TreatmentSession
from scheduler.services import flags as flag_service
from scheduler.services import inputs
from scheduler.services.windows import overlapping

TS = TreatmentSession


@dataclass
class RoomDay:
    room: Room
    sessions: list[TreatmentSession] = field(default_factory=list)
    idle: list = field(default_factory=list)  # idle_chair_time flags


@dataclass
class DayBoard:
    clinic: object  # models.Clinic
    day: date
    hours: list[Interval]
    closures: list[tuple[Interval, Closure]]
    open: list[Interval]
    rooms: list[RoomDay]
    flags_by_session: dict[int, list]
    other_flags: list  # flags of the day that name no session


def day_board(clinic_id: int, day: date) -> DayBoard:
    clinic = inputs.clinic_row(clinic_id)
    window = inputs.local_range(clinic, day, day)
    value = inputs.clinic_value(clinic_id, window)
    rows = db_session.scalars(
        select(TS)
        .where(
            TS.clinic_id == clinic_id,
            overlapping(TS.starts_at, TS.ends_at, window.start, window.end),
        )
        .options(selectinload(TS.patient))
        .order_by(TS.starts_at, TS.id)
    ).all()
    flags = flag_service.for_clinic(clinic_id, day, day, course_gaps=False)
    by_session: dict[int, list] = {}
    other: list = []
    idle: dict[int, list] = {}
    for f in flags:
        if f.code == "idle_chair_time" and f.room_id is not None:
            idle.setdefault(f.room_id, []).append(f)
        elif f.session_ids:
            for sid in f.session_ids:
                by_session.setdefault(sid, []).append(f)
        else:
            other.append(f)
    rooms = db_session.scalars(select(Room).where(Room.clinic_id == clinic_id).order_by(Room.name, Room.id))
    by_room: dict[int, list[TreatmentSession]] = {}
    for s in rows:  # grouped once, in start order: linear in rooms and sessions
        by_room.setdefault(s.room_id, []).append(s)
    board_rooms = [RoomDay(room=r, sessions=by_room.get(r.id, []), idle=idle.get(r.id, [])) for r in rooms]
    return DayBoard(
        clinic=clinic,
        day=day,
        hours=calendar.hours_intervals(value, day),
        closures=calendar.closure_intervals(value, day),
        open=calendar.open_intervals(value, day),
        rooms=board_rooms,
        flags_by_session=by_session,
        other_flags=other,
    )
