"""Patient search (services.directory.search_patients through GET /api/v1/patients), on both databases:
MRN in any case and by any part, name words in any order, dates of birth, recently seen patients on an
empty search, and each result's open course and next session."""

from __future__ import annotations

from datetime import date, timedelta

from scheduler.db import db_session
from scheduler.models import Course, utcnow
from scheduler.services import booking
from scheduler.services import sessions as session_service
from tests.support import builders
from tests.support.builders import equipped_clinic, future_monday


def _people():
    ana = builders.patient(mrn="DEMO-0001", name="Ana Ruiz", birth_date=date(1985, 4, 12))
    eli = builders.patient(mrn="DEMO-0002", name="Eli Kowalczyk", birth_date=date(1979, 11, 3))
    other = builders.patient(mrn="XDEMO-77", name="Ruth Anand", birth_date=date(1990, 1, 2))
    db_session.commit()
    return ana, eli, other


def _names(api, q: str) -> list[str]:
    r = api.get("/api/v1/patients", query_string={"q": q})
    assert r.status_code == 200, r.json
    return [p["name"] for p in r.json["patients"]]


def test_mrn_in_any_case_and_by_any_part_exact_first(api, app):
    _people()
    for q in ("demo-0001", "DEMO-0001", " Demo-0001 "):
        assert _names(api, q) == ["Ana Ruiz"], q
    assert _names(api, "0001") == ["Ana Ruiz"]
    assert _names(api, "DEMO") == ["Ana Ruiz", "Eli Kowalczyk", "Ruth Anand"]  # prefix matches before the rest
    assert _names(api, "xdemo") == ["Ruth Anand"]
    assert _names(api, "DEMO-9") == []
    assert _names(api, "50%") == [] and _names(api, "_") == []  # LIKE wildcards are literal


def test_names_in_any_order_with_a_comma_and_dates_of_birth(api, app):
    _people()
    for q in ("Ruiz, Ana", "ana ruiz", "RUIZ ana", "ruiz,ana", "Ana"):
        assert "Ana Ruiz" in _names(api, q), q
    assert _names(api, "Ruiz, Ana") == ["Ana Ruiz"]
    assert _names(api, "Ana Kowalczyk") == []  # every word must match
    assert _names(api, "1985-04-12") == ["Ana Ruiz"]
    assert _names(api, "04/12/1985") == ["Ana Ruiz"]  # month first
    assert _names(api, "12/04/1985") == ["Ana Ruiz"]  # day first
    assert _names(api, "3.11.1979") == ["Eli Kowalczyk"]
    assert _names(api, "31/02/1985") == [] and _names(api, "1985-13-40") == []


def test_results_show_the_open_course_and_the_next_session_and_empty_shows_recent(api, app):
    clinic = equipped_clinic()
    ana, eli, other = _people()
    course = Course(
        patient_id=ana.id, clinic_id=clinic.id, protocol_key="ketamine-iv", start_on=date.today(), status="active"
    )
    done = Course(
        patient_id=eli.id,
        clinic_id=clinic.id,
        protocol_key="ketamine-iv",
        start_on=date.today() - timedelta(days=200),
        status="completed",
    )
    db_session.add_all([course, done])
    db_session.flush()
    now = utcnow()

    def book(pid, starts_at, status="booked", **kw):
        req = booking.SessionRequest(
            clinic_id=clinic.id,
            patient_id=pid,
            room_id=clinic.rooms["Therapy"],
            kind="evaluation",
            starts_at=starts_at,
            ends_at=starts_at + timedelta(hours=1),
            **kw,
        )
        return session_service.book(None, req, status=status, check_flags=False)[0]

    later = clinic.at(future_monday(3), 9)
    sooner = clinic.at(future_monday(2), 9)
    book(ana.id, later, course_id=course.id)
    soon = book(ana.id, sooner, course_id=course.id)
    book(ana.id, now - timedelta(days=2))  # seen two days ago
    book(eli.id, now - timedelta(days=5))  # seen five days ago
    gone = book(other.id, now - timedelta(days=1))
    gone.status = "cancelled"  # a cancelled visit is not "seen"
    book(other.id, now - timedelta(days=60))  # too long ago
    db_session.commit()

    found = api.get("/api/v1/patients", query_string={"q": "DEMO-0001"}).json["patients"]
    assert found[0]["open_course"]["id"] == course.id and found[0]["open_course"]["status"] == "active"
    assert found[0]["next_session"]["id"] == soon.id
    eli_row = api.get("/api/v1/patients", query_string={"q": "Kowalczyk"}).json["patients"][0]
    assert eli_row["open_course"] is None and eli_row["next_session"] is None  # completed course, nothing ahead

    recent = api.get("/api/v1/patients").json["patients"]
    assert [p["name"] for p in recent] == ["Ana Ruiz", "Eli Kowalczyk"]
    assert api.get("/api/v1/patients?q=").json["patients"] == recent
