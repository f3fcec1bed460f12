"""The pages through the Flask client: who may open what, sign-in, CSRF, forms and their errors,
and the front desk's writes (each answered with a message saying what happened)."""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from scheduler.db import db_session
from scheduler.models import Patient, TreatmentSession
from tests.support.builders import PASSWORD, email, next_monday
from tests.support.pages import Web, induction_doses, new_patient, plan

# ---------------------------------------------------------------- sign-in and roles


def test_pages_send_a_stranger_to_sign_in(site):
    r = Web(site["app"]).get("/board")
    assert r.status_code == 302
    assert r.headers["Location"].startswith("/sign-in?next=/board")


def test_sign_in_with_a_wrong_password_says_so_next_to_the_field(site):
    web = Web(site["app"])
    r = web.post("/sign-in", {"email": email("front_desk"), "password": "nope"})
    assert r.status_code == 401
    assert 'id="password-error"' in r.text and "do not match" in r.text
    assert web.get("/board").status_code == 302  # still signed out


def test_sign_in_sends_each_role_to_its_start_page_and_honours_next(site):
    web = Web(site["app"])
    assert web.sign_in("front_desk").headers["Location"] == "/board"
    web = Web(site["app"])
    assert web.sign_in("clinician").headers["Location"] == "/my-day"
    web = Web(site["app"])
    web.get("/sign-in")
    r = web.post("/sign-in?next=/flags", {"email": email("front_desk"), "password": PASSWORD})
    assert r.headers["Location"] == "/flags"
    web = Web(site["app"])
    r = web.post("/sign-in?next=https://evil.example/", {"email": email("front_desk"), "password": PASSWORD})
    assert r.headers["Location"] == "/board"


def test_sign_out_needs_the_csrf_token(desk):
    assert desk.post("/sign-out", token=False).status_code == 400
    assert desk.get("/board").status_code == 200
    r = desk.post("/sign-out")
    assert r.status_code == 302
    assert desk.get("/board").status_code == 302


FRONT_DESK_ONLY = ["/flags", "/open-time", "/patients/new", "/week"]
CLINICIAN_ONLY = ["/my-day"]
BOTH = ["/board", "/patients", "/patients?q=Rivera"]


@pytest.mark.parametrize("url", FRONT_DESK_ONLY + BOTH)
def test_front_desk_pages_open_for_the_front_desk(desk, url):
    r = desk.get(url)
    assert r.status_code == 200
    assert "<h1>" in r.text


@pytest.mark.parametrize("url", CLINICIAN_ONLY + BOTH)
def test_clinician_pages_open_for_clinicians(clinician, url):
    assert clinician.get(url).status_code == 200


@pytest.mark.parametrize("url", ["/flags", "/open-time", "/patients/new"])
def test_clinicians_cannot_open_the_front_desk_worklists(clinician, url):
    r = clinician.get(url)
    assert r.status_code == 403
    assert "Not available to your role" in r.text


def test_the_front_desk_never_sees_the_clinical_timeline(desk, clinician):
    patient_id = new_patient(desk)
    r = desk.get(f"/patients/{patient_id}/timeline")
    assert r.status_code == 403
    assert "Timeline" not in desk.get(f"/patients/{patient_id}").text.split("<main")[1].split("Sessions")[0]
    assert desk.get("/my-day").status_code == 403
    assert clinician.get(f"/patients/{patient_id}/timeline").status_code == 200


def test_an_unknown_patient_or_session_is_a_page_not_json(desk):
    for url in ("/patients/999999", "/sessions/999999", "/patients/999999/plan"):
        r = desk.get(url)
        assert r.status_code == 404 and r.mimetype == "text/html"
        assert "<h1>Not found</h1>" in r.text


def test_a_clinician_cannot_book(desk, clinician):
    patient_id = new_patient(desk)
    assert clinician.get(f"/patients/{patient_id}/plan").status_code == 403
    assert clinician.post(f"/patients/{patient_id}/plan", {"protocol": "ketamine-iv"}).status_code == 403


# ---------------------------------------------------------------- CSRF and form errors


def test_a_form_without_the_csrf_token_is_refused_and_writes_nothing(desk):
    data = {"mrn": "MRN-1", "name": "A B", "birth_date": "1980-01-01"}
    assert desk.post("/patients/new", data, token=False).status_code == 400
    assert desk.post("/patients/new", data | {"csrf_token": "forged"}, token=False).status_code == 400
    db_session.remove()
    assert db_session.scalar(select(func.count()).select_from(Patient)) == 0


@pytest.mark.parametrize(
    "field,data,status,text",
    [
        ("name", {"mrn": "M-1", "name": "", "birth_date": "1980-01-01"}, 400, "Enter the patient"),
        ("birth_date", {"mrn": "M-1", "name": "A B", "birth_date": "12/01/1980"}, 400, "date of birth"),
        ("birth_date", {"mrn": "M-1", "name": "A B", "birth_date": "2999-01-01"}, 400, "between 1900 and today"),
        ("email", {"mrn": "M-1", "name": "A B", "birth_date": "1980-01-01", "email": "nope"}, 400, "@"),
    ],
)
def test_new_patient_errors_are_shown_next_to_the_field(desk, field, data, status, text):
    r = desk.post("/patients/new", data)
    assert r.status_code == status
    error = re.search(rf'<p class="field-error" id="{field}-error">([^<]+)</p>', r.text)
    assert error and text in error.group(1)
    assert f'value="{data["mrn"]}"' in r.text  # what was typed is kept


def test_a_duplicate_mrn_is_shown_next_to_the_mrn(desk):
    new_patient(desk, mrn="MRN-9")
    r = desk.post("/patients/new", {"mrn": "MRN-9", "name": "Other", "birth_date": "1990-02-02"})
    assert r.status_code == 409
    assert 'id="mrn-error"' in r.text and "already belongs" in r.text


def test_adding_a_patient_says_so_and_search_finds_them(desk):
    patient_id = new_patient(desk, mrn="MRN-4242", name="Casey Nguyen")
    page = desk.get(f"/patients/{patient_id}")
    assert "Added Casey Nguyen (MRN MRN-4242)." in page.text
    assert "Casey Nguyen" in desk.get("/patients?q=MRN-4242").text
    assert "Casey Nguyen" in desk.get("/patients?q=nguy").text
    assert "Casey Nguyen" not in desk.get("/patients?q=zzz").text


def test_arranging_a_ride_home_is_saved_and_said(desk):
    patient_id = new_patient(desk)
    r = desk.post(f"/patients/{patient_id}/edit", {"name": "", "phone": "555"})
    assert r.status_code == 400 and 'id="name-error"' in r.text
    r = desk.post(f"/patients/{patient_id}/edit", {"name": "Jordan Rivera", "phone": "+1 555 0100"})
    assert r.status_code == 302
    assert "ride home not arranged" in desk.get(r.headers["Location"]).text
    db_session.remove()
    saved = db_session.get(Patient, patient_id)
    assert (saved.phone, saved.ride_home_arranged) == ("+1 555 0100", False)


def test_clinicians_see_demographics_but_cannot_edit_them(desk, clinician):
    patient_id = new_patient(desk)
    page = clinician.get(f"/patients/{patient_id}")
    assert page.status_code == 200 and "Save details" not in page.text
    assert clinician.post(f"/patients/{patient_id}/edit", {"name": "X"}).status_code == 403


# ---------------------------------------------------------------- plan a course


def test_the_preview_books_nothing_and_the_confirmation_books_every_session(desk):
    patient_id = new_patient(desk)
    start = next_monday(date.today())
    preview = plan(desk, patient_id, start, action="preview")
    assert preview.status_code == 200
    rows = re.findall(r'<span class="pill" style="border-color: var\(--k-(\w+)\)', preview.text)
    assert rows.count("dose") >= 6 and "evaluation" in rows and "integration" in rows
    db_session.remove()
    assert db_session.scalar(select(func.count()).select_from(TreatmentSession)) == 0
    confirm = plan(desk, patient_id, start)
    assert confirm.status_code == 302
    db_session.remove()
    booked = db_session.scalar(select(func.count()).select_from(TreatmentSession))
    assert booked == len(rows)
    assert f"Booked {booked} sessions of ketamine-iv for Jordan Rivera." in desk.get(confirm.headers["Location"]).text


@pytest.mark.parametrize(
    "data,field",
    [
        ({"protocol": "nope"}, "protocol"),
        ({"start_on": "tomorrow"}, "start_on"),
        ({"earliest": "9am"}, "earliest"),
        ({"earliest": "15:00", "latest": "10:00"}, "latest"),
    ],
)
def test_plan_errors_are_shown_next_to_the_field(desk, data, field):
    patient_id = new_patient(desk)
    base = {"protocol": "ketamine-iv", "start_on": "2030-01-07", "action": "preview"}
    r = desk.post(f"/patients/{patient_id}/plan", base | data)
    assert r.status_code in (400, 404, 422)
    assert f'id="{field}-error"' in r.text


# ---------------------------------------------------------------- sessions: actions, cancel, re-plan


def test_cancel_needs_a_reason_and_then_says_what_happened(desk):
    patient_id = new_patient(desk)
    plan(desk, patient_id, next_monday(date.today()))
    dose = induction_doses(patient_id)[2]
    r = desk.post(f"/sessions/{dose.id}/cancel", {"version": dose.version, "reason": ""})
    assert r.status_code == 400
    assert 'id="reason-error"' in r.text
    r = desk.post(f"/sessions/{dose.id}/cancel", {"version": dose.version, "reason": "Flu"})
    assert r.status_code == 200 and 'data-testid="confirm-cancel"' in r.text  # asks first, changes nothing
    assert "Cancel this session?" in r.text and "Flu" in r.text and induction_doses(patient_id)[2].status == "booked"
    r = desk.post(f"/sessions/{dose.id}/cancel", {"version": dose.version, "reason": "Flu", "confirm": "yes"})
    assert r.status_code == 302
    page = desk.get(r.headers["Location"])
    assert "Cancelled the dose session: Flu." in page.text
    assert 'data-testid="session-status">Cancelled' in page.text
    assert 'data-testid="reinstate"' in page.text


def test_a_cancellation_is_undone_with_reinstate_unless_the_slot_was_taken(desk):
    patient_id = new_patient(desk)
    other_id = new_patient(desk, mrn="MRN-78", name="Ana Ruiz")
    plan(desk, patient_id, next_monday(date.today()))
    dose = induction_doses(patient_id)[2]
    assert (
        desk.post(
            f"/sessions/{dose.id}/cancel", {"version": dose.version, "reason": "Flu", "confirm": "yes"}
        ).status_code
        == 302
    )
    r = desk.post(f"/sessions/{dose.id}/reinstate", {"version": _version(dose.id)})
    assert r.status_code == 302
    assert "Reinstated the dose session: it is booked again." in desk.get(r.headers["Location"]).text
    assert induction_doses(patient_id)[2].status == "booked"
    assert (
        desk.post(
            f"/sessions/{dose.id}/cancel", {"version": _version(dose.id), "reason": "Flu", "confirm": "yes"}
        ).status_code
        == 302
    )
    db_session.remove()
    row = db_session.get(TreatmentSession, dose.id)
    taken = desk.post(
        f"/patients/{other_id}/book",
        {
            "action": "book",
            "kind": "evaluation",
            "duration_minutes": "30",
            "capability": "iv",
            "role": "nurse",
            "slot": "other",
            "starts_on": row.starts_at.astimezone(ZoneInfo("America/New_York")).date().isoformat(),
            "starts_time": row.starts_at.astimezone(ZoneInfo("America/New_York")).strftime("%H:%M"),
            "room_id": str(row.room_id),
            "override_reason": "test",
        },
    )
    assert taken.status_code == 302, taken.text
    r = desk.post(f"/sessions/{dose.id}/reinstate", {"version": _version(dose.id)})
    assert r.status_code == 409 and "the room is already booked" in r.text
    assert induction_doses(patient_id)[2].status == "cancelled"


def test_a_stale_version_is_refused_with_a_message(desk):
    patient_id = new_patient(desk)
    plan(desk, patient_id, next_monday(date.today()))
    dose = induction_doses(patient_id)[0]
    r = desk.post(f"/sessions/{dose.id}/check_in", {"version": dose.version + 5})
    assert r.status_code == 409
    assert "changed by someone else" in r.text
    # the right version, but the dose is weeks away: check-in opens on its own day (the clinic's zone)
    r = desk.post(f"/sessions/{dose.id}/check_in", {"version": dose.version})
    assert r.status_code == 409 and "check-in opens that day" in r.text
    assert induction_doses(patient_id)[0].status == "booked"


def test_completing_a_future_session_is_refused_on_the_page(desk):
    patient_id = new_patient(desk)
    plan(desk, patient_id, next_monday(date.today()))
    dose = induction_doses(patient_id)[0]
    r = desk.post(f"/sessions/{dose.id}/complete", {"version": dose.version})
    assert r.status_code == 409
    assert "has not started yet" in r.text


def test_reschedule_offers_free_slots_and_moves_the_session(desk):
    patient_id = new_patient(desk)
    plan(desk, patient_id, next_monday(date.today()))
    dose = induction_doses(patient_id)[1]
    page = desk.get(f"/sessions/{dose.id}")
    slots = [v for v in re.findall(r'name="slot" value="([^"]+)"', page.text) if v != "other"]
    assert slots, "no suggested slot"
    starts = [datetime.fromisoformat(v.split("|")[0]) for v in slots]
    assert starts == sorted(starts)  # in time order
    assert all(datetime.fromisoformat(v.split("|")[0]) != dose.starts_at for v in slots)
    r = desk.post(f"/sessions/{dose.id}/reschedule", {"version": dose.version})
    assert r.status_code == 400 and 'id="slot-error"' in r.text
    r = desk.post(f"/sessions/{dose.id}/reschedule", {"version": dose.version, "slot": slots[0]})
    assert r.status_code == 302, r.text
    assert "Moved to " in desk.get(r.headers["Location"]).text
    db_session.remove()
    moved = db_session.get(TreatmentSession, dose.id)
    assert moved.starts_at == datetime.fromisoformat(slots[0].split("|")[0])
    assert moved.room_id == int(slots[0].split("|")[1])


def test_a_gap_appears_in_the_worklist_and_the_replan_clears_it(desk):
    patient_id = new_patient(desk)
    start = next_monday(date.today())
    plan(desk, patient_id, start)
    flags_url = f"/flags?code=induction_gap&start={start.isoformat()}&end={start.replace(day=start.day).isoformat()}"
    third, fourth = induction_doses(patient_id)[2:4]
    for dose in (third, fourth):  # a single cancellation in a twice-weekly plan leaves a gap of 7 days: allowed
        assert (
            desk.post(
                f"/sessions/{dose.id}/cancel", {"version": dose.version, "reason": "Away", "confirm": "yes"}
            ).status_code
            == 302
        )
    worklist = desk.get(f"/flags?code=induction_gap&start={start.isoformat()}")
    assert worklist.status_code == 200
    assert worklist.text.count('data-flag-code="induction_gap"') == 1
    proposal = desk.get(f"/sessions/{third.id}/replan")
    assert proposal.status_code == 200 and "Apply the re-plan" in proposal.text
    r = desk.post(f"/sessions/{third.id}/replan", {"version": _version(third.id)})
    assert r.status_code == 302
    assert "Re-planned: booked" in desk.get(r.headers["Location"]).text
    assert 'data-flag-code="induction_gap"' not in desk.get(f"/flags?code=induction_gap&start={start.isoformat()}").text
    assert flags_url  # the filter form round-trips dates


def _version(session_id: int) -> int:
    db_session.remove()
    return db_session.get(TreatmentSession, session_id).version


def test_flag_filters_with_bad_values_are_explained(desk):
    r = desk.get("/flags?severity=loud&code=nope&start=yesterday")
    assert r.status_code == 200
    for field in ("severity", "code", "start"):
        assert f'id="{field}-error"' in r.text


def test_the_day_board_draws_rooms_hours_and_blocks(desk, site):
    patient_id = new_patient(desk)
    start = next_monday(date.today())
    plan(desk, patient_id, start)
    dose = induction_doses(patient_id)[0]
    day = dose.starts_at.astimezone(__import__("zoneinfo").ZoneInfo("America/New_York")).date()
    page = desk.get(f"/board?date={day.isoformat()}")
    assert page.status_code == 200
    assert f'data-session-id="{dose.id}"' in page.text
    for room in ("IV-1", "IV-2", "Therapy"):
        assert f">{room}<small>" in page.text
    assert 'class="shade"' in page.text  # before 08:00 / after 18:00 is shaded
    assert "Day board · " + day.strftime("%A %d %B %Y") in page.text
    bad = desk.get("/board?date=31-12-2030")
    assert bad.status_code == 200 and "is not a date" in bad.text
    week = desk.get(f"/week?date={day.isoformat()}")
    assert f"/sessions/{dose.id}" in week.text


# ---------------------------------------------------------------- clinicians


def test_a_dosing_hold_needs_a_reason_and_can_be_lifted(desk, clinician):
    patient_id = new_patient(desk)
    r = clinician.post(f"/patients/{patient_id}/dosing-hold", {"action": "place", "reason": ""})
    assert r.status_code == 400 and 'id="reason-error"' in r.text
    r = clinician.post(f"/patients/{patient_id}/dosing-hold", {"action": "place", "reason": "Acute mania"})
    assert r.status_code == 302
    page = clinician.get(r.headers["Location"])
    assert "Placed a dosing hold on Jordan Rivera: Acute mania." in page.text
    assert 'data-testid="dosing-hold"' in page.text
    assert desk.post(f"/patients/{patient_id}/dosing-hold", {"action": "lift", "reason": "x"}).status_code == 403
    r = clinician.post(f"/patients/{patient_id}/dosing-hold", {"action": "lift", "reason": "Euthymic at review"})
    assert "Lifted the dosing hold" in clinician.get(r.headers["Location"]).text
    db_session.remove()
    assert db_session.get(Patient, patient_id).dosing_hold_reason is None


def test_the_timeline_draws_the_doses_and_the_assessment_chart(desk, clinician, site):
    from scheduler.services import clinical

    patient_id = new_patient(desk)
    start = next_monday(date.today())
    plan(desk, patient_id, start)
    patient = db_session.get(Patient, patient_id)
    for days, score in ((-3, 30), (10, 24), (20, 18)):
        clinical.record_assessment(
            None, patient, instrument="Y-BOCS", score=score, taken_on=date.fromordinal(start.toordinal() + days)
        )
    db_session.commit()
    page = clinician.get(f"/patients/{patient_id}/timeline")
    assert page.status_code == 200
    assert page.text.count('class="tl-session" data-kind="dose"') >= 6
    assert 'data-testid="assessment-chart" data-instrument="Y-BOCS"' in page.text
    assert "Response: 35% below baseline (≤ 19.5)" in page.text
    assert "-40% · responding" in page.text
    assert clinician.get(f"/patients/{patient_id}/timeline?span=all").status_code == 200


def test_my_day_lists_the_clinicians_sessions(desk, clinician):
    patient_id = new_patient(desk)
    plan(desk, patient_id, next_monday(date.today()))
    dose = induction_doses(patient_id)[0]
    day = dose.starts_at.astimezone(__import__("zoneinfo").ZoneInfo("America/New_York")).date()
    page = clinician.get(f"/my-day?date={day.isoformat()}")
    assert "Nurse Kim" in page.text
    assert f"/patients/{patient_id}/timeline" in page.text


def test_patient_search_page_finds_by_mrn_part_and_name_words_and_shows_course_and_next(desk):
    patient_id = new_patient(desk, mrn="MRN-77", name="Jordan Rivera")
    plan(desk, patient_id, next_monday(date.today()))
    for q in ("mrn-77", "77", "Rivera, Jordan", "1985-04-12"):
        page = desk.get(f"/patients?q={q}")
        assert f'data-patient-id="{patient_id}"' in page.text, q
        assert "ketamine-iv" in page.text and "Evaluation, " in page.text, q  # open course, next session
    empty = desk.get("/patients")
    assert "Seen recently" in empty.text and "Nobody was seen in the last" in empty.text


def test_reschedule_to_a_time_of_ones_own_taking_the_integration_along(desk):
    patient_id = new_patient(desk)
    plan(desk, patient_id, next_monday(date.today()))
    dose = induction_doses(patient_id)[1]
    db_session.remove()
    integration = db_session.scalars(
        select(TreatmentSession)
        .where(
            TreatmentSession.patient_id == patient_id,
            TreatmentSession.kind == "integration",
            TreatmentSession.starts_at > dose.starts_at,
        )
        .order_by(TreatmentSession.starts_at)
    ).first()
    page = desk.get(f"/sessions/{dose.id}")
    assert 'id="move_integration"' in page.text and 'value="other"' in page.text
    assert re.search(r'class="pill (sev-\w+|st-checked_in)"', page.text)  # each suggestion says what it raises
    assert 'data-testid="check-in-later"' in page.text and "/check_in" not in page.text  # not on its day
    tz = ZoneInfo("America/New_York")
    local = dose.starts_at.astimezone(tz)
    target = local.replace(hour=15, minute=0) if local.hour < 12 else local.replace(hour=8, minute=0)
    r = desk.post(
        f"/sessions/{dose.id}/reschedule",
        {
            "version": dose.version,
            "slot": "other",
            "starts_on": target.date().isoformat(),
            "starts_time": target.strftime("%H:%M"),
            "room_id": str(dose.room_id),
            "staff_member_id": str(dose.staff_member_id or ""),
            "move_integration": "on",
            "override_reason": "test",
        },
    )
    assert r.status_code == 302, r.text
    assert "Its integration session moved too" in desk.get(r.headers["Location"]).text
    db_session.remove()
    moved = db_session.get(TreatmentSession, dose.id)
    follower = db_session.get(TreatmentSession, integration.id)
    shift = moved.starts_at - dose.starts_at
    assert moved.starts_at.astimezone(tz).strftime("%H:%M") == target.strftime("%H:%M")
    assert follower.starts_at - integration.starts_at == shift
    bad = desk.post(
        f"/sessions/{dose.id}/reschedule",
        {"version": moved.version, "slot": "other", "starts_on": "soon", "starts_time": "09:00"},
    )
    assert bad.status_code == 400 and 'id="starts_on-error"' in bad.text


@pytest.mark.real_commits  # the rolled-back test transaction would hide the request's own rollback
def test_a_refused_form_shown_again_is_still_logged_as_a_read_of_the_patient(desk):
    """A 400 rolls the request back, but the page it answers with shows the patient's record: the
    access log keeps that read (written again after the rollback), once."""
    from scheduler.models import AccessLogEntry

    patient_id = new_patient(desk)
    r = desk.post(f"/patients/{patient_id}/edit", {"name": "", "phone": "555"})
    assert r.status_code == 400 and 'id="name-error"' in r.text
    db_session.remove()
    entries = db_session.scalars(
        select(AccessLogEntry).where(
            AccessLogEntry.patient_id == patient_id, AccessLogEntry.route == f"POST /patients/{patient_id}/edit"
        )
    ).all()
    assert [e.what for e in entries] == ["record"]
    assert db_session.get(Patient, patient_id).name  # and nothing of the refused change was kept
