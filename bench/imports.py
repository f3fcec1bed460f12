"""Benchmark: import 10,000 sessions from CSV into a clinic that is new to the scheduler.

    python -m bench.imports --db sqlite postgres --sessions 10000 [--future 0.2]

Builds a fresh database per kind, one clinic (America/New_York, Mon-Fri 08:00-18:00, 10 IV chairs),
imports 1,000 patients, then the sessions file through ``scheduler import sessions`` (the CLI
command in-process, one transaction): a 2-hour grid per chair, a patient at most every 20 days;
``--future`` of them lie ahead and go through the rule book (``services.sessions.book``), the rest
are history (completed, 5 % no-shows, 5 % cancelled). Prints wall time and rows per second, and
writes bench/results/imports-<db>-<n>.json. Target (issue 17): 10,000 sessions in under a minute.
"""

from __future__ import annotations

import argparse
import json
import time as timer
from datetime import date, timedelta
from pathlib import Path

from bench.run import drop_pg_database, ensure_pg_database, machine

RESULTS = Path(__file__).resolve().parent / "results"
CELLS = ("08:00", "10:00", "12:00", "14:00", "16:00")
ENDS = {"08:00": "10:00", "10:00": "12:00", "12:00": "14:00", "14:00": "16:00", "16:00": "18:00"}
ROOMS = 10
PATIENTS = 1000


def weekdays(first: date, count: int) -> list[date]:
    out, d = [], first
    while len(out) < count:
        if d.weekday() < 5:
            out.append(d)
        d += timedelta(days=1)
    return out


def files(n: int, future_share: float, today: date) -> tuple[str, str]:
    per_day = ROOMS * len(CELLS)
    days_needed = -(-n // per_day)
    future_days = round(days_needed * future_share)
    past = weekdays(today - timedelta(days=int((days_needed - future_days) * 7 / 5) + 7), days_needed - future_days)
    ahead = weekdays(today + timedelta(days=1), future_days)
    patients = ["mrn,name,birth_date,ride_home_arranged"] + [
        f"B-{i:04d},Patient {i},19{50 + i % 50}-0{1 + i % 9}-1{i % 10},yes" for i in range(PATIENTS)
    ]
    rows = ["external_id,mrn,clinic,kind,start,end,room,staff,status,protocol,phase,sequence"]
    k = 0
    for day_index, day in enumerate(past + ahead):
        is_past = day < today
        for slot in range(per_day):
            if k >= n:
                break
            room, cell = slot % ROOMS, CELLS[slot // ROOMS]
            patient = (day_index * per_day + slot) % PATIENTS
            status = "booked"
            if is_past:
                status = "no_show" if k % 20 == 7 else "cancelled" if k % 20 == 13 else "completed"
            rows.append(
                f"OLD-{k},B-{patient:04d},Bench Clinic,dose,{day} {cell},{day} {ENDS[cell]},Chair {room + 1},,"
                f"{status},,,"
            )
            k += 1
    return "\n".join(patients) + "\n", "\n".join(rows) + "\n"


def run_one(kind: str, n: int, future_share: float, workdir: Path) -> dict:
    from datetime import time

    from scheduler import create_app
    from scheduler.db import db_session, transaction
    from scheduler.migrate import upgrade
    from scheduler.services import directory

    if kind == "sqlite":
        path = workdir / f"imports-{n}.sqlite3"
        path.unlink(missing_ok=True)
        url = f"sqlite:///{path}"
    else:
        drop_pg_database(f"scheduler_bench_imports_{n}")
        url = ensure_pg_database(f"scheduler_bench_imports_{n}")
    upgrade(url)
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench-" + "x" * 40, "ENV": "development"})
    today = date.today()
    patients_csv, sessions_csv = files(n, future_share, today)
    (workdir / "patients.csv").write_text(patients_csv)
    (workdir / "sessions.csv").write_text(sessions_csv)
    with app.app_context():
        with transaction():
            clinic = directory.create_clinic(
                None,
                name="Bench Clinic",
                timezone="America/New_York",
                hours={d: [(time(8), time(18))] for d in range(5)},
            )
            db_session.flush()
            for i in range(ROOMS):
                directory.create_room(None, clinic, name=f"Chair {i + 1}", capabilities=["iv", "im"])
        runner = app.test_cli_runner()
        started = timer.perf_counter()
        first = runner.invoke(args=["import", "patients", str(workdir / "patients.csv")])
        patients_s = timer.perf_counter() - started
        started = timer.perf_counter()
        result = runner.invoke(args=["import", "sessions", str(workdir / "sessions.csv")])
        sessions_s = timer.perf_counter() - started
        started = timer.perf_counter()
        again = runner.invoke(args=["import", "sessions", str(workdir / "sessions.csv")])
        again_s = timer.perf_counter() - started
    app.extensions["scheduler.engine"].dispose()
    if kind != "sqlite":
        drop_pg_database(f"scheduler_bench_imports_{n}")
    future = sum(1 for line in sessions_csv.splitlines()[1:] if ",booked," in line)
    out = {
        "db": kind,
        "sessions": n,
        "future_sessions": future,
        "history_sessions": n - future,
        "patients_s": round(patients_s, 2),
        "sessions_s": round(sessions_s, 2),
        "sessions_per_s": round(n / sessions_s, 1),
        "second_import_s": round(again_s, 2),
        "exit_codes": [first.exit_code, result.exit_code, again.exit_code],
        "summary": result.output.strip().splitlines()[-1],
        "second_summary": again.output.strip().splitlines()[-1],
        "target_s": 60,
        "met": result.exit_code == 0 and sessions_s < 60,
        "machine": machine(),
    }
    if result.exit_code != 0:
        out["problems"] = result.output.splitlines()[:10]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", nargs="+", default=["sqlite", "postgres"], choices=["sqlite", "postgres"])
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--future", type=float, default=0.2, help="share of the sessions in the future")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/scheduler-bench-imports"))
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    RESULTS.mkdir(exist_ok=True)
    for kind in args.db:
        result = run_one(kind, args.sessions, args.future, args.workdir)
        (RESULTS / f"imports-{kind}-{args.sessions}.json").write_text(json.dumps(result, indent=2) + "\n")
        print(json.dumps({k: v for k, v in result.items() if k != "machine"}, indent=2))


if __name__ == "__main__":
    main()
