"""Resources: the session's room capability and clinician role and availability, no room or patient
double booking, no clinician over capacity — and (via :mod:`.calendar`, :mod:`.patient`) every
per-session rule, run by :func:`resource_flags`.

Predicates: :func:`room_suits`, :func:`staff_suits`, :func:`staff_problem` (the planner's slot search
asks the same of each room and clinician). Only live sessions take part (vocabulary.LIVE_STATUSES).
Every overlap test is :func:`scheduler.domain.intervals.overlaps` (half-open, touching sessions do
not clash).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable

from scheduler.domain.calendar import is_staff_working, max_concurrency, time_off_overlapping
from scheduler.domain.intervals import Interval, merge, overlaps
from scheduler.domain.rules.authorization import exceeded_flags
from scheduler.domain.rules.calendar import closure_flags, outside_hours_flags, session_flag, what
from scheduler.domain.rules.model import Flag, FlagContext, ids_of
from scheduler.domain.rules.patient import dosing_hold_flags, ride_home_flags
from scheduler.domain.rules.rems import check_spacing_flags, prescriber_on_site_flags, rems_enrollment_flags
from scheduler.domain.timezones import local_date
from scheduler.domain.values import Room, Session, StaffMember

# ---------------------------------------------------------------- predicates


def room_suits(room: Room, capability: str | None) -> bool:
    """An active room with ``capability`` (None: any room)."""
    return capability is None or room.can(capability)


def staff_suits(member: StaffMember, role: str | None) -> bool:
    """A clinician of the role the session needs (None: any role)."""
    return role is None or member.role == role


def staff_problem(ctx: FlagContext, member: StaffMember, interval: Interval) -> str | None:
    """Why ``member`` cannot take a session over ``interval`` (inactive, off, not working), or None."""
    away = time_off_overlapping(member, interval)
    if not member.active:
        return f"{ctx.staff_name(member.id)} is no longer active"
    if away is not None:
        return f"{ctx.staff_name(member.id)} is off {ctx.span(away.start, away.end)}"
    if member.hours is not None and not is_staff_working(member, ctx.clinic, interval):
        # (without hours of their own they work the clinic's: outside_clinic_hours says it already)
        return f"{ctx.staff_name(member.id)} does not work at that time"
    return None


def _in(scope: set[int] | None, *sessions: Session) -> bool:
    return scope is None or any(s.id in scope for s in sessions)


# ---------------------------------------------------------------- one session at a time


def staff_flags(ctx: FlagContext, s: Session) -> list[Flag]:
    """staff_unavailable for one live session: its clinician is inactive, off or not working then, or
    not of the role the protocol's session needs."""
    member = ctx.staff.get(s.staff_member_id) if s.staff_member_id is not None else None
    if member is None:
        return []
    problem = staff_problem(ctx, member, s.interval)
    if problem is not None:
        return [
            session_flag(
                ctx,
                "staff_unavailable",
                s,
                f"{problem}, but is assigned to {what(ctx, s)}.",
                "Assign another clinician or move the session.",
                staff_member_id=member.id,
            )
        ]
    spec = ctx.spec_of(s)
    if spec is None or staff_suits(member, spec.role):
        return []
    return [
        session_flag(
            ctx,
            "staff_unavailable",
            s,
            f"{ctx.staff_name(member.id)} is a {member.role}, but is assigned to {what(ctx, s)}; "
            f"{ctx.protocol_name(s)} needs a {spec.role} for it.",
            f"Assign a {spec.role} to the session.",
            staff_member_id=member.id,
        )
    ]


def room_flags(ctx: FlagContext, s: Session) -> list[Flag]:
    """room_unsuitable for one live session: its room is not in use or lacks the capability the
    protocol's session (or, without a spec, the dose's route) needs."""
    room = ctx.rooms.get(s.room_id) if s.room_id is not None else None
    if room is None:
        return []
    spec = ctx.spec_of(s)
    need = spec.capability if spec is not None else (s.route if s.kind == "dose" else None)
    if room_suits(room, need):
        return []
    why = "is not in use" if not room.active else f"has no {need} capability"
    proto = ctx.protocol_of(s)
    rule = f"; {proto.key} needs a room with {need}" if proto is not None else ""
    return [
        session_flag(
            ctx,
            "room_unsuitable",
            s,
            f"{ctx.room_name(room.id)} {why} for {what(ctx, s)}{rule}.",
            f"Move the session to a room with the {need} capability.",
            room_id=room.id,
        )
    ]


SessionRule = Callable[[FlagContext, Session], list[Flag]]

# The per-session rules, each independent of the others, in the order their flags are reported.
SESSION_RULES: tuple[SessionRule, ...] = (
    outside_hours_flags,
    closure_flags,
    staff_flags,
    room_flags,
    dosing_hold_flags,
    ride_home_flags,
    exceeded_flags,
    rems_enrollment_flags,
    prescriber_on_site_flags,
)


def single_session_flags(ctx: FlagContext, s: Session) -> list[Flag]:
    """Calendar, clinician (availability and the role the protocol's session needs), room,
    patient-state, authorization and REMS conflicts of one live session: every rule of
    :data:`SESSION_RULES`.

    A completed session took place: later changes to hours, closures, time off or rooms do not flag it
    (double booking and capacity still do: :func:`resource_flags`)."""
    if s.status == "completed":
        return []
    return [flag for rule in SESSION_RULES for flag in rule(ctx, s)]


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


def _meeting_scope(live: list[Session], scope: set[int] | None) -> list[Session]:
    """The sessions of ``live`` that can overlap one of ``scope``: those meeting the span from its
    sessions' earliest start to their latest end (every one when ``scope`` is None). A pair of which
    neither is in ``scope`` is not reported, so the others need not be paired."""
    if scope is None:
        return live
    mine = [s for s in live if s.id in scope]
    if not mine:
        return []
    lo, hi = min(s.starts_at for s in mine), max(s.ends_at for s in mine)
    return [s for s in live if s.starts_at <= hi and s.ends_at >= lo]


def _chained_to_scope(sessions: list[Session], scope: set[int] | None) -> list[Session]:
    """The sessions of ``sessions`` (one clinician's) in a chain of overlapping or touching sessions
    that holds one of ``scope`` (every one when ``scope`` is None). Time outside such a chain is
    covered by none of its sessions, so its excess intervals, and the sessions they involve, are the
    same whether the other chains are given or not."""
    if scope is None:
        return sessions
    out: list[Session] = []
    chain: list[Session] = []
    end = None
    for s in sorted(sessions, key=lambda s: (s.starts_at, s.ends_at, _id_key(s.id))):
        if end is not None and s.starts_at > end:
            if any(c.id in scope for c in chain):
                out.extend(chain)
            chain, end = [], None
        chain.append(s)
        end = s.ends_at if end is None else max(end, s.ends_at)
    if any(c.id in scope for c in chain):
        out.extend(chain)
    return out


def double_booking_flags(ctx: FlagContext, live: list[Session], scope: set[int] | None) -> list[Flag]:
    out: list[Flag] = []
    live = _meeting_scope(live, scope)
    for a, b in _overlapping_pairs(live, lambda s: s.room_id):
        if not _in(scope, a, b):
            continue
        start, end = max(a.starts_at, b.starts_at), min(a.ends_at, b.ends_at)
        same = a.patient_id == b.patient_id
        out.append(
            Flag(
                code="room_double_booked",
                message=(
                    f"{ctx.room_name(a.room_id)} is booked twice on {ctx.span(start, end)}: "
                    f"{ctx.label(a)} for {ctx.patient_name(a.patient_id)} and {ctx.label(b)} for "
                    f"{ctx.patient_name(b.patient_id)}."
                ),
                patient_id=a.patient_id if same else None,
                session_ids=tuple(sorted(ids_of(a, b))),
                fix="Move one of the two sessions to another room or time.",
                room_id=a.room_id,
                starts_at=ctx.local(start),
                ends_at=ctx.local(end),
                on=local_date(start, ctx.tz),
            )
        )
    for a, b in _overlapping_pairs(live, lambda s: s.patient_id):
        if not _in(scope, a, b):
            continue
        start, end = max(a.starts_at, b.starts_at), min(a.ends_at, b.ends_at)
        out.append(
            Flag(
                code="patient_double_booked",
                message=(
                    f"{ctx.patient_name(a.patient_id)} has two sessions at once on {ctx.when(start)}: "
                    f"{ctx.label(a)} ({ctx.span(a.starts_at, a.ends_at)}) and {ctx.label(b)} "
                    f"({ctx.span(b.starts_at, b.ends_at)})."
                ),
                patient_id=a.patient_id,
                session_ids=tuple(sorted(ids_of(a, b))),
                fix="Reschedule one of the two sessions.",
                starts_at=ctx.local(start),
                ends_at=ctx.local(end),
                on=local_date(start, ctx.tz),
            )
        )
    return out


def _id_key(i: int | None) -> int:
    return i if i is not None else -1


def _excess_intervals(intervals: list[Interval], capacity: int) -> list[Interval]:
    """Where more than ``capacity`` of ``intervals`` run at once (merged)."""
    events = sorted(
        [(iv.start, 1) for iv in intervals] + [(iv.end, -1) for iv in intervals], key=lambda e: (e[0], e[1])
    )  # ends before starts at one instant: half-open
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
    for staff_id, theirs in by_staff.items():
        capacity = ctx.staff[staff_id].capacity
        if len(theirs) <= capacity or (scope is not None and not any(s.id in scope for s in theirs)):
            continue  # (without a session of scope no chain of theirs holds one: _chained_to_scope)
        mine = _chained_to_scope(theirs, scope)
        intervals = [s.interval for s in mine]
        for excess in _excess_intervals(intervals, capacity):
            involved = sorted(
                (s for s, iv in zip(mine, intervals, strict=True) if excess.overlaps(iv)),
                key=lambda s: (s.starts_at, _id_key(s.id)),
            )
            if not _in(scope, *involved):
                continue
            peak = max_concurrency([s.interval for s in involved], excess)
            patients = {s.patient_id for s in involved}
            out.append(
                Flag(
                    code="staff_over_capacity",
                    message=(
                        f"{ctx.staff_name(staff_id)} would monitor {peak} sessions at once on "
                        f"{ctx.span(excess.start, excess.end)} but can monitor {capacity} at a time "
                        f"({', '.join(f'{ctx.label(s)} for {ctx.patient_name(s.patient_id)}' for s in involved)})."
                    ),
                    patient_id=next(iter(patients)) if len(patients) == 1 else None,
                    session_ids=ids_of(*involved),
                    fix="Assign another clinician to one of the sessions or move it.",
                    staff_member_id=staff_id,
                    starts_at=ctx.local(excess.start),
                    ends_at=ctx.local(excess.end),
                    on=local_date(excess.start, ctx.tz),
                )
            )
    return out


def resource_flags(ctx: FlagContext, live: list[Session], scope: set[int] | None) -> list[Flag]:
    """All resource conflicts among ``live`` sessions that involve a session of ``scope`` (None: all)."""
    out: list[Flag] = []
    for s in live:
        if scope is None or s.id in scope:
            out.extend(single_session_flags(ctx, s))
    out.extend(double_booking_flags(ctx, live, scope))
    out.extend(capacity_flags(ctx, live, scope))
    out.extend(check_spacing_flags(ctx, live, scope))
    return out
