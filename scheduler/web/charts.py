"""Server-drawn SVG: the course timeline and the assessment charts (presentation only).

The data comes from ``services.timeline.timeline``; this module only places it on axes: it computes
the geometry (plain numbers, labels, colours) and ``web/templates/svg/*.svg`` draws it (autoescaped,
so patient and protocol text is escaped like any page's). Every mark has a ``<title>`` (read by screen
readers and shown on hover) and sessions are links.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from flask import render_template, url_for
from markupsafe import Markup

from scheduler.domain.flags import ERROR, INFO, WARNING, severity_rank
from scheduler.domain.instruments import CATALOGUE, MEASUREMENT_CATALOGUE, baseline
from scheduler.domain.vocabulary import DEAD_STATUSES, SESSION_KINDS
from scheduler.web.geometry import DateScale, ValueScale

KIND_COLOURS = {
    "evaluation": "#4a57b5",
    "preparation": "#8a5f1c",
    "dose": "#23706f",
    "integration": "#744a9e",
    "follow_up": "#3b6890",
}  # the same as app.css's --k-* (the legend's swatches)
LANE_LABELS = {
    "evaluation": "Evaluation",
    "preparation": "Preparation",
    "dose": "Doses",
    "integration": "Integration",
    "follow_up": "Follow-up",
}
LANES = tuple((kind, LANE_LABELS[kind]) for kind in SESSION_KINDS)  # one lane per session kind, in its order
SEVERITY_COLOURS = {ERROR: "#b3261e", WARNING: "#a86200", INFO: "#2f5fa7"}
BAND_FILLS = ("#eef6ef", "#f6f7e6", "#fbf1de", "#fbe6dc", "#f7dcdc")
WIDTH, LEFT, RIGHT = 1000, 110, 24
PLOT_RIGHT = 200  # room for the band labels right of an assessment chart


@dataclass
class CourseSvg:
    svg: Markup
    first: date
    last: date
    hidden_after: int  # sessions beyond the shown range (maintenance months away)


def _svg(template: str, **values) -> Markup:
    """``web/templates/svg/<template>`` rendered with ``values`` (a ``.svg`` template: autoescaped)."""
    return Markup(render_template(f"svg/{template}", **values))


def _local_day(instant, tz: str) -> date:
    return instant.astimezone(ZoneInfo(tz)).date()


@dataclass(frozen=True)
class Mark:
    """One session on the course line, drawn at (x, y) by its status; ``flag``: its worst flag."""

    href: str
    kind: str
    status: str
    phase: str
    session_id: int
    title: str
    x: float
    y: float
    colour: str
    label: str | None  # the dose number under a dose ("M3": maintenance)
    flag: FlagMark | None


@dataclass(frozen=True)
class FlagMark:
    code: str
    colour: str
    title: str = ""  # a flag that names no session (a session's flags are in its title)
    x: float = 0
    y: float = 0


@dataclass(frozen=True)
class DueWindow:
    title: str
    x0: float
    width: float
    height: float
    target_x: float | None


@dataclass(frozen=True)
class Lane:
    label: str
    y: float


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
    due = data.next_due
    window = due_note = None
    if due and due.earliest <= last and due.latest >= first:
        x0, x1 = scale.x(max(due.earliest, first)), scale.x(min(due.latest, last))
        window = DueWindow(
            f"Maintenance dose due {due.earliest:%d %b %Y} – {due.latest:%d %b %Y}, target {due.target:%d %b %Y}",
            x0,
            max(2, x1 - x0),
            height - 48,
            scale.x(due.target) if first <= due.target <= last else None,
        )
    elif due:
        due_note = f"Maintenance due {due.earliest:%d %b} – {due.latest:%d %b %Y} →"
    flags_by_session: dict[int, list] = {}
    for f in data.flags:
        for sid in f.session_ids:
            flags_by_session.setdefault(sid, []).append(f)
    marks = []
    same_day: dict[tuple[str, date], int] = {}
    # live sessions last, so they are drawn over a cancelled one they replace on the same day
    for s, d in sorted(zip(sessions, days), key=lambda sd: (sd[0].status in DEAD_STATUSES) is False):
        if d > last or d < first:
            continue
        nth = same_day[(s.kind, d)] = same_day.get((s.kind, d), -1) + 1
        marks.append(
            _session_mark(
                s, scale.x(d) + 14 * nth, lane_y.get(s.kind, lane_y["dose"]), tz, flags_by_session.get(s.id, [])
            )
        )
    loose_flags = [  # flags that name no session, on their date
        FlagMark(f.code, SEVERITY_COLOURS[f.severity], f.message, scale.x(f.on), lane_y["dose"])
        for f in data.flags
        if not f.session_ids and f.on is not None and first <= f.on <= last
    ]
    svg = _svg(
        "course_timeline.svg",
        width=WIDTH,
        height=height,
        left=LEFT,
        right=WIDTH - RIGHT,
        bottom=height - 12,
        title=f"Course timeline {first:%d %b %Y} to {last:%d %b %Y}",
        ticks=scale.ticks(12),
        due=window,
        due_note=due_note,
        today_x=scale.x(today) if first <= today <= last else None,
        lanes=[Lane(label, lane_y[k]) for k, label in lanes],
        marks=marks,
        loose_flags=loose_flags,
    )
    return CourseSvg(svg, first, last, hidden)


def _session_mark(s, x: float, y: float, tz: str, flags: list) -> Mark:
    when = s.starts_at.astimezone(ZoneInfo(tz)).strftime("%a %d %b %Y %H:%M")
    name = s.kind.replace("_", "-").capitalize() + (f" {s.sequence}" if s.kind == "dose" and s.sequence else "")
    title = f"{name}, {when}, {s.status.replace('_', ' ')}"
    title += "".join(f" · flag: {f.message}" for f in flags)
    worst = min(flags, key=lambda f: severity_rank(f.severity)) if flags else None
    return Mark(
        href=url_for("frontdesk.session_page", session_id=s.id),
        kind=s.kind,
        status=s.status,
        phase=s.phase or "",
        session_id=s.id,
        title=title,
        x=x,
        y=y,
        colour=KIND_COLOURS.get(s.kind, "#4f7ea8"),
        label=("M" if s.phase == "maintenance" else "") + str(s.sequence) if s.kind == "dose" and s.sequence else None,
        flag=FlagMark(worst.code, SEVERITY_COLOURS[worst.severity]) if worst is not None else None,
    )


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
        assert base is not None  # rows has a score, and the second call leaves none out
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


@dataclass(frozen=True)
class Band:
    label: str
    y: float
    height: float
    label_y: float
    fill: str


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    title: str


def _assessment_svg(inst, rows, baseline: int, level: float) -> Markup:
    height, top, bottom = 260, 20, 230
    first = rows[0].taken_on - timedelta(days=3)
    last = rows[-1].taken_on + timedelta(days=3)
    xs = DateScale(first, last, LEFT, WIDTH - PLOT_RIGHT)
    ys = ValueScale(inst.low, inst.high, bottom, top)
    bands = []
    for i, band in enumerate(inst.bands):
        y_top = ys.y(min(inst.high, band.high + (0 if band.high == inst.high else 1)))
        y_bot = ys.y(band.low)
        bands.append(
            Band(
                f"{band.label} ({band.low}–{band.high})",
                y_top,
                round(y_bot - y_top, 2),
                round((y_top + y_bot) / 2, 2),
                BAND_FILLS[min(i, len(BAND_FILLS) - 1)],
            )
        )
    return _svg(
        "assessment_chart.svg",
        width=WIDTH,
        height=height,
        left=LEFT,
        right=WIDTH - PLOT_RIGHT,
        plot_width=WIDTH - PLOT_RIGHT - LEFT,
        bottom=bottom,
        key=inst.key,
        title=f"{inst.key} scores over time, baseline {baseline}",
        bands=bands,
        values=[(v, ys.y(v)) for v in range(inst.low, inst.high + 1, 10 if inst.high > 30 else 5)],
        ticks=xs.ticks(8),
        baseline=baseline,
        baseline_y=ys.y(baseline),
        response_title=f"{inst.response_label} (score {level:.1f} or lower)",
        response_label=f"{inst.response_label} (≤ {level:.1f})",
        response_y=ys.y(level),
        points=[Point(xs.x(a.taken_on), ys.y(a.score), f"{inst.key} {a.score} on {a.taken_on:%d %b %Y}") for a in rows],
    )


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
    return _svg(
        "measurement_chart.svg",
        width=WIDTH,
        height=height,
        left=LEFT,
        right=WIDTH - PLOT_RIGHT,
        plot_width=WIDTH - PLOT_RIGHT - LEFT,
        bottom=bottom,
        key=m.key,
        title=f"{m.label} ({m.unit}) over time",
        values=[(v, ys.y(v)) for v in range(lo, hi + 1, 10)],
        ticks=xs.ticks(8),
        points=[
            Point(xs.x(a.taken_on), ys.y(a.score), f"{m.label} {a.score} % on {a.taken_on:%d %b %Y}") for a in rows
        ],
    )
