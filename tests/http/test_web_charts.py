"""What the SVG templates draw (scheduler/web/charts.py computes, web/templates/svg/*.svg draws): the
marks and labels the timeline and the charts promise, well-formed and with every text escaped."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime
from types import SimpleNamespace

from scheduler.domain.instruments import CATALOGUE, MEASUREMENT_CATALOGUE
from scheduler.web import charts

SVG = "{http://www.w3.org/2000/svg}"
NASTY = 'Ana "<b>R&D</b>" <script>alert(1)</script>'


def _session(id, day, kind="dose", status="booked", sequence=None, phase="induction"):
    return SimpleNamespace(
        id=id,
        starts_at=datetime(2030, 3, day, 14, tzinfo=UTC),
        kind=kind,
        status=status,
        sequence=sequence,
        phase=phase,
    )


def _flag(code, severity, message, session_ids=(), on=None):
    return SimpleNamespace(code=code, severity=severity, message=message, session_ids=session_ids, on=on)


def _parse(markup) -> ET.Element:
    return ET.fromstring(str(markup))  # fails on anything not well-formed (an unescaped < or &)


def _titles(el: ET.Element) -> list[str]:
    return [t.text or "" for t in el.iter(f"{SVG}title")]


def test_the_course_timeline_draws_a_mark_per_session_its_flags_and_the_due_window(sqlite_app):
    sessions = [
        _session(1, 4, "evaluation", "completed", phase=None),
        _session(2, 6, sequence=1, status="completed"),
        _session(3, 9, sequence=2, status="cancelled"),
        _session(4, 10, sequence=2),
        _session(5, 13, sequence=3, status="proposed"),
        _session(6, 7, "integration", "no_show", sequence=1, phase=None),
    ]
    flags = [
        _flag("doses_too_close", "error", f"Dose 2 for {NASTY} is too close", (4,)),
        _flag("ride_home_missing", "warning", "No ride home", (4,)),
        _flag("idle_chair_time", "info", f"Idle & <unused>: {NASTY}", on=date(2030, 3, 11)),
    ]
    due = SimpleNamespace(earliest=date(2030, 3, 14), latest=date(2030, 3, 20), target=date(2030, 3, 16))
    data = SimpleNamespace(sessions=sessions, flags=flags, next_due=due)
    with sqlite_app.test_request_context():
        drawn = charts.course_timeline(data, "UTC", whole=True, today=date(2030, 3, 12))
    assert drawn is not None
    svg = _parse(drawn.svg)
    assert svg.get("data-testid") == "course-timeline"
    marks = {int(a.get("data-session-id")): a for a in svg.iter(f"{SVG}a")}
    assert set(marks) == {1, 2, 3, 4, 5, 6}
    assert {i: (m.get("data-kind"), m.get("data-status")) for i, m in marks.items()} == {
        1: ("evaluation", "completed"),
        2: ("dose", "completed"),
        3: ("dose", "cancelled"),
        4: ("dose", "booked"),
        5: ("dose", "proposed"),
        6: ("integration", "no_show"),
    }
    assert marks[4].get("href") == "/sessions/4"
    # the title reads the raw text back: escaped on the way in, not double-escaped
    (title,) = _titles(marks[4])
    assert title.startswith("Dose 2, Sun 10 Mar 2030 14:00, booked")
    assert f"flag: Dose 2 for {NASTY} is too close" in title and "flag: No ride home" in title
    # the session's worst flag is the one drawn on it
    (drawn_flag,) = [p for p in marks[4].iter(f"{SVG}path") if p.get("class") == "flag"]
    assert drawn_flag.get("data-flag-code") == "doses_too_close"
    assert drawn_flag.get("fill") == charts.SEVERITY_COLOURS["error"]
    assert [t.text for t in marks[5].iter(f"{SVG}text")] == ["3"]  # the dose number under the dose
    # a flag naming no session sits on its day, with its message
    loose = [g for g in svg.iter(f"{SVG}g") if g.get("class") == "flag"]
    assert [(g.get("data-flag-code"), _titles(g)) for g in loose] == [
        ("idle_chair_time", [f"Idle & <unused>: {NASTY}"])
    ]
    (window,) = [g for g in svg.iter(f"{SVG}g") if g.get("data-testid") == "due-window"]
    assert _titles(window) == ["Maintenance dose due 14 Mar 2030 – 20 Mar 2030, target 16 Mar 2030"]
    texts = [t.text for t in svg.iter(f"{SVG}text")]
    assert {"Evaluation", "Doses", "Integration", "Follow-up", "today", "Maintenance due"} <= set(texts)
    assert "Preparation" not in texts  # no preparation session: no lane
    assert "<script>" not in str(drawn.svg)


def test_the_due_window_beyond_the_close_up_is_a_note(sqlite_app):
    due = SimpleNamespace(earliest=date(2030, 6, 1), latest=date(2030, 6, 20), target=date(2030, 6, 10))
    data = SimpleNamespace(sessions=[_session(1, 6, sequence=1)], flags=[], next_due=due)
    with sqlite_app.test_request_context():
        svg = _parse(charts.course_timeline(data, "UTC", today=date(2030, 1, 1)).svg)
    assert not [g for g in svg.iter(f"{SVG}g") if g.get("data-testid") == "due-window"]
    assert "Maintenance due 01 Jun – 20 Jun 2030 →" in [t.text for t in svg.iter(f"{SVG}text")]
    assert "today" not in [t.text for t in svg.iter(f"{SVG}text")]


def _scores(instrument, *scores):
    return [
        SimpleNamespace(id=i, instrument=instrument, score=s, taken_on=date(2030, 3, 1 + 7 * i))
        for i, s in enumerate(scores)
    ]


def test_an_assessment_chart_draws_its_bands_scores_baseline_and_response_level(sqlite_app):
    inst = CATALOGUE["PHQ-9"]
    data = SimpleNamespace(assessments=_scores("PHQ-9", 20, 15, 9))
    with sqlite_app.test_request_context():
        (chart,) = charts.assessment_charts(data, first_dose_on=date(2030, 3, 2))
    svg = _parse(chart["svg"])
    assert (svg.get("data-testid"), svg.get("data-instrument"), svg.get("role")) == ("assessment-chart", "PHQ-9", "img")
    texts = [t.text for t in svg.iter(f"{SVG}text")]
    for band in inst.bands:
        assert f"{band.label} ({band.low}–{band.high})" in texts
    assert "Baseline 20" in texts
    scores = [g for g in svg.iter(f"{SVG}g") if g.get("class") == "score"]
    assert [_titles(g) for g in scores] == [
        ["PHQ-9 20 on 01 Mar 2030"],
        ["PHQ-9 15 on 08 Mar 2030"],
        ["PHQ-9 9 on 15 Mar 2030"],
    ]
    (line,) = svg.iter(f"{SVG}polyline")
    assert len(line.get("points").split()) == 3
    (threshold,) = [g for g in svg.iter(f"{SVG}g") if g.get("data-testid") == "response-threshold"]
    level = inst.response_level(20)
    assert _titles(threshold) == [f"{inst.response_label} (score {level:.1f} or lower)"]
    # a higher score is drawn lower on the chart
    ys = [float(c.get("cy")) for c in svg.iter(f"{SVG}circle")]
    assert ys[0] < ys[1] < ys[2]


def test_a_measurement_chart_draws_its_values_without_bands(sqlite_app):
    m = MEASUREMENT_CATALOGUE["motor_threshold"]
    data = SimpleNamespace(assessments=_scores("motor_threshold", 58))
    with sqlite_app.test_request_context():
        (chart,) = charts.measurement_charts(data)
    svg = _parse(chart["svg"])
    assert (svg.get("data-testid"), svg.get("data-instrument")) == ("measurement-chart", "motor_threshold")
    assert _titles(svg)[0] == f"{m.label} ({m.unit}) over time"
    points = [g for g in svg.iter(f"{SVG}g") if g.get("class") == "measurement"]
    assert [_titles(g) for g in points] == [[f"{m.label} 58 % on 01 Mar 2030"]]
    assert not list(svg.iter(f"{SVG}polyline"))  # one value: no line
    assert not list(svg.iter(f"{SVG}rect"))  # no severity bands
    assert "60 %" in [t.text for t in svg.iter(f"{SVG}text")]


def test_the_pages_colour_and_name_every_word_of_the_domain_vocabulary():
    from scheduler.domain.flags import SEVERITIES
    from scheduler.domain.vocabulary import SESSION_KINDS, SESSION_STATUSES
    from scheduler.web import filters

    assert [kind for kind, _ in charts.LANES] == list(SESSION_KINDS)
    assert set(charts.KIND_COLOURS) == set(charts.LANE_LABELS) == set(SESSION_KINDS)
    assert set(charts.SEVERITY_COLOURS) == set(SEVERITIES)
    assert set(filters.KIND_LABELS) == set(SESSION_KINDS) and set(filters.STATUS_LABELS) == set(SESSION_STATUSES)


def test_the_reports_heatmap_has_a_cell_per_room_and_week_and_escapes_room_names(sqlite_app):
    from scheduler.web import report_charts

    rows = [
        {"room": NASTY, "week": "2030-03-04", "utilization": 0.5},
        {"room": NASTY, "week": "2030-03-11", "utilization": None},
        {"room": "IV-2", "week": "2030-03-04", "utilization": 1.0},
    ]
    with sqlite_app.test_request_context():
        svg = _parse(report_charts.heatmap(rows, chart_id="util", title="Chair utilisation"))
    assert (svg.get("role"), svg.get("aria-labelledby")) == ("img", "util-t util-d")
    cells = [r for r in svg.iter(f"{SVG}rect") if r.find(f"{SVG}title") is not None]
    assert [_titles(c)[0] for c in cells] == [
        f"{NASTY}, week of 2030-03-04: 50% used",
        f"{NASTY}, week of 2030-03-11: closed",
        "IV-2, week of 2030-03-04: 100% used",
        "IV-2, week of 2030-03-11: closed",
    ]
    assert cells[2].get("fill") == report_charts.HEAT[-1]
    texts = [t.text for t in svg.iter(f"{SVG}text")]
    assert texts[:2] == [NASTY, "IV-2"] and "03-04" in texts
    assert report_charts.heatmap([], chart_id="x", title="x") == ""


def test_the_reports_bars_are_as_long_as_their_values_with_a_legend(sqlite_app):
    from scheduler.web import report_charts

    items = [("IV-1", [("No-shows", 0.25), ("Late cancellations", None)]), (NASTY, [("No-shows", 0.5)])]
    with sqlite_app.test_request_context():
        svg = _parse(report_charts.bars(items, chart_id="att", title="Attendance"))
    bars = [r for r in svg.iter(f"{SVG}rect") if r.find(f"{SVG}title") is not None]
    assert [_titles(b)[0] for b in bars] == [
        "IV-1, No-shows: 25%",
        "IV-1, Late cancellations: no data",
        f"{NASTY}, No-shows: 50%",
    ]
    widths = [float(b.get("width")) for b in bars]
    assert widths[1] == 0 and widths[2] == 2 * widths[0]
    texts = [t.text for t in svg.iter(f"{SVG}text")]
    assert texts[:2] == ["No-shows", "Late cancellations"]  # the legend
    assert {"IV-1", NASTY, "25%", "no data", "50%"} <= set(texts)
