"""Test fixtures: real SQLite and real PostgreSQL, schema built by the Alembic migrations.

The app is built once per database for the whole run (``_apps``); each test gets it with the ORM
session bound to one connection inside an outer transaction that is rolled back when the test ends
(SQLAlchemy's "join an external transaction" recipe: the request's ``commit()`` and ``rollback()``
become savepoint releases and rollbacks, so a refused request still leaves nothing behind). The
test's config changes are undone too.

Tests that need real commits (threads racing, a subprocess or a second app on the same database, the
worker, gunicorn) say so with ``@pytest.mark.real_commits`` (or by asking for ``db_url`` /
``sqlite_url``, which they pass to the other process): they get the same app bound to the engine,
on a database emptied before them, and the database is emptied again before the next test.
A test that uses the rolled-back connection from another thread fails at once, naming the marker.

PostgreSQL: ``SCHEDULER_TEST_POSTGRES_URL`` (default: the local server
``postgresql+psycopg://postgres@127.0.0.1:5432/test``) is used to create a throw-away database per
test run, so parallel runs never share data. When the server cannot be reached the PostgreSQL tests
are skipped locally, but fail under CI (``CI=true``) or with ``SCHEDULER_TEST_POSTGRES=require``.
"""

from __future__ import annotations

import os
import threading
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from scheduler import create_app
from scheduler.db import db_session, write_intent
from scheduler.migrate import upgrade
from scheduler.models import Base
from tests.support.api_client import Api

__all__ = ["Api", "ALL_DATABASES", "DEVELOPMENT"]

# The page tests' fixtures (site, desk, clinician) and the REMS page fixture (rems) for every test module.
pytest_plugins = ["tests.support.pages", "tests.support.rems"]

# The suite runs the app in development mode (plain http, the development SECRET_KEY), here once for
# the whole run, subprocesses included (`scheduler serve`, the browser tests' server); the tests of
# production behaviour say ENV=production themselves (tests/http/test_security_config.py).
os.environ.setdefault("SCHEDULER_ENV", "development")
DEVELOPMENT = {"ENV": "development"}

PG_ADMIN_URL = os.environ.get("SCHEDULER_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
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


def _wipe(url: str) -> None:
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("TRUNCATE " + ", ".join(_tables_in_delete_order()) + " RESTART IDENTITY CASCADE")
        else:
            for table in _tables_in_delete_order():
                conn.exec_driver_sql(f"DELETE FROM {table}")
    engine.dispose()


# SCHEDULER_TEST_CHECK_ISOLATION=1: after each rolled-back test, check that it left no row behind (a
# write that escaped the test's transaction, e.g. through another process); slower, for debugging.
CHECK_ISOLATION = os.environ.get("SCHEDULER_TEST_CHECK_ISOLATION") == "1"


def _assert_empty(url: str) -> None:
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    with engine.connect() as conn:
        left = {
            t: n for t in _tables_in_delete_order() if (n := conn.exec_driver_sql(f"SELECT count(*) FROM {t}").scalar())
        }
    engine.dispose()
    assert not left, f"rows committed outside the test's transaction (mark it real_commits): {left}"


class Database:
    """One migrated database of a kind for the whole run, and whether a test may have left rows in it."""

    def __init__(self, url: str):
        self.url = url
        self.dirty = False

    def empty(self) -> str:
        """The URL, after removing whatever a committing test left."""
        if self.dirty:
            _wipe(self.url)
            self.dirty = False
        return self.url


@pytest.fixture(scope="session")
def _databases(tmp_path_factory, request):
    """Lazily builds one migrated database per kind for the whole run."""
    built: dict[str, Database] = {}

    def get(kind: str) -> Database:
        if kind not in built:
            if kind == "sqlite":
                path = tmp_path_factory.mktemp("sqlite") / "scheduler.sqlite3"
                url = f"sqlite:///{path}"
            else:
                url = request.getfixturevalue("postgres_server").create_database()
            upgrade(url)
            built[kind] = Database(url)
        return built[kind]

    return get


def _make_app(url: str, tmp_path: Path):
    app = create_app({"TESTING": True, **DEVELOPMENT, "DATABASE_URL": url, "SECRET_KEY": "test"})
    app.instance_path = str(tmp_path / "instance")
    return app


@pytest.fixture(scope="session")
def _apps(_databases, tmp_path_factory):
    """The app, built once per database kind for the whole run."""
    built: dict[str, object] = {}

    def get(kind: str):
        if kind not in built:
            built[kind] = _make_app(_databases(kind).url, tmp_path_factory.mktemp(f"app-{kind}"))
        return built[kind]

    yield get
    for app in built.values():
        app.extensions["scheduler.engine"].dispose()


@pytest.fixture(params=ALL_DATABASES)
def db_kind(request) -> str:
    """ "sqlite" or "postgres": each test using the app or a database runs on both."""
    return request.param


def _real_commits(request) -> bool:
    return (
        request.node.get_closest_marker("real_commits") is not None
        or "db_url" in request.fixturenames
        or "sqlite_url" in request.fixturenames
    )


@pytest.fixture
def db_url(db_kind, _databases) -> str:
    """A migrated, empty database that the test (or the process it starts) commits to."""
    database = _databases(db_kind)
    url = database.empty()
    database.dirty = True
    return url


@pytest.fixture
def sqlite_url(_databases) -> str:
    database = _databases("sqlite")
    url = database.empty()
    database.dirty = True
    return url


def _bind(**kw) -> None:
    db_session.remove()
    db_session.configure(**kw)


@contextmanager
def _in_rolled_back_transaction(app, database: Database):
    """Bind the ORM session to one connection whose outer transaction is rolled back afterwards."""
    engine = app.extensions["scheduler.engine"]
    database.empty()
    owner = threading.get_ident()
    write_intent.set(True)
    connection = engine.connect()
    outer = connection.begin()

    @event.listens_for(connection, "before_cursor_execute")
    def _same_thread(*_args):
        if threading.get_ident() != owner:
            raise RuntimeError(
                "this test uses the database from another thread: mark it @pytest.mark.real_commits (tests/conftest.py)"
            )

    _bind(bind=connection, join_transaction_mode="create_savepoint")
    try:
        yield
    finally:
        bound_elsewhere = db_session.session_factory.kw.get("bind") is not connection
        db_session.remove()
        if outer.is_active:
            outer.rollback()
        connection.close()
        if bound_elsewhere:  # the test built another app (create_app rebinds the session): trust nothing
            database.dirty = True
        elif CHECK_ISOLATION:
            _assert_empty(database.url)
        _bind(bind=engine, join_transaction_mode="conditional_savepoint")


@contextmanager
def _committing(app, database: Database):
    engine = app.extensions["scheduler.engine"]
    database.empty()
    database.dirty = True
    _bind(bind=engine, join_transaction_mode="conditional_savepoint")
    try:
        yield
    finally:
        _bind(bind=engine, join_transaction_mode="conditional_savepoint")


def _serve(request, app, database: Database):
    config = dict(app.config)
    isolation = _committing if _real_commits(request) else _in_rolled_back_transaction
    try:
        with app.app_context(), isolation(app, database):
            yield app
    finally:
        app.config.clear()
        app.config.update(config)


@pytest.fixture
def app(request, db_kind, _apps, _databases):
    """The app on each database (SQLite, then PostgreSQL), the test in a rolled-back transaction."""
    yield from _serve(request, _apps(db_kind), _databases(db_kind))


@pytest.fixture
def sqlite_app(request, _apps, _databases):
    yield from _serve(request, _apps("sqlite"), _databases("sqlite"))


@pytest.fixture
def api(app) -> Api:
    return Api(app)


@pytest.fixture
def sqlite_api(sqlite_app) -> Api:
    return Api(sqlite_app)
