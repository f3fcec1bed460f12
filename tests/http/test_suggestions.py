"""GET /api/v1/sessions/{id}/suggestions: free slots to move a session to (services.suggestions),
on both databases."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from scheduler.db import db_session
from scheduler.domain.intervals import overlaps
from scheduler.services import booking, directory
from scheduler.services import sessions as session_service
from tests.support import builders
from tests.support.openapi_check import OpenApiChecker

NY = ZoneInfo("America/New_York")
HOURS = {d: [(time(8), time(18))] for d in range(7)}


def _clinic():
    clinic = builders.clinic(hours=HOURS)
    rooms = [builders.room(clinic, name="IV-1"), builders.room(clinic, name="IV-2")]
    nurse = builders.staff(clinic, hours=HOURS)
    patient = builders.patient(mrn="MRN-S1", name="Sam Suggest", ride_home_arranged=True)
    other = builders.patient(mrn="MRN-S2", name="Olive Other", ride_home_arranged=True)
    db_session.flush()
    return clinic, rooms, nurse, patient, other


def _book(clinic, room, nurse, patient, day: date, start: time, minutes: int = 120):
    starts = datetime.combine(day, start, tzinfo=NY)
    return session_service.book(
        None,
        booking.SessionRequest(
            clinic_id=clinic.id,
            patient_id=patient.id,
            room_id=room.id,
            staff_member_id=nurse.id,
            kind="dose",
            starts_at=starts,
            ends_at=starts + timedelta(minutes=minutes),
        ),
        check_flags=False,
    )[0]


def test_suggestions_are_free_same_length_slots_elsewhere_and_one_can_be_taken(api):
    clinic, rooms, nurse, patient, other = _clinic()
    day = datetime.now(NY).date() + timedelta(days=3)
    session = _book(clinic, rooms[0], nurse, patient, day, time(9))
    busy = _book(clinic, rooms[1], nurse, other, day + timedelta(days=1), time(9))
    db_session.flush()
    sid, length = session.id, session.ends_at - session.starts_at
    busy_span = (busy.starts_at, busy.ends_at)
    directory.add_closure(
        None, clinic, starts_on=day + timedelta(days=2), ends_on=day + timedelta(days=2), reason="Staff training"
    )
    closed = day + timedelta(days=2)
    db_session.commit()

    answer = api.as_("front_desk").get(f"/api/v1/sessions/{sid}/suggestions")
    assert answer.status_code == 200, answer.text
    doc = api.as_(None).get("/api/v1/openapi.json").json
    assert OpenApiChecker(doc).errors("GET", f"/api/v1/sessions/{sid}/suggestions", 200, answer.json) == []
    slots = answer.json["suggestions"]
    assert answer.json["session_id"] == sid and 0 < len(slots) <= 6
    room_ids = {r.id for r in rooms}
    for slot in slots:
        starts, ends = datetime.fromisoformat(slot["starts_at"]), datetime.fromisoformat(slot["ends_at"])
        assert ends - starts == length
        assert starts > datetime.now(NY)
        assert starts.astimezone(NY).date() != closed
        assert slot["room_id"] in room_ids and slot["staff_member_id"] == nurse.id
        assert not overlaps(starts, ends, *busy_span)  # the nurse is busy with the other patient then
    assert all(datetime.fromisoformat(s["starts_at"]) != datetime.combine(day, time(9), tzinfo=NY) for s in slots)

    version = api.as_("front_desk").get(f"/api/v1/sessions/{sid}").json["version"]
    moved = api.as_("front_desk").post(
        f"/api/v1/sessions/{sid}/reschedule",
        json={"version": version, "starts_at": slots[0]["starts_at"], "room_id": slots[0]["room_id"]},
    )
    assert moved.status_code == 200, moved.text
    assert datetime.fromisoformat(moved.json["starts_at"]) == datetime.fromisoformat(slots[0]["starts_at"])


def test_suggestions_need_read_schedule_and_an_existing_session(api):
    clinic, rooms, nurse, patient, _ = _clinic()
    session = _book(clinic, rooms[0], nurse, patient, datetime.now(NY).date() + timedelta(days=2), time(10))
    db_session.flush()
    sid = session.id
    db_session.commit()
    assert api.as_(None).get(f"/api/v1/sessions/{sid}/suggestions").status_code == 401
    assert api.as_("clinician").get(f"/api/v1/sessions/{sid}/suggestions").status_code == 200
    missing = api.as_("front_desk").get(f"/api/v1/sessions/{sid + 1000}/suggestions")
    assert missing.status_code == 404 and missing.json["error"]["code"] == "not_found"


def test_no_suggestion_when_the_only_clinician_is_free_only_at_the_sessions_own_time(api):
    clinic = builders.clinic(hours=HOURS)
    room = builders.room(clinic)
    nurse = builders.staff(clinic, hours={0: [(time(8), time(10))]})  # Mondays 8-10 only
    patient = builders.patient(mrn="MRN-S3", ride_home_arranged=True)
    db_session.flush()
    monday = datetime.now(NY).date() + timedelta(days=7 - datetime.now(NY).date().weekday())
    session = _book(clinic, room, nurse, patient, monday, time(8), minutes=120)
    db_session.flush()
    sid = session.id
    db_session.commit()
    slots = api.as_("front_desk").get(f"/api/v1/sessions/{sid}/suggestions").json["suggestions"]
    # the only time the nurse works is the session's own: nothing to move it to within the search
    assert [s for s in slots if datetime.fromisoformat(s["starts_at"]).astimezone(NY).date() == monday] == []


def _course_world():
    from scheduler.domain.values import Preferences
    from scheduler.services import courses

    clinic = builders.clinic(hours=HOURS)
    builders.room(clinic, name="IV-1")
    builders.room(clinic, name="Consult", capabilities=("consult", "therapy"))
    for name, role in (("Dr A", "prescriber"), ("Nurse B", "nurse"), ("Sam C", "therapist")):
        builders.staff(clinic, name=name, role=role, hours=HOURS)
    patient = builders.patient(mrn="MRN-C1", ride_home_arranged=True)
    db_session.flush()
    start = datetime.now(NY).date() + timedelta(days=7)
    result = courses.plan_and_book(None, patient.id, clinic.id, "ketamine-iv", start, Preferences(), dry_run=False)
    db_session.flush()
    return clinic, patient, result.course, result.sessions


def test_a_new_session_in_a_course_takes_the_protocols_rule_and_the_next_sequence(app):
    from scheduler.errors import ValidationError
    from scheduler.protocols_registry import protocols
    from scheduler.services import suggestions

    clinic, patient, course, booked = _course_world()
    proto = protocols()["ketamine-iv"]
    new = suggestions.new_session(clinic.id, patient.id, "integration", course=course)
    assert (new.spec.duration_minutes, new.spec.capability, new.spec.role) == (
        proto.integration.duration_minutes,
        proto.integration.capability,
        proto.integration.role,
    )
    dose = suggestions.new_session(clinic.id, patient.id, "dose", course=course)
    induction = [s.sequence for s in booked if s.kind == "dose" and s.phase == "induction"]
    assert dose.phase == "induction" and dose.sequence == max(induction) + 1 and dose.route == proto.dose.route
    other = builders.patient(mrn="MRN-C2")
    db_session.flush()
    try:
        suggestions.new_session(clinic.id, other.id, "dose", course=course)
    except ValidationError as exc:
        assert exc.field == "course_id"
    else:
        raise AssertionError("a course of another patient was accepted")
    slots = suggestions.for_new(new, first=datetime.now(NY).date() + timedelta(days=30))
    assert slots and all(
        s.ends_at - s.starts_at == timedelta(minutes=proto.integration.duration_minutes) for s in slots
    )


def test_the_maintenance_proposal_follows_the_courses_latest_dose(app):
    from scheduler.services import suggestions

    _clinic, _patient, course, booked = _course_world()
    proposal = suggestions.maintenance(course)
    doses = [s for s in booked if s.kind == "dose"]
    latest = max(s.starts_at for s in doses)
    assert proposal.last_dose_on == latest.astimezone(NY).date()
    assert proposal.sequence == 1 + max((s.sequence for s in doses if s.phase == "maintenance"), default=0)
    [dose] = proposal.plan.sessions
    assert dose.phase == "maintenance" and dose.starts_at > latest
    on = dose.starts_at.astimezone(NY).date()
    assert proposal.window.earliest <= on <= proposal.window.latest or "maintenance_overdue" in {
        p.code for p in proposal.plan.problems
    }
