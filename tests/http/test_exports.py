"""Export everything and restore it: a populated database exported, imported into an empty one, and
the same data found there (both databases); the admin's API export leaves clinical content out."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, date, datetime, time

from sqlalchemy import select

from scheduler import create_app
from scheduler.auth import hash_password, issue_token
from scheduler.db import db_session
from scheduler.migrate import upgrade
from scheduler.models import AuditEvent, Course, User
from scheduler.services import clinical, directory
from tests.support import builders


def _populate():
    w = builders.small_clinic(commit=False)
    from scheduler.models import Clinic, Patient, StaffMember

    clinic, patient = db_session.get(Clinic, w.clinic.id), db_session.get(Patient, w.patient.id)
    directory.add_closure(None, clinic, starts_on=date(2026, 12, 25), ends_on=date(2026, 12, 25), reason="Christmas")
    directory.create_staff_member(None, clinic, name="Dr Hours", role="prescriber", hours={0: [(time(8), time(12))]})
    directory.add_time_off(
        None,
        db_session.get(StaffMember, w.nurse.id),
        reason="Leave",
        starts_at=datetime(2026, 3, 2, 13, tzinfo=UTC),
        ends_at=datetime(2026, 3, 3, 13, tzinfo=UTC),
    )
    course = Course(
        patient_id=patient.id,
        clinic_id=clinic.id,
        protocol_key="ketamine-iv",
        start_on=date(2026, 3, 9),
        preferences={"weekdays": ["mon"]},
        status="active",
    )
    db_session.add(course)
    db_session.flush()
    s = w.book(date(2026, 3, 9), time(9), 120, status="completed")
    s.course_id = course.id
    w.book(date(2026, 3, 11), time(9), 120)
    user = User(email="dr@clinic.test", role="clinician", password_hash=hash_password("a long password!"))
    db_session.add(user)
    db_session.flush()
    issue_token(user, label="secret")
    clinical.record_assessment(
        user.id, patient, instrument="PHQ-9", score=17, taken_on=date(2026, 3, 9), course_id=course.id
    )
    clinical.add_note(user.id, patient, body="Tolerated well; mild dissociation.")
    clinical.place_dosing_hold(user.id, patient, reason="BP 190/110 at evaluation")
    db_session.commit()
    return w


def _files(folder) -> dict[str, list[str]]:
    return {p.name: p.read_text().splitlines() for p in folder.iterdir() if p.suffix == ".jsonl"}


def test_export_restore_round_trip_finds_the_same_data(app, db_url, tmp_path, request):
    _populate()
    first = tmp_path / "first"
    out = app.test_cli_runner().invoke(args=["export", "--format", "jsonl", "--out", str(first)])
    assert out.exit_code == 0, out.output
    exported = _files(first)
    assert "api_token.jsonl" not in exported and "idempotency_key.jsonl" not in exported
    user_rows = [json.loads(x) for x in exported["app_user.jsonl"]]
    assert [u["role"] for u in user_rows] == ["clinician"] and user_rows[0]["password_hash"].startswith("$argon2")
    assert json.loads(exported["clinical_note.jsonl"][0])["body"] == "Tolerated well; mild dissociation."
    # The hours' columns keep their published names (the columns are start_time/end_time since 0013).
    opening, working = (json.loads(exported[f"{t}.jsonl"][0]) for t in ("opening_hours", "working_hours"))
    assert (opening["opens_at"], opening["closes_at"]) == ("08:00:00", "18:00:00") and "start_time" not in opening
    assert (working["starts_at"], working["ends_at"]) == ("08:00:00", "12:00:00") and "start_time" not in working

    if db_url.startswith("sqlite"):
        empty = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    else:
        empty = request.getfixturevalue("postgres_server").create_database("scheduler_restore")
    upgrade(empty)
    other = create_app({"TESTING": True, "DATABASE_URL": empty, "SECRET_KEY": "test"})
    try:
        with other.app_context():
            runner = other.test_cli_runner()
            restored = runner.invoke(args=["import", "all", str(first)])
            assert restored.exit_code == 0, restored.output
            again = tmp_path / "again"
            assert runner.invoke(args=["export", "--out", str(again)]).exit_code == 0
            twice = runner.invoke(args=["import", "all", str(first)])
            assert twice.exit_code == 1 and "not empty" in twice.output
            # New rows get fresh ids after the restore (PostgreSQL sequences moved past the restored ids).
            patient_id = directory.create_patient(None, mrn="NEW-1", name="New", birth_date=date(1990, 1, 1)).id
            db_session.commit()
            db_session.remove()
        ours = _files(again)
        assert set(ours) == set(exported)
        for name, lines in exported.items():
            if name == "audit_event.jsonl":
                assert ours[name][:-1] == lines
                assert json.loads(ours[name][-1])["action"] == "data.restore"
            else:
                assert ours[name] == lines, name
        assert patient_id > max(json.loads(x)["id"] for x in exported["patient.jsonl"])
    finally:
        other.extensions["scheduler.engine"].dispose()
        db_session.remove()
        db_session.configure(bind=app.extensions["scheduler.engine"])


def test_restore_refuses_a_redacted_or_broken_export(sqlite_app, tmp_path):
    folder = tmp_path / "x"
    folder.mkdir()
    runner = sqlite_app.test_cli_runner()
    missing = runner.invoke(args=["import", "all", str(folder)])
    assert missing.exit_code == 1 and "manifest.json is missing" in missing.output
    (folder / "manifest.json").write_text(json.dumps({"format": "jsonl", "clinical_content": False}))
    redacted = runner.invoke(args=["import", "all", str(folder)])
    assert redacted.exit_code == 1 and "leaves out clinical content" in redacted.output
    (folder / "manifest.json").write_bytes(b'{"format": "jsonl\xff"}')
    not_utf8 = runner.invoke(args=["import", "all", str(folder)])
    assert not_utf8.exit_code == 1 and "manifest.json: not JSON" in not_utf8.output


def _zip(answer) -> zipfile.ZipFile:
    assert answer.status_code == 200, answer.get_data(as_text=True)[:300]
    assert answer.mimetype == "application/zip"
    return zipfile.ZipFile(io.BytesIO(answer.get_data()))


def test_the_admin_api_export_leaves_clinical_content_out(api):
    _populate()
    archive = _zip(api.get("/api/v1/exports?format=jsonl"))
    names = set(archive.namelist())
    assert {"clinic.jsonl", "treatment_session.jsonl", "audit_event.jsonl", "manifest.json"} <= names
    assert "assessment.jsonl" not in names and "clinical_note.jsonl" not in names
    body = archive.read("patient.jsonl").decode()
    assert "BP 190/110" not in body and "clinicians only" in body
    audit = archive.read("audit_event.jsonl").decode()
    assert "mild dissociation" not in audit and "BP 190/110" not in audit
    assert "password_hash" not in archive.read("app_user.jsonl").decode()
    assert json.loads(archive.read("manifest.json"))["clinical_content"] is False
    csv_files = _zip(api.get("/api/v1/exports?format=csv"))
    table = csv_files.read("treatment_session.csv").decode().splitlines()
    assert table[0].startswith("id,") and len(table) == 3
    hours = [line.split(",") for line in csv_files.read("working_hours.csv").decode().splitlines()]
    assert hours[0] == ["id", "staff_member_id", "weekday", "starts_at", "ends_at"]  # the published names
    assert [row[2:] for row in hours[1:]] == [["0", "08:00:00", "12:00:00"]]
    fhir = _zip(api.get("/api/v1/exports?format=fhir"))
    manifest = json.loads(fhir.read("manifest.json"))
    assert {"transactionTime", "request", "requiresAccessToken", "output", "error"} <= set(manifest)
    kinds = {o["type"]: o["count"] for o in manifest["output"]}
    assert kinds["Patient"] == 1 and kinds["Appointment"] == 2 and "Observation" not in kinds
    appointment = json.loads(fhir.read("Appointment.ndjson").decode().splitlines()[0])
    assert appointment["resourceType"] == "Appointment" and appointment["status"] == "fulfilled"
    assert api.as_("front_desk").get("/api/v1/exports").status_code == 403
    events = api.get("/api/v1/audit?entity_type=export").json["events"]
    assert [(e["action"], e["after"]["format"], e["after"]["clinical"], e["after"]["via"]) for e in events] == [
        ("data.export", "jsonl", False, "api"),
        ("data.export", "csv", False, "api"),
        ("data.export", "fhir", False, "api"),
    ]
    assert {e["actor_id"] for e in events} == {api.users["admin"]} and events[2]["after"]["counts"]["Patient"] == 1
    assert api.get("/api/v1/exports?format=xml").json["error"]["field"] == "format"


def test_the_command_exports_fhir_ndjson_with_clinical_resources(sqlite_app, tmp_path):
    _populate()
    out = sqlite_app.test_cli_runner().invoke(args=["export", "--format", "fhir", "--out", str(tmp_path / "f")])
    assert out.exit_code == 0, out.output
    manifest = json.loads((tmp_path / "f" / "manifest.json").read_text())
    kinds = {o["type"]: o["count"] for o in manifest["output"]}
    assert kinds["Observation"] == 1 and kinds["DocumentReference"] == 1 and kinds["CarePlan"] == 1
    observation = json.loads((tmp_path / "f" / "Observation.ndjson").read_text())
    assert observation["valueInteger"] == 17 and observation["subject"]["reference"].startswith("Patient/")
    for line in (tmp_path / "f" / "AuditEvent.ndjson").read_text().splitlines():
        event = json.loads(line)
        assert event["resourceType"] == "AuditEvent" and event["agent"] and event["source"]
    again = sqlite_app.test_cli_runner().invoke(args=["export", "--out", str(tmp_path / "f")])
    assert again.exit_code != 0 and "not empty" in again.output
    db_session.remove()
    event = db_session.scalars(select(AuditEvent).where(AuditEvent.action == "data.export")).one()
    assert (event.actor, event.actor_id, event.entity_type) == ("cli", None, "export")
    assert (
        event.after["format"] == "fhir"
        and event.after["clinical"] is True
        and event.after["counts"]["Observation"] == 1
    )
