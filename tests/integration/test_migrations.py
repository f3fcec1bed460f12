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
        names = set(
            conn.scalars(
                sa.text(
                    "SELECT conname FROM pg_constraint WHERE contype = 'x' AND conrelid = 'treatment_session'::regclass"
                )
            )
        )
        has_ext = conn.scalar(sa.text("SELECT count(*) FROM pg_extension WHERE extname = 'btree_gist'"))
    engine.dispose()
    assert names == {"ex_treatment_session_room_overlap", "ex_treatment_session_patient_overlap"}
    assert has_ext == 1


def test_sqlite_upgrades_a_database_that_has_data(tmp_path):
    """Batch migrations rebuild SQLite tables; with rows pointing at them (a session at a patient) that
    must not trip the foreign keys, and must leave none dangling."""
    url = f"sqlite:///{tmp_path / 'populated.sqlite3'}"
    upgrade(url, "0005")
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    with engine.begin() as conn:
        for sql in (
            "INSERT INTO clinic (id, name, timezone, created_at) VALUES (1, 'C', 'America/New_York', '2026-01-01')",
            "INSERT INTO room (id, clinic_id, name, capabilities, active, created_at) "
            "VALUES (1, 1, 'IV-1', '[\"iv\"]', 1, '2026-01-01')",
            "INSERT INTO patient (id, mrn, name, birth_date, ride_home_arranged, created_at, email) "
            "VALUES (1, 'M-1', 'Pat', '1980-01-01', 0, '2026-01-01', 'pat@example.test')",
            "INSERT INTO patient (id, mrn, name, birth_date, ride_home_arranged, created_at, phone) "
            "VALUES (2, 'M-2', 'Sam', '1980-01-01', 0, '2026-01-01', '+15550100')",
            "INSERT INTO treatment_session (id, clinic_id, patient_id, room_id, kind, starts_at, ends_at, status, "
            "version, created_at, updated_at) VALUES (1, 1, 1, 1, 'dose', '2026-02-01 14:00:00', "
            "'2026-02-01 16:00:00', 'booked', 1, '2026-01-01', '2026-01-01')",
        ):
            conn.exec_driver_sql(sql)
    engine.dispose()
    upgrade(url)
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT contact_preference FROM patient ORDER BY id").scalars().all() == [
            "email",
            "sms",
        ]
        assert conn.exec_driver_sql("SELECT count(*) FROM treatment_session").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []
    engine.dispose()


def _check_names(conn, table: str) -> set[str]:
    return {c["name"] for c in sa.inspect(conn).get_check_constraints(table)}


def _hours(conn, table: str, start: str, end: str) -> list[tuple]:
    rows = conn.exec_driver_sql(f"SELECT weekday, {start}, {end} FROM {table} ORDER BY id").all()
    return [(d, str(s)[:5], str(e)[:5]) for d, s, e in rows]


def test_local_time_names_keep_the_hours_both_ways(empty_url):
    """0013 renames the hours' local times of day to start_time/end_time (and their CHECK constraints)
    with the rows kept; the constraint still refuses an interval that ends before it starts; the
    downgrade gives the old names back with the same rows."""
    upgrade(empty_url, "0012_setup")
    engine = sa.create_engine(empty_url, poolclass=sa.NullPool)
    with engine.begin() as conn:
        for sql in (
            "INSERT INTO clinic (id, name, timezone, created_at) VALUES (1, 'C', 'America/New_York', '2026-01-01')",
            "INSERT INTO staff_member (id, clinic_id, name, role, capacity, active, created_at) "
            "VALUES (1, 1, 'Nurse', 'nurse', 1, true, '2026-01-01')",
            "INSERT INTO opening_hours (id, clinic_id, weekday, opens_at, closes_at) VALUES "
            "(1, 1, 0, '08:00', '18:00'), (2, 1, 5, '09:00', '13:00')",
            "INSERT INTO working_hours (id, staff_member_id, weekday, starts_at, ends_at) VALUES "
            "(1, 1, 0, '08:30', '12:00'), (2, 1, 0, '13:00', '17:15')",
        ):
            conn.exec_driver_sql(sql)
    engine.dispose()
    opening = [(0, "08:00", "18:00"), (5, "09:00", "13:00")]
    working = [(0, "08:30", "12:00"), (0, "13:00", "17:15")]

    upgrade(empty_url)
    engine = sa.create_engine(empty_url, poolclass=sa.NullPool)
    with engine.connect() as conn:
        assert _hours(conn, "opening_hours", "start_time", "end_time") == opening
        assert _hours(conn, "working_hours", "start_time", "end_time") == working
        assert "ck_opening_hours_start_before_end" in _check_names(conn, "opening_hours")
        assert "ck_working_hours_start_before_end" in _check_names(conn, "working_hours")
        conn.rollback()
        for table, owner in (("opening_hours", "clinic_id"), ("working_hours", "staff_member_id")):
            with pytest.raises(sa.exc.IntegrityError), conn.begin():
                conn.exec_driver_sql(
                    f"INSERT INTO {table} ({owner}, weekday, start_time, end_time) VALUES (1, 1, '12:00', '11:00')"
                )
    engine.dispose()
    assert _diff(empty_url) == []

    downgrade(empty_url, "0012_setup")
    engine = sa.create_engine(empty_url, poolclass=sa.NullPool)
    with engine.connect() as conn:
        assert _hours(conn, "opening_hours", "opens_at", "closes_at") == opening
        assert _hours(conn, "working_hours", "starts_at", "ends_at") == working
        assert "ck_opening_hours_opens_before_closes" in _check_names(conn, "opening_hours")
        assert "ck_working_hours_starts_before_ends" in _check_names(conn, "working_hours")
    engine.dispose()
