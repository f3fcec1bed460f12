"""Accessibility as a test: axe-core (npm, installed by ``make js-deps``, injected from the local file)
on every page with the demo data, as the front desk and as a clinician, at 1280 px and 390 px — no
serious or critical violation. The pages' keyboard shortcuts on the day board, too.

Grouped into two browser sessions (one per role); each visits its pages at both widths.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.browser import axe, harness

pytestmark = pytest.mark.browser

WIDTHS = ({"width": 1280, "height": 900}, {"width": 390, "height": 844})
TIMELINE_MRN = "DEMO-0025"
VISITED: dict[str, set[str]] = {}  # role -> paths checked (for the coverage test at the end)


def _check(page, label: str, failures: list) -> None:
    found = axe.violations(page)
    if found:
        failures.append((label, page.viewport_size["width"], found))


def _href(page, selector: str) -> str | None:
    link = page.locator(selector).first
    return link.get_attribute("href") if link.count() else None


def _pages(page, base: str, role: str, failures: list, *, width: int) -> None:
    """Visit and check; the stateful pages (plan preview, cancel confirmation) are reached by their forms."""
    seen = VISITED.setdefault(role, set())

    def visit(path: str, label: str | None = None) -> None:
        page.goto(base + path)
        page.wait_for_load_state()
        seen.add(urlsplit(page.url).path)
        _check(page, label or path, failures)

    visit("/account")
    visit("/board")
    session = _href(page, ".block[data-status=booked], .agenda-item.s-booked a") or _href(
        page, ".block, .agenda-item a"
    )
    visit("/week")
    missed = _href(page, ".week-item.s-no_show, .week-item.s-cancelled")
    visit("/patients")
    visit("/waitlist")
    visit(f"/patients?q={TIMELINE_MRN}")
    patient = _href(page, "[data-testid=patient-results] tbody tr a")
    visit(patient)
    if session:
        visit(session)
    if role == "clinician":
        visit("/my-day")
        form = _href(page, "[data-testid=owed-forms] a")  # a REMS monitoring form owed (demo esketamine)
        visit(form)
        visit(form.rstrip("/") + "/print")  # (none recorded yet: the page says so)
        visit(patient.rstrip("/") + "/timeline")
        visit("/reports")
        return
    patient_id = re.search(r"/patients/(\d+)", patient).group(1)
    visit(f"/patients/{patient_id}/book")
    visit(f"/patients/{patient_id}/book?kind=dose")
    visit(f"/patients/{patient_id}/maintenance")
    visit("/flags")
    visit("/open-time")
    visit("/patients/new")
    if missed:
        visit(missed)
        visit(missed.rstrip("/") + "/replan")
    # plan a course: the preview with its flags
    visit(f"/patients/{patient_id}/plan")
    page.get_by_label("First date").fill((date.today() + timedelta(days=14)).isoformat())
    page.get_by_role("button", name="Preview the plan").click()
    expect(page.get_by_test_id("plan-preview")).to_be_visible()
    _check(page, "plan preview", failures)
    # the cancel confirmation (not confirmed)
    if session:
        page.goto(base + session)
        if page.get_by_label("Reason for cancelling").count():
            page.get_by_label("Reason for cancelling").fill("Checking the confirmation")
            page.get_by_role("button", name="Cancel session…").click()
            expect(page.get_by_test_id("confirm-cancel")).to_be_visible()
            _check(page, "cancel confirmation", failures)


def _run(browser, base_url: str, role: str, email: str) -> None:
    failures: list = []
    context = browser.new_context(viewport=WIDTHS[0])
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        page.goto(base_url + "/sign-in")
        _check(page, "/sign-in", failures)
        harness.sign_in(page, base_url, email)
        for viewport in WIDTHS:
            page.set_viewport_size(viewport)
            _pages(page, base_url, role, failures, width=viewport["width"])
    finally:
        context.close()
    assert not failures, "\n".join(f"{label} @ {w}px: {v}" for label, w, v in failures)


def test_front_desk_pages_have_no_serious_or_critical_axe_violations(browser, base_url):
    _run(browser, base_url, "front_desk", "frontdesk@demo.clinic")


def test_clinician_pages_have_no_serious_or_critical_axe_violations(browser, base_url):
    _run(browser, base_url, "clinician", "clinician@demo.clinic")


def test_every_page_was_checked():
    """Every GET page of the web blueprints was visited by one of the two runs above."""
    from scheduler import create_app

    app = create_app({"DATABASE_URL": "sqlite://", "SECRET_KEY": "coverage-only-" + "x" * 40, "ENV": "development"})
    adapter = app.url_map.bind("localhost")
    visited = set()
    for path in set().union(*VISITED.values()):
        endpoint, _ = adapter.match(path, method="GET")
        visited.add(endpoint)
    not_pages = {
        "signin.static",
        "signin.home",  # files, a redirect
        "oversight.report_csv",  # a CSV download
        "oversight.import_page",
        "frontdesk.messages_page",
    }  # admins only
    pages = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if "GET" in rule.methods
        and rule.endpoint.split(".")[0] in ("frontdesk", "clinician", "signin", "oversight")
        and rule.endpoint not in not_pages
    }
    assert VISITED, "run with the two axe tests above"
    assert pages - visited - {"signin.sign_in"} == set()


def test_the_day_board_answers_previous_next_and_today_keys(page, base_url):
    harness.sign_in(page, base_url, "frontdesk@demo.clinic")
    page.goto(base_url + "/board")
    expect(page.get_by_test_id("keyboard-help")).to_contain_text("previous day")
    today = date.today()
    page.keyboard.press("n")
    page.wait_for_url(re.compile(rf"date={today + timedelta(days=1)}"))
    page.keyboard.press("ArrowLeft")
    page.wait_for_url(re.compile(rf"date={today}"))
    page.keyboard.press("p")
    page.wait_for_url(re.compile(rf"date={today - timedelta(days=1)}"))
    page.keyboard.press("t")
    page.wait_for_url(re.compile(r"/board$"))
    page.get_by_label("Go to date").focus()  # typing in a field is not a shortcut
    page.keyboard.press("n")
    assert page.url.endswith("/board")


def test_the_board_is_an_agenda_on_a_phone_and_in_print_and_compact_blocks_open_on_focus(page, base_url):
    harness.sign_in(page, base_url, "frontdesk@demo.clinic")
    page.goto(base_url + "/board")
    board, agenda = page.get_by_test_id("day-board"), page.get_by_test_id("agenda")
    expect(board).to_be_visible()
    expect(agenda).to_be_hidden()
    compact = page.locator(".block.compact").first
    if compact.count():  # the demo's 40-minute TMS sessions: "Eli K." until focused
        expect(compact.locator(".full")).not_to_be_in_viewport()
        compact.focus()
        expect(compact.locator(".full")).to_be_visible()
        expect(compact.locator(".short")).to_be_hidden()
    page.emulate_media(media="print")  # the day sheet
    expect(board).to_be_hidden()
    expect(agenda).to_be_visible()
    expect(page.locator(".topbar")).to_be_hidden()
    page.emulate_media(media="screen")
    page.set_viewport_size({"width": 390, "height": 844})
    expect(board).to_be_hidden()
    expect(agenda).to_be_visible()
    expect(agenda.locator(".agenda-item").first).to_be_visible()
