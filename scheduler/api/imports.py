"""``POST /imports``: a CSV file of patients or sessions, as JSON ``{"kind", "csv", "dry_run"?,
"mapping"?}`` or as a multipart upload (fields ``kind``, ``file``, ``dry_run``, ``mapping`` as JSON).

200 with the report for a dry run that would be taken, 201 when the file was imported; a refused file
(any row with an error) is 422 ``import_refused`` with the same report under ``error.report``, and
nothing is written.
"""

from __future__ import annotations

import json

from flask import g, request

from scheduler.api import bp
from scheduler.api import parsing as p
from scheduler.auth import require
from scheduler.domain.imports import TEMPLATES, CellError, parse_mapping
from scheduler.errors import UnprocessableError, ValidationError
from scheduler.services import imports

MAX_BYTES = 20 * 1024 * 1024


def _mapping(raw) -> dict[str, str]:
    if isinstance(raw, str):
        try:
            raw = json.loads(raw) if raw.strip() else {}
        except ValueError:
            raise ValidationError(
                "mapping must be a JSON object {template column: file column}.", field="mapping"
            ) from None
    if raw is not None and not isinstance(raw, dict):
        raise ValidationError("mapping must be an object {template column: file column}.", field="mapping")
    try:
        return parse_mapping(raw)
    except CellError as exc:
        raise ValidationError(f"mapping: {exc}.", field="mapping") from None


def _upload() -> tuple[str, bytes, bool, dict, str]:
    if request.mimetype == "multipart/form-data":
        form = request.form
        upload = request.files.get("file")
        if upload is None:
            raise ValidationError("file is required (the CSV file).", field="file")
        data = upload.read(MAX_BYTES + 1)
        dry = form.get("dry_run", "false").strip().lower()
        if dry not in ("true", "false", "1", "0", "yes", "no", ""):
            raise ValidationError("dry_run must be true or false.", field="dry_run")
        return (
            p.choice(dict(form), "kind", TEMPLATES),
            data,
            dry in ("true", "1", "yes"),
            _mapping(form.get("mapping")),
            upload.filename or "upload",
        )
    body = p.json_body()
    p.reject_unknown(body, {"kind", "csv", "dry_run", "mapping", "filename"})
    text = p.get(body, "csv")
    if not isinstance(text, str):
        raise ValidationError("csv must be the file's text.", field="csv")
    return (
        p.choice(body, "kind", TEMPLATES),
        text.encode("utf-8"),
        p.boolean(body, "dry_run"),
        _mapping(body.get("mapping")),
        p.string(body, "filename", required=False) or "upload",
    )


@bp.post("/imports")
@require("import_data")
def create_import():
    kind, data, dry_run, mapping, name = _upload()
    if len(data) > MAX_BYTES:
        raise ValidationError(f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB; split it.", field="file")
    report = imports.run(g.user.id, kind, data, dry_run=dry_run, mapping=mapping, source=name)
    if report.refused:
        raise UnprocessableError(
            f"The file was refused: {len(report.problems)} problem(s); nothing was written. "
            + "; ".join(str(x) for x in report.problems[:3] if x.severity == "error"),
            code="import_refused",
            field="csv",
            details={"report": report.to_dict()},
        )
    return report.to_dict(), 200 if dry_run else 201
