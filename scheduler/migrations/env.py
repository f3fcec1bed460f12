"""Alembic environment. The URL comes from (in order): a connection handed in by the caller
(``config.attributes["connection"]``), the ``sqlalchemy.url`` option set by ``scheduler.migrate``,
or the scheduler configuration (TOML file + SCHEDULER_* environment)."""

from __future__ import annotations

from alembic import context

from scheduler.db import make_engine
from scheduler.models import Base

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from scheduler import create_app

    return create_app(skip_database=True).config["DATABASE_URL"]


def _configure(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        render_as_batch=connection.dialect.name == "sqlite",
    )


def run_migrations_offline() -> None:
    context.configure(
        url=_url(), target_metadata=target_metadata, literal_binds=True, dialect_opts={"paramstyle": "named"}
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(_url())
    with engine.connect() as connection:
        _run(connection)
    engine.dispose()


def _run(connection) -> None:
    """On SQLite, batch migrations rebuild a table (copy, drop, rename): with foreign keys enforced,
    dropping a table other rows point to fails on a database that has data. They are switched off for
    the migration (the pragma only works outside a transaction) and the result is checked before they
    are switched on again."""
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        _pragma(connection, "OFF")
    try:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"migration left rows pointing nowhere: {broken[:5]}")
    finally:
        if sqlite:
            _pragma(connection, "ON")


def _pragma(connection, value: str) -> None:
    """``PRAGMA foreign_keys`` on the driver's connection itself, outside any transaction (through
    SQLAlchemy it would first begin one, where SQLite ignores the pragma)."""
    if connection.in_transaction():
        connection.commit()
    connection.connection.dbapi_connection.execute(f"PRAGMA foreign_keys={value}")


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
