"""The patient's public link page in Chromium: a reminder's link opens without signing in, shows the
session's time, place and instructions (nothing more), and confirms with who drives them home once."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from tests.browser import axe

pytestmark = pytest.mark.browser


def _link_for_a_future_dose(url: str) -> tuple[str, str]:
    """A fresh link (as the worker makes them) for the demo's next booked dose with a course, minted
    in this process against the server's database and secret key."""
    from scheduler import create_app
    from scheduler.db import db_session
    from scheduler.models import Patient, TreatmentSession
    from scheduler.services import patient_links

    app = create_app({"ENV": "development", "DATABASE_URL": url, "SECRET_KEY": "browser-tests"})
    with app.app_context():
        TS = TreatmentSession
        s = db_session.scalars(
            select(TS)
            .where(
                TS.kind == "dose", TS.status == "booked", TS.course_id.is_not(None), TS.starts_at > datetime.now(UTC)
            )
            .order_by(TS.starts_at)
        ).first()
        patient = db_session.get(Patient, s.patient_id)
        _, token = patient_links.create(expires_at=s.ends_at, session_id=s.id)
        db_session.commit()
        mrn = patient.mrn
        db_session.remove()
    app.extensions["scheduler.engine"].dispose()
    return token, mrn


def test_a_patient_confirms_by_link_in_the_browser(browser, base_url, demo_url, artifacts):
    token, mrn = _link_for_a_future_dose(demo_url)
    context = browser.new_context(viewport={"width": 390, "height": 844})  # the patient's phone
    page = context.new_page()
    page.goto(f"{base_url}/p/{token}")
    page.get_by_role("heading", name="Your appointment").wait_for()
    text = page.inner_text("body")
    assert "Before you come" in text and "ride home is required" in text
    assert mrn not in text and "Sign out" not in text
    assert context.cookies() == []
    assert axe.violations(page) == []
    page.screenshot(path=str(artifacts / "public-link-phone.png"), full_page=True)
    page.get_by_role("button", name="Confirm my appointment").click()
    # the browser's own check: the driver's name is required
    assert page.get_by_label("Who will drive you home?").evaluate("e => e.validity.valueMissing")
    page.get_by_label("Who will drive you home?").fill("Sam (partner)")
    page.get_by_role("button", name="Confirm my appointment").click()
    page.get_by_role("status").filter(has_text="You confirmed this appointment").wait_for()
    assert page.get_by_role("button", name="Cancel my appointment").count() == 0  # the link acted once
    page.screenshot(path=str(artifacts / "public-link-confirmed.png"), full_page=True)
    context.close()
