"""The REMS monitoring form in Chromium on the demo clinic (certified, its esketamine patients
enrolled, past doses without forms): a clinician follows an owed form from My day, is told next to
the field what is wrong, records it, sees the due/overdue warning go, and opens the printable form.
axe finds nothing serious on the form (with an error shown) nor on the print page."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from playwright.sync_api import expect

from tests.browser import axe, harness

pytestmark = pytest.mark.browser


def test_a_clinician_records_an_owed_form_and_prints_it(page, base_url, artifacts):
    harness.sign_in(page, base_url, "clinician@demo.clinic")
    page.goto(base_url + "/my-day")
    owed = page.get_by_test_id("owed-forms")
    expect(owed).to_be_visible()
    before = owed.locator("li").count()
    assert before > 0
    owed.get_by_role("link").first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("REMS monitoring form")
    expect(page.locator("[data-flag-code^=rems_form_]")).to_have_count(1)  # due or overdue

    ready = page.get_by_label(re.compile("When the patient was ready to leave"))
    start = datetime.strptime(ready.get_attribute("min"), "%Y-%m-%dT%H:%M")
    values = {
        "Blood pressure before dosing, systolic (mmHg)": "128",
        "Blood pressure before dosing, diastolic (mmHg)": "82",
        "Blood pressure ~40 min after dosing, systolic (mmHg)": "146",
        "Blood pressure ~40 min after dosing, diastolic (mmHg)": "150",  # not below the systolic
        "Blood pressure at discharge, systolic (mmHg)": "130",
        "Blood pressure at discharge, diastolic (mmHg)": "84",
        "Total monitoring time (minutes)": "125",
    }
    for label, value in values.items():
        page.get_by_label(label).fill(value)
    for label, choice in (("Sedation", "mild"), ("Dissociation", "moderate"), ("Respiratory status", "normal")):
        page.get_by_label(label).select_option(choice)
    ready.fill((start + timedelta(minutes=130)).strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="Record the form").click()
    error = page.locator("#bp_40min_diastolic-error")
    expect(error).to_contain_text("not below the systolic 146")
    assert axe.violations(page) == []

    page.get_by_label("Blood pressure ~40 min after dosing, diastolic (mmHg)").fill("90")
    page.get_by_role("button", name="Record the form").click()
    expect(page.locator(".flash-success")).to_contain_text("Recorded the REMS monitoring form")
    expect(page.get_by_test_id("form-on-file")).to_be_visible()
    expect(page.locator("[data-flag-code^=rems_form_]")).to_have_count(0)  # the warning went away
    page.screenshot(path=str(artifacts / "rems-form.png"), full_page=True)

    page.get_by_test_id("print-link").click()
    expect(page.get_by_test_id("rems-ids")).to_contain_text("SPR-HCS-DEMO-01")
    expect(page.locator('[data-field="bp_40min_diastolic"]')).to_have_text("90")
    assert axe.violations(page) == []
    page.emulate_media(media="print")
    assert not page.locator("header.topbar").is_visible()  # the print stylesheet: the form alone
    page.screenshot(path=str(artifacts / "rems-form-print.png"), full_page=True)
    page.emulate_media(media="screen")

    page.goto(base_url + "/my-day")
    after = page.get_by_test_id("owed-forms").locator("li").count() if before > 1 else 0
    assert after == before - 1
