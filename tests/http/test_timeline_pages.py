"""Issue 15: a long timeline comes a page at a time (``limit``, ``before`` → ``earlier_before``), through
the API and the clinician's page; paging back through every page gives every session once, in time
order. On both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from scheduler.db import db_session
from scheduler.models import TreatmentSession
from tests.support import routes as r
from tests.support.builders import equipped_clinic, patient_id


def _history(clinic, pid: int, n: int) -> list[int]:
    start = datetime(2025, 1, 6, 15, tzinfo=UTC)
    rows = [
        TreatmentSession(
            clinic_id=clinic.id,
            patient_id=pid,
            room_id=clinic.rooms["Consult"],
            kind="follow_up",
            status="completed",
            starts_at=start + timedelta(days=2 * i),
            ends_at=start + timedelta(days=2 * i, hours=1),
        )
        for i in range(n)
    ]
    db_session.add_all(rows)
    db_session.commit()
    return [s.id for s in rows]


def test_paging_back_through_a_timeline_gives_every_session_once(api, app):
    clinic = equipped_clinic()
    pid = patient_id()
    ids = _history(clinic, pid, 7)
    seen, before, pages = [], None, 0
    while True:
        url = f"/api/v1/patients/{pid}/timeline?limit=3" + (f"&before={before}" if before else "")
        answer = api.get(url.replace("+", "%2B"))
        assert answer.status_code == 200, answer.json
        page = [s["id"] for s in answer.json["sessions"]]
        starts = [s["starts_at"] for s in answer.json["sessions"]]
        assert starts == sorted(starts) and len(page) <= 3
        seen = page + seen
        pages += 1
        before = answer.json["earlier_before"]
        if before is None:
            break
    assert seen == ids and pages == 3
    whole = api.get(f"/api/v1/patients/{pid}/timeline").json
    assert [s["id"] for s in whole["sessions"]] == ids and whole["earlier_before"] is None


def test_timeline_paging_refuses_a_bad_limit_or_instant(api, app):
    pid = patient_id()
    for query, field in (
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("before=2026-01-01T09:00:00", "before"),
        ("before=yesterday", "before"),
    ):
        answer = api.get(f"/api/v1/patients/{pid}/timeline?{query}")
        assert answer.status_code == 400 and answer.json["error"]["field"] == field, (query, answer.json)


def test_the_clinician_page_links_to_earlier_sessions(app):
    from scheduler.services import timeline

    clinic = equipped_clinic()
    pid = patient_id()
    ids = _history(clinic, pid, timeline.DEFAULT_SESSIONS + 2)
    r.user("clin-pages@clinic.test", "clinician")
    db_session.commit()
    pages = r.Pages(app, "clin-pages@clinic.test")
    first = pages.open("GET", f"/patients/{pid}/timeline")
    assert first.status_code == 200 and 'data-testid="earlier-sessions"' in first.text
    link = first.text.split('data-testid="earlier-sessions" href="')[1].split('"')[0].replace("&amp;", "&")
    second = pages.open("GET", link)
    assert second.status_code == 200 and 'data-testid="earlier-sessions"' not in second.text
    assert "Back to the latest sessions" in second.text
    assert len(ids) == timeline.DEFAULT_SESSIONS + 2
