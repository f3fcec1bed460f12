"""The migrations build the whole schema on both databases, go down and up again, and match the models."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from scheduler.migrate import downgrade, upgrade
from scheduler.models import Base


@pytest.fixture(params=["sqlite", "postgres"])
def empty_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'm.sqlite3'}"
    return request.getfixturevalue("postgres_server").create_database("scheduler_migr")


def _diff(url: str) -> list:
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, Base.metadata)
    engine.dispose()
    return diff


def _tables(url: str) -> set[str]:
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    names = set(sa.inspect(engine).get_table_names())
    engine.dispose()
    return names


def test_upgrade_downgrade_upgrade(empty_url):
    upgrade(empty_url)
    assert set(Base.metadata.tables) <= _tables(empty_url)
    downgrade(empty_url, "base")
    assert _tables(empty_url) <= {"alembic_version"}
    upgrade(empty_url)
    assert set(Base.metadata.tables) <= _tables(empty_url)


def test_models_and_migrations_do_not_drift(empty_url):
    upgrade(empty_url)
    assert _diff(empty_url) == []


def test_drift_is_detected(empty_url):
    """The drift check can fail: a column the migrations never created shows up."""
    upgrade(empty_url)
    engine = sa.create_engine(empty_url, poolclass=sa.NullPool)
    with engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE patient DROP COLUMN email")
    engine.dispose()
    diff = _diff(empty_url)
    assert any(d[0] == "add_column" and d[3].name == "email" for d in diff)


def test_postgres_has_exclusion_constraints(request):
    url = request.getfixturevalue("postgres_server").create_database("scheduler_excl")
    upgrade(url)
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    with engine.connect() as conn:
        names = set(conn.scalars(sa.text(
            "SELECT conname FROM pg_constraint WHERE contype = 'x' AND conrelid = 'treatment_session'::regclass")))
        has_ext = conn.scalar(sa.text("SELECT count(*) FROM pg_extension WHERE extname = 'btree_gist'"))
    engine.dispose()
    assert names == {"ex_treatment_session_room_overlap", "ex_treatment_session_patient_overlap"}
    assert has_ext == 1
