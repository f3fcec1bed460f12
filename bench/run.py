"""Measure the product at clinic-network scale against raw-SQL floors, in one run.

    python -m bench.run --db postgres --sessions 1000000
    python -m bench.run --db sqlite postgres --sessions 10000 1000000
    python -m bench.run --quick            # tiny sizes, both databases, plus the load test's quick mode

For each (database, size): the data is generated (``bench.generate``, in a subprocess; reused when the
database already holds that size from today's run), then this process serves the app through the Flask
test client and times, after a warm-up, p50/p95 of:

* ``booking``: ``POST /api/v1/sessions`` — a 60-min evaluation in a free consult-room cell with that
  room's prescriber, for one of 200 bench patients (the whole path: token lookup, parsing, conflict
  check, flags, insert, audit event, commit). Only 201s are timed; 409s are counted.
* ``planning``: ``POST /api/v1/patients/{id}/courses`` ``ketamine-iv`` with ``dry_run: true``.
* ``timeline``: ``GET /api/v1/patients/{id}/timeline`` of a patient with history.
* ``day_board``: ``GET /api/v1/clinics/{id}/day?date=`` of a weekday.
* ``flags_month``: ``GET /api/v1/flags?clinic_id=&start=&end=`` for one calendar month.

Then ``bench.planner``: the share of solvable random clinics the planner solves (target 100 %; a
clinic left unsolved is a failure), 25 clinics in quick mode, 200 otherwise.

Floors, same run, same database, raw DBAPI (psycopg / sqlite3), no ORM, no Flask:

* ``raw_booking``: one conflict-checked ``INSERT … SELECT … WHERE NOT EXISTS (room) AND NOT EXISTS
  (patient)`` with the bounded half-open overlap predicate, then COMMIT (the API commits too).
* ``raw_overlap_3w``: the clinic's live sessions overlapping a three-week window (bounded predicate).

Booking's floor is ``raw_booking``; every read's floor is ``raw_overlap_3w``. Results: a table on
stdout and ``bench/results/<db>-<size>.json``. Exit status is non-zero when anything fails (a 5xx, a
wrong status, a missing result), never for a missed target.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time as timer
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from bench import planner as planner_bench

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
PG_ADMIN_URL = os.environ.get("SCHEDULER_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
# The bench databases are <this>_<size>; another name keeps a copy of one's own on a shared server.
PG_BENCH_DB = os.environ.get("SCHEDULER_BENCH_PG_DB", "scheduler_bench")
LIVE_SQL = "status NOT IN ('cancelled', 'no_show')"
MAX_HOURS = 12  # scheduler.domain.vocabulary.MAX_SESSION_DURATION

TARGETS = {  # issue 6 item 4, issue 15
    "booking_vs_floor_pg": 5.0,
    "booking_1m_vs_10k": 1.3,
    "planning_ms": 15.0,
    "timeline_ms": 15.0,
    "day_board_ms": 30.0,
    "flags_month_ms": 500.0,
    "flags_month_1m_ms": 200.0,
    "rss_mb": 150.0,
    "booking_cpu_ms": 3.0,
    "history_ratio": 1.2,
    "rooms_ratio": 25.0,
}
ENDPOINTS = {  # figure -> (method, Flask rule)
    "booking": ("POST", "/api/v1/sessions"),
    "planning": ("POST", "/api/v1/patients/<int:patient_id>/courses"),
    "timeline": ("GET", "/api/v1/patients/<int:patient_id>/timeline"),
    "day_board": ("GET", "/api/v1/clinics/<int:clinic_id>/day"),
    "flags_month": ("GET", "/api/v1/flags"),
}


# ---- small helpers ---------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def summarise(samples_ms: list[float]) -> dict:
    return {
        "n": len(samples_ms),
        "p50_ms": round(percentile(samples_ms, 0.5), 3),
        "p95_ms": round(percentile(samples_ms, 0.95), 3),
        "mean_ms": round(statistics.fmean(samples_ms), 3) if samples_ms else None,
    }


def rss_mb(pid: int | str = "self") -> dict:
    """VmRSS (now) and VmHWM (peak) of a process, from /proc."""
    out = {}
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith(("VmRSS:", "VmHWM:")):
                key, value = line.split(":", 1)
                out[key] = round(int(value.split()[0]) / 1024, 1)
    return {"rss_mb": out.get("VmRSS"), "peak_rss_mb": out.get("VmHWM")}


def machine() -> dict:
    mem = Path("/proc/meminfo").read_text().splitlines()[0].split()[1]
    info = {
        "nproc": os.cpu_count(),
        "mem_total_gb": round(int(mem) / 1024 / 1024, 1),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "loadavg_at_start": os.getloadavg(),
    }
    return info


def pg_url(database: str) -> str:
    return sa.make_url(PG_ADMIN_URL).set(database=database).render_as_string(hide_password=False)


def ensure_pg_database(name: str) -> str:
    engine = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    with engine.connect() as conn:
        if not conn.exec_driver_sql("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).first():
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine.dispose()
    return pg_url(name)


def drop_pg_database(name: str) -> None:
    engine = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    with engine.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    engine.dispose()


def _shorten(statement: str) -> str:
    """One line, the column list elided: the FROM/WHERE part is what the plan is about."""
    flat = " ".join(statement.split())
    head, sep, tail = flat.partition(" FROM ")
    return (head.split(" ", 1)[0] + " … FROM " + tail if sep else flat)[:1200]


def sqlite_ts(value: datetime) -> str:
    """The text SQLAlchemy stores for a UTC instant on SQLite (string comparison must agree)."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


# ---- the benchmark of one (database, size) --------------------------------------------------------


class Bench:
    def __init__(self, url: str, sessions: int, iterations: int, warmup: int, quick: bool):
        self.url, self.sessions, self.iterations, self.warmup, self.quick = url, sessions, iterations, warmup, quick
        self.pg = url.startswith("postgresql")
        self.rng = random.Random(61)
        self.failures: list[str] = []
        self.results: dict[str, dict] = {}
        self.plans: dict[str, str] = {}
        self.conflicts: dict[str, int] = {}  # 409 codes seen by the booking figure

    # -- setup
    def setup(self) -> None:
        from scheduler import create_app
        from scheduler.auth import issue_token
        from scheduler.db import db_session
        from scheduler.models import Clinic, Patient, Room, StaffMember, User

        self.app = create_app({"ENV": "development", "DATABASE_URL": self.url, "SECRET_KEY": "bench", "TESTING": False})
        self.ctx = self.app.app_context()
        self.ctx.push()
        self.db = db_session
        routes = {(rule.rule, method) for rule in self.app.url_map.iter_rules() for method in rule.methods}
        self.available = {name: (rule, method) in routes for name, (method, rule) in ENDPOINTS.items()}
        stamp = f"{os.getpid()}-{int(timer.time())}"
        user = User(email=f"bench-{stamp}@bench.test", role="front_desk")
        db_session.add(user)
        db_session.flush()
        self.token = issue_token(user, label="bench")
        # Bench patients for booking: no history, so a refused booking can only be a real clash; an
        # email address, as a clinic's patients have, so each booking writes its reminders.
        self.bench_patients = []
        for i in range(200):
            p = Patient(
                mrn=f"BENCH-{stamp}-{i}",
                name=f"Bench Patient {i}",
                birth_date=date(1985, 1, 1),
                email=f"bench-{stamp}-{i}@example.org",
                ride_home_arranged=True,
            )
            db_session.add(p)
            self.bench_patients.append(p)
        db_session.flush()
        self.bench_patients = [p.id for p in self.bench_patients]
        db_session.commit()
        # The generated clinics only: another run's bench world (bench/world.py, "Bench board …") may be
        # in the same database while this one sets up.
        self.clinics = [
            (c.id, c.timezone)
            for c in db_session.scalars(
                sa.select(Clinic).where(Clinic.name.not_like("Bench board %")).order_by(Clinic.id)
            )
        ]
        self.consult_rooms = {}
        staff_by_key = {}
        for s in db_session.scalars(sa.select(StaffMember)):
            staff_by_key[(s.clinic_id, s.name.rsplit("(", 1)[-1].rstrip(")"))] = s.id
        for r in db_session.scalars(sa.select(Room).where(Room.name.in_(["Consult-1", "Consult-2"]))):
            key = "P1" if r.name == "Consult-1" else "P2"
            self.consult_rooms.setdefault(r.clinic_id, []).append((r.id, staff_by_key.get((r.clinic_id, key))))
        # Patients with history (for timeline and planning), spread over the clinics.
        self.history_patients = list(
            db_session.scalars(sa.text("SELECT patient_id FROM course WHERE id % 7 = 0 ORDER BY id LIMIT 400"))
        )
        db_session.remove()
        self.client = self.app.test_client()
        self.headers = {"Authorization": f"Bearer {self.token}"}
        self.today = date.today()
        self.booking_slots = self._free_consult_slots()
        # One a day (a patient has at most one evaluation a day), for the patient with 1,000 past
        # sessions and for one with none booked the same way: distinct cells of one draw.
        self.history_slots, self.fresh_slots = [], []
        for slot in self._free_consult_slots(wanted=4 * (self.iterations + self.warmup)):
            for mine in (self.history_slots, self.fresh_slots):
                if slot[4].date() not in {s[4].date() for s in mine}:
                    mine.append(slot)
                    break
        from bench import world as bench_world

        self.world = bench_world.build(self.db, stamp, self.today)
        self.db.remove()
        self.floors()

    def _weekdays_ahead(self, first: int, last: int) -> list[date]:
        days = [self.today + timedelta(days=i) for i in range(first, last)]
        return [d for d in days if d.weekday() < 5 and (d.month, d.day) not in ((1, 1), (7, 4), (12, 25))]

    def _free_consult_slots(self, wanted: int | None = None) -> list[tuple]:
        """Consult-room hourly cells in the next 150 days that hold no live session (checked in SQL)."""
        wanted = wanted or self.iterations + self.warmup + 50
        days = self._weekdays_ahead(1, 150)
        slots, seen = [], set()
        engine = self.app.extensions["scheduler.engine"]
        with engine.connect() as conn:
            taken = set()
            for room_id, starts_at in conn.execute(
                sa.text(
                    f"SELECT room_id, starts_at FROM treatment_session WHERE starts_at >= :a AND {LIVE_SQL} "
                    "AND kind IN ('evaluation', 'follow_up')"
                ),
                {"a": sqlite_ts(datetime.now(UTC)) if not self.pg else datetime.now(UTC)},
            ):
                if isinstance(starts_at, str):
                    starts_at = datetime.fromisoformat(starts_at).replace(tzinfo=UTC)
                taken.add((room_id, starts_at.astimezone(UTC).replace(second=0, microsecond=0)))
        for _ in range(wanted * 20):
            if len(slots) >= wanted:
                break
            clinic_id, tz = self.rng.choice(self.clinics)
            room_id, staff_id = self.rng.choice(self.consult_rooms[clinic_id])
            day = self.rng.choice(days)
            hour = self.rng.randrange(8, 17)
            start = datetime.combine(day, time(hour), tzinfo=ZoneInfo(tz)).astimezone(UTC)
            # Follow-ups last 30 min, evaluations 60: a half-hour cell after a follow-up is free, but
            # we keep to whole free hours.
            if (room_id, start) in taken or (room_id, start) in seen:
                continue
            seen.add((room_id, start))
            slots.append((clinic_id, tz, room_id, staff_id, start))
        return slots

    # -- measurement
    def measure(self, name: str, call, n: int, warmup: int, expect=(200,), tolerate=()) -> None:
        self.measure_together([(name, call, expect, tolerate)], n, warmup)

    def measure_together(self, figures: list[tuple], n: int, warmup: int) -> None:
        """Time several figures interleaved (call i of each, in turn): a product figure and its floor,
        or the same request on small and large data, see the same machine load. ``figures``:
        ``(name, call, expected statuses, tolerated statuses)``."""
        live = []
        for name, call, expect, tolerate in figures:
            if (name in ENDPOINTS and not self.available[name]) or (
                name.split("_history")[0] in ENDPOINTS and not self.available[name.split("_history")[0]]
            ):
                self.results[name] = {"missing": True, "why": "the endpoint is not registered in this build"}
                print(f"  {name:<22} MISSING (endpoint not in the app)", flush=True)
                continue
            live.append((name, call, expect, tolerate, [], [], {}))
        deadline = timer.perf_counter() + (20 if self.quick else 300)
        for i in range(warmup + n):
            for name, call, expect, tolerate, samples, cpu_samples, counts in live:
                began, cpu = timer.perf_counter(), timer.thread_time()
                status = call(i)
                elapsed = (timer.perf_counter() - began) * 1000
                cpu_ms = (timer.thread_time() - cpu) * 1000
                counts[status] = counts.get(status, 0) + 1
                if status in expect:
                    if i >= warmup:
                        samples.append(elapsed)
                        cpu_samples.append(cpu_ms)
                elif status not in tolerate:
                    self.failures.append(f"{name}: status {status} (iteration {i})")
            if len(self.failures) > 20:
                break
            if timer.perf_counter() > deadline and all(len(f[4]) >= 20 for f in live):
                break
        for name, _call, _e, _t, samples, cpu_samples, counts in live:
            result = summarise(samples)
            # CPU time of this (client + app) thread: less disturbed by other load on a shared machine.
            result["cpu_p50_ms"] = round(percentile(cpu_samples, 0.5), 3)
            result["statuses"] = {str(k): v for k, v in sorted(counts.items(), key=lambda kv: str(kv[0]))}
            self.results[name] = result
            print(
                f"  {name:<22} p50 {result['p50_ms']:9.3f} ms  p95 {result['p95_ms']:9.3f} ms  n={result['n']} "
                f"cpu p50 {result['cpu_p50_ms']:.2f} ms {result['statuses']}",
                flush=True,
            )

    def _last_body(self):
        return getattr(self, "_body", None)

    def booking(self, i: int) -> int:
        _clinic_id, tz, room_id, staff_id, start = self.booking_slots[i % len(self.booking_slots)]
        patient = self.bench_patients[i % len(self.bench_patients)]
        body = {
            "patient_id": patient,
            "room_id": room_id,
            "kind": "evaluation",
            "starts_at": start.astimezone(ZoneInfo(tz)).isoformat(),
            "duration_minutes": 60,
        }
        if staff_id:
            body["staff_member_id"] = staff_id
        resp = self.client.post("/api/v1/sessions", json=body, headers=self.headers)
        if resp.status_code == 409:
            code = (resp.get_json() or {}).get("error", {}).get("code", "?")
            self.conflicts[code] = self.conflicts.get(code, 0) + 1
        elif resp.status_code >= 400:
            self._body = resp.get_json()
        return resp.status_code

    def planning(self, i: int) -> int:
        patient = self.bench_patients[(i * 7 + 3) % len(self.bench_patients)]
        clinic_id, _tz = self.clinics[i % len(self.clinics)]
        start_on = self.today + timedelta(days=7 + i % 60)
        resp = self.client.post(
            f"/api/v1/patients/{patient}/courses",
            headers=self.headers,
            json={
                "protocol": "ketamine-iv",
                "clinic_id": clinic_id,
                "start_on": start_on.isoformat(),
                "preferences": {"weekdays": ["mon", "wed", "fri"], "earliest": "08:00", "latest": "18:00"},
                "dry_run": True,
            },
        )
        if resp.status_code != 200:
            self._body = resp.get_json()
        return resp.status_code

    def timeline(self, i: int) -> int:
        patient = self.history_patients[i % len(self.history_patients)]
        resp = self.client.get(f"/api/v1/patients/{patient}/timeline", headers=self.headers)
        return resp.status_code

    def day_board(self, i: int) -> int:
        clinic_id, _tz = self.clinics[i % len(self.clinics)]
        day = self._weekdays_ahead(-60, 30)[i % 60]
        resp = self.client.get(f"/api/v1/clinics/{clinic_id}/day?date={day.isoformat()}", headers=self.headers)
        return resp.status_code

    def flags_month(self, i: int) -> int:
        clinic_id, _tz = self.clinics[i % len(self.clinics)]
        first = (self.today.replace(day=1) - timedelta(days=31 * (i % 3))).replace(day=1)
        last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        resp = self.client.get(f"/api/v1/flags?clinic_id={clinic_id}&start={first}&end={last}", headers=self.headers)
        return resp.status_code

    def booking_history(self, i: int) -> int:
        """The booking figure for the patient with 1,000 past sessions (``bench.world``), own free cells."""
        return self._book_one_patient(self.world.history_patient, self.history_slots, i)

    def booking_fresh(self, i: int) -> int:
        """``booking_history`` for a patient with no past sessions (``bench.world``), booked the same
        way (one evaluation a day, its own cells): what booking_history is compared with. Both
        patients gather the figure's own bookings (up to one per call), which the write gate reads
        (every evaluation of a patient counts for any course); ``booking``'s 200 patients gather
        ~1/200 of them."""
        return self._book_one_patient(self.world.fresh_patient, self.fresh_slots, i)

    def _book_one_patient(self, patient_id: int, slots: list, i: int) -> int:
        _clinic_id, tz, room_id, staff_id, start = slots[i % len(slots)]
        body = {
            "patient_id": patient_id,
            "room_id": room_id,
            "kind": "evaluation",
            "starts_at": start.astimezone(ZoneInfo(tz)).isoformat(),
            "duration_minutes": 60,
        }
        if staff_id:
            body["staff_member_id"] = staff_id
        resp = self.client.post("/api/v1/sessions", json=body, headers=self.headers)
        if resp.status_code >= 400:
            self._body = resp.get_json()
        return resp.status_code

    def _board(self, clinic_id: int, day: date) -> int:
        return self.client.get(
            f"/api/v1/clinics/{clinic_id}/day?date={day.isoformat()}", headers=self.headers
        ).status_code

    def day_board_10(self, i: int) -> int:
        return self._board(self.world.clinic_10, self.world.day_b)

    def day_board_10_history(self, i: int) -> int:
        return self._board(self.world.clinic_10, self.world.day_a)

    def day_board_200(self, i: int) -> int:
        return self._board(self.world.clinic_200, self.world.day_b)

    def timeline_history(self, i: int) -> int:
        """The timeline of the patient with 1,000 past sessions (its default page)."""
        return self.client.get(
            f"/api/v1/patients/{self.world.history_patient}/timeline", headers=self.headers
        ).status_code

    # -- floors (raw DBAPI)
    def raw_connection(self):
        if self.pg:
            import psycopg

            url = sa.make_url(self.url)
            return psycopg.connect(
                host=url.host, port=url.port, user=url.username, password=url.password, dbname=url.database
            )
        conn = sqlite3.connect(sa.make_url(self.url).database, isolation_level=None, timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        return conn

    def floors(self) -> None:
        """The raw-SQL floors as calls (``self.raw_booking``, ``self.raw_overlap``), measured interleaved
        with the figures they are the floor of."""
        conn = self._raw_conn = self.raw_connection()
        ph = "%s" if self.pg else "?"
        cast = "::int" if self.pg else ""
        ts = (lambda v: v) if self.pg else sqlite_ts
        now_sql = "now()" if self.pg else "strftime('%Y-%m-%d %H:%M:%f', 'now')"
        exists = (
            f"SELECT 1 FROM treatment_session WHERE {{col}} = {ph}{cast} AND starts_at < {ph} "
            f"AND ends_at > {ph} AND starts_at >= {ph} AND {LIVE_SQL}"
        )
        insert_sql = (
            "INSERT INTO treatment_session (clinic_id, patient_id, room_id, staff_member_id, kind, starts_at, "
            f"ends_at, status, version, created_at, updated_at) SELECT {ph}{cast}, {ph}{cast}, {ph}{cast}, "
            f"{ph}{cast}, 'evaluation', {ph}, {ph}, 'booked', 1, {now_sql}, {now_sql} "
            f"WHERE NOT EXISTS ({exists.format(col='room_id')}) AND NOT EXISTS ({exists.format(col='patient_id')})"
        )
        # Slots the API did not use: the same kind of free consult cell, later in the list.
        slots = self._free_consult_slots()
        raw_patients = self.bench_patients[::-1]
        inserted = [0]

        def raw_booking(i: int) -> int:
            clinic_id, _tz, room_id, staff_id, start = slots[i % len(slots)]
            end = start + timedelta(hours=1)
            low = start - timedelta(hours=MAX_HOURS)
            patient = raw_patients[i % len(raw_patients)]
            params = (
                clinic_id,
                patient,
                room_id,
                staff_id,
                ts(start),
                ts(end),
                room_id,
                ts(end),
                ts(start),
                ts(low),
                patient,
                ts(end),
                ts(start),
                ts(low),
            )
            cur = conn.cursor()
            if not self.pg:
                cur.execute("BEGIN IMMEDIATE")
            cur.execute(insert_sql, params)
            rows = cur.rowcount
            conn.commit() if self.pg else cur.execute("COMMIT")
            inserted[0] += rows
            return 201 if rows == 1 else 409

        self.raw_booking = raw_booking

        overlap_sql = (
            f"SELECT id, room_id, patient_id, staff_member_id, starts_at, ends_at, status, kind "
            f"FROM treatment_session WHERE clinic_id = {ph}{cast} AND starts_at < {ph} AND ends_at > {ph} "
            f"AND starts_at >= {ph} AND {LIVE_SQL} ORDER BY starts_at"
        )

        def raw_overlap(i: int) -> int:
            clinic_id, tz = self.clinics[i % len(self.clinics)]
            first = self.today - timedelta(days=30) + timedelta(days=i % 60)
            start = datetime.combine(first, time(), tzinfo=ZoneInfo(tz)).astimezone(UTC)
            end = start + timedelta(days=21)
            cur = conn.cursor()
            if not self.pg:
                cur.execute("BEGIN")
            cur.execute(overlap_sql, (clinic_id, ts(end), ts(start), ts(start - timedelta(hours=MAX_HOURS))))
            rows = cur.fetchall()
            conn.commit() if self.pg else cur.execute("COMMIT")
            self._overlap_rows = len(rows)
            return 200

        self.raw_overlap = raw_overlap

    # -- query plans of the real booking and day-board paths
    def capture_plans(self) -> None:
        engine = self.app.extensions["scheduler.engine"]
        captured: list[tuple[str, object]] = []

        def grab(_conn, _cursor, statement, parameters, _context, _many):
            if statement.lstrip().upper().startswith("SELECT") and "treatment_session" in statement:
                captured.append((statement, parameters))

        sa.event.listen(engine, "before_cursor_execute", grab)
        try:
            paths = {
                "booking": lambda: self.booking(len(self.booking_slots) - 1),
                "day_board": lambda: self.day_board(3),
            }
            for name, call in paths.items():
                if not self.available[name]:
                    continue
                captured.clear()
                call()
                self.plans[name] = self._explain(engine, list(captured))
        finally:
            sa.event.remove(engine, "before_cursor_execute", grab)

    def _explain(self, engine, statements) -> str:
        out = []
        raw = engine.raw_connection()
        try:
            cur = raw.cursor()
            for statement, params in statements:
                prefix = "EXPLAIN (ANALYZE, BUFFERS) " if self.pg else "EXPLAIN QUERY PLAN "
                cur.execute(prefix + statement, params)
                rows = cur.fetchall()
                lines = [r[0] for r in rows] if self.pg else [f"{'  ' * 0}{r[-1]}" for r in rows]
                out.append(_shorten(statement) + "\n  -> " + "\n  -> ".join(lines))
            raw.rollback()
        finally:
            raw.close()
        return "\n\n".join(out)

    def profile(self, figures: list[str], calls: int = 10) -> None:
        """cProfile a few calls of each figure (after warm-up) and print where the time goes."""
        import cProfile
        import pstats

        self.setup()
        for name in figures:
            call = getattr(self, name)
            for i in range(3):
                call(i)
            prof = cProfile.Profile()
            prof.enable()
            for i in range(3, 3 + calls):
                call(i)
            prof.disable()
            print(f"\n== profile of {calls} x {name}")
            pstats.Stats(prof).sort_stats("cumulative").print_stats(30)
        self.ctx.pop()

    def cleanup(self) -> None:
        """Remove what this run booked (API and raw floor), so a reused database keeps its free cells."""
        engine = self.app.extensions["scheduler.engine"]
        ids = ", ".join(str(int(i)) for i in self.bench_patients)
        with engine.begin() as conn:
            conn.exec_driver_sql(
                "DELETE FROM audit_event WHERE entity_type = 'treatment_session' AND entity_id IN "
                f"(SELECT id FROM treatment_session WHERE patient_id IN ({ids}))"
            )
            conn.exec_driver_sql(f"DELETE FROM message WHERE patient_id IN ({ids})")
            conn.exec_driver_sql(f"DELETE FROM treatment_session WHERE patient_id IN ({ids})")
            from bench import world as bench_world

            bench_world.remove(conn, self.world)

    def run(self) -> dict:
        self.setup()
        print(f"  endpoints present: {', '.join(k for k, v in self.available.items() if v) or 'none'}", flush=True)
        booked = [
            ("booking", self.booking, (201,), (409,)),
            ("booking_history", self.booking_history, (201,), (409,)),
            ("booking_fresh", self.booking_fresh, (201,), (409,)),
            ("raw_booking", self.raw_booking, (201,), (409,)),
        ]
        self.measure_together(booked, self.iterations, self.warmup)
        self.results["booking"]["conflicts_409"] = dict(self.conflicts)
        if self.results["booking"].get("n") == 0 and not self.results["booking"].get("missing"):
            self.failures.append(f"booking never answered 201: {self._last_body()}")
        reads = max(20, self.iterations // 2)
        ok = ((200,), ())
        self.measure_together(
            [("planning", self.planning, *ok), ("raw_overlap_3w", self.raw_overlap, *ok)], reads, self.warmup
        )
        self.results["raw_overlap_3w"]["rows"] = getattr(self, "_overlap_rows", None)
        self.measure_together(
            [("timeline", self.timeline, *ok), ("timeline_history", self.timeline_history, *ok)], reads, self.warmup
        )
        self.measure_together(
            [
                ("day_board", self.day_board, *ok),
                ("day_board_10", self.day_board_10, *ok),
                ("day_board_10_history", self.day_board_10_history, *ok),
                ("day_board_200", self.day_board_200, *ok),
            ],
            reads,
            self.warmup,
        )
        self.measure("flags_month", self.flags_month, max(10, reads // 3), min(self.warmup, 3))
        self._raw_conn.close()
        self.capture_plans()
        memory = rss_mb()
        self.cleanup()
        for name, r in self.results.items():
            if not r.get("missing") and not r.get("n"):
                self.failures.append(f"{name}: no successful call to time ({r.get('statuses')})")
        self.ctx.pop()
        self.app.extensions["scheduler.engine"].dispose()
        return {"memory": memory}


FLOORS = {
    "booking": "raw_booking",
    "planning": "raw_overlap_3w",
    "timeline": "raw_overlap_3w",
    "day_board": "raw_overlap_3w",
    "flags_month": "raw_overlap_3w",
}
# growth ratios (issue 15), each from figures measured interleaved in this run
GROWTH = {
    "booking_history": "booking_fresh",
    "day_board_10_history": "day_board_10",
    "day_board_200": "day_board_10",
    "timeline_history": "timeline",
}


def ratios(results: dict) -> None:
    for figure, floor in FLOORS.items():
        r, f = results.get(figure, {}), results.get(floor, {})
        if r.get("p50_ms") and f.get("p50_ms"):
            r["floor"] = floor
            r["ratio_p50"] = round(r["p50_ms"] / f["p50_ms"], 2)
            if r.get("cpu_p50_ms") and f.get("cpu_p50_ms"):
                r["ratio_cpu_p50"] = round(r["cpu_p50_ms"] / f["cpu_p50_ms"], 2)
    for figure, base in GROWTH.items():
        r, b = results.get(figure, {}), results.get(base, {})
        if r.get("p50_ms") and b.get("p50_ms"):
            r["against"] = base
            r["ratio_p50"] = round(r["p50_ms"] / b["p50_ms"], 2)
            if r.get("cpu_p50_ms") and b.get("cpu_p50_ms"):
                r["ratio_cpu_p50"] = round(r["cpu_p50_ms"] / b["cpu_p50_ms"], 2)


def targets(db: str, size: int, results: dict, memory: dict) -> dict:
    """Issue 6 item 4 (the size-to-size ratio is judged by ``compare``)."""

    def check(figure, key, limit, value):
        if value is None:
            return {"target": f"{figure} {key} <= {limit}", "value": None, "verdict": "missing"}
        return {
            "target": f"{figure} {key} <= {limit}",
            "value": value,
            "verdict": "met" if value <= limit else f"missed by {value / limit:.2f}x",
        }

    out = {}
    get = lambda figure, key="p50_ms": results.get(figure, {}).get(key)  # noqa: E731
    if db == "postgres":
        out["booking_vs_floor"] = check(
            "booking", "p50/raw_booking p50", TARGETS["booking_vs_floor_pg"], get("booking", "ratio_p50")
        )
    out["booking_cpu"] = check(
        "booking", "cpu p50 ms (client + app)", TARGETS["booking_cpu_ms"], get("booking", "cpu_p50_ms")
    )
    for figure, key in (("planning", "planning_ms"), ("timeline", "timeline_ms"), ("day_board", "day_board_ms")):
        out[figure] = check(figure, "p50 ms", TARGETS[key], get(figure))
    out["flags_month"] = check(
        "flags_month",
        "p50 ms",
        TARGETS["flags_month_1m_ms" if size >= 1_000_000 else "flags_month_ms"],
        get("flags_month"),
    )
    for figure, limit in (
        ("booking_history", "history_ratio"),
        ("day_board_10_history", "history_ratio"),
        ("day_board_200", "rooms_ratio"),
    ):
        out[figure] = check(figure, f"p50 / {GROWTH[figure]} p50", TARGETS[limit], get(figure, "ratio_p50"))
    out["rss"] = check("worker", "RSS MB (this process: app + harness)", TARGETS["rss_mb"], memory.get("rss_mb"))
    return out


def compare_sizes(db: str, reports: dict[int, dict]) -> dict | None:
    """booking p50 at 1M vs at 10k, both measured in this run (never mixed with files on disk)."""
    small, big = reports.get(10_000), reports.get(1_000_000)
    if not (small and big):
        return None
    a = small["results"].get("booking", {}).get("p50_ms")
    b = big["results"].get("booking", {}).get("p50_ms")
    if not a or not b:
        return {"verdict": "missing"}
    ratio = round(b / a, 2)
    return {
        "target": "booking p50 at 1M <= 1.3x at 10k (this run)",
        "value": ratio,
        "verdict": "met" if ratio <= TARGETS["booking_1m_vs_10k"] else f"missed by {ratio / 1.3:.2f}x",
    }


def print_table(db: str, size: int, results: dict, verdicts: dict) -> None:
    print(f"\n{db} at {size:,} sessions")
    print(f"{'figure':<22}{'p50 ms':>10}{'p95 ms':>10}  {'against':<16}{'ratio':>7}{'cpu':>7}")
    for name in (
        "booking",
        "booking_history",
        "booking_fresh",
        "planning",
        "timeline",
        "timeline_history",
        "day_board",
        "day_board_10",
        "day_board_10_history",
        "day_board_200",
        "flags_month",
        "raw_booking",
        "raw_overlap_3w",
    ):
        r = results.get(name, {})
        if r.get("missing"):
            print(f"{name:<22}{'missing':>10}")
            continue
        print(
            f"{name:<22}{r.get('p50_ms', float('nan')):>10.2f}{r.get('p95_ms', float('nan')):>10.2f}  "
            f"{r.get('floor', r.get('against', '')):<16}{r.get('ratio_p50', ''):>7}{r.get('ratio_cpu_p50', ''):>7}"
        )
    for _key, v in verdicts.items():
        print(f"  target {v['target']}: {v['value']} -> {v['verdict']}")


def run_one(
    db: str, size: int, *, iterations: int, warmup: int, quick: bool, sqlite_dir: Path, write: bool = True
) -> tuple[dict, list[str]]:
    if db == "postgres":
        name = f"{PG_BENCH_DB}_quick_{os.getpid()}" if quick else f"{PG_BENCH_DB}_{size}"
        url = ensure_pg_database(name)
    else:
        url = f"sqlite:///{sqlite_dir / f'scheduler_bench_{size}.sqlite3'}"
    print(f"== {db}, {size:,} sessions: generating (or reusing) {url}", flush=True)
    gen = subprocess.run(
        [sys.executable, "-m", "bench.generate", url, "--sessions", str(size), "--reuse"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if gen.returncode != 0:
        return {}, [f"generate {db} {size}: {gen.stderr[-2000:]}"]
    generated = json.loads(gen.stdout)
    print(
        f"   data: {generated.get('clinics')} clinics, {generated.get('patients'):,} patients, "
        f"{generated.get('sessions'):,} sessions ({'reused' if generated.get('reused') else 'loaded in ' + str(generated.get('total_seconds')) + ' s'})",
        flush=True,
    )
    started, host = datetime.now(UTC).isoformat(timespec="seconds"), machine()
    bench = Bench(url, size, iterations, warmup, quick)
    try:
        extra = bench.run()
    finally:
        if db == "postgres" and quick:
            drop_pg_database(name)
    ratios(bench.results)
    verdicts = targets(db, size, bench.results, extra["memory"])
    report = {
        "db": db,
        "sessions": size,
        "when": started,
        "machine": host,
        "data": generated,
        "iterations": iterations,
        "warmup": warmup,
        "results": bench.results,
        "memory": extra["memory"],
        "targets": verdicts,
        "plans": bench.plans,
        "failures": bench.failures,
        "loadavg_at_end": os.getloadavg(),
    }
    print_table(db, size, bench.results, verdicts)
    if write:
        RESULTS.mkdir(exist_ok=True)
        path = RESULTS / f"{db}-{size}.json"
        path.write_text(json.dumps(report, indent=2, default=str) + "\n")
        print(f"  written {path.relative_to(ROOT)}")
    return report, bench.failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Benchmarks at clinic-network scale (issue 6).")
    parser.add_argument("--db", nargs="+", choices=["sqlite", "postgres"], default=["postgres", "sqlite"])
    parser.add_argument("--sessions", nargs="+", type=int, default=[10_000])
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--sqlite-dir", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument(
        "--quick", action="store_true", help="tiny sizes on both databases and the load test's quick mode (CI)"
    )
    parser.add_argument("--profile", nargs="+", choices=list(ENDPOINTS), help="cProfile these figures instead")
    parser.add_argument(
        "--drop", action="store_true", help="drop the PostgreSQL bench databases (scheduler_bench_<size>) and exit"
    )
    parser.add_argument("--no-loadtest", action="store_true", help="with --quick: skip the load test")
    args = parser.parse_args(argv)
    failures: list[str] = []
    began = timer.perf_counter()
    if args.drop:
        for size in args.sessions:
            drop_pg_database(f"{PG_BENCH_DB}_{size}")
        return 0
    if args.profile:
        db, size = args.db[0], args.sessions[0]
        url = (
            ensure_pg_database(f"{PG_BENCH_DB}_{size}")
            if db == "postgres"
            else f"sqlite:///{args.sqlite_dir / f'scheduler_bench_{size}.sqlite3'}"
        )
        subprocess.run(
            [sys.executable, "-m", "bench.generate", url, "--sessions", str(size), "--reuse"],
            cwd=ROOT,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        Bench(url, size, 20, 3, False).profile(args.profile)
        return 0
    if args.quick:
        with tempfile.TemporaryDirectory(prefix="scheduler-bench-") as tmp:
            for db in ("sqlite", "postgres"):
                _, f = run_one(db, 2000, iterations=30, warmup=3, quick=True, sqlite_dir=Path(tmp), write=False)
                failures += f
        if planner_bench.main(["--quick"]) != 0:
            failures.append("planner --quick: a solvable random clinic left unsolved")
        if not args.no_loadtest:
            lt = subprocess.run([sys.executable, "-m", "bench.loadtest", "--quick"], cwd=ROOT)
            if lt.returncode != 0:
                failures.append(f"loadtest --quick exited {lt.returncode}")
    else:
        for db in args.db:
            reports: dict[int, dict] = {}
            for size in args.sessions:
                reports[size], f = run_one(
                    db, size, iterations=args.iterations, warmup=args.warmup, quick=False, sqlite_dir=args.sqlite_dir
                )
                failures += f
            cmp = compare_sizes(db, {k: r for k, r in reports.items() if r})
            if cmp:
                print(f"  {db}: target {cmp.get('target')}: {cmp.get('value')} -> {cmp['verdict']}")
                for size, r in reports.items():
                    if r:  # the run's own comparison goes into each of its files
                        r["targets"]["booking_1m_vs_10k"] = cmp
                        (RESULTS / f"{db}-{size}.json").write_text(json.dumps(r, indent=2, default=str) + "\n")
        if planner_bench.main([]) != 0:
            failures.append("planner: a solvable random clinic left unsolved")
    print(f"\nbench finished in {timer.perf_counter() - began:.0f} s; {len(failures)} failure(s)")
    for f in failures:
        print(f"  FAIL {f}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
