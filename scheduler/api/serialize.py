"""Entities → JSON. Instants are rendered with the clinic's offset; dates are the clinic's dates."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, time
from zoneinfo import ZoneInfo

from scheduler.auth import can
from scheduler.domain.clinical_content import clinical_field
from scheduler.domain.vocabulary import WEEKDAYS
from scheduler.models import Clinic, Closure, OpeningHours, Patient, Room, StaffMember, WorkingHours


def hhmm(t: time | None) -> str | None:
    return None if t is None else t.strftime("%H:%M")


def instant(value: datetime | None, tz: str | ZoneInfo | None = None) -> str | None:
    if value is None:
        return None
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    return (value.astimezone(zone) if zone else value).isoformat()


def weekly(rows: Iterable[OpeningHours | WorkingHours]) -> dict[str, list[list[str | None]]]:
    out: dict[str, list[list[str | None]]] = {}
    for row in rows:
        out.setdefault(WEEKDAYS[row.weekday], []).append([hhmm(row.start_time), hhmm(row.end_time)])
    return out


def closure(c: Closure) -> dict:
    return {
        "id": c.id,
        "clinic_id": c.clinic_id,
        "starts_on": c.starts_on.isoformat(),
        "ends_on": c.ends_on.isoformat(),
        "from_time": hhmm(c.from_time),
        "until_time": hhmm(c.until_time),
        "reason": c.reason,
    }


def clinic(c: Clinic, *, with_closures: bool = True) -> dict:
    data = {
        "id": c.id,
        "name": c.name,
        "timezone": c.timezone,
        "hours": weekly(c.opening_hours),
        "waitlist_auto_offer": c.waitlist_auto_offer,
        "reminder_hours": c.reminder_hours,
        "rems_certification_id": c.rems_certification_id,
    }
    if with_closures:
        data["closures"] = [closure(x) for x in c.closures]
    return data


def room(r: Room) -> dict:
    return {
        "id": r.id,
        "clinic_id": r.clinic_id,
        "name": r.name,
        "capabilities": list(r.capabilities),
        "active": r.active,
    }


def staff_member(s: StaffMember) -> dict:
    return {
        "id": s.id,
        "clinic_id": s.clinic_id,
        "name": s.name,
        "role": s.role,
        "capacity": s.capacity,
        "active": s.active,
        "hours": weekly(s.working_hours) if s.working_hours else None,
        "time_off": [
            {
                "id": t.id,
                "starts_at": instant(t.starts_at, s.clinic.timezone),
                "ends_at": instant(t.ends_at, s.clinic.timezone),
                "reason": t.reason,
            }
            for t in s.time_off
        ],
    }


def patient(p: Patient) -> dict:
    return {
        "id": p.id,
        "mrn": p.mrn,
        "name": p.name,
        "birth_date": p.birth_date.isoformat(),
        "phone": p.phone,
        "email": p.email,
        "ride_home_arranged": p.ride_home_arranged,
        "contact_preference": p.contact_preference,
        "contact_opted_out_at": instant(p.contact_opted_out_at),
        "rems_enrollment_id": p.rems_enrollment_id,
        "rems_enrolled_on": p.rems_enrolled_on.isoformat() if p.rems_enrolled_on else None,
        # The hold is scheduling information; its reason is clinical (front desk sees null).
        "dosing_hold": (
            {
                "reason": clinical_field(
                    "patient", "dosing_hold_reason", p.dosing_hold_reason, clinical=can("read_clinical"), hidden=None
                ),
                "since": instant(p.dosing_hold_since),
            }
            if p.dosing_hold_reason
            else None
        ),
    }


def patient_match(m) -> dict:
    """A search result (``services.directory.PatientMatch``): the patient, open course, next session."""
    return {
        **patient(m.patient),
        "open_course": course(m.open_course) if m.open_course else None,
        "next_session": session(m.next_session) if m.next_session else None,
    }


# ---------------------------------------------------------------- sessions, courses, flags


def session(s, tz: str | ZoneInfo | None = None, *, flags: list | None = None) -> dict:
    """A treatment session; ``tz`` is the clinic's zone (defaults to the session's clinic)."""
    if tz is None:  # the setup cache: no statement when the request has met the clinic already
        from scheduler.services.setup_cache import setup

        tz = setup(s.clinic_id).timezone
    data = {
        "id": s.id,
        "clinic_id": s.clinic_id,
        "patient_id": s.patient_id,
        "course_id": s.course_id,
        "room_id": s.room_id,
        "staff_member_id": s.staff_member_id,
        "kind": s.kind,
        "phase": s.phase,
        "sequence": s.sequence,
        "route": s.route,
        "dose_mg": None if s.dose_mg is None else str(s.dose_mg),
        "starts_at": instant(s.starts_at, tz),
        "ends_at": instant(s.ends_at, tz),
        "status": s.status,
        "cancel_reason": s.cancel_reason,
        "cancelled_at": instant(s.cancelled_at, tz),
        "override_reason": s.override_reason,
        "notes": s.notes,
        "version": s.version,
        "confirmed_at": instant(s.confirmed_at, tz),
        "ride_home_by": s.ride_home_by,
        "reschedule_requested_at": instant(s.reschedule_requested_at, tz),
    }
    if flags is not None:
        data["flags"] = [flag(f) for f in flags]
    return data


def course(c) -> dict:
    return {
        "id": c.id,
        "patient_id": c.patient_id,
        "clinic_id": c.clinic_id,
        "protocol": c.protocol_key,
        "start_on": c.start_on.isoformat(),
        "preferences": c.preferences or {},
        "status": c.status,
        "stopped_reason": c.stopped_reason,
    }


def flag(f) -> dict:
    """A computed flag (``scheduler.domain.rules.Flag``) or a plan's problem: its ``to_dict``."""
    return f.to_dict()


def closure_value(c) -> dict:
    """A closure as the domain sees it (``scheduler.domain.values.Closure``)."""
    return {
        "id": c.id,
        "starts_on": c.starts_on.isoformat(),
        "ends_on": c.ends_on.isoformat(),
        "from_time": hhmm(c.from_time),
        "until_time": hhmm(c.until_time),
        "reason": c.reason,
    }


# ---------------------------------------------------------------- messages and the waitlist


def message(m) -> dict:
    return {
        "id": m.id,
        "kind": m.kind,
        "channel": m.channel,
        "to": m.to,
        "patient_id": m.patient_id,
        "session_id": m.session_id,
        "offer_id": m.offer_id,
        "due_at": instant(m.due_at),
        "status": m.status,
        "attempts": m.attempts,
        "sent_at": instant(m.sent_at),
        "last_error": m.last_error,
    }


def waitlist_entry(e) -> dict:
    return {
        "id": e.id,
        "patient_id": e.patient_id,
        "clinic_id": e.clinic_id,
        "kind": e.kind,
        "protocol": e.protocol,
        "earliest_on": e.earliest_on.isoformat(),
        "latest_on": e.latest_on.isoformat(),
        "preferences": e.preferences or {},
        "status": e.status,
        "session_id": e.session_id,
        "created_at": instant(e.created_at),
    }


def waitlist_offer(o, tz: str | None = None) -> dict:
    return {
        "id": o.id,
        "entry_id": o.entry_id,
        "clinic_id": o.clinic_id,
        "room_id": o.room_id,
        "staff_member_id": o.staff_member_id,
        "starts_at": instant(o.starts_at, tz),
        "ends_at": instant(o.ends_at, tz),
        "status": o.status,
        "freed_session_id": o.freed_session_id,
        "session_id": o.session_id,
        "created_at": instant(o.created_at, tz),
    }
