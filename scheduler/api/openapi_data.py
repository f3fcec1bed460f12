"""OpenAPI entries of the onboarding and oversight routes: imports, exports and reports."""

from __future__ import annotations

from scheduler.api.openapi_schemas import BOOL, DATE, ID, INT, STR, enum, nullable, obj

PROBLEM = obj(
    {
        "line": INT,
        "column": nullable(STR),
        "severity": enum(("error", "warning", "info")),
        "message": STR,
        "text": STR,
        "code": STR,
    },
    required=["line", "column", "severity", "message", "text"],
)
ACTIONS = ("create", "update", "unchanged", "refused")
SCHEMAS = {
    "ImportReport": obj(
        {
            "kind": enum(("patients", "sessions")),
            "dry_run": BOOL,
            "refused": BOOL,
            "written": BOOL,
            "counts": obj(dict.fromkeys(ACTIONS, INT)),
            "summary": STR,
            "problems": {"type": "array", "items": PROBLEM},
            "rows": {
                "type": "array",
                "items": obj(
                    {
                        "line": INT,
                        "key": STR,
                        "action": enum(ACTIONS),
                        "id": nullable(INT),
                        "problems": {"type": "array", "items": PROBLEM},
                    }
                ),
            },
        }
    ),
    "ReportRows": obj(
        {
            "report": STR,
            "clinic_id": ID,
            "start": DATE,
            "end": DATE,
            "rows": {"type": "array", "items": {"type": "object"}},
        },
        required=["rows"],
        strict=False,
    ),
}
REQUESTS = {
    "NewImport": obj(
        {
            "kind": enum(("patients", "sessions")),
            "csv": STR,
            "dry_run": BOOL,
            "mapping": {"type": "object", "additionalProperties": STR},
            "filename": {**STR, "maxLength": 200},
        },
        required=["kind", "csv"],
    ),
}


def operations(op, q, write_errors, id_query) -> dict:
    report_params = [
        q("clinic_id", "The clinic", id_query, required=True),
        q("start", "First local date (default: a year before end)", {"type": "string", "format": "date"}),
        q("end", "Last local date, inclusive (default: today)", {"type": "string", "format": "date"}),
        q("format", "json (default) or csv", {"type": "string", "enum": ["json", "csv"]}),
    ]
    csv_or_json = {
        "application/json": {"schema": {"$ref": "#/components/schemas/ReportRows"}},
        "text/csv": {"schema": {"type": "string"}},
    }
    out = {
        ("POST", "/imports"): op(
            "Import a CSV file of patients or sessions (JSON body, or multipart with a file); dry_run reports "
            "without writing (200); a taken file 201; a refused one 422 import_refused with the report",
            body="NewImport",
            ok=201,
            returns="ImportReport",
            errors=write_errors,
        )
    }
    for name, what in (
        ("utilization", "Chair utilisation per room and day (checked in or completed minutes over open minutes)"),
        ("attendance", "No-show and late-cancel rates by kind, weekday and hour"),
        ("funnel", "The course funnel and the median days from evaluation to first dose"),
        ("outcomes", "Response and remission rates per protocol and instrument"),
        ("maintenance", "Maintenance doses inside their due window, per protocol"),
    ):
        params = report_params + (
            [q("by", "day (default) or week", {"type": "string", "enum": ["day", "week"]})]
            if name == "utilization"
            else []
        )
        out[("GET", f"/reports/{name}")] = op(what, content=csv_or_json, params=params, errors=(400, 404, 422))
    out[("GET", "/exports")] = op(
        "Everything as a zip: format jsonl (restorable with `scheduler import all`), csv or fhir (Bulk Data "
        "NDJSON); clinical content only for roles that may read it",
        content={"application/zip": {"schema": {"type": "string", "format": "binary"}}},
        params=[q("format", "jsonl (default), csv or fhir", {"type": "string", "enum": ["jsonl", "csv", "fhir"]})],
        errors=(400,),
    )
    return out
