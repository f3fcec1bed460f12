"""The /fhir routes in the API's OpenAPI document (path-level ``servers: [{"url": "/fhir"}]``),
built from the URL map, the search table and the operations, like the CapabilityStatement."""

from __future__ import annotations

import re

from flask import Flask

from scheduler.auth import roles_with
from scheduler.fhir import FHIR_JSON, PUBLIC_ENDPOINTS
from scheduler.fhir import parameters as bodies
from scheduler.fhir.search import SEARCHES

PREFIX = "/fhir"
SUMMARIES = {
    "metadata": "The CapabilityStatement (public): what this FHIR R4 server supports",
    "read_operation_definition": "An operation's OperationDefinition (public)",
    "read_patient": "Read a Patient",
    "read_practitioner": "Read a Practitioner (staff member)",
    "read_location": "Read a Location (a room, or clinic-<id>)",
    "read_schedule": "Read a Schedule (room-<id>, practitioner-<id>)",
    "read_slot": "Read a Slot",
    "read_appointment": "Read an Appointment (a session, or hold-<id>)",
    "read_care_plan": "Read a CarePlan (a course)",
    "search_appointments": "Search Appointments",
    "search_slots": "Search a Schedule's Slots",
    "search_care_plans": "Search CarePlans",
    "find": "$find: proposed Appointments from the slot search",
    "hold": "$hold: hold a proposed Appointment (pending, expires by itself)",
    "book": "$book: book a held or proposed Appointment",
    "cancel": "$cancel an Appointment (or release a hold)",
    "update": "Update an Appointment's status (to cancelled only)",
}
RESOURCE = {"type": "object", "required": ["resourceType"], "properties": {"resourceType": {"type": "string"}}}
OUTCOME = {
    "type": "object",
    "required": ["resourceType", "issue"],
    "properties": {"resourceType": {"const": "OperationOutcome"}, "issue": {"type": "array", "minItems": 1}},
}
ERRORS = {
    400: "Malformed: the OperationOutcome's expression names the parameter",
    401: "No or a revoked bearer token",
    403: "The role may not do this",
    404: "Unknown resource",
    405: "Method not allowed (Allow names the methods)",
    406: "_format or Accept other than JSON",
    409: "A conflict: double booking, a slot held, stale",
    422: "Well-formed but against a rule",
}


def REFERENCE(kind: str) -> dict:  # noqa: N802 - a schema maker
    return {"type": "string", "pattern": rf"^({kind}/)?\d{{1,9}}$"}


FHIR_DATE = {"type": "string", "pattern": r"^(eq|ne|gt|lt|ge|le)?20\d\d-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$"}
REQUIRED = {("CarePlan", "patient"), ("Slot", "schedule")}
PARAM_SCHEMAS = {
    ("Appointment", "patient"): REFERENCE("Patient"),
    ("CarePlan", "patient"): REFERENCE("Patient"),
    ("Appointment", "date"): FHIR_DATE,
    ("Slot", "start"): FHIR_DATE,
    ("Appointment", "status"): {
        "type": "string",
        "enum": ["proposed", "booked", "checked-in", "fulfilled", "cancelled", "noshow"],
    },
    ("Appointment", "actor"): {"type": "string", "pattern": r"^(Patient|Practitioner|Location)/\d{1,9}$"},
    ("Slot", "schedule"): {"type": "string", "pattern": r"^Schedule/(room|practitioner)-\d{1,9}$"},
    ("Slot", "status"): {"type": "string", "enum": ["free", "busy-tentative"]},
}
BODIES = {
    "find": bodies.FIND,
    "hold": bodies.HOLD,
    "book": bodies.BOOK,
    "cancel": bodies.CANCEL,
    "update": bodies.UPDATE,
}


def _fhir(schema: dict) -> dict:
    return {FHIR_JSON: {"schema": schema}}


def _operation(rule, method: str, view) -> dict:
    name = rule.endpoint.split(".", 1)[1]
    permission = getattr(view, "permission", None)
    several = len(rule.methods - {"HEAD", "OPTIONS"}) > 1
    op: dict = {
        "operationId": f"fhir_{name}_{method.lower()}" if several else f"fhir_{name}",
        "tags": ["FHIR"],
        "summary": SUMMARIES.get(name, name),
        "parameters": [
            {"name": n, "in": "path", "required": True, "schema": {"type": "string"}} for n in rule.arguments
        ],
        "responses": {"200": {"description": "A FHIR resource", "content": _fhir(RESOURCE)}},
    }
    op["parameters"].append(
        {
            "name": "_format",
            "in": "query",
            "required": False,
            "schema": {"type": "string", "enum": ["json", FHIR_JSON, "application/json"]},
        }
    )
    resource = rule.rule.removeprefix(PREFIX + "/").split("/")[0]
    if name.startswith("search_"):
        for p in SEARCHES[resource]:
            op["parameters"].append(
                {
                    "name": p.name,
                    "in": "query",
                    "required": (resource, p.name) in REQUIRED,
                    "description": f"{p.type}: {p.documentation}",
                    "schema": PARAM_SCHEMAS.get((resource, p.name), {"type": "string"}),
                }
            )
        op["parameters"].append(
            {
                "name": "_count",
                "in": "query",
                "required": False,
                "schema": {"type": "integer", "minimum": 0, "maximum": 200},
            }
        )
        op["parameters"].append(
            {
                "name": "_offset",
                "in": "query",
                "required": False,
                "schema": {"type": "integer", "minimum": 0, "maximum": 100000},
            }
        )
    if name == "find" and method == "GET":
        op["parameters"] += [
            {"name": n, "in": "query", "required": n in bodies.FIND_QUERY_REQUIRED, "schema": sch}
            for n, sch in bodies.FIND_QUERY.items()
        ]
    if method in ("POST", "PUT"):
        op["requestBody"] = {"required": name != "cancel", "content": _fhir(BODIES[name])}
    errors = (
        {400, 404, 406}
        | ({401, 403} if permission else set())
        | ({409, 422} if method != "GET" or name == "find" else set())
    )
    if name.startswith("search_"):
        errors.add(422)  # a day the calendar lacks (date=2026-02-30)
    for status in sorted(errors):
        op["responses"][str(status)] = {"description": ERRORS[status], "content": _fhir(OUTCOME)}
    if permission:
        op["x-permission"] = permission
        op["x-roles"] = roles_with(permission)
    if f"fhir.{name}" in PUBLIC_ENDPOINTS:
        op["security"] = []
    return op


def _appointment(source: str) -> dict:
    return {"resourceType": "Parameters", "parameter": [{"name": "appointment", "resource": source}]}


# How the booking operations chain (IHE ITI-115..117): a proposal of $find is held or booked, a held
# one booked or released, a booked one read, cancelled or cancelled by a status update.
PROPOSAL, ANSWER, ANSWER_ID = "$response.body#/entry/0/resource", "$response.body#", "$response.body#/id"
LINKS = {
    "find_post": {"hold": {"requestBody": _appointment(PROPOSAL)}, "book": {"requestBody": _appointment(PROPOSAL)}},
    "find_get": {"hold": {"requestBody": _appointment(PROPOSAL)}, "book": {"requestBody": _appointment(PROPOSAL)}},
    "hold": {
        "book": {"requestBody": _appointment(ANSWER)},
        "cancel": {"parameters": {"ident": ANSWER_ID}},
        "read_appointment": {"parameters": {"ident": ANSWER_ID}},
    },
    "book": {
        "cancel": {"parameters": {"ident": ANSWER_ID}},
        "read_appointment": {"parameters": {"ident": ANSWER_ID}},
        "update": {
            "parameters": {"ident": ANSWER_ID},
            "requestBody": {"resourceType": "Appointment", "id": ANSWER_ID, "status": "cancelled"},
        },
    },
}


def _links(out: dict[str, dict]) -> None:
    ops = {o["operationId"]: o for item in out.values() for m, o in item.items() if m != "servers"}
    for name, links in LINKS.items():
        ops[f"fhir_{name}"]["responses"]["200"]["links"] = {
            f"{name}_to_{target}": {"operationId": f"fhir_{target}", **link} for target, link in links.items()
        }


def paths(app: Flask) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(PREFIX + "/"):
            continue
        path = re.sub(r"<(?:[a-z]+:)?([a-zA-Z_]+)>", r"{\1}", rule.rule.removeprefix(PREFIX))
        entry = out.setdefault(path, {"servers": [{"url": PREFIX}]})
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            entry[method.lower()] = _operation(rule, method, app.view_functions[rule.endpoint])
    _links(out)
    return out
