"""idle_chair_time: a room's open time on a clinic day with a free stretch long enough for a dose block."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta

from scheduler.domain.calendar import room_free_intervals
from scheduler.domain.intervals import Interval
from scheduler.domain.rules.model import Flag, FlagContext
from scheduler.domain.timezones import day_bounds_utc, iter_days, local_days_between
from scheduler.domain.values import Room, Session


def _duration_words(d: timedelta) -> str:
    minutes = int(d.total_seconds() // 60)
    h, m = divmod(minutes, 60)
    if h and m:
        return f"{h} h {m} min"
    return f"{h} h" if h else f"{m} min"


def shortest_dose_block(ctx: FlagContext, room: Room) -> tuple[timedelta, str] | None:
    """The shortest dose block (with its protocol key) of any protocol whose dose the room can host."""
    best: tuple[timedelta, str] | None = None
    for key in sorted(ctx.protocols):
        p = ctx.protocols[key]
        specs = [p.dose] + ([p.maintenance.dose] if p.maintenance is not None else [])
        for spec in specs:
            if room.can(spec.capability) and (best is None or spec.duration < best[0]):
                best = (spec.duration, key)
    return best


def idle_chair_flags(
    ctx: FlagContext, first_day: date, last_day: date, live: list[Session], as_of: datetime | None = None
) -> list[Flag]:
    """One info flag per free stretch of each active room (of ``ctx.rooms``) on each local day in
    ``[first_day, last_day]`` that can hold the shortest dose block the room is suitable for. Time
    before ``as_of`` is not offered (it cannot be booked any more)."""
    days = list(iter_days(first_day, last_day))
    wanted = set(days)
    # Each room's live sessions by the local dates they touch: a day's open time (inside its local
    # date) can only be taken by those, so each day reads its own few sessions, not the room's all.
    by_room_day: dict[tuple[int, date], list[Session]] = defaultdict(list)
    start, end = day_bounds_utc(first_day, ctx.tz)[0], day_bounds_utc(last_day, ctx.tz)[1]
    for s in live:
        # (a session that touches a day of the range meets [start, end): the rest need no local dates)
        if s.room_id is not None and s.room_id in ctx.rooms and s.starts_at < end and s.ends_at >= start:
            for d in local_days_between(s.starts_at, s.ends_at, ctx.tz):
                if d in wanted:
                    by_room_day[(s.room_id, d)].append(s)
    out: list[Flag] = []
    for room_id in sorted(ctx.rooms):
        room = ctx.rooms[room_id]
        if not room.active:
            continue
        block = shortest_dose_block(ctx, room)
        if block is None:
            continue
        length, key = block
        for d in days:
            for free in room_free_intervals(room_id, ctx.clinic, d, by_room_day.get((room_id, d), ())):
                if as_of is not None:
                    if free.end <= as_of:
                        continue
                    free = Interval(max(free.start, as_of), free.end)
                if free.duration < length:
                    continue
                out.append(
                    Flag(
                        code="idle_chair_time",
                        message=(
                            f"{ctx.room_name(room_id)} is free {ctx.span(free.start, free.end)} "
                            f"({_duration_words(free.duration)}), long enough for a "
                            f"{_duration_words(length)} {key} dose."
                        ),
                        fix="Offer the time to a patient who is waiting for a dose.",
                        room_id=room_id,
                        starts_at=ctx.local(free.start),
                        ends_at=ctx.local(free.end),
                        on=d,
                    )
                )
    return out
