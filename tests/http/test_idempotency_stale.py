"""Stale-safe writes: a reschedule or cancel based on an old version is refused (409 stale) and
leaves the newer change in place."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest

from scheduler.db import db_session
from scheduler.models import TreatmentSession
from tests.support import builders
from tests.support.builders import future_monday

DAY = future_monday()  # bookings are ahead of now (a past one is history: record_past)


def _iso(hour: int, day: date = DAY) -> str:
    return datetime.combine(day, time(hour), tzinfo=builders.NY).isoformat()


def _book(api, w) -> dict:
    answer = api.as_("front_desk").post(
        "/api/v1/sessions",
        json={
            "patient_id": w.patient.id,
            "room_id": w.room.id,
            "staff_member_id": w.nurse.id,
            "kind": "dose",
            "starts_at": _iso(9),
            "ends_at": _iso(11),
        },
    )
    assert answer.status_code == 201, answer.json
    return answer.json


def _stored(session_id: int) -> TreatmentSession:
    db_session.expire_all()
    return db_session.get(TreatmentSession, session_id)


@pytest.mark.parametrize("second", ["reschedule", "cancel"])
def test_a_write_based_on_a_stale_version_is_refused_and_overwrites_nothing(api, second):
    w = builders.small_clinic()
    session = _book(api, w)
    desk_a, desk_b = api.as_("front_desk"), api.as_("admin")
    # Desk A moves the session to 13:00 (based on version 1).
    moved = desk_a.post(
        f"/api/v1/sessions/{session['id']}/reschedule",
        json={"starts_at": _iso(13), "ends_at": _iso(15), "version": session["version"]},
    )
    assert moved.status_code == 200, moved.json
    assert moved.json["version"] > session["version"]
    # Desk B still has version 1 on screen.
    if second == "reschedule":
        stale = desk_b.post(
            f"/api/v1/sessions/{session['id']}/reschedule",
            json={"starts_at": _iso(16), "ends_at": _iso(18), "version": session["version"]},
        )
    else:
        stale = desk_b.post(
            f"/api/v1/sessions/{session['id']}/cancel", json={"reason": "Patient called", "version": session["version"]}
        )
    assert stale.status_code == 409, stale.json
    assert stale.json["error"]["code"] == "stale" and stale.json["error"]["field"] == "version"
    row = _stored(session["id"])
    assert row.status == "booked" and row.version == moved.json["version"]
    assert row.starts_at == datetime.fromisoformat(_iso(13))
    # With the current version the same change goes through.
    if second == "cancel":
        fresh = desk_b.post(
            f"/api/v1/sessions/{session['id']}/cancel",
            json={"reason": "Patient called", "version": moved.json["version"]},
        )
        assert fresh.status_code == 200 and fresh.json["status"] == "cancelled"


def test_version_is_required_on_actions(api):
    w = builders.small_clinic()
    session = _book(api, w)
    answer = api.as_("front_desk").post(f"/api/v1/sessions/{session['id']}/cancel", json={"reason": "x"})
    assert answer.status_code == 400 and answer.json["error"]["field"] == "version"
    assert _stored(session["id"]).status == "booked"


@pytest.mark.real_commits  # threads, each with its own connection
def test_two_concurrent_writes_on_the_same_version_one_wins(app, api):
    """Both desks send version 1 at the same moment: one change lands, the other is 409, never both."""
    import threading

    w = builders.small_clinic()
    session = _book(api, w)
    tokens = [api.token("front_desk"), api.token("admin")]
    barrier, answers = threading.Barrier(2), []
    bodies = [
        {"starts_at": _iso(13), "ends_at": _iso(15), "version": session["version"]},
        {"starts_at": _iso(16), "ends_at": _iso(18), "version": session["version"]},
    ]

    def move(i):
        client = app.test_client()
        barrier.wait()
        try:
            answer = client.post(
                f"/api/v1/sessions/{session['id']}/reschedule",
                json=bodies[i],
                headers={"Authorization": f"Bearer {tokens[i]}"},
            )
            answers.append((i, answer.status_code, answer.get_json()))
        except Exception as exc:  # noqa: BLE001 - an unhandled error is what a client sees as 500
            answers.append((i, 500, repr(exc)))

    threads = [threading.Thread(target=move, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(s for _, s, _ in answers)
    assert statuses == [200, 409], answers
    winner = next(i for i, s, _ in answers if s == 200)
    row = _stored(session["id"])
    assert row.starts_at == datetime.fromisoformat(bodies[winner]["starts_at"])
    assert row.version == session["version"] + 1
    loser = next(body for _, s, body in answers if s == 409)
    assert loser["error"]["code"] == "stale"
