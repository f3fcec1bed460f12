"""Benchmark: each report for a year of one clinic, through the Flask test client (the whole path:
token, parsing, SQL aggregates, serialisation).

    python -m bench.reports --db sqlite postgres --sessions 10000 100000 [1000000]

Databases come from ``bench.generate`` (reused when today's generation of that size exists): per
20,000 sessions one clinic, five years of history, so a clinic-year holds ~4,000 sessions at every
size from 20,000 up and the figures show how a report grows with the rest of the calendar. Target
(issue 17): ≤ 500 ms per report at the 1,000,000-session size. Writes
bench/results/reports-<db>-<n>.json (p50/p95 over the iterations, and PostgreSQL query plans).
"""

from __future__ import annotations

import argparse
import json
import time as timer
from datetime import date, timedelta
from pathlib import Path

from bench.generate import ensure
from bench.run import ensure_pg_database, machine, summarise

RESULTS = Path(__file__).resolve().parent / "results"
REPORTS = ("utilization", "attendance", "funnel", "outcomes", "maintenance")
TARGET_MS = 500


def url_for(kind: str, n: int) -> str:
    if kind == "sqlite":
        return f"sqlite:////tmp/scheduler_bench_reports_{n}.sqlite3"
    return ensure_pg_database(f"scheduler_bench_reports_{n}")


def measure(kind: str, n: int, iterations: int) -> dict:
    from scheduler import create_app
    from scheduler.auth import issue_token
    from scheduler.db import db_session
    from scheduler.models import Clinic, User

    url = url_for(kind, n)
    generated = ensure(url, n)
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench-" + "x" * 40, "ENV": "development"})
    with app.app_context():
        user = db_session.query(User).filter_by(email="bench-reports@bench.test").one_or_none()
        if user is None:
            user = User(email="bench-reports@bench.test", role="admin")
            db_session.add(user)
            db_session.flush()
        token = issue_token(user, label="bench")
        clinic = db_session.get(Clinic, 1)
        clinic_id = clinic.id
        db_session.commit()
        db_session.remove()
    client = app.test_client()
    end = date.today()
    start = end - timedelta(days=364)
    out = {
        "db": kind,
        "sessions": n,
        "clinic_id": clinic_id,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "generated": {k: generated.get(k) for k in ("clinics", "sessions", "reused", "total_seconds")},
        "reports": {},
        "target_ms": TARGET_MS,
        "machine": machine(),
    }
    for name in REPORTS:
        url_path = f"/api/v1/reports/{name}?clinic_id={clinic_id}&start={start}&end={end}"
        samples, rows = [], 0
        for i in range(iterations + 1):
            began = timer.perf_counter()
            answer = client.get(url_path, headers={"Authorization": f"Bearer {token}"})
            elapsed = (timer.perf_counter() - began) * 1000
            assert answer.status_code == 200, answer.get_data(as_text=True)[:300]
            rows = len(answer.json["rows"])
            if i:  # the first call warms the caches
                samples.append(elapsed)
        out["reports"][name] = {**summarise(samples), "rows": rows}
    out["met"] = all(r["p50_ms"] <= TARGET_MS for r in out["reports"].values())
    app.extensions["scheduler.engine"].dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", nargs="+", default=["sqlite", "postgres"], choices=["sqlite", "postgres"])
    parser.add_argument("--sessions", nargs="+", type=int, default=[10_000, 100_000])
    parser.add_argument("--iterations", type=int, default=10)
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    for n in args.sessions:
        for kind in args.db:
            result = measure(kind, n, args.iterations)
            (RESULTS / f"reports-{kind}-{n}.json").write_text(json.dumps(result, indent=2) + "\n")
            print(kind, n, {k: (v["p50_ms"], v["p95_ms"], v["rows"]) for k, v in result["reports"].items()}, flush=True)


if __name__ == "__main__":
    main()
