"""Where to move or book one session: free slots that the rule book accepts.

A slot comes from the planner's :class:`~scheduler.domain.planning.SlotFinder` (hours, closures, room
capability, clinician role, hours and capacity, what is booked) and is offered only when the change
introduces no error flag (:func:`scheduler.domain.flags.introduced_flags`, for the session and its
course). Moving a dose whose integration session would then no longer count for it moves that
integration session too: the suggestion carries it in ``dependents`` (the reschedule request's
``move_dependents: true`` applies both, found by the same :func:`dependents_for`); a new dose that
needs an integration session carries the new integration session to book with it
(:func:`new_dependents_for`, ``session_id`` None).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time

from scheduler.domain.flags import FlagContext, introduced_flags
from scheduler.domain.planning import Slot, SlotFinder, date_range
from scheduler.domain.protocols import Protocol, SessionSpec
from scheduler.domain.rules import doses_needing_integration, integration_window
from scheduler.domain.timezones import local_date, local_time
from scheduler.domain.values import Session


@dataclass(frozen=True)
class Suggestion:
    """A slot for the session, and the sessions that go with it: new versions of existing ones (same
    ids: moved with it), or new sessions (no id: booked with it)."""

    starts_at: datetime
    ends_at: datetime
    room_id: int | None
    staff_member_id: int | None
    dependents: tuple[Session, ...] = ()

    @property
    def move_dependents(self) -> bool:
        return any(d.id is not None for d in self.dependents)


def _order(s: Session) -> tuple:
    return (s.starts_at, s.ends_at, s.id if s.id is not None else -1)


def _integration_bounds(protocol: Protocol, course: Sequence[Session], dose: Session):
    """(lo, hi) of the integration window of ``dose`` among the live doses of ``course`` (``dose``
    at its place in it), or None when the dose needs no integration session."""
    spec = protocol.integration
    if spec is None or dose.kind != "dose" or dose.phase == "maintenance":
        return None
    doses = sorted((s for s in course if s.live and s.kind == "dose" and s.phase != "maintenance"), key=_order)
    ids = [s.id for s in doses]
    if dose.id not in ids:
        return None
    needing = doses_needing_integration(spec, doses, protocol.induction.total_doses)
    n = ids.index(dose.id) + 1
    if n not in needing:
        return None
    k = needing.index(n)
    nxt = doses[needing[k + 1] - 1].starts_at if k + 1 < len(needing) else None
    return integration_window(spec, dose.ends_at, nxt)


def counting_integration(protocol: Protocol, course: Sequence[Session], dose: Session) -> Session | None:
    """The live integration session of ``course`` that counts for ``dose`` where the dose is now."""
    bounds = _integration_bounds(protocol, course, dose)
    if bounds is None:
        return None
    lo, hi = bounds
    return next(
        (s for s in sorted(course, key=_order) if s.live and s.kind == "integration" and lo <= s.starts_at <= hi), None
    )


def dependents_for(
    protocol: Protocol | None, finder: SlotFinder, course: Sequence[Session], old: Session, new: Session
) -> tuple[Session, ...] | None:
    """The sessions to move with ``old`` moved to ``new`` (same id): its integration session when
    it would no longer count for the dose, placed inside the dose's new window near its old time,
    room and clinician. ``()``: nothing needs to move; None: the integration session has no free
    slot in the new window. ``finder`` holds every other live session; the integration session's
    new slot overlaps neither the dose's old place nor its new one (it can be moved first)."""
    if protocol is None or protocol.integration is None or old.kind != "dose":
        return ()
    integ = counting_integration(protocol, course, old)
    if integ is None or integ.status not in ("proposed", "booked"):
        return ()
    after = [new if s.id == new.id else s for s in course]
    bounds = _integration_bounds(protocol, after, new)
    if bounds is None:
        return ()
    lo, hi = bounds
    if lo <= integ.starts_at <= hi and not integ.interval.overlaps(new.interval):
        return ()
    spec = protocol.integration
    tz = finder.tz
    # The dose's old place stays taken: the integration session moves first, into a slot nothing holds.
    finder.release(integ.starts_at, integ.ends_at, integ.room_id, integ.staff_member_id)
    finder.reserve(new.starts_at, new.ends_at, new.room_id, new.staff_member_id)
    finder.reserve(old.starts_at, old.ends_at, old.room_id, old.staff_member_id)
    try:
        got = finder.search(
            spec,
            date_range(local_date(lo, tz), local_date(hi, tz)),
            not_before=lo,
            latest_start=hi,
            use_prefs=False,
            time_hint=local_time(integ.starts_at, tz),
            room_hint=integ.room_id,
            staff_hint=integ.staff_member_id,
        )
    finally:
        finder.release(new.starts_at, new.ends_at, new.room_id, new.staff_member_id)
        finder.release(old.starts_at, old.ends_at, old.room_id, old.staff_member_id)
        finder.reserve(integ.starts_at, integ.ends_at, integ.room_id, integ.staff_member_id)
    if not got:
        return None
    slot = got[0]
    return (
        replace(
            integ,
            starts_at=slot.starts_at,
            ends_at=slot.ends_at,
            room_id=slot.room_id,
            staff_member_id=slot.staff_member_id,
        ),
    )


def new_dependents_for(
    protocol: Protocol | None, finder: SlotFinder, course: Sequence[Session], new: Session
) -> tuple[Session, ...] | None:
    """For a new dose ``new`` (no id) of ``course``: the integration session to book with it when the
    dose needs one and none counts for it (a new session, no id), placed in the dose's window.
    ``()``: nothing needed; None: no free slot in the window."""
    if protocol is None or protocol.integration is None or new.kind != "dose" or new.id is not None:
        return ()
    probe = replace(new, id=-1)
    after = [*course, probe]
    bounds = _integration_bounds(protocol, after, probe)
    if bounds is None:
        return ()
    lo, hi = bounds
    if any(s.live and s.kind == "integration" and lo <= s.starts_at <= hi for s in course):
        return ()
    spec, tz = protocol.integration, finder.tz
    finder.reserve(new.starts_at, new.ends_at, new.room_id, new.staff_member_id)
    try:
        got = finder.search(
            spec, date_range(local_date(lo, tz), local_date(hi, tz)), not_before=lo, latest_start=hi, use_prefs=False
        )
    finally:
        finder.release(new.starts_at, new.ends_at, new.room_id, new.staff_member_id)
    if not got:
        return None
    return (
        got[0].as_session(
            patient_id=new.patient_id, kind="integration", clinic_id=new.clinic_id, course_id=new.course_id
        ),
    )


def suggest(
    ctx: FlagContext,
    pool: Iterable[Session],
    finder: SlotFinder,
    spec: SessionSpec,
    template: Session,
    dates: Sequence[date],
    *,
    now,
    limit: int = 6,
    per_day: int = 2,
    tries_per_day: int = 6,
    time_hint: time | None = None,
    room_hint: int | None = None,
    staff_hint: int | None = None,
    no_staff: bool = False,
) -> list[Suggestion]:
    """Up to ``limit`` slots for ``template`` (an existing session to move, with its id, or a new one
    without), at most ``per_day`` a day, each introducing no error flag. ``pool``: the sessions the
    rules read (the patient's history, the clinic's sessions around); ``finder``: the free slots
    (without ``template`` itself)."""
    pool = list(pool)
    protocol = ctx.protocol_of(template)
    course = [s for s in pool if template.course_id is not None and s.course_id == template.course_id]
    old = next((s for s in pool if template.id is not None and s.id == template.id), None)
    found: list[Suggestion] = []
    for d in dates:
        taken, tried = 0, 0
        held: list[Slot] = []
        while taken < per_day and tried < tries_per_day:
            tried += 1
            slots = finder.search(
                spec,
                [d],
                not_before=now,
                time_hint=time_hint,
                room_hint=room_hint,
                staff_hint=staff_hint,
                no_staff=no_staff,
            )
            if not slots:
                break
            slot = slots[0]
            if old is not None and slot.starts_at == old.starts_at:
                _hold(finder, held, slot)
                continue  # the same time in another room is no move
            moved = replace(
                template,
                starts_at=slot.starts_at,
                ends_at=slot.ends_at,
                room_id=slot.room_id,
                staff_member_id=slot.staff_member_id if not no_staff else template.staff_member_id,
            )
            # on the calendar as it is (as the reschedule or the booking will see it)
            _free(finder, held)
            dependents = (
                dependents_for(protocol, finder, course, old, moved)
                if old is not None
                else new_dependents_for(protocol, finder, course, moved)
            )
            for h in held:
                finder.reserve(h.starts_at, h.ends_at, h.room_id, h.staff_member_id, -1)
            _hold(finder, held, slot)
            if dependents is None:
                continue  # its integration session would have no place: the dose would be flagged
            changes = [moved, *(dependents or ())]
            if introduced_flags(ctx, changes, pool, as_of=now):
                continue
            found.append(
                Suggestion(slot.starts_at, slot.ends_at, moved.room_id, moved.staff_member_id, tuple(dependents or ()))
            )
            taken += 1
            if len(found) == limit:
                break
        _free(finder, held)  # the slots tried that day are free again
        if len(found) == limit:
            break
    return found


def _hold(finder: SlotFinder, held: list[Slot], slot: Slot) -> None:
    """Reserve a slot tried (for no patient) so that the next search of the day finds another."""
    finder.reserve(slot.starts_at, slot.ends_at, slot.room_id, slot.staff_member_id, -1)
    held.append(slot)


def _free(finder: SlotFinder, held: list[Slot]) -> None:
    for h in held:
        finder.release(h.starts_at, h.ends_at, h.room_id, h.staff_member_id, -1)
