"""Secrets and modes: outside development the app will not serve on a missing or development key."""

from __future__ import annotations

import pytest

from scheduler import create_app
from scheduler.config import DEVELOPMENT_SECRET_KEY, InsecureConfiguration

REAL_KEY = "k" * 20 + "-a-real-production-secret"


def _build(tmp_path, **config):
    return create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}", **config})


@pytest.mark.parametrize(
    "key, problem",
    [
        (None, "SECRET_KEY is not set"),
        ("", "SECRET_KEY is not set"),
        ("change-me", "SECRET_KEY is a known development value"),  # what config.example.toml used to ship
        (DEVELOPMENT_SECRET_KEY, "SECRET_KEY is a known development value"),
        ("test", "SECRET_KEY is a known development value"),
        ("short-but-unknown", "SECRET_KEY is shorter than 32 characters"),
    ],
)
def test_production_refuses_to_start_without_a_real_key(tmp_path, key, problem):
    with pytest.raises(InsecureConfiguration) as refused:
        _build(tmp_path, ENV="production", SECRET_KEY=key)
    message = str(refused.value)
    assert problem in message and "SCHEDULER_SECRET_KEY" in message and "\n" not in message
    assert refused.value.code == message  # SystemExit: printed as one line, exit status 1


def test_the_environment_decides_the_mode(tmp_path, monkeypatch):
    monkeypatch.setenv("SCHEDULER_ENV", "production")
    monkeypatch.delenv("SCHEDULER_SECRET_KEY", raising=False)
    with pytest.raises(InsecureConfiguration):
        _build(tmp_path)
    monkeypatch.setenv("SCHEDULER_SECRET_KEY", REAL_KEY)
    app = _build(tmp_path)
    assert app.secret_key == REAL_KEY
    assert app.config["SESSION_COOKIE_SECURE"] is True  # Secure cookies by default outside development
    app.extensions["scheduler.engine"].dispose()


def test_development_mode_serves_on_the_development_key_over_plain_http(tmp_path, monkeypatch):
    monkeypatch.setenv("SCHEDULER_ENV", "development")
    monkeypatch.delenv("SCHEDULER_SECRET_KEY", raising=False)
    app = _build(tmp_path)
    assert app.secret_key == DEVELOPMENT_SECRET_KEY
    assert app.config["SESSION_COOKIE_SECURE"] is False
    app.extensions["scheduler.engine"].dispose()


def test_an_explicit_cookie_setting_wins_over_the_mode(tmp_path, monkeypatch):
    monkeypatch.setenv("SCHEDULER_SESSION_COOKIE_SECURE", "false")
    app = _build(tmp_path, ENV="production", SECRET_KEY=REAL_KEY)
    assert app.config["SESSION_COOKIE_SECURE"] is False
    app.extensions["scheduler.engine"].dispose()


def test_the_example_config_holds_no_usable_key():
    import tomllib
    from pathlib import Path

    example = tomllib.loads((Path(__file__).parents[2] / "config.example.toml").read_text())
    assert "SECRET_KEY" not in example


def test_cli_user_and_token_creation_is_audited_as_the_cli(api, app):
    result = app.test_cli_runner().invoke(args=["user", "add", "Ops@Clinic.test", "--role", "front_desk"])
    assert result.exit_code == 0, result.output
    events = api.as_("admin").get("/api/v1/audit?entity_type=app_user").json["events"]
    created = [e for e in events if e["action"] == "user.create" and e["after"]["email"] == "ops@clinic.test"]
    assert len(created) == 1 and created[0]["actor_id"] is None and created[0]["actor"] == "cli"
    tokens = api.as_("admin").get("/api/v1/audit?entity_type=api_token").json["events"]
    issued = [e for e in tokens if e["after"]["user_id"] == created[0]["entity_id"]]
    assert [(e["action"], e["actor_id"], e["actor"]) for e in issued] == [("api_token.issue", None, "cli")]
    assert "token_hash" not in issued[0]["after"]
    # an admin's own writes say "user"
    assert {e["actor"] for e in tokens if e["actor_id"] is not None} <= {"user"}
