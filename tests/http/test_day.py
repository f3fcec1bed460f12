"""GET /clinics/{id}/day: hours, closures, rooms with their sessions and flags, idle chair stretches."""

from __future__ import annotations

from datetime import timedelta

from tests.support.builders import equipped_clinic, future_monday, patient_id


def test_day_board(api, app):
    clinic = equipped_clinic()
    pid = patient_id()
    day = future_monday()
    s = api.post(
        "/api/v1/sessions",
        json={
            "patient_id": pid,
            "room_id": clinic.rooms["IV-1"],
            "staff_member_id": clinic.staff["Nurse Ben"],
            "kind": "dose",
            "phase": "induction",
            "sequence": 1,
            "route": "iv",
            "starts_at": clinic.iso(day, 10),
            "duration_minutes": 120,
        },
    ).json
    api.post(
        f"/api/v1/clinics/{clinic.id}/closures",
        json={"starts_on": str(day), "ends_on": str(day), "from_time": "16:00", "reason": "Staff training"},
    )
    r = api.as_("front_desk").get(f"/api/v1/clinics/{clinic.id}/day?date={day}")
    assert r.status_code == 200, r.json
    board = r.json
    assert board["date"] == str(day)
    assert board["hours"] == [{"starts_at": clinic.iso(day, 8), "ends_at": clinic.iso(day, 18)}]
    assert [c["reason"] for c in board["closures"]] == ["Staff training"]
    assert board["open"] == [{"starts_at": clinic.iso(day, 8), "ends_at": clinic.iso(day, 16)}]
    rooms = {room["name"]: room for room in board["rooms"]}
    assert set(rooms) == set(clinic.rooms)
    iv1 = rooms["IV-1"]
    assert [x["id"] for x in iv1["sessions"]] == [s["id"]] and iv1["sessions"][0]["patient_name"] == "Pat Example"
    assert iv1["sessions"][0]["flags"] == []  # the ride home is arranged, everything in order
    assert [(i["starts_at"], i["ends_at"]) for i in iv1["idle"]] == [
        (clinic.iso(day, 8), clinic.iso(day, 10)),
        (clinic.iso(day, 12), clinic.iso(day, 16)),
    ]
    assert [(i["starts_at"], i["ends_at"]) for i in rooms["IV-2"]["idle"]] == [
        (clinic.iso(day, 8), clinic.iso(day, 16))
    ]
    sunday = api.get(f"/api/v1/clinics/{clinic.id}/day?date={day - timedelta(days=1)}").json
    assert sunday["hours"] == [] and all(room["idle"] == [] for room in sunday["rooms"])


def test_day_board_bad_input(api, app):
    clinic = equipped_clinic()
    assert api.get(f"/api/v1/clinics/{clinic.id}/day?date=31-12-2026").json["error"]["field"] == "date"
    assert api.get(f"/api/v1/clinics/{clinic.id}/day?date=9999-12-31").json["error"]["field"] == "date"
    assert api.get("/api/v1/clinics/999999/day").status_code == 404
    assert api.get(f"/api/v1/clinics/{clinic.id}/day").status_code == 200
