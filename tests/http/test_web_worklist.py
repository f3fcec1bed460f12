"""The flags worklist through the Flask client: plain-language titles, one row per problem, errors
first, full dates, and each row's action leading to the place that fixes it, prefilled."""

from __future__ import annotations

import html
import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from scheduler.db import db_session
from scheduler.models import TreatmentSession
from scheduler.web.filters import when
from tests.support.builders import next_monday
from tests.support.pages import plan


def _rows(text: str) -> list[tuple[str, str]]:
    return re.findall(r'<tr data-flag-code="([a-z_]+)" data-severity="([a-z]+)">', text)


def _sessions(patient_id: int, kind: str) -> list[TreatmentSession]:
    db_session.remove()
    return list(
        db_session.scalars(
            select(TreatmentSession)
            .where(TreatmentSession.patient_id == patient_id, TreatmentSession.kind == kind)
            .order_by(TreatmentSession.starts_at)
        )
    )


def _new_patient(web, ride: bool) -> int:
    data = {"mrn": "MRN-88", "name": "Ana Ruiz", "birth_date": "1985-04-12"} | (
        {"ride_home_arranged": "on"} if ride else {}
    )
    r = web.post("/patients/new", data)
    assert r.status_code == 302, r.text
    return int(r.headers["Location"].rstrip("/").split("/")[-1])


def test_one_row_per_problem_titles_errors_first_and_fixes(desk, clinician):
    start = next_monday(date.today())
    patient_id = _new_patient(desk, ride=False)
    assert plan(desk, patient_id, start).status_code == 302
    flags_url = f"/flags?start={start.isoformat()}&end={(start + timedelta(days=40)).isoformat()}"
    page = desk.get(flags_url)
    rows = _rows(page.text)
    # six doses without a ride home: one row listing the six doses
    assert [c for c, _ in rows].count("ride_home_missing") == 1
    assert "No ride home arranged" in page.text and page.text.count("Dose ") >= 6
    assert "ride_home_missing</small>" in page.text  # the code only as secondary detail
    fix = html.unescape(re.search(r'href="([^"]*fix=ride_home[^"]*)"', page.text).group(1))
    assert fix.endswith("#ride_home_arranged")
    patient_page = desk.get(fix)
    assert 'data-testid="fix-ride-home"' in patient_page.text
    assert re.search(r'id="ride_home_arranged" name="ride_home_arranged" type="checkbox" checked', patient_page.text)

    # a dosing hold makes every dose an error: one row, listed before every warning
    assert (
        clinician.post(f"/patients/{patient_id}/dosing-hold", {"action": "place", "reason": "Mania"}).status_code == 302
    )
    rows = _rows(desk.get(flags_url).text)
    severities = [s for _, s in rows]
    assert severities[0] == "error" and severities == sorted(severities, key=("error", "warning", "info").index)
    assert [c for c, _ in rows].count("dosing_hold") == 1

    # a cancelled integration session: "book the integration session" opens the booking form prefilled
    integration = _sessions(patient_id, "integration")[0]
    assert (
        desk.post(
            f"/sessions/{integration.id}/cancel", {"version": integration.version, "reason": "Ill", "confirm": "yes"}
        ).status_code
        == 302
    )
    page = desk.get(flags_url)
    assert "Integration session missing" in page.text
    link = html.unescape(re.search(r'href="(/patients/\d+/book\?[^"]*kind=integration[^"]*)"', page.text).group(1))
    assert "course_id=" in link and "after=" in link
    form = desk.get(link)
    assert form.status_code == 200
    assert 'data-testid="session-rule">Integration: 60 min, a therapy room, a therapist.' in form.text or re.search(
        r'data-testid="session-rule">Integration: \d+ min, a therapy room, a therapist\.', form.text
    )
    slots = re.findall(r'name="slot" value="([^"|]+)\|', form.text)
    assert slots
    dose = _sessions(patient_id, "dose")[0]
    assert datetime.fromisoformat(slots[0]) >= dose.ends_at  # searched from the dose's end
    assert datetime.fromisoformat(slots[0]) - dose.ends_at < timedelta(days=3)


def test_dates_name_the_year_only_when_it_is_not_this_year():
    tz = "America/New_York"
    today = date(2026, 12, 1)
    assert when(datetime(2026, 3, 28, 14, 0, tzinfo=ZoneInfo("UTC")), tz, today) == "Sat 28 Mar 10:00"
    assert when(datetime(2027, 3, 27, 14, 0, tzinfo=ZoneInfo("UTC")), tz, today) == "Sat 27 Mar 2027 10:00"
    assert when(date(2025, 3, 28), tz, today) == "Fri 28 Mar 2025"
    assert when(None, tz, today) == ""


def test_the_booking_form_preselects_the_open_course_and_follows_the_kind(desk):
    patient_id = _new_patient(desk, ride=True)
    assert plan(desk, patient_id, next_monday(date.today())).status_code == 302
    form = desk.get(f"/patients/{patient_id}/book")
    selected = re.search(r'<select id="course_id".*?</select>', form.text, re.S).group(0)
    assert re.search(r'<option value="\d+" selected>ketamine-iv', selected)
    assert (
        "preselected: the patient&#39;s open course" in form.text
        or "preselected: the patient's open course" in form.text
    )
    defaults = re.search(r'data-kind-defaults="([^"]+)"', form.text).group(1)
    assert "&#34;integration&#34;: [&#34;therapy&#34;, &#34;therapist&#34;]" in defaults
    one_off = desk.get(f"/patients/{patient_id}/book?kind=integration&course_id=")
    assert re.search(r'<option value="therapy" selected>', one_off.text)
    assert re.search(r'<option value="therapist" selected>', one_off.text)
