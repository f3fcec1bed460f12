"""The OpenAPI 3.1 document at ``GET /api/v1/openapi.json`` (public), built from the URL map.

Each route of the blueprint is described by an entry of ``OPERATIONS`` keyed by method and OpenAPI
path (relative to /api/v1). Security and the 401/403 answers come from the view's ``@require``
permission and ``auth.PERMISSIONS``, so the document cannot disagree with the role table. A route
with no entry is left out of the document, and tests/http/test_openapi.py names it: add its entry.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask, current_app
from werkzeug.routing import IntegerConverter

from scheduler.api import PUBLIC_ENDPOINTS, bp, openapi_data, openapi_messages
from scheduler.api.openapi_schemas import REQUESTS, SCHEMAS, ref
from scheduler.auth import roles_with

PREFIX = "/api/v1"
ERRORS = {
    400: "The request is malformed; `field` names the culprit.",
    401: "No bearer token, or an unknown or revoked one.",
    403: "The role may not do this.",
    404: "The entity does not exist.",
    409: "A conflict: a double booking, a duplicate, a stale version, a key in use.",
    413: "The body is larger than MAX_CONTENT_LENGTH (default 1 MiB); code `too_large`.",
    422: "Well-formed (every field as the schema states it) but breaks a rule: one field against "
    "another (an end before its start, a range too long), against today (a birth date in the "
    "future) or against the calendar and the rule book.",
    503: "The database is unavailable (code `database_unavailable`); retry after `Retry-After` seconds.",
}
ID_QUERY = {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}  # a schema, passed to q()
INSTANT_QUERY = {
    "type": "string",
    "format": "date-time",
    "pattern": "^(19\\d\\d|2[01]\\d\\d|2200)-(0[1-9]|1[0-2])-(0[1-9]|1\\d|2[0-8])T([01]\\d|2[0-3]):[0-5]\\d"
    ":[0-5]\\d(\\.\\d{1,6})?(Z|[+-](0\\d|1[0-4]):[0-5]\\d)$",
}


def q(name: str, description: str, schema: dict | None = None, required: bool = False) -> dict:
    return {
        "name": name,
        "in": "query",
        "required": required,
        "description": description,
        "schema": schema or {"type": "string"},
    }


def op(
    summary: str,
    *,
    body: str | None = None,
    ok: int = 200,
    returns: str | None = None,
    params: list | None = None,
    errors: tuple[int, ...] = (400, 404),
    content: dict | None = None,
    idempotent: bool = False,
) -> dict:
    return {
        "summary": summary,
        "body": body,
        "ok": ok,
        "returns": returns,
        "params": params or [],
        "errors": errors,
        "content": content,
        "idempotent": idempotent,
    }


SLOT: dict[str, Any] = {
    "type": "object",
    "required": ["starts_at", "ends_at", "room_id", "staff_member_id"],
    "additionalProperties": False,
    "properties": {
        "starts_at": {"type": "string", "format": "date-time"},
        "ends_at": {"type": "string", "format": "date-time"},
        "room_id": {"type": "integer", "minimum": 1},
        "staff_member_id": {"type": ["integer", "null"], "minimum": 1},
    },
}
DEPENDENT = {
    "type": "object",
    "required": ["session_id", "kind", "starts_at", "ends_at", "room_id", "staff_member_id"],
    "additionalProperties": False,
    "properties": {**SLOT["properties"], "session_id": {"type": "integer", "minimum": 1}, "kind": {"type": "string"}},
}
SUGGESTION = {
    "type": "object",
    "required": [*SLOT["required"], "move_dependents", "dependents"],
    "additionalProperties": False,
    "properties": {
        **SLOT["properties"],
        "move_dependents": {"type": "boolean"},
        "dependents": {"type": "array", "items": DEPENDENT},
    },
}
SUGGESTIONS = {
    "type": "object",
    "required": ["session_id", "suggestions"],
    "additionalProperties": False,
    "properties": {
        "session_id": {"type": "integer", "minimum": 1},
        "suggestions": {"type": "array", "items": SUGGESTION, "maxItems": 6},
    },
}
WRITE = (400, 404, 409, 422)
OPERATIONS: dict[tuple[str, str], dict] = {
    ("GET", "/health"): op("Liveness and the database in use", returns="Health", errors=()),
    ("GET", "/openapi.json"): op(
        "This document", content={"application/json": {"schema": {"type": "object"}}}, errors=()
    ),
    ("POST", "/clinics"): op(
        "Create a clinic with its weekly opening hours", body="NewClinic", ok=201, returns="Clinic", errors=WRITE
    ),
    ("GET", "/clinics"): op("List clinics", returns="ClinicList", errors=()),
    ("GET", "/clinics/{clinic_id}"): op("A clinic with its closures", returns="Clinic"),
    ("PATCH", "/clinics/{clinic_id}"): op(
        "Change a clinic's name or settings (waitlist offers, reminder hours)",
        body="ClinicChanges",
        returns="Clinic",
        errors=WRITE,
    ),
    ("POST", "/clinics/{clinic_id}/closures"): op(
        "Add a closure (whole or part days)", body="NewClosure", ok=201, returns="Closure", errors=WRITE
    ),
    ("GET", "/clinics/{clinic_id}/closures"): op("A clinic's closures", returns="ClosureList"),
    ("POST", "/rooms"): op("Create a room or chair", body="NewRoom", ok=201, returns="Room", errors=WRITE),
    ("GET", "/rooms"): op(
        "List rooms", returns="RoomList", params=[q("clinic_id", "Only this clinic's", ID_QUERY)], errors=(400,)
    ),
    ("GET", "/rooms/{room_id}"): op("A room", returns="Room"),
    ("POST", "/staff"): op("Create a staff member", body="NewStaffMember", ok=201, returns="StaffMember", errors=WRITE),
    ("GET", "/staff"): op(
        "List staff", returns="StaffList", params=[q("clinic_id", "Only this clinic's", ID_QUERY)], errors=(400,)
    ),
    ("GET", "/staff/{staff_id}"): op("A staff member", returns="StaffMember"),
    ("POST", "/staff/{staff_id}/time_off"): op(
        "Add time off", body="NewTimeOff", ok=201, returns="StaffMember", errors=WRITE
    ),
    ("POST", "/patients"): op("Register a patient", body="NewPatient", ok=201, returns="Patient", errors=WRITE),
    ("GET", "/patients"): op(
        "Search patients (50 at most), each with the open course and the next session: MRN case-insensitive, "
        'whole or any part; names with every word in any order ("Ruiz, Ana"); a date of birth. Without q: '
        "the patients seen in the last 30 days, latest first",
        returns="PatientMatchList",
        params=[q("q", "MRN, name words or date of birth")],
        errors=(),
    ),
    ("GET", "/patients/{patient_id}"): op("A patient's demographics", returns="Patient"),
    ("PATCH", "/patients/{patient_id}"): op(
        "Change demographics", body="PatientChanges", returns="Patient", errors=WRITE
    ),
    ("POST", "/patients/{patient_id}/assessments"): op(
        "Record an assessment (score within the instrument's range)",
        body="NewAssessment",
        ok=201,
        returns="Assessment",
        errors=WRITE,
    ),
    ("GET", "/patients/{patient_id}/assessments"): op("A patient's assessments", returns="AssessmentList"),
    ("POST", "/patients/{patient_id}/notes"): op(
        "Add a clinical note (append-only)", body="NewNote", ok=201, returns="ClinicalNote", errors=WRITE
    ),
    ("GET", "/patients/{patient_id}/notes"): op("A patient's clinical notes", returns="NoteList"),
    ("POST", "/patients/{patient_id}/dosing_hold"): op(
        "Place a dosing hold (reason required, audited)", body="Reason", returns="Patient", errors=WRITE
    ),
    ("POST", "/patients/{patient_id}/dosing_hold/lift"): op(
        "Lift the dosing hold (reason required, audited)", body="Reason", returns="Patient", errors=WRITE
    ),
    ("POST", "/users"): op(
        "Create a user (password hashed with argon2)", body="NewUser", ok=201, returns="User", errors=WRITE
    ),
    ("GET", "/users"): op("List users", returns="UserList", errors=()),
    ("PATCH", "/users/{user_id}"): op(
        "Limit a user to some clinics ([]: every clinic)", body="UserClinics", returns="User", errors=WRITE
    ),
    ("POST", "/users/{user_id}/tokens"): op(
        "Issue an API token (shown once, stored hashed)", body="NewToken", ok=201, returns="NewApiToken", errors=WRITE
    ),
    ("GET", "/users/{user_id}/tokens"): op("A user's tokens (never the secrets)", returns="TokenList"),
    ("POST", "/users/{user_id}/password"): op(
        "Change a password (the user, confirming the current one, or an admin); ends the user's page sessions",
        body="PasswordChange",
        returns="User",
        errors=(400, 403, 404),
    ),
    ("POST", "/tokens/{token_id}/revoke"): op(
        "Revoke an API token (kept, never deleted)", body="OptionalReason", returns="ApiToken", errors=WRITE
    ),
    ("GET", "/audit"): op(
        "The audit trail, oldest first, paginated",
        returns="AuditPage",
        errors=(400, 422),
        params=[
            q("entity_type", "e.g. treatment_session, patient, room"),
            q("entity_id", "The entity's id", {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}),
            q("start", "From this instant (with offset) or UTC date (inclusive)"),
            q("end", "Until this instant (exclusive) or UTC date (inclusive)"),
            q("page", "1-based page", {"type": "integer", "minimum": 1, "maximum": 1000000}),
            q("per_page", "Events per page (default 50)", {"type": "integer", "minimum": 1, "maximum": 200}),
        ],
    ),
    ("GET", "/access-log"): op(
        "The access log: every read of a patient's data — record, search matches, timeline, notes, "
        "assessments, feeds, schedule (sessions, day board, week), courses, care plans, authorizations, "
        "waitlist, flags, messages, audit entries, exports, FHIR appointments — (who, which patient, what, "
        "when), oldest first, paginated",
        returns="AccessLogPage",
        errors=(400, 422),
        params=[
            q("patient_id", "Reads of this patient's data", {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}),
            q("user_id", "Reads by this user", {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}),
            q("start", "From this instant (with offset) or UTC date (inclusive)"),
            q("end", "Until this instant (exclusive) or UTC date (inclusive)"),
            q("page", "1-based page", {"type": "integer", "minimum": 1, "maximum": 1000000}),
            q("per_page", "Entries per page (default 50)", {"type": "integer", "minimum": 1, "maximum": 200}),
        ],
    ),
    ("POST", "/feeds"): op(
        "Subscribe: a secret iCalendar URL for a room, staff member or patient",
        body="NewFeedRequest",
        ok=201,
        returns="NewFeed",
        errors=WRITE,
    ),
    ("GET", "/feeds"): op("The caller's feeds (an admin's: all)", returns="FeedList", errors=()),
    ("POST", "/feeds/{feed_id}/revoke"): op("Revoke a feed URL", returns="Feed", errors=WRITE),
    ("POST", "/sessions"): op(
        "Book one session (a room or patient double booking is refused, 409)",
        body="NewSession",
        ok=201,
        returns="BookedSession",
        errors=WRITE,
    ),
    ("GET", "/sessions"): op(
        "A clinic's sessions over a range",
        returns="SessionList",
        errors=(400, 404, 422),
        params=[
            q("clinic_id", "The clinic", ID_QUERY, required=True),
            q("start", "Local date or instant"),
            q("end", "Local date (inclusive) or instant"),
            q("patient_id", "Only this patient's", ID_QUERY),
            q("status", "Only this status"),
        ],
    ),
    ("GET", "/sessions/{session_id}"): op("A session with its flags", returns="BookedSession"),
    ("GET", "/sessions/{session_id}/suggestions"): op(
        "Free slots to move a session to: same length, a suitable room and clinician, no error flag (at most 6)",
        content={"application/json": {"schema": SUGGESTIONS}},
        errors=(404,),
    ),
    ("POST", "/sessions/{session_id}/reschedule"): op(
        "Move a session (version required; stale → 409 stale)", body="Reschedule", returns="BookedSession", errors=WRITE
    ),
    ("POST", "/sessions/{session_id}/cancel"): op(
        "Cancel, keeping the row (version required)", body="Cancel", returns="BookedSession", errors=WRITE
    ),
    ("POST", "/sessions/{session_id}/reinstate"): op(
        "Undo a cancellation while the room and patient are still free then (version required; a taken slot "
        "→ 409 naming the session that took it)",
        body="Version",
        returns="BookedSession",
        errors=WRITE,
    ),
    ("POST", "/sessions/{session_id}/check_in"): op(
        "Check in (version required)", body="Version", returns="BookedSession", errors=WRITE
    ),
    ("POST", "/sessions/{session_id}/complete"): op(
        "Complete (version required)", body="Version", returns="BookedSession", errors=WRITE
    ),
    ("POST", "/sessions/{session_id}/no_show"): op(
        "Mark a no-show (version required)", body="Version", returns="BookedSession", errors=WRITE
    ),
    ("POST", "/sessions/{session_id}/replan"): op(
        "Propose (or with apply, book) a new plan around a session",
        body="ReplanRequest",
        returns="Replan",
        errors=WRITE,
    ),
    ("POST", "/patients/{patient_id}/courses"): op(
        "Plan a course; dry_run answers the plan (200), otherwise books it all in one transaction (201)",
        body="NewCourse",
        ok=201,
        returns="CoursePlan",
        errors=WRITE,
    ),
    ("GET", "/patients/{patient_id}/courses"): op("A patient's courses", returns="CourseList"),
    ("GET", "/patients/{patient_id}/timeline"): op(
        "Courses, one page of sessions (newest first, shown in time order), the flags about them and the open "
        "courses, next due window (assessments only for clinicians); earlier_before pages back",
        returns="Timeline",
        params=[
            q(
                "before",
                "Sessions starting before this instant (with offset): the earlier_before of the page after it",
                INSTANT_QUERY,
            ),
            q("limit", "Sessions on the page (default 200)", {"type": "integer", "minimum": 1, "maximum": 1000}),
        ],
    ),
    ("GET", "/flags"): op(
        "A clinic's flags over a range",
        returns="FlagList",
        errors=(400, 404, 422),
        params=[
            q("clinic_id", "The clinic", ID_QUERY, required=True),
            q("start", "Local date or instant"),
            q("end", "Local date (inclusive) or instant"),
            q("severity", "error, warning or info"),
            q("code", "Comma-separated flag codes"),
        ],
    ),
    ("GET", "/clinics/{clinic_id}/day"): op(
        "The day board",
        returns="DayBoard",
        params=[q("date", "Local date (default today)", {"type": "string", "format": "date"})],
    ),
    ("GET", "/protocols"): op("The protocols with their rules", returns="ProtocolList", errors=()),
    ("GET", "/protocols/{key}"): op("One protocol", returns="Protocol", errors=(404,)),
    ("GET", "/feeds/{token}.ics"): op(
        "The iCalendar feed (public: the token is the secret)",
        errors=(404,),
        content={"text/calendar": {"schema": {"type": "string"}}},
    ),
}
# Imports, exports and reports.
OPERATIONS.update(openapi_data.operations(op, q, WRITE, ID_QUERY))
SCHEMAS.update(openapi_data.SCHEMAS)
REQUESTS.update(openapi_data.REQUESTS)
# The outbox and the waitlist.
OPERATIONS.update(openapi_messages.operations(op, q, WRITE, ID_QUERY))
SCHEMAS.update(openapi_messages.SCHEMAS)
REQUESTS.update(openapi_messages.REQUESTS)

OPTIONAL_BODIES = {"OptionalReason", "NewToken", "ReplanRequest"}
LISTS = {
    "ClinicList": ("clinics", "Clinic"),
    "ClosureList": ("closures", "Closure"),
    "RoomList": ("rooms", "Room"),
    "StaffList": ("staff", "StaffMember"),
    "PatientMatchList": ("patients", "PatientMatch"),
    "AssessmentList": ("assessments", "Assessment"),
    "NoteList": ("notes", "ClinicalNote"),
    "UserList": ("users", "User"),
    "TokenList": ("tokens", "ApiToken"),
    "FeedList": ("feeds", "Feed"),
    "CourseList": ("courses", "Course"),
}


def openapi_path(rule: str) -> str:
    """``/api/v1/clinics/<int:clinic_id>`` → ``/clinics/{clinic_id}``."""
    return re.sub(r"<(?:[a-z]+:)?([a-zA-Z_]+)>", r"{\1}", rule.removeprefix(PREFIX))


def _path_params(rule) -> list[dict]:
    out = []
    for name, converter in rule._converters.items():
        schema = (
            {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}
            if isinstance(converter, IntegerConverter)
            else {"type": "string"}
        )
        out.append({"name": name, "in": "path", "required": True, "schema": schema})
    return out


def _operation(rule, method: str, spec: dict, view) -> dict:
    permission = getattr(view, "permission", None)
    public = f"api.{rule.endpoint.split('.', 1)[1]}" in PUBLIC_ENDPOINTS
    operation: dict = {
        "operationId": rule.endpoint.split(".", 1)[1],
        "summary": spec["summary"],
        "parameters": _path_params(rule) + spec["params"],
        "responses": {},
    }
    if permission:
        roles = roles_with(permission)
        operation["description"] = f"Permission `{permission}`: roles {', '.join(roles)}."
        operation["x-permission"] = permission
        operation["x-roles"] = roles
    if public:
        operation["security"] = []
    if spec["idempotent"] or getattr(view, "idempotent", False):
        operation["parameters"].append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "description": "Retrying with the same key books once.",
                "schema": {"type": "string", "minLength": 1, "maxLength": 200},
            }
        )
    if spec["body"]:
        operation["requestBody"] = {
            "required": spec["body"] not in OPTIONAL_BODIES,
            "content": {"application/json": {"schema": ref(spec["body"])}},
        }
    content = spec["content"] or ({"application/json": {"schema": ref(spec["returns"])}} if spec["returns"] else None)
    ok: dict[str, Any] = {"description": "Success"}
    if content:
        ok["content"] = content
    operation["responses"][str(spec["ok"])] = ok
    # Every route: 400 for an empty or NUL-bearing query parameter (scheduler/limits.py), 503 when
    # the database is unavailable; routes with a body: 413 past the size limit.
    errors = set(spec["errors"]) | {400, 503}
    if not public:
        errors |= {401, 403}
    if spec["body"]:
        errors |= {400, 413}
    for status in sorted(errors):
        operation["responses"][str(status)] = {
            "description": ERRORS[status],
            "content": {"application/json": {"schema": ref("Error")}},
        }
    return operation


def document(app: Flask) -> dict:
    paths: dict[str, dict] = {}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(PREFIX + "/"):
            continue
        path = openapi_path(rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            spec = OPERATIONS.get((method, path))
            if spec is None:
                continue  # tests/http/test_openapi.py names every undocumented route
            view = app.view_functions[rule.endpoint]
            paths.setdefault(path, {})[method.lower()] = _operation(rule, method, spec, view)
    from scheduler.fhir.openapi import paths as fhir_paths

    paths.update(fhir_paths(app))  # /fhir, with its own server
    _link_created_entities(paths)
    for item in paths.values():
        for method, op in item.items():
            if method != "servers":
                for param in op.get("parameters", []):
                    if param["in"] == "query":
                        param["schema"] = _query_bounds(param["name"], param.get("schema", {}))
    schemas = {**SCHEMAS, **{name: _text_bounds(schema) for name, schema in REQUESTS.items()}}
    for name, (key, entity) in LISTS.items():
        schemas[name] = {
            "type": "object",
            "properties": {key: {"type": "array", "items": ref(entity)}},
            "required": [key],
            "additionalProperties": False,
        }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "scheduler API",
            "version": "1",
            "description": "Treatment-session scheduling for interventional-psychiatry clinics. "
            'Errors: {"error": {"code", "message", "field"?, "conflicts"?}}.',
        },
        "servers": [{"url": PREFIX}],
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": schemas, "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearerAuth": []}],
    }


# What the server refuses in any free text (parsing: a NUL byte) and in any query parameter (an
# empty value: leave the parameter out), stated in the document so it is no looser than the server.
NO_NUL = "^[^\\x00]*$"
QUERY_INTS = {
    "clinic_id",
    "patient_id",
    "session_id",
    "entity_id",
    "room_id",
    "staff_member_id",
    "course_id",
    "page",
    "per_page",
}
_YEAR_DATE = "(19\\d\\d|2[01]\\d\\d|2200)-(0[1-9]|1[0-2])-(0[1-9]|1\\d|2[0-8])"
QUERY_DATE_OR_INSTANT = {
    "type": "string",
    "pattern": f"^{_YEAR_DATE}(T([01]\\d|2[0-3]):[0-5]\\d:[0-5]\\d(Z|[+-](0\\d|1[0-4]):00))?$",
}


def _free(schema: dict) -> bool:
    return schema.get("type") == "string" and not {"enum", "format", "pattern", "const"} & set(schema)


def _text_bounds(schema):
    """Free strings of a request schema refuse NUL bytes, as the server does (recursively)."""
    if isinstance(schema, list):
        return [_text_bounds(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _text_bounds(v) for k, v in schema.items()}
    if _free(out):
        out["pattern"] = NO_NUL
    return out


def _query_bounds(name: str, schema: dict) -> dict:
    if name in QUERY_INTS and schema.get("type") in (None, "string"):
        return {"type": "integer", "minimum": 0 if name == "entity_id" else 1, "maximum": 2**31 - 1}
    if name in ("start", "end") and schema.get("format") == "date" and "pattern" not in schema:
        return {**schema, "pattern": f"^{_YEAR_DATE}$"}
    if name in ("start", "end") and (_free(schema) or schema.get("format") == "date-time"):
        return QUERY_DATE_OR_INSTANT
    if _free(schema) or not schema:
        return {"type": "string", "minLength": 1, "pattern": NO_NUL, **schema}
    return schema


def _link_created_entities(paths: dict[str, dict]) -> None:
    """OpenAPI links from each ``POST /things`` (201) to the operations on ``/things/{thing_id}``
    and below, with the new entity's ``id``: what a client does next (and what schemathesis'
    stateful run follows)."""
    for path, item in paths.items():
        created = item.get("post", {}).get("responses", {}).get("201")
        if created is None:
            continue
        for other, other_item in paths.items():
            m = re.fullmatch(re.escape(path) + r"/\{([a-z_]+_id)\}(/.*)?", other)
            if m is None or other_item.get("servers"):
                continue
            for method, op in other_item.items():
                if method == "servers":
                    continue
                created.setdefault("links", {})[f"{op['operationId']}"] = {
                    "operationId": op["operationId"],
                    "parameters": {m[1]: "$response.body#/id"},
                }


@bp.get("/openapi.json")
def openapi():
    return document(current_app)
