"""The REMS monitoring form's pages through the Flask client: a clinician fills it in and corrects it
(a bad value refused next to the field it names, nothing written), prints it with the clinic's
certification and the patient's enrollment; the front desk sees that a form is owed — on the
worklist, whatever dates it shows, and on the session — never the form."""

from __future__ import annotations

import re

from sqlalchemy import select

from scheduler.db import db_session
from scheduler.domain.rules.rems import FORM_CHASE_DAYS
from scheduler.models import AuditEvent, RemsMonitoringForm
from tests.support.rems import FORM, past_dose

PAGE_FORM = {**{k: str(v) for k, v in FORM.items()}, "monitoring_reason": ""}


def _ready(s: dict) -> str:
    """The session's end as the page's datetime-local input writes it (clinic time)."""
    return s["ends_at"][:16]


def _rows(text: str) -> list[str]:
    return re.findall(r'<tr data-flag-code="([a-z_]+)"', text)


def test_a_clinician_records_and_corrects_the_form_and_prints_it(rems, sqlite_api, clinician):
    s = past_dose(sqlite_api, rems, 2)
    url = f"/sessions/{s['id']}/monitoring-form"
    page = clinician.get(url)
    assert page.status_code == 200 and 'data-flag-code="rems_form_due"' in page.text
    assert 'id="bp_before_systolic"' in page.text and 'id="ready_to_leave_at"' in page.text

    bad = clinician.post(url, {**PAGE_FORM, "bp_40min_diastolic": "150", "ready_to_leave_at": _ready(s)})
    assert bad.status_code == 400
    assert re.search(r'id="bp_40min_diastolic-error">[^<]*not below the systolic 146', bad.text), bad.text
    assert 'value="150"' in bad.text  # what was typed is kept
    typo = clinician.post(url, {**PAGE_FORM, "monitoring_minutes": "two hours", "ready_to_leave_at": _ready(s)})
    assert typo.status_code == 400 and 'id="monitoring_minutes-error"' in typo.text
    short = clinician.post(url, {**PAGE_FORM, "monitoring_minutes": "90", "ready_to_leave_at": _ready(s)})
    assert short.status_code == 400 and 'id="monitoring_reason-error"' in short.text
    assert clinician.post(url, {**PAGE_FORM, "ready_to_leave_at": _ready(s)}, token=False).status_code == 400
    db_session.remove()
    assert db_session.scalars(select(RemsMonitoringForm)).all() == []  # nothing half-written

    done = clinician.post(url, {**PAGE_FORM, "ready_to_leave_at": _ready(s)})
    assert done.status_code == 302, done.text
    page = clinician.get(url)
    assert 'data-testid="form-on-file"' in page.text and "rems_form_due" not in page.text
    fixed = clinician.post(
        url,
        {
            **PAGE_FORM,
            "monitoring_minutes": "110",
            "ready_to_leave_at": _ready(s),
            "monitoring_reason": "Transferred to ED for observation",
        },
    )
    assert fixed.status_code == 302
    db_session.remove()
    assert [
        e.action
        for e in db_session.scalars(
            select(AuditEvent).where(AuditEvent.action.like("rems_form.%")).order_by(AuditEvent.id)
        )
    ] == ["rems_form.create", "rems_form.update"]

    printed = clinician.get(f"{url}/print")
    assert printed.status_code == 200
    assert "SPR-HCS-123" in printed.text and "SPR-PT-9" in printed.text  # certification and enrollment
    assert '<td data-field="monitoring_minutes">110</td>' in printed.text
    assert "Transferred to ED for observation" in printed.text and "data-print" in printed.text
    assert "<script>" not in printed.text  # CSP: the print button is wired by app.js


def test_the_form_page_of_other_sessions_says_so_and_never_fails(rems, sqlite_api, clinician):
    ahead = sqlite_api.post(
        "/api/v1/sessions",
        json={
            "patient_id": rems["patient"],
            "room_id": rems["room"],
            "staff_member_id": rems["nurse"],
            "kind": "dose",
            "route": "nasal",
            "starts_at": "2030-03-04T09:00:00-05:00",
            "duration_minutes": 135,
        },
    ).json
    page = clinician.get(f"/sessions/{ahead['id']}/monitoring-form")
    assert page.status_code == 200 and 'data-testid="not-yet"' in page.text
    refused = clinician.post(f"/sessions/{ahead['id']}/monitoring-form", {**PAGE_FORM, "ready_to_leave_at": "x"})
    assert refused.status_code == 400 and 'id="ready_to_leave_at-error"' in refused.text
    early = clinician.post(
        f"/sessions/{ahead['id']}/monitoring-form", {**PAGE_FORM, "ready_to_leave_at": "2030-03-04T11:30"}
    )
    assert early.status_code == 409 and "has not ended" in early.text
    assert clinician.get(f"/sessions/{ahead['id']}/monitoring-form/print").status_code == 200
    assert clinician.get("/sessions/999999/monitoring-form").status_code == 404


def test_the_front_desk_sees_a_form_is_owed_on_the_worklist_never_the_form(rems, sqlite_api, desk, clinician):
    due, overdue = past_dose(sqlite_api, rems, 3), past_dose(sqlite_api, rems, 10)
    old = past_dose(sqlite_api, rems, FORM_CHASE_DAYS + 5)  # chased no more on the worklist
    rows = _rows(desk.get("/flags").text)  # the default range starts today: the doses are before it
    assert rows.count("rems_form_due") == 1 and rows.count("rems_form_overdue") == 1
    assert 'data-flag-code="rems_form_overdue"' in desk.get(f"/sessions/{old['id']}").text  # still owed there
    assert rows.index("rems_form_overdue") < rows.index("rems_form_due")  # an error comes first
    board = f"/board?date={due['starts_at'][:10]}"
    assert "REMS Patient Monitoring Form" in desk.get(board).text  # the day board of the dose's day
    session_page = desk.get(f"/sessions/{due['id']}")
    assert 'data-testid="rems-form-state">Owed' in session_page.text
    assert "monitoring-form" not in session_page.text  # no way in to the form for the front desk
    for url in (f"/sessions/{due['id']}/monitoring-form", f"/sessions/{due['id']}/monitoring-form/print"):
        assert desk.get(url).status_code == 403
    assert desk.post(f"/sessions/{due['id']}/monitoring-form", PAGE_FORM).status_code == 403

    assert f"/sessions/{overdue['id']}/monitoring-form" in clinician.get("/my-day").text  # owed, with its link
    for s in (due, overdue):
        assert (
            clinician.post(
                f"/sessions/{s['id']}/monitoring-form", {**PAGE_FORM, "ready_to_leave_at": _ready(s)}
            ).status_code
            == 302
        )
    rows = _rows(desk.get("/flags").text)
    assert "rems_form_due" not in rows and "rems_form_overdue" not in rows
    assert "REMS Patient Monitoring Form" not in desk.get(board).text
    assert 'data-testid="rems-form-state">On file' in desk.get(f"/sessions/{due['id']}").text
    assert "Nausea" not in desk.get(f"/sessions/{due['id']}").text  # the form's content stays out
