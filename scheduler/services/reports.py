"""The manager's reports: SQL aggregates over indexed columns, definitions in ``domain.reports``.

Every query is bounded by the clinic and ``starts_at`` (the ``(clinic_id, starts_at)`` index) or by
the clinic's courses (``course.clinic_id``, ``treatment_session.course_id``,
``assessment.course_id``). Local dates and hours are computed by the database: PostgreSQL with
``timezone(zone, starts_at)``; SQLite (no time zones) with the clinic's UTC offset, one query per
stretch of constant offset (``domain.reports.offset_spans``), so a 09:00 session is 09:00 on both
sides of a DST change.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Date, Integer, and_, case, cast, extract, func, literal_column, select, type_coerce
from sqlalchemy.orm import aliased

from scheduler.db import db_session, is_postgres
from scheduler.domain import reports as r
from scheduler.domain.calendar import open_intervals
from scheduler.domain.intervals import Interval
from scheduler.domain.timezones import iter_days, local_date
from scheduler.domain.vocabulary import RATING_SCALES
from scheduler.models import Assessment, Course, Room, TreatmentSession, UTCDateTime, utcnow
from scheduler.protocols_registry import protocols
from scheduler.services import inputs

TS = TreatmentSession
MAX_DAYS = 3 * 366


@dataclass(frozen=True)
class Window:
    clinic_id: int
    clinic_name: str
    tz: str
    first: date
    last: date  # inclusive
    utc: Interval


def window(clinic_id: int, first: date | None, last: date | None) -> Window:
    """The clinic's local dates ``first`` .. ``last`` (default: the year up to today)."""
    from scheduler.errors import UnprocessableError

    clinic = inputs.clinic_row(clinic_id)
    last = last or local_date(utcnow(), clinic.timezone)
    first = first or last - timedelta(days=364)
    if last < first:
        raise UnprocessableError("end must not be before start.", field="end")
    if (last - first).days >= MAX_DAYS:
        raise UnprocessableError(f"A report covers at most {MAX_DAYS} days.", field="start")
    return Window(clinic.id, clinic.name, clinic.timezone, first, last, inputs.local_range(clinic, first, last))


# --- local time in SQL ---------------------------------------------------------------------------


def _spans(w: Window) -> list[r.OffsetSpan]:
    if is_postgres():
        return [r.OffsetSpan(w.utc.start, w.utc.end, 0)]
    return r.offset_spans(w.utc.start, w.utc.end, w.tz)


def _local(column, w: Window, span: r.OffsetSpan):
    if is_postgres():
        return func.timezone(w.tz, column)
    return func.datetime(column, f"{span.offset_seconds:+d} seconds")


def _day(expr):
    return cast(expr, Date) if is_postgres() else func.date(expr)


def _hour(expr):
    return cast(extract("hour", expr), Integer) if is_postgres() else cast(func.strftime("%H", expr), Integer)


def _weekday(expr):
    """0 = Monday."""
    if is_postgres():
        return cast(extract("isodow", expr), Integer) - 1
    return (cast(func.strftime("%w", expr), Integer) + 6) % 7


def _minutes(start, end):
    if is_postgres():
        return extract("epoch", end - start) / 60
    return (func.julianday(end) - func.julianday(start)) * 1440


def _before(column, delta: timedelta):
    if is_postgres():
        return column - literal_column(f"interval '{int(delta.total_seconds())} seconds'")
    return func.datetime(column, f"-{int(delta.total_seconds())} seconds")


def _as_date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _in_span(span: r.OffsetSpan):
    return and_(TS.starts_at >= span.start, TS.starts_at < span.end)


# --- the reports ---------------------------------------------------------------------------------


def utilization(w: Window, *, by: str = "day") -> list[dict]:
    """Per room and local day (or week): minutes of sessions that took place (checked in or completed)
    over the room's open minutes (the clinic's hours minus closures); closed days are left out."""
    used: dict[tuple[int, date], float] = defaultdict(float)
    for span in _spans(w):
        day = _day(_local(TS.starts_at, w, span))
        query = (
            select(TS.room_id, day, func.sum(_minutes(TS.starts_at, TS.ends_at)))
            .where(TS.clinic_id == w.clinic_id, _in_span(span), TS.status.in_(r.ATTENDED))
            .group_by(TS.room_id, day)
        )
        for room_id, d, minutes in db_session.execute(query):
            used[(room_id, _as_date(d))] += float(minutes or 0)
    clinic = inputs.clinic_value(w.clinic_id, w.utc)
    open_minutes = {
        d: sum((iv.end - iv.start).total_seconds() / 60 for iv in open_intervals(clinic, d))
        for d in iter_days(w.first, w.last)
    }
    rooms = db_session.execute(
        select(Room.id, Room.name).where(Room.clinic_id == w.clinic_id, Room.active).order_by(Room.name, Room.id)
    ).all()
    cells: dict[tuple[int, str, date], list[float]] = {}
    for room_id, name in rooms:
        for d, opened in open_minutes.items():
            if opened <= 0:
                continue
            key = (room_id, name, d if by == "day" else r.week_of(d))
            total = cells.setdefault(key, [0.0, 0.0])
            total[0] += used.get((room_id, d), 0.0)
            total[1] += opened
    column = "date" if by == "day" else "week"
    return [
        {
            "room_id": room_id,
            "room": name,
            column: d.isoformat(),
            "used_minutes": round(u),
            "open_minutes": round(o),
            "utilization": round(u / o, 4) if o else None,
        }
        for (room_id, name, d), (u, o) in cells.items()
    ]


def attendance(w: Window, *, now: datetime | None = None) -> list[dict]:
    """No-show and late-cancel rates by kind, weekday and hour, over the sessions that were due
    (started before now, any status but proposed)."""
    now = now or utcnow()
    totals: dict[tuple[str, str | int], list[int]] = defaultdict(lambda: [0, 0, 0])
    late = and_(TS.status == "cancelled", TS.cancelled_at >= _before(TS.starts_at, r.LATE_CANCEL))
    for span in _spans(w):
        local = _local(TS.starts_at, w, span)
        weekday, hour = _weekday(local), _hour(local)
        # One query per span, grouped by all three dimensions; each dimension is a sum of its groups.
        query = (
            select(
                TS.kind,
                weekday,
                hour,
                func.count(),
                func.sum(case((TS.status == "no_show", 1), else_=0)),
                func.sum(case((late, 1), else_=0)),
            )
            .where(TS.clinic_id == w.clinic_id, _in_span(span), TS.starts_at < now, TS.status != "proposed")
            .group_by(TS.kind, weekday, hour)
        )
        for kind, day, at, due, no_shows, late_cancels in db_session.execute(query):
            for dimension, value in (("kind", kind), ("weekday", day), ("hour", at)):
                total = totals[(dimension, value)]
                total[0] += due
                total[1] += int(no_shows or 0)
                total[2] += int(late_cancels or 0)
    order = {"kind": 0, "weekday": 1, "hour": 2}
    rows = []
    for (dimension, value), (due, no_shows, late_cancels) in sorted(
        totals.items(), key=lambda kv: (order[kv[0][0]], str(kv[0][1]).zfill(2))
    ):
        label = (
            r.WEEKDAY_NAMES[int(value)]
            if dimension == "weekday"
            else (f"{int(value):02d}:00" if dimension == "hour" else value)
        )
        rows.append(
            {
                "dimension": dimension,
                "value": label,
                "sessions": due,
                "no_shows": no_shows,
                "late_cancels": late_cancels,
                "no_show_rate": r.rate(no_shows, due),
                "late_cancel_rate": r.rate(late_cancels, due),
            }
        )
    return rows


def _courses(w: Window):
    return select(Course.id).where(
        Course.clinic_id == w.clinic_id, Course.start_on >= w.first, Course.start_on <= w.last
    )


def _loose_evaluation_days(w: Window) -> dict[int, list[date]]:
    """Per patient with a course started in the window: the local days of their attended
    evaluations outside any course (booked before the course was planned)."""
    patients = select(Course.patient_id).where(Course.id.in_(_courses(w)))
    query = select(TS.patient_id, TS.starts_at).where(
        TS.patient_id.in_(patients), TS.course_id.is_(None), TS.kind == "evaluation", TS.status.in_(r.ATTENDED)
    )
    days: dict[int, list[date]] = defaultdict(list)
    for patient_id, starts_at in db_session.execute(query):
        days[patient_id].append(local_date(starts_at, w.tz))
    return days


def funnel(w: Window) -> tuple[list[dict], float | None]:
    """The courses started in the window, by the furthest stage reached (attended sessions of the
    course; an evaluation outside any course counts when the rule book accepts it for the course's
    first dose), and the median days from the evaluation to the first dose."""
    attended = TS.status.in_(r.ATTENDED)
    evaluation = and_(TS.kind == "evaluation", attended)
    induction = and_(TS.kind == "dose", TS.phase == "induction", attended)

    def first(condition):
        return type_coerce(func.min(case((condition, TS.starts_at))), UTCDateTime())

    def count(condition):
        return func.sum(case((condition, 1), else_=0))

    query = (
        select(
            TS.course_id,
            count(evaluation),
            first(evaluation),
            count(induction),
            first(induction),
            count(and_(TS.kind == "follow_up", attended)),
            count(and_(TS.kind == "dose", TS.phase == "maintenance", attended)),
        )
        .where(TS.course_id.in_(_courses(w)))
        .group_by(TS.course_id)
    )
    by_course = {row[0]: row for row in db_session.execute(query)}
    loose = _loose_evaluation_days(w)
    known = protocols()
    facts, pairs = [], []
    for course_id, patient_id, protocol_key, start_on in db_session.execute(
        select(Course.id, Course.patient_id, Course.protocol_key, Course.start_on).where(Course.id.in_(_courses(w)))
    ):
        _, _, eval_at, doses, dose_at, follow_ups, maintenance = by_course.get(
            course_id, (course_id, 0, None, 0, None, 0, 0)
        )
        dose_day = local_date(dose_at, w.tz) if dose_at else None
        eval_day = local_date(eval_at, w.tz) if eval_at is not None else None  # any evaluation has a start
        if eval_day is None and patient_id in loose:
            protocol = known.get(protocol_key)
            spec = protocol.evaluation if protocol is not None else None
            eval_day = r.loose_evaluation_for(spec, loose[patient_id], dose_day, start_on)
        facts.append(
            {
                "evaluated": eval_day is not None,
                "induction_doses": int(doses or 0),
                "follow_ups": int(follow_ups or 0),
                "maintenance_doses": int(maintenance or 0),
            }
        )
        if eval_day and dose_day and dose_day >= eval_day:
            pairs.append((eval_day, dose_day))
    counts = r.funnel_stage_counts(facts)
    started = counts["started"]
    med = r.median_days(pairs)
    rows = [
        {
            "stage": stage,
            "label": label,
            "courses": counts[stage],
            "share": r.rate(counts[stage], started),
            "median_days_from_evaluation": med if stage == "first_dose" else None,
        }
        for stage, label in r.FUNNEL_STAGES
    ]
    return rows, med


def outcomes(w: Window) -> list[dict]:
    """Per protocol and instrument, over the courses started in the window with two or more scores:
    response (the instrument's drop from the first score to the latest) and remission."""
    A = Assessment
    spread = (
        select(A.course_id, A.instrument, func.min(A.taken_on).label("first"), func.max(A.taken_on).label("last"))
        .where(A.course_id.in_(_courses(w)), A.instrument.in_(RATING_SCALES))
        .group_by(A.course_id, A.instrument)
        .having(func.count() >= 2)
        .subquery()
    )
    query = (
        select(
            Course.protocol_key,
            spread.c.instrument,
            func.max(case((A.taken_on == spread.c.first, A.score))),
            func.min(case((A.taken_on == spread.c.last, A.score))),
        )
        .join(A, and_(A.course_id == spread.c.course_id, A.instrument == spread.c.instrument))
        .join(Course, Course.id == spread.c.course_id)
        .where(spread.c.first < spread.c.last)
        .group_by(Course.protocol_key, spread.c.course_id, spread.c.instrument)
    )
    groups: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for protocol, instrument, baseline, latest in db_session.execute(query):
        g = groups[(protocol, instrument)]
        g[0] += 1
        g[1] += r.responded(instrument, baseline, latest)
        g[2] += r.remitted(instrument, latest)
    rows = []
    for (protocol, instrument), (n, responders, remitters) in sorted(groups.items()):
        response, remission = r.criteria(instrument)
        rows.append(
            {
                "protocol": protocol,
                "instrument": instrument,
                "courses": n,
                "responders": responders,
                "response_rate": r.rate(responders, n),
                "remitters": remitters,
                "remission_rate": r.rate(remitters, n),
                "response_criterion": response,
                "remission_criterion": remission,
            }
        )
    return rows


def maintenance(w: Window) -> list[dict]:
    """Maintenance doses that took place in the window, per protocol: inside the due window the dose
    before them opened, early or late."""
    attended = TS.status.in_(r.ATTENDED)
    before = aliased(TS)
    previous = (
        select(func.max(before.starts_at))
        .where(
            before.course_id == TS.course_id,
            before.kind == "dose",
            before.status.in_(r.ATTENDED),
            before.starts_at < TS.starts_at,
        )
        .correlate(TS)
        .scalar_subquery()
    )
    doses = db_session.execute(
        select(TS.course_id, Course.protocol_key, TS.starts_at, type_coerce(previous, UTCDateTime()))
        .join(Course, Course.id == TS.course_id)
        .where(
            TS.clinic_id == w.clinic_id,
            TS.starts_at >= w.utc.start,
            TS.starts_at < w.utc.end,
            TS.kind == "dose",
            TS.phase == "maintenance",
            attended,
        )
    ).all()
    groups: dict[str, dict[str, int]] = defaultdict(lambda: {"early": 0, "inside": 0, "late": 0})
    known = protocols()
    for _, key, starts_at, previous_at in doses:
        proto = known.get(key)
        if proto is None or proto.maintenance is None or previous_at is None:
            continue
        timing = r.maintenance_timing(local_date(previous_at, w.tz), local_date(starts_at, w.tz), proto)
        groups[proto.key][timing] += 1
    return [
        {
            "protocol": key,
            "doses": sum(g.values()),
            "inside": g["inside"],
            "early": g["early"],
            "late": g["late"],
            "adherence": r.rate(g["inside"], sum(g.values())),
        }
        for key, g in sorted(groups.items())
    ]


# --- the answers ---------------------------------------------------------------------------------

COLUMNS = {
    "utilization": ("room_id", "room", "date", "used_minutes", "open_minutes", "utilization"),
    "attendance": ("dimension", "value", "sessions", "no_shows", "late_cancels", "no_show_rate", "late_cancel_rate"),
    "funnel": ("stage", "label", "courses", "share", "median_days_from_evaluation"),
    "outcomes": (
        "protocol",
        "instrument",
        "courses",
        "responders",
        "response_rate",
        "remitters",
        "remission_rate",
        "response_criterion",
        "remission_criterion",
    ),
    "maintenance": ("protocol", "doses", "inside", "early", "late", "adherence"),
}


def build(name: str, w: Window, by: str = "day") -> dict:
    """The report ``name`` over ``w`` as the API answers it (also used by the Reports page)."""
    body: dict = {"report": name, "clinic_id": w.clinic_id, "start": w.first.isoformat(), "end": w.last.isoformat()}
    if name == "utilization":
        body["by"] = by
        body["rows"] = utilization(w, by=by)
    elif name == "funnel":
        body["rows"], body["median_days_evaluation_to_first_dose"] = funnel(w)
    else:
        body["rows"] = {"attendance": attendance, "outcomes": outcomes, "maintenance": maintenance}[name](w)
    return body


def to_csv(name: str, body: dict) -> str:
    columns = list(COLUMNS[name])
    if name == "utilization" and body.get("by") == "week":
        columns[columns.index("date")] = "week"
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(body["rows"])
    return out.getvalue()
