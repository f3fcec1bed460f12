"""GET /flags and flags that follow the data: a closure or time off added after booking."""

from __future__ import annotations

from datetime import timedelta

from tests.support.builders import equipped_clinic, future_monday, patient_id

SESSIONS = "/api/v1/sessions"


def _book(api, clinic, pid, day, hh=9, room="Therapy"):
    r = api.post(
        SESSIONS,
        json={
            "patient_id": pid,
            "room_id": clinic.rooms[room],
            "kind": "evaluation",
            "staff_member_id": clinic.staff["Dr Prescriber"],
            "starts_at": clinic.iso(day, hh),
            "duration_minutes": 60,
        },
    )
    assert r.status_code == 201, r.json
    return r.json


def _codes(api, clinic, day, **query):
    extra = "".join(f"&{k}={v}" for k, v in query.items())
    r = api.as_("front_desk").get(f"/api/v1/flags?clinic_id={clinic.id}&start={day}&end={day}{extra}")
    assert r.status_code == 200, r.json
    return r.json["flags"]


def test_closure_added_later_flags_the_session_until_it_moves(api, app):
    clinic = equipped_clinic()
    pid = patient_id()
    day = future_monday()
    s = _book(api, clinic, pid, day)
    assert "clinic_closed" not in {f["code"] for f in _codes(api, clinic, day)}

    r = api.post(
        f"/api/v1/clinics/{clinic.id}/closures",
        json={"starts_on": str(day), "ends_on": str(day), "reason": "Burst pipe"},
    )
    assert r.status_code == 201
    closed = [f for f in _codes(api, clinic, day) if f["code"] == "clinic_closed"]
    assert len(closed) == 1 and closed[0]["session_ids"] == [s["id"]] and closed[0]["patient_id"] == pid
    assert closed[0]["severity"] == "error" and closed[0]["message"]
    timeline = api.get(f"/api/v1/patients/{pid}/timeline").json
    assert "clinic_closed" in {f["code"] for f in timeline["flags"]}
    assert "clinic_closed" in {f["code"] for f in api.get(f"{SESSIONS}/{s['id']}").json["flags"]}

    nxt = day + timedelta(days=1)
    moved = api.post(
        f"{SESSIONS}/{s['id']}/reschedule", json={"starts_at": clinic.iso(nxt, 9), "version": s["version"]}
    )
    assert moved.status_code == 200, moved.json
    assert "clinic_closed" not in {f["code"] for f in _codes(api, clinic, nxt)}
    assert "clinic_closed" not in {f["code"] for f in api.get(f"/api/v1/patients/{pid}/timeline").json["flags"]}


def test_time_off_added_later_flags_staff_unavailable(api, app):
    clinic = equipped_clinic()
    pid = patient_id()
    day = future_monday()
    s = _book(api, clinic, pid, day)
    r = api.post(
        f"/api/v1/staff/{clinic.staff['Dr Prescriber']}/time_off",
        json={"starts_at": clinic.iso(day, 8), "ends_at": clinic.iso(day, 12), "reason": "Conference"},
    )
    assert r.status_code == 201, r.json
    away = [f for f in _codes(api, clinic, day) if f["code"] == "staff_unavailable"]
    assert [f["session_ids"] for f in away] == [[s["id"]]]


def test_filters_and_defaults(api, app):
    clinic = equipped_clinic()
    pid = patient_id()
    day = future_monday()
    _book(api, clinic, pid, day, hh=17, room="Therapy")  # 17:00-18:00 fine; idle time before it
    everything = _codes(api, clinic, day)
    assert "idle_chair_time" in {f["code"] for f in everything}
    infos = _codes(api, clinic, day, severity="info")
    assert infos and {f["severity"] for f in infos} == {"info"}
    only = _codes(api, clinic, day, code="idle_chair_time")
    assert only and {f["code"] for f in only} == {"idle_chair_time"}
    r = api.get(f"/api/v1/flags?clinic_id={clinic.id}")  # default: today + 28 days
    assert r.status_code == 200 and r.json["start"] < r.json["end"]
    for query, field in [
        ("", "clinic_id"),
        (f"clinic_id={clinic.id}&severity=fatal", "severity"),
        (f"clinic_id={clinic.id}&code=nonsense", "code"),
        (f"clinic_id={clinic.id}&start=2026-02-30", "start"),
        (f"clinic_id={clinic.id}&start=9999-12-01", "start"),
        (f"clinic_id={clinic.id}&start=2026-01-01&end=2026-12-31", "end"),
    ]:
        r = api.get(f"/api/v1/flags?{query}")
        expected = 422 if "end=" in query else 400  # a range too long: a rule between fields
        assert r.status_code == expected and r.json["error"]["field"] == field, query
    assert api.get("/api/v1/flags?clinic_id=424242").status_code == 404
