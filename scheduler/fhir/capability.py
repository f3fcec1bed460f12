"""``GET /fhir/metadata``: the CapabilityStatement, built from what is registered (the search
parameters of fhir.search.SEARCHES, the reads, the operations of fhir.operations), so it states
exactly what the server supports. Public, as FHIR clients read it before authenticating.
``OperationDefinition/<name>`` serves each operation's definition, so every canonical resolves."""

from __future__ import annotations

from flask import current_app

from scheduler.errors import NotFound
from scheduler.fhir import FHIR_JSON, FHIR_VERSION, PUBLIC_ENDPOINTS, base_url, bp, fhir_response
from scheduler.fhir.search import RESULT_PARAMS, SEARCHES

READS = {
    "Patient": "A patient (demographics; identifier urn:scheduler:mrn)",
    "Practitioner": "A staff member",
    "Location": "A room (Location/<id>) or a clinic (Location/clinic-<id>)",
    "Schedule": "One per room (Schedule/room-<id>) and per staff member (Schedule/practitioner-<id>)",
    "Slot": "Free time of a schedule, or a held slot",
    "Appointment": "A treatment session, or a hold",
    "CarePlan": "A patient's course; activity.reference lists its appointments",
    "OperationDefinition": "The definitions of this server's operations",
}
# Operations: name -> (resource, OperationDefinition); filled by fhir.operations.
OPERATIONS: dict[str, tuple[str, dict]] = {}
PUBLIC_ENDPOINTS.add("fhir.read_operation_definition")


def capability_statement() -> dict:
    base = base_url()
    resources = []
    for name in sorted(READS):
        interactions = [{"code": "read"}]
        if name in SEARCHES:
            interactions.append({"code": "search-type"})
        resource = {
            "type": name,
            "documentation": READS[name],
            "interaction": interactions,
            "versioning": "no-version",
            "readHistory": False,
            "updateCreate": False,
            "searchParam": [
                {
                    "name": p.name,
                    "type": p.type,
                    "documentation": p.documentation,
                    **({"definition": p.definition} if p.definition else {}),
                }
                for p in SEARCHES.get(name, [])
            ],
        }
        ops = [
            {"name": op, "definition": f"{base}/OperationDefinition/{op}"}
            for op, (res, _) in sorted(OPERATIONS.items())
            if res == name
        ]
        if ops:
            resource["operation"] = ops
        resources.append(resource)
    return {
        "resourceType": "CapabilityStatement",
        "id": "scheduler",
        "url": f"{base}/metadata",
        "name": "SchedulerFhirServer",
        "title": "scheduler FHIR R4 server",
        "status": "active",
        "date": "2026-12-01",
        "publisher": "scheduler",
        "kind": "instance",
        "software": {"name": "scheduler", "version": current_app.config.get("VERSION", "0.1.0")},
        "implementation": {"description": "Treatment-session scheduling (ketamine, esketamine, TMS)", "url": base},
        "fhirVersion": FHIR_VERSION,
        "format": [FHIR_JSON, "json"],
        "rest": [
            {
                "mode": "server",
                "documentation": "Search result parameters: " + ", ".join(RESULT_PARAMS) + " (_count at most 200); "
                "Prefer: handling=strict refuses unknown parameters.",
                "security": {
                    "cors": False,
                    "description": "Send 'Authorization: Bearer <token>' (an API token); "
                    "permissions as for the /api/v1 API.",
                },
                "resource": resources,
            }
        ],
    }


@bp.get("/metadata")
def metadata():
    return fhir_response(capability_statement())


@bp.get("/OperationDefinition/<name>")
def read_operation_definition(name: str):
    if name not in OPERATIONS:
        raise NotFound(f"No operation named {name}.")
    return fhir_response(OPERATIONS[name][1])
