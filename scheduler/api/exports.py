"""``GET /exports?format=jsonl|csv|fhir``: everything as a zip archive (admins).

The same files as ``scheduler export`` writes, but never password hashes, and clinical content
(assessments, notes, dosing-hold reasons, their audit details) only for a role that may read it.
"""

from __future__ import annotations

import tempfile
import zipfile

from flask import Response, g, request

from scheduler import access
from scheduler.api import bp
from scheduler.auth import can, require
from scheduler.errors import ValidationError
from scheduler.models import utcnow
from scheduler.services import audit, exports

FORMATS = ("jsonl", "csv", "fhir")


@bp.get("/exports")
@access.logged
@require("export_data")
def export_everything():
    from scheduler.errors import Forbidden
    from scheduler.services import scope

    if scope.allowed() is not None:  # the export is the whole network's database
        raise Forbidden("Only a network admin (not limited to some clinics) may export everything.")
    fmt = request.args.get("format") or "jsonl"
    if fmt not in FORMATS:
        raise ValidationError(f"format must be one of {', '.join(FORMATS)}.", field="format")
    clinical = can("read_clinical")
    access.log_read("export", *exports.patient_ids())  # the archive holds every patient's data
    archive = tempfile.SpooledTemporaryFile(max_size=32 * 1024 * 1024)  # noqa: SIM115 (the streamed answer closes it)
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        opener = exports.text_opener(lambda name: z.open(name, "w"))
        if fmt == "fhir":
            from scheduler.fhir import bulk

            manifest = bulk.export(opener, clinical=clinical, request=request.url)
            counts = {o["type"]: o["count"] for o in manifest["output"]}
        else:
            counts = exports.export(opener, fmt, clinical=clinical, secrets=False)["tables"]
    audit.record_operation(
        g.user.id, "data.export", "export", after={"format": fmt, "clinical": clinical, "counts": counts, "via": "api"}
    )
    archive.seek(0)

    def chunks():
        try:
            while chunk := archive.read(64 * 1024):
                yield chunk
        finally:
            archive.close()

    name = f"scheduler-{fmt}-{utcnow():%Y%m%dT%H%M%SZ}.zip"
    return Response(
        chunks(), mimetype="application/zip", headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )
