"""Page sessions end on the server's word: sign-out and a password change end every cookie of the
user, idle and absolute lifetimes are enforced, and cookies are Secure outside development."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from scheduler import create_app
from scheduler.db import db_session
from scheduler.models import AuditEvent
from tests.support import pages
from tests.support.builders import PASSWORD, clinic_with_users, email
from tests.support.pages import CSRF


def _cookie(client) -> str:
    return client.get_cookie("session").value


@pytest.fixture
def users(sqlite_app):
    return {role: user.id for role, user in clinic_with_users()[2].items()}


def test_sign_out_ends_every_cookie_of_the_user(sqlite_app, users):
    laptop, tablet = pages.signed_in(sqlite_app), pages.signed_in(sqlite_app)
    other_user = pages.signed_in(sqlite_app, "clinician")
    stolen = _cookie(laptop)
    with laptop.session_transaction() as s:
        token = s["csrf_token"]
    assert laptop.post("/sign-out", data={"csrf_token": token}).status_code == 302
    assert not pages.is_signed_in(laptop) and not pages.is_signed_in(tablet)
    replay = sqlite_app.test_client()
    replay.set_cookie("session", stolen)  # the cookie as it was before sign-out is refused too
    assert replay.get("/patients").status_code == 302
    assert pages.is_signed_in(other_user)  # other users keep their sessions
    assert pages.is_signed_in(pages.signed_in(sqlite_app))  # and signing in again works
    db_session.remove()
    assert db_session.scalars(select(AuditEvent.action).where(AuditEvent.action == "user.sign_out")).all()


def test_a_password_change_ends_the_users_sessions(sqlite_app, users, sqlite_api):
    desk = pages.signed_in(sqlite_app)
    user_id = users["front_desk"]
    new = "a brand new passphrase"
    answer = sqlite_api.as_("admin").post(f"/api/v1/users/{user_id}/password", json={"password": new})
    assert answer.status_code == 200, answer.json
    assert not pages.is_signed_in(desk)
    follow = desk.get("/patients", follow_redirects=True)
    assert "password was changed" in follow.text
    client = sqlite_app.test_client()
    token = CSRF.search(client.get("/sign-in").text).group(1)
    assert (
        client.post(
            "/sign-in", data={"email": email("front_desk"), "password": PASSWORD, "csrf_token": token}
        ).status_code
        == 401
    )
    assert pages.is_signed_in(pages.signed_in(sqlite_app, password=new))
    db_session.remove()
    event = db_session.scalars(select(AuditEvent).where(AuditEvent.action == "user.password_change")).one()
    assert event.actor_id == sqlite_api.users["admin"] and "password_hash" not in event.after


def test_only_the_user_or_an_admin_changes_a_password(sqlite_app, users, sqlite_api):
    from scheduler.auth import issue_token

    def token_for(role):
        from scheduler.models import User

        token = issue_token(db_session.get(User, users[role]))
        db_session.commit()
        return {"Authorization": f"Bearer {token}"}

    client = sqlite_app.test_client()
    desk, clinician = token_for("front_desk"), token_for("clinician")
    url = f"/api/v1/users/{users['front_desk']}/password"
    refused = client.post(url, json={"password": "by someone else!!"}, headers=clinician)
    assert refused.status_code == 403 and refused.json["error"]["code"] == "forbidden"
    missing = client.post(url, json={"password": "a new passphrase"}, headers=desk)
    assert missing.status_code == 400 and missing.json["error"]["field"] == "current_password"
    wrong = client.post(url, json={"password": "a new passphrase", "current_password": "nope"}, headers=desk)
    assert wrong.status_code == 400 and wrong.json["error"]["field"] == "current_password"
    short = client.post(url, json={"password": "short", "current_password": PASSWORD}, headers=desk)
    assert short.status_code == 400 and short.json["error"]["field"] == "password"
    ok = client.post(url, json={"password": "a new passphrase", "current_password": PASSWORD}, headers=desk)
    assert ok.status_code == 200 and ok.json["id"] == users["front_desk"]
    assert client.post("/api/v1/users/999999/password", json={"password": "x" * 12}, headers=desk).status_code == 404


@pytest.mark.parametrize("idle_seconds, signed_in", [(29 * 60, True), (31 * 60, False)])
def test_idle_timeout(sqlite_app, users, idle_seconds, signed_in):
    client = pages.signed_in(sqlite_app)
    with client.session_transaction() as s:
        s["seen_at"] -= idle_seconds
        s["signed_in_at"] -= idle_seconds
    assert pages.is_signed_in(client) is signed_in
    if signed_in:  # each request refreshes the last-seen time
        with client.session_transaction() as s:
            assert time.time() - s["seen_at"] < 60
    else:
        assert "30 minutes without activity" in client.get("/sign-in").text


def test_absolute_lifetime_even_when_active(sqlite_app, users):
    client = pages.signed_in(sqlite_app)
    with client.session_transaction() as s:
        s["signed_in_at"] -= 12 * 3600 + 1
    assert not pages.is_signed_in(client)


def test_lifetimes_are_configurable(sqlite_app, users):
    sqlite_app.config.update(SESSION_IDLE_MINUTES=1, SESSION_MAX_HOURS=1)
    client = pages.signed_in(sqlite_app)
    with client.session_transaction() as s:
        s["seen_at"] -= 90
    assert not pages.is_signed_in(client)
    client = pages.signed_in(sqlite_app)
    with client.session_transaction() as s:
        s["signed_in_at"] -= 3601
    assert not pages.is_signed_in(client)


def test_outside_development_cookies_are_secure(sqlite_url, tmp_path, users):
    app = create_app({"ENV": "production", "SECRET_KEY": "p" * 48, "DATABASE_URL": sqlite_url})
    client = app.test_client()
    page = client.get("/sign-in", base_url="https://scheduler.test")
    token = CSRF.search(page.text).group(1)
    answer = client.post(
        "/sign-in",
        base_url="https://scheduler.test",
        data={"email": email("front_desk"), "password": PASSWORD, "csrf_token": token},
    )
    assert answer.status_code == 302
    cookie = answer.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    app.extensions["scheduler.engine"].dispose()
