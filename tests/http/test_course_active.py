"""One open dosing course per patient (409 ``course_active``), ``replaces_course_id``, and a past
``start_on`` planned from today (``start_moved_to_today``)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from scheduler.db import db_session
from scheduler.models import AuditEvent, Course, TreatmentSession
from tests.support.builders import NEW_YORK, count, equipped_clinic, future_monday, patient_id


def _url(pid):
    return f"/api/v1/patients/{pid}/courses"


def _body(clinic, start, **extra):
    return {
        "protocol": "ketamine-iv",
        "clinic_id": clinic.id,
        "start_on": str(start),
        "include_maintenance": False,
    } | extra


def _first_course(api, clinic, pid):
    r = api.post(_url(pid), json=_body(clinic, future_monday()))
    assert r.status_code == 201, r.json
    return r.json


def test_second_course_is_refused_naming_the_open_one(api, app):
    clinic = equipped_clinic()
    pid = patient_id()
    first = _first_course(api, clinic, pid)
    before = (count(Course), count(TreatmentSession))
    for dry_run in (True, False):
        r = api.post(_url(pid), json=_body(clinic, future_monday(3), protocol="ketamine-im", dry_run=dry_run))
        assert r.status_code == 409, r.json
        err = r.json["error"]
        assert err["code"] == "course_active" and err["field"] == "replaces_course_id"
        assert [(c["id"], c["protocol"], c["status"]) for c in err["conflicts"]] == [
            (first["course"]["id"], "ketamine-iv", "planned")
        ]
        assert f"course {first['course']['id']}" in err["message"]
    assert (count(Course), count(TreatmentSession)) == before


def test_a_stopped_course_no_longer_blocks(api, app):
    clinic = equipped_clinic()
    pid = patient_id()
    first = _first_course(api, clinic, pid)
    db_session.get(Course, first["course"]["id"]).status = "stopped"
    db_session.commit()
    r = api.post(_url(pid), json=_body(clinic, future_monday(8), dry_run=True))
    assert r.status_code == 200, r.json


def test_override_reason_books_a_second_course_and_is_audited(api, app):
    clinic = equipped_clinic()
    pid = patient_id()
    _first_course(api, clinic, pid)
    r = api.post(_url(pid), json=_body(clinic, future_monday(9), override_reason="Prescriber: TMS alongside"))
    assert r.status_code == 201, r.json
    event = db_session.scalars(select(AuditEvent).where(AuditEvent.action == "course.override")).one()
    assert event.after["flags"] == ["course_active"] and event.reason == "Prescriber: TMS alongside"
    assert count(Course) == 2


def test_replaces_course_id_stops_it_and_books_the_new_one_at_once(api, app):
    clinic = equipped_clinic()
    pid = patient_id()
    first = _first_course(api, clinic, pid)
    old_id = first["course"]["id"]
    old_sessions = {s["id"] for s in first["sessions"]}
    body = _body(
        clinic,
        future_monday(),
        protocol="ketamine-im",
        replaces_course_id=old_id,
        stop_reason="Switched to IM: poor venous access",
    )
    dry = api.post(_url(pid), json=body | {"dry_run": True})
    assert dry.status_code == 200, dry.json
    assert set(dry.json["cancelled_session_ids"]) == old_sessions
    assert dry.json["replaced_course"]["status"] == "planned"
    # the dry run plans into the slots the old course frees, and names no clash with it
    assert not [f for f in dry.json["flags"] if f["severity"] == "error"]
    r = api.post(_url(pid), json=body)
    assert r.status_code == 201, r.json
    assert r.json["replaced_course"]["status"] == "stopped"
    assert r.json["replaced_course"]["stopped_reason"] == "Switched to IM: poor venous access"
    db_session.expire_all()
    old = db_session.scalars(select(TreatmentSession).where(TreatmentSession.course_id == old_id)).all()
    assert {s.status for s in old} == {"cancelled"}
    assert {s.cancel_reason for s in old} == {"Switched to IM: poor venous access"}
    assert db_session.get(Course, old_id).status == "stopped"
    assert r.json["course"]["status"] == "planned" and r.json["course"]["protocol"] == "ketamine-im"
    # same slots as the dry run: the old course's sessions were out of the way
    assert [s["starts_at"] for s in r.json["sessions"]] == [s["starts_at"] for s in dry.json["sessions"]]
    actions = db_session.scalars(select(AuditEvent.action)).all()
    assert "course.stop" in actions and actions.count("session.cancel") == len(old_sessions)


def test_replaces_course_id_must_be_the_patients_open_course(api, app):
    clinic = equipped_clinic()
    pid, other = patient_id(), patient_id(mrn="MRN-2")
    theirs = _first_course(api, clinic, other)["course"]["id"]
    r = api.post(_url(pid), json=_body(clinic, future_monday(), replaces_course_id=theirs))
    assert r.status_code == 404 and r.json["error"]["field"] == "replaces_course_id"
    r = api.post(_url(pid), json=_body(clinic, future_monday(), stop_reason="no course named"))
    assert r.status_code == 400 and r.json["error"]["field"] == "stop_reason"
    assert db_session.get(Course, theirs).status == "planned"


def test_a_past_start_on_plans_from_today(api, app):
    clinic = equipped_clinic()
    pid = patient_id()
    now = datetime.now(ZoneInfo(NEW_YORK))
    r = api.post(_url(pid), json=_body(clinic, now.date() - timedelta(days=30), dry_run=True))
    assert r.status_code == 200, r.json
    moved = [p for p in r.json["problems"] if p["code"] == "start_moved_to_today"]
    assert len(moved) == 1 and moved[0]["severity"] == "warning"
    assert all(datetime.fromisoformat(s["starts_at"]) >= now - timedelta(minutes=1) for s in r.json["sessions"])
    # a future start_on is planned as asked, without the problem
    r = api.post(_url(pid), json=_body(clinic, future_monday(), dry_run=True))
    assert "start_moved_to_today" not in {p["code"] for p in r.json["problems"]}
    assert min(date.fromisoformat(s["starts_at"][:10]) for s in r.json["sessions"]) >= future_monday()
    booked = api.post(_url(pid), json=_body(clinic, now.date() - timedelta(days=30)))
    assert booked.status_code == 201, booked.json
    assert booked.json["course"]["start_on"] == now.date().isoformat()
    assert {s["status"] for s in booked.json["sessions"]} == {"booked"}
