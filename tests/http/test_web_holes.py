"""Issue 9's refusals and new flags on the pages (Flask client): a second course (course_active) and
replacing the open one, a plan refused for its flags (a payer's units), a past start date, check-in too early, a past one-off session, and
attendance_unrecorded on the worklist and the day board."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from scheduler.db import db_session
from scheduler.models import Course, Room, TreatmentSession
from tests.support.builders import next_monday
from tests.support.pages import induction_doses, new_patient, plan

NY = ZoneInfo("America/New_York")


def _courses(patient_id: int) -> list[Course]:
    db_session.remove()
    return list(db_session.scalars(select(Course).where(Course.patient_id == patient_id).order_by(Course.id)))


def test_a_second_course_is_refused_on_the_page_and_can_replace_the_open_one(desk):  # noqa: F811
    patient_id = new_patient(desk)
    assert plan(desk, patient_id, next_monday(date.today())).status_code == 302
    [first] = _courses(patient_id)
    r = plan(desk, patient_id, next_monday(date.today(), weeks=3), action="preview")
    assert r.status_code == 409
    assert "A patient has one open dosing course at a time" in r.text and f"course {first.id}" in r.text
    assert 'data-testid="course-active"' in r.text and f'name="replaces_course_id" value="{first.id}"' in r.text
    form = {
        "protocol": "ketamine-iv",
        "start_on": next_monday(date.today(), weeks=3).isoformat(),
        "weekdays": ["mon", "thu"],
        "earliest": "09:00",
        "latest": "17:00",
        "action": "preview",
        "replaces_course_id": str(first.id),
        "stop_reason": "Restarting after a break",
    }
    preview = desk.post(f"/patients/{patient_id}/plan", form)
    assert preview.status_code == 200, preview.text
    assert 'data-testid="plan-preview"' in preview.text and "Replacing course" in preview.text
    booked = desk.post(f"/patients/{patient_id}/plan", {**form, "action": "confirm"})
    assert booked.status_code == 302, booked.text
    old, new = _courses(patient_id)
    assert (old.status, old.stopped_reason) == ("stopped", "Restarting after a break") and new.status == "planned"
    olds = db_session.scalars(select(TreatmentSession).where(TreatmentSession.course_id == old.id)).all()
    assert {s.status for s in olds} == {"cancelled"}


def test_a_past_start_date_is_planned_from_today_and_the_preview_says_so(desk):  # noqa: F811
    patient_id = new_patient(desk)
    r = plan(desk, patient_id, date.today() - timedelta(days=20), action="preview")
    assert r.status_code == 200, r.text
    assert 'data-flag-code="start_moved_to_today"' in r.text and "is in the past" in r.text


def test_a_past_one_off_session_is_refused_with_the_reason(desk, site):  # noqa: F811
    patient_id = new_patient(desk)
    day = date.today() - timedelta(days=10)
    room = site["rooms"]["Therapy"]
    form = {
        "kind": "evaluation",
        "course_id": "",
        "duration_minutes": "60",
        "capability": "consult",
        "role": "prescriber",
        "action": "book",
        "slot": "other",
        "starts_on": day.isoformat(),
        "starts_time": "10:00",
        "room_id": str(room.id),
    }
    r = desk.post(f"/patients/{patient_id}/book", form)
    assert r.status_code == 422, r.text
    message = r.text[r.text.index("The session ended") :]
    message = message[: message.index("<")]
    assert "before now" in message and "record_past" in message and "+00:00" not in message
    local = datetime.combine(day, time(11), tzinfo=NY)
    assert f"{local.day} {local:%b} {local.year} 11:00 E" in message
    db_session.remove()
    assert db_session.scalars(select(TreatmentSession).where(TreatmentSession.patient_id == patient_id)).all() == []


def test_attendance_unrecorded_shows_on_the_worklist_and_the_day_board(desk, site):  # noqa: F811
    from scheduler.services import booking

    patient_id = new_patient(desk)
    day = date.today() - timedelta(days=3)
    db_session.remove()
    room = db_session.scalar(select(Room).where(Room.name == "Therapy"))
    starts = datetime.combine(day, time(10), tzinfo=NY)
    past = booking.new_session(
        booking.SessionRequest(
            clinic_id=room.clinic_id,
            patient_id=patient_id,
            room_id=room.id,
            kind="evaluation",
            starts_at=starts,
            ends_at=starts + timedelta(hours=1),
        ),
        "booked",
    )
    db_session.add(past)
    db_session.commit()
    sid = past.id
    worklist = desk.get(f"/flags?code=attendance_unrecorded&start={day.isoformat()}&end={date.today().isoformat()}")
    assert worklist.status_code == 200
    assert 'data-flag-code="attendance_unrecorded"' in worklist.text and "mark it completed or no-show" in worklist.text
    board = desk.get(f"/board?date={day.isoformat()}")
    assert 'data-flag-code="attendance_unrecorded"' in board.text
    # recorded: gone
    done = desk.post(f"/sessions/{sid}/complete", {"version": "1"})
    assert done.status_code == 302, done.text
    worklist = desk.get(f"/flags?code=attendance_unrecorded&start={day.isoformat()}&end={date.today().isoformat()}")
    assert 'data-flag-code="attendance_unrecorded"' not in worklist.text


def test_check_in_too_early_names_the_clinics_time(desk):  # noqa: F811
    patient_id = new_patient(desk)
    plan(desk, patient_id, next_monday(date.today()))
    dose = induction_doses(patient_id)[0]
    r = desk.post(f"/sessions/{dose.id}/check_in", {"version": dose.version})
    assert r.status_code == 409
    local = dose.starts_at.astimezone(NY)
    message = r.text[r.text.index(f"Session {dose.id} is on") :]
    message = message[: message.index("<")]
    assert f"{local.day} {local:%b} {local.year} {local:%H:%M} E" in message and "+00:00" not in message
    assert "check-in opens that day" in message


def test_a_plan_past_the_authorized_units_shows_why_and_books_only_with_a_reason(desk):  # noqa: F811
    patient_id = new_patient(desk)
    start = next_monday(date.today())
    _authorize(patient_id, start)  # four units: doses 5 and 6 would exceed them
    preview = plan(desk, patient_id, start, action="preview")
    assert preview.status_code == 200, preview.text
    assert 'data-testid="plan-flags"' in preview.text and 'data-flag-code="authorization_exceeded"' in preview.text
    assert 'name="override_reason"' in preview.text  # the reason is asked for before booking
    refused = plan(desk, patient_id, start)
    assert refused.status_code == 409, refused.text
    assert "The plan breaks a scheduling rule" in refused.text and "would be unit 5 of 4" in refused.text
    assert 'data-testid="plan-preview"' in refused.text and 'name="override_reason"' in refused.text
    assert _courses(patient_id) == []
    form = {
        "protocol": "ketamine-iv",
        "start_on": start.isoformat(),
        "weekdays": ["mon", "thu"],
        "earliest": "09:00",
        "latest": "17:00",
        "action": "confirm",
        "override_reason": "Patient pays",
    }
    booked = desk.post(f"/patients/{patient_id}/plan", form)
    assert booked.status_code == 302, booked.text
    assert [c.status for c in _courses(patient_id)] == ["planned"]


def _authorize(patient_id: int, start: date) -> None:
    from scheduler.models import Authorization

    db_session.add(
        Authorization(
            patient_id=patient_id,
            protocol="ketamine-iv",
            payer="Acme Health",
            reference="PA-4",
            units_authorized=4,
            valid_from=start,
            valid_to=start + timedelta(days=120),
        )
    )
    db_session.commit()
