"""Import patients: one row per patient, matched by MRN (create, update the demographics, or unchanged)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from scheduler.db import db_session
from scheduler.domain import imports as cells
from scheduler.domain.imports import ImportReport, Problem, RowOutcome
from scheduler.models import Patient
from scheduler.services import audit, scope

SIZES = {"mrn": 64, "name": 200, "email": 200, "phone": 40}
CHUNK = 500


def existing_by_mrn(mrns: list[str]) -> dict[str, Patient]:
    found: dict[str, Patient] = {}
    for i in range(0, len(mrns), CHUNK):
        # A patient the user may not see is not theirs to update (its MRN then clashes as a new one).
        for p in db_session.scalars(
            select(Patient).where(Patient.mrn.in_(mrns[i : i + CHUNK]), scope.patient_clause(Patient.id))
        ):
            found[p.mrn] = p
    return found


def _values(line: int, row: dict[str, str], problems: list[Problem]) -> dict:
    """The row's values (only the cells given: a blank optional cell is left out)."""
    values: dict = {}

    def read(column: str, parse) -> None:
        cell = row.get(column, "")
        if cell == "":
            if column in cells.PATIENT_REQUIRED:
                problems.append(Problem(line, column, "a value is required", code="required"))
            return
        try:
            values[column] = parse(cell)
        except cells.CellError as exc:
            problems.append(Problem(line, column, str(exc), code="invalid"))

    for column, size in SIZES.items():
        read(column, lambda c, n=size: cells.text(c, max_length=n))
    read("birth_date", cells.day)
    read("ride_home_arranged", cells.boolean)
    born = values.get("birth_date")
    if born is not None and (born > date.today() or born.year < 1900):
        problems.append(
            Problem(
                line,
                "birth_date",
                f"{born} is {'in the future' if born > date.today() else 'before 1900'}",
                code="invalid",
            )
        )
    return values


def import_rows(
    actor_id: int | None, rows: list[tuple[int, dict[str, str]]], report: ImportReport, *, reason: str
) -> None:
    known = existing_by_mrn(sorted({row["mrn"] for _, row in rows if row.get("mrn")}))
    first_line: dict[str, int] = {}
    written: list[tuple[RowOutcome, Patient, str, dict | None]] = []
    for line, row in rows:
        problems: list[Problem] = []
        values = _values(line, row, problems)
        mrn = values.get("mrn", row.get("mrn", ""))
        if mrn and mrn in first_line:
            problems.append(
                Problem(line, "mrn", f"MRN {mrn} is also on line {first_line[mrn]} of this file", code="duplicate")
            )
        first_line.setdefault(mrn, line)
        outcome = RowOutcome(line=line, key=mrn, action="refused", problems=problems)
        report.rows.append(outcome)
        if any(p.severity == "error" for p in problems):
            continue
        patient = known.get(mrn)
        if patient is None:
            patient = Patient(
                mrn=mrn,
                name=values["name"],
                birth_date=values["birth_date"],
                email=values.get("email"),
                phone=values.get("phone"),
                ride_home_arranged=values.get("ride_home_arranged", False),
            )
            db_session.add(patient)
            known[mrn] = patient
            outcome.action = "create"
            written.append((outcome, patient, "patient.create", None))
        else:
            changes = {k: v for k, v in values.items() if k != "mrn" and getattr(patient, k) != v}
            if changes:
                before = audit.snapshot(patient)
                for key, value in changes.items():
                    setattr(patient, key, value)
                outcome.action = "update"
                written.append((outcome, patient, "patient.update", before))
            else:
                outcome.action = "unchanged"
                outcome.entity_id = patient.id
    # One flush for the whole file, then one audit event per patient written.
    db_session.flush()
    for outcome, patient, _, _ in written:
        outcome.entity_id = patient.id
    db_session.add_all(
        [
            audit.event(
                actor_id, action, "patient", patient.id, before=before, after=audit.snapshot(patient), reason=reason
            )
            for _, patient, action, before in written
        ]
    )
    db_session.flush()
