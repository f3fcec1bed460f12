"""Conflicts about rooms, patients, clinicians and the clinic's calendar, session by session.

Only live sessions take part (vocabulary.LIVE_STATUSES). Every overlap test is
:func:`scheduler.domain.intervals.overlaps` (half-open, touching sessions do not clash).
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import time

from scheduler.domain.calendar import (
    closure_covering, is_staff_working, is_within_hours, max_concurrency, time_off_overlapping,
)
from scheduler.domain.flags.model import ERROR, WARNING, Flag, FlagContext
from scheduler.domain.intervals import Interval, merge, overlaps
from scheduler.domain.timezones import local_date
from scheduler.domain.values import Session

UPCOMING_STATUSES = ("proposed", "booked", "checked_in")
_DAY_NAMES = ("Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays", "Saturdays", "Sundays")


def _in(scope: set[int] | None, *sessions: Session) -> bool:
    return scope is None or any(s.id in scope for s in sessions)


def _same_clinic(ctx: FlagContext, s: Session) -> bool:
    return s.clinic_id is None or ctx.clinic.id is None or s.clinic_id == ctx.clinic.id


def _hm(t: time) -> str:
    return "24:00" if t == time(0, 0) else t.strftime("%H:%M")


def _hours_words(ctx: FlagContext, s: Session) -> str:
    d = local_date(s.starts_at, ctx.tz)
    spans = ctx.clinic.hours[d.weekday()]
    if not spans:
        return f"the clinic is closed on {_DAY_NAMES[d.weekday()]}"
    return f"open {', '.join(f'{_hm(o)}–{_hm(c)}' for o, c in spans)} on {_DAY_NAMES[d.weekday()]}"


def _what(ctx: FlagContext, s: Session) -> str:
    """"dose 3 for Ana Ruiz on Tue 3 Mar 09:00–11:00"."""
    return f"{ctx.label(s)} for {ctx.patient_name(s.patient_id)} on {ctx.span(s.starts_at, s.ends_at)}"


def _session_flag(ctx: FlagContext, code: str, severity: str, s: Session, message: str, fix: str,
                  **extra) -> Flag:
    return Flag(code=code, severity=severity, message=message, patient_id=s.patient_id, session_ids=(s.id,),
                fix=fix, course_id=s.course_id, starts_at=ctx.local(s.starts_at), ends_at=ctx.local(s.ends_at),
                on=local_date(s.starts_at, ctx.tz), **extra)


# ---------------------------------------------------------------- one session at a time


def single_session_flags(ctx: FlagContext, s: Session) -> list[Flag]:
    """Calendar, room, clinician (availability and the role the protocol's session needs) and
    patient-state conflicts of one live session.

    A completed session took place: later changes to hours, closures, time off or rooms do not flag it
    (double booking and capacity still do: :func:`resource_flags`)."""
    out: list[Flag] = []
    if s.status == "completed":
        return out
    iv = s.interval
    what = _what(ctx, s)
    spec = ctx.spec_of(s)
    cap = what[0].upper() + what[1:]
    if _same_clinic(ctx, s):
        if not is_within_hours(ctx.clinic, iv):
            out.append(_session_flag(
                ctx, "outside_clinic_hours", ERROR, s,
                f"{cap} is outside the clinic's opening hours ({_hours_words(ctx, s)}).",
                "Move the session inside the clinic's opening hours."))
        closure = closure_covering(ctx.clinic, iv)
        if closure is not None:
            why = f" ({closure.reason})" if closure.reason else ""
            part = "" if closure.whole_day else (
                f" from {_hm(closure.from_time or time(0))} to {_hm(closure.until_time or time(0))}")
            out.append(_session_flag(
                ctx, "clinic_closed", ERROR, s,
                f"{cap} falls on a clinic closure{part}{why}.",
                "Reschedule the session to a time the clinic is open."))
    member = ctx.staff.get(s.staff_member_id) if s.staff_member_id is not None else None
    if member is not None:
        away = time_off_overlapping(member, iv)
        problem = None
        if not member.active:
            problem = f"{ctx.staff_name(member.id)} is no longer active"
        elif away is not None:
            problem = f"{ctx.staff_name(member.id)} is off {ctx.span(away.start, away.end)}"
        elif member.hours is not None and not is_staff_working(member, ctx.clinic, iv):
            # (without hours of their own they work the clinic's: outside_clinic_hours says it already)
            problem = f"{ctx.staff_name(member.id)} does not work at that time"
        if problem is not None:
            out.append(_session_flag(
                ctx, "staff_unavailable", ERROR, s, f"{problem}, but is assigned to {_what(ctx, s)}.",
                "Assign another clinician or move the session.", staff_member_id=member.id))
        elif spec is not None and member.role != spec.role:
            out.append(_session_flag(
                ctx, "staff_unavailable", ERROR, s,
                f"{ctx.staff_name(member.id)} is a {member.role}, but is assigned to {_what(ctx, s)}; "
                f"{ctx.protocol_of(s).key} needs a {spec.role} for it.",
                f"Assign a {spec.role} to the session.", staff_member_id=member.id))
    room = ctx.rooms.get(s.room_id) if s.room_id is not None else None
    if room is not None:
        need = spec.capability if spec is not None else (s.route if s.kind == "dose" else None)
        if need is not None and not room.can(need):
            why = "is not in use" if not room.active else f"has no {need} capability"
            proto = ctx.protocol_of(s)
            rule = f"; {proto.key} needs a room with {need}" if proto is not None else ""
            out.append(_session_flag(
                ctx, "room_unsuitable", ERROR, s, f"{ctx.room_name(room.id)} {why} for {_what(ctx, s)}{rule}.",
                f"Move the session to a room with the {need} capability.", room_id=room.id))
    if s.kind == "dose" and s.status in UPCOMING_STATUSES:
        patient = ctx.patients.get(s.patient_id)
        if patient is not None and patient.on_dosing_hold:
            out.append(_session_flag(
                ctx, "dosing_hold", ERROR, s,
                f"{ctx.patient_name(s.patient_id)} is on a dosing hold set by a clinician, "
                f"but {ctx.label(s)} is booked on {ctx.span(s.starts_at, s.ends_at)}.",
                "Cancel the dose, or have the prescriber lift the hold first."))
        if (patient is not None and spec is not None and getattr(spec, "ride_home_required", False)
                and not patient.ride_home_arranged):
            proto = ctx.protocol_of(s)
            out.append(_session_flag(
                ctx, "ride_home_missing", WARNING, s,
                f"No ride home is arranged for {ctx.patient_name(s.patient_id)} after {ctx.label(s)} on "
                f"{ctx.when(s.starts_at)}; {proto.key} doses require one.",
                "Arrange a ride home and record it on the patient."))
    return out


# ---------------------------------------------------------------- pairs and capacity


def _overlapping_pairs(sessions: Iterable[Session], key: Callable[[Session], object]) -> list[tuple[Session, Session]]:
    """Pairs of sessions sharing ``key`` whose intervals overlap (sweep per key, sorted by start)."""
    groups: dict[object, list[Session]] = defaultdict(list)
    for s in sessions:
        k = key(s)
        if k is not None:
            groups[k].append(s)
    pairs = []
    for group in groups.values():
        group.sort(key=lambda s: (s.starts_at, s.ends_at, s.id or 0))
        active: list[Session] = []
        for s in group:
            active = [a for a in active if a.ends_at > s.starts_at]
            for a in active:
                if overlaps(a.starts_at, a.ends_at, s.starts_at, s.ends_at):
                    pairs.append((a, s))
            active.append(s)
    return pairs


def double_booking_flags(ctx: FlagContext, live: list[Session], scope: set[int] | None) -> list[Flag]:
    out: list[Flag] = []
    for a, b in _overlapping_pairs(live, lambda s: s.room_id):
        if not _in(scope, a, b):
            continue
        start, end = max(a.starts_at, b.starts_at), min(a.ends_at, b.ends_at)
        same = a.patient_id == b.patient_id
        out.append(Flag(
            code="room_double_booked", severity=ERROR,
            message=(f"{ctx.room_name(a.room_id)} is booked twice on {ctx.span(start, end)}: "
                     f"{ctx.label(a)} for {ctx.patient_name(a.patient_id)} and {ctx.label(b)} for "
                     f"{ctx.patient_name(b.patient_id)}."),
            patient_id=a.patient_id if same else None, session_ids=tuple(sorted((a.id, b.id), key=_id_key)),
            fix="Move one of the two sessions to another room or time.", room_id=a.room_id,
            starts_at=ctx.local(start), ends_at=ctx.local(end), on=local_date(start, ctx.tz)))
    for a, b in _overlapping_pairs(live, lambda s: s.patient_id):
        if not _in(scope, a, b):
            continue
        start, end = max(a.starts_at, b.starts_at), min(a.ends_at, b.ends_at)
        out.append(Flag(
            code="patient_double_booked", severity=ERROR,
            message=(f"{ctx.patient_name(a.patient_id)} has two sessions at once on {ctx.when(start)}: "
                     f"{ctx.label(a)} ({ctx.span(a.starts_at, a.ends_at)}) and {ctx.label(b)} "
                     f"({ctx.span(b.starts_at, b.ends_at)})."),
            patient_id=a.patient_id, session_ids=tuple(sorted((a.id, b.id), key=_id_key)),
            fix="Reschedule one of the two sessions.", starts_at=ctx.local(start), ends_at=ctx.local(end),
            on=local_date(start, ctx.tz)))
    return out


def _id_key(i: int | None) -> int:
    return i if i is not None else -1


def _excess_intervals(intervals: list[Interval], capacity: int) -> list[Interval]:
    """Where more than ``capacity`` of ``intervals`` run at once (merged)."""
    events = sorted([(iv.start, 1) for iv in intervals] + [(iv.end, -1) for iv in intervals],
                    key=lambda e: (e[0], e[1]))  # ends before starts at one instant: half-open
    out: list[Interval] = []
    count, since = 0, None
    for when, step in events:
        count += step
        if count > capacity and since is None:
            since = when
        elif count <= capacity and since is not None:
            if when > since:
                out.append(Interval(since, when))
            since = None
    return merge(out)


def capacity_flags(ctx: FlagContext, live: list[Session], scope: set[int] | None) -> list[Flag]:
    by_staff: dict[int, list[Session]] = defaultdict(list)
    for s in live:
        if s.staff_member_id is not None and s.staff_member_id in ctx.staff:
            by_staff[s.staff_member_id].append(s)
    out: list[Flag] = []
    for staff_id, mine in by_staff.items():
        capacity = ctx.staff[staff_id].capacity
        if len(mine) <= capacity:
            continue
        for excess in _excess_intervals([s.interval for s in mine], capacity):
            involved = sorted((s for s in mine if excess.overlaps(s.interval)),
                              key=lambda s: (s.starts_at, _id_key(s.id)))
            if not _in(scope, *involved):
                continue
            peak = max_concurrency([s.interval for s in involved], excess)
            patients = {s.patient_id for s in involved}
            out.append(Flag(
                code="staff_over_capacity", severity=ERROR,
                message=(f"{ctx.staff_name(staff_id)} would monitor {peak} sessions at once on "
                         f"{ctx.span(excess.start, excess.end)} but can monitor {capacity} at a time "
                         f"({', '.join(f'{ctx.label(s)} for {ctx.patient_name(s.patient_id)}' for s in involved)})."),
                patient_id=next(iter(patients)) if len(patients) == 1 else None,
                session_ids=tuple(s.id for s in involved),
                fix="Assign another clinician to one of the sessions or move it.", staff_member_id=staff_id,
                starts_at=ctx.local(excess.start), ends_at=ctx.local(excess.end),
                on=local_date(excess.start, ctx.tz)))
    return out


def resource_flags(ctx: FlagContext, live: list[Session], scope: set[int] | None) -> list[Flag]:
    """All resource conflicts among ``live`` sessions that involve a session of ``scope`` (None: all)."""
    out: list[Flag] = []
    for s in live:
        if _in(scope, s):
            out.extend(single_session_flags(ctx, s))
    out.extend(double_booking_flags(ctx, live, scope))
    out.extend(capacity_flags(ctx, live, scope))
    return out
