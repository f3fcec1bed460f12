"""Day board and week through the Flask client: every session legible (full name for hover, focus
and screen readers; compact blocks never cut to a letter or two), flags and room and clinician in
the week, the agenda list (the phone's board and the printed day sheet), keyboard shortcuts."""

from __future__ import annotations

import re
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from scheduler.web.board import short_name
from tests.support.builders import next_monday
from tests.support.pages import induction_doses, new_patient, plan


def test_short_names_never_cut_to_a_letter_or_two():
    assert short_name("Eli Kowalczyk") == "Eli K."
    assert short_name("Ana María Ruiz") == "Ana R."
    assert short_name("Cher") == "Cher"


def test_day_board_blocks_agenda_and_keyboard_help(desk, site):
    patient_id = new_patient(desk, mrn="MRN-5", name="Eli Kowalczyk")
    start = next_monday(date.today())
    assert plan(desk, patient_id, start).status_code == 302
    therapy = site["rooms"]["Therapy"].id
    r = desk.post(
        f"/patients/{patient_id}/book",
        {
            "action": "book",
            "kind": "follow_up",
            "course_id": "",
            "duration_minutes": "20",
            "capability": "consult",
            "role": "prescriber",
            "slot": "other",
            "starts_on": (start + timedelta(days=1)).isoformat(),
            "starts_time": "16:00",
            "room_id": str(therapy),
            "override_reason": "test",
        },
    )
    assert r.status_code == 302, r.text
    board = desk.get(f"/board?date={start.isoformat()}").text
    assert 'class="full">Eli Kowalczyk</span>' in board  # the whole name in every block
    assert 'data-testid="agenda"' in board and re.search(r'<a href="/sessions/\d+">Eli Kowalczyk</a>', board)
    assert "Nurse Kim" in board or "Dr Osei" in board or "Sam Lee" in board  # the clinician in the agenda
    assert 'data-key="ArrowLeft p"' in board and 'data-key="ArrowRight n"' in board and 'data-key="t"' in board
    assert 'data-testid="keyboard-help"' in board and "previous day" in board
    next_day = desk.get(f"/board?date={(start + timedelta(days=1)).isoformat()}").text
    compact = re.search(r'<a class="block k-follow_up [^"]*compact[^"]*".*?</a>', next_day, re.S).group(0)
    assert (
        'class="full">Eli Kowalczyk</span>' in compact and 'class="short" aria-hidden="true">Eli K.</span>' in compact
    )


def test_week_shows_room_clinician_and_flags(desk, site):
    patient_id = new_patient(desk, mrn="MRN-6", name="Ana Ruiz")
    start = next_monday(date.today())
    assert plan(desk, patient_id, start).status_code == 302
    week = desk.get(f"/week?date={start.isoformat()}").text
    items = re.findall(r'<a class="week-item.*?</a>', week, re.S)
    assert items and all("Ana Ruiz" in i for i in items)
    assert any("IV-1" in i or "IV-2" in i for i in items) and any("Nurse Kim" in i for i in items)
    assert 'data-testid="keyboard-help"' in week
    web = desk
    # no ride home for a new patient: the week marks the flagged doses
    other = web.post("/patients/new", {"mrn": "MRN-9", "name": "Sam Ito", "birth_date": "1970-01-01"})
    other_id = int(other.headers["Location"].rstrip("/").split("/")[-1])
    assert plan(web, other_id, start + timedelta(days=7)).status_code == 302
    later = desk.get(f"/week?date={(start + timedelta(days=7)).isoformat()}").text
    assert re.search(r'Sam Ito</span> <span class="w-flag sev-\w+" title="No ride home', later)


def test_timeline_defaults_to_the_tracked_instrument_and_keeps_the_baseline(desk, clinician):
    patient_id = new_patient(desk, mrn="MRN-7", name="Ana Ruiz")
    assert plan(desk, patient_id, next_monday(date.today())).status_code == 302
    dose1_day = induction_doses(patient_id)[0].starts_at.astimezone(ZoneInfo("America/New_York")).date()
    before = date.today() - timedelta(days=1)
    assert before < dose1_day
    for taken_on, score in ((before, 17), (before + timedelta(days=1), 14)):
        r = clinician.post(
            f"/patients/{patient_id}/assessments",
            {"instrument": "PHQ-9", "score": str(score), "taken_on": taken_on.isoformat()},
        )
        assert r.status_code == 302, r.text
    page = clinician.get(f"/patients/{patient_id}/timeline").text
    assert re.search(r'<option value="PHQ-9" selected>', page)  # the instrument the patient is tracked on
    assert "is tracked on PHQ-9" in page
    assert re.search(r'data-instrument="PHQ-9">PHQ-9 · baseline 17,', page)
    assert (
        "the course&#39;s first PHQ-9 score before dose 1 (17 on" in page
        or "the course's first PHQ-9 score before dose 1 (17 on" in page
    )
    assert 'role="group" aria-labelledby="tl-title"' in page  # links inside: not an image
    assert 'tabindex="0" role="region" aria-label="Course timeline (scrolls sideways)"' in page
