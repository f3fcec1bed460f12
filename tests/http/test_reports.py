"""The manager's reports through the API on both databases: known sessions in, known figures out."""

from __future__ import annotations

import csv
import io
from datetime import date, time, timedelta

from scheduler.db import db_session
from scheduler.models import Assessment, Course
from tests.support import builders

V1 = "/api/v1/reports"


def _session(
    w,
    day: date,
    start: time,
    minutes: int,
    status: str,
    kind: str = "dose",
    *,
    patient=None,
    course=None,
    phase=None,
    cancelled_before: timedelta | None = None,
):
    s = w.book(day, start, minutes, status=status, kind=kind, patient=patient)
    s.course_id, s.phase = course, phase if phase or kind != "dose" else "induction"
    if cancelled_before is not None:
        s.cancelled_at = s.starts_at - cancelled_before
    db_session.flush()
    return s


def _attendance_world():
    w = builders.small_clinic(commit=False)
    _session(w, date(2026, 3, 2), time(9), 120, "completed")
    _session(w, date(2026, 3, 3), time(9), 60, "no_show", kind="evaluation")
    _session(w, date(2026, 3, 4), time(13), 120, "cancelled", cancelled_before=timedelta(hours=2))
    _session(w, date(2026, 3, 5), time(13), 120, "cancelled", cancelled_before=timedelta(days=3))
    _session(w, date(2026, 3, 9), time(9), 120, "checked_in")  # Monday after the DST change (8 March)
    _session(w, date(2026, 3, 10), time(9), 120, "proposed")  # never counted
    db_session.commit()
    return w


def test_utilization_is_attended_minutes_over_open_minutes_per_room_and_day(api):
    w = _attendance_world()
    body = api.get(f"{V1}/utilization?clinic_id={w.clinic.id}&start=2026-03-02&end=2026-03-10").json
    by_day = {row["date"]: row for row in body["rows"]}
    assert len(by_day) == 9 and {row["room"] for row in body["rows"]} == {"IV-1"}
    assert by_day["2026-03-02"] == {
        "room_id": w.room.id,
        "room": "IV-1",
        "date": "2026-03-02",
        "used_minutes": 120,
        "open_minutes": 600,
        "utilization": 0.2,
    }
    assert by_day["2026-03-09"]["utilization"] == 0.2  # checked in counts; 09:00 local after DST too
    assert by_day["2026-03-03"]["utilization"] == 0.0  # a no-show used nothing
    assert by_day["2026-03-10"]["used_minutes"] == 0
    weekly = api.get(f"{V1}/utilization?clinic_id={w.clinic.id}&start=2026-03-02&end=2026-03-10&by=week").json
    assert [(r["week"], r["used_minutes"], r["open_minutes"]) for r in weekly["rows"]] == [
        ("2026-03-02", 120, 4200),
        ("2026-03-09", 120, 1200),
    ]


def test_attendance_rates_by_kind_weekday_and_hour(api):
    w = _attendance_world()
    rows = api.get(f"{V1}/attendance?clinic_id={w.clinic.id}&start=2026-03-02&end=2026-03-10").json["rows"]
    got = {(r["dimension"], r["value"]): (r["sessions"], r["no_shows"], r["late_cancels"]) for r in rows}
    assert got[("kind", "dose")] == (4, 0, 1)
    assert got[("kind", "evaluation")] == (1, 1, 0)
    assert got[("hour", "09:00")] == (3, 1, 0)  # 2 March (EST) and 9 March (EDT) both at 09:00 local
    assert got[("hour", "13:00")] == (2, 0, 1)
    assert got[("weekday", "mon")] == (2, 0, 0) and got[("weekday", "wed")] == (1, 0, 1)
    dose = next(r for r in rows if r["value"] == "dose")
    assert dose["late_cancel_rate"] == 0.25 and dose["no_show_rate"] == 0.0
    download = api.get(f"{V1}/attendance?clinic_id={w.clinic.id}&start=2026-03-02&end=2026-03-10&format=csv")
    assert download.mimetype == "text/csv" and "attachment" in download.headers["Content-Disposition"]
    table = list(csv.DictReader(io.StringIO(download.get_data(as_text=True))))
    assert table[0].keys() == {
        "dimension",
        "value",
        "sessions",
        "no_shows",
        "late_cancels",
        "no_show_rate",
        "late_cancel_rate",
    }
    assert len(table) == len(rows)


def _course_world():
    w = builders.small_clinic(commit=False)
    other = builders.patient(mrn="MRN-200", name="Ben Other")
    db_session.flush()
    a = Course(
        patient_id=w.patient.id,
        clinic_id=w.clinic.id,
        protocol_key="ketamine-iv",
        start_on=date(2026, 1, 5),
        preferences={},
        status="maintenance",
    )
    b = Course(
        patient_id=other.id,
        clinic_id=w.clinic.id,
        protocol_key="ketamine-iv",
        start_on=date(2026, 1, 6),
        preferences={},
        status="active",
    )
    db_session.add_all([a, b])
    db_session.flush()
    _session(w, date(2026, 1, 5), time(9), 60, "completed", kind="evaluation", course=a.id)
    for day in (9, 12, 14, 16, 19, 21):
        _session(w, date(2026, 1, day), time(9), 120, "completed", course=a.id)
    _session(w, date(2026, 2, 2), time(9), 60, "completed", kind="follow_up", course=a.id)
    _session(w, date(2026, 4, 20), time(9), 120, "completed", course=a.id, phase="maintenance")  # 3 months: inside
    _session(w, date(2026, 5, 1), time(9), 120, "completed", course=a.id, phase="maintenance")  # 11 days: early
    _session(w, date(2026, 1, 6), time(9), 60, "completed", kind="evaluation", course=b.id, patient=other)
    _session(w, date(2026, 1, 16), time(13), 120, "completed", course=b.id, patient=other)
    _session(w, date(2026, 1, 19), time(13), 120, "no_show", course=b.id, patient=other)
    for course, patient, scores in ((a, w.patient.id, (20, 9, 4)), (b, other.id, (18, 12))):
        for i, score in enumerate(scores):
            db_session.add(
                Assessment(
                    patient_id=patient,
                    course_id=course.id,
                    instrument="PHQ-9",
                    score=score,
                    taken_on=date(2026, 1, 5) + timedelta(days=20 * i),
                )
            )
    db_session.commit()
    return w


def test_funnel_outcomes_and_maintenance(api):
    w = _course_world()
    q = f"clinic_id={w.clinic.id}&start=2026-01-01&end=2026-06-30"
    funnel = api.get(f"{V1}/funnel?{q}").json
    assert {r["stage"]: r["courses"] for r in funnel["rows"]} == {
        "started": 2,
        "evaluated": 2,
        "first_dose": 2,
        "six_doses": 1,
        "follow_up": 1,
        "maintenance": 1,
    }
    assert funnel["median_days_evaluation_to_first_dose"] == 7.0  # 4 days and 10 days
    outcomes = api.as_("clinician").get(f"{V1}/outcomes?{q}").json["rows"]
    assert outcomes == [
        {
            "protocol": "ketamine-iv",
            "instrument": "PHQ-9",
            "courses": 2,
            "responders": 1,
            "response_rate": 0.5,
            "remitters": 1,
            "remission_rate": 0.5,
            "response_criterion": "≥ 50 % below baseline",
            "remission_criterion": "score ≤ 4",
        }
    ]
    maintenance = api.get(f"{V1}/maintenance?{q}").json["rows"]
    assert maintenance == [
        {"protocol": "ketamine-iv", "doses": 2, "inside": 1, "early": 1, "late": 0, "adherence": 0.5}
    ]
    outside = api.get(f"{V1}/funnel?clinic_id={w.clinic.id}&start=2026-02-01&end=2026-06-30").json
    assert outside["rows"][0]["courses"] == 0


def test_report_refusals(api):
    w = builders.small_clinic()
    assert api.as_("front_desk").get(f"{V1}/funnel?clinic_id={w.clinic.id}").status_code == 403
    assert api.get(f"{V1}/funnel").json["error"]["field"] == "clinic_id"
    assert api.get(f"{V1}/funnel?clinic_id=999999").status_code == 404
    assert (
        api.get(f"{V1}/funnel?clinic_id={w.clinic.id}&start=2026-02-01&end=2026-01-01").json["error"]["field"] == "end"
    )
    assert (
        api.get(f"{V1}/funnel?clinic_id={w.clinic.id}&start=2020-01-01&end=2026-01-01").json["error"]["field"]
        == "start"
    )
    assert api.get(f"{V1}/funnel?clinic_id={w.clinic.id}&format=xml").json["error"]["field"] == "format"
    assert api.get(f"{V1}/funnel?clinic_id={w.clinic.id}").json["rows"][0]["courses"] == 0


def test_the_funnel_counts_an_evaluation_booked_before_the_course_when_the_rule_book_accepts_it(api):
    """Front desks often book the evaluation before planning the course (no course yet): it counts
    for the course when it licenses the first dose (ketamine-iv: at least a day before, at most 30
    days old); an older one does not."""
    w = builders.small_clinic(commit=False)
    fresh, stale, waiting = (builders.patient(mrn=f"MRN-3{i}", name=f"P{i}") for i in range(3))
    db_session.flush()
    courses = {}
    for patient, start in ((fresh, date(2026, 3, 2)), (stale, date(2026, 3, 2)), (waiting, date(2026, 3, 20))):
        courses[patient.id] = Course(
            patient_id=patient.id,
            clinic_id=w.clinic.id,
            protocol_key="ketamine-iv",
            start_on=start,
            preferences={},
            status="active",
        )
    db_session.add_all(courses.values())
    db_session.flush()
    _session(w, date(2026, 2, 23), time(9), 60, "completed", kind="evaluation", patient=fresh)  # 7 days before
    _session(w, date(2026, 3, 2), time(9), 120, "completed", course=courses[fresh.id].id, patient=fresh)
    _session(w, date(2026, 1, 5), time(11), 60, "completed", kind="evaluation", patient=stale)  # 56 days: expired
    _session(w, date(2026, 3, 2), time(13), 120, "completed", course=courses[stale.id].id, patient=stale)
    _session(w, date(2026, 3, 10), time(9), 60, "completed", kind="evaluation", patient=waiting)  # no dose yet
    _session(w, date(2026, 3, 11), time(9), 60, "no_show", kind="evaluation", patient=stale)  # not attended
    db_session.commit()
    answer = api.get(f"{V1}/funnel?clinic_id={w.clinic.id}&start=2026-03-01&end=2026-03-31").json
    counts = {r["stage"]: r["courses"] for r in answer["rows"]}
    assert (counts["started"], counts["evaluated"], counts["first_dose"]) == (3, 2, 2)
    assert answer["median_days_evaluation_to_first_dose"] == 7.0  # only the accepted evaluation
