"""The /fhir routes in the API's OpenAPI document (path-level ``servers: [{"url": "/fhir"}]``),
built from the URL map, the search table and the operations, like the CapabilityStatement."""
from __future__ import annotations

import re

from flask import Flask

from scheduler.auth import roles_with
from scheduler.fhir import FHIR_JSON, PUBLIC_ENDPOINTS
from scheduler.fhir.search import SEARCHES

PREFIX = "/fhir"
SUMMARIES = {
    "metadata": "The CapabilityStatement (public): what this FHIR R4 server supports",
    "read_operation_definition": "An operation's OperationDefinition (public)",
    "read_patient": "Read a Patient", "read_practitioner": "Read a Practitioner (staff member)",
    "read_location": "Read a Location (a room, or clinic-<id>)", "read_schedule": "Read a Schedule (room-<id>, "
    "practitioner-<id>)", "read_slot": "Read a Slot", "read_appointment": "Read an Appointment (a session, or "
    "hold-<id>)", "read_care_plan": "Read a CarePlan (a course)",
    "search_appointments": "Search Appointments", "search_slots": "Search a Schedule's Slots",
    "search_care_plans": "Search CarePlans", "find": "$find: proposed Appointments from the slot search",
    "hold": "$hold: hold a proposed Appointment (pending, expires by itself)",
    "book": "$book: book a held or proposed Appointment", "cancel": "$cancel an Appointment (or release a hold)",
    "update": "Update an Appointment's status (to cancelled only)",
}
RESOURCE = {"type": "object", "required": ["resourceType"], "properties": {"resourceType": {"type": "string"}}}
OUTCOME = {"type": "object", "required": ["resourceType", "issue"],
           "properties": {"resourceType": {"const": "OperationOutcome"}, "issue": {"type": "array", "minItems": 1}}}
ERRORS = {400: "Malformed: the OperationOutcome's expression names the parameter",
          401: "No or a revoked bearer token", 403: "The role may not do this", 404: "Unknown resource",
          405: "Method not allowed (Allow names the methods)",
          406: "_format or Accept other than JSON", 409: "A conflict: double booking, a slot held, stale",
          422: "Well-formed but against a rule"}


def REFERENCE(kind: str) -> dict:  # noqa: N802 - a schema maker
    return {"type": "string", "pattern": rf"^({kind}/)?\d{{1,9}}$"}


FHIR_DATE = {"type": "string", "pattern": r"^(eq|ne|gt|lt|ge|le)?20\d\d-(0[1-9]|1[0-2])-(0[1-9]|1\d|2[0-8])$"}
PLAIN_DATE = {"type": "string", "pattern": r"^20\d\d-(0[1-9]|1[0-2])-(0[1-9]|1\d|2[0-8])$"}
KIND = {"type": "string", "enum": [f"urn:scheduler:session-kind|{k}" for k in
                                   ("evaluation", "preparation", "dose", "integration", "follow_up")]}
REQUIRED = {("CarePlan", "patient"), ("Slot", "schedule")}
PARAM_SCHEMAS = {
    ("Appointment", "patient"): REFERENCE("Patient"), ("CarePlan", "patient"): REFERENCE("Patient"),
    ("Appointment", "date"): FHIR_DATE, ("Slot", "start"): FHIR_DATE,
    ("Appointment", "status"): {"type": "string", "enum": ["proposed", "booked", "checked-in", "fulfilled",
                                                           "cancelled", "noshow"]},
    ("Appointment", "actor"): {"type": "string", "pattern": r"^(Patient|Practitioner|Location)/\d{1,9}$"},
    ("Slot", "schedule"): {"type": "string", "pattern": r"^Schedule/(room|practitioner)-\d{1,9}$"},
    ("Slot", "status"): {"type": "string", "enum": ["free", "busy-tentative"]},
}
PARAMETERS = {"type": "object", "required": ["resourceType"],
              "properties": {"resourceType": {"const": "Parameters"}, "parameter": {
                  "type": "array", "items": {"type": "object", "required": ["name"],
                                             "properties": {"name": {"type": "string"}}}}}}
APPOINTMENT_BODY = {"type": "object", "required": ["resourceType", "id", "status"],
                    "properties": {"resourceType": {"const": "Appointment"}, "id": {"type": "string"},
                                   "status": {"type": "string"}}}


def _fhir(schema: dict) -> dict:
    return {FHIR_JSON: {"schema": schema}}


def _operation(rule, method: str, view) -> dict:
    name = rule.endpoint.split(".", 1)[1]
    permission = getattr(view, "permission", None)
    op: dict = {"operationId": f"fhir_{name}", "tags": ["FHIR"], "summary": SUMMARIES.get(name, name),
                "parameters": [{"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
                               for n in rule.arguments],
                "responses": {"200": {"description": "A FHIR resource", "content": _fhir(RESOURCE)}}}
    op["parameters"].append({"name": "_format", "in": "query", "required": False,
                             "schema": {"type": "string", "enum": ["json", FHIR_JSON, "application/json"]}})
    resource = rule.rule.removeprefix(PREFIX + "/").split("/")[0]
    if name.startswith("search_"):
        for p in SEARCHES[resource]:
            op["parameters"].append({"name": p.name, "in": "query", "required": (resource, p.name) in REQUIRED,
                                     "description": f"{p.type}: {p.documentation}",
                                     "schema": PARAM_SCHEMAS.get((resource, p.name), {"type": "string"})})
        op["parameters"].append({"name": "_count", "in": "query", "required": False,
                                 "schema": {"type": "integer", "minimum": 0, "maximum": 200}})
        op["parameters"].append({"name": "_offset", "in": "query", "required": False,
                                 "schema": {"type": "integer", "minimum": 0, "maximum": 100000}})
    if name == "find" and method == "GET":
        op["parameters"] += [
            {"name": "patient", "in": "query", "required": True, "schema": REFERENCE("Patient")},
            {"name": "service-type", "in": "query", "required": True, "schema": KIND},
            {"name": "location", "in": "query", "required": False,
             "schema": {"type": "string", "pattern": r"^Location/(clinic-)?\d{1,9}$"}},
            {"name": "start", "in": "query", "required": False, "schema": PLAIN_DATE},
            {"name": "end", "in": "query", "required": False, "schema": PLAIN_DATE}]
    if method in ("POST", "PUT"):
        body = APPOINTMENT_BODY if method == "PUT" else PARAMETERS
        op["requestBody"] = {"required": name not in ("cancel",), "content": _fhir(body)}
    errors = {400, 404, 406} | ({401, 403} if permission else set()) | ({409, 422} if method != "GET" or name == "find"
                                                                         else set())
    for status in sorted(errors):
        op["responses"][str(status)] = {"description": ERRORS[status], "content": _fhir(OUTCOME)}
    if permission:
        op["x-permission"] = permission
        op["x-roles"] = roles_with(permission)
    if f"fhir.{name}" in PUBLIC_ENDPOINTS:
        op["security"] = []
    return op


def paths(app: Flask) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(PREFIX + "/"):
            continue
        path = re.sub(r"<(?:[a-z]+:)?([a-zA-Z_]+)>", r"{\1}", rule.rule.removeprefix(PREFIX))
        entry = out.setdefault(path, {"servers": [{"url": PREFIX}]})
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            entry[method.lower()] = _operation(rule, method, app.view_functions[rule.endpoint])
    return out

