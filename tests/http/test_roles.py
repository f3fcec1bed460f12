"""Each role is refused (403) what it may not do: every route × every role, from auth.PERMISSIONS.

The expectations come from the role table itself (each view's ``@require`` permission), so a new
route is covered the day it is added; ``BUSINESS_RULES`` pins the issue's own words on top, so the
table cannot drift from them silently.
"""

from __future__ import annotations

import re
from datetime import date

import pytest

from scheduler.auth import PERMISSIONS
from tests.support import builders

ROLES = sorted(PERMISSIONS)


def _routes(app, ident: int = 999999):
    out = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(("/api/v1/", "/fhir/")):
            continue
        view = app.view_functions[rule.endpoint]
        permission = getattr(view, "permission", None)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            url = re.sub(r"<int:[a-z_]+>", str(ident), rule.rule)
            url = re.sub(r"<[a-z_:]+>", "x", url)
            out.append((method, url, permission))
    return out


def test_every_protected_route_answers_403_to_roles_without_its_permission(sqlite_api, sqlite_app):
    builders.small_clinic()
    checked = 0
    for method, url, permission in _routes(sqlite_app):
        if permission is None:
            continue
        for role in ROLES:
            answer = sqlite_api.as_(role)._call(method, url, json={})
            if permission in PERMISSIONS[role]:
                assert answer.status_code not in (401, 403), (role, method, url, answer.json)
            else:
                assert answer.status_code == 403, (role, method, url, answer.status_code)
                body = answer.json
                error = body["error"] if "error" in body else {"code": body["issue"][0]["code"]}
                assert error["code"] == "forbidden", (role, method, url, body)
                checked += 1
    assert checked > 20


def test_routes_without_a_permission_are_exactly_the_public_ones(sqlite_app):
    from scheduler.api import PUBLIC_ENDPOINTS

    unguarded = {f"{m} {u}" for m, u, perm in _routes(sqlite_app) if perm is None}
    public = {
        f"GET {u}"
        for m, u, perm in _routes(sqlite_app)
        if any(
            u.endswith(s)
            for s in ("/health", "/openapi.json", "/feeds/x.ics", "/fhir/metadata", "/fhir/OperationDefinition/x")
        )
    }
    assert unguarded == public
    assert {"api.health", "api.openapi", "api.feed_ics"} == PUBLIC_ENDPOINTS


# (role, method, url, allowed) straight from the issue: admin runs the clinic and users, the front
# desk patients and bookings, clinicians the clinical record. Nobody but clinicians reads it.
BUSINESS_RULES = [
    ("admin", "POST", "/api/v1/clinics", True),
    ("admin", "POST", "/api/v1/users", True),
    ("admin", "GET", "/api/v1/audit", True),
    ("admin", "GET", "/api/v1/patients/1/assessments", False),
    ("admin", "GET", "/api/v1/patients/1/notes", False),
    ("front_desk", "POST", "/api/v1/patients", True),
    ("front_desk", "POST", "/api/v1/clinics", False),
    ("front_desk", "POST", "/api/v1/rooms", False),
    ("front_desk", "POST", "/api/v1/staff", False),
    ("front_desk", "POST", "/api/v1/users", False),
    ("front_desk", "GET", "/api/v1/audit", False),
    ("front_desk", "GET", "/api/v1/patients/1/assessments", False),
    ("front_desk", "POST", "/api/v1/patients/1/assessments", False),
    ("front_desk", "GET", "/api/v1/patients/1/notes", False),
    ("front_desk", "POST", "/api/v1/patients/1/notes", False),
    ("front_desk", "POST", "/api/v1/patients/1/dosing_hold", False),
    ("clinician", "GET", "/api/v1/patients/1/assessments", True),
    ("clinician", "POST", "/api/v1/patients/1/notes", True),
    ("clinician", "POST", "/api/v1/patients/1/dosing_hold", True),
    ("clinician", "GET", "/api/v1/rooms", True),
    ("clinician", "POST", "/api/v1/patients", False),
    ("clinician", "PATCH", "/api/v1/patients/1", False),
    ("clinician", "POST", "/api/v1/clinics", False),
    ("clinician", "POST", "/api/v1/users", False),
    ("clinician", "GET", "/api/v1/audit", False),
]


@pytest.mark.parametrize("role, method, url, allowed", BUSINESS_RULES)
def test_role_table_matches_the_issue(sqlite_api, role, method, url, allowed):
    w = builders.small_clinic()
    answer = sqlite_api.as_(role)._call(method, url.replace("/1", f"/{w.patient.id}"), json={})
    if allowed:
        assert answer.status_code not in (401, 403), answer.json
    else:
        assert answer.status_code == 403, answer.json
        assert answer.json["error"]["code"] == "forbidden"


@pytest.mark.parametrize("role", ["front_desk", "admin"])
def test_only_clinicians_see_assessments_or_notes_in_any_answer(sqlite_api, sqlite_app, role):
    """Everything the role may GET about the patient (audit trail included), searched for the record."""
    w = builders.small_clinic()
    w.book(date(2026, 3, 9))
    from scheduler.db import db_session

    db_session.commit()
    clinician = sqlite_api.as_("clinician")
    assert (
        clinician.post(
            f"/api/v1/patients/{w.patient.id}/assessments",
            json={"instrument": "MADRS", "score": 31, "taken_on": "2026-03-01"},
        ).status_code
        == 201
    )
    secret = "Discussed intrusive thoughts xyzzy"
    assert clinician.post(f"/api/v1/patients/{w.patient.id}/notes", json={"body": secret}).status_code == 201
    front = sqlite_api.as_(role)
    seen = 0
    for method, url, permission in _routes(sqlite_app, w.patient.id):
        if method != "GET" or permission is None or permission not in PERMISSIONS[role]:
            continue
        query = f"?clinic_id={w.clinic.id}&patient={w.patient.mrn}&start=2026-03-01&end=2026-03-20&date=2026-03-09"
        if url.endswith("/audit"):
            query = "?per_page=200"
        answer = front.get(url + query)
        if answer.mimetype == "application/zip":  # the export: every file inside it
            import io
            import zipfile

            archive = zipfile.ZipFile(io.BytesIO(answer.get_data()))
            text = "\n".join(archive.read(n).decode() for n in archive.namelist())
        else:
            text = answer.get_data(as_text=True)
        assert secret not in text and "MADRS" not in text and '"score": 31' not in text, (url, text[:300])
        assert '"assessments"' not in text or '"assessments": []' in text or '"assessments":[]' in text, url
        seen += answer.status_code == 200
    assert seen >= 5
    if role == "admin":  # the trail says a note was written, by whom and when — not what it says
        trail = front.get("/api/v1/audit?entity_type=clinical_note").json["events"]
        assert [e["action"] for e in trail] == ["clinical_note.create"]
        assert trail[0]["after"]["body"].startswith("[clinical content") and trail[0]["actor_id"]
    # The clinician does see them (the check above could otherwise pass by accident).
    assert secret in clinician.get(f"/api/v1/patients/{w.patient.id}/notes").get_data(as_text=True)
