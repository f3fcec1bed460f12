"""The pages' calls into the planning services (course planning, slot suggestions, re-planning).

Kept in one place so the page modules stay thin while the services' names settle."""
from __future__ import annotations

from datetime import datetime, timedelta

from scheduler.domain.values import Preferences
from scheduler.errors import ValidationError


def plan(actor_id: int, patient, params: dict, *, dry_run: bool, override_reason: str | None = None):
    """Plan (``dry_run``) or book a course: ``services.courses.CourseResult``."""
    from scheduler.services import courses

    try:
        prefs = Preferences(weekdays=params["preferences"].get("weekdays"),
                            earliest=params["preferences"].get("earliest"),
                            latest=params["preferences"].get("latest"))
    except ValueError as exc:
        raise ValidationError(str(exc).capitalize() + ".", field="weekdays") from None
    return courses.plan_and_book(actor_id, patient.id, params["clinic_id"], params["protocol"], params["start_on"],
                                 prefs, dry_run=dry_run, override_reason=override_reason)


SUGGESTIONS = 6
SEARCH_DAYS = 10
PER_DAY = 2


def _spec_for(session, clinic_inputs):
    """The protocol's rule for this kind of session (room capability, clinician role), else the
    session's own room and clinician; the length is always the session's own."""
    from scheduler.domain.protocols import SessionSpec
    from scheduler.protocols_registry import protocols

    minutes = int((session.ends_at - session.starts_at).total_seconds() // 60)
    spec = None
    proto = protocols().get(session.course.protocol_key) if session.course is not None else None
    if proto is not None:
        if session.kind == "dose":
            spec = proto.maintenance.dose if session.phase == "maintenance" and proto.maintenance else proto.dose
        else:
            spec = getattr(proto, session.kind, None)
    if spec is not None:
        return SessionSpec(duration_minutes=minutes, capability=spec.capability, role=spec.role), False
    room = clinic_inputs.room(session.room_id)
    member = clinic_inputs.staff_member(session.staff_member_id)
    capability = session.route or (room.capabilities[0] if room and room.capabilities else "consult")
    return (SessionSpec(duration_minutes=minutes, capability=capability, role=member.role if member else "nurse"),
            member is None)


def suggest_slots(session, *, now: datetime | None = None) -> list:
    """Free slots to move ``session`` to: the same length, a suitable room and clinician, near its
    old time of day, from today over the next days, keeping only those the flag rules raise no
    error on. (No service offers suggestions yet; this composes the planner's SlotFinder and the
    flag service, and adds no rule of its own.)"""
    from dataclasses import replace

    from scheduler.domain.planning import SlotFinder
    from scheduler.domain.timezones import local_date, local_time
    from scheduler.models import utcnow
    from scheduler.services import flags as flag_service
    from scheduler.services import inputs

    now = now or utcnow()
    clinic = inputs.clinic_row(session.clinic_id)
    tz = clinic.timezone
    first = max(local_date(now, tz), local_date(session.starts_at, tz) - timedelta(days=3))
    days = [first + timedelta(days=i) for i in range(SEARCH_DAYS)]
    window = inputs.local_range(clinic, days[0], days[-1])
    loaded = inputs.clinic_inputs(clinic.id, window, patient_ids=[session.patient_id])
    spec, no_staff = _spec_for(session, loaded)
    others = [s for s in loaded.sessions if s.id != session.id]
    finder = SlotFinder(loaded.clinic, loaded.rooms, loaded.staff, inputs.patient_value(session.patient), others)
    original = inputs.session_value(session)
    found = []
    for d in days:
        for _ in range(PER_DAY):
            slots = finder.search(spec, [d], not_before=now, time_hint=local_time(session.starts_at, tz),
                                  room_hint=session.room_id, staff_hint=session.staff_member_id,
                                  no_staff=no_staff)
            if not slots:
                break
            slot = slots[0]
            finder.reserve(slot.starts_at, slot.ends_at, slot.room_id, slot.staff_member_id, -1)  # next: another
            if slot.starts_at == session.starts_at:  # the same time in another room is no move
                continue
            candidate = replace(original, starts_at=slot.starts_at, ends_at=slot.ends_at, room_id=slot.room_id,
                                staff_member_id=slot.staff_member_id if not no_staff else session.staff_member_id)
            problems = flag_service.for_candidate(candidate, exclude_ids=(session.id,))
            if any(f.severity == "error" for f in problems):
                break  # a rule of the day (spacing, closure, hold): later times that day fare no better
            found.append(slot)
            if len(found) == SUGGESTIONS:
                return found
    return found


def replan(actor_id: int | None, session, *, apply: bool, version: int | None):
    from scheduler.services import replanning

    return replanning.replan(actor_id, session, apply=apply, version=version)
