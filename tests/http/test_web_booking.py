"""Booking ONE session outside a planning run, and the next maintenance dose, through the pages:
suggested slots, the protocol's rule, conflicts with their flags, override with a reason."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from scheduler.db import db_session
from scheduler.domain.flags.model import Flag
from scheduler.domain.maintenance import due_window
from scheduler.models import Course, Room, TreatmentSession
from scheduler.protocols_registry import protocols
from tests.support.builders import next_monday
from tests.support.pages import new_patient, plan

NY = ZoneInfo("America/New_York")


def _slots(html: str) -> list[str]:
    return [v for v in re.findall(r'name="slot" value="([^"]+)"', html) if v != "other"]


def _sessions(patient_id: int, kind: str | None = None) -> list[TreatmentSession]:
    db_session.remove()
    query = select(TreatmentSession).where(TreatmentSession.patient_id == patient_id)
    if kind:
        query = query.where(TreatmentSession.kind == kind)
    return list(db_session.scalars(query.order_by(TreatmentSession.starts_at)))


def _course_id(patient_id: int) -> int:
    db_session.remove()
    return db_session.scalar(select(Course.id).where(Course.patient_id == patient_id))


def test_a_one_off_session_is_booked_at_a_suggested_time(desk):  # noqa: F811
    patient_id = new_patient(desk)
    page = desk.get(f"/patients/{patient_id}")
    assert f'href="/patients/{patient_id}/book"' in page.text
    form = {
        "kind": "evaluation",
        "course_id": "",
        "duration_minutes": "60",
        "capability": "consult",
        "role": "prescriber",
        "action": "find",
    }
    found = desk.post(f"/patients/{patient_id}/book", form)
    assert found.status_code == 200, found.text
    assert "60 min, a consult room, a prescriber" in found.text
    slots = _slots(found.text)
    assert slots, "no suggested slot"
    r = desk.post(f"/patients/{patient_id}/book", {**form, "action": "book", "slot": slots[0]})
    assert r.status_code == 302, r.text
    assert "Booked Evaluation for Jordan Rivera on " in desk.get(r.headers["Location"]).text
    [booked] = _sessions(patient_id)
    starts_at = datetime.fromisoformat(slots[0].split("|")[0])
    assert booked.starts_at == starts_at and booked.ends_at - booked.starts_at == timedelta(minutes=60)
    assert "consult" in db_session.get(Room, booked.room_id).capabilities
    assert booked.course_id is None and booked.status == "booked"


def test_booking_errors_are_shown_next_to_their_field(desk):  # noqa: F811
    patient_id = new_patient(desk)
    url = f"/patients/{patient_id}/book"
    cases = [
        ({"kind": "nap"}, "kind"),
        ({"kind": "evaluation", "capability": "consult", "role": "prescriber"}, "duration_minutes"),
        (
            {"kind": "evaluation", "duration_minutes": "3", "capability": "consult", "role": "prescriber"},
            "duration_minutes",
        ),
        ({"kind": "evaluation", "duration_minutes": "60", "capability": "spa", "role": "prescriber"}, "capability"),
        ({"kind": "evaluation", "course_id": "999"}, "course_id"),
        (
            {
                "kind": "evaluation",
                "duration_minutes": "60",
                "capability": "consult",
                "role": "prescriber",
                "action": "book",
            },
            "slot",
        ),
        (
            {
                "kind": "evaluation",
                "duration_minutes": "60",
                "capability": "consult",
                "role": "prescriber",
                "action": "book",
                "slot": "other",
                "starts_on": "someday",
            },
            "starts_on",
        ),
    ]
    for data, field in cases:
        r = desk.post(url, data)
        assert r.status_code == 400, (data, r.status_code)
        assert f'id="{field}-error"' in r.text, (data, field)
    assert _sessions(patient_id) == []


def test_within_a_course_the_protocol_gives_the_length_and_the_dose_its_sequence(desk):  # noqa: F811
    patient_id = new_patient(desk)
    assert plan(desk, patient_id, next_monday(date.today())).status_code == 302
    course_id = _course_id(patient_id)
    proto = protocols()["ketamine-iv"]
    induction = [s for s in _sessions(patient_id, "dose") if s.phase == "induction"]
    doses_before = max(s.sequence for s in induction)
    # (from two days after the last dose: five weeks later, the dose would be an induction_gap, an error)
    last_day = max(s.starts_at for s in induction).astimezone(NY).date()
    form = {
        "kind": "dose",
        "course_id": str(course_id),
        "action": "find",
        "from_on": (last_day + timedelta(days=2)).isoformat(),
    }
    found = desk.post(f"/patients/{patient_id}/book", form)
    assert found.status_code == 200, found.text
    assert f"Dose {doses_before + 1} (induction): {proto.dose.duration_minutes} min, a iv room" in found.text
    slots = _slots(found.text)
    assert slots
    r = desk.post(f"/patients/{patient_id}/book", {**form, "action": "book", "slot": slots[0]})
    assert r.status_code == 302, r.text
    new = [s for s in _sessions(patient_id, "dose") if s.sequence == doses_before + 1]
    assert len(new) == 1 and new[0].route == proto.dose.route and new[0].course_id == course_id
    assert new[0].ends_at - new[0].starts_at == timedelta(minutes=proto.dose.duration_minutes)


def test_a_flagged_time_shows_its_conflicts_and_books_only_with_a_reason(desk, clinician):  # noqa: F811
    patient_id = new_patient(desk)
    assert plan(desk, patient_id, next_monday(date.today())).status_code == 302
    assert clinician.post(f"/patients/{patient_id}/dosing-hold", {"reason": "BP high"}).status_code == 302
    course_id = _course_id(patient_id)
    db_session.remove()
    room = db_session.scalar(select(Room).where(Room.name == "IV-2"))
    day = next_monday(date.today(), weeks=6) + timedelta(days=2)
    form = {
        "kind": "dose",
        "course_id": str(course_id),
        "action": "book",
        "slot": "other",
        "starts_on": day.isoformat(),
        "starts_time": "10:00",
        "room_id": str(room.id),
    }
    r = desk.post(f"/patients/{patient_id}/book", form)
    assert r.status_code == 409, r.text
    assert 'data-testid="conflicts"' in r.text and 'data-flag-code="dosing_hold"' in r.text
    assert 'id="override_reason-error"' in r.text
    before = len(_sessions(patient_id, "dose"))
    r = desk.post(f"/patients/{patient_id}/book", {**form, "override_reason": "Prescriber cleared by phone"})
    assert r.status_code == 302, r.text
    assert "Overridden: Prescriber cleared by phone" in desk.get(r.headers["Location"]).text
    assert len(_sessions(patient_id, "dose")) == before + 1


def test_the_next_maintenance_dose_is_the_planners_proposal(desk):  # noqa: F811
    patient_id = new_patient(desk)
    assert plan(desk, patient_id, next_monday(date.today())).status_code == 302
    course_id = _course_id(patient_id)
    assert f"/patients/{patient_id}/maintenance?course_id={course_id}" in desk.get(f"/patients/{patient_id}").text
    page = desk.get(f"/patients/{patient_id}/maintenance?course_id={course_id}")
    assert page.status_code == 200, page.text
    proposed = re.search(r'id="slot-proposed" name="slot" value="([^"]+)" checked', page.text)
    assert proposed, "no proposal checked by default"
    doses = _sessions(patient_id, "dose")
    booked_maintenance = max((s.sequence for s in doses if s.phase == "maintenance"), default=0)
    latest = max(s.starts_at for s in doses)
    window = due_window(latest.astimezone(NY).date(), protocols()["ketamine-iv"].maintenance)
    value = proposed.group(1)
    r = desk.post(f"/patients/{patient_id}/maintenance", {"course_id": str(course_id), "slot": value})
    assert r.status_code == 302, r.text
    assert f"Booked Dose {booked_maintenance + 1} (maintenance)" in desk.get(r.headers["Location"]).text
    [dose] = [
        s for s in _sessions(patient_id, "dose") if s.sequence == booked_maintenance + 1 and s.phase == "maintenance"
    ]
    assert dose.course_id == course_id and dose.starts_at > latest
    assert dose.starts_at == datetime.fromisoformat(value.split("|")[0])
    on = dose.starts_at.astimezone(NY).date()
    assert window.earliest <= on <= window.latest or "maintenance_overdue" in page.text
    second = desk.get(f"/patients/{patient_id}/maintenance?course_id={course_id}")
    assert f"maintenance dose {booked_maintenance + 2}" in second.text


def test_a_maintenance_flag_leads_to_the_maintenance_page(site):  # noqa: F811
    from scheduler.web.board import fix_link

    flag = Flag(code="maintenance_overdue", severity="warning", message="Overdue", patient_id=5, course_id=7)
    with site["app"].test_request_context():
        assert fix_link(flag) == "/patients/5/maintenance?course_id=7"


def test_a_patient_without_a_maintenance_course_is_told_so(desk):  # noqa: F811
    patient_id = new_patient(desk)
    r = desk.get(f"/patients/{patient_id}/maintenance")
    assert r.status_code == 302
    assert "has no course with a maintenance phase" in desk.get(r.headers["Location"]).text


def test_clinicians_cannot_book_from_these_pages(desk, clinician):  # noqa: F811
    patient_id = new_patient(desk)
    assert clinician.get(f"/patients/{patient_id}/book").status_code == 403
    assert clinician.get(f"/patients/{patient_id}/maintenance").status_code == 403


def test_a_double_booking_is_shown_and_cannot_be_overridden(desk):  # noqa: F811
    patient_id = new_patient(desk)
    form = {
        "kind": "evaluation",
        "duration_minutes": "60",
        "capability": "consult",
        "role": "prescriber",
        "action": "book",
        "slot": "other",
        "starts_on": next_monday(date.today()).isoformat(),
        "starts_time": "10:00",
    }
    db_session.remove()
    form["room_id"] = str(db_session.scalar(select(Room.id).where(Room.name == "Therapy")))
    assert desk.post(f"/patients/{patient_id}/book", form).status_code == 302
    for reason in ("", "Patient insists"):
        r = desk.post(f"/patients/{patient_id}/book", {**form, "starts_time": "10:30", "override_reason": reason})
        assert r.status_code == 409, r.text
        assert 'data-clash="' in r.text and "cannot be overridden" in r.text
    assert len(_sessions(patient_id)) == 1


def test_a_new_dose_that_needs_an_integration_session_is_offered_and_booked_with_one(desk):  # noqa: F811
    """Issue 9: a slot that would leave the dose without integration (an error) is offered only with the
    integration session that goes with it; choosing it books both."""
    patient_id = new_patient(desk)
    assert plan(desk, patient_id, next_monday(date.today())).status_code == 302
    course_id = _course_id(patient_id)
    doses = [s for s in _sessions(patient_id, "dose") if s.phase == "induction"]
    third = doses[2]
    its = next(s for s in _sessions(patient_id, "integration") if s.sequence == third.sequence)
    for s in (third, its):
        r = desk.post(f"/sessions/{s.id}/cancel", {"reason": "Flu", "version": str(s.version), "confirm": "yes"})
        assert r.status_code == 302, r.text
    integrations_before = len(_sessions(patient_id, "integration"))
    day = third.starts_at.astimezone(NY).date()
    form = {"kind": "dose", "course_id": str(course_id), "action": "find", "from_on": day.isoformat()}
    found = desk.post(f"/patients/{patient_id}/book", form)
    assert found.status_code == 200, found.text
    slots = _slots(found.text)
    assert slots and all("|with:integration;" in s for s in slots), slots
    assert "books the integration session with it" in found.text
    r = desk.post(f"/patients/{patient_id}/book", {**form, "action": "book", "slot": slots[0]})
    assert r.status_code == 302, r.text
    integrations = _sessions(patient_id, "integration")
    assert len(integrations) == integrations_before + 1
    new_dose = next(
        s
        for s in _sessions(patient_id, "dose")
        if s.status == "booked" and s.starts_at == datetime.fromisoformat(slots[0].split("|")[0])
    )
    assert any(i.starts_at >= new_dose.ends_at and i.course_id == course_id for i in integrations)
