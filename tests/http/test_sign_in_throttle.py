"""Sign-in throttling and lockout through the pages, on both databases: per account and per client
address, held in the database so a second app process sees the same counts. Time is moved by
ageing the stored failures, never by sleeping."""

from __future__ import annotations

import http.cookiejar
import re
import urllib.error
import urllib.parse
import urllib.request
from datetime import timedelta

import argon2
import pytest
from sqlalchemy import select

from scheduler.auth import _hasher
from scheduler.db import db_session
from scheduler.models import AuditEvent, SignInThrottle, utcnow
from scheduler.services.sign_in import dummy_hash
from tests.browser import harness
from tests.support.builders import PASSWORD, clinic_with_users, email

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Browser:
    """A Flask test client from one client address."""

    def __init__(self, app, address: str = "198.51.100.7"):
        self.client = app.test_client()
        self.client.environ_base["REMOTE_ADDR"] = address

    def sign_in(self, who: str, password: str):
        token = CSRF.search(self.client.get("/sign-in").text).group(1)
        return self.client.post("/sign-in", data={"email": who, "password": password, "csrf_token": token})


@pytest.fixture
def users(app):
    return clinic_with_users()[2]


def _age(**delta) -> None:
    """Move every stored failure and lock back in time, as if ``delta`` had passed."""
    db_session.remove()
    for row in db_session.scalars(select(SignInThrottle)):
        row.last_failure_at = row.last_failure_at and row.last_failure_at - timedelta(**delta)
        row.locked_until = row.locked_until and row.locked_until - timedelta(**delta)
    db_session.commit()


def _just_now() -> None:
    """As if the last failure had just been answered (a loaded machine may take a second per attempt)."""
    db_session.remove()
    for row in db_session.scalars(select(SignInThrottle)):
        row.last_failure_at = utcnow()
    db_session.commit()


def _fail(browser: Browser, times: int, who: str | None = None) -> None:
    for _ in range(times):
        _age(minutes=1)  # past any growing delay, well within the 15-minute memory
        answer = browser.sign_in(who or email("front_desk"), "wrong password!")
        assert answer.status_code == 401, answer.status_code


def test_after_five_failures_each_attempt_waits_with_429_and_retry_after(app, users):
    browser = Browser(app)
    _fail(browser, 5)
    _just_now()
    refused = browser.sign_in(email("front_desk"), PASSWORD)  # even the right password waits
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "1"
    assert 'data-code="too_many_attempts"' in refused.text and "Too many failed sign-ins" in refused.text
    _age(seconds=2)
    assert browser.sign_in(email("front_desk"), PASSWORD).status_code == 302


def test_ten_failures_lock_the_account_for_fifteen_minutes_and_the_lock_is_audited(app, users):
    browser = Browser(app)
    _fail(browser, 10)
    locked = Browser(app, "203.0.113.9").sign_in(email("front_desk"), PASSWORD)  # from anywhere
    assert locked.status_code == 429 and 890 <= int(locked.headers["Retry-After"]) <= 900
    assert "try again in 15 minutes" in locked.text
    db_session.remove()
    locks = db_session.scalars(select(AuditEvent).where(AuditEvent.action == "sign_in.lock")).all()
    assert {(e.after["scope"], e.after["subject"]) for e in locks} == {
        ("account", email("front_desk")),
        ("address", "198.51.100.7"),
    }
    assert all(e.actor_id is None and e.actor == "system" and "10 failed" in e.reason for e in locks)
    _age(minutes=14)
    assert Browser(app, "203.0.113.9").sign_in(email("front_desk"), PASSWORD).status_code == 429
    _age(minutes=1, seconds=1)
    assert Browser(app, "203.0.113.9").sign_in(email("front_desk"), PASSWORD).status_code == 302


def test_one_address_trying_many_accounts_is_locked_out_but_others_are_not(app, users):
    attacker = Browser(app, "192.0.2.66")
    for n in range(10):  # unknown emails count like wrong passwords
        _age(minutes=1)
        assert attacker.sign_in(f"guess{n}@web.test", "wrong password!").status_code == 401
    assert attacker.sign_in(email("clinician"), PASSWORD).status_code == 429
    assert Browser(app, "192.0.2.67").sign_in(email("clinician"), PASSWORD).status_code == 302


def test_a_success_clears_the_account_count(app, users):
    browser = Browser(app)
    _fail(browser, 4)
    assert browser.sign_in(email("front_desk"), PASSWORD).status_code == 302
    db_session.remove()
    account = db_session.scalars(select(SignInThrottle).where(SignInThrottle.scope == "account")).one()
    assert account.failures == 0 and account.locked_until is None


def test_unknown_emails_cost_an_argon2_verification_like_wrong_passwords():
    # The dummy hash is made by the very hasher (same memory, time, parallelism) that makes real ones.
    assert argon2.extract_parameters(dummy_hash()) == argon2.extract_parameters(_hasher.hash("x" * 12))


class Remote:
    """A second app process (werkzeug server around create_app) on the same database."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def sign_in(self, who: str, password: str) -> tuple[int, dict]:
        with self.opener.open(self.base + "/sign-in", timeout=20) as page:
            token = CSRF.search(page.read().decode()).group(1)
        data = urllib.parse.urlencode({"email": who, "password": password, "csrf_token": token}).encode()
        try:
            with self.opener.open(self.base + "/sign-in", data=data, timeout=20) as answer:
                return answer.status, dict(answer.headers)
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers)


def test_the_throttle_holds_across_two_app_processes_sharing_the_database(app, users, db_url):
    _fail(Browser(app, "127.0.0.1"), 10)  # the lock is made by this process...
    with harness.live_server(db_url) as base:
        status, headers = Remote(base).sign_in(email("front_desk"), PASSWORD)  # ...and holds in the other
        assert status == 429 and int(headers["Retry-After"]) > 800
        _age(minutes=16)
        for n in range(5):  # failures counted by the other process...
            assert Remote(base).sign_in(email("admin"), f"wrong password {n}")[0] == 401
    refused = Browser(app, "203.0.113.1").sign_in(email("admin"), PASSWORD)  # ...throttle this one
    assert refused.status_code == 429


def test_behind_a_trusted_proxy_the_forwarded_address_is_counted(sqlite_url):
    from scheduler import create_app

    app = create_app({"ENV": "development", "DATABASE_URL": sqlite_url, "TRUSTED_PROXIES": 1})
    client = app.test_client()
    token = CSRF.search(client.get("/sign-in").text).group(1)
    client.post(
        "/sign-in",
        data={"email": email("admin"), "password": "wrong password!", "csrf_token": token},
        headers={"X-Forwarded-For": "203.0.113.50"},
    )
    db_session.remove()
    subjects = db_session.scalars(select(SignInThrottle.subject).where(SignInThrottle.scope == "address")).all()
    db_session.remove()
    app.extensions["scheduler.engine"].dispose()
    assert subjects == ["203.0.113.50"]
