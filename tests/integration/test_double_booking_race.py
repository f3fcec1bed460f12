"""20 threads book the same slot at the same instant: exactly one wins, on both databases."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from scheduler.db import db_session, transaction
from scheduler.errors import Conflict
from scheduler.models import AuditEvent, TreatmentSession
from scheduler.services import booking
from scheduler.services import sessions as session_service
from tests.support import builders

pytestmark = pytest.mark.real_commits  # threads, each with its own connection

THREADS = 20
START = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
END = datetime(2026, 3, 2, 16, 0, tzinfo=UTC)


def _race(app, requests: list[booking.SessionRequest], *, alone: bool = False):
    """``alone``: each booking is its transaction's only work, as an API booking (no savepoint; the
    row and its audit event written by Core statements)."""
    barrier = threading.Barrier(len(requests))
    results: list[object] = [None] * len(requests)

    def worker(i: int) -> None:
        with app.app_context():
            try:
                barrier.wait()
                with transaction():
                    results[i] = session_service.book(None, requests[i], check_flags=False, alone=alone)[0].id
            except Conflict as exc:
                results[i] = exc
            except Exception as exc:  # noqa: BLE001 - recorded and asserted on
                results[i] = exc
            finally:
                db_session.remove()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(requests))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


@pytest.mark.slow
@pytest.mark.parametrize("alone", [False, True], ids=["savepoint", "alone"])
@pytest.mark.parametrize("contested", ["room", "patient"])
def test_exactly_one_of_twenty_racing_bookings_wins(app, contested, alone):
    clinic = builders.clinic()
    rooms = [builders.room(clinic, name=f"IV-{i}") for i in range(THREADS)]
    patients = [builders.patient(mrn=f"MRN-{i}", name=f"Patient {i}") for i in range(THREADS)]
    db_session.commit()
    if contested == "room":  # many patients, one room
        pairs = [(rooms[0].id, p.id) for p in patients]
    else:  # one patient, many rooms
        pairs = [(r.id, patients[0].id) for r in rooms]
    requests = [
        booking.SessionRequest(
            clinic_id=clinic.id,
            patient_id=pid,
            room_id=rid,
            kind="dose",
            phase="induction",
            route="iv",
            starts_at=START,
            ends_at=END,
        )
        for rid, pid in pairs
    ]

    results = _race(app, requests, alone=alone)

    winners = [r for r in results if isinstance(r, int)]
    losers = [r for r in results if isinstance(r, Conflict)]
    others = [r for r in results if not isinstance(r, (int, Conflict))]
    assert others == []
    assert len(winners) == 1
    assert len(losers) == THREADS - 1
    for exc in losers:
        assert exc.conflicts, exc.message
        assert exc.conflicts[0]["session_id"] == winners[0]
        assert exc.conflicts[0]["resource"] == contested
        assert f"session {winners[0]}" in exc.message
    db_session.expire_all()
    assert db_session.scalar(select(func.count()).select_from(TreatmentSession)) == 1
    booked = db_session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "session.book"))
    assert booked == 1


def test_cancelled_session_frees_the_slot_and_keeps_its_row(app):
    clinic = builders.clinic()
    room = builders.room(clinic)
    first, second = builders.patient(mrn="A"), builders.patient(mrn="B")
    req = booking.SessionRequest(
        clinic_id=clinic.id, patient_id=first.id, room_id=room.id, kind="dose", starts_at=START, ends_at=END
    )
    session = session_service.book(None, req, check_flags=False)[0]
    with pytest.raises(Conflict):
        session_service.book(
            None, booking.SessionRequest(**{**req.__dict__, "patient_id": second.id}), check_flags=False
        )[0]
    session_service.cancel(None, session, version=session.version, reason="patient unwell")
    again = session_service.book(
        None, booking.SessionRequest(**{**req.__dict__, "patient_id": second.id}), check_flags=False
    )[0]
    db_session.commit()
    assert again.id != session.id
    kept = db_session.get(TreatmentSession, session.id)
    assert (kept.status, kept.cancel_reason) == ("cancelled", "patient unwell")
    assert kept.cancelled_at is not None
    actions = db_session.scalars(
        select(AuditEvent.action)
        .where(AuditEvent.entity_id == session.id, AuditEvent.entity_type == "treatment_session")
        .order_by(AuditEvent.id)
    ).all()
    assert actions == ["session.book", "session.cancel"]


def test_touching_sessions_do_not_clash(app):
    clinic = builders.clinic()
    room = builders.room(clinic)
    a, b = builders.patient(mrn="A"), builders.patient(mrn="B")
    session_service.book(
        None,
        booking.SessionRequest(
            clinic_id=clinic.id, patient_id=a.id, room_id=room.id, kind="dose", starts_at=START, ends_at=END
        ),
        check_flags=False,
    )[0]
    session_service.book(
        None,
        booking.SessionRequest(
            clinic_id=clinic.id,
            patient_id=b.id,
            room_id=room.id,
            kind="dose",
            starts_at=END,
            ends_at=END.replace(hour=18),
        ),
        check_flags=False,
    )[0]
    db_session.commit()


def test_postgres_constraint_alone_refuses_overlap(request):
    """Without the Python check, the database still refuses a second live session in the room."""
    import sqlalchemy as sa

    from scheduler.migrate import upgrade

    url = request.getfixturevalue("postgres_server").create_database("scheduler_excl_only")
    upgrade(url)
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO clinic (name, timezone, created_at) VALUES ('c', 'UTC', now())")
        conn.exec_driver_sql(
            "INSERT INTO room (clinic_id, name, capabilities, active, created_at) VALUES (1, 'r', '[]', true, now())"
        )
        for mrn in ("a", "b"):
            conn.exec_driver_sql(
                "INSERT INTO patient (mrn, name, birth_date, ride_home_arranged, created_at) "
                f"VALUES ('{mrn}', 'p', '1980-01-01', false, now())"
            )
    insert = (
        "INSERT INTO treatment_session (clinic_id, patient_id, room_id, kind, starts_at, ends_at, status, "
        "version, created_at, updated_at) VALUES (1, {p}, 1, 'dose', '{s}', '{e}', '{st}', 1, now(), now())"
    )
    with engine.begin() as conn:
        conn.exec_driver_sql(insert.format(p=1, s="2026-03-02 14:00Z", e="2026-03-02 16:00Z", st="booked"))
        # touching is fine; a cancelled overlapping row is fine
        conn.exec_driver_sql(insert.format(p=2, s="2026-03-02 16:00Z", e="2026-03-02 17:00Z", st="booked"))
        conn.exec_driver_sql(insert.format(p=2, s="2026-03-02 15:00Z", e="2026-03-02 15:30Z", st="cancelled"))
    with pytest.raises(sa.exc.IntegrityError) as caught, engine.begin() as conn:
        conn.exec_driver_sql(insert.format(p=2, s="2026-03-02 15:59Z", e="2026-03-02 16:00Z", st="booked"))
    assert caught.value.orig.sqlstate == "23P01"
    engine.dispose()
