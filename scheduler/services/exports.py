"""Export everything (JSON lines or CSV, one file per table plus ``manifest.json``) and restore a
JSON-lines export into an empty, freshly migrated database.

What goes out: every table — clinics with their hours and closures, rooms, staff with working hours
and time off, users (roles, never tokens; password hashes only in an operator's full export),
patients, courses, sessions, assessments, clinical notes, the outbox, the waitlist and the audit
trail — except secrets and transient state (API and feed tokens, patient links, idempotency keys,
FHIR slot holds). A redacted export (for a role without
``read_clinical``) leaves out assessments and notes, blanks the dosing-hold reason and redacts the
same fields inside audit events; it cannot be restored. Rows keep their ids, so a restore is the
same data, and the ids the FHIR export and the audit trail name still match.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import date, datetime, time
from decimal import Decimal
from typing import TextIO

from sqlalchemy import JSON, Date, Numeric, Time, func, insert, select, text

from scheduler.db import db_session, is_postgres
from scheduler.domain.clinical_content import CLINICAL_TABLES, redact_audit_event, redact_state
from scheduler.models import AuditEvent, Base, UTCDateTime, utcnow
from scheduler.services import audit
from scheduler.services.audit import _json_safe

FORMATS = ("jsonl", "csv")
# Tables whose rows never leave (secrets, transient state); a restore needs them empty too.
NOT_EXPORTED = {"api_token", "feed_token", "idempotency_key", "appointment_hold", "patient_link", "sign_in_throttle"}


def _all_models() -> tuple:
    """Every mapped table except NOT_EXPORTED, parents before children (a table added later is
    exported and restored without a change here)."""
    by_table = {m.class_.__tablename__: m.class_ for m in Base.registry.mappers}
    return tuple(
        by_table[t.name] for t in Base.metadata.sorted_tables if t.name in by_table and t.name not in NOT_EXPORTED
    )


MODELS = _all_models()
CHUNK = 1000

# The export files are a contract (integrations read them): a column renamed after they were published
# keeps its published name there, in both formats, and a restore reads that name. Migration 0013 gave
# the hours' local times of day the ``*_time`` names; the files still say ``opens_at``/``starts_at``…
EXPORTED_AS: dict[tuple[str, str], str] = {
    ("opening_hours", "start_time"): "opens_at",
    ("opening_hours", "end_time"): "closes_at",
    ("working_hours", "start_time"): "starts_at",
    ("working_hours", "end_time"): "ends_at",
}


def exported_name(table: str, column: str) -> str:
    """The column's name in the export files."""
    return EXPORTED_AS.get((table, column), column)


Opener = Callable[[str], AbstractContextManager[TextIO]]


class RestoreError(ValueError):
    """The export cannot be restored here; the message names the file and line."""


def tables(*, clinical: bool) -> list:
    return [m for m in MODELS if clinical or m.__tablename__ not in CLINICAL_TABLES]


def _columns(model, *, secrets: bool) -> list[str]:
    return [c.key for c in model.__table__.columns if secrets or c.key != "password_hash"]


def rows(model, *, clinical: bool, secrets: bool) -> Iterator[dict]:
    """The table's rows as JSON-safe dicts keyed by the exported column names, by id, streamed."""
    columns = _columns(model, secrets=secrets)
    table = model.__table__
    names = [exported_name(table.name, c) for c in columns]
    query = (
        select(*(table.c[c] for c in columns)).order_by(*table.primary_key.columns).execution_options(yield_per=CHUNK)
    )
    for row in db_session.execute(query):
        record = {name: _json_safe(v) for name, v in zip(names, row)}
        if not clinical:
            record = redact_audit_event(record) if model is AuditEvent else redact_state(table.name, record)
        yield record


def schema_revision() -> str | None:
    return db_session.execute(text("SELECT version_num FROM alembic_version")).scalar()


def _csv_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def patient_ids() -> list[int]:
    """Every patient an export holds (for the access log)."""
    from scheduler.models import Patient

    return list(db_session.scalars(select(Patient.id).order_by(Patient.id)))


def export(open_file: Opener, fmt: str, *, clinical: bool, secrets: bool = False) -> dict:
    """Write one file per table (``<table>.jsonl`` or ``.csv``) and ``manifest.json``; the manifest."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    counts: dict[str, int] = {}
    for model in tables(clinical=clinical):
        name = model.__tablename__
        n = 0
        with open_file(f"{name}.{fmt}") as out:
            if fmt == "csv":
                writer = csv.writer(out, lineterminator="\n")
                writer.writerow([exported_name(name, c) for c in _columns(model, secrets=secrets)])
            for record in rows(model, clinical=clinical, secrets=secrets):
                if fmt == "jsonl":
                    out.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")
                else:
                    writer.writerow([_csv_cell(v) for v in record.values()])
                n += 1
        counts[name] = n
    manifest = {
        "format": fmt,
        "exported_at": utcnow().isoformat(),
        "schema_revision": schema_revision(),
        "clinical_content": clinical,
        "password_hashes": secrets,
        "tables": counts,
    }
    with open_file("manifest.json") as out:
        out.write(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


# --- restore -------------------------------------------------------------------------------------


def _reader(column) -> Callable:
    kind = column.type
    if isinstance(kind, UTCDateTime):
        return datetime.fromisoformat
    if isinstance(kind, Date):
        return date.fromisoformat
    if isinstance(kind, Time):
        return time.fromisoformat
    if isinstance(kind, Numeric):
        return Decimal
    if isinstance(kind, JSON):
        return lambda v: v
    return lambda v: v


def _not_json(exc: ValueError) -> str:
    """Why a file is not JSON: the parser's message, or (e.g. a file that is not UTF-8, a number too
    long to read) the error's own text, as only ``JSONDecodeError`` has ``msg``."""
    return exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)


def _record(model, line: int, raw: str, readers: dict[str, tuple[str, Callable]]) -> dict:
    """One line of ``<table>.jsonl`` as the table's insert parameters; ``readers``: exported column name
    → (column key, reader)."""
    where = f"{model.__tablename__}.jsonl line {line}"
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise RestoreError(f"{where}: not JSON ({_not_json(exc)})") from None
    if not isinstance(data, dict):
        raise RestoreError(f"{where}: not a JSON object")
    unknown = sorted(set(data) - set(readers))
    if unknown:
        raise RestoreError(f"{where}: column {unknown[0]!r} is not in the {model.__tablename__} table")
    out = {}
    for key, value in data.items():
        column, read = readers[key]
        try:
            out[column] = None if value is None else read(value)
        except (ValueError, TypeError, ArithmeticError):
            raise RestoreError(f"{where}, column {key}: {value!r} cannot be read") from None
    return out


def _check_empty() -> None:
    for table in Base.metadata.sorted_tables:
        if db_session.scalar(select(func.count()).select_from(table)):
            raise RestoreError(
                f"The database is not empty (table {table.name} has rows): restore into a "
                "database that 'scheduler init-db' has just created."
            )


def restore(open_file: Opener, exists: Callable[[str], bool], *, actor_id: int | None = None) -> dict[str, int]:
    """Insert a JSON-lines export (ids kept) into this empty database; the row counts per table."""
    if not exists("manifest.json"):
        raise RestoreError("manifest.json is missing: this is not a directory written by 'scheduler export'.")
    with open_file("manifest.json") as f:
        try:
            manifest = json.load(f)
        except ValueError as exc:
            raise RestoreError(f"manifest.json: not JSON ({_not_json(exc)})") from None
    if manifest.get("format") != "jsonl":
        raise RestoreError(
            f"manifest.json: the export is {manifest.get('format')!r}; only a jsonl export can be restored."
        )
    if not manifest.get("clinical_content"):
        raise RestoreError(
            "manifest.json: the export leaves out clinical content (made for a role without it); "
            "restore needs a full export made with 'scheduler export'."
        )
    here = schema_revision()
    if manifest.get("schema_revision") != here:
        raise RestoreError(
            f"manifest.json: the export was made at schema revision {manifest.get('schema_revision')}, "
            f"this database is at {here}; migrate one to match the other first."
        )
    _check_empty()
    counts: dict[str, int] = {}
    for model in MODELS:
        name = f"{model.__tablename__}.jsonl"
        if not exists(name):
            raise RestoreError(f"{name} is missing from the export.")
        readers = {exported_name(model.__tablename__, c.key): (c.key, _reader(c)) for c in model.__table__.columns}
        batch: list[dict] = []
        n = 0
        with open_file(name) as f:
            for line, raw in enumerate(f, start=1):
                if not raw.strip():
                    continue
                batch.append(_record(model, line, raw, readers))
                if len(batch) >= CHUNK:
                    db_session.execute(insert(model.__table__), batch)
                    n += len(batch)
                    batch = []
        if batch:
            db_session.execute(insert(model.__table__), batch)
            n += len(batch)
        if n != manifest.get("tables", {}).get(model.__tablename__, n):
            raise RestoreError(f"{name} has {n} rows, the manifest says {manifest['tables'][model.__tablename__]}.")
        counts[model.__tablename__] = n
    if is_postgres():
        for model in MODELS:
            table = model.__tablename__
            db_session.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
                )
            )
    audit.record_operation(
        actor_id, "data.restore", "export", after={"exported_at": manifest.get("exported_at"), "tables": counts}
    )
    db_session.flush()
    return counts


def text_opener(open_binary: Callable[[str], AbstractContextManager]) -> Opener:
    """Text files (UTF-8) over a binary opener (a zip archive's ``open``)."""
    from contextlib import contextmanager

    @contextmanager
    def opener(name: str):
        with open_binary(name) as raw:
            wrapper = io.TextIOWrapper(raw, encoding="utf-8", newline="")
            try:
                yield wrapper
                wrapper.flush()
            finally:
                wrapper.detach()

    return opener
