"""Hostile input on every route: each API route, FHIR route and page (enumerated from ``app.url_map``,
so a route added later is covered without editing this file) gets one request per payload class, on
SQLite and on PostgreSQL. No answer may be a 500; the classes with a fixed answer (413, 400 naming the
field) are checked too.

Field names come from the OpenAPI document (query parameters, body properties) and, for the pages and
anything undocumented, from the names the code reads (``.get("name")``) and the templates' form fields.
A GET sends its payload in the query string, any other method in its body (JSON for the API, a form
for the pages).
"""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import select

import scheduler
from scheduler.api.openapi import openapi_path
from scheduler.db import db_session
from scheduler.limits import EMPTY_ALLOWED
from scheduler.models import ApiToken
from tests.support import builders
from tests.support import routes as r

SOURCE = Path(scheduler.__file__).parent
HUGE = 9223372036854775808  # one past PostgreSQL's bigint

# class -> (value in a query string or form, value in a JSON body)
CLASSES: dict[str, tuple[str, object]] = {
    "nul": ("a\x00b", "a\x00b"),
    "surrogate": ("\ud800", "\ud800"),
    "huge_number": (str(HUGE), HUGE),
    "numeric_overflow": ("99999.999", "99999.999"),
    "year_1": ("0001-01-01", "0001-01-01"),
    "year_9999": ("9999-12-31T23:59:59+00:00", "9999-12-31T23:59:59+00:00"),
    "empty": ("", ""),
    "wrong_type": ("[]", {"a": [1, {"b": None}]}),
    "deep_json": ("x", None),
    "too_large": ("x", None),
}
DEEP = "[" * 5000 + "]" * 5000
LARGE = b'{"name": "' + b"x" * (2 * 1024 * 1024) + b'"}'


def _names_in_code() -> set[str]:
    names: set[str] = set()
    for path in SOURCE.rglob("*.py"):
        names |= set(re.findall(r'(?:\.get|getlist|query_int|query_date|_bound)\(\s*"([a-z_]+)"', path.read_text()))
    for path in SOURCE.rglob("*.html"):
        names |= set(re.findall(r'name="([a-z_]+)"', path.read_text()))
    return names - {"csrf_token"}


def _document_fields(document: dict, route: r.Route) -> tuple[set[str], set[str]]:
    """(query parameter names, body property names) of the route's documented operation."""
    operation = document["paths"].get(openapi_path(route.rule), {}).get(route.method.lower(), {})
    query = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
    body: set[str] = set()
    schema = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
    if "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    body |= set(schema.get("properties", {}))
    return query, body


def _query(names, value: str) -> bytes:
    return "&".join(f"{n}={quote(value.encode('utf-8', 'surrogatepass'))}" for n in sorted(names)).encode()


def _request(route: r.Route, kind: str, names: set[str], body_names: set[str]) -> dict:
    text, value = CLASSES[kind]
    if route.method == "GET":
        return {"query_string": _query(names, text).decode()}
    if kind == "too_large":
        return {
            "data": LARGE,
            "content_type": "application/json" if route.area != "page" else "application/x-www-form-urlencoded",
        }
    if route.area == "page":
        return {
            "data": _query(names | {"csrf_token"}, text).replace(
                b"csrf_token=" + quote(text.encode("utf-8", "surrogatepass")).encode(), b"csrf_token=%s"
            ),
            "content_type": "application/x-www-form-urlencoded",
        }
    if kind == "deep_json":
        return {"data": DEEP, "content_type": "application/json"}
    return {"data": json.dumps(dict.fromkeys(sorted(body_names), value)), "content_type": "application/json"}


@pytest.fixture
def surface(api, app):
    w = builders.small_clinic()
    session = w.book(date(2026, 3, 9))
    db_session.commit()
    values = {
        "clinic_id": w.clinic.id,
        "patient_id": w.patient.id,
        "session_id": session.id,
        "room_id": w.room.id,
        "staff_id": w.nurse.id,
        "key": "ketamine-iv",
        "filename": "x.css",
    }
    feed = api.as_("front_desk").post("/api/v1/feeds", json={"kind": "room", "id": w.room.id}).json
    values.update(feed_id=feed["id"], token=feed["token"], user_id=api.users["front_desk"])
    values["token_id"] = db_session.scalars(select(ApiToken.id).limit(1)).first()
    pages = {}
    for role in r.ROLES:
        r.user(f"fuzz-{role}@clinic.test", role, staff_member_id=w.nurse.id if role == "clinician" else None)
        db_session.commit()
        pages[role] = r.Pages(app, f"fuzz-{role}@clinic.test")
    app.config["PROPAGATE_EXCEPTIONS"] = False  # a crash must show as the 500 a client would see
    return values, pages


def _expected(route: r.Route, kind: str, body_names: set[str], names: set[str]) -> int | None:
    """The one right status for classes that have one, else None (any 4xx, 2xx or 3xx)."""
    if kind == "nul" and (route.method == "GET" or route.area == "page" or body_names):
        return 400
    if kind == "surrogate" and route.method != "GET" and route.area != "page" and body_names:
        return 400  # a JSON "\ud800" escape; Werkzeug keeps an undecodable %ED%A0%80 in a URL or form as text
    if route.area == "page":
        return None
    if kind == "too_large" and route.method != "GET":
        return 413
    if kind == "deep_json" and route.method != "GET":
        return 400
    if kind == "empty" and route.method == "GET" and set(names) - EMPTY_ALLOWED:
        return 400
    return None


def test_no_route_answers_500_to_hostile_input(api, app, surface):
    values, pages = surface
    document = api.get("/api/v1/openapi.json").json
    code_names = _names_in_code()
    failures, sent = [], 0
    for route in r.routes(app):
        query_names, body_names = _document_fields(document, route)
        names = (query_names or code_names) if route.area != "page" else code_names
        role = r.role_for(route.permission)
        for kind in CLASSES:
            url = route.url(values, ids=HUGE if kind == "huge_number" else None)
            kwargs = _request(route, kind, names, body_names)
            if route.area == "page":
                answer = pages[role].open(route.method, url, **kwargs)
            else:
                answer = api.as_(role)._call(route.method, url, **kwargs)
            sent += 1
            expected = _expected(route, kind, body_names, names)
            if (
                kind == "huge_number"
                and any(c == "int" for c, _ in route.params)
                and not (route.area == "page" and route.method != "GET")
            ):  # a page's form: its CSRF check first
                expected = 404  # as an id no row has, whatever the method (never 405)
            problem = None
            if answer.status_code >= 500:
                problem = "5xx"
            elif expected is not None and answer.status_code != expected:
                problem = f"expected {expected}"
            elif route.area == "api" and expected in (400, 413) and kind != "empty":
                error = (answer.json or {}).get("error", {})
                if expected == 413 and error.get("code") != "too_large":
                    problem = "413 not in the API's error shape"
                if expected == 400 and not error.get("field"):
                    problem = "400 without the field"
            if problem:
                failures.append(
                    f"{kind:17} {route}: {answer.status_code} {problem} {answer.get_data(as_text=True)[:200]!r}"
                )
    assert sent > 300
    assert not failures, f"{len(failures)} of {sent}:\n" + "\n".join(failures)
