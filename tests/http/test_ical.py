"""iCalendar feeds: parsed back with icalendar; 09:00 stays 09:00 across DST; UIDs, SEQUENCE, STATUS."""

from __future__ import annotations

from datetime import date, time

from icalendar import Calendar

from scheduler.db import db_session
from scheduler.services import sessions as session_service
from tests.support import builders

BEFORE_DST, AFTER_DST = date(2026, 3, 6), date(2026, 3, 9)  # America/New_York springs forward on 2026-03-08


def _feed(api, kind, ident, role="front_desk"):
    api.app.config["FEED_HISTORY_DAYS"] = 100 * 365  # the fixed 2026 dates stay in the feed
    answer = api.as_(role).post("/api/v1/feeds", json={"kind": kind, "id": ident})
    assert answer.status_code == 201, answer.json
    return answer.json


def _events(api, url):
    answer = api.as_(None).get(url)  # public: the token in the URL is the secret
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.mimetype == "text/calendar"
    cal = Calendar.from_ical(answer.data)
    return cal, {str(e["UID"]): e for e in cal.walk("VEVENT")}


def test_room_feed_keeps_nine_o_clock_across_the_dst_change(api):
    w = builders.small_clinic()
    before, after = w.book(BEFORE_DST, time(9)), w.book(AFTER_DST, time(9))
    db_session.commit()
    feed = _feed(api, "room", w.room.id)
    cal, events = _events(api, feed["url"])

    zones = cal.walk("VTIMEZONE")
    assert [str(z["TZID"]) for z in zones] == ["America/New_York"]
    assert {c.name for c in zones[0].subcomponents} >= {"STANDARD", "DAYLIGHT"}
    host = "scheduler.invalid"
    ev_before, ev_after = events[f"session-{before.id}@{host}"], events[f"session-{after.id}@{host}"]
    for ev, day in ((ev_before, BEFORE_DST), (ev_after, AFTER_DST)):
        start, end = ev["DTSTART"], ev["DTEND"]
        assert start.params["TZID"] == "America/New_York" and end.params["TZID"] == "America/New_York"
        assert start.dt.date() == day and start.dt.time() == time(9) and end.dt.time() == time(11)
        assert str(ev["STATUS"]) == "CONFIRMED"
        assert "MRN-100" in str(ev["SUMMARY"]) and "Pat Example" not in str(ev["SUMMARY"])
    # The same wall-clock time is a different UTC instant on each side of the change.
    assert ev_before["DTSTART"].dt.utcoffset().total_seconds() == -5 * 3600
    assert ev_after["DTSTART"].dt.utcoffset().total_seconds() == -4 * 3600


def test_a_change_raises_sequence_keeps_uid_and_cancelled_shows_as_cancelled(api):
    w = builders.small_clinic()
    session = w.book(AFTER_DST, time(10))
    db_session.commit()
    feed = _feed(api, "patient", w.patient.id, role="clinician")
    _, events = _events(api, feed["url"])
    uid = f"session-{session.id}@scheduler.invalid"
    first_sequence = int(events[uid]["SEQUENCE"])
    assert first_sequence == session.version

    from scheduler.models import TreatmentSession

    row = db_session.get(TreatmentSession, session.id)
    session_service.cancel(None, row, version=row.version, reason="Patient unwell")
    db_session.commit()
    _, events = _events(api, feed["url"])
    assert list(events) == [uid]
    assert int(events[uid]["SEQUENCE"]) > first_sequence
    assert str(events[uid]["STATUS"]) == "CANCELLED"
    assert "Patient unwell" in str(events[uid]["DESCRIPTION"])


def test_staff_feed_and_revocation(api):
    w = builders.small_clinic()
    w.book(AFTER_DST)
    db_session.commit()
    feed = _feed(api, "staff", w.nurse.id)
    _, events = _events(api, feed["url"])
    assert len(events) == 1
    assert api.as_("clinician").post(f"/api/v1/feeds/{feed['id']}/revoke").status_code == 403  # not theirs
    assert api.as_("front_desk").post(f"/api/v1/feeds/{feed['id']}/revoke").status_code == 200
    assert api.as_(None).get(feed["url"]).status_code == 404
    assert api.as_("front_desk").post(f"/api/v1/feeds/{feed['id']}/revoke").status_code == 409
    assert api.as_(None).get("/api/v1/feeds/not-a-token.ics").status_code == 404


def test_feed_requests_are_validated(api):
    w = builders.small_clinic()
    for body, field, status in [
        ({"kind": "clinic", "id": 1}, "kind", 400),
        ({"kind": "room"}, "id", 400),
        ({"kind": "room", "id": "1"}, "id", 400),
        ({"kind": "room", "id": 99999}, None, 404),
    ]:
        answer = api.as_("front_desk").post("/api/v1/feeds", json=body)
        assert answer.status_code == status, (body, answer.json)
        if field:
            assert answer.json["error"]["field"] == field
    assert [f["kind"] for f in api.as_("front_desk").get("/api/v1/feeds").json["feeds"]] == []
    _feed(api, "room", w.room.id)
    assert [f["kind"] for f in api.as_("front_desk").get("/api/v1/feeds").json["feeds"]] == ["room"]
    assert "token" not in api.as_("front_desk").get("/api/v1/feeds").json["feeds"][0]
