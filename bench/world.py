"""The growth figures' own small world inside a bench database (issue 15), built by ``bench.run``
before it measures and removed after:

* two board clinics of 10 and 200 rooms (open Mon–Fri 08:00–18:00, America/Chicago), each room with
  three one-hour sessions (08:00, 11:00, 14:00) of distinct patients on two weekdays ``day_a`` and
  ``day_b`` a week apart — the same board twice;
* a patient with no sessions (``fresh_patient``), booked by ``bench.run``'s ``booking_fresh`` as
  ``booking_history`` books the next one;
* a patient with 1,000 past sessions (every other day back from yesterday, 16:00, completed): 600 in
  20 completed ``tms-daily`` courses of 30, 400 loose follow-up visits, all in the 10-room clinic.
  On ``day_a`` the 10-room board's 08:00 session in the first room is this patient's; on ``day_b``
  it is a patient with no history. So ``day_board_10_history`` ÷ ``day_board_10`` is the cost of a
  long history on the board, ``day_board_200`` ÷ ``day_board_10`` the cost of 20× the rooms.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

UTC = UTC
ZONE = "America/Chicago"
HISTORY = 1000
COURSES, PER_COURSE = 20, 30


@dataclass
class World:
    clinic_10: int
    clinic_200: int
    day_a: date  # the 10-room board shows the long-history patient
    day_b: date  # the same board with a patient without history instead
    history_patient: int
    fresh_patient: int  # no past sessions: booked like history_patient (bench.run booking_fresh)
    clinic_ids: tuple[int, ...]
    patient_ids: tuple[int, ...]


def _weekday_ahead(today: date, days: int) -> date:
    d = today + timedelta(days=days)
    while d.weekday() >= 5:
        d += timedelta(days=1)
    return d


def build(db_session, stamp: str, today: date) -> World:
    from scheduler.models import Clinic, Course, OpeningHours, Patient, Room, TreatmentSession

    zone = ZoneInfo(ZONE)
    day_a = _weekday_ahead(today, 21)
    day_b = day_a + timedelta(days=7)
    clinics, rooms = {}, {}
    for n in (10, 200):
        c = Clinic(
            name=f"Bench board {n} rooms {stamp}",
            timezone=ZONE,
            opening_hours=[OpeningHours(weekday=w, start_time=time(8), end_time=time(18)) for w in range(5)],
        )
        db_session.add(c)
        db_session.flush()
        clinics[n] = c.id
        made = [
            Room(clinic_id=c.id, name=f"Chair {k:03d}", capabilities=["iv", "im", "consult", "therapy", "tms"])
            for k in range(n)
        ]
        db_session.add_all(made)
        db_session.flush()
        rooms[n] = [r.id for r in made]
    patients = [
        Patient(
            mrn=f"BOARD-{stamp}-{i}",
            name=f"Board Patient {i}",
            birth_date=date(1980, 1, 1),
            email=f"board-{stamp}-{i}@example.org",  # reachable: a booking writes its reminders
            ride_home_arranged=True,
        )
        for i in range(3 * 210 + 2)
    ]
    db_session.add_all(patients)
    db_session.flush()
    heavy, newcomer, fresh = patients[0].id, patients[-1].id, [p.id for p in patients[1:-1]]
    rows = []

    def at(d: date, hour: int) -> datetime:
        return datetime.combine(d, time(hour), tzinfo=zone).astimezone(UTC)

    for n in (10, 200):
        for d in (day_a, day_b):
            for k, room_id in enumerate(rooms[n]):
                for j, hour in enumerate((8, 11, 14)):
                    patient = fresh[3 * k + j + (600 if n == 10 else 0)]
                    if n == 10 and d == day_a and k == 0 and j == 0:
                        patient = heavy
                    rows.append(
                        {
                            "clinic_id": clinics[n],
                            "patient_id": patient,
                            "room_id": room_id,
                            "kind": "evaluation",
                            "starts_at": at(d, hour),
                            "ends_at": at(d, hour + 1),
                            "status": "booked",
                        }
                    )
    courses = [
        Course(
            patient_id=heavy,
            clinic_id=clinics[10],
            protocol_key="tms-daily",
            status="completed",
            start_on=today - timedelta(days=2 * HISTORY),
        )
        for _ in range(COURSES)
    ]
    db_session.add_all(courses)
    db_session.flush()
    for i in range(HISTORY):
        d = today - timedelta(days=2 * (HISTORY - i))
        in_course = i < COURSES * PER_COURSE
        rows.append(
            {
                "clinic_id": clinics[10],
                "patient_id": heavy,
                "room_id": rooms[10][1],
                "kind": "dose" if in_course else "follow_up",
                "status": "completed",
                "course_id": courses[i // PER_COURSE].id if in_course else None,
                "phase": "induction" if in_course else None,
                "sequence": i % PER_COURSE + 1 if in_course else None,
                "route": "tms" if in_course else None,
                "starts_at": at(d, 16),
                "ends_at": at(d, 17),
            }
        )
    for c, first in zip(courses, range(0, COURSES * PER_COURSE, PER_COURSE)):
        c.start_on = today - timedelta(days=2 * (HISTORY - first))
    keys = (
        "clinic_id",
        "patient_id",
        "room_id",
        "kind",
        "status",
        "course_id",
        "phase",
        "sequence",
        "route",
        "starts_at",
        "ends_at",
    )
    db_session.execute(sa.insert(TreatmentSession), [{k: r.get(k) for k in keys} for r in rows])
    db_session.commit()
    return World(
        clinic_10=clinics[10],
        clinic_200=clinics[200],
        day_a=day_a,
        day_b=day_b,
        history_patient=heavy,
        fresh_patient=newcomer,
        clinic_ids=tuple(clinics.values()),
        patient_ids=(heavy, *fresh, newcomer),
    )


def remove(conn, world: World) -> None:
    """Delete the world (``conn``: a Core connection in a transaction)."""
    clinics = ", ".join(str(int(i)) for i in world.clinic_ids)
    patients = ", ".join(str(int(i)) for i in world.patient_ids)
    conn.exec_driver_sql(
        "DELETE FROM audit_event WHERE entity_type = 'treatment_session' AND entity_id IN "
        f"(SELECT id FROM treatment_session WHERE patient_id IN ({patients}) OR clinic_id IN ({clinics}))"
    )
    conn.exec_driver_sql(f"DELETE FROM message WHERE patient_id IN ({patients})")
    conn.exec_driver_sql(f"DELETE FROM treatment_session WHERE patient_id IN ({patients}) OR clinic_id IN ({clinics})")
    conn.exec_driver_sql(f"DELETE FROM course WHERE patient_id IN ({patients})")
    conn.exec_driver_sql(f"DELETE FROM access_log WHERE patient_id IN ({patients})")
    conn.exec_driver_sql(f"DELETE FROM patient WHERE id IN ({patients})")
    conn.exec_driver_sql(f"DELETE FROM opening_hours WHERE clinic_id IN ({clinics})")
    conn.exec_driver_sql(f"DELETE FROM room WHERE clinic_id IN ({clinics})")
    conn.exec_driver_sql(f"DELETE FROM clinic WHERE id IN ({clinics})")
