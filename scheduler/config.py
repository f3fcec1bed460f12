"""Configuration: defaults, then a TOML file, then ``SCHEDULER_*`` environment variables.

Only UPPERCASE keys are kept (Flask's ``from_file``/``from_mapping`` rule).  Every key is
documented in ``config.example.toml``.
"""
from __future__ import annotations

import os
import tomllib
from pathlib import Path

from flask import Flask

DEFAULTS: dict[str, object] = {
    "SECRET_KEY": "dev-only-change-me",
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
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
}

ENV_PREFIX = "SCHEDULER_"


def _coerce(raw: str, current: object) -> object:
    """Turn an environment string into the type of the default it overrides."""
    if isinstance(current, bool):
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(current, int):
        return int(raw)
    return raw


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
                app.config[name] = _coerce(value, app.config.get(name))
    if test_config:
        app.config.from_mapping(test_config)
    if not app.config["DATABASE_URL"]:
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
        app.config["DATABASE_URL"] = f"sqlite:///{Path(app.instance_path) / 'scheduler.sqlite3'}"
