"""Patient: no dose while a clinician holds dosing; a ride home when the protocol's dose needs one
(arranged on the patient, or named for that session through the reminder's link); a dose confirmed
by the patient by the day before.

Predicates: :func:`on_dosing_hold`, :func:`needs_ride_home` (the planner and the re-planner ask the
same questions of the patient before proposing doses), :func:`unconfirmed`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from scheduler.domain.protocols import SessionSpec
from scheduler.domain.rules.calendar import session_flag
from scheduler.domain.rules.model import Flag, FlagContext
from scheduler.domain.values import Patient, Session

UPCOMING_STATUSES = ("proposed", "booked", "checked_in")


def on_dosing_hold(patient: Patient | None) -> bool:
    return patient is not None and patient.on_dosing_hold


def needs_ride_home(spec: SessionSpec | None, patient: Patient | None) -> bool:
    """A dose of ``spec`` that requires a ride home, for a patient without one arranged."""
    return (
        patient is not None
        and spec is not None
        and getattr(spec, "ride_home_required", False)
        and not patient.ride_home_arranged
    )


def _upcoming_dose(s: Session) -> bool:
    return s.kind == "dose" and s.status in UPCOMING_STATUSES


def dosing_hold_flags(ctx: FlagContext, s: Session) -> list[Flag]:
    """dosing_hold for one upcoming dose of a patient a clinician put on a dosing hold."""
    if not _upcoming_dose(s) or not on_dosing_hold(ctx.patients.get(s.patient_id)):
        return []
    return [
        session_flag(
            ctx,
            "dosing_hold",
            s,
            f"{ctx.patient_name(s.patient_id)} is on a dosing hold set by a clinician, "
            f"but {ctx.label(s)} is booked on {ctx.span(s.starts_at, s.ends_at)}.",
            "Cancel the dose, or have the prescriber lift the hold first.",
        )
    ]


def ride_home_flags(ctx: FlagContext, s: Session) -> list[Flag]:
    """ride_home_missing for one upcoming dose that needs a ride home none is arranged for."""
    if not _upcoming_dose(s) or s.ride_home_by or not needs_ride_home(ctx.spec_of(s), ctx.patients.get(s.patient_id)):
        return []
    return [
        session_flag(
            ctx,
            "ride_home_missing",
            s,
            f"No ride home is arranged for {ctx.patient_name(s.patient_id)} after {ctx.label(s)} on "
            f"{ctx.when(s.starts_at)}; {ctx.protocol_name(s)} doses require one.",
            "Arrange a ride home and record it on the patient.",
        )
    ]


# A dose should be confirmed by the patient this long before it starts.
CONFIRM_BY = timedelta(hours=24)


def unconfirmed(s: Session, as_of: datetime) -> bool:
    """A booked dose starting within :data:`CONFIRM_BY` of ``as_of`` that the patient has not
    confirmed (once it has started, attendance is what matters)."""
    return (
        s.kind == "dose"
        and s.status == "booked"
        and s.confirmed_at is None
        and s.starts_at - CONFIRM_BY <= as_of < s.starts_at
    )


def unconfirmed_flags(
    ctx: FlagContext, sessions: Iterable[Session], as_of: datetime, scope: set[int] | None = None
) -> list[Flag]:
    return [
        session_flag(
            ctx,
            "unconfirmed",
            s,
            f"{ctx.patient_name(s.patient_id)} has not confirmed {ctx.label(s)} on {ctx.when(s.starts_at)}, "
            "which starts within 24 hours.",
            "Call the patient to confirm (and ask who drives them home), or offer the chair to the waitlist.",
        )
        for s in sessions
        if (scope is None or s.id in scope) and unconfirmed(s, as_of)
    ]
