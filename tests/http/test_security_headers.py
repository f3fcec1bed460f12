"""Security headers on pages, API and FHIR answers, and the templates that make the CSP possible."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from scheduler import create_app
from scheduler.headers import CONTENT_SECURITY_POLICY
from tests.support import builders
from tests.support.builders import clinic_with_users
from tests.support.pages import signed_in

TEMPLATES = Path(__file__).parents[2] / "scheduler" / "web" / "templates"


def _policy(response) -> dict[str, str]:
    return {
        part.split(" ", 1)[0]: part.split(" ", 1)[1] if " " in part else ""
        for part in response.headers["Content-Security-Policy"].split("; ")
    }


def _common(response) -> None:
    policy = _policy(response)
    assert policy["script-src"] == "'self'"  # no 'unsafe-inline', no 'unsafe-eval', no nonce needed
    assert policy["frame-ancestors"] == "'none'" and policy["object-src"] == "'none'"
    assert "unsafe" not in policy["default-src"] + policy["style-src-elem"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_pages_are_not_cached_and_carry_the_policy(sqlite_app):
    clinic_with_users()
    signed_out = sqlite_app.test_client().get("/sign-in")
    _common(signed_out)
    assert signed_out.headers["Cache-Control"] == "no-store"
    desk = signed_in(sqlite_app)
    board = desk.get("/board")
    assert board.status_code == 200
    _common(board)
    assert board.headers["Cache-Control"] == "no-store"
    assert "Strict-Transport-Security" not in board.headers  # development: plain http, no HSTS


def test_api_and_fhir_answers_with_patient_data_are_not_cached(api):
    w = builders.small_clinic()
    from scheduler.db import db_session

    db_session.commit()
    for url in (
        f"/api/v1/patients/{w.patient.id}",
        f"/api/v1/patients?q={w.patient.mrn}",
        f"/fhir/Patient/{w.patient.id}",
        f"/fhir/Appointment?patient={w.patient.mrn}",
    ):
        answer = api.as_("front_desk").get(url)
        assert answer.status_code == 200, (url, answer.json)
        _common(answer)
        assert answer.headers["Cache-Control"] == "no-store", url
    refused = api.as_(None).get(f"/api/v1/patients/{w.patient.id}")
    assert refused.status_code == 401 and refused.headers["Cache-Control"] == "no-store"
    health = api.as_(None).get("/api/v1/health")  # public, no patient data
    _common(health)
    assert health.headers.get("Cache-Control") != "no-store"


def test_hsts_when_cookies_are_secure(sqlite_url):
    app = create_app({"ENV": "production", "SECRET_KEY": "p" * 48, "DATABASE_URL": sqlite_url})
    answer = app.test_client().get("/sign-in", base_url="https://scheduler.test")
    assert answer.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    _common(answer)
    from scheduler.db import db_session

    db_session.remove()
    app.extensions["scheduler.engine"].dispose()


@pytest.mark.parametrize("template", sorted(TEMPLATES.rglob("*.html")), ids=lambda p: p.name)
def test_templates_have_no_inline_script_or_handlers(template):
    text = template.read_text()
    assert not re.search(r"<script(?![^>]*\ssrc=)[^>]*>", text), "inline <script>: move it to static/app.js"
    assert not re.search(r"\son[a-z]+\s*=", text, re.I), "on* handler: attach it from static/app.js"
    assert "javascript:" not in text.lower()
    assert not re.search(r"<style[\s>]", text), "<style> element: move it to static/app.css"


def test_the_policy_allows_no_inline_script():
    assert (
        "script-src 'self'" in CONTENT_SECURITY_POLICY
        and "'unsafe-inline'" not in CONTENT_SECURITY_POLICY.split("style-src-attr")[0]
    )
