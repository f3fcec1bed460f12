"""Payer authorizations of a patient's protocol: record, change, and read with the units used."""

from __future__ import annotations

from datetime import date

from scheduler.db import db_session
from scheduler.domain import values as v
from scheduler.errors import UnprocessableError
from scheduler.models import Authorization, Patient
from scheduler.services import audit, inputs

FIELDS = ("payer", "reference", "protocol", "units_authorized", "valid_from", "valid_to")


def _check(valid_from: date, valid_to: date) -> None:
    if valid_to < valid_from:
        raise UnprocessableError("valid_to is before valid_from.", field="valid_to")


def add(actor_id: int | None, patient: Patient, **fields) -> Authorization:
    _check(fields["valid_from"], fields["valid_to"])
    row = Authorization(patient_id=patient.id, created_by_id=actor_id, **fields)
    db_session.add(row)
    audit.record(actor_id, "authorization.create", row)
    return row


def update(actor_id: int | None, row: Authorization, changes: dict) -> Authorization:
    _check(changes.get("valid_from", row.valid_from), changes.get("valid_to", row.valid_to))
    before = audit.snapshot(row)
    for key, value in changes.items():
        setattr(row, key, value)
    audit.record(actor_id, "authorization.update", row, before=before)
    return row


def with_use(patient_id: int) -> list[v.Authorization]:
    """The patient's authorizations with the units their doses use (booked, checked in, completed)."""
    db_session.flush()
    return list(inputs.authorization_values(patient_id))
