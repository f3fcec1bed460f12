"""Users and API tokens: argon2 passwords, hashed tokens, revocation (401 afterwards), audit."""

from __future__ import annotations

import hashlib

import argon2
import pytest
from sqlalchemy import select

from scheduler.auth import verify_password
from scheduler.db import db_session
from scheduler.models import ApiToken, AuditEvent, User


def test_create_user_hashes_the_password_with_argon2(api):
    answer = api.post(
        "/api/v1/users", json={"email": "Dr.Lee@Clinic.test", "role": "clinician", "password": "correct horse battery"}
    )
    assert answer.status_code == 201, answer.json
    assert answer.json["email"] == "dr.lee@clinic.test" and answer.json["has_password"] is True
    user = db_session.get(User, answer.json["id"])
    assert user.password_hash.startswith("$argon2")
    assert "correct horse" not in user.password_hash
    assert verify_password(user.password_hash, "correct horse battery")
    assert not verify_password(user.password_hash, "wrong horse battery")
    event = db_session.scalars(select(AuditEvent).where(AuditEvent.action == "user.create")).one()
    assert event.actor_id == api.users["admin"] and "password_hash" not in event.after
    assert [u["email"] for u in api.get("/api/v1/users").json["users"]] == ["admin@clinic.test", "dr.lee@clinic.test"]


def test_the_app_hashes_passwords_with_production_argon2_parameters(api):
    # Test users made by tests/support/builders carry cheap hashes of their own (TEST_HASHER); every
    # hash the app makes, on creating a user and on a password change, has argon2-cffi's RFC 9106
    # low-memory profile (argon2id, 3 passes over 64 MiB in 4 lanes).
    made = api.post("/api/v1/users", json={"email": "a@clinic.test", "role": "clinician", "password": "x" * 12})
    assert made.status_code == 201, made.json
    first = db_session.get(User, made.json["id"]).password_hash
    changed = api.post(f"/api/v1/users/{made.json['id']}/password", json={"password": "y" * 12})
    assert changed.status_code == 200, changed.json
    db_session.expire_all()
    second = db_session.get(User, made.json["id"]).password_hash
    assert first != second
    for hashed in (first, second):
        assert argon2.extract_parameters(hashed) == argon2.profiles.RFC_9106_LOW_MEMORY


@pytest.mark.parametrize(
    "body, field, status",
    [
        ({"email": "not-an-email", "role": "clinician"}, "email", 400),
        ({"email": "a@b.test", "role": "janitor"}, "role", 400),
        ({"email": "a@b.test", "role": "clinician", "password": "short"}, "password", 400),
        ({"email": "a@b.test", "role": "clinician", "password": 123456789012}, "password", 400),
        ({"email": "a@b.test", "role": "clinician", "staff_member_id": 999}, None, 404),
        ({"email": "a@b.test", "role": "clinician", "is_root": True}, "is_root", 400),
        ({"role": "clinician"}, "email", 400),
    ],
)
def test_create_user_validates_every_field(api, body, field, status):
    answer = api.post("/api/v1/users", json=body)
    assert answer.status_code == status, answer.json
    if field:
        assert answer.json["error"]["field"] == field
    assert db_session.scalars(select(User).where(User.email == "a@b.test")).first() is None


def test_duplicate_email_is_a_conflict(api):
    body = {"email": "fd@clinic.test", "role": "front_desk"}
    assert api.post("/api/v1/users", json=body).status_code == 201
    again = api.post("/api/v1/users", json=body | {"email": "FD@clinic.test"})
    assert again.status_code == 409 and again.json["error"]["field"] == "email"


def test_a_token_is_stored_hashed_works_and_a_revoked_token_gets_401(api):
    user = api.post("/api/v1/users", json={"email": "n@clinic.test", "role": "clinician"}).json
    issued = api.post(f"/api/v1/users/{user['id']}/tokens", json={"label": "tablet"})
    assert issued.status_code == 201
    token = issued.json["token"]
    row = db_session.get(ApiToken, issued.json["id"])
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest() and token not in row.token_hash
    client = api.as_(None)
    bearer = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/rooms", headers=bearer).status_code == 200
    # a booking reads its token with the patient it names (api.sessions.token_with_patient)
    booking = {"patient_id": 1, "room_id": 1}
    assert client.post("/api/v1/sessions", json=booking, headers=bearer).status_code == 403  # a clinician
    # so does planning a course, with the patient of its path (api.courses.token_with_patient)
    course = {"protocol": "ketamine-iv", "clinic_id": 1, "start_on": "2030-01-07", "dry_run": True}
    assert client.post("/api/v1/patients/1/courses", json=course, headers=bearer).status_code == 403
    listed = api.get(f"/api/v1/users/{user['id']}/tokens").json["tokens"]
    assert [t["label"] for t in listed] == ["tablet"] and "token" not in listed[0]

    revoked = api.post(f"/api/v1/tokens/{row.id}/revoke", json={"reason": "tablet lost"})
    assert revoked.status_code == 200 and revoked.json["revoked_at"]
    refused = client.get("/api/v1/rooms", headers=bearer)
    assert refused.status_code == 401 and refused.json["error"]["code"] == "unauthorized"
    refused = client.post("/api/v1/sessions", json=booking, headers=bearer)
    assert refused.status_code == 401 and refused.json["error"]["code"] == "unauthorized"
    refused = client.post("/api/v1/patients/1/courses", json=course, headers=bearer)
    assert refused.status_code == 401 and refused.json["error"]["code"] == "unauthorized"
    assert api.post(f"/api/v1/tokens/{row.id}/revoke").status_code == 409
    db_session.expire_all()
    assert db_session.get(ApiToken, row.id) is not None  # kept, never deleted
    actions = db_session.scalars(select(AuditEvent.action).where(AuditEvent.entity_type == "api_token")).all()
    assert actions == ["api_token.issue", "api_token.revoke"]
    # Another token of the same user keeps working.
    other = api.post(f"/api/v1/users/{user['id']}/tokens", json={}).json["token"]
    assert client.get("/api/v1/rooms", headers={"Authorization": f"Bearer {other}"}).status_code == 200


def test_unknown_user_or_token_is_404(api):
    assert api.post("/api/v1/users/999/tokens", json={}).status_code == 404
    assert api.post("/api/v1/tokens/999/revoke").status_code == 404
