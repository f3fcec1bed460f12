"""Idempotency-Key on bookings: a retry books once and gets the same answer, even when retries race;
the same key with another body is refused (422)."""

from __future__ import annotations

import threading
from datetime import datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from scheduler.db import db_session
from scheduler.models import Course, IdempotencyKey, TreatmentSession
from tests.support import builders
from tests.support.builders import equipped_clinic, future_monday, patient_id

DAY = future_monday()  # bookings are ahead of now (a past one is history: record_past)


def _count(model) -> int:
    db_session.expire_all()
    return db_session.scalar(select(func.count()).select_from(model))


def _booking(w, hour: int = 9) -> dict:
    starts = datetime.combine(DAY, time(hour), tzinfo=builders.NY)
    return {
        "patient_id": w.patient.id,
        "room_id": w.room.id,
        "staff_member_id": w.nurse.id,
        "kind": "dose",
        "starts_at": starts.isoformat(),
        "ends_at": (starts + timedelta(hours=2)).isoformat(),
    }


def test_a_retried_booking_books_once_and_answers_the_same(api):
    w = builders.small_clinic()
    desk = api.as_("front_desk")
    key = {"Idempotency-Key": "book-7f3a"}
    first = desk.post("/api/v1/sessions", json=_booking(w), headers=key)
    assert first.status_code == 201, first.json
    again = desk.post("/api/v1/sessions", json=_booking(w), headers=key)
    assert again.status_code == 201 and again.json == first.json
    assert again.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
    assert _count(TreatmentSession) == 1

    other_body = desk.post("/api/v1/sessions", json=_booking(w, hour=13), headers=key)
    assert other_body.status_code == 422
    assert other_body.json["error"]["code"] == "idempotency_key_reused"
    assert other_body.json["error"]["field"] == "Idempotency-Key"
    assert _count(TreatmentSession) == 1

    # Without a key, the same body is a second booking attempt (refused here as a double booking).
    assert desk.post("/api/v1/sessions", json=_booking(w)).status_code == 409


def test_keys_belong_to_their_user(api):
    w = builders.small_clinic()
    key = {"Idempotency-Key": "shared-key"}
    assert api.as_("front_desk").post("/api/v1/sessions", json=_booking(w, 9), headers=key).status_code == 201
    assert api.as_("admin").post("/api/v1/sessions", json=_booking(w, 13), headers=key).status_code == 201
    assert _count(TreatmentSession) == 2


def test_a_refused_booking_is_not_remembered(api):
    w = builders.small_clinic()
    w.book(DAY, time(9))  # the room is taken
    db_session.commit()
    key = {"Idempotency-Key": "after-refusal"}
    refused = api.as_("front_desk").post("/api/v1/sessions", json=_booking(w), headers=key)
    assert refused.status_code == 409
    assert _count(IdempotencyKey) == 0
    db_session.execute(TreatmentSession.__table__.update().values(status="cancelled"))
    db_session.commit()
    assert api.as_("front_desk").post("/api/v1/sessions", json=_booking(w), headers=key).status_code == 201
    assert _count(IdempotencyKey) == 1


def test_bad_keys_are_refused(api):
    w = builders.small_clinic()
    for bad in ("", "x" * 201):
        answer = api.as_("front_desk").post("/api/v1/sessions", json=_booking(w), headers={"Idempotency-Key": bad})
        assert answer.status_code == 400 and answer.json["error"]["field"] == "Idempotency-Key", bad
    assert _count(TreatmentSession) == 0


@pytest.mark.real_commits  # threads, each with its own connection
def test_concurrent_retries_book_once(app, api):
    w = builders.small_clinic()
    api.token("front_desk")
    body, n = _booking(w), 6
    barrier, answers = threading.Barrier(n), []

    def retry():
        client = app.test_client()
        barrier.wait()
        answer = client.post(
            "/api/v1/sessions",
            json=body,
            headers={"Idempotency-Key": "race-1", "Authorization": f"Bearer {api.tokens['front_desk']}"},
        )
        answers.append((answer.status_code, answer.get_json()))

    threads = [threading.Thread(target=retry) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert _count(TreatmentSession) == 1
    booked = [b for s, b in answers if s == 201]
    assert booked and all(b == booked[0] for b in booked)
    others = [(s, b["error"]["code"]) for s, b in answers if s != 201]
    assert all(o == (409, "in_progress") for o in others), others


def test_a_retried_course_books_once(api, app):
    clinic = equipped_clinic()
    pid = patient_id()
    body = {
        "protocol": "ketamine-iv",
        "clinic_id": clinic.id,
        "start_on": str(future_monday()),
        "preferences": {"weekdays": ["mon", "wed", "fri"], "earliest": "09:00", "latest": "15:00"},
    }
    key = {"Idempotency-Key": "course-1"}
    first = api.post(f"/api/v1/patients/{pid}/courses", json=body, headers=key)
    assert first.status_code == 201, first.json
    sessions = _count(TreatmentSession)
    again = api.post(f"/api/v1/patients/{pid}/courses", json=body, headers=key)
    assert again.status_code == 201 and again.json == first.json
    assert _count(Course) == 1 and _count(TreatmentSession) == sessions


def test_a_retried_clinical_note_is_written_once(api):
    from scheduler.models import ClinicalNote

    w = builders.small_clinic()
    clinician = api.as_("clinician")
    url = f"/api/v1/patients/{w.patient.id}/notes"
    key = {"Idempotency-Key": "note-1"}
    first = clinician.post(url, json={"body": "Dissociation resolved by 60 min."}, headers=key)
    again = clinician.post(url, json={"body": "Dissociation resolved by 60 min."}, headers=key)
    assert first.status_code == again.status_code == 201 and again.json == first.json
    assert _count(ClinicalNote) == 1
    doc = api.as_(None).get("/api/v1/openapi.json").json
    for path in ("/sessions", "/patients/{patient_id}/courses", "/patients/{patient_id}/notes"):
        names = [p["name"] for p in doc["paths"][path]["post"]["parameters"]]
        assert "Idempotency-Key" in names, path
