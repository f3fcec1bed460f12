"""Refresh the README's screenshots from the current pages, on ``scheduler demo`` data:

    .venv/bin/python -m tests.browser.screenshots

writes ``docs/screenshots/day-board.png`` (the front desk's board of today, or of the next weekday),
``day-board-phone.png`` (the same board on a 390 px phone: the agenda list), ``flags.png`` (the
worklist) and ``timeline.png`` (a demo patient mid-induction with Y-BOCS scores).
"""

from __future__ import annotations

import tempfile
from datetime import date, timedelta
from pathlib import Path

from tests.browser import harness

TIMELINE_MRN = "DEMO-0025"  # ketamine-iv, late induction, Y-BOCS (scheduler/demo.py STORIES[24])


def board_day(today: date) -> date:
    return today + timedelta(days=(7 - today.weekday()) % 7) if today.weekday() >= 5 else today


def take(base: str, out: Path, playwright) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    browser = harness.launch(playwright)
    written = []
    try:
        context = browser.new_context(viewport=harness.LAPTOP, device_scale_factor=1)
        page = context.new_page()
        harness.sign_in(page, base, "frontdesk@demo.clinic")
        page.goto(f"{base}/board?date={board_day(date.today()).isoformat()}")
        written.append(out / "day-board.png")
        page.screenshot(path=str(written[-1]), full_page=True)
        page.goto(f"{base}/flags")
        written.append(out / "flags.png")
        page.screenshot(path=str(written[-1]), full_page=True)
        context.close()

        # the board on a phone: the agenda list
        context = browser.new_context(viewport=harness.PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
        page = context.new_page()
        harness.sign_in(page, base, "frontdesk@demo.clinic")
        page.goto(f"{base}/board?date={board_day(date.today()).isoformat()}")
        written.append(out / "day-board-phone.png")
        page.screenshot(path=str(written[-1]), full_page=False)
        context.close()

        context = browser.new_context(viewport=harness.LAPTOP, device_scale_factor=1)
        page = context.new_page()
        harness.sign_in(page, base, "clinician@demo.clinic")
        page.goto(f"{base}/patients?q={TIMELINE_MRN}")
        page.get_by_role("link", name="Timeline").first.click()
        page.wait_for_selector("[data-testid=course-timeline]")
        written.append(out / "timeline.png")
        page.screenshot(path=str(written[-1]), full_page=True)
        context.close()
    finally:
        browser.close()
    return written


def main() -> None:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as folder:
        url = harness.build_demo_database(Path(folder))
        with harness.live_server(url) as base, sync_playwright() as p:
            for path in take(base, harness.SCREENSHOTS, p):
                print(f"wrote {path.relative_to(harness.ROOT)}")


if __name__ == "__main__":
    main()
