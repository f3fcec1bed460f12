"""Test fixtures: real SQLite and real PostgreSQL, schema built by the Alembic migrations.

PostgreSQL: ``SCHEDULER_TEST_POSTGRES_URL`` (default: the local server
``postgresql+psycopg://postgres@127.0.0.1:5432/test``) is used to create a throw-away database per
test run, so parallel runs never share data. When the server cannot be reached the PostgreSQL tests
are skipped locally, but fail under CI (``CI=true``) or with ``SCHEDULER_TEST_POSTGRES=require``.
"""
from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from scheduler import create_app
from scheduler.db import db_session
from scheduler.migrate import upgrade
from scheduler.models import Base

# The suite runs the app in development mode (plain http, the development SECRET_KEY), here once for
# the whole run, subprocesses included (`scheduler serve`, the browser tests' server); the tests of
# production behaviour say ENV=production themselves (tests/http/test_security_config.py).
os.environ.setdefault("SCHEDULER_ENV", "development")
DEVELOPMENT = {"ENV": "development"}

PG_ADMIN_URL = os.environ.get("SCHEDULER_TEST_POSTGRES_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PG_REQUIRED = os.environ.get("CI", "").lower() == "true" or os.environ.get("SCHEDULER_TEST_POSTGRES") == "require"

ALL_DATABASES = ["sqlite", "postgres"]


class PostgresServer:
    """Creates and drops databases on the test server."""

    def __init__(self, admin_url: str):
        self.admin_url = sa.make_url(admin_url)
        self.engine = sa.create_engine(self.admin_url, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
        self.created: list[str] = []

    def reachable(self) -> str | None:
        try:
            with self.engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
            return None
        except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
            return str(exc).splitlines()[0]

    def create_database(self, prefix: str = "scheduler_test") -> str:
        name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        with self.engine.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        return self.admin_url.set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        with self.engine.connect() as conn:
            for name in self.created:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.engine.dispose()


@pytest.fixture(scope="session")
def postgres_server():
    server = PostgresServer(PG_ADMIN_URL)
    problem = server.reachable()
    if problem:
        message = f"PostgreSQL test server {PG_ADMIN_URL} unreachable: {problem}"
        if PG_REQUIRED:
            pytest.fail(message + " (required under CI)")
        pytest.skip(message)
    yield server
    server.drop_all()


def _tables_in_delete_order() -> list[str]:
    return [t.name for t in reversed(Base.metadata.sorted_tables)]


@pytest.fixture(scope="session")
def _migrated_urls(tmp_path_factory, request):
    """Lazily builds one migrated database per kind for the whole run."""
    urls: dict[str, str] = {}

    def get(kind: str) -> str:
        if kind not in urls:
            if kind == "sqlite":
                path = tmp_path_factory.mktemp("sqlite") / "scheduler.sqlite3"
                url = f"sqlite:///{path}"
            else:
                url = request.getfixturevalue("postgres_server").create_database()
            upgrade(url)
            urls[kind] = url
        return urls[kind]

    return get


def _wipe(url: str) -> None:
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("TRUNCATE " + ", ".join(_tables_in_delete_order()) + " RESTART IDENTITY CASCADE")
        else:
            for table in _tables_in_delete_order():
                conn.exec_driver_sql(f"DELETE FROM {table}")
    engine.dispose()


@pytest.fixture(params=ALL_DATABASES)
def db_url(request, _migrated_urls) -> str:
    """A migrated, empty database: each test using it runs on SQLite and on PostgreSQL."""
    url = _migrated_urls(request.param)
    _wipe(url)
    return url


@pytest.fixture
def sqlite_url(_migrated_urls) -> str:
    url = _migrated_urls("sqlite")
    _wipe(url)
    return url


def _make_app(url: str, tmp_path: Path):
    app = create_app({"TESTING": True, **DEVELOPMENT, "DATABASE_URL": url, "SECRET_KEY": "test"})
    app.instance_path = str(tmp_path / "instance")
    return app


@pytest.fixture
def app(db_url, tmp_path):
    """The app on each database (SQLite, then PostgreSQL)."""
    app = _make_app(db_url, tmp_path)
    with app.app_context():
        yield app
        db_session.remove()
    app.extensions["scheduler.engine"].dispose()


@pytest.fixture
def sqlite_app(sqlite_url, tmp_path):
    app = _make_app(sqlite_url, tmp_path)
    with app.app_context():
        yield app
        db_session.remove()
    app.extensions["scheduler.engine"].dispose()


class Api:
    """The Flask test client with a bearer token for a role: ``api.as_("front_desk").post(...)``."""

    def __init__(self, app):
        self.app = app
        self.client = app.test_client()
        self.tokens: dict[str, str] = {}
        self.users: dict[str, int] = {}
        self.role = "admin"

    def token(self, role: str) -> str:
        if role not in self.tokens:
            from scheduler.auth import issue_token
            from scheduler.models import User

            user = User(email=f"{role}@clinic.test", role=role)
            db_session.add(user)
            db_session.flush()
            self.tokens[role] = issue_token(user)
            self.users[role] = user.id
            db_session.commit()
        return self.tokens[role]

    def as_(self, role: str) -> Api:
        other = Api.__new__(Api)
        other.__dict__.update(self.__dict__)
        other.role = role
        return other

    def _call(self, method: str, url: str, **kwargs):
        headers = dict(kwargs.pop("headers", {}) or {})
        if self.role is not None:
            headers.setdefault("Authorization", f"Bearer {self.token(self.role)}")
        return self.client.open(url, method=method, headers=headers, **kwargs)

    def get(self, url, **kw):
        return self._call("GET", url, **kw)

    def post(self, url, **kw):
        return self._call("POST", url, **kw)

    def patch(self, url, **kw):
        return self._call("PATCH", url, **kw)

    def put(self, url, **kw):
        return self._call("PUT", url, **kw)

    def delete(self, url, **kw):
        return self._call("DELETE", url, **kw)


@pytest.fixture
def api(app) -> Api:
    return Api(app)


@pytest.fixture
def sqlite_api(sqlite_app) -> Api:
    return Api(sqlite_app)
