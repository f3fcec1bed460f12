"""Configuration: defaults, then a TOML file, then ``SCHEDULER_*`` environment variables.

Only UPPERCASE keys are kept (Flask's ``from_file``/``from_mapping`` rule).  Every key is
documented in ``config.example.toml``.

``ENV`` is ``production`` unless set to ``development`` (``SCHEDULER_ENV=development``, what
``make demo`` does). Outside development the app refuses to serve without a real ``SECRET_KEY``
and its cookies are ``Secure`` unless ``SESSION_COOKIE_SECURE`` says otherwise.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from flask import Flask

DEVELOPMENT = "development"
# The key used in development when none is set; like every value below it is public (it is in
# this repository's code, tests, benchmarks or example file) and never accepted outside development.
DEVELOPMENT_SECRET_KEY = "dev-only-change-me"
KNOWN_DEVELOPMENT_KEYS = frozenset(
    {
        DEVELOPMENT_SECRET_KEY,
        "change-me",
        "changeme",
        "dev",
        "development",
        "secret",
        "test",
        "testing",
        "browser-tests",
        "bench",
        "bench-load",
    }
)
MIN_SECRET_KEY_LENGTH = 32

DEFAULTS: dict[str, object] = {
    # "development" (SCHEDULER_ENV=development) or anything else, which is production.
    "ENV": "production",
    # Signs page session cookies and CSRF tokens. No default outside development.
    "SECRET_KEY": None,
    # None means "a SQLite file in the instance folder" (resolved in load_config).
    "DATABASE_URL": None,
    "DATABASE_ECHO": False,
    # Folder of extra protocol TOML files a clinic adds to the shipped ones.
    "PROTOCOLS_DIR": None,
    # Time zone used when a clinic is created without one (never for stored instants).
    "DEFAULT_TIMEZONE": "America/New_York",
    # The domain part of every calendar event's UID (session-42@<domain>). Keep it stable: a change
    # makes calendar apps see every session as a new event.
    "ICAL_UID_DOMAIN": "scheduler.invalid",
    # How long a slot held through FHIR Appointment/$hold stays reserved before it expires.
    "FHIR_HOLD_MINUTES": 10,
    # Request limits (scheduler/limits.py): bodies over this many bytes are refused with 413 unread;
    # JSON nested deeper than this is a 400.
    "MAX_CONTENT_LENGTH": 1024 * 1024,
    "MAX_JSON_DEPTH": 32,
    # Database faults (scheduler/dbfaults.py), seconds: PostgreSQL connect and statement timeouts,
    # the watchdog's grace past the statement timeout, and Retry-After of a 503.
    "DATABASE_CONNECT_TIMEOUT": 5,
    "DATABASE_STATEMENT_TIMEOUT": 15,
    "DATABASE_WATCHDOG_GRACE": 2,
    "DATABASE_RETRY_AFTER": 5,
    # A pooled connection idle longer than this is pinged before use; connections are replaced after
    # DATABASE_POOL_RECYCLE (no per-request ping: scheduler/dbfaults.py).
    "DATABASE_PING_AFTER_IDLE": 30,
    "DATABASE_POOL_RECYCLE": 1800,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    # Messages to patients (scheduler worker). PUBLIC_URL is the base of the links in them.
    "PUBLIC_URL": "http://127.0.0.1:5000",
    "SMTP_HOST": None,
    "SMTP_PORT": 25,
    "SMTP_USERNAME": None,
    "SMTP_PASSWORD": None,
    "SMTP_STARTTLS": False,
    "MAIL_FROM": "scheduler@localhost",
    # SMS through a Twilio-shaped HTTP API; no SMS_URL means email only.
    "SMS_URL": None,
    "SMS_ACCOUNT": None,
    "SMS_TOKEN": None,
    "SMS_FROM": None,
    # No SMS is sent in these clinic-local hours (it waits until they end).
    "QUIET_HOURS": "21:00-08:00",
    "MESSAGE_MAX_ATTEMPTS": 5,
    "WORKER_INTERVAL_SECONDS": 30,
    # An authorization with this many units left (or fewer) is flagged authorization_low.
    "AUTHORIZATION_LOW_UNITS": 5,
    # None: Secure outside development, not in development (plain http://127.0.0.1).
    "SESSION_COOKIE_SECURE": None,
    # A page session ends after this long without a request, and this long after sign-in at most.
    "SESSION_IDLE_MINUTES": 30,
    "SESSION_MAX_HOURS": 12,
    # Sign-in throttling, per account and per client address (state in the database): after
    # SIGN_IN_DELAY_AFTER failures each attempt waits 1, 2, 4… s; SIGN_IN_LOCK_AFTER failures lock
    # for SIGN_IN_LOCK_MINUTES (a failure is forgotten after as long).
    "SIGN_IN_DELAY_AFTER": 5,
    "SIGN_IN_LOCK_AFTER": 10,
    "SIGN_IN_LOCK_MINUTES": 15,
    # How many reverse proxies in front set X-Forwarded-For/-Proto/-Host (0: trust no such header).
    "TRUSTED_PROXIES": 0,
}

ENV_PREFIX = "SCHEDULER_"
BOOLEAN_KEYS = {"SESSION_COOKIE_SECURE", "DATABASE_ECHO", "SESSION_COOKIE_HTTPONLY", "SMTP_STARTTLS"}
INTEGER_KEYS = {"AUTHORIZATION_LOW_UNITS", "SMTP_PORT", "MESSAGE_MAX_ATTEMPTS", "WORKER_INTERVAL_SECONDS"}
TRUE_WORDS = {"1", "true", "yes", "on"}


class InsecureConfiguration(SystemExit):
    """Raised instead of serving with a setting that is unsafe outside development: its one-line
    message is what the operator sees (SystemExit prints it without a traceback, exit status 1)."""


def _coerce(name: str, raw: str, current: object) -> object:
    """Turn an environment string into the type of the default it overrides."""
    if isinstance(current, bool) or name in BOOLEAN_KEYS:
        return raw.strip().lower() in TRUE_WORDS
    if isinstance(current, int) or name in INTEGER_KEYS:
        return float(raw) if "." in raw else int(raw)
    return raw


def is_development(app: Flask) -> bool:
    return str(app.config.get("ENV") or "").strip().lower() == DEVELOPMENT


def load_config(app: Flask, test_config: dict | None = None) -> None:
    app.config.from_mapping(DEFAULTS)
    config_file = os.environ.get(f"{ENV_PREFIX}CONFIG")
    if config_file:
        app.config.from_file(str(Path(config_file).resolve()), load=tomllib.load, text=False)
    else:
        app.config.from_file("config.toml", load=tomllib.load, text=False, silent=True)
    for key, value in os.environ.items():
        if key.startswith(ENV_PREFIX) and key != f"{ENV_PREFIX}CONFIG":
            name = key.removeprefix(ENV_PREFIX)
            if name.isupper():
                app.config[name] = _coerce(name, value, app.config.get(name))
    if test_config:
        app.config.from_mapping(test_config)
    if not app.config["DATABASE_URL"]:
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
        app.config["DATABASE_URL"] = f"sqlite:///{Path(app.instance_path) / 'scheduler.sqlite3'}"
    development = is_development(app)
    if app.config["SESSION_COOKIE_SECURE"] is None:
        app.config["SESSION_COOKIE_SECURE"] = not development
    if development and not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = DEVELOPMENT_SECRET_KEY


def secret_key_problem(app: Flask) -> str | None:
    """Why ``SECRET_KEY`` is unfit to serve with outside development, or None when it is fine."""
    if is_development(app):
        return None
    key = app.config.get("SECRET_KEY")
    if not key:
        return "SECRET_KEY is not set"
    if not isinstance(key, str):
        return "SECRET_KEY must be a string"
    if key.strip().lower() in KNOWN_DEVELOPMENT_KEYS:
        return "SECRET_KEY is a known development value"
    if len(key) < MIN_SECRET_KEY_LENGTH:
        return f"SECRET_KEY is shorter than {MIN_SECRET_KEY_LENGTH} characters"
    return None


def require_real_secret_key(app: Flask) -> None:
    """Refuse to serve outside development with a missing, known or short ``SECRET_KEY``."""
    problem = secret_key_problem(app)
    if problem:
        raise InsecureConfiguration(
            f"scheduler: refusing to start: {problem}; set SCHEDULER_SECRET_KEY to a long random value "
            "(python -c 'import secrets; print(secrets.token_urlsafe(48))'), or SCHEDULER_ENV=development "
            "for local use."
        )
