"""Issue 15: a clinic's setup is cached under ``clinic.setup_version``, which every write to it raises
(services/setup_cache.py). A change made through the API is seen by the next booking (another
process would read the raised version the same way); a change the transaction rolls back is never
cached. On both databases."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import select

from scheduler.db import db_session
from scheduler.models import Clinic, OpeningHours, Room, StaffMember, TimeOff
from scheduler.services import setup_cache
from tests.support.builders import equipped_clinic, future_monday, patient_id


def _version(clinic_id: int) -> int:
    return db_session.scalar(select(Clinic.setup_version).where(Clinic.id == clinic_id))


def test_every_kind_of_setup_write_raises_the_version(app):
    clinic = equipped_clinic()
    seen = [_version(clinic.id)]
    room_id = next(iter(clinic.rooms.values()))
    staff_id = next(iter(clinic.staff.values()))
    changes = [
        lambda: setattr(db_session.get(Room, room_id), "active", False),
        lambda: db_session.add(Room(clinic_id=clinic.id, name="New chair", capabilities=["iv"])),
        lambda: setattr(db_session.get(StaffMember, staff_id), "capacity", 3),
        lambda: db_session.add(
            TimeOff(
                staff_member_id=staff_id,
                starts_at=datetime(2030, 1, 1, 9, tzinfo=UTC),
                ends_at=datetime(2030, 1, 1, 17, tzinfo=UTC),
            )
        ),
        lambda: db_session.delete(
            db_session.scalars(select(OpeningHours).where(OpeningHours.clinic_id == clinic.id)).first()
        ),
        lambda: setattr(db_session.get(Clinic, clinic.id), "name", "Renamed"),
    ]
    for change in changes:
        change()
        db_session.commit()
        seen.append(_version(clinic.id))
    assert all(b > a for a, b in itertools.pairwise(seen)), seen
    loaded = setup_cache.setup(clinic.id)
    assert loaded.version == seen[-1] and loaded.name == "Renamed"
    assert not loaded.room(room_id).active and loaded.staff_member(staff_id).capacity == 3
    assert any(r.name == "New chair" for r in loaded.rooms)


def test_a_booking_sees_a_closure_added_after_the_setup_was_cached(api, app):
    clinic = equipped_clinic()
    pid = patient_id()
    day = future_monday()
    body = {
        "patient_id": pid,
        "room_id": clinic.rooms["Consult"],
        "kind": "evaluation",
        "starts_at": datetime.combine(day, time(10)).isoformat() + "-05:00",
        "duration_minutes": 60,
    }
    first = api.post("/api/v1/sessions", json=body)
    assert first.status_code == 201, first.json  # the setup is cached now
    before = _version(clinic.id)
    closed_on = day + timedelta(days=1)
    admin = api.as_("admin")
    assert (
        admin.post(
            f"/api/v1/clinics/{clinic.id}/closures", json={"starts_on": closed_on.isoformat(), "reason": "Flood"}
        ).status_code
        == 201
    )
    assert _version(clinic.id) > before
    second = api.as_("front_desk").post(
        "/api/v1/sessions", json={**body, "starts_at": datetime.combine(closed_on, time(10)).isoformat() + "-05:00"}
    )
    assert second.status_code == 409 and second.json["error"]["code"] == "flagged", second.json
    assert "clinic_closed" in {f["code"] for f in second.json["error"]["conflicts"]}


def test_a_setup_changed_by_a_transaction_that_rolls_back_is_not_kept(app):
    clinic = equipped_clinic()
    room_id = next(iter(clinic.rooms.values()))
    assert setup_cache.setup(clinic.id).room(room_id).active
    db_session.get(Room, room_id).active = False
    db_session.flush()
    assert not setup_cache.setup(clinic.id).room(room_id).active  # the transaction sees its own change
    db_session.rollback()
    assert setup_cache.setup(clinic.id).room(room_id).active


def test_a_transaction_reads_the_setup_it_changed_once_per_write(app, monkeypatch):
    """The demo and an import write a clinic's setup and then book hundreds of sessions in one
    transaction: the setup is read again after each write, not at every booking; a savepoint rolled
    back restores the earlier setup, which is then read again, not taken from before the rollback."""
    clinic = equipped_clinic()
    room_id = next(iter(clinic.rooms.values()))
    loads = []
    real_load = setup_cache._load
    monkeypatch.setattr(setup_cache, "_load", lambda *args: loads.append(args) or real_load(*args))

    db_session.get(Room, room_id).name = "Chair A"
    for _ in range(3):
        assert setup_cache.setup(clinic.id).room(room_id).name == "Chair A"
    assert len(loads) == 1

    db_session.get(Room, room_id).name = "Chair B"  # a second write: read once more
    assert setup_cache.setup(clinic.id).room(room_id).name == "Chair B"
    assert setup_cache.setup_of_room(room_id)[1].name == "Chair B"
    assert len(loads) == 2

    with db_session.begin_nested() as savepoint:
        db_session.get(Room, room_id).name = "Chair C"
        assert setup_cache.setup(clinic.id).room(room_id).name == "Chair C"
        savepoint.rollback()
    with db_session.begin_nested() as savepoint:
        db_session.get(Room, room_id).name = "Chair D"  # the same version number as C had
        assert setup_cache.setup(clinic.id).room(room_id).name == "Chair D"
        savepoint.rollback()
    assert setup_cache.setup(clinic.id).room(room_id).name == "Chair B"
