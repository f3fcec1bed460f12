"""The OpenAPI 3.1 document: complete (every /api/v1 route), honest (real answers validate against
it, and a field that disappears breaks the validation) and consistent with the role table."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

import pytest
from werkzeug.routing import IntegerConverter

from scheduler.api.openapi import OPERATIONS, openapi_path
from scheduler.auth import PERMISSIONS
from tests.support import builders
from tests.support.openapi_check import OpenApiChecker


def _routes(app):
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield method, openapi_path(rule.rule), rule


def test_every_api_route_is_documented(sqlite_api, sqlite_app):
    doc = sqlite_api.as_(None).get("/api/v1/openapi.json").json
    missing = [
        f"{method} /api/v1{path} (endpoint {rule.endpoint})"
        for method, path, rule in _routes(sqlite_app)
        if method.lower() not in doc["paths"].get(path, {})
    ]
    assert not missing, (
        "Routes missing from the OpenAPI document — add an entry to "
        "scheduler/api/openapi.py OPERATIONS for each:\n  " + "\n  ".join(missing)
    )
    stale = [f"{m} {p}" for m, p in OPERATIONS if not any(m == rm and p == rp for rm, rp, _ in _routes(sqlite_app))]
    assert not stale, f"Documented operations with no route: {stale}"


def test_document_is_openapi_3_1_with_the_error_schema(sqlite_api):
    doc = sqlite_api.as_(None).get("/api/v1/openapi.json").json
    assert doc["openapi"].startswith("3.1")
    assert doc["components"]["schemas"]["Error"]["required"] == ["error"]
    for path, ops in doc["paths"].items():
        for method, op in ((m, o) for m, o in ops.items() if m != "servers"):
            assert any(s.startswith("2") for s in op["responses"]), (method, path)
            if method == "post" and "requestBody" in op:
                assert "400" in op["responses"], (method, path)
            if op.get("security") != []:
                assert {"401", "403"} <= set(op["responses"]), (method, path)


def test_fhir_is_described_with_its_own_server(sqlite_api, sqlite_app):
    doc = sqlite_api.as_(None).get("/api/v1/openapi.json").json
    fhir_rules = {
        (m, re.sub(r"<(?:[a-z]+:)?([a-zA-Z_]+)>", r"{\1}", r.rule.removeprefix("/fhir")))
        for r in sqlite_app.url_map.iter_rules()
        if r.rule.startswith("/fhir/")
        for m in r.methods - {"HEAD", "OPTIONS"}
    }
    assert len(fhir_rules) >= 15
    for method, path in fhir_rules:
        item = doc["paths"][path]
        assert item["servers"] == [{"url": "/fhir"}], path
        op = item[method.lower()]
        assert "application/fhir+json" in op["responses"]["200"]["content"], (method, path)
        view = sqlite_app.view_functions[
            next(
                r.endpoint
                for r in sqlite_app.url_map.iter_rules()
                if method in r.methods
                and r.rule == "/fhir" + path.replace("{ident}", "<ident>").replace("{name}", "<name>")
            )
        ]
        assert op.get("x-permission") == getattr(view, "permission", None), path
    search = doc["paths"]["/Appointment"]["get"]
    assert {"patient", "date", "status", "actor", "_count"} <= {p["name"] for p in search["parameters"]}


def test_parameter_schemas_are_flat_and_integer_ids_are_integers(sqlite_api, sqlite_app):
    """Every parameter's ``schema`` is a JSON schema (not a schema wrapped in another ``schema``),
    as given to ``q()`` (ID_QUERY) and taken from the URL map (``<int:...>``, the bounded converter)."""
    import scheduler.api.openapi as openapi

    assert "schema" not in openapi.ID_QUERY and openapi.q("x", "x", openapi.ID_QUERY)["schema"]["type"] == "integer"
    doc = sqlite_api.as_(None).get("/api/v1/openapi.json").json
    for method, path, rule in _routes(sqlite_app):
        op = doc["paths"][path][method.lower()]
        for param in op.get("parameters", []):
            assert "schema" not in param["schema"] and "type" in param["schema"], (method, path, param)
        ints = {name for name, conv in rule._converters.items() if isinstance(conv, IntegerConverter)}
        for param in (p for p in op.get("parameters", []) if p["in"] == "path"):
            expected = "integer" if param["name"] in ints else "string"
            assert param["schema"]["type"] == expected, (method, path, param)
    assert doc["paths"]["/rooms/{room_id}"]["get"]["parameters"][0]["schema"] == {
        "type": "integer",
        "minimum": 0,
        "maximum": 2**31 - 1,
    }


def test_documented_permissions_are_the_role_table(sqlite_api, sqlite_app):
    doc = sqlite_api.as_(None).get("/api/v1/openapi.json").json
    for method, path, rule in _routes(sqlite_app):
        view = sqlite_app.view_functions[rule.endpoint]
        op = doc["paths"][path][method.lower()]
        permission = getattr(view, "permission", None)
        assert op.get("x-permission") == permission, (method, path)
        if permission:
            assert op["x-roles"] == sorted(r for r, perms in PERMISSIONS.items() if permission in perms)


class Recorder:
    """Calls the API and validates every answer against the document."""

    def __init__(self, api, checker):
        self.api, self.checker, self.seen = api, checker, set()

    def __call__(self, role, method, url, body=None, expect=None):
        answer = self.api.as_(role)._call(method, url, **({"json": body} if body is not None else {}))
        if expect is not None:
            assert answer.status_code == expect, (method, url, answer.get_data(as_text=True)[:500])
        if answer.mimetype == "application/json":
            self.checker.check(method, url, answer)
        self.seen.add((method, self.checker.operation(method, url)[0], answer.status_code))
        return answer.get_json(silent=True)


def test_real_answers_validate_against_the_document(api):
    doc = api.as_(None).get("/api/v1/openapi.json").json
    call = Recorder(api, OpenApiChecker(doc))
    w = builders.small_clinic()
    pid, v1 = w.patient.id, "/api/v1"
    call(None, "GET", f"{v1}/health", expect=200)
    clinic = call(
        "admin",
        "POST",
        f"{v1}/clinics",
        {"name": "East", "timezone": "America/New_York", "hours": {"mon": [["08:00", "18:00"]]}},
        201,
    )
    call("admin", "GET", f"{v1}/clinics", expect=200)
    call("admin", "GET", f"{v1}/clinics/{clinic['id']}", expect=200)
    call("admin", "POST", f"{v1}/clinics/{clinic['id']}/closures", {"starts_on": "2026-12-25", "reason": "Xmas"}, 201)
    call("admin", "GET", f"{v1}/clinics/{clinic['id']}/closures", expect=200)
    room = call("admin", "POST", f"{v1}/rooms", {"clinic_id": clinic["id"], "name": "R", "capabilities": ["iv"]}, 201)
    call("admin", "GET", f"{v1}/rooms?clinic_id={clinic['id']}", expect=200)
    call("admin", "GET", f"{v1}/rooms/{room['id']}", expect=200)
    staff = call(
        "admin",
        "POST",
        f"{v1}/staff",
        {"clinic_id": clinic["id"], "name": "N", "role": "nurse", "hours": {"mon": [["08:00", "12:00"]]}},
        201,
    )
    call("admin", "GET", f"{v1}/staff", expect=200)
    call(
        "admin",
        "POST",
        f"{v1}/staff/{staff['id']}/time_off",
        {"starts_at": "2026-04-01T08:00:00-04:00", "ends_at": "2026-04-01T12:00:00-04:00"},
        201,
    )
    call("admin", "GET", f"{v1}/staff/{staff['id']}", expect=200)
    call("front_desk", "POST", f"{v1}/patients", {"mrn": "M-9", "name": "Al", "birth_date": "1970-01-01"}, 201)
    call("front_desk", "GET", f"{v1}/patients?q=Al", expect=200)
    call("front_desk", "PATCH", f"{v1}/patients/{pid}", {"email": "p@example.test"}, 200)
    call("front_desk", "GET", f"{v1}/patients/{pid}", expect=200)
    call(
        "clinician",
        "POST",
        f"{v1}/patients/{pid}/assessments",
        {"instrument": "GAD-7", "score": 9, "taken_on": "2026-03-01"},
        201,
    )
    call("clinician", "GET", f"{v1}/patients/{pid}/assessments", expect=200)
    call("clinician", "POST", f"{v1}/patients/{pid}/notes", {"body": "ok"}, 201)
    call("clinician", "GET", f"{v1}/patients/{pid}/notes", expect=200)
    call("clinician", "POST", f"{v1}/patients/{pid}/dosing_hold", {"reason": "BP"}, 200)
    call("clinician", "POST", f"{v1}/patients/{pid}/dosing_hold/lift", {"reason": "BP fine"}, 200)
    user = call("admin", "POST", f"{v1}/users", {"email": "u@clinic.test", "role": "clinician"}, 201)
    call("admin", "GET", f"{v1}/users", expect=200)
    token = call("admin", "POST", f"{v1}/users/{user['id']}/tokens", {"label": "x"}, 201)
    call("admin", "GET", f"{v1}/users/{user['id']}/tokens", expect=200)
    call("admin", "POST", f"{v1}/tokens/{token['id']}/revoke", None, 200)
    call("admin", "GET", f"{v1}/audit?per_page=5", expect=200)
    feed = call("front_desk", "POST", f"{v1}/feeds", {"kind": "patient", "id": pid}, 201)
    call("front_desk", "GET", f"{v1}/feeds", expect=200)
    call("front_desk", "POST", f"{v1}/feeds/{feed['id']}/revoke", None, 200)
    # Scheduling.
    starts = datetime.combine(date(2026, 3, 9), time(9), tzinfo=builders.NY)
    booked = call(
        "front_desk",
        "POST",
        f"{v1}/sessions",
        {
            "patient_id": pid,
            "room_id": w.room.id,
            "staff_member_id": w.nurse.id,
            "kind": "dose",
            "starts_at": starts.isoformat(),
            "ends_at": (starts + timedelta(hours=2)).isoformat(),
            "record_past": True,
        },
        201,
    )
    call("front_desk", "GET", f"{v1}/sessions?clinic_id={w.clinic.id}&start=2026-03-09&end=2026-03-10", expect=200)
    call("front_desk", "GET", f"{v1}/sessions/{booked['id']}", expect=200)
    moved = call(
        "front_desk",
        "POST",
        f"{v1}/sessions/{booked['id']}/reschedule",
        {"starts_at": (starts + timedelta(hours=3)).isoformat(), "version": booked["version"]},
        200,
    )
    call("front_desk", "POST", f"{v1}/sessions/{booked['id']}/check_in", {"version": moved["version"]}, 409)  # too_late
    moved = call("front_desk", "GET", f"{v1}/sessions/{booked['id']}", expect=200)
    call("front_desk", "GET", f"{v1}/patients/{pid}/timeline", expect=200)
    call("clinician", "GET", f"{v1}/patients/{pid}/timeline", expect=200)
    call("front_desk", "GET", f"{v1}/flags?clinic_id={w.clinic.id}&start=2026-03-09&end=2026-03-10", expect=200)
    call("front_desk", "GET", f"{v1}/clinics/{w.clinic.id}/day?date=2026-03-09", expect=200)
    call("front_desk", "GET", f"{v1}/protocols", expect=200)
    call("front_desk", "GET", f"{v1}/protocols/ketamine-iv", expect=200)
    call("front_desk", "GET", f"{v1}/patients/{pid}/courses", expect=200)
    # Errors have the documented shape too.
    call(None, "GET", f"{v1}/rooms", expect=401)
    call("front_desk", "POST", f"{v1}/rooms", {}, 403)
    call("admin", "GET", f"{v1}/rooms/999999", expect=404)
    call("admin", "POST", f"{v1}/rooms", {"clinic_id": "one"}, 400)
    call("front_desk", "POST", f"{v1}/patients", {"mrn": "M-9", "name": "Al", "birth_date": "1970-01-01"}, 409)
    call("front_desk", "POST", f"{v1}/sessions/{booked['id']}/cancel", {"reason": "x", "version": 1}, 409)
    assert len({(m, p) for m, p, _ in call.seen}) >= 40


def test_a_field_that_disappears_breaks_validation(api):
    """The document is not decorative: drop or add a field and the check fails."""
    doc = api.as_(None).get("/api/v1/openapi.json").json
    checker = OpenApiChecker(doc)
    w = builders.small_clinic()
    patient = api.get(f"/api/v1/patients/{w.patient.id}").json
    url = f"/api/v1/patients/{w.patient.id}"
    assert checker.errors("GET", url, 200, patient) == []
    for field in patient:
        broken = {k: v for k, v in patient.items() if k != field}
        assert checker.errors("GET", url, 200, broken), f"dropping {field} went unnoticed"
    assert checker.errors("GET", url, 200, {**patient, "ssn": "123"})
    assert checker.errors("GET", url, 200, {**patient, "birth_date": 1980})


@pytest.mark.parametrize(
    "name",
    [
        "Patient",
        "Room",
        "Clinic",
        "StaffMember",
        "User",
        "ApiToken",
        "AuditEvent",
        "Assessment",
        "ClinicalNote",
        "Feed",
        "Session",
        "Course",
    ],
)
def test_response_schemas_require_what_they_document(api, name):
    schema = api.as_(None).get("/api/v1/openapi.json").json["components"]["schemas"][name]
    optional = {"Clinic": {"closures"}}.get(name, set())
    assert set(schema["properties"]) - set(schema["required"]) == optional
