"""Engine and ORM session.

The request (or CLI command) owns the transaction: services add and flush, and the caller commits
once at the end or rolls back on error (``init_app`` wires that to every request; ``transaction()``
does it for commands and scripts).

SQLite is made safe for concurrent writers: WAL with ``synchronous=FULL`` and ``BEGIN IMMEDIATE``
for every write transaction, so a conflict check and the insert it guards run serialised.  Read-only
requests (GET/HEAD) begin DEFERRED so they do not queue behind writers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from flask import Flask, current_app, g, request
from sqlalchemy import ARRAY, Engine, Integer, any_, bindparam, create_engine, event
from sqlalchemy.orm import scoped_session, sessionmaker

log = logging.getLogger(__name__)

# One ORM session per thread; bound to the app's engine in init_app.
db_session = scoped_session(sessionmaker(autoflush=True, expire_on_commit=False))

# False while serving a read-only request: SQLite then begins a DEFERRED transaction.
write_intent: ContextVar[bool] = ContextVar("write_intent", default=True)


def make_engine(url: str, echo: bool = False, config: Mapping[str, Any] | None = None) -> Engine:
    """The engine; with the app's ``config``, PostgreSQL gets the connect and statement timeouts and
    the watchdog of ``scheduler.dbfaults`` (migrations and scripts run without them)."""
    if url.startswith("sqlite"):
        engine = create_engine(url, echo=echo, connect_args={"timeout": 30, "check_same_thread": False})
        _harden_sqlite(engine)
        return engine
    if config is None:
        return create_engine(url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=20)
    from scheduler import dbfaults

    connect_args = dbfaults.postgres_connect_args(config)
    # The session's time zone named UTC: psycopg then loads a timestamptz with datetime.timezone.utc
    # (and UTCDateTime's astimezone returns it as it is); any other name, Etc/UTC included, costs a
    # ZoneInfo conversion per value in each (~2 us per instant read). No statement depends on the
    # session's zone (reports name the clinic's zone), so this changes nothing else.
    connect_args["options"] += " -c TimeZone=UTC"
    engine = create_engine(
        url,
        echo=echo,
        pool_size=10,
        max_overflow=20,
        pool_timeout=float(config["DATABASE_CONNECT_TIMEOUT"]),
        pool_recycle=float(config.get("DATABASE_POOL_RECYCLE", 1800)),
        connect_args=connect_args,
    )
    engine.watchdog = dbfaults.guard_postgres(engine, config)  # type: ignore[attr-defined]  # an idle-connection ping replaces pool_pre_ping
    return engine


def _harden_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # pragma: no cover - exercised by every SQLite test
        # Let SQLAlchemy's begin hook, not pysqlite, decide when a transaction starts.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write_intent.get() else "BEGIN")


def read(statement, params: Mapping[str, Any] | None = None):
    """A Core statement executed on the ORM session's connection, after the autoflush the ORM would
    have done: the same rows and the same transaction as ``db_session.execute``, without the ORM's
    execution layer (its compile state and result wrapping cost about as much CPU as psycopg's part
    of a small read). For the hot reads of plain values (the token, the room's setup version, the
    write gate's statements)."""
    session = db_session()
    if session.autoflush:
        session.flush()
    return session.connection().execute(statement, params)


def one_of(column, name: str, *, postgres: bool):
    """``column IN`` the list of integers bound as ``name``, for a statement built once: on PostgreSQL
    ``column = ANY(:name)``, one array parameter, the same text and plan for any number of values
    and nothing for SQLAlchemy to render per execution (an expanding IN is re-rendered with one
    parameter per value on every run); on SQLite an expanding IN."""
    if postgres:
        return column == any_(bindparam(name, type_=ARRAY(Integer)))
    return column.in_(bindparam(name, expanding=True))


def is_postgres(engine_or_session=None) -> bool:
    bind = engine_or_session or db_session.get_bind()
    return bind.dialect.name == "postgresql"


def rollback() -> None:
    """Roll the request's transaction back; when the database is gone (the rollback itself fails),
    drop the ORM session instead: the pool throws the dead connection away."""
    try:
        db_session.rollback()
    except Exception:  # noqa: BLE001 - a lost connection: nothing is left to roll back
        db_session.remove()


@contextmanager
def transaction() -> Iterator[None]:
    """Commit once at the end of a block, roll back on any error (CLI commands, scripts)."""
    try:
        yield
        db_session.commit()
    except BaseException:
        db_session.rollback()
        raise


def keep_on_rollback(key: object, write: Callable[[], object]) -> None:
    """Do ``write`` again, in a transaction of its own, if this request ends rolled back (once per
    ``key``): for records that must outlive a refusal, like the log of what the answer showed."""
    g.setdefault("kept_writes", {})[key] = write


def _write_kept() -> None:
    kept = g.pop("kept_writes", None)
    if not kept:
        return
    try:
        for write in kept.values():
            write()
        db_session.commit()
    except Exception:  # noqa: BLE001 - the database is gone: the refusal's answer still goes out
        log.exception("could not keep %d write(s) after a rollback", len(kept))
        rollback()


def keep_writes_on_refusal() -> None:
    """Commit this request's writes even though it answers 4xx (a failed sign-in is counted)."""
    g.keep_writes_on_refusal = True


def init_app(app: Flask) -> None:
    engine = make_engine(app.config["DATABASE_URL"], echo=app.config.get("DATABASE_ECHO", False), config=app.config)
    app.extensions["scheduler.engine"] = engine
    db_session.remove()
    db_session.configure(bind=engine)

    @app.before_request
    def _declare_intent():
        # A read that logs itself (scheduler.access) writes too: it begins as a writer.
        view = app.view_functions.get(request.endpoint or "")
        write_intent.set(
            request.method not in ("GET", "HEAD", "OPTIONS") or bool(getattr(view, "writes_on_read", False))
        )

    @app.after_request
    def _commit_or_rollback(response):
        if response.status_code < 400 or (response.status_code < 500 and g.get("keep_writes_on_refusal")):
            try:
                db_session.commit()
            except Exception as exc:  # a constraint that only fires at commit, a lost database
                rollback()
                from scheduler.errors import error_response_for

                try:  # the handlers of the request's blueprint: an HTML page for the pages
                    return current_app.make_response(current_app.handle_user_exception(exc))
                except Exception:  # noqa: BLE001 - no handler: the one generic answer
                    return error_response_for(exc)
        else:
            rollback()
            if response.status_code < 500:  # never while the database is failing
                _write_kept()
        return response

    # Each request gets a fresh ORM session (also under the test client, where an app context may
    # outlive the request); commands and scripts get theirs removed with the app context.
    @app.teardown_request
    def _end_request_session(_exc):
        db_session.remove()

    @app.teardown_appcontext
    def _remove_session(_exc):
        db_session.remove()
