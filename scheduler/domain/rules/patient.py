"""Patient: no dose while a clinician holds dosing; a ride home when the protocol's dose needs one.

Predicates: :func:`on_dosing_hold`, :func:`needs_ride_home` (the planner and the re-planner ask the
same questions of the patient before proposing doses).
"""
from __future__ import annotations

from scheduler.domain.protocols import SessionSpec
from scheduler.domain.rules.calendar import session_flag
from scheduler.domain.rules.model import Flag, FlagContext
from scheduler.domain.values import Patient, Session

UPCOMING_STATUSES = ("proposed", "booked", "checked_in")


def on_dosing_hold(patient: Patient | None) -> bool:
    return patient is not None and patient.on_dosing_hold


def needs_ride_home(spec: SessionSpec | None, patient: Patient | None) -> bool:
    """A dose of ``spec`` that requires a ride home, for a patient without one arranged."""
    return (patient is not None and spec is not None and getattr(spec, "ride_home_required", False)
            and not patient.ride_home_arranged)


def patient_flags_of(ctx: FlagContext, s: Session) -> list[Flag]:
    """dosing_hold and ride_home_missing for one upcoming dose."""
    if s.kind != "dose" or s.status not in UPCOMING_STATUSES:
        return []
    out: list[Flag] = []
    patient = ctx.patients.get(s.patient_id)
    if on_dosing_hold(patient):
        out.append(session_flag(
            ctx, "dosing_hold", s,
            f"{ctx.patient_name(s.patient_id)} is on a dosing hold set by a clinician, "
            f"but {ctx.label(s)} is booked on {ctx.span(s.starts_at, s.ends_at)}.",
            "Cancel the dose, or have the prescriber lift the hold first."))
    spec = ctx.spec_of(s)
    if needs_ride_home(spec, patient):
        out.append(session_flag(
            ctx, "ride_home_missing", s,
            f"No ride home is arranged for {ctx.patient_name(s.patient_id)} after {ctx.label(s)} on "
            f"{ctx.when(s.starts_at)}; {ctx.protocol_of(s).key} doses require one.",
            "Arrange a ride home and record it on the patient."))
    return out
