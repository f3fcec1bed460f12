"""A busy Monday morning over real HTTP: gunicorn as production runs it (``-c gunicorn.conf.py``:
threaded workers, its timeouts and limits, production mode with a real SECRET_KEY), as two app
instances (separate gunicorn masters on their own ports, 1 worker × 8 threads each by default)
against one PostgreSQL, 16 client threads spread over both.

    python -m bench.loadtest                       # 60 s on the bench database at 10,000 sessions
    python -m bench.loadtest --sessions 1000000 --seconds 60
    python -m bench.loadtest --sessions 1000000 --seconds 30 --booking-only   # bookings per second
    python -m bench.loadtest --quick               # 5 s, 4 threads, throw-away database (CI)

``--booking-only``: every request books a distinct free consult-room hour (found in the database
beforehand, each with a patient who has nothing else that day); the figure is successful bookings
per second, and what it booked is deleted afterwards. The checks below span both instances.

Each client thread has its own front-desk token and loops until the time is up (and at most
``--max-requests`` requests): 45 % bookings (half of them on 40 hot slots everybody wants, the rest
spread over the next 60 days), 15 % reschedules and 10 % cancellations (of its own bookings with the
version it last saw, or one time in four of any desk's booking with the version it was booked at, so
two desks sometimes change the same session), 30 % reads (day board, a patient's timeline, a clinic's sessions for a day).
The server listens on 127.0.0.1 only and is stopped at the end.

Afterwards the database is checked: no room and no patient has overlapping live sessions (self-join
with the half-open predicate over every row written or changed during the test, against all rows),
every 201 answer is a row, every successful write has its audit event, and no request got a 5xx.
Exit status non-zero when a check fails (not when the throughput target is missed).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import secrets
import select
import signal
import socket
import subprocess
import sys
import threading
import time as timer
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import requests
import sqlalchemy as sa

from bench.run import (
    LIVE_SQL,
    PG_BENCH_DB,
    RESULTS,
    ROOT,
    drop_pg_database,
    ensure_pg_database,
    machine,
    percentile,
    rss_mb,
)

TARGET_BOOKINGS_PER_S = 300
FREE_CELL_DAYS = 3 * 366  # how far ahead booking-only mode looks for free cells (it stops when it has enough)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _proc_stats() -> dict[int, tuple[str, int, float]]:
    """Every process: (name, parent pid, CPU seconds used so far: user + system, all its threads)."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                text = (entry / "stat").read_text()
            except OSError:
                continue
            name, rest = text[text.index("(") + 1 : text.rindex(")")], text.rsplit(")", 1)[1].split()
            out[int(entry.name)] = (name, int(rest[1]), (int(rest[11]) + int(rest[12])) / tick)
    return out


def _machine_busy() -> float:
    """CPU seconds the whole machine spent busy (all cores, not idle or waiting for I/O) so far."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


class CpuAccount:
    """Where the machine's CPU went while the clients ran: the app workers (children of the gunicorn
    masters), PostgreSQL's processes, this load generator, and the machine in all (the rest: the
    kernel's network work for the loopback connections, anything else running). A worker recycled
    after ``max_requests`` (and a database connection it closed) has left: its processes are read every
    0.2 s and the last reading of each kept, so only its last fraction of a second is missed."""

    def __init__(self, masters: list[int]):
        self.masters = set(masters)
        self.seen: dict[int, tuple[str, float]] = {}  # pid -> (part, CPU seconds at the last reading)
        self.before = self._totals()
        self.machine_before, self.own_before = _machine_busy(), sum(os.times()[:2])
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        for pid, (name, parent, cpu) in _proc_stats().items():
            if parent in self.masters:
                self.seen[pid] = ("app_workers", cpu)
            elif name in ("postgres", "postmaster"):
                self.seen[pid] = ("postgres", cpu)

    def _totals(self) -> dict[int, float]:
        self._read()
        return {pid: cpu for pid, (_part, cpu) in self.seen.items()}

    def _watch(self) -> None:
        while not self.stopped.wait(0.2):
            self._read()

    def per_request(self, requests_done: int) -> dict[str, float]:
        """ms of CPU per request, by part."""
        self.stopped.set()
        self.thread.join()
        self._read()
        used = {"app_workers": 0.0, "postgres": 0.0}
        for pid, (part, cpu) in self.seen.items():
            used[part] += cpu - self.before.get(pid, 0.0)
        used["load_generator"] = sum(os.times()[:2]) - self.own_before
        used["machine"] = _machine_busy() - self.machine_before
        return {k: round(v * 1000 / max(requests_done, 1), 2) for k, v in used.items()}


def worker_pids(master: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == master:
                pids.append(int(entry.name))
    return sorted(pids)


class World:
    """What the clients need to know: clinics, rooms, patients, tokens."""

    def __init__(self, url: str, clients: int, *, free_cells: int = 0):
        from scheduler import create_app
        from scheduler.auth import issue_token
        from scheduler.db import db_session
        from scheduler.models import Clinic, Patient, Room, StaffMember, User

        app = create_app({"ENV": "development", "DATABASE_URL": url, "SECRET_KEY": "bench"})
        with app.app_context():
            stamp = f"{os.getpid()}-{int(timer.time())}"
            self.tokens = []
            for i in range(clients):
                user = User(email=f"load-{stamp}-{i}@bench.test", role="front_desk")
                db_session.add(user)
                db_session.flush()
                self.tokens.append(issue_token(user, label="loadtest"))
            patients = [
                Patient(
                    mrn=f"LOAD-{stamp}-{i}",
                    name=f"Load Patient {i}",
                    birth_date=date(1980, 1, 1),
                    email=f"load-{stamp}-{i}@example.org",  # reachable: a booking writes its reminders
                    ride_home_arranged=True,
                )
                for i in range(free_cells or 400)
            ]
            db_session.add_all(patients)
            db_session.flush()
            self.patients = [p.id for p in patients]
            db_session.commit()
            self.clinics = {c.id: c.timezone for c in db_session.scalars(sa.select(Clinic))}
            staff = {
                (s.clinic_id, s.name.rsplit("(", 1)[-1].rstrip(")")): s.id
                for s in db_session.scalars(sa.select(StaffMember))
            }
            self.rooms = []  # (clinic_id, room_id, staff_id)
            for r in db_session.scalars(sa.select(Room).where(Room.name.in_(["Consult-1", "Consult-2"]))):
                self.rooms.append(
                    (r.clinic_id, r.id, staff.get((r.clinic_id, "P1" if r.name == "Consult-1" else "P2")))
                )
            self.history = list(db_session.scalars(sa.text("SELECT patient_id FROM course ORDER BY id LIMIT 500")))
            engine = app.extensions["scheduler.engine"]
            with engine.connect() as conn:
                self.mark = conn.execute(sa.text("SELECT coalesce(max(id), 0) FROM treatment_session")).scalar()
                self.audit_mark = conn.execute(sa.text("SELECT coalesce(max(id), 0) FROM audit_event")).scalar()
                self.free = self._free_cells(conn, free_cells) if free_cells else []
            db_session.remove()
            engine.dispose()
        self.days = [date.today() + timedelta(days=i) for i in range(1, 61)]
        self.days = [d for d in self.days if d.weekday() < 5 and (d.month, d.day) not in ((1, 1), (7, 4), (12, 25))]
        self.board: list[tuple[int, int]] = []  # (session id, version at booking), shared by all desks
        rng = random.Random(7)
        self.hot = [self.slot(rng, hot=True) for _ in range(40)]

    def _free_cells(self, conn, wanted: int) -> list[dict]:
        """Distinct free consult-room hours (no live session in them) from tomorrow on, as many days
        ahead as ``wanted`` needs (at most ``FREE_CELL_DAYS``: at 10,000 sessions the two consult rooms
        of the one clinic give ~18 cells a weekday, 1,875 over 150 days, which 300 bookings/s would use
        up in 6 s), in a random order, each with a patient who has nothing else that day (booking-only
        mode)."""
        taken = {
            (room_id, starts_at.astimezone(UTC).replace(second=0, microsecond=0))
            for room_id, starts_at in conn.execute(
                sa.text(f"SELECT room_id, starts_at FROM treatment_session WHERE starts_at >= now() AND {LIVE_SQL}")
            )
        }
        days = [date.today() + timedelta(days=i) for i in range(1, FREE_CELL_DAYS + 1)]
        days = [d for d in days if d.weekday() < 5 and (d.month, d.day) not in ((1, 1), (7, 4), (12, 25))]
        cells = []
        for day in days:
            for clinic_id, room_id, staff_id in self.rooms:
                tz = ZoneInfo(self.clinics[clinic_id])
                for hour in range(8, 17):
                    start = datetime.combine(day, time(hour), tzinfo=tz)
                    if (room_id, start.astimezone(UTC)) in taken or len(cells) >= len(self.patients):
                        continue
                    cells.append(
                        {
                            "room_id": room_id,
                            "staff_member_id": staff_id,
                            "starts_at": start.isoformat(),
                            "patient_id": self.patients[len(cells)],
                        }
                    )
            if len(cells) >= wanted:
                break
        random.Random(11).shuffle(cells)
        return cells[:wanted]

    def slot(self, rng: random.Random, hot: bool = False) -> dict:
        clinic_id, room_id, staff_id = rng.choice(self.rooms[:2] if hot else self.rooms)
        day = self.days[0] if hot else rng.choice(self.days)
        tz = ZoneInfo(self.clinics[clinic_id])
        minute = rng.randrange(0, 16) * 30 if not hot else rng.randrange(0, 4) * 30
        start = datetime.combine(day, time(8), tzinfo=tz) + timedelta(minutes=minute)
        return {
            "room_id": room_id,
            "staff_member_id": staff_id,
            "starts_at": start.isoformat(),
            "clinic_id": clinic_id,
            "day": day.isoformat(),
        }


class Answer:
    """What the load test reads of an HTTP answer."""

    def __init__(self, status_code: int, body: bytes):
        self.status_code, self.content = status_code, body

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.content)


class KeepAlive:
    """One persistent HTTP/1.1 connection (``http.client``), reopened when the server has closed it
    (keep-alive timeout, a worker recycled after ``max_requests``): the load generator shares the
    machine with the app, so it costs as little CPU per request as a client can in Python (about a
    third of ``requests``' cost, which spent ~1.9 ms of this 2-core machine's CPU per booking)."""

    def __init__(self, base: str, token: str):
        host, port = base.removeprefix("http://").split(":")
        self.host, self.port = host, int(port)
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self.conn: http.client.HTTPConnection | None = None

    def _connection(self) -> http.client.HTTPConnection:
        conn = self.conn
        if conn is not None and conn.sock is not None:
            readable, _, _ = select.select([conn.sock], [], [], 0)
            if readable:  # the server closed it (EOF waiting): a new one, as urllib3 does
                conn.close()
                conn = None
        if conn is None or conn.sock is None:
            conn = self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        return conn

    def request(self, method: str, path: str, *, json_body=None) -> Answer:
        body = json.dumps(json_body).encode() if json_body is not None else None
        conn = self._connection()
        try:
            conn.request(method, path, body=body, headers=self.headers)
            resp = conn.getresponse()
            answer = Answer(resp.status, resp.read())
        except (OSError, http.client.HTTPException):
            conn.close()
            self.conn = None
            raise
        if resp.will_close:
            conn.close()
            self.conn = None
        return answer


class Client(threading.Thread):
    def __init__(self, index: int, bases: list[str], world: World, deadline: float, max_requests: int):
        super().__init__(daemon=True)
        base = bases[index % len(bases)]  # the clients are spread over the app instances
        self.rng = random.Random(1000 + index)
        self.base, self.world, self.deadline, self.max_requests = base, world, deadline, max_requests
        self.http = KeepAlive(base, world.tokens[index])
        self.samples: dict[str, list[float]] = {}
        self.statuses: dict[str, dict[int, int]] = {}
        self.mine: dict[int, int] = {}  # session id -> last version seen
        self.created: list[int] = []
        self.writes: dict[int, int] = {}  # session id -> successful writes
        self.errors: list[str] = []
        self.conflicts: dict[str, dict[str, int]] = {}

    def call(self, op: str, method: str, path: str, **kw):
        began = timer.perf_counter()
        try:
            resp = self.http.request(method, path, json_body=kw.get("json"))
            status = resp.status_code
        except (OSError, http.client.HTTPException) as exc:
            resp, status = None, 599
            self.errors.append(f"{op}: {exc}")
        self.samples.setdefault(op, []).append((timer.perf_counter() - began) * 1000)
        bucket = self.statuses.setdefault(op, {})
        bucket[status] = bucket.get(status, 0) + 1
        if status == 409:  # which refusal: double booking, stale version, flagged rule ...
            try:
                code = resp.json()["error"]["code"]
            except (ValueError, KeyError, TypeError):
                code = "?"
            codes = self.conflicts.setdefault(op, {})
            codes[code] = codes.get(code, 0) + 1
        if status >= 500 and resp is not None and len(self.errors) < 20:
            self.errors.append(f"{op} {path}: {status} {resp.text[:300]}")
        return resp, status

    def book(self) -> None:
        slot = self.rng.choice(self.world.hot) if self.rng.random() < 0.5 else self.world.slot(self.rng)
        body = {
            "patient_id": self.rng.choice(self.world.patients),
            "room_id": slot["room_id"],
            "kind": "evaluation",
            "starts_at": slot["starts_at"],
            "duration_minutes": 60,
        }
        if slot["staff_member_id"]:
            body["staff_member_id"] = slot["staff_member_id"]
        resp, status = self.call("book", "POST", "/api/v1/sessions", json=body)
        if status == 201:
            data = resp.json()
            self.mine[data["id"]] = data["version"]
            if len(self.world.board) < 2000:
                self.world.board.append((data["id"], data["version"]))
            self.created.append(data["id"])
            self.writes[data["id"]] = self.writes.get(data["id"], 0) + 1

    def _pick(self) -> tuple[int, int, bool] | None:
        """A session to change and the version we believe it has: usually our own; one time in four
        one another desk booked (shared board), so two desks sometimes move the same session."""
        if self.world.board and self.rng.random() < 0.25:
            sid, version = self.rng.choice(self.world.board)
            return sid, version, False
        if not self.mine:
            return None
        sid = self.rng.choice(list(self.mine))
        return sid, self.mine[sid], True

    def reschedule(self) -> None:
        target = self._pick()
        if target is None:
            return self.book()
        sid, version, own = target
        slot = self.world.slot(self.rng)
        resp, status = self.call(
            "reschedule",
            "POST",
            f"/api/v1/sessions/{sid}/reschedule",
            json={"starts_at": slot["starts_at"], "version": version},
        )
        if status == 200:
            if own:
                self.mine[sid] = resp.json()["version"]
            self.writes[sid] = self.writes.get(sid, 0) + 1

    def cancel(self) -> None:
        target = self._pick()
        if target is None:
            return self.book()
        sid, version, own = target
        if own:
            self.mine.pop(sid)
        _resp, status = self.call(
            "cancel", "POST", f"/api/v1/sessions/{sid}/cancel", json={"reason": "Patient called", "version": version}
        )
        if status == 200:
            self.writes[sid] = self.writes.get(sid, 0) + 1

    def read(self) -> None:
        roll = self.rng.random()
        clinic_id = self.rng.choice(list(self.world.clinics))
        day = self.rng.choice(self.world.days[:10]).isoformat()
        if roll < 0.4:
            self.call("day_board", "GET", f"/api/v1/clinics/{clinic_id}/day?date={day}")
        elif roll < 0.7 and self.world.history:
            self.call("timeline", "GET", f"/api/v1/patients/{self.rng.choice(self.world.history)}/timeline")
        else:
            self.call("list", "GET", f"/api/v1/sessions?clinic_id={clinic_id}&start={day}&end={day}")

    def run(self) -> None:
        try:
            self._loop()
        except Exception as exc:  # a crashed client is a failed run, never a silently short one
            self.errors.append(f"client crashed: {exc!r}")

    def _loop(self) -> None:
        if self.world.free:
            return self._book_free()
        n = 0
        while timer.perf_counter() < self.deadline and n < self.max_requests:
            roll = self.rng.random()
            if roll < 0.45:
                self.book()
            elif roll < 0.60:
                self.reschedule()
            elif roll < 0.70:
                self.cancel()
            else:
                self.read()
            n += 1


_free_lock = threading.Lock()


def _book_free(self) -> None:
    """Booking-only mode: book distinct free cells until the time is up (or none is left)."""
    while timer.perf_counter() < self.deadline:
        with _free_lock:
            cell = self.world.free.pop() if self.world.free else None
        if cell is None:
            return
        body = {
            "patient_id": cell["patient_id"],
            "room_id": cell["room_id"],
            "kind": "evaluation",
            "starts_at": cell["starts_at"],
            "duration_minutes": 60,
        }
        if cell["staff_member_id"]:
            body["staff_member_id"] = cell["staff_member_id"]
        resp, status = self.call("book", "POST", "/api/v1/sessions", json=body)
        if status == 201:
            data = resp.json()
            self.created.append(data["id"])
            self.writes[data["id"]] = self.writes.get(data["id"], 0) + 1
        elif status != 409 and len(self.errors) < 20:
            self.errors.append(f"book: {status} {resp.text[:200] if resp is not None else ''}")


Client._book_free = _book_free  # type: ignore[attr-defined]


def start_server(url: str, port: int, workers: int, threads: int) -> subprocess.Popen:
    """gunicorn with the production config (gunicorn.conf.py); only the bind address, the worker and
    thread counts and the log level come from its GUNICORN_* variables. Production mode: a real key,
    no SCHEDULER_ENV. Its access log is written as in production (to stdout, discarded here)."""
    env = {k: v for k, v in os.environ.items() if k != "SCHEDULER_ENV" and not k.startswith("GUNICORN_")}
    env.update(
        SCHEDULER_DATABASE_URL=url,
        SCHEDULER_SECRET_KEY=secrets.token_urlsafe(48),
        GUNICORN_BIND=f"127.0.0.1:{port}",
        GUNICORN_WORKERS=str(workers),
        GUNICORN_THREADS=str(threads),
        GUNICORN_LOG_LEVEL="warning",
    )
    gunicorn = Path(sys.executable).with_name("gunicorn")
    proc = subprocess.Popen(
        [str(gunicorn), "-c", str(ROOT / "gunicorn.conf.py")],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    for _ in range(300):  # at most ~30 s
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {proc.returncode}")
        try:
            if requests.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1).status_code == 200:
                return proc
        except requests.RequestException:
            pass
        timer.sleep(0.1)
    stop_server(proc)
    raise RuntimeError("gunicorn did not answer /api/v1/health within 30 s")


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def check_database(url: str, world: World, clients: list[Client], t0: datetime) -> dict:
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    out = {}
    with engine.connect() as conn:
        touched = "(a.id > :mark OR a.updated_at >= :t0)"
        for resource in ("room_id", "patient_id"):
            out[f"overlapping_live_{resource.split('_')[0]}_pairs"] = conn.execute(
                sa.text(
                    f"SELECT count(*) FROM treatment_session a JOIN treatment_session b ON a.{resource} = b.{resource} "
                    "AND a.id <> b.id AND a.starts_at < b.ends_at AND b.starts_at < a.ends_at "
                    f"AND b.starts_at >= a.starts_at - interval '12 hours' "
                    f"WHERE {touched} AND a.{LIVE_SQL} AND b.{LIVE_SQL}"
                ),
                {"mark": world.mark, "t0": t0},
            ).scalar()
        created = [sid for c in clients for sid in c.created]
        found = (
            conn.execute(
                sa.text("SELECT count(*) FROM treatment_session WHERE id = ANY(:ids)"), {"ids": created}
            ).scalar()
            if created
            else 0
        )
        out["created_201"] = len(created)
        out["created_rows_found"] = found
        writes: dict[int, int] = {}
        for c in clients:
            for sid, k in c.writes.items():
                writes[sid] = writes.get(sid, 0) + k
        audited = dict(
            conn.execute(
                sa.text(
                    "SELECT entity_id, count(*) FROM audit_event WHERE id > :m AND entity_type = 'treatment_session' "
                    "GROUP BY entity_id"
                ),
                {"m": world.audit_mark},
            ).all()
        )
        out["successful_writes"] = sum(writes.values())
        out["writes_without_audit"] = sum(max(0, k - audited.get(sid, 0)) for sid, k in writes.items())
    engine.dispose()
    return out


def remove_created(url: str, ids: list[int], patient_ids: list[int]) -> None:
    """Booking-only mode leaves the database as it found it: its bookings and its patients (one per
    free cell) go, so the next run finds the same free cells and the same number of patients."""
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    with engine.begin() as conn:
        params = {"ids": ids, "pids": patient_ids}
        conn.execute(
            sa.text("DELETE FROM audit_event WHERE entity_type = 'treatment_session' AND entity_id = ANY(:ids)"), params
        )
        conn.execute(sa.text("DELETE FROM message WHERE session_id = ANY(:ids)"), params)
        conn.execute(sa.text("DELETE FROM treatment_session WHERE id = ANY(:ids)"), params)
        conn.execute(sa.text("DELETE FROM message WHERE patient_id = ANY(:pids)"), params)
        conn.execute(sa.text("DELETE FROM patient WHERE id = ANY(:pids)"), params)
    engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Load test over real HTTP (issue 6 item 5).")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=1, help="gunicorn workers per instance")
    parser.add_argument("--threads", type=int, default=8, help="per worker (gunicorn.conf.py's default)")
    parser.add_argument(
        "--instances",
        type=int,
        default=2,
        help="app instances: separate gunicorn masters on their own ports, one database",
    )
    parser.add_argument(
        "--booking-only", action="store_true", help="every request books a distinct free slot (the bookings/s figure)"
    )
    parser.add_argument("--sessions", type=int, default=10_000, help="size of the generated network")
    parser.add_argument("--max-requests", type=int, default=200_000, help="per client thread")
    parser.add_argument("--quick", action="store_true", help="5 s, 4 clients, a throw-away database")
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds, args.clients, args.sessions = 5, 4, 2000
    db_name = f"scheduler_bench_load_{os.getpid()}" if args.quick else f"{PG_BENCH_DB}_{args.sessions}"
    url = ensure_pg_database(db_name)
    failures: list[str] = []
    try:
        gen = subprocess.run(
            [sys.executable, "-m", "bench.generate", url, "--sessions", str(args.sessions), "--reuse"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        if gen.returncode != 0:
            print(gen.stderr[-2000:])
            return 1
        world = World(url, args.clients, free_cells=int(args.seconds * 600) if args.booking_only else 0)
        servers, ports = [], []
        try:
            for _ in range(args.instances):
                ports.append(free_port())
                servers.append(start_server(url, ports[-1], args.workers, args.threads))
            t0 = datetime.now(UTC)
            began = timer.perf_counter()
            deadline = began + args.seconds
            clients = [
                Client(i, [f"http://127.0.0.1:{port}" for port in ports], world, deadline, args.max_requests)
                for i in range(args.clients)
            ]
            cpu = CpuAccount([server.pid for server in servers])
            for c in clients:
                c.start()
            for c in clients:
                c.join(timeout=args.seconds + 120)
                if c.is_alive():
                    failures.append(f"client {c.name} still running after the deadline")
            elapsed = timer.perf_counter() - began
            cpu_per_request = cpu.per_request(sum(len(v) for c in clients for v in c.samples.values()))
            workers = {pid: rss_mb(pid) for server in servers for pid in worker_pids(server.pid)}
        finally:
            for server in servers:
                stop_server(server)
        ops: dict[str, dict] = {}
        for c in clients:
            for op, values in c.samples.items():
                ops.setdefault(op, {"samples": [], "statuses": {}})["samples"] += values
            for op, counts in c.statuses.items():
                for status, k in counts.items():
                    ops[op]["statuses"][status] = ops[op]["statuses"].get(status, 0) + k
            for op, codes in c.conflicts.items():
                bucket = ops[op].setdefault("conflicts", {})
                for code, k in codes.items():
                    bucket[code] = bucket.get(code, 0) + k
        table = {}
        total = 0
        fivexx = 0
        for op, d in sorted(ops.items()):
            s = d["samples"]
            total += len(s)
            fivexx += sum(k for st, k in d["statuses"].items() if st >= 500)
            table[op] = {
                "requests": len(s),
                "per_s": round(len(s) / elapsed, 1),
                "p50_ms": round(percentile(s, 0.5), 2),
                "p95_ms": round(percentile(s, 0.95), 2),
                "p99_ms": round(percentile(s, 0.99), 2),
                "max_ms": round(max(s), 2),
                "statuses": {str(k): v for k, v in sorted(d["statuses"].items())},
                "conflicts_409": d.get("conflicts", {}),
            }
        checks = check_database(url, world, clients, t0)
        checks["responses_5xx"] = fivexx
        booking_rate = round(checks["created_201"] / elapsed, 1)  # successful bookings per second
        mode = "booking-only" if args.booking_only else "mixed"
        report = {
            "when": t0.isoformat(timespec="seconds"),
            "machine": machine(),
            "seconds": round(elapsed, 1),
            "mode": mode,
            "instances": args.instances,
            "clients": args.clients,
            "workers": args.workers,
            "threads": args.threads,
            "sessions": args.sessions,
            "requests": total,
            "requests_per_s": round(total / elapsed, 1),
            "operations": table,
            "worker_rss": {str(k): v for k, v in workers.items()},
            "cpu_ms_per_request": cpu_per_request,
            "checks": checks,
            "target_bookings_per_s": {
                "target": TARGET_BOOKINGS_PER_S,
                "value": booking_rate,
                "verdict": "met"
                if booking_rate >= TARGET_BOOKINGS_PER_S
                else f"missed by {TARGET_BOOKINGS_PER_S / max(booking_rate, 0.1):.2f}x",
            },
        }
        print(
            f"load test ({mode}): {args.clients} clients, {args.instances} instances × {args.workers} workers × "
            f"{args.threads} threads, {elapsed:.1f} s, {total} requests "
            f"({report['requests_per_s']}/s)"
        )
        print(f"{'op':<12}{'req':>7}{'req/s':>8}{'p50':>9}{'p95':>9}{'p99':>9}  statuses")
        for op, r in table.items():
            print(
                f"{op:<12}{r['requests']:>7}{r['per_s']:>8}{r['p50_ms']:>9}{r['p95_ms']:>9}{r['p99_ms']:>9}  "
                f"{r['statuses']} {r['conflicts_409'] or ''}"
            )
        print(f"worker RSS: {report['worker_rss']}")
        print(f"CPU ms per request: {report['cpu_ms_per_request']}")
        print(f"checks: {checks}")
        print(
            f"target successful bookings/s >= {TARGET_BOOKINGS_PER_S}: {booking_rate} -> "
            f"{report['target_bookings_per_s']['verdict']}"
        )
        if checks["overlapping_live_room_pairs"] or checks["overlapping_live_patient_pairs"]:
            failures.append("overlapping live sessions")
        if checks["created_rows_found"] != checks["created_201"]:
            failures.append("a 201 answer without its row")
        if checks["writes_without_audit"]:
            failures.append("writes without an audit event")
        if fivexx:
            failures.append(f"{fivexx} responses were 5xx")
        for c in clients:
            failures += c.errors[:5]
        if not args.quick:
            RESULTS.mkdir(exist_ok=True)
            suffix = "-booking" if args.booking_only else ""
            (RESULTS / f"loadtest-postgres-{args.sessions}{suffix}.json").write_text(
                json.dumps(report, indent=2) + "\n"
            )
        if args.booking_only:
            remove_created(url, [sid for c in clients for sid in c.created], world.patients)
    finally:
        if args.quick:
            drop_pg_database(db_name)
    for f in failures:
        print(f"  FAIL {f}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
