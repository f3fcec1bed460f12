"""The engine's ways in: one patient, one candidate session, one clinic over a date range, the write gate.

The sessions given are stored ones, with their ids (a flag's ``session_ids`` name them); only a
candidate or a change may be new: the engine numbers it while the rules run (-1, -2 …)."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime

from scheduler.domain.intervals import Interval, overlaps
from scheduler.domain.rules.attendance import attendance_flags
from scheduler.domain.rules.authorization import low_flags as authorization_low_flags
from scheduler.domain.rules.authorization import recounted
from scheduler.domain.rules.chairs import idle_chair_flags
from scheduler.domain.rules.codes import CONFLICT_CODES
from scheduler.domain.rules.course import course_flags
from scheduler.domain.rules.model import CLOSED_COURSE_STATUSES, Flag, FlagContext
from scheduler.domain.rules.patient import unconfirmed_flags
from scheduler.domain.rules.rems import form_flags as rems_form_flags
from scheduler.domain.rules.resources import resource_flags
from scheduler.domain.timezones import day_bounds_utc
from scheduler.domain.values import Session
from scheduler.domain.vocabulary import MAX_SESSION_DURATION

# The id a candidate session without one (not yet booked) carries while the rules run.
_NEW = -1


def _dedupe(sessions: Iterable[Session]) -> list[Session]:
    """One value per id (the last given wins); sessions without an id are kept as they are."""
    by_id: dict[int, Session] = {}
    anonymous: list[Session] = []
    for s in sessions:
        if s.id is None:
            anonymous.append(s)
        else:
            by_id[s.id] = s
    return list(by_id.values()) + anonymous


def _sorted(flags: Iterable[Flag]) -> list[Flag]:
    return sorted(set(flags), key=Flag.sort_key)


def _compute(
    ctx: FlagContext, sessions: list[Session], scope: set[int] | None, course_ids: set[int], as_of: datetime | None
) -> list[Flag]:
    flags: list[Flag] = []
    # The rules of sessions (resources, confirmation, attendance, authorization, REMS forms) report
    # only flags that name a session of ``scope``: with none of those among ``sessions`` (the state
    # before a new session is booked, in the write gate) they have nothing to report; the course
    # rules below still run.
    if scope is None or any(s.id in scope for s in sessions):
        live = [s for s in sessions if s.live]
        flags = resource_flags(ctx, live, scope)
        if as_of is not None:
            flags.extend(unconfirmed_flags(ctx, live, as_of, scope))
            flags.extend(attendance_flags(ctx, sessions, scope, as_of))
            flags.extend(authorization_low_flags(ctx, live, as_of, scope))
            flags.extend(rems_form_flags(ctx, sessions, scope, as_of))
    by_course: dict[int, list[Session]] = defaultdict(list)
    loose: dict[int, list[Session]] = defaultdict(list)
    for s in sessions:
        if s.course_id is None:
            loose[s.patient_id].append(s)
        else:
            by_course[s.course_id].append(s)
    # each patient's course sessions, in the order of by_course (course by course), once
    coursed: dict[int, list[tuple[int, Session]]] = defaultdict(list)
    for cid, ss in by_course.items():
        for s in ss:
            coursed[s.patient_id].append((cid, s))
    for course_id in sorted(course_ids):
        course = ctx.courses.get(course_id)
        if course is None:
            continue
        elsewhere = [s for cid, s in coursed.get(course.patient_id, ()) if cid != course_id]
        flags.extend(
            course_flags(
                ctx,
                course,
                by_course.get(course_id, []),
                as_of=as_of,
                loose=loose.get(course.patient_id, []),
                elsewhere=elsewhere,
            )
        )
    return flags


def patient_flags(
    ctx: FlagContext, patient_id: int, sessions: Iterable[Session], *, as_of: datetime, others: Iterable[Session] = ()
) -> list[Flag]:
    """Every flag about one patient.

    ``sessions``: all the patient's sessions (any status, every course); ``others``: other patients'
    live sessions that may clash with them (same rooms or clinicians around the same times). The
    patient's courses are those of ``ctx.courses`` with this ``patient_id``. ``as_of``: now (for
    incomplete inductions and due/overdue maintenance).
    """
    mine = [s for s in _dedupe(sessions) if s.patient_id == patient_id]
    mine_ids = {s.id for s in mine if s.id is not None}
    pool = mine + [s for s in _dedupe(others) if s.id is None or s.id not in mine_ids]
    course_ids = {c.id for c in ctx.courses.values() if c.patient_id == patient_id}
    course_ids |= {s.course_id for s in mine if s.course_id is not None}
    return _sorted(_compute(ctx, pool, mine_ids, course_ids, as_of))


def candidate_flags(
    ctx: FlagContext,
    candidate: Session,
    sessions: Iterable[Session],
    *,
    as_of: datetime | None = None,
    codes: Iterable[str] | None = None,
) -> list[Flag]:
    """The flags one session would take part in if it were booked as given (before it is written).

    ``candidate``: the session to book; when rescheduling, the existing session with its id and the new
    times/room/clinician (its stored version in ``sessions`` is ignored). ``sessions``: the existing
    sessions around it: the patient's sessions (at least those of the candidate's course, any status)
    and the live sessions of the same room and clinician near its time. Returns the conflicts
    (``CONFLICT_CODES``) by default; pass ``codes`` for others (e.g. ``ALL_CODES``). A new candidate
    (``id`` None) does not appear in ``session_ids``: they name the other sessions concerned.
    """
    wanted = frozenset(codes) if codes is not None else CONFLICT_CODES
    me_id = candidate.id if candidate.id is not None else _NEW
    me = candidate if candidate.id is not None else dataclasses.replace(candidate, id=_NEW)
    # Only the patient's sessions and those near in time can take part in the candidate's flags.
    near = Interval(me.starts_at - MAX_SESSION_DURATION, me.ends_at + MAX_SESSION_DURATION)
    pool = [
        s
        for s in _dedupe(sessions)
        if (s.id is None or s.id != me_id) and (s.patient_id == me.patient_id or near.overlaps(s.interval))
    ] + [me]
    course_ids = {me.course_id} if me.course_id is not None else set()
    if me.kind == "dose":  # doses are spaced across the patient's courses (and outside any course) too
        course_ids |= {c.id for c in ctx.courses.values() if c.patient_id == me.patient_id}
    flags = _compute(ctx, pool, {me_id}, course_ids, as_of)
    out = []
    for f in flags:
        if f.code not in wanted or me_id not in f.session_ids:
            continue
        if me_id == _NEW:
            f = dataclasses.replace(f, session_ids=tuple(i for i in f.session_ids if i != _NEW))
        out.append(f)
    return _sorted(out)


def clinic_flags(
    ctx: FlagContext,
    first_day: date,
    last_day: date,
    sessions: Iterable[Session],
    *,
    as_of: datetime,
    idle_chairs: bool = True,
) -> list[Flag]:
    """The clinic's flags for local dates ``first_day``..``last_day`` (inclusive).

    ``sessions``: the clinic's sessions in the range (any status), plus every session of the courses
    they belong to (course rules look outside the range), plus the live sessions elsewhere that may
    clash with them (the patients' and clinicians' sessions at other clinics). A flag is returned when
    it concerns a session in the range, or, for flags about no session in the range (maintenance due,
    incomplete induction …), when its date ``on`` is in the range. The course rules run for the courses
    of the sessions in the range and for every open course of ``ctx.courses`` whose ``clinic_id`` is
    this clinic's (give those courses' sessions too). ``ctx.rooms`` are the clinic's rooms for idle
    chair time (one ``idle_chair_time`` flag per free stretch, from ``as_of`` on).
    """
    pool = _dedupe(sessions)
    start, _ = day_bounds_utc(first_day, ctx.tz)
    _, end = day_bounds_utc(last_day, ctx.tz)
    clinic_id = ctx.clinic.id
    in_range = {
        s.id
        for s in pool
        if s.id is not None
        and overlaps(s.starts_at, s.ends_at, start, end)
        and (clinic_id is None or s.clinic_id is None or s.clinic_id == clinic_id)
    }
    course_ids = {s.course_id for s in pool if s.id in in_range and s.course_id is not None}
    course_ids |= {
        c.id
        for c in ctx.courses.values()
        if clinic_id is not None and c.clinic_id == clinic_id and c.status not in CLOSED_COURSE_STATUSES
    }
    out = []
    for f in _compute(ctx, pool, in_range, course_ids, as_of):
        if any(i in in_range for i in f.session_ids) or (f.on is not None and first_day <= f.on <= last_day):
            out.append(f)
    if idle_chairs:
        out.extend(idle_chair_flags(ctx, first_day, last_day, [s for s in pool if s.live], as_of))
    return _sorted(out)


def _identity(f: Flag) -> tuple:
    """What makes two flags "the same flag" before and after a change (its words may differ)."""
    return (
        f.code,
        f.course_id,
        tuple(sorted(f.session_ids)),
        f.on if not f.session_ids else None,
    )


def apply_changes(sessions: Iterable[Session], changes: Iterable[Session]) -> tuple[list[Session], list[Session]]:
    """``sessions`` with ``changes`` applied: a change with an ``id`` replaces that session (a move,
    a new room, a status), one without is new and gets a negative id (-1, -2, … in order). Returns
    (the sessions after, the changes as placed)."""
    placed, n = [], 0
    for c in changes:
        if c.id is None:
            n += 1
            c = dataclasses.replace(c, id=-n)
        placed.append(c)
    by_id = {s.id: s for s in _dedupe(sessions)}
    for c in placed:
        by_id[c.id] = c
    return list(by_id.values()), placed


def introduced_flags(
    ctx: FlagContext,
    changes: Iterable[Session],
    sessions: Iterable[Session],
    *,
    as_of: datetime | None = None,
    severity: str = "error",
) -> list[Flag]:
    """The write gate: the ``severity`` flags that applying ``changes`` to ``sessions`` would bring
    that were not there before (a flag already raised stays allowed: moving a session does not make
    an old problem the mover's).

    ``changes``: new sessions (``id`` None) and new versions of existing ones (same ``id``: moved,
    another room or clinician, or another status). ``sessions``: the patients' sessions (any status,
    every course) and the other live sessions near the changes (same rooms and clinicians). The rules
    run for every course of ``ctx.courses`` the changes' patients have, and the per-session rules
    for the changed sessions. New sessions carry negative ids in ``session_ids`` (-1 for the first
    change without an id, -2 for the second …), so a caller can say which of its changes a flag is about.
    """
    before = _dedupe(sessions)
    after, placed = apply_changes(before, changes)
    scope = {c.id for c in placed if c.id is not None}  # every change placed has one
    patients = {c.patient_id for c in placed}
    course_ids = {c.id for c in ctx.courses.values() if c.patient_id in patients}
    course_ids |= {s.course_id for s in placed if s.course_id is not None}
    was = {_identity(f) for f in _compute(ctx, before, scope, course_ids, as_of) if f.severity == severity}
    out = [
        f
        for f in _compute(recounted(ctx, placed), after, scope, course_ids, as_of)
        if f.severity == severity and _identity(f) not in was
    ]
    return _sorted(out)
