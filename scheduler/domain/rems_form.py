"""The Spravato REMS Patient Monitoring Form: its versioned field set and the validation of values.

The form is recorded per esketamine session by a clinician and kept for submission to the REMS. The
field set carries a version (:data:`FIELD_SET_VERSION`, stored with each form): when the programme's
form changes, a new version is added here and old forms keep the one they were filed with.

Plain values only: :func:`validate` turns a mapping of raw values into the cleaned fields or raises
:class:`FormError` naming the field and the problem.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

FIELD_SET_VERSION = 1
MIN_MONITORING_MINUTES = 120  # SPRAVATO PI §2 / REMS: monitoring for at least 2 hours
READY_WITHIN = timedelta(hours=12)  # ready to leave at most this long after the session's end (else a typo)


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    kind: str  # systolic | diastolic | choice | minutes | text | instant
    choices: tuple[str, ...] = ()
    required: bool = True


BP_RANGES = {"systolic": (60, 260), "diastolic": (30, 160)}  # plausible mmHg, else a typing mistake
SEVERITY = ("none", "mild", "moderate", "severe")
RESPIRATORY = ("normal", "changes_resolved", "respiratory_depression")

FIELD_SETS: dict[int, tuple[Field, ...]] = {
    1: (
        Field("bp_before_systolic", "Blood pressure before dosing, systolic (mmHg)", "systolic"),
        Field("bp_before_diastolic", "Blood pressure before dosing, diastolic (mmHg)", "diastolic"),
        Field("bp_40min_systolic", "Blood pressure ~40 min after dosing, systolic (mmHg)", "systolic"),
        Field("bp_40min_diastolic", "Blood pressure ~40 min after dosing, diastolic (mmHg)", "diastolic"),
        Field("bp_discharge_systolic", "Blood pressure at discharge, systolic (mmHg)", "systolic"),
        Field("bp_discharge_diastolic", "Blood pressure at discharge, diastolic (mmHg)", "diastolic"),
        Field("sedation", "Sedation", "choice", SEVERITY),
        Field("dissociation", "Dissociation", "choice", SEVERITY),
        Field("respiratory_status", "Respiratory status", "choice", RESPIRATORY),
        Field("monitoring_minutes", "Total monitoring time (minutes)", "minutes"),
        Field("monitoring_reason", "Why monitoring was shorter than 120 minutes", "text", required=False),
        Field("ready_to_leave_at", "When the patient was ready to leave", "instant"),
        Field("adverse_events", "Adverse events (none: leave empty)", "text", required=False),
    )
}
FIELDS = FIELD_SETS[FIELD_SET_VERSION]
FIELD_NAMES = tuple(f.name for f in FIELDS)
BP_PAIRS = (
    ("bp_before_systolic", "bp_before_diastolic"),
    ("bp_40min_systolic", "bp_40min_diastolic"),
    ("bp_discharge_systolic", "bp_discharge_diastolic"),
)


class FormError(ValueError):
    def __init__(self, field: str, problem: str):
        self.field, self.problem = field, problem
        super().__init__(f"{field}: {problem}")


def validate(values: Mapping[str, Any], *, session_start: datetime, session_end: datetime) -> dict[str, Any]:
    """The cleaned fields of a form for a session over ``[session_start, session_end)``.

    Blood pressure within :data:`BP_RANGES` and systolic above diastolic; monitoring at least
    :data:`MIN_MONITORING_MINUTES` or a ``monitoring_reason``; ``ready_to_leave_at`` (aware) after the
    dose started and at most 12 hours after the session's end. ``ready_to_leave_at`` must already be a
    datetime (the API parses the text)."""
    out: dict[str, Any] = {}
    for f in FIELDS:
        value = values.get(f.name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if f.required:
                raise FormError(f.name, "is required")
            out[f.name] = None
            continue
        if f.kind in BP_RANGES or f.kind == "minutes":
            if isinstance(value, bool) or not isinstance(value, int):
                raise FormError(f.name, "must be a whole number")
            lo, hi = BP_RANGES.get(f.kind, (0, 720))
            if not lo <= value <= hi:
                raise FormError(f.name, f"{value} is not plausible (expected {lo}–{hi})")
        elif f.kind == "choice":
            if value not in f.choices:
                raise FormError(f.name, f"must be one of {', '.join(f.choices)}")
        elif f.kind == "text":
            if not isinstance(value, str) or len(value) > (500 if f.name == "monitoring_reason" else 4000):
                raise FormError(f.name, "must be text (at most 500 characters for the reason, 4000 for events)")
            value = value.strip()
        elif f.kind == "instant":
            if not isinstance(value, datetime) or value.tzinfo is None:
                raise FormError(f.name, "must be a date and time with its UTC offset")
            if value < session_start:
                raise FormError(f.name, "is before the dose started")
            if value > session_end + READY_WITHIN:
                raise FormError(f.name, "is more than 12 hours after the session's end")
        out[f.name] = value
    for systolic, diastolic in BP_PAIRS:
        if out[systolic] <= out[diastolic]:
            raise FormError(diastolic, f"{out[diastolic]} is not below the systolic {out[systolic]}")
    if out["monitoring_minutes"] < MIN_MONITORING_MINUTES and not out["monitoring_reason"]:
        raise FormError(
            "monitoring_reason",
            f"monitoring of {out['monitoring_minutes']} minutes is under {MIN_MONITORING_MINUTES}: say why",
        )
    return out
