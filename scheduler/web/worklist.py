"""The flags worklist as the front desk reads it (presentation only, no rule): a plain-language title
per flag code, one row per problem (a patient's missing ride home is one row listing its sessions),
errors first, and for each row the place that fixes it, prefilled."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from flask import url_for

from scheduler.domain.flags import severity_rank

TITLES = {
    "room_double_booked": "Room double-booked",
    "patient_double_booked": "Patient booked twice at once",
    "staff_over_capacity": "Clinician has too many patients at once",
    "staff_unavailable": "Clinician not available",
    "room_unsuitable": "Room not equipped for the session",
    "idle_chair_time": "Chair free long enough for a dose",
    "outside_clinic_hours": "Outside clinic hours",
    "clinic_closed": "Clinic closed that day",
    "doses_too_close": "Doses too close together",
    "induction_gap": "Induction interrupted: doses too far apart",
    "induction_window_exceeded": "Induction takes longer than allowed",
    "maintenance_too_early": "Maintenance dose too early",
    "dose_before_evaluation": "Dose before the evaluation",
    "evaluation_expired": "Evaluation too old for the first dose",
    "integration_missing": "Integration session missing",
    "follow_up_missing": "Follow-up visit missing",
    "induction_incomplete": "Induction not finished",
    "maintenance_due": "Maintenance dose due",
    "maintenance_overdue": "Maintenance dose overdue",
    "dosing_hold": "Dose booked during a dosing hold",
    "ride_home_missing": "No ride home arranged",
    "unconfirmed": "Dose not confirmed by the patient",
    "motor_threshold_due": "TMS motor threshold due for re-measurement",
    "rems_form_due": "REMS monitoring form due",
    "rems_form_overdue": "REMS monitoring form overdue",
}
# Codes that repeat one fact about the patient on each of their sessions: one row per patient and course.
PER_PATIENT = ("ride_home_missing", "dosing_hold")
# Codes about a session that should exist: the row's date is the flag's due date.
DUE_CODES = ("maintenance_due", "maintenance_overdue", "follow_up_missing", "induction_incomplete")


def title(code: str) -> str:
    return TITLES.get(code) or code.replace("_", " ").capitalize()


@dataclass
class Row:
    """One problem: its flags (one, or the same fact on several sessions) and how to fix it."""

    code: str
    severity: str
    flags: list = field(default_factory=list)
    action: tuple[str, str] | None = None  # (label, url)

    @property
    def title(self) -> str:
        return title(self.code)

    @property
    def first(self):
        return self.flags[0]

    @property
    def patient_id(self) -> int | None:
        return self.first.patient_id

    @property
    def session_ids(self) -> list[int]:
        out: list[int] = []
        for f in self.flags:
            out += [i for i in f.session_ids if i is not None and i not in out]
        return out

    @property
    def when(self) -> datetime | date | None:
        """What the row is about: a due date for a session that is missing, else its first session."""
        if self.code in DUE_CODES and self.first.on is not None:
            return self.first.on
        return self.first.starts_at or self.first.on

    @property
    def messages(self) -> list[str]:
        return list(dict.fromkeys(f.message for f in self.flags))


def rows(flags, *, replannable=None) -> list[Row]:
    """Group and order the worklist; ``replannable(course_id)`` names a cancelled or missed dose of
    the course to re-plan from (or None)."""
    grouped: dict[tuple, Row] = {}
    key: tuple
    for f in sorted(flags, key=lambda f: f.sort_key()):
        if f.code in PER_PATIENT and f.patient_id is not None:
            key = (f.code, f.patient_id, f.course_id)
        else:
            key = (f.code, f.message, tuple(f.session_ids), f.patient_id, f.room_id)
        row = grouped.get(key)
        if row is None:
            row = grouped[key] = Row(f.code, f.severity)
        row.flags.append(f)
    out = list(grouped.values())
    for row in out:
        row.action = fix(row, replannable=replannable)
    out.sort(key=lambda r: (severity_rank(r.severity), _instant_key(r.when), r.code))
    return out


def _instant_key(when) -> float:
    if isinstance(when, datetime):
        return when.timestamp()
    if isinstance(when, date):
        return datetime(when.year, when.month, when.day).timestamp()
    return float("inf")


def fix(row: Row, *, replannable=None) -> tuple[str, str]:
    """The place that fixes the problem, prefilled: (button label, URL). (A REMS form owed opens its
    session: the front desk sees there that it is owed, a clinician follows the link to the form.)"""
    f = row.first
    pid, course_id = f.patient_id, f.course_id
    if pid and row.code == "ride_home_missing":
        return "Arrange the ride home", url_for(
            "frontdesk.patient_page", patient_id=pid, fix="ride_home"
        ) + "#ride_home_arranged"
    if pid and row.code in ("maintenance_due", "maintenance_overdue"):
        return "Book the maintenance dose", url_for("frontdesk.book_maintenance", patient_id=pid, course_id=course_id)
    if pid and course_id and row.code == "integration_missing":
        on = f.starts_at.date().isoformat() if f.starts_at else (f.on.isoformat() if f.on else None)
        return "Book the integration session", url_for(
            "frontdesk.book_one", patient_id=pid, kind="integration", course_id=course_id, from_on=on, after=_first(f)
        )
    if pid and course_id and row.code == "follow_up_missing":
        return "Book the follow-up", url_for(
            "frontdesk.book_one", patient_id=pid, kind="follow_up", course_id=course_id
        )
    if pid and course_id and row.code in ("dose_before_evaluation", "evaluation_expired"):
        return "Book an evaluation", url_for(
            "frontdesk.book_one", patient_id=pid, kind="evaluation", course_id=course_id
        )
    if pid and course_id and row.code in ("induction_gap", "induction_incomplete"):
        missed = replannable(course_id) if replannable else None
        if missed is not None:
            return "Re-plan the course", url_for("frontdesk.replan", session_id=missed)
        return "Book the next dose", url_for("frontdesk.book_one", patient_id=pid, kind="dose", course_id=course_id)
    if row.code == "idle_chair_time":
        day = f.starts_at.date().isoformat() if f.starts_at else None
        return "Offer the time", url_for("frontdesk.open_time", date=day)
    if row.session_ids:
        return "Open the session", url_for("frontdesk.session_page", session_id=row.session_ids[-1])
    if pid:
        return "Open the patient", url_for("frontdesk.patient_page", patient_id=pid)
    day = f.on or (f.starts_at.date() if f.starts_at else None)
    return "Open the day", url_for("frontdesk.day_board", date=day.isoformat() if day else None)


def _first(f) -> str | None:
    return str(f.session_ids[0]) if f.session_ids else None
