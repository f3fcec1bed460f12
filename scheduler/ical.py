"""iCalendar (RFC 5545) feeds of treatment sessions, built with the icalendar library.

One VEVENT per session: UID ``session-<id>@<domain>`` (stable for the session's life; the domain is
the ``ICAL_UID_DOMAIN`` setting, never the request's Host), SEQUENCE the session's version (raised
by every change), DTSTAMP the feed's generation time, STATUS CANCELLED for a cancelled session,
DTSTART and DTEND in the clinic's zone with TZID and the clinic's VTIMEZONE. Summaries carry the
kind and the patient's initials and MRN, never clinical content (a feed URL ends up in phone
calendars).

The VTIMEZONE has one onset per STANDARD/DAYLIGHT sub-component (DTSTART only, no RDATE): ical.js
ignores a sub-component's DTSTART once it has an RDATE, which put the feed's first daylight season
an hour off, while vobject and icalendar read the single-onset form the same way.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from icalendar import Calendar, Event, Timezone, TimezoneDaylight, TimezoneStandard

from scheduler.domain.timezones import zone
from scheduler.models import Clinic, TreatmentSession

PRODID = "-//scheduler//treatment sessions//EN"
ICAL_STATUS = {
    "proposed": "TENTATIVE",
    "booked": "CONFIRMED",
    "checked_in": "CONFIRMED",
    "completed": "CONFIRMED",
    "no_show": "CONFIRMED",
    "cancelled": "CANCELLED",
}
KIND_LABEL = {
    "evaluation": "Evaluation",
    "preparation": "Preparation",
    "dose": "Dose",
    "integration": "Integration",
    "follow_up": "Follow-up",
}


def uid(session: TreatmentSession, host: str) -> str:
    return f"session-{session.id}@{host}"


def _initials(name: str) -> str:
    return "".join(part[0].upper() + "." for part in name.split() if part) or "?"


def summary(session: TreatmentSession) -> str:
    label = KIND_LABEL.get(session.kind, session.kind)
    if session.kind == "dose" and session.sequence:
        label += f" {session.sequence}" + (f" ({session.phase})" if session.phase else "")
    text = f"{label} · {_initials(session.patient.name)} {session.patient.mrn}"
    if session.status == "no_show":
        text = "No-show: " + text
    return text


def event(session: TreatmentSession, clinic: Clinic, host: str, stamp: datetime) -> Event:
    tz = zone(clinic.timezone)
    ev = Event()
    ev.add("uid", uid(session, host))
    ev.add("sequence", session.version)
    ev.add("dtstamp", stamp)
    ev.add("last-modified", session.updated_at)
    ev.add("created", session.created_at)
    ev.add("dtstart", session.starts_at.astimezone(tz))
    ev.add("dtend", session.ends_at.astimezone(tz))
    ev.add("summary", summary(session))
    ev.add("location", f"{session.room.name}, {clinic.name}")
    ev.add("status", ICAL_STATUS[session.status])
    ev.add("categories", [session.kind])
    lines = [f"Status: {session.status}"]
    if session.staff_member is not None:
        lines.append(f"Clinician: {session.staff_member.name}")
    if session.status == "cancelled" and session.cancel_reason:
        lines.append(f"Cancelled: {session.cancel_reason}")
    ev.add("description", "\n".join(lines))
    return ev


def _onsets(sub) -> list:
    """A sub-component's onsets: its DTSTART and every RDATE."""
    starts = [sub.decoded("DTSTART")]
    rdates = sub.get("RDATE", [])
    for prop in rdates if isinstance(rdates, list) else [rdates]:
        starts += [d.dt for d in prop.dts]
    return starts


def vtimezone(tzid: str, first: date, last: date) -> Timezone:
    """The zone's rules from ``first`` to ``last`` (icalendar's, from the tz database), rewritten
    with one onset per sub-component."""
    built = Timezone.from_tzid(tzid, first_date=first, last_date=last)
    out = Timezone()
    out.add("tzid", tzid)
    parts = []
    for sub in built.subcomponents:
        for start in _onsets(sub):
            part = TimezoneDaylight() if sub.name == "DAYLIGHT" else TimezoneStandard()
            part.add("dtstart", start)
            for key in ("TZNAME", "TZOFFSETFROM", "TZOFFSETTO"):
                if key in sub:
                    part.add(key, sub.decoded(key))
            parts.append(part)
    for part in sorted(parts, key=lambda c: c.decoded("DTSTART")):
        out.add_component(part)
    return out


def calendar(
    name: str, sessions: Iterable[TreatmentSession], clinics: dict[int, Clinic], host: str, stamp: datetime
) -> bytes:
    """A VCALENDAR with one VTIMEZONE per clinic involved and one VEVENT per session; ``stamp`` (the
    feed's generation time) is every event's DTSTAMP."""
    sessions = list(sessions)
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    zones = sorted({clinics[s.clinic_id].timezone for s in sessions} or {c.timezone for c in clinics.values()})
    first = min((s.starts_at.date() for s in sessions), default=stamp.date()).replace(month=1, day=1)
    last = max((s.ends_at.date() for s in sessions), default=stamp.date()).replace(month=12, day=31)
    for tzid in zones:
        cal.add_component(vtimezone(tzid, first, last))
        if len(zones) == 1:
            cal.add("x-wr-timezone", tzid)
    for s in sessions:
        cal.add_component(event(s, clinics[s.clinic_id], host, stamp))
    return cal.to_ical()
