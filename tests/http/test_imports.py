"""Importing patients and sessions from CSV: through the command (both databases) and the API."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from scheduler.db import db_session
from scheduler.models import AuditEvent, Clinic, Course, Patient, TreatmentSession
from tests.support import builders

PATIENTS = (
    "mrn,name,birth_date,email,phone,ride_home_arranged\n"
    "MRN-1,Ana Ruiz,1980-02-03,ana@example.com,555-0101,yes\n"
    "MRN-2,Ben Cohen,1975-11-30,,,no\n"
)


def _run(app, tmp_path, kind: str, text: str | bytes, *extra: str):
    path = tmp_path / f"{kind}.csv"
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    result = app.test_cli_runner().invoke(args=["import", kind, str(path), *extra])
    db_session.remove()
    return result


def _count(model) -> int:
    return db_session.scalar(select(func.count()).select_from(model))


def _entity_events() -> int:
    """Audit events of rows written (the file's own ``data.import`` event aside)."""
    return db_session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action != "data.import"))


def _import_events() -> list[AuditEvent]:
    return list(
        db_session.scalars(select(AuditEvent).where(AuditEvent.action == "data.import").order_by(AuditEvent.id))
    )


def _day(offset: int) -> str:
    return (date.today() + timedelta(days=offset)).isoformat()


def test_template_prints_the_header(app):
    runner = app.test_cli_runner()
    assert (
        runner.invoke(args=["import", "patients", "--template"]).output.strip()
        == "mrn,name,birth_date,email,phone,ride_home_arranged"
    )
    assert (
        runner.invoke(args=["import", "sessions", "--template"]).output.strip()
        == "external_id,mrn,clinic,kind,start,end,room,staff,status,protocol,phase,sequence"
    )


def test_patients_are_created_then_unchanged_then_updated(app, tmp_path):
    first = _run(app, tmp_path, "patients", PATIENTS)
    assert first.exit_code == 0, first.output + first.stderr
    assert "create 2" in first.output
    ana = db_session.scalar(select(Patient).where(Patient.mrn == "MRN-1"))
    assert (ana.name, ana.birth_date, ana.ride_home_arranged, ana.phone) == (
        "Ana Ruiz",
        date(1980, 2, 3),
        True,
        "555-0101",
    )
    events = _entity_events()
    again = _run(app, tmp_path, "patients", PATIENTS)
    assert again.exit_code == 0 and "unchanged 2" in again.output
    assert _count(Patient) == 2 and _entity_events() == events
    changed = _run(app, tmp_path, "patients", PATIENTS.replace("555-0101", "555-0199"))
    assert changed.exit_code == 0 and "update 1" in changed.output and "unchanged 1" in changed.output
    assert db_session.scalar(select(Patient.phone).where(Patient.mrn == "MRN-1")) == "555-0199"


def test_a_bad_patients_file_names_line_and_column_and_writes_nothing(app, tmp_path):
    bad = (
        "mrn,name,birth_date,ride_home_arranged\n"
        "MRN-1,Ana Ruiz,1980-02-03,yes\n"
        "MRN-2,Ben Cohen,30/11/1975,no\n"
        "MRN-1,Ana Again,1981-01-01,perhaps\n"
        "MRN-3,,2090-01-01,\n"
    )
    result = _run(app, tmp_path, "patients", bad)
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert "line 3, column birth_date: '30/11/1975' is not a date YYYY-MM-DD" in lines
    assert "line 4, column mrn: MRN MRN-1 is also on line 2 of this file" in lines
    assert any(x.startswith("line 4, column ride_home_arranged: 'perhaps' is not a yes/no value") for x in lines)
    assert "line 5, column name: a value is required" in lines
    assert "line 5, column birth_date: 2090-01-01 is in the future" in lines
    assert "refused: nothing was written" in result.output
    assert _count(Patient) == 0 and _count(AuditEvent) == 0


@pytest.mark.parametrize(
    "content, expected",
    [
        (b"mrn,name\nMRN-1,Ana\n", "line 1, column birth_date: the required column is missing"),
        (b"mrn,name,birth_date\nMRN-1,Ana \xe9,1980-01-01\n", "line 2: the file is not UTF-8 text"),
        (b"", "line 1: the file is empty"),
    ],
)
def test_file_level_problems(sqlite_app, tmp_path, content, expected):
    result = _run(sqlite_app, tmp_path, "patients", content)
    assert result.exit_code == 1
    assert result.stderr.startswith(expected), result.stderr


def test_column_mapping_reads_another_systems_export(sqlite_app, tmp_path):
    other = "Patient ID,Full Name,DOB,Notes\nX-9,Carla Nguyen,1990-07-08,hello\n"
    result = _run(
        sqlite_app,
        tmp_path,
        "patients",
        other,
        "--map",
        "mrn=Patient ID",
        "--map",
        "name=Full Name",
        "--map",
        "birth_date=DOB",
    )
    assert result.exit_code == 0, result.stderr
    assert "line 1, column Notes: warning: the column is not part of the template and is ignored" in result.output
    assert db_session.scalar(select(Patient.name).where(Patient.mrn == "X-9")) == "Carla Nguyen"


def _sessions_csv(*rows: str) -> str:
    return "external_id,mrn,clinic,kind,start,end,room,staff,status,protocol,phase,sequence\n" + "".join(
        r + "\n" for r in rows
    )


def test_sessions_history_and_future_then_a_second_import_changes_nothing(app, tmp_path):
    w = builders.small_clinic(commit=False)
    clinic = db_session.get(Clinic, w.clinic.id)
    builders.room(clinic, name="Therapy-1", capabilities=("therapy",))
    builders.staff(clinic, name="Dr Tran", role="therapist")
    db_session.commit()
    # the future dose's integration session first: a ketamine-iv dose without one is refused (integration_missing)
    csv = _sessions_csv(
        f"OLD-1,MRN-100,Test Clinic,evaluation,{_day(-15)} 09:00,{_day(-15)} 10:00,IV-1,Nurse Kim,completed,ketamine-iv,,",
        f"OLD-2,MRN-100,Test Clinic,dose,{_day(-10)} 09:00,{_day(-10)} 11:00,IV-1,,no_show,ketamine-iv,induction,1",
        f"NEW-0,MRN-100,Test Clinic,integration,{_day(10)} 12:00,{_day(10)} 13:00,Therapy-1,Dr Tran,,ketamine-iv,,",
        f"NEW-1,MRN-100,test clinic,dose,{_day(10)} 09:00,{_day(10)} 11:00,iv-1,nurse kim,,ketamine-iv,,1",
    )
    dry = _run(app, tmp_path, "sessions", csv, "--dry-run")
    assert dry.exit_code == 0, dry.stderr + dry.output
    assert "create 4" in dry.output and "dry run: nothing was written" in dry.output
    assert _count(TreatmentSession) == 0 and _count(Course) == 0
    real = _run(app, tmp_path, "sessions", csv)
    assert real.exit_code == 0, real.stderr + real.output
    rows = {s.external_id: s for s in db_session.scalars(select(TreatmentSession))}
    assert rows["OLD-1"].status == "completed" and rows["OLD-2"].status == "no_show"
    assert rows["NEW-1"].status == "booked" and rows["NEW-1"].staff_member_id == w.nurse.id
    assert rows["NEW-1"].route == "iv" and rows["NEW-1"].phase == "induction"
    assert rows["NEW-1"].starts_at.hour == 14 or rows["NEW-1"].starts_at.hour == 13  # 09:00 New York in UTC
    course = db_session.scalar(select(Course))
    assert course.protocol_key == "ketamine-iv" and {s.course_id for s in rows.values()} == {course.id}
    assert course.status == "active"
    events = _entity_events()
    again = _run(app, tmp_path, "sessions", csv)
    assert again.exit_code == 0 and "unchanged 4" in again.output
    assert _count(TreatmentSession) == 4 and _entity_events() == events and _count(Course) == 1


def test_a_future_session_goes_through_the_rule_book_and_one_refusal_refuses_the_file(app, tmp_path):
    builders.small_clinic()
    events = _entity_events()
    csv = _sessions_csv(
        f"A,MRN-100,Test Clinic,dose,{_day(5)} 09:00,{_day(5)} 11:00,IV-1,,,,,",
        f"B,MRN-100,Test Clinic,dose,{_day(7)} 19:00,{_day(7)} 21:00,IV-1,,,,,",
        f"C,MRN-100,Test Clinic,integration,{_day(5)} 10:00,{_day(5)} 11:00,IV-1,,,,,",
        "D,MRN-100,Test Clinic,dose,2027-03-14 02:30,2027-03-14 04:30,IV-1,,,,,",
        f"E,MRN-404,Nowhere,dose,{_day(9)} 09:00,{_day(9)} 11:00,IV-1,,,,,",
    )
    result = _run(app, tmp_path, "sessions", csv)
    assert result.exit_code == 1
    err = result.stderr
    assert (
        "line 3, column start: " in err and "outside" in err.split("line 3, column start: ")[1].splitlines()[0].lower()
    )
    assert "line 4, column room: " in err or "line 4, column mrn: " in err  # double booking with line 2
    assert "line 5, column start: 2027-03-14 02:30 does not exist in America/New_York" in err
    assert "line 6, column mrn: no patient has MRN MRN-404" in err
    assert "line 6, column clinic: no clinic is named 'Nowhere'" in err
    assert _count(TreatmentSession) == 0 and _entity_events() == events


def test_the_api_takes_a_json_body_or_an_upload_and_refuses_with_the_report(api):
    builders.small_clinic()
    dry = api.post("/api/v1/imports", json={"kind": "patients", "csv": PATIENTS, "dry_run": True})
    assert dry.status_code == 200, dry.json
    assert dry.json["counts"]["create"] == 2 and dry.json["written"] is False
    assert _count(Patient) == 1
    import io

    upload = api.post(
        "/api/v1/imports",
        data={"kind": "patients", "file": (io.BytesIO(PATIENTS.encode()), "p.csv")},
        content_type="multipart/form-data",
    )
    assert upload.status_code == 201, upload.json
    assert [r["action"] for r in upload.json["rows"]] == ["create", "create"]
    assert _count(Patient) == 3
    bad = api.post(
        "/api/v1/imports",
        json={
            "kind": "sessions",
            "csv": _sessions_csv(f"X,MRN-1,Test Clinic,dose,{_day(3)} 25:00,{_day(3)} 11:00,IV-1,,,,,"),
        },
    )
    assert bad.status_code == 422
    error = bad.json["error"]
    assert error["code"] == "import_refused"
    assert error["report"]["problems"][0]["text"].startswith("line 2, column start: ")
    assert api.as_("front_desk").post("/api/v1/imports", json={"kind": "patients", "csv": PATIENTS}).status_code == 403
    assert api.post("/api/v1/imports", json={"kind": "rooms", "csv": ""}).json["error"]["field"] == "kind"


def test_history_rows_are_checked_for_double_bookings_against_the_file_and_the_calendar(app, tmp_path):
    w = builders.small_clinic()
    w.book(date.today() - timedelta(days=3), status="completed")  # 09:00–11:00 in IV-1
    db_session.commit()
    csv = _sessions_csv(
        f"H-1,MRN-100,Test Clinic,dose,{_day(-3)} 10:00,{_day(-3)} 12:00,IV-1,,completed,,,",
        f"H-2,MRN-100,Test Clinic,dose,{_day(-2)} 09:00,{_day(-2)} 11:00,IV-1,,completed,,,",
        f"H-3,MRN-100,Test Clinic,dose,{_day(-2)} 11:00,{_day(-2)} 12:00,IV-1,,completed,,,",
        f"H-4,MRN-100,Test Clinic,dose,{_day(-2)} 10:30,{_day(-2)} 11:30,IV-1,,cancelled,,,",
        f"H-5,MRN-100,Test Clinic,dose,{_day(-2)} 10:00,{_day(-2)} 12:00,IV-1,,no_show,,,",
        f"H-6,MRN-100,Test Clinic,dose,{_day(-2)} 10:59,{_day(-2)} 11:10,IV-1,,completed,,,",
    )
    result = _run(app, tmp_path, "sessions", csv)
    assert result.exit_code == 1
    err = result.stderr.splitlines()
    assert any(x.startswith("line 2, column room: The session clashes with session ") for x in err), err
    assert any(x.startswith("line 7, column room: The session clashes with line 3 (H-2)") for x in err), err
    assert not any(x.startswith(("line 3,", "line 4,", "line 5,", "line 6,")) for x in err)  # touching, dead rows
    assert _count(TreatmentSession) == 1


def test_future_rows_get_the_same_flags_as_a_booking_would(sqlite_app, tmp_path):
    """The import's context-once check agrees with services.flags.for_candidate, row by row."""
    from datetime import time

    from scheduler.models import Clinic, Patient
    from scheduler.services import booking, directory
    from scheduler.services import flags as flag_service

    w = builders.small_clinic()
    clinic = db_session.get(Clinic, w.clinic.id)
    directory.add_closure(
        None,
        clinic,
        starts_on=date.today() + timedelta(days=8),
        ends_on=date.today() + timedelta(days=8),
        reason="Training",
    )
    db_session.get(Patient, w.patient.id).dosing_hold_reason = None
    w.book(date.today() + timedelta(days=4), time(9))  # a dose on day 4
    db_session.commit()
    cases = [
        (4, "13:00", "15:00"),
        (5, "09:00", "11:00"),
        (8, "09:00", "11:00"),
        (12, "06:00", "08:00"),
        (20, "09:00", "11:00"),
    ]
    seen: set[str] = set()
    for offset, start, end in cases:
        row = f"F-{offset},MRN-100,Test Clinic,dose,{_day(offset)} {start},{_day(offset)} {end},IV-1,Nurse Kim,,,,"
        result = _run(sqlite_app, tmp_path, "sessions", _sessions_csv(row), "--dry-run")
        got = sorted({line.split("(")[0] for line in result.output.splitlines() if line.startswith("line 2")})
        from scheduler.domain.timezones import to_utc

        day = date.today() + timedelta(days=offset)
        req = booking.SessionRequest(
            clinic_id=w.clinic.id,
            patient_id=w.patient.id,
            room_id=w.room.id,
            kind="dose",
            starts_at=to_utc(day, time.fromisoformat(start), "America/New_York"),
            ends_at=to_utc(day, time.fromisoformat(end), "America/New_York"),
            staff_member_id=w.nurse.id,
            phase="induction",
        )
        expected = [
            f
            for f in flag_service.for_candidate(req.as_session())
            if f.code not in ("room_double_booked", "patient_double_booked")
        ]
        db_session.remove()
        assert len(got) == len(expected), (offset, result.output, [f.code for f in expected])
        for f in expected:
            assert any(f.message in line for line in result.output.splitlines()), (offset, f.code, result.output)
        assert (result.exit_code == 1) == any(f.severity == "error" for f in expected), (offset, result.output)
        seen |= {f.code for f in expected}
    assert {"clinic_closed", "outside_clinic_hours"} <= seen, seen


def test_each_taken_file_is_audited_as_one_import_by_the_cli(app, tmp_path):
    assert _run(app, tmp_path, "patients", PATIENTS, "--dry-run").exit_code == 0
    assert _import_events() == []  # a dry run writes nothing, not even its own event
    assert _run(app, tmp_path, "patients", PATIENTS).exit_code == 0
    assert _run(app, tmp_path, "patients", PATIENTS).exit_code == 0
    first, second = _import_events()
    assert (first.actor, first.actor_id, first.entity_type, first.entity_id) == ("cli", None, "import", None)
    assert first.after == {
        "kind": "patients",
        "source": "patients.csv",
        "rows": 2,
        "counts": {"create": 2, "update": 0, "unchanged": 0, "refused": 0},
    }
    assert second.after["counts"]["unchanged"] == 2 and second.after["counts"]["create"] == 0
    rows = db_session.scalars(select(AuditEvent).where(AuditEvent.entity_type == "patient")).all()
    assert {e.actor for e in rows} == {"cli"}
