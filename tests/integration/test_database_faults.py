"""The database stopped and frozen under load, on a throw-away PostgreSQL cluster of the test's own
(initdb and pg_ctl from /usr/lib/postgresql/*/bin, a temporary folder, a free port; as root the
server runs as the ``postgres`` user).

Stopped: the API answers 503 ``database_unavailable`` with ``Retry-After``, the health check 503
``{"status": "unavailable", "database": "postgresql"}``, a page a 503 page; started again, the same
app (no restart) answers 200. Frozen (SIGSTOP on the postmaster and every backend) while four
clients book whole courses: every request in flight ends within the timeouts with a 503, none
hangs; thawed, booking works again; afterwards every course in the database has all its sessions
(booked whole or not at all) and every 201 is there.
"""

from __future__ import annotations

import contextlib
import faulthandler
import gc
import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from scheduler import create_app
from scheduler.db import db_session
from scheduler.migrate import upgrade
from scheduler.models import Course, TreatmentSession
from tests.conftest import DEVELOPMENT, PG_REQUIRED, Api
from tests.support import routes as r
from tests.support.builders import equipped_clinic, future_monday, patient_id

CONNECT, STATEMENT, GRACE = 2, 1, 1
# The longest a request may take while the server is gone: a connect timeout, or a statement
# timeout plus the watchdog's grace and tick, with room for a loaded 2-core machine.
BOUND = CONNECT + STATEMENT + GRACE + 4
HARD_LIMIT = 600  # seconds for the whole test (it takes ~70 s; with the watchdog disabled it fails in ~90 s)


def _binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    def __init__(self, bindir: Path):
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="scheduler-pg-faults-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.user = "postgres" if os.geteuid() == 0 else None
        if self.user:
            shutil.chown(self.root, self.user)

    def _run(self, *args: str) -> None:
        subprocess.run(
            [str(self.bindir / args[0]), *args[1:]],
            check=True,
            capture_output=True,
            timeout=120,
            user=self.user,
            cwd=self.root,
        )

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync")

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c full_page_writes=off -c max_connections=60"
        )
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "log"), "-w", "-o", options, "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def pids(self) -> list[int]:
        postmaster = int((self.data / "postmaster.pid").read_text().split()[0])
        children = []
        for stat in glob.glob("/proc/[0-9]*/stat"):
            try:
                fields = Path(stat).read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == postmaster:
                children.append(int(Path(stat).parent.name))
        return [postmaster, *children]

    def signal(self, sig: int) -> None:
        for pid in self.pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def remove(self) -> None:
        try:
            self.signal(signal.SIGCONT)
            self.stop()
        except Exception:  # noqa: BLE001 - already stopped
            pass
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def cluster():
    bindir = _binaries()
    if bindir is None:
        if PG_REQUIRED:
            pytest.fail("initdb not found under /usr/lib/postgresql/*/bin (required under CI)")
        pytest.skip("initdb not found under /usr/lib/postgresql/*/bin")
    c = Cluster(bindir)
    # Bounded whatever breaks: a request that hangs past every timeout (the bug this test looks for)
    # ends the run with the threads' tracebacks after HARD_LIMIT seconds instead of stalling CI.
    faulthandler.dump_traceback_later(HARD_LIMIT, exit=True)
    try:
        c.init()
        c.start()
        yield c
    finally:
        c.remove()
        faulthandler.cancel_dump_traceback_later()


def _course_body(clinic_id: int, start) -> dict:
    return {
        "protocol": "ketamine-iv",
        "clinic_id": clinic_id,
        "start_on": str(start),
        "override_reason": "fault test: book whatever the flags say",
    }


# A connection the watchdog cut may be collected unclosed by psycopg (a ResourceWarning at garbage
# collection): collected here, at the end of this test, not in whichever test runs next.
@pytest.mark.filterwarnings("ignore::ResourceWarning", "ignore::pytest.PytestUnraisableExceptionWarning")
def test_stopped_and_frozen_database_answer_503_and_recover(cluster, request):
    url = cluster.url()
    upgrade(url)
    app = create_app(
        {
            "TESTING": True,
            **DEVELOPMENT,
            "PROPAGATE_EXCEPTIONS": False,
            "DATABASE_URL": url,
            "SECRET_KEY": "test",
            "DATABASE_CONNECT_TIMEOUT": CONNECT,
            "DATABASE_STATEMENT_TIMEOUT": STATEMENT,
            "DATABASE_WATCHDOG_GRACE": GRACE,
            "DATABASE_RETRY_AFTER": 3,
        }
    )
    # Also when an assertion fails: the cut connections are collected in this test's teardown.
    request.addfinalizer(gc.collect)
    request.addfinalizer(app.extensions["scheduler.engine"].dispose)
    with app.app_context():
        api = Api(app).as_("front_desk")
        api.token("front_desk")
        clinic = equipped_clinic()
        patients = [patient_id(mrn=f"MRN-F{i}", name=f"Fault Patient {i}") for i in range(80)]
        r.user("desk-faults@clinic.test", "front_desk")
        db_session.commit()
        pages = r.Pages(app, "desk-faults@clinic.test")
        assert api.get("/api/v1/health").status_code == 200

        # Stopped: 503s, quickly, in each shape.
        cluster.stop()
        began = time.monotonic()
        health = api.get("/api/v1/health")
        assert health.status_code == 503 and health.json == {"status": "unavailable", "database": "postgresql"}
        assert health.headers["Retry-After"] == "3"
        answer = api.get("/api/v1/clinics")
        assert answer.status_code == 503, answer.get_data(as_text=True)
        assert answer.json["error"]["code"] == "database_unavailable" and answer.headers["Retry-After"] == "3"
        write = api.post(f"/api/v1/patients/{patients[0]}/courses", json=_course_body(clinic.id, future_monday()))
        assert write.status_code == 503 and write.json["error"]["code"] == "database_unavailable"
        page = pages.open("GET", f"/board?clinic_id={clinic.id}")
        assert page.status_code == 503 and "retry" in page.get_data(as_text=True).lower()
        assert page.headers["Retry-After"] == "3"
        assert time.monotonic() - began < 4 * BOUND

        # Started again: the same app recovers (its pool throws the dead connections away).
        cluster.start()
        assert api.get("/api/v1/health").status_code == 200
        assert api.get("/api/v1/clinics").status_code == 200
        assert pages.open("GET", f"/board?clinic_id={clinic.id}").status_code == 200

        # Frozen under load.
        queue = list(patients)
        lock = threading.Lock()
        results: list[tuple[str, int, float, dict | None]] = []
        phase = {"name": "before"}
        stop = threading.Event()

        def client():
            with app.app_context():
                while not stop.is_set():
                    with lock:
                        if not queue:
                            return
                        pid = queue.pop()
                    began, started_in = time.monotonic(), phase["name"]
                    answer = api.post(
                        f"/api/v1/patients/{pid}/courses",
                        json=_course_body(clinic.id, future_monday(weeks=2 + pid % 20)),
                    )
                    # A request that began or ended while the server was frozen counts as frozen.
                    seen = "frozen" if "frozen" in (started_in, phase["name"]) else phase["name"]
                    if started_in == "before" and phase["name"] == "thawed":
                        seen = "frozen"  # it spanned the whole freeze
                    results.append((seen, answer.status_code, time.monotonic() - began, answer.json))

        workers = [threading.Thread(target=client) for _ in range(4)]
        for w in workers:
            w.start()
        _wait_for(lambda: sum(1 for p, s, _, _ in results if s == 201) >= 2, 60)
        phase["name"] = "frozen"
        cluster.signal(signal.SIGSTOP)
        frozen_at = time.monotonic()
        _wait_for(lambda: sum(1 for p, s, _, _ in results if p == "frozen" and s == 503) >= 4, 4 * BOUND)
        hung = time.monotonic() - frozen_at
        phase["name"] = "thawed"
        cluster.signal(signal.SIGCONT)
        _wait_for(lambda: sum(1 for p, s, _, _ in results if p == "thawed" and s == 201) >= 2, 60)
        stop.set()
        for w in workers:
            w.join(timeout=4 * BOUND)
            assert not w.is_alive(), "a client hung"

        frozen = [(s, t) for p, s, t, _ in results if p == "frozen"]
        assert frozen and all(s in (503, 201, 409) for s, _ in frozen), frozen  # 201/409: done before the freeze
        assert sum(1 for s, _ in frozen if s == 503) >= 4, frozen
        assert max(t for _, t in frozen) < BOUND, frozen  # no request hung past the timeouts
        assert hung < 4 * BOUND
        assert all(s in (201, 409) for p, s, _, _ in results if p != "frozen"), [
            (p, s, b) for p, s, _, b in results if p != "frozen" and s not in (201, 409)
        ]

        # Nothing half-written: each course whole, each 201 present with the sessions it listed.
        db_session.remove()
        per_course = dict(
            db_session.execute(
                select(Course.id, func.count(TreatmentSession.id))
                .outerjoin(TreatmentSession, TreatmentSession.course_id == Course.id)
                .group_by(Course.id)
            ).all()
        )
        booked = {b["course"]["id"]: len(b["sessions"]) for _, s, _, b in results if s == 201}
        assert booked and set(booked) <= set(per_course)
        assert all(per_course[c] == n for c, n in booked.items()), (booked, per_course)
        whole = set(booked.values())
        assert len(whole) == 1 and set(per_course.values()) == whole, (booked, per_course)


def _wait_for(condition, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)
