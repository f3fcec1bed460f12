"""Render bench/results/*.json as the Markdown tables of bench/README.md.

python -m bench.report            # prints Markdown; paste it into the README's Performance section
"""

from __future__ import annotations

import json
import sys

from bench.run import RESULTS

FIGURES = (
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
)


def _load(name: str) -> dict | None:
    path = RESULTS / name
    return json.loads(path.read_text()) if path.exists() else None


def table() -> str:
    runs = [(db, size, _load(f"{db}-{size}.json")) for db in ("postgres", "sqlite") for size in (10_000, 1_000_000)]
    runs = [(db, size, r) for db, size, r in runs if r]
    head = "| figure | " + " | ".join(f"{db} {size:,}: p50 / p95 ms, cpu p50 (×floor)" for db, size, _ in runs) + " |"
    lines = [head, "|---|" + "---|" * len(runs)]
    for fig in FIGURES:
        cells = []
        for _db, _size, r in runs:
            x = r["results"].get(fig, {})
            if x.get("missing"):
                cells.append("missing")
            elif "p50_ms" in x:
                ratio = f" (×{x['ratio_p50']} {x.get('floor') or x.get('against')})" if x.get("ratio_p50") else ""
                cpu = f", cpu {x['cpu_p50_ms']:.1f}" if x.get("cpu_p50_ms") is not None else ""
                cells.append(f"{x['p50_ms']:.2f} / {x['p95_ms']:.2f}{cpu}{ratio}")
            else:
                cells.append("–")
        lines.append(f"| {fig} | " + " | ".join(cells) + " |")
    lines.append("| RSS of the process (MB) | " + " | ".join(str(r["memory"]["rss_mb"]) for *_, r in runs) + " |")
    lines.append(
        "| load average at start → end | "
        + " | ".join(
            f"{r['machine']['loadavg_at_start'][0]:.1f} → {r.get('loadavg_at_end', [float('nan')])[0]:.1f}"
            for *_, r in runs
        )
        + " |"
    )
    lines.append("| run at (UTC) | " + " | ".join(r["when"] for *_, r in runs) + " |")
    out = ["\n".join(lines), ""]
    out.append("| target (issues 6 and 15) | " + " | ".join(f"{db} {size:,}" for db, size, _ in runs) + " |")
    out.append("|---|" + "---|" * len(runs))
    keys = []
    for *_, r in runs:
        for k in r["targets"]:
            if k not in keys:
                keys.append(k)
    for k in keys:
        label = next(r["targets"][k]["target"] for *_, r in runs if k in r["targets"])
        cells = []
        for *_, r in runs:
            t = r["targets"].get(k)
            cells.append("–" if not t else f"{t['value']} → {t['verdict']}")
        out.append(f"| {label} | " + " | ".join(cells) + " |")
    # The 1M ÷ 10k booking ratio is the one each run computed from its own two measurements
    # (targets["booking_1m_vs_10k"] above), never one made here from files of different runs.
    return "\n".join(out)


def loadtest() -> str:
    files = sorted(RESULTS.glob("loadtest-*.json"))
    out = []
    for path in files:
        r = json.loads(path.read_text())
        out.append(
            f"`{path.name}`: {r['clients']} clients, {r.get('instances', 1)} gunicorn instances × {r['workers']} "
            f"worker(s) × {r.get('threads', '?')} threads, {r['seconds']} s, "
            f"{r['sessions']:,} sessions in the database, {r['requests']} requests ({r['requests_per_s']}/s), "
            f"run at {r['when']} UTC\n"
        )
        out.append("| operation | requests | per s | p50 ms | p95 ms | p99 ms | statuses | 409 codes |")
        out.append("|---|---|---|---|---|---|---|---|")
        for op, x in r["operations"].items():
            out.append(
                f"| {op} | {x['requests']} | {x['per_s']} | {x['p50_ms']} | {x['p95_ms']} | {x['p99_ms']} | "
                f"{x['statuses']} | {x.get('conflicts_409', '')} |"
            )
        out.append("")
        line = (
            f"Checks: {r['checks']}; worker RSS: "
            + ", ".join(f"{v['rss_mb']} MB" for v in r["worker_rss"].values())
            + f"; bookings/s target {r['target_bookings_per_s']['target']}: "
            f"{r['target_bookings_per_s']['value']} → {r['target_bookings_per_s']['verdict']}"
        )
        if r.get("cpu_ms_per_request"):
            line += "; CPU ms per request: " + ", ".join(
                f"{part.replace('_', ' ')} {ms}" for part, ms in r["cpu_ms_per_request"].items()
            )
        out.append(line)
        out.append("")
    return "\n".join(out)


def main() -> int:
    print(table())
    print()
    print(loadtest())
    return 0


if __name__ == "__main__":
    sys.exit(main())
