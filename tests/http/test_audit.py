"""The audit trail: every write records who, what, when, before and after; admins read it filtered
and paginated; nothing is ever hard-deleted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from scheduler.db import db_session
from scheduler.models import AuditEvent
from tests.support import builders


def test_no_route_deletes_anything(app):
    methods = {m for rule in app.url_map.iter_rules() for m in rule.methods}
    assert "DELETE" not in methods


def _writes(w):
    """(role, method, url, body, entity_type) for each write endpoint of the directory and clinical record."""
    p = w.patient.id
    return [
        (
            "admin",
            "POST",
            "/api/v1/clinics",
            {"name": "North", "timezone": "America/Chicago", "hours": {"mon": [["09:00", "17:00"]]}},
            "clinic",
        ),
        (
            "admin",
            "POST",
            f"/api/v1/clinics/{w.clinic.id}/closures",
            {"starts_on": "2026-12-25", "reason": "Holiday"},
            "closure",
        ),
        (
            "admin",
            "POST",
            "/api/v1/rooms",
            {"clinic_id": w.clinic.id, "name": "TMS-1", "capabilities": ["tms"]},
            "room",
        ),
        (
            "admin",
            "POST",
            "/api/v1/staff",
            {"clinic_id": w.clinic.id, "name": "Dr Ray", "role": "prescriber"},
            "staff_member",
        ),
        (
            "admin",
            "POST",
            f"/api/v1/staff/{w.nurse.id}/time_off",
            {"starts_at": "2026-04-01T00:00:00-04:00", "ends_at": "2026-04-02T00:00:00-04:00"},
            "time_off",
        ),
        (
            "front_desk",
            "POST",
            "/api/v1/patients",
            {"mrn": "MRN-7", "name": "Sam Doe", "birth_date": "1990-02-03"},
            "patient",
        ),
        ("front_desk", "PATCH", f"/api/v1/patients/{p}", {"phone": "555-0100"}, "patient"),
        (
            "clinician",
            "POST",
            f"/api/v1/patients/{p}/assessments",
            {"instrument": "PHQ-9", "score": 14, "taken_on": "2026-03-02"},
            "assessment",
        ),
        ("clinician", "POST", f"/api/v1/patients/{p}/notes", {"body": "Calm."}, "clinical_note"),
        ("clinician", "POST", f"/api/v1/patients/{p}/dosing_hold", {"reason": "BP 180/110"}, "patient"),
        ("clinician", "POST", f"/api/v1/patients/{p}/dosing_hold/lift", {"reason": "BP controlled"}, "patient"),
        ("admin", "POST", "/api/v1/users", {"email": "x@clinic.test", "role": "front_desk"}, "app_user"),
        ("front_desk", "POST", "/api/v1/feeds", {"kind": "room", "id": w.room.id}, "feed_token"),
    ]


def test_every_write_records_who_what_when_before_and_after(api):
    w = builders.small_clinic()
    for role, method, url, body, entity_type in _writes(w):
        before_count = db_session.scalar(select(func.count()).select_from(AuditEvent))
        started = datetime.now(UTC)
        answer = api.as_(role)._call(method, url, json=body)
        assert answer.status_code in (200, 201), (url, answer.json)
        db_session.expire_all()
        events = db_session.scalars(
            select(AuditEvent)
            .order_by(AuditEvent.id.desc())
            .limit(db_session.scalar(select(func.count()).select_from(AuditEvent)) - before_count)
        ).all()
        assert events, f"{method} {url} wrote no audit event"
        event = next(e for e in events if e.entity_type == entity_type)
        assert event.actor_id == api.users[role], url
        assert event.at >= started - timedelta(seconds=1), url
        assert event.after, url
        if method == "PATCH" or url.endswith(("dosing_hold", "/lift")):
            assert event.before and event.before != event.after, url


def test_audit_is_filtered_by_entity_and_date_and_paginated(api):
    w = builders.small_clinic()
    front = api.as_("front_desk")
    for phone in ("555-0001", "555-0002", "555-0003"):
        assert front.patch(f"/api/v1/patients/{w.patient.id}", json={"phone": phone}).status_code == 200
    url = f"/api/v1/audit?entity_type=patient&entity_id={w.patient.id}"
    everything = api.get(url).json
    assert everything["total"] == 4  # created by the factory, then three changes
    assert [e["action"] for e in everything["events"]] == ["patient.create"] + ["patient.update"] * 3
    assert [e["after"]["phone"] for e in everything["events"][1:]] == ["555-0001", "555-0002", "555-0003"]
    assert everything["events"][2]["before"]["phone"] == "555-0001"

    first = api.get(url + "&per_page=3").json
    second = api.get(url + "&per_page=3&page=2").json
    assert len(first["events"]) == 3 and first["next_page"] == 2
    assert len(second["events"]) == 1 and second["next_page"] is None
    assert {e["id"] for e in first["events"]}.isdisjoint(e["id"] for e in second["events"])

    today = datetime.now(UTC).date()
    assert api.get(url + f"&start={today}&end={today}").json["total"] == 4
    assert api.get(url + f"&end={today - timedelta(days=1)}").json["total"] == 0
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert api.get(url + "&start=" + future.replace("+", "%2B")).json["total"] == 0
    assert api.get("/api/v1/audit?entity_type=room").json["total"] == 1


def test_audit_filters_are_validated(api):
    for query, field in [
        ("start=yesterday", "start"),
        ("end=2026-13-01", "end"),
        ("per_page=0", "per_page"),
        ("per_page=500", "per_page"),
        ("page=-1", "page"),
        ("entity_id=abc", "entity_id"),
        ("start=2026-03-02&end=2026-03-01", "end"),
    ]:
        answer = api.get("/api/v1/audit?" + query)
        # Each field well-formed but the end before the start: a rule (422), not malformed input.
        status = 422 if query.startswith("start=2026") else 400
        assert answer.status_code == status and answer.json["error"]["field"] == field, query
    assert api.as_("front_desk").get("/api/v1/audit").status_code == 403
    assert api.as_("clinician").get("/api/v1/audit").status_code == 403


def test_session_writes_are_audited_with_before_and_after(api):
    w = builders.small_clinic()
    desk = api.as_("front_desk")

    def book(hour):
        starts = datetime(2026, 3, 9, hour, tzinfo=builders.NY)
        answer = desk.post(
            "/api/v1/sessions",
            json={
                "patient_id": w.patient.id,
                "room_id": w.room.id,
                "staff_member_id": w.nurse.id,
                "kind": "dose",
                "starts_at": starts.isoformat(),
                "ends_at": (starts + timedelta(hours=1)).isoformat(),
                "record_past": True,
            },
        )  # a past day, entered as history (booked)
        assert answer.status_code == 201, answer.json
        return answer.json

    a, b, c, d = book(8), book(10), book(12), book(16)
    moved = desk.post(
        f"/api/v1/sessions/{a['id']}/reschedule",
        json={"starts_at": datetime(2026, 3, 9, 14, tzinfo=builders.NY).isoformat(), "version": 1},
    )
    assert moved.status_code == 200, moved.json
    assert desk.post(f"/api/v1/sessions/{b['id']}/cancel", json={"reason": "Ill", "version": 1}).status_code == 200
    assert desk.post(f"/api/v1/sessions/{c['id']}/complete", json={"version": 1}).status_code == 200
    assert desk.post(f"/api/v1/sessions/{d['id']}/no_show", json={"version": 1}).status_code == 200
    db_session.expire_all()
    events = db_session.scalars(
        select(AuditEvent).where(AuditEvent.entity_type == "treatment_session").order_by(AuditEvent.id)
    ).all()
    assert len(events) >= 7
    assert all(e.actor_id == api.users["front_desk"] and e.after for e in events)
    changes = [e for e in events if e.entity_id in (a["id"], b["id"], c["id"], d["id"]) and e.before is not None]
    assert len(changes) >= 4
    for e in changes:
        assert e.before != e.after and e.before["version"] < e.after["version"]
    cancel = next(e for e in changes if e.entity_id == b["id"])
    assert cancel.before["status"] == "booked" and cancel.after["status"] == "cancelled"
