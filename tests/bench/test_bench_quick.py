"""The generator writes what the benchmarks claim: the exact size, protocol-shaped courses, and no two
live sessions overlapping for a room or a patient (the half-open predicate, on both databases).
Correctness only: nothing here is timed."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from bench.generate import ROOM_PLAN, existing_marker, generate, network_shape

LIVE = "status NOT IN ('cancelled', 'no_show')"


def _scalar(engine, sql: str):
    with engine.connect() as conn:
        return conn.execute(sa.text(sql)).scalar()


def test_generated_network_has_the_size_and_no_overlaps(db_url):
    summary = generate(db_url, 3000, seed=11, today=date(2026, 3, 2))
    engine = sa.create_engine(db_url, poolclass=sa.NullPool)
    try:
        assert _scalar(engine, "SELECT count(*) FROM treatment_session") == 3000
        assert _scalar(engine, "SELECT count(*) FROM room") == network_shape(3000)["clinics"] * len(ROOM_PLAN)
        assert existing_marker(engine)["sessions"] == 3000
        assert summary["cancelled"] > 0 and summary["no_show"] > 0 and summary["assessments"] > 0
        for resource in ("room_id", "patient_id"):
            clashes = _scalar(
                engine,
                (
                    f"SELECT count(*) FROM treatment_session a JOIN treatment_session b ON a.{resource} = b.{resource} "
                    f"AND a.id < b.id AND a.starts_at < b.ends_at AND b.starts_at < a.ends_at "
                    f"WHERE a.{LIVE} AND b.{LIVE}"
                ),
            )
            assert clashes == 0, resource
        # Every course of a dosing protocol starts with its evaluation, and IV induction doses are
        # at least two calendar days apart.
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT course_id, kind, starts_at FROM treatment_session ORDER BY course_id, starts_at")
            ).all()
            doses = conn.execute(
                sa.text(
                    "SELECT s.course_id, s.starts_at FROM treatment_session s JOIN course c ON c.id = s.course_id "
                    f"WHERE c.protocol_key = 'ketamine-iv' AND s.kind = 'dose' AND s.phase = 'induction' AND s.{LIVE} "
                    "ORDER BY s.course_id, s.starts_at"
                )
            ).all()
        first_kind = {}
        for course_id, kind, _ in rows:
            first_kind.setdefault(course_id, kind)
        assert set(first_kind.values()) == {"evaluation"}
        previous = {}
        checked = 0
        for course_id, starts_at in doses:
            day = starts_at.date() if hasattr(starts_at, "date") else date.fromisoformat(starts_at[:10])
            if course_id in previous:
                assert (day - previous[course_id]).days >= 2
                checked += 1
            previous[course_id] = day
        assert checked > 10
    finally:
        engine.dispose()
