"""In Chromium: a user opens their account from the header, changes the password, and is signed out
in every browser (a second browser context too); the new password signs in, the old one does not.
Its own server and demo database (the demo's password changes here)."""

from __future__ import annotations

from tests.browser import harness

NEW = "a brand new passphrase"


def test_change_password_signs_out_everywhere(browser, page, base_url, artifacts):
    other = browser.new_context(viewport=harness.LAPTOP)
    elsewhere = other.new_page()
    try:
        harness.sign_in(elsewhere, base_url, "clinician@demo.clinic")
        harness.sign_in(page, base_url, "clinician@demo.clinic")
        page.get_by_role("link", name="clinician@demo.clinic").click()
        page.wait_for_load_state()
        assert page.get_by_role("heading", name="Your account").is_visible()
        page.get_by_label("Current password").fill(harness.DEMO_PASSWORD)
        page.locator("#new_password").fill(NEW)
        page.get_by_label("New password again").fill(NEW + " typo")
        page.get_by_role("button", name="Change password").click()
        page.wait_for_load_state()
        assert "The two new passwords differ." in page.locator("main").inner_text()
        page.get_by_label("Current password").fill(harness.DEMO_PASSWORD)
        page.locator("#new_password").fill(NEW)
        page.get_by_label("New password again").fill(NEW)
        page.get_by_role("button", name="Change password").click()
        page.wait_for_load_state()
        assert page.url.endswith("/sign-in")
        assert "signed out everywhere" in page.locator("main").inner_text()
        page.screenshot(path=str(artifacts / "account-password-changed.png"))
        elsewhere.goto(base_url + "/my-day")
        assert "/sign-in" in elsewhere.url
        assert "password was changed" in elsewhere.locator("main").inner_text()
        harness.sign_in(page, base_url, "clinician@demo.clinic")  # the old password
        assert "/sign-in" in page.url
        harness.sign_in(page, base_url, "clinician@demo.clinic", NEW)
        assert "/my-day" in page.url
    finally:
        other.close()
