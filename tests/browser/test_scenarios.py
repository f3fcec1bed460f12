"""The two scenarios of issue 5 in Debian's Chromium against a real server on demo data.

Front desk: sign in, add a patient, plan a ketamine-iv course, see the doses on the day board, cancel,
see the gap flag (induction_gap) in the worklist, re-plan, see it clear. Clinician: sign in, open
that patient's timeline, see the doses, record scores and see the chart.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from tests.browser import harness

pytestmark = pytest.mark.browser

MRN = "E2E-IV-0001"
NAME = "Robin Alvarez"


def _start_monday() -> date:
    today = date.today()
    return today + timedelta(days=(7 - today.weekday()) % 7 or 7) + timedelta(weeks=2)


def _open_dose(page, base: str, patient_url: str, sequence: int) -> None:
    page.goto(patient_url)
    row = page.locator("tr", has=page.get_by_text(re.compile(rf"^Dose {sequence}$")))
    row.first.get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Dose {sequence} · {NAME}")


def test_front_desk_plans_cancels_sees_the_gap_and_replans(page, base_url, artifacts):
    harness.sign_in(page, base_url, "frontdesk@demo.clinic")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Day board")

    # a new patient
    page.get_by_role("link", name="Patients", exact=True).click()
    page.get_by_role("link", name="New patient").click()
    page.get_by_label("MRN").fill(MRN)
    page.get_by_label("Full name").fill(NAME)
    page.get_by_label("Date of birth").fill("1984-06-02")
    page.get_by_label(re.compile("A ride home is arranged")).check()
    page.get_by_role("button", name="Add patient").click()
    expect(page.locator(".flash-success")).to_contain_text(f"Added {NAME} (MRN {MRN}).")
    patient_url = page.url

    # plan a ketamine-iv course: preview, then one confirmation books it all
    page.get_by_role("link", name="Plan a course").first.click()
    page.get_by_role("combobox", name="Protocol").select_option("ketamine-iv")
    start = _start_monday()
    page.get_by_label("First date").fill(start.isoformat())
    for day, ticked in (("Mon", True), ("Tue", False), ("Wed", False), ("Thu", True), ("Fri", False)):
        page.get_by_label(day, exact=True).set_checked(ticked)
    page.get_by_role("button", name="Preview the plan").click()
    preview = page.get_by_test_id("plan-preview")
    expect(preview).to_contain_text("Dose 6")
    sessions = int(re.search(r"Book all (\d+) sessions", page.get_by_test_id("confirm-plan").inner_text()).group(1))
    page.get_by_test_id("confirm-plan").click()
    expect(page.locator(".flash-success")).to_contain_text(f"Booked {sessions} sessions of ketamine-iv for {NAME}.")

    # a second course is refused on the page, naming the open one and offering to replace it (issue 9)
    page.get_by_role("link", name="Plan a course").first.click()
    page.get_by_label("First date").fill(start.isoformat())
    page.get_by_role("button", name="Preview the plan").click()
    refusal = page.get_by_test_id("course-active")
    expect(refusal).to_contain_text("A patient has one open dosing course at a time")
    expect(refusal.get_by_role("radio")).to_have_count(1)
    page.goto(patient_url)

    # the first dose on the day board (reached with the date picker)
    _open_dose(page, base_url, patient_url, 1)
    dose_day = re.search(
        r"/board\?date=(\d{4}-\d{2}-\d{2})", page.get_by_role("link", name="Day board").last.get_attribute("href")
    ).group(1)
    page.get_by_role("link", name="Day board", exact=True).first.click()
    page.get_by_label("Go to date").fill(dose_day)
    page.get_by_role("button", name="Show").click()
    block = page.locator(".block[data-kind=dose]", has_text=NAME)
    expect(block).to_have_count(1)
    expect(block).to_have_attribute("data-status", "booked")
    page.screenshot(path=str(artifacts / "front-desk-day-board.png"), full_page=True)

    # cancel doses 3 and 4: one cancellation in a twice-weekly plan leaves 7 days between doses,
    # which ketamine-iv allows (max_gap_days = 7); two leave a gap the worklist must show
    for sequence in (3, 4):
        _open_dose(page, base_url, patient_url, sequence)
        page.get_by_label("Reason for cancelling").fill("Patient travelling")
        page.get_by_role("button", name="Cancel session…").click()
        expect(page.get_by_test_id("confirm-cancel")).to_contain_text("Cancel this session?")
        page.get_by_role("button", name="Yes, cancel it").click()
        expect(page.locator(".flash-success")).to_contain_text("Cancelled the dose session: Patient travelling.")
        expect(page.get_by_test_id("session-status")).to_have_text("Cancelled")

    # the gap flag in the worklist, filtered by code and date
    page.get_by_role("link", name="Flags", exact=True).click()
    page.get_by_label("Flag", exact=True).select_option("induction_gap")
    page.get_by_label("From").fill(start.isoformat())
    page.get_by_label("To", exact=True).fill((start + timedelta(days=41)).isoformat())
    page.get_by_role("button", name="Filter").click()
    gap_rows = page.locator("tr[data-flag-code=induction_gap]", has_text=NAME)
    expect(gap_rows).to_have_count(1)
    page.screenshot(path=str(artifacts / "front-desk-gap-flag.png"), full_page=True)
    worklist = page.url

    # re-plan from the cancelled dose 3
    _open_dose(page, base_url, patient_url, 3)
    page.get_by_role("link", name="Re-plan…").click()
    expect(page.get_by_test_id("replan-proposal")).to_contain_text("Dose 3")
    page.get_by_role("button", name="Apply the re-plan").click()
    expect(page.locator(".flash-success")).to_contain_text("Re-planned: booked")

    page.goto(worklist)
    expect(page.locator("tr[data-flag-code=induction_gap]", has_text=NAME)).to_have_count(0)
    page.screenshot(path=str(artifacts / "front-desk-gap-cleared.png"), full_page=True)


def test_clinician_opens_the_timeline_and_sees_doses_and_chart(page, base_url, artifacts):
    harness.sign_in(page, base_url, "clinician@demo.clinic")
    expect(page.get_by_role("heading", level=1)).to_contain_text("My day")
    page.get_by_role("link", name="Patients", exact=True).click()
    page.get_by_label("MRN, name or date of birth").fill(MRN)
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="Timeline").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Timeline · {NAME}")

    timeline = page.get_by_test_id("course-timeline")
    expect(timeline).to_be_visible()
    # seven induction dose marks: the six planned (doses 3 and 4 cancelled) and the re-planned dose 3
    expect(timeline.locator("a.tl-session[data-kind=dose][data-phase=induction]")).to_have_count(7)
    expect(timeline.locator("a.tl-session[data-kind=dose][data-status=cancelled]")).to_have_count(2)

    today = date.today()
    for taken_on, score in ((today - timedelta(days=1), 31), (today, 29)):
        page.get_by_label("Instrument").select_option("Y-BOCS")
        page.get_by_role("spinbutton", name="Score").fill(str(score))
        page.get_by_label("Taken on").fill(taken_on.isoformat())
        page.get_by_role("button", name="Record score").click()
        expect(page.locator(".flash-success")).to_contain_text(f"Recorded Y-BOCS {score} for {NAME}")
    chart = page.locator("[data-testid=assessment-chart][data-instrument=Y-BOCS]")
    expect(chart).to_be_visible()
    expect(chart.locator("g.score")).to_have_count(2)
    expect(chart.get_by_test_id("response-threshold")).to_contain_text("35% below baseline")
    page.screenshot(path=str(artifacts / "clinician-timeline.png"), full_page=True)


def test_pages_fit_a_tablet_and_work_by_keyboard(browser, base_url, artifacts):
    context = browser.new_context(viewport=harness.TABLET)
    page = context.new_page()
    try:
        page.goto(base_url + "/sign-in")
        expect(page.get_by_label("Email")).to_be_focused()  # autofocus
        page.keyboard.type("frontdesk@demo.clinic")
        page.keyboard.press("Tab")
        expect(page.get_by_label("Password")).to_be_focused()
        page.keyboard.type(harness.DEMO_PASSWORD)
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", level=1)).to_contain_text("Day board")
        page.keyboard.press("Tab")  # the skip link comes first, then the navigation
        expect(page.locator(".skip")).to_be_focused()
        page.keyboard.press("Tab")
        page.keyboard.press("Tab")
        expect(page.get_by_role("link", name="Day board", exact=True)).to_be_focused()
        # every session block is a link, so Tab reaches it
        assert page.locator(".block").count() == page.locator("a.block[href]").count()
        # the page itself never scrolls sideways; the board scrolls inside its frame
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= harness.TABLET["width"], width
        unlabelled = page.evaluate("""() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
            .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')).map(el => el.name)""")
        assert unlabelled == []
        page.screenshot(path=str(artifacts / "tablet-day-board.png"), full_page=True)
    finally:
        context.close()


def test_front_desk_sees_a_second_course_refused_with_its_reason_and_replaces_the_open_one(page, base_url, artifacts):
    """Issue 9: a refusal on the page names why (course_active: the open course) and offers the way out."""
    harness.sign_in(page, base_url, "frontdesk@demo.clinic")
    page.get_by_role("link", name="Patients", exact=True).click()
    page.get_by_role("link", name="New patient").click()
    page.get_by_label("MRN").fill("E2E-IV-0002")
    page.get_by_label("Full name").fill("Sam Okafor")
    page.get_by_label("Date of birth").fill("1979-09-12")
    page.get_by_label(re.compile("A ride home is arranged")).check()
    page.get_by_role("button", name="Add patient").click()
    patient_url = page.url

    def plan(start: date) -> None:
        page.goto(patient_url)
        page.get_by_role("link", name="Plan a course").first.click()
        page.get_by_role("combobox", name="Protocol").select_option("ketamine-iv")
        page.get_by_label("First date").fill(start.isoformat())
        page.get_by_role("button", name="Preview the plan").click()

    plan(_start_monday())
    page.get_by_test_id("confirm-plan").click()
    expect(page.locator(".flash-success")).to_contain_text("for Sam Okafor")
    plan(_start_monday() + timedelta(weeks=3))  # a second ketamine-iv course while the first is open
    refusal = page.get_by_test_id("course-active")
    expect(page.locator("#plan-form")).to_contain_text("A patient has one open dosing course at a time")
    expect(refusal).to_contain_text("ketamine-iv, planned")
    page.screenshot(path=str(artifacts / "front-desk-course-active-refused.png"), full_page=True)
    refusal.get_by_role("radio").first.check()
    page.get_by_label("Why the open course stops").fill("Restarting after a break")
    page.get_by_role("button", name="Preview the plan").click()
    page.get_by_test_id("confirm-plan").click()
    expect(page.locator(".flash-success")).to_contain_text("for Sam Okafor")
