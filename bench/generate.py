"""Write a realistic clinic network into a migrated database, fast.

    python -m bench.generate postgresql+psycopg://postgres@127.0.0.1:5432/scheduler_bench --sessions 1000000
    python -m bench.generate sqlite:////tmp/scheduler_bench.sqlite3 --sessions 10000

Shape (per 20,000 sessions one clinic, at most 50; 10 rooms each; one patient per 10 sessions): each
clinic is open Mon–Fri 08:00–18:00 in its own zone and closed on New Year's Day, 4 July and Christmas.
Courses follow the shipped protocols — ``ketamine-iv``/``ketamine-im`` (evaluation, 6 doses 2–4 days
apart with an integration the next day, follow-up 7–14 days later, maintenance every 2–4 months),
``esketamine-trd`` (twice weekly weeks 1–4, weekly weeks 5–8, then every 1–2 weeks), ``tms-daily``
(30 weekday sessions) and ``ketamine-lozenge-kap`` (preparation, 6 lozenge doses, integration after
doses 1, 2, 4, 6). History runs five years back and three months ahead: past sessions are completed,
cancelled (5 %) or no-shows (4 %), a missed dose is rebooked; future ones are booked; PHQ-9/MADRS/Y-BOCS
assessments at evaluation and follow-up. Audit rows are not written for generated history (one
``bench.generate`` marker event records the size).

No overlap by construction: every room has its own fixed grid of cells (2 h for IV/IM chairs, 2.5 h
nasal, 3 h KAP suite, 1 h therapy/consult/TMS) and a cell holds at most one session (live or not); a
patient has at most one session per local day. So the exclusion constraints hold (PostgreSQL checks
them on every COPYed row).

Bulk paths: COPY on PostgreSQL (psycopg), ``insert()`` executemany on SQLite; rows are streamed in
chunks, so memory stays flat at any size.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time as timer
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from dateutil.relativedelta import relativedelta
from tqdm import tqdm

from scheduler.migrate import upgrade
from scheduler.models import (
    Assessment,
    AuditEvent,
    Clinic,
    Closure,
    Course,
    OpeningHours,
    Patient,
    Room,
    StaffMember,
    TreatmentSession,
)

MARKER_ACTION = "bench.generate"
SESSIONS_PER_CLINIC = 20_000
MAX_CLINICS = 50
YEARS_BACK = 5
DAYS_AHEAD = 90
CHUNK = 20_000
ZONES = ("America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles", "America/Phoenix")

# Room kinds of one clinic: (name, capabilities, grid of local start minutes, staff key)
HOURLY = tuple(range(8 * 60, 18 * 60, 60))
ROOM_PLAN = (
    ("IV-1", ["im", "iv"], (480, 600, 720, 840, 960), "N1"),
    ("IV-2", ["im", "iv"], (480, 600, 720, 840, 960), "N2"),
    ("IV-3", ["im", "iv"], (480, 600, 720, 840, 960), "N3"),
    ("Nasal-1", ["nasal"], (480, 630, 780, 930), "N4"),
    ("KAP suite", ["lozenge", "therapy"], (480, 660, 840), "T3"),
    ("TMS-1", ["tms"], HOURLY, "N4"),
    ("Therapy-1", ["therapy"], HOURLY, "T1"),
    ("Therapy-2", ["therapy"], HOURLY, "T2"),
    ("Consult-1", ["consult"], HOURLY, "P1"),
    ("Consult-2", ["consult"], HOURLY, "P2"),
)
STAFF_PLAN = (
    ("P1", "prescriber", 1),
    ("P2", "prescriber", 1),
    ("P3", "prescriber", 1),
    ("N1", "nurse", 1),
    ("N2", "nurse", 1),
    ("N3", "nurse", 1),
    ("N4", "nurse", 2),
    ("T1", "therapist", 1),
    ("T2", "therapist", 1),
    ("T3", "therapist", 1),
)
# Which rooms serve which need.
NEED_ROOMS = {
    "iv": ("IV-1", "IV-2", "IV-3"),
    "im": ("IV-1", "IV-2", "IV-3"),
    "nasal": ("Nasal-1",),
    "lozenge": ("KAP suite",),
    "tms": ("TMS-1",),
    "therapy": ("Therapy-1", "Therapy-2"),
    "consult": ("Consult-1", "Consult-2"),
}
PROTOCOL_MIX = (
    ("ketamine-iv", 0.40),
    ("ketamine-im", 0.10),
    ("esketamine-trd", 0.20),
    ("tms-daily", 0.15),
    ("ketamine-lozenge-kap", 0.15),
)
FIRST = (
    "Alex",
    "Sam",
    "Jordan",
    "Taylor",
    "Morgan",
    "Casey",
    "Riley",
    "Jamie",
    "Avery",
    "Quinn",
    "Rowan",
    "Maria",
    "James",
    "Priya",
    "Wei",
    "Fatima",
    "Lucas",
    "Emma",
    "Noah",
    "Olivia",
    "Liam",
    "Ava",
)
LAST = (
    "Smith",
    "Garcia",
    "Nguyen",
    "Patel",
    "Kim",
    "Johnson",
    "Brown",
    "Lopez",
    "Chen",
    "Wilson",
    "Khan",
    "Martin",
    "Okafor",
    "Rossi",
    "Silva",
    "Cohen",
    "Novak",
    "Haddad",
    "Murphy",
    "Ito",
)


def network_shape(sessions: int) -> dict:
    clinics = max(1, min(MAX_CLINICS, round(sessions / SESSIONS_PER_CLINIC)))
    return {
        "sessions": sessions,
        "clinics": clinics,
        "rooms": clinics * len(ROOM_PLAN),
        "patients": max(20, sessions // 10),
    }


@dataclass
class RoomState:
    id: int
    clinic_id: int
    name: str
    grid: tuple[int, ...]
    staff_id: int
    busy: bytearray = field(default=None)  # one byte per (day, cell)


@dataclass
class ClinicState:
    id: int
    tz: str
    rooms: dict[str, RoomState]
    staff: dict[str, int]
    closed_days: set[int]
    patients: range


class Calendar:
    """Day indexes from the first Monday five years back to three months ahead, local → UTC."""

    def __init__(self, today: date):
        first = today - relativedelta(years=YEARS_BACK)
        self.first = first - timedelta(days=first.weekday())
        self.today = today
        self.ndays = (today + timedelta(days=DAYS_AHEAD) - self.first).days
        self.today_index = (today - self.first).days
        self._offsets: dict[tuple[str, int], timedelta] = {}

    def day(self, index: int) -> date:
        return self.first + timedelta(days=index)

    def instant(self, tz: str, index: int, minutes: int) -> datetime:
        key = (tz, index)
        offset = self._offsets.get(key)
        if offset is None:
            # Clinics open 08:00–18:00; DST switches at 02:00, so noon's offset holds all day.
            offset = ZoneInfo(tz).utcoffset(datetime.combine(self.day(index), time(12)))
            self._offsets[key] = offset
        base = datetime.combine(self.day(index), time(), tzinfo=UTC)
        return base + timedelta(minutes=minutes) - offset


class BulkWriter:
    """Streams rows into tables: COPY on PostgreSQL, executemany insert() on SQLite."""

    def __init__(self, engine: sa.Engine):
        self.engine = engine
        self.pg = engine.dialect.name == "postgresql"
        self.buffers: dict[sa.Table, list[dict]] = {}
        self.conn = engine.connect()
        self.conn.begin()

    def add(self, table: sa.Table, row: dict) -> None:
        self.buffers.setdefault(table, []).append(row)

    def flush(self, order: list[sa.Table]) -> None:
        for table in order:
            rows = self.buffers.get(table)
            if rows:
                self._write(table, rows)
                self.buffers[table] = []

    def _write(self, table: sa.Table, rows: list[dict]) -> None:
        if not self.pg:
            self.conn.execute(table.insert(), rows)
            return
        cols = list(rows[0].keys())
        json_cols = {c.name for c in table.columns if isinstance(c.type, sa.JSON)}
        raw = self.conn.connection.driver_connection
        with raw.cursor() as cur, cur.copy(f"COPY {table.name} ({', '.join(cols)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(
                    tuple(json.dumps(row[c]) if c in json_cols and row[c] is not None else row[c] for c in cols)
                )

    def commit(self) -> None:
        self.conn.commit()
        self.conn.close()


class Generator:
    def __init__(self, writer: BulkWriter, sessions: int, seed: int, today: date):
        self.w = writer
        self.target = sessions
        self.shape = network_shape(sessions)
        self.rng = random.Random(seed)
        self.cal = Calendar(today)
        self.now = datetime.now(UTC)
        self.patient_days: dict[int, set[int]] = {}
        self.counts = {"sessions": 0, "courses": 0, "assessments": 0, "cancelled": 0, "no_show": 0}
        self.next_id = {"session": 1, "course": 1, "assessment": 1}
        self.clinics: list[ClinicState] = []
        self.progress = None

    # ---- the directory: clinics, hours, closures, rooms, staff, patients -------------------------
    def directory(self) -> None:
        n, rng, cal = self.shape["clinics"], self.rng, self.cal
        per_clinic = self.shape["patients"] // n
        conn, now = self.w.conn, self.now
        room_id = staff_id = 1
        for c in range(1, n + 1):
            tz = ZONES[(c - 1) % len(ZONES)]
            conn.execute(
                sa.insert(Clinic.__table__), [{"id": c, "name": f"Clinic {c:02d}", "timezone": tz, "created_at": now}]
            )
            conn.execute(
                sa.insert(OpeningHours.__table__),
                [{"clinic_id": c, "weekday": d, "start_time": time(8), "end_time": time(18)} for d in range(5)],
            )
            closed, closures = set(), []
            for year in range(cal.first.year, cal.day(cal.ndays - 1).year + 1):
                for day, reason in (
                    (date(year, 1, 1), "New Year's Day"),
                    (date(year, 7, 4), "Independence Day"),
                    (date(year, 12, 25), "Christmas Day"),
                ):
                    closures.append(
                        {"clinic_id": c, "starts_on": day, "ends_on": day, "reason": reason, "created_at": now}
                    )
                    closed.add((day - cal.first).days)
            conn.execute(sa.insert(Closure.__table__), closures)
            staff = {}
            for key, role, capacity in STAFF_PLAN:
                staff[key] = staff_id
                conn.execute(
                    sa.insert(StaffMember.__table__),
                    [
                        {
                            "id": staff_id,
                            "clinic_id": c,
                            "name": f"{rng.choice(FIRST)} {rng.choice(LAST)} ({key})",
                            "role": role,
                            "capacity": capacity,
                            "active": True,
                            "created_at": now,
                        }
                    ],
                )
                staff_id += 1
            rooms = {}
            for name, caps, grid, staff_key in ROOM_PLAN:
                conn.execute(
                    sa.insert(Room.__table__),
                    [
                        {
                            "id": room_id,
                            "clinic_id": c,
                            "name": name,
                            "capabilities": caps,
                            "active": True,
                            "created_at": now,
                        }
                    ],
                )
                rooms[name] = RoomState(room_id, c, name, grid, staff[staff_key], bytearray(cal.ndays * len(grid)))
                room_id += 1
            first_patient = (c - 1) * per_clinic + 1
            self.clinics.append(
                ClinicState(c, tz, rooms, staff, closed, range(first_patient, first_patient + per_clinic))
            )
        total_patients = per_clinic * n
        table = Patient.__table__
        for pid in range(1, total_patients + 1):
            self.w.add(
                table,
                {
                    "id": pid,
                    "mrn": f"MRN{pid:08d}",
                    "name": f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                    "birth_date": date(1950, 1, 1) + timedelta(days=rng.randrange(365 * 55)),
                    "phone": f"+1555{pid:07d}",
                    "email": None,
                    "ride_home_arranged": rng.random() < 0.85,
                    "dosing_hold_reason": "Psychosis at evaluation" if rng.random() < 0.005 else None,
                    "dosing_hold_since": None,
                    "dosing_hold_by_id": None,
                    "created_at": now,
                },
            )
            if pid % CHUNK == 0:
                self.w.flush([table])
        self.w.flush([table])
        self.shape["patients"] = total_patients

    # ---- placement on the grid --------------------------------------------------------------------
    def place(
        self, clinic: ClinicState, patient: int, need: str, earliest: int, latest: int | None = None, duration: int = 60
    ) -> tuple[int, RoomState, int] | None:
        """First open day >= earliest (<= latest if given) with a free cell in a suitable room."""
        busy_days = self.patient_days.setdefault(patient, set())
        rooms = [clinic.rooms[n] for n in NEED_ROOMS[need]]
        limit = self.cal.ndays - 1 if latest is None else min(latest, self.cal.ndays - 1)
        d = max(earliest, 0)
        while d <= limit:
            if d % 7 < 5 and d not in clinic.closed_days and d not in busy_days:
                start = self.rng.randrange(len(rooms))
                for i in range(len(rooms)):
                    room = rooms[(start + i) % len(rooms)]
                    cells = len(room.grid)
                    base = d * cells
                    c0 = self.rng.randrange(cells)
                    for j in range(cells):
                        cell = (c0 + j) % cells
                        if not room.busy[base + cell]:
                            room.busy[base + cell] = 1
                            busy_days.add(d)
                            return d, room, cell
            d += 1
        return None

    def session(
        self,
        clinic: ClinicState,
        patient: int,
        course: int,
        need: str,
        kind: str,
        duration: int,
        earliest: int,
        latest: int | None = None,
        phase: str | None = None,
        sequence: int | None = None,
        route: str | None = None,
        dose: Decimal | None = None,
        staff_key: str | None = None,
        rebook: bool = False,
    ) -> int | None:
        """Place and write one session; a missed past dose is rebooked. Returns its day (or None)."""
        while True:
            if self.counts["sessions"] >= self.target:
                return None
            spot = self.place(clinic, patient, need, earliest, latest, duration)
            if spot is None:
                return None
            d, room, cell = spot
            starts_at = self.cal.instant(clinic.tz, d, room.grid[cell])
            ends_at = starts_at + timedelta(minutes=duration)
            past = d < self.cal.today_index
            roll = self.rng.random()
            if past:
                status = "completed" if roll < 0.91 else ("cancelled" if roll < 0.96 else "no_show")
            else:
                status = "booked" if roll < 0.97 else "cancelled"
            created = starts_at - timedelta(days=self.rng.randint(3, 30))
            sid = self.next_id["session"]
            self.next_id["session"] += 1
            self.w.add(
                TreatmentSession.__table__,
                {
                    "id": sid,
                    "clinic_id": clinic.id,
                    "patient_id": patient,
                    "course_id": course,
                    "room_id": room.id,
                    "staff_member_id": clinic.staff[staff_key] if staff_key else room.staff_id,
                    "kind": kind,
                    "phase": phase,
                    "sequence": sequence,
                    "route": route,
                    "dose_mg": dose,
                    "starts_at": starts_at,
                    "ends_at": ends_at,
                    "status": status,
                    "cancel_reason": "Patient request" if status == "cancelled" else None,
                    "cancelled_at": starts_at - timedelta(days=1) if status == "cancelled" else None,
                    "cancelled_by_id": None,
                    "override_reason": None,
                    "notes": None,
                    "version": 1,
                    "created_at": created,
                    "updated_at": created,
                },
            )
            self.counts["sessions"] += 1
            if status in ("cancelled", "no_show"):
                self.counts[status] += 1
            self.progress.update(1)
            if status == "completed" or status == "booked" or not (rebook and kind == "dose"):
                return d
            earliest = d + 1  # the missed dose is rebooked on the next possible day

    def assessment(self, patient: int, course: int, day: int | None, instrument: str, low: int, high: int) -> None:
        if day is None or day >= self.cal.today_index:
            return
        self.w.add(
            Assessment.__table__,
            {
                "id": self.next_id["assessment"],
                "patient_id": patient,
                "course_id": course,
                "instrument": instrument,
                "score": self.rng.randint(low, high),
                "taken_on": self.cal.day(day),
                "recorded_by_id": None,
                "created_at": self.now,
            },
        )
        self.next_id["assessment"] += 1
        self.counts["assessments"] += 1

    # ---- courses ------------------------------------------------------------------------------------
    def course(self, clinic: ClinicState) -> None:
        rng, cal = self.rng, self.cal
        protocol = rng.choices([p for p, _ in PROTOCOL_MIX], [w for _, w in PROTOCOL_MIX])[0]
        patient = rng.choice(clinic.patients)
        start = rng.randrange(0, cal.ndays - 20)
        cid = self.next_id["course"]
        self.next_id["course"] += 1
        self.counts["courses"] += 1
        instrument = rng.choice(("PHQ-9", "MADRS", "Y-BOCS"))
        high = {"PHQ-9": 27, "MADRS": 60, "Y-BOCS": 40}[instrument]
        stop_after = rng.randint(1, 5) if rng.random() < 0.05 else None
        last = self._plan(protocol, clinic, patient, cid, start, instrument, high, stop_after)
        if last is None or last >= cal.today_index:
            status = "maintenance" if protocol != "tms-daily" and last is not None and last - start > 60 else "active"
            if start > cal.today_index:
                status = "planned"
        else:
            status = "completed"
        if stop_after is not None:
            status = "stopped"
        self.w.add(
            Course.__table__,
            {
                "id": cid,
                "patient_id": patient,
                "clinic_id": clinic.id,
                "protocol_key": protocol,
                "start_on": cal.day(start),
                "preferences": {"weekdays": ["mon", "wed", "fri"], "earliest": "08:00", "latest": "18:00"},
                "status": status,
                "stopped_reason": "Patient chose to stop" if stop_after is not None else None,
                "created_at": self.now,
            },
        )

    def _plan(
        self,
        protocol: str,
        clinic: ClinicState,
        patient: int,
        cid: int,
        start: int,
        instrument: str,
        high: int,
        stop_after: int | None,
    ) -> int | None:
        s, rng = self.session, self.rng
        args = (clinic, patient, cid)
        tms = protocol == "tms-daily"
        ev = s(*args, "tms" if tms else "consult", "evaluation", 60, start, staff_key="P3" if tms else None)
        if ev is None:
            return None
        self.assessment(patient, cid, ev, instrument, high // 2, high)
        day = ev
        if protocol == "ketamine-lozenge-kap":
            for _ in range(rng.randint(1, 3)):
                day = s(*args, "therapy", "preparation", 60, day + 1, day + 14) or day
        route, need, duration, dose = {
            "ketamine-iv": ("iv", "iv", 120, Decimal("35.00")),
            "ketamine-im": ("im", "im", 90, Decimal("50.00")),
            "esketamine-trd": ("nasal", "nasal", 135, Decimal("56.00")),
            "tms-daily": ("tms", "tms", 40, None),
            "ketamine-lozenge-kap": ("lozenge", "lozenge", 180, Decimal("300.00")),
        }[protocol]
        if protocol == "tms-daily":
            gaps = [1] * 30
        elif protocol == "esketamine-trd":
            gaps = [3, 4] * 4 + [7] * 4
        else:
            gaps = [rng.randint(2, 3) for _ in range(6)]
        gaps[0] = rng.randint(3, 14)
        integration_after = {
            "ketamine-iv": {1, 2, 3, 4, 5, 6},
            "ketamine-im": {1, 2, 3, 4, 5, 6},
            "ketamine-lozenge-kap": {1, 2, 4, 6},
        }.get(protocol, set())
        for seq, gap in enumerate(gaps, start=1):
            if protocol == "esketamine-trd" and seq == 9:
                dose = Decimal("84.00")
            got = s(
                *args,
                need,
                "dose",
                duration,
                day + gap,
                phase="induction",
                sequence=seq,
                route=route,
                dose=dose,
                rebook=True,
            )
            if got is None:
                return None
            day = got
            if seq in integration_after:
                s(*args, "therapy", "integration", 60, day + 1, day + 3)
            if stop_after is not None and seq >= stop_after:
                return day
        follow = s(*args, "consult", "follow_up", 30, day + rng.randint(7, 10), day + 14)
        self.assessment(patient, cid, follow, instrument, 0, high // 2)
        day = follow or day
        if protocol == "tms-daily":
            return day
        if protocol == "esketamine-trd":
            count, step = rng.randint(4, 20), (7, 14)
        else:
            count, step = (3, None) if protocol != "ketamine-lozenge-kap" else (2, None)
        for seq in range(1, count + 1):
            if step:
                earliest = day + rng.randint(*step)
            else:
                earliest = (self.cal.day(day) + relativedelta(months=rng.randint(2, 4)) - self.cal.first).days
            got = s(
                *args,
                need,
                "dose",
                duration,
                earliest,
                phase="maintenance",
                sequence=seq,
                route=route,
                dose=dose,
                rebook=True,
            )
            if got is None:
                return None
            day = got
            if integration_after:
                s(*args, "therapy", "integration", 60, day + 1, day + 3)
        return day

    def run(self) -> dict:
        self.directory()
        order = [Course.__table__, TreatmentSession.__table__, Assessment.__table__]
        self.progress = tqdm(
            total=self.target, unit="session", desc="sessions", mininterval=1.0, file=sys.stderr, disable=None
        )
        i = 0
        stalled = 0
        while self.counts["sessions"] < self.target:
            before = self.counts["sessions"]
            self.course(self.clinics[i % len(self.clinics)])
            i += 1
            stalled = stalled + 1 if self.counts["sessions"] == before else 0
            if stalled > 10_000:
                raise RuntimeError("the network is full: no free cell left for new courses")
            if sum(len(b) for b in self.w.buffers.values()) >= CHUNK:
                self.w.flush(order)
        self.w.flush(order)
        self.progress.close()
        return {
            **self.shape,
            **self.counts,
            "days": self.cal.ndays,
            "today": self.cal.today.isoformat(),
            "first_day": self.cal.first.isoformat(),
        }


def existing_marker(engine: sa.Engine) -> dict | None:
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(AuditEvent.after)
            .where(AuditEvent.action == MARKER_ACTION)
            .order_by(AuditEvent.id.desc())
            .limit(1)
        ).first()
    return row[0] if row else None


def wipe(engine: sa.Engine) -> None:
    from scheduler.models import Base

    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
        else:
            for t in tables:
                conn.exec_driver_sql(f"DELETE FROM {t}")


def generate(url: str, sessions: int, seed: int = 6, today: date | None = None) -> dict:
    """Migrate, wipe and fill the database at ``url``; returns the marker (what was written)."""
    upgrade(url)
    from scheduler.db import make_engine

    engine = make_engine(url)
    wipe(engine)
    began = timer.perf_counter()
    writer = BulkWriter(engine)
    summary = Generator(writer, sessions, seed, today or date.today()).run()
    writer.commit()
    pg = engine.dialect.name == "postgresql"
    with engine.begin() as conn:
        if pg:
            for table in (
                "clinic",
                "room",
                "staff_member",
                "patient",
                "course",
                "treatment_session",
                "assessment",
                "opening_hours",
                "closure",
            ):
                conn.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"
                )
        summary["load_seconds"] = round(timer.perf_counter() - began, 1)
        summary["seed"] = seed
        conn.execute(
            sa.insert(AuditEvent.__table__),
            [
                {
                    "at": datetime.now(UTC),
                    "action": MARKER_ACTION,
                    "entity_type": "bench",
                    "entity_id": None,
                    "before": None,
                    "after": summary,
                }
            ],
        )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE" if pg else "ANALYZE")
    engine.dispose()
    summary["total_seconds"] = round(timer.perf_counter() - began, 1)
    return summary


def ensure(url: str, sessions: int, seed: int = 6) -> dict:
    """Reuse the database when it already holds this size from today's generation, else generate."""
    upgrade(url)
    from scheduler.db import make_engine

    engine = make_engine(url)
    marker = existing_marker(engine)
    engine.dispose()
    if (
        marker
        and marker.get("sessions") == sessions
        and marker.get("seed") == seed
        and marker.get("today") == date.today().isoformat()
    ):
        return {**marker, "reused": True}
    return generate(url, sessions, seed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="SQLAlchemy URL of the database (migrated first, then wiped)")
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--reuse", action="store_true", help="keep the data when it already has this size")
    args = parser.parse_args(argv)
    summary = (ensure if args.reuse else generate)(args.url, args.sessions, args.seed)
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
