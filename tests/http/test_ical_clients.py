"""The feeds as calendar apps read them: ical.js (npm, the parser behind many web calendars),
vobject and icalendar agree with the clinic's wall clock on every event, across the DST changes of
the feed's first year and the next; DTSTAMP is the feed's generation time; UIDs do not follow the
request's Host header."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import vobject
from icalendar import Calendar

from scheduler.db import db_session
from scheduler.models import utcnow
from tests.support import builders
from tests.support.js import ical_js_events

# America/New_York 2026: EST until 8 Mar, EDT until 1 Nov, EST; 2027 springs forward on 14 Mar.
DAYS = [
    date(2026, 1, 15),
    date(2026, 3, 6),
    date(2026, 3, 9),
    date(2026, 7, 1),
    date(2026, 10, 30),
    date(2026, 11, 2),
    date(2027, 3, 12),
    date(2027, 3, 15),
    date(2027, 11, 8),
]


def _feed(api, **headers) -> bytes:
    api.app.config["FEED_HISTORY_DAYS"] = 100 * 365  # the fixed dates stay in the feed
    made = api.as_("front_desk").post("/api/v1/feeds", json={"kind": "room", "id": api.room_id})
    assert made.status_code == 201, made.json
    answer = api.as_(None).get(made.json["url"], headers=headers)
    assert answer.status_code == 200 and answer.mimetype == "text/calendar"
    return answer.data


def _world(api):
    w = builders.small_clinic()
    sessions = [w.book(day, time(9), 60) for day in DAYS]
    db_session.commit()
    api.room_id = w.room.id
    truth = {
        f"session-{s.id}@scheduler.invalid": datetime.combine(day, time(9), tzinfo=builders.NY)
        for s, day in zip(sessions, DAYS)
    }
    return w, truth


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def test_ical_js_vobject_and_icalendar_agree_with_the_wall_clock_across_dst(api):
    _, truth = _world(api)
    ics = _feed(api)

    by_ical_js = {e["uid"]: e for e in ical_js_events(ics)}
    assert set(by_ical_js) == set(truth)
    for uid, start in truth.items():
        event = by_ical_js[uid]
        assert event["tzid"] == "America/New_York"
        assert datetime.fromisoformat(event["start"]) == _utc(start), (uid, event["start"], start)
        assert datetime.fromisoformat(event["end"]) == _utc(start + timedelta(hours=1))

    parsed = vobject.readOne(ics.decode())
    by_vobject = {ev.uid.value: ev for ev in parsed.vevent_list}
    assert set(by_vobject) == set(truth)
    for uid, start in truth.items():
        dtstart = by_vobject[uid].dtstart.value
        assert dtstart.tzinfo is not None and (dtstart.hour, dtstart.minute) == (9, 0)
        assert _utc(dtstart) == _utc(start), (uid, dtstart, start)

    by_icalendar = {str(ev["UID"]): ev for ev in Calendar.from_ical(ics).walk("VEVENT")}
    for uid, start in truth.items():
        assert _utc(by_icalendar[uid]["DTSTART"].dt) == _utc(start)


def test_vtimezone_has_one_onset_per_rule(api):
    _world(api)
    cal = Calendar.from_ical(_feed(api))
    (vtimezone,) = cal.walk("VTIMEZONE")
    onsets = [c.decoded("DTSTART") for c in vtimezone.subcomponents]
    assert all("RDATE" not in c for c in vtimezone.subcomponents)
    assert onsets == sorted(onsets)
    assert datetime(2026, 3, 8, 3) in onsets and datetime(2027, 11, 7, 2) in onsets


def test_dtstamp_is_the_feeds_generation_time(api):
    _, _truth = _world(api)
    before = utcnow().replace(microsecond=0)
    ics = _feed(api)
    after = utcnow()
    for event in ical_js_events(ics):
        stamp = datetime.fromisoformat(event["dtstamp"])
        assert before <= stamp <= after


def test_uid_domain_is_a_setting_not_the_request_host(api):
    _, truth = _world(api)
    first = {e["uid"] for e in ical_js_events(_feed(api))}
    other_host = {e["uid"] for e in ical_js_events(_feed(api, Host="calendar.other.example"))}
    assert first == other_host == set(truth)
    api.app.config["ICAL_UID_DOMAIN"] = "clinic.example"
    assert {e["uid"].split("@")[1] for e in ical_js_events(_feed(api))} == {"clinic.example"}
