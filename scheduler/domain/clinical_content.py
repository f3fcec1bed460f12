"""What of the record is clinical, and its redaction for readers who may not see it.

One table and one set of functions, used by every answer that can carry clinical content to a
role without ``read_clinical``: the audit trail (API and FHIR AuditEvent export), the patient
serialiser (the dosing hold's reason) and the exports.
"""

from __future__ import annotations

from typing import Any

# Columns that are clinical content, by table (= audit entity_type).
CLINICAL_COLUMNS: dict[str, frozenset[str]] = {
    "patient": frozenset({"dosing_hold_reason"}),
    "assessment": frozenset({"instrument", "score"}),
    "clinical_note": frozenset({"body"}),
    # The REMS Patient Monitoring Form: every observation is clinical (that a form exists is not).
    "rems_monitoring_form": frozenset(
        {
            "bp_before_systolic",
            "bp_before_diastolic",
            "bp_40min_systolic",
            "bp_40min_diastolic",
            "bp_discharge_systolic",
            "bp_discharge_diastolic",
            "sedation",
            "dissociation",
            "respiratory_status",
            "monitoring_minutes",
            "monitoring_reason",
            "ready_to_leave_at",
            "adverse_events",
        }
    ),
}
# Tables whose every row is clinical (left out of a redacted export).
CLINICAL_TABLES = frozenset({"assessment", "clinical_note", "rems_monitoring_form"})
# Audit actions whose reason is clinical (why a clinician placed or lifted a dosing hold).
CLINICAL_REASONS = frozenset({"patient.dosing_hold", "patient.dosing_hold_lift"})
REDACTED = "[clinical content: clinicians only]"


def redact_value(value: Any) -> Any:
    """The redaction marker in place of a value (nothing stays nothing)."""
    return None if value is None else REDACTED


def clinical_field(entity_type: str, column: str, value: Any, *, clinical: bool, hidden: Any = REDACTED) -> Any:
    """One column's value as a reader sees it: itself for clinicians (or a non-clinical column),
    else ``hidden`` (the serialisers show a hidden dosing-hold reason as null)."""
    if clinical or column not in CLINICAL_COLUMNS.get(entity_type, ()) or value is None:
        return value
    return hidden


def redact_state(entity_type: str, state: Any) -> Any:
    """An entity's state (a row, an audit snapshot) with its clinical columns redacted."""
    hidden = CLINICAL_COLUMNS.get(entity_type)
    if not hidden or not isinstance(state, dict):
        return state
    return {k: (redact_value(v) if k in hidden else v) for k, v in state.items()}


def redact_reason(action: str, reason: str | None) -> str | None:
    return redact_value(reason) if action in CLINICAL_REASONS else reason


def redact_audit_event(event: dict) -> dict:
    """An audit event (``entity_type``, ``action``, ``before``, ``after``, ``reason``) as a reader
    without clinical access may see it: that something clinical happened, by whom and when."""
    return {
        **event,
        "before": redact_state(event["entity_type"], event.get("before")),
        "after": redact_state(event["entity_type"], event.get("after")),
        "reason": redact_reason(event["action"], event.get("reason")),
    }
