"""The Reports and Import pages through the Flask client: who may open them, charts with their
tables, CSV downloads, and an upload that is checked, refused with line and column, then taken."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from scheduler.db import db_session
from scheduler.models import Patient, TreatmentSession
from tests.support import builders
from tests.support.builders import clinic_with_users
from tests.support.pages import Web

PATIENTS = "mrn,name,birth_date,ride_home_arranged\nW-1,Wen Khan,1984-04-04,yes\nW-2,Uma Lund,1979-09-09,no\n"


@pytest.fixture
def site(sqlite_app):
    clinic, rooms, _users = clinic_with_users()
    return {"app": sqlite_app, "clinic": clinic, "rooms": rooms}


def _as(site, role: str) -> Web:
    web = Web(site["app"])
    assert web.sign_in(role).status_code == 302
    return web


def test_reports_page_draws_each_report_with_its_table_for_admins_and_clinicians(site):
    room = site["rooms"]["IV-1"]
    day = date.today() - timedelta(days=7)
    starts = datetime(day.year, day.month, day.day, 15, tzinfo=UTC)
    db_session.add(
        TreatmentSession(
            clinic_id=site["clinic"].id,
            patient_id=_patient().id,
            room_id=room.id,
            kind="dose",
            starts_at=starts,
            ends_at=starts + timedelta(hours=2),
            status="completed",
        )
    )
    db_session.commit()
    for role in ("admin", "clinician"):
        page = _as(site, role).get("/reports")
        assert page.status_code == 200, role
        html = page.text
        for heading in (
            "Chair utilisation",
            "No-shows and late cancellations",
            "Course funnel",
            "Response and remission",
            "Maintenance adherence",
        ):
            assert f">{heading}</h2>" in html
        assert html.count('role="img"') >= 3 and "<title" in html and "<table" in html
        assert "IV-1, week of" in html  # a heatmap cell names its room and week
        assert "<script" not in html.split("</head>")[1] and " onclick=" not in html
    assert _as(site, "front_desk").get("/reports").status_code == 403
    download = _as(site, "admin").get(f"/reports/utilization.csv?clinic_id={site['clinic'].id}&by=week")
    assert download.mimetype == "text/csv"
    lines = download.text.splitlines()
    assert lines[0] == "room_id,room,week,used_minutes,open_minutes,utilization"
    assert any(",IV-1," in line and ",120," in line for line in lines[1:])


def _patient():
    p = builders.patient(mrn="R-1", name="Rosa Report")
    db_session.flush()
    return p


def _upload(web: Web, text: str, *, kind="patients", dry_run=True, mapping=""):
    data = {"kind": kind, "mapping": mapping, "file": (io.BytesIO(text.encode()), f"{kind}.csv")}
    if dry_run:
        data["dry_run"] = "on"
    return web.post("/admin/import", data=data, content_type="multipart/form-data")


def test_import_page_dry_run_refusal_and_real_import(site):
    admin = _as(site, "admin")
    form = admin.get("/admin/import")
    assert form.status_code == 200 and "mrn,name,birth_date,email,phone,ride_home_arranged" in form.text
    dry = _upload(admin, PATIENTS)
    assert dry.status_code == 200 and "Dry run: the file would be taken" in dry.text and "create 2" in dry.text
    assert db_session.scalar(select(func.count()).select_from(Patient)) == 0
    bad = _upload(admin, PATIENTS.replace("1979-09-09", "09/09/1979"), dry_run=False)
    assert bad.status_code == 422 and "Refused" in bad.text
    assert "line 3, column birth_date: &#39;09/09/1979&#39; is not a date YYYY-MM-DD" in bad.text
    assert db_session.scalar(select(func.count()).select_from(Patient)) == 0
    mapped = _upload(admin, PATIENTS.replace("mrn,", "Patient ID,"), dry_run=False, mapping="mrn=Patient ID")
    assert mapped.status_code == 200 and "Imported" in mapped.text
    assert db_session.scalar(select(func.count()).select_from(Patient)) == 2
    missing = admin.post("/admin/import", data={"kind": "patients"}, content_type="multipart/form-data")
    assert missing.status_code == 422 and "Choose the CSV file to import." in missing.text
    assert _as(site, "clinician").get("/admin/import").status_code == 403
    assert _as(site, "front_desk").get("/admin/import").status_code == 403


def test_a_user_limited_to_one_clinic_gets_no_report_of_another(sqlite_app):
    """Reports are per clinic: a clinician or admin limited to clinic A asking for clinic B's
    reports (API, CSV download, page, page CSV) gets 404, never B's figures; B's own staff do see them."""
    from scheduler.auth import issue_token
    from scheduler.models import User
    from scheduler.services import directory
    from tests.support.builders import USER_ROLES as ROLES

    a, _rooms, users = clinic_with_users()
    b = directory.create_clinic(
        None, name="Other Side Clinic", timezone="America/New_York", hours={d: [(time(8), time(18))] for d in range(7)}
    )
    db_session.flush()
    chair = directory.create_room(None, b, name="B chair", capabilities=["iv"])
    day = date.today() - timedelta(days=3)
    starts = datetime(day.year, day.month, day.day, 15, tzinfo=UTC)
    db_session.add(
        TreatmentSession(
            clinic_id=b.id,
            patient_id=_patient().id,
            room_id=chair.id,
            kind="dose",
            starts_at=starts,
            ends_at=starts + timedelta(hours=2),
            status="completed",
        )
    )
    for role in ROLES:
        users[role].limit_to_clinics([a.id])
    db_session.commit()
    tokens = {role: issue_token(users[role]) for role in ("admin", "clinician")}
    db_session.commit()
    a_id, b_id, admin_id = a.id, b.id, users["admin"].id
    site, client = {"app": sqlite_app}, sqlite_app.test_client()
    for role in ("admin", "clinician"):
        bearer = {"Authorization": f"Bearer {tokens[role]}"}
        for name in ("utilization", "attendance", "funnel", "outcomes", "maintenance"):
            for suffix in ("", "&format=csv"):
                answer = client.get(f"/api/v1/reports/{name}?clinic_id={b_id}{suffix}", headers=bearer)
                assert answer.status_code == 404, (role, name, suffix, answer.status_code)
                assert "Other Side" not in answer.get_data(as_text=True)
            own = client.get(f"/api/v1/reports/{name}?clinic_id={a_id}", headers=bearer)
            assert own.status_code == 200, (role, name, own.get_data(as_text=True)[:200])
        web = _as(site, role)
        page = web.get(f"/reports?clinic_id={b_id}")
        assert page.status_code == 404 and "Other Side" not in page.text
        download = web.get(f"/reports/utilization.csv?clinic_id={b_id}")
        assert download.status_code == 404 and "B chair" not in download.get_data(as_text=True)
        assert "Other Side" not in web.get("/reports").text  # not offered in the clinic picker
    db_session.get(User, admin_id).limit_to_clinics([])  # a network admin again
    db_session.commit()
    figures = client.get(
        f"/api/v1/reports/utilization?clinic_id={b_id}", headers={"Authorization": f"Bearer {tokens['admin']}"}
    )
    assert figures.status_code == 200 and any(r["room"] == "B chair" for r in figures.json["rows"])
