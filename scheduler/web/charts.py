"""Server-drawn SVG: the course timeline and the assessment charts (presentation only).

The data comes from ``services.timeline.timeline``; this module only places it on axes. Every mark
has a ``<title>`` (read by screen readers and shown on hover) and sessions are links.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from flask import url_for
from markupsafe import Markup, escape

from scheduler.domain.instruments import CATALOGUE, MEASUREMENT_CATALOGUE, baseline
from scheduler.web.geometry import DateScale, ValueScale

KIND_COLOURS = {
    "evaluation": "#4a57b5",
    "preparation": "#8a5f1c",
    "dose": "#23706f",
    "integration": "#744a9e",
    "follow_up": "#3b6890",
}  # the same as app.css's --k-* (the legend's swatches)
LANES = (
    ("evaluation", "Evaluation"),
    ("preparation", "Preparation"),
    ("dose", "Doses"),
    ("integration", "Integration"),
    ("follow_up", "Follow-up"),
)
SEVERITY_COLOURS = {"error": "#b3261e", "warning": "#a86200", "info": "#2f5fa7"}
BAND_FILLS = ("#eef6ef", "#f6f7e6", "#fbf1de", "#fbe6dc", "#f7dcdc")
WIDTH, LEFT, RIGHT = 1000, 110, 24
PLOT_RIGHT = 200  # room for the band labels right of an assessment chart


def _e(value) -> str:
    return str(escape(value))


@dataclass
class CourseSvg:
    svg: Markup
    first: date
    last: date
    hidden_after: int  # sessions beyond the shown range (maintenance months away)


def _local_day(instant, tz: str) -> date:
    return instant.astimezone(ZoneInfo(tz)).date()


def course_timeline(data, tz: str, *, whole: bool = False, today: date | None = None) -> CourseSvg | None:
    """The course line: one lane per session kind, each session a mark by status, flags above their
    session, the maintenance due window shaded. Without ``whole`` it shows the induction up to the
    follow-up (maintenance months later would squeeze it into a few pixels)."""
    sessions = data.sessions
    if not sessions:
        return None
    today = today or date.today()
    days = [_local_day(s.starts_at, tz) for s in sessions]
    first = min(days)
    if whole:
        last = max(days)
        if data.next_due:
            last = max(last, data.next_due.latest)
    else:
        core = [d for s, d in zip(sessions, days) if s.phase != "maintenance"]
        last = max(core or days)
    first, last = first - timedelta(days=2), last + timedelta(days=3)
    hidden = sum(1 for d in days if d > last)
    lanes = [(k, label) for k, label in LANES if k != "preparation" or any(s.kind == k for s in sessions)]
    lane_y = {k: 62 + i * 40 for i, (k, _) in enumerate(lanes)}
    height = 62 + len(lanes) * 40 + 20
    scale = DateScale(first, last, LEFT, WIDTH - RIGHT)
    out: list[str] = [
        f'<svg viewBox="0 0 {WIDTH} {height}" role="group" aria-labelledby="tl-title" '
        f'xmlns="http://www.w3.org/2000/svg" data-testid="course-timeline">',
        f'<title id="tl-title">Course timeline {first:%d %b %Y} to {last:%d %b %Y}</title>',
    ]
    # grid and date ticks
    for x, label in scale.ticks(12):
        out.append(
            f'<line x1="{x}" y1="34" x2="{x}" y2="{height - 12}" stroke="#e6ebef"/>'
            f'<text x="{x}" y="26" font-size="12" fill="#5b6877" text-anchor="middle">{_e(label)}</text>'
        )
    # maintenance due window
    due = data.next_due
    if due and due.earliest <= last and due.latest >= first:
        x0, x1 = scale.x(max(due.earliest, first)), scale.x(min(due.latest, last))
        xt = scale.x(due.target) if first <= due.target <= last else None
        out.append(
            f'<g data-testid="due-window"><title>Maintenance dose due {due.earliest:%d %b %Y} – '
            f"{due.latest:%d %b %Y}, target {due.target:%d %b %Y}</title>"
            f'<rect x="{x0}" y="36" width="{max(2, x1 - x0)}" height="{height - 48}" fill="#2f8a8f" '
            f'fill-opacity="0.08" stroke="#2f8a8f" stroke-dasharray="4 3" stroke-opacity="0.5"/>'
            f'<text x="{x0 + 4}" y="48" font-size="12" fill="#2f6f73">Maintenance due</text>'
        )
        if xt is not None:
            out.append(f'<line x1="{xt}" y1="36" x2="{xt}" y2="{height - 12}" stroke="#2f8a8f" stroke-width="1.5"/>')
        out.append("</g>")
    elif due:
        out.append(
            f'<text x="{WIDTH - RIGHT}" y="11" font-size="12" fill="#2f6f73" text-anchor="end">'
            f"Maintenance due {due.earliest:%d %b} – {due.latest:%d %b %Y} →</text>"
        )
    # today
    if first <= today <= last:
        x = scale.x(today)
        out.append(
            f'<line x1="{x}" y1="34" x2="{x}" y2="{height - 12}" stroke="#1d2733" stroke-dasharray="2 3"/>'
            f'<text x="{x + 3}" y="{height - 2}" font-size="11" fill="#1d2733">today</text>'
        )
    # lanes
    for k, label in lanes:
        y = lane_y[k]
        out.append(
            f'<text x="8" y="{y + 4}" font-size="12" fill="#1d2733" font-weight="600">{_e(label)}</text>'
            f'<line x1="{LEFT}" y1="{y}" x2="{WIDTH - RIGHT}" y2="{y}" stroke="#cfd8df"/>'
        )
    flags_by_session: dict[int, list] = {}
    for f in data.flags:
        for sid in f.session_ids:
            flags_by_session.setdefault(sid, []).append(f)
    same_day: dict[tuple[str, date], int] = {}
    # live sessions last, so they are drawn over a cancelled one they replace on the same day
    for s, d in sorted(zip(sessions, days), key=lambda sd: (sd[0].status in ("cancelled", "no_show")) is False):
        if d > last or d < first:
            continue
        k = same_day[(s.kind, d)] = same_day.get((s.kind, d), -1) + 1
        out.append(
            _session_mark(
                s, scale.x(d) + 14 * k, lane_y.get(s.kind, lane_y["dose"]), tz, flags_by_session.get(s.id, [])
            )
        )
    # flags that name no session, on their date
    for f in data.flags:
        if f.session_ids or f.on is None or not first <= f.on <= last:
            continue
        x = scale.x(f.on)
        colour = SEVERITY_COLOURS[f.severity]
        out.append(
            f'<g class="flag" data-flag-code="{_e(f.code)}"><title>{_e(f.message)}</title>'
            f'<path d="M{x - 6},{lane_y["dose"] - 16} l6,-10 l6,10 z" fill="{colour}"/></g>'
        )
    out.append("</svg>")
    return CourseSvg(Markup("".join(out)), first, last, hidden)


def _session_mark(s, x: float, y: float, tz: str, flags: list) -> str:
    colour = KIND_COLOURS.get(s.kind, "#4f7ea8")
    when = s.starts_at.astimezone(ZoneInfo(tz)).strftime("%a %d %b %Y %H:%M")
    name = s.kind.replace("_", "-").capitalize() + (f" {s.sequence}" if s.kind == "dose" and s.sequence else "")
    title = f"{name}, {when}, {s.status.replace('_', ' ')}"
    title += "".join(f" · flag: {f.message}" for f in flags)
    href = url_for("frontdesk.session_page", session_id=s.id)
    parts = [
        f'<a href="{href}" class="tl-session" data-kind="{s.kind}" data-status="{s.status}" '
        f'data-phase="{s.phase or ""}" data-session-id="{s.id}"><title>{_e(title)}</title>'
    ]
    if s.status == "cancelled":
        parts.append(
            f'<circle cx="{x}" cy="{y}" r="7" fill="#fff" stroke="#9aa5b1" stroke-width="2"/>'
            f'<path d="M{x - 4},{y - 4} l8,8 M{x + 4},{y - 4} l-8,8" stroke="#9aa5b1" stroke-width="2"/>'
        )
    elif s.status == "no_show":
        parts.append(
            f'<circle cx="{x}" cy="{y}" r="7" fill="#fbe6e4" stroke="#b3261e" stroke-width="2"/>'
            f'<path d="M{x - 4},{y - 4} l8,8 M{x + 4},{y - 4} l-8,8" stroke="#b3261e" stroke-width="2"/>'
        )
    elif s.status == "proposed":
        parts.append(
            f'<circle cx="{x}" cy="{y}" r="7" fill="#fff" stroke="{colour}" stroke-width="2" stroke-dasharray="3 2"/>'
        )
    elif s.status == "completed":
        parts.append(
            f'<circle cx="{x}" cy="{y}" r="8" fill="{colour}"/>'
            f'<path d="M{x - 4},{y} l3,3 l5,-6" stroke="#fff" stroke-width="2" fill="none"/>'
        )
    elif s.status == "checked_in":
        parts.append(f'<circle cx="{x}" cy="{y}" r="8" fill="{colour}" stroke="#2e7d4f" stroke-width="3"/>')
    else:  # booked
        parts.append(f'<circle cx="{x}" cy="{y}" r="7" fill="{colour}"/>')
    if s.kind == "dose" and s.sequence:
        label = ("M" if s.phase == "maintenance" else "") + str(s.sequence)
        parts.append(
            f'<text x="{x}" y="{y + 21}" font-size="11" fill="#5b6877" text-anchor="middle" paint-order="stroke" '
            f'stroke="#fff" stroke-width="3">{label}</text>'
        )
    if flags:
        worst = min(flags, key=lambda f: ("error", "warning", "info").index(f.severity))
        colour_f = SEVERITY_COLOURS[worst.severity]
        parts.append(
            f'<path class="flag" data-flag-code="{_e(worst.code)}" d="M{x - 6},{y - 11} l6,-10 l6,10 z" '
            f'fill="{colour_f}"/>'
        )
    parts.append("</a>")
    return "".join(parts)


def assessment_charts(data, *, first_dose_on: date | None = None, since: date | None = None) -> list[dict]:
    """One chart per instrument: severity bands, the scores over time, baseline and response level.
    The baseline is ``domain.instruments.baseline``: the course's first score before dose 1."""
    if not data.assessments:
        return []
    by_instrument: dict[str, list] = {}
    for a in data.assessments:
        by_instrument.setdefault(a.instrument, []).append(a)
    charts = []
    for key, rows in sorted(by_instrument.items()):
        inst = CATALOGUE.get(key)
        if inst is None:
            continue
        rows = sorted(rows, key=lambda a: (a.taken_on, a.id))
        base = baseline([(a.taken_on, a.score) for a in rows], first_dose_on, since) or baseline(
            [(a.taken_on, a.score) for a in rows], first_dose_on
        )
        level = inst.response_level(base.score)
        latest = rows[-1]
        responded = latest.taken_on > base.taken_on and inst.responded(base.score, latest.score)
        charts.append(
            {
                "instrument": inst,
                "rows": rows,
                "baseline": base.score,
                "base": base,
                "level": level,
                "latest": latest,
                "responded": responded,
                "first_dose_on": first_dose_on,
                "change": (latest.score - base.score) / base.score if base.score else None,
                "svg": _assessment_svg(inst, rows, base.score, level),
            }
        )
    return charts


def _assessment_svg(inst, rows, baseline: int, level: float) -> Markup:
    height, top, bottom = 260, 20, 230
    first = rows[0].taken_on - timedelta(days=3)
    last = rows[-1].taken_on + timedelta(days=3)
    xs = DateScale(first, last, LEFT, WIDTH - PLOT_RIGHT)
    ys = ValueScale(inst.low, inst.high, bottom, top)
    out = [
        f'<svg viewBox="0 0 {WIDTH} {height}" role="img" aria-labelledby="ch-{inst.key}" '
        f'xmlns="http://www.w3.org/2000/svg" data-testid="assessment-chart" data-instrument="{_e(inst.key)}">',
        f'<title id="ch-{inst.key}">{_e(inst.key)} scores over time, baseline {baseline}</title>',
    ]
    for i, band in enumerate(inst.bands):
        y_top = ys.y(min(inst.high, band.high + (0 if band.high == inst.high else 1)))
        y_bot = ys.y(band.low)
        out.append(
            f'<rect x="{LEFT}" y="{y_top}" width="{WIDTH - PLOT_RIGHT - LEFT}" height="{round(y_bot - y_top, 2)}" '
            f'fill="{BAND_FILLS[min(i, len(BAND_FILLS) - 1)]}"/>'
            f'<text x="{WIDTH - PLOT_RIGHT + 6}" y="{round((y_top + y_bot) / 2 + 4, 2)}" font-size="12" fill="#5b6877">'
            f"{_e(band.label)} ({band.low}–{band.high})</text>"
        )
    for v in range(inst.low, inst.high + 1, 10 if inst.high > 30 else 5):
        y = ys.y(v)
        out.append(
            f'<text x="{LEFT - 8}" y="{y + 4}" font-size="12" fill="#5b6877" text-anchor="end">{v}</text>'
            f'<line x1="{LEFT}" y1="{y}" x2="{WIDTH - PLOT_RIGHT}" y2="{y}" stroke="#ffffff" stroke-opacity="0.7"/>'
        )
    for x, label in xs.ticks(8):
        out.append(
            f'<text x="{x}" y="{bottom + 18}" font-size="12" fill="#5b6877" text-anchor="middle">{_e(label)}</text>'
        )
    yb, yl = ys.y(baseline), ys.y(level)
    out.append(
        f'<line x1="{LEFT}" y1="{yb}" x2="{WIDTH - PLOT_RIGHT}" y2="{yb}" stroke="#5b6877" stroke-dasharray="5 4"/>'
        f'<text x="{LEFT + 4}" y="{yb - 4}" font-size="12" fill="#5b6877">Baseline {baseline}</text>'
        f'<g data-testid="response-threshold"><title>{_e(inst.response_label)} (score {level:.1f} or lower)</title>'
        f'<line x1="{LEFT}" y1="{yl}" x2="{WIDTH - PLOT_RIGHT}" y2="{yl}" stroke="#2e7d4f" stroke-width="2" '
        f'stroke-dasharray="8 4"/>'
        f'<text x="{LEFT + 4}" y="{yl + 14}" font-size="12" fill="#2e7d4f" font-weight="600">'
        f"{_e(inst.response_label)} (≤ {level:.1f})</text></g>"
    )
    points = [(xs.x(a.taken_on), ys.y(a.score), a) for a in rows]
    if len(points) > 1:
        out.append(
            '<polyline fill="none" stroke="#1d2733" stroke-width="2" points="'
            + " ".join(f"{x},{y}" for x, y, _ in points)
            + '"/>'
        )
    for x, y, a in points:
        out.append(
            f'<g class="score"><title>{_e(inst.key)} {a.score} on {a.taken_on:%d %b %Y}</title>'
            f'<circle cx="{x}" cy="{y}" r="5" fill="#fff" stroke="#1d2733" stroke-width="2"/></g>'
        )
    out.append(f'<line x1="{LEFT}" y1="{bottom}" x2="{WIDTH - PLOT_RIGHT}" y2="{bottom}" stroke="#9aa5b1"/></svg>')
    return Markup("".join(out))


def measurement_charts(data) -> list[dict]:
    """One chart per measurement (the TMS motor threshold): the values over time on the measurement's
    own scale, no severity bands, baseline or response level (it is not a symptom score)."""
    out = []
    for key, m in sorted(MEASUREMENT_CATALOGUE.items()):
        rows = sorted((a for a in data.assessments or [] if a.instrument == key), key=lambda a: (a.taken_on, a.id))
        if rows:
            out.append({"measurement": m, "rows": rows, "latest": rows[-1], "svg": _measurement_svg(m, rows)})
    return out


def _measurement_svg(m, rows) -> Markup:
    height, top, bottom = 200, 20, 170
    xs = DateScale(
        rows[0].taken_on - timedelta(days=3), rows[-1].taken_on + timedelta(days=3), LEFT, WIDTH - PLOT_RIGHT
    )
    lo = max(m.low, min(a.score for a in rows) // 10 * 10 - 10)
    hi = min(m.high, max(a.score for a in rows) // 10 * 10 + 20)
    ys = ValueScale(lo, hi, bottom, top)
    out = [
        f'<svg viewBox="0 0 {WIDTH} {height}" role="img" aria-labelledby="ch-{m.key}" '
        f'xmlns="http://www.w3.org/2000/svg" data-testid="measurement-chart" data-instrument="{_e(m.key)}">',
        f'<title id="ch-{m.key}">{_e(m.label)} ({_e(m.unit)}) over time</title>',
    ]
    for v in range(lo, hi + 1, 10):
        y = ys.y(v)
        out.append(
            f'<text x="{LEFT - 8}" y="{y + 4}" font-size="12" fill="#5b6877" text-anchor="end">{v} %</text>'
            f'<line x1="{LEFT}" y1="{y}" x2="{WIDTH - PLOT_RIGHT}" y2="{y}" stroke="#e3e8ee"/>'
        )
    for x, label in xs.ticks(8):
        out.append(
            f'<text x="{x}" y="{bottom + 18}" font-size="12" fill="#5b6877" text-anchor="middle">{_e(label)}</text>'
        )
    points = [(xs.x(a.taken_on), ys.y(a.score), a) for a in rows]
    if len(points) > 1:
        out.append(
            '<polyline fill="none" stroke="#1d2733" stroke-width="2" points="'
            + " ".join(f"{x},{y}" for x, y, _ in points)
            + '"/>'
        )
    for x, y, a in points:
        out.append(
            f'<g class="measurement"><title>{_e(m.label)} {a.score} % on {a.taken_on:%d %b %Y}</title>'
            f'<circle cx="{x}" cy="{y}" r="5" fill="#fff" stroke="#1d2733" stroke-width="2"/></g>'
        )
    out.append(f'<line x1="{LEFT}" y1="{bottom}" x2="{WIDTH - PLOT_RIGHT}" y2="{bottom}" stroke="#9aa5b1"/></svg>')
    return Markup("".join(out))
