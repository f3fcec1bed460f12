"""Messages to patients as plain rules: when reminders fall due, which channel reaches the patient,
quiet hours, retry backoff and the instructions a reminder carries.

No Flask, no SQLAlchemy: the outbox service calls these with plain values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from scheduler.domain.protocols.model import DoseSpec, Instructions
from scheduler.domain.timezones import zone
from scheduler.domain.vocabulary import SESSION_KINDS

# Hours before the session's start; a clinic may set its own per session kind ("default": the rest).
REMINDER_HOURS_KEYS = (*SESSION_KINDS, "default")  # the keys of a clinic's reminder hours: session kinds
DEFAULT_REMINDER_HOURS: dict[str, tuple[int, ...]] = {"dose": (72, 24), "default": (24,)}
DEFAULT_QUIET_HOURS = "21:00-08:00"
MAX_BACKOFF = timedelta(hours=1)


@dataclass(frozen=True)
class Due:
    kind: str  # the message kind (Message.kind): "reminder" or "booking_confirmation"
    at: datetime


def reminder_hours(session_kind: str, clinic_hours: Mapping[str, Sequence[int]] | None = None) -> tuple[int, ...]:
    """The reminder schedule for a session of ``session_kind``: the clinic's own, else the defaults."""
    for table in (clinic_hours or {}), DEFAULT_REMINDER_HOURS:
        if session_kind in table:
            return tuple(sorted(table[session_kind], reverse=True))
        if "default" in table:
            return tuple(sorted(table["default"], reverse=True))
    return ()


def messages_for_booking(starts_at: datetime, hours: Sequence[int], now: datetime) -> list[Due]:
    """What a booking made at ``now`` sends: a reminder at each scheduled time still ahead, and, when a
    reminder's time has already passed (a late booking), a booking confirmation at once carrying the
    same instructions. Nothing for a session that has started."""
    if starts_at <= now:
        return []
    ahead = [starts_at - timedelta(hours=h) for h in hours]
    due = [Due("reminder", at) for at in ahead if at > now]
    if len(due) < len(ahead):
        due.insert(0, Due("booking_confirmation", now))
    return due


def parse_quiet_hours(text: str) -> tuple[time, time]:
    """``"21:00-08:00"`` → (21:00, 08:00). Raises ValueError naming the problem."""
    try:
        start_text, end_text = text.split("-")
        start, end = time.fromisoformat(start_text.strip()), time.fromisoformat(end_text.strip())
    except ValueError:
        raise ValueError(f"QUIET_HOURS must look like 21:00-08:00, not {text!r}") from None
    if start == end:
        raise ValueError("QUIET_HOURS must not start and end at the same time")
    return start, end


def _in_quiet(local: time, start: time, end: time) -> bool:
    if start < end:
        return start <= local < end
    return local >= start or local < end


def after_quiet_hours(at: datetime, timezone_name: str, quiet: tuple[time, time]) -> datetime:
    """``at`` itself, or the end of the quiet hours it falls in (clinic time, wall clock kept across
    DST: 08:00 is 08:00 on the local calendar)."""
    tz = zone(timezone_name)
    local = at.astimezone(tz)
    start, end = quiet
    if not _in_quiet(local.timetz().replace(tzinfo=None), start, end):
        return at
    day = local.date()
    if start > end and local.time() >= start:
        day += timedelta(days=1)
    wake = datetime.combine(day, end).replace(tzinfo=tz)
    return wake.astimezone(at.tzinfo)


def channel_for(preference: str, *, email: str | None, phone: str | None, sms_enabled: bool) -> tuple[str, str] | None:
    """(channel, address) that reaches the patient, or None. Without an SMS provider an SMS patient
    is reached by email when an email is known."""
    if preference == "email" and email:
        return "email", email
    if preference == "sms":
        if phone and sms_enabled:
            return "sms", phone
        if email:
            return "email", email
    return None


def backoff(attempts: int) -> timedelta:
    """Delay before retry number ``attempts`` (1, 2, 4 … minutes, at most an hour)."""
    return min(timedelta(minutes=2 ** max(attempts - 1, 0)), MAX_BACKOFF)


def instructions(session_kind: str, instructions: Instructions | None, dose: DoseSpec | None) -> list[str]:
    """The lines a reminder for a session of ``session_kind`` carries (the protocol's, for a dose)."""
    inst = instructions or Instructions()
    lines = [f"Please arrive {inst.arrive_early_minutes} minutes early."] if inst.arrive_early_minutes else []
    if session_kind != "dose":
        return lines
    if inst.fasting_hours:
        lines.append(f"Please do not eat for {inst.fasting_hours} hours before your appointment.")
    if inst.clear_liquids_hours:
        lines.append(f"Clear liquids are fine until {inst.clear_liquids_hours} hours before.")
    if dose is not None:
        if dose.observation_minutes:
            lines.append(
                f"After the dose you are monitored for about {dose.observation_minutes} minutes; "
                f"plan about {_hours(dose.duration_minutes)} at the clinic in all."
            )
        if dose.ride_home_required:
            lines.append(
                "A ride home is required: you must not drive after the treatment. "
                "Please tell us who will drive you home."
            )
    lines.extend(inst.notes)
    return lines


def _hours(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    if not rest:
        return f"{hours} hour{'s' if hours != 1 else ''}"
    return f"{hours} h {rest} min" if hours else f"{rest} minutes"
