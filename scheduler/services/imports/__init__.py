"""CSV imports from another system: patients (matched by MRN) and sessions (by ``external_id``).

``run`` does the whole file inside one savepoint of the caller's transaction and rolls the savepoint
back when the file is refused (any error-severity problem on any row) or on a dry run, so a file is
taken all or nothing, and a dry run reports exactly what a real run would do (the rows are really
checked and written, then undone). Services never commit: the command or request does.
"""

from __future__ import annotations

from scheduler.db import db_session
from scheduler.domain.imports import ACTIONS, TEMPLATES, ImportReport, read_table
from scheduler.services import audit


def run(
    actor_id: int | None,
    kind: str,
    data: bytes,
    *,
    dry_run: bool = False,
    mapping: dict[str, str] | None = None,
    source: str = "",
) -> ImportReport:
    """Import one CSV file of ``kind`` (``patients`` or ``sessions``)."""
    from scheduler.services.imports import patients, sessions

    if kind not in TEMPLATES:
        raise ValueError(f"unknown import kind {kind!r}")
    report = ImportReport(kind=kind, dry_run=dry_run)
    rows, report.file_problems = read_table(data, kind, mapping)
    if report.refused:
        return report
    importer = patients.import_rows if kind == "patients" else sessions.import_rows
    savepoint = db_session.begin_nested()
    try:
        importer(actor_id, rows, report, reason=f"import {source}".strip())
    except BaseException:
        savepoint.rollback()
        raise
    if report.refused or dry_run:
        savepoint.rollback()
    else:
        savepoint.commit()
        audit.record_operation(
            actor_id,
            "data.import",
            "import",
            reason=f"import {source}".strip(),
            after={
                "kind": kind,
                "source": source,
                "rows": len(report.rows),
                "counts": {a: report.count(a) for a in ACTIONS},
            },
        )
    return report
