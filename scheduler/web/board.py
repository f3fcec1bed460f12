"""Day board, week view, flags worklist and open chair time (front desk)."""

from __future__ import annotations

from datetime import timedelta

from flask import flash, render_template, request

from scheduler import access
from scheduler.domain.flags import ALL_CODES, SEVERITIES, severity_rank, worst_severity
from scheduler.domain.vocabulary import SESSION_KINDS, SESSION_STATUSES
from scheduler.services import dayboard
from scheduler.services import flags as flag_service
from scheduler.web import lookups, worklist
from scheduler.web.context import current_clinic, date_arg, today
from scheduler.web.frontdesk import bp
from scheduler.web.geometry import DayAxis
from scheduler.web.security import page

MAX_FLAG_DAYS = 93


def _no_clinic():
    return render_template(
        "error.html",
        status=404,
        title="No clinic yet",
        message="Create a clinic first (scheduler demo loads a demo clinic).",
    ), 404


def board_view(board) -> dict:
    """The day board's blocks placed on an hour axis (presentation only)."""
    spans = [(iv.start, iv.end) for iv in board.hours]
    spans += [(s.starts_at, s.ends_at) for r in board.rooms for s in r.sessions]
    axis = DayAxis.covering(board.day, board.clinic.timezone, spans)
    closed = []  # shaded: outside the weekly hours
    cursor = axis.start
    end_of_axis = axis.start + timedelta(minutes=axis.minutes)
    for iv in board.hours:
        if iv.start > cursor:
            closed.append(axis.box(cursor, iv.start))
        cursor = max(cursor, iv.end)
    if cursor < end_of_axis:
        closed.append(axis.box(cursor, end_of_axis))
    closures = [{**axis.box(iv.start, iv.end), "reason": c.reason} for iv, c in board.closures]
    rooms = []
    for r in board.rooms:
        blocks = []
        for s in r.sessions:
            flags = board.flags_by_session.get(s.id, [])
            worst = worst_severity(f.severity for f in flags)
            minutes = (s.ends_at - s.starts_at).total_seconds() / 60
            blocks.append(
                {
                    "s": s,
                    "box": axis.box(s.starts_at, s.ends_at),
                    "flags": flags,
                    "worst": worst,
                    "compact": minutes * 1.0 / axis.minutes < COMPACT_SHARE,
                    "short_name": short_name(s.patient.name),
                }
            )
        idle = [
            {**axis.box(f.starts_at, f.ends_at), "message": f.message}
            for f in r.idle
            if f.starts_at is not None and f.ends_at is not None
        ]
        rooms.append({"room": r.room, "blocks": blocks, "idle": idle})
    # the day's flags once each (a flag naming two sessions is on both blocks), sessions on the board
    shown, day_flags = set(), []
    for row in rooms:
        for b in row["blocks"]:
            for f in b["flags"]:
                if (f.code, f.message) not in shown:
                    shown.add((f.code, f.message))
                    day_flags.append((b["s"].id, f))
    day_flags.sort(key=lambda item: (severity_rank(item[1].severity), item[1].message))
    agenda = sorted(
        ((b, row["room"]) for row in rooms for b in row["blocks"]),
        key=lambda item: (item[0]["s"].starts_at, item[1].name, item[0]["s"].id),
    )
    return {"axis": axis, "closed": closed, "closures": closures, "rooms": rooms, "flags": day_flags, "agenda": agenda}


# A block shorter than this share of the axis (about 45 minutes of a 13-hour day) is drawn compact:
# first name and initial, wrapping instead of cut; hover or keyboard focus shows it whole.
COMPACT_SHARE = 0.058


def short_name(name: str) -> str:
    """ "Eli Kowalczyk" → "Eli K." (a one-word name stays whole)."""
    words = name.split()
    if len(words) < 2:
        return name
    return f"{words[0]} {words[-1][0]}."


def _date_or_today(clinic):
    """The ?date= asked for, or the clinic's today (with a warning when the date was unreadable)."""
    day, problem = date_arg("date", today(clinic.timezone))
    if problem:
        flash(problem, "warning")
    return day


@bp.get("/board")
@access.logged
@page("read_schedule")
def day_board():
    clinic = current_clinic()
    if clinic is None:
        return _no_clinic()
    day = _date_or_today(clinic)
    board = dayboard.day_board(clinic.id, day)
    _log_board("schedule", [board])
    return render_template(
        "frontdesk/day_board.html",
        clinic=clinic,
        board=board,
        view=board_view(board),
        day=day,
        today=today(clinic.timezone),
        kinds=SESSION_KINDS,
        statuses=SESSION_STATUSES,
        prev_day=day - timedelta(days=1),
        next_day=day + timedelta(days=1),
    )


@bp.get("/week")
@access.logged
@page("read_schedule")
def week():
    clinic = current_clinic()
    if clinic is None:
        return _no_clinic()
    day = _date_or_today(clinic)
    monday = day - timedelta(days=day.weekday())
    boards = [dayboard.day_board(clinic.id, monday + timedelta(days=i)) for i in range(7)]
    _log_board("schedule", boards)
    return render_template(
        "frontdesk/week.html",
        clinic=clinic,
        boards=boards,
        monday=monday,
        today=today(clinic.timezone),
        kinds=SESSION_KINDS,
        statuses=SESSION_STATUSES,
        prev_week=monday - timedelta(days=7),
        next_week=monday + timedelta(days=7),
    )


def _log_board(what: str, boards) -> None:
    """The access log: every patient a day board (or a week of them) shows, in sessions or flags."""
    access.log_read(
        what,
        *(s.patient_id for b in boards for r in b.rooms for s in r.sessions),
        *(f.patient_id for b in boards for f in b.other_flags if f.patient_id),
    )


def _flag_filters(clinic):
    errors: dict[str, str] = {}
    first, problem = date_arg("start", today(clinic.timezone))
    if problem:
        errors["start"] = problem
    last, problem = date_arg("end", first + timedelta(days=27))
    if problem:
        errors["end"] = problem
    if last < first:
        errors["end"] = "The last date is before the first."
        last = first
    if (last - first).days >= MAX_FLAG_DAYS:
        errors["end"] = f"Look at {MAX_FLAG_DAYS} days at most at once."
        last = first + timedelta(days=MAX_FLAG_DAYS - 1)
    severity = request.args.get("severity") or ""
    if severity and severity not in SEVERITIES:
        errors["severity"] = "Choose error, warning or info."
        severity = ""
    code = request.args.get("code") or ""
    if code and code not in ALL_CODES:
        errors["code"] = "Unknown flag code."
        code = ""
    return first, last, severity, code, errors


def fix_link(f) -> str:
    """Where a flag is fixed (``worklist.fix``), for pages that list single flags."""
    return worklist.fix(worklist.Row(f.code, f.severity, [f]), replannable=lookups.missed_dose)[1]


@bp.get("/flags")
@access.logged
@page("book")
def flags():
    clinic = current_clinic()
    if clinic is None:
        return _no_clinic()
    first, last, severity, code, errors = _flag_filters(clinic)
    found = flag_service.for_clinic(clinic.id, first, last)
    # Open chair time has its own page; the worklist shows it only when asked for by code.
    idle = sum(1 for f in found if f.code == "idle_chair_time")
    if code != "idle_chair_time":
        found = [f for f in found if f.code != "idle_chair_time"]
    # REMS forms owed now, whenever their dose was (the range usually starts today)
    found = sorted(set(found) | set(flag_service.owed_rems_forms(clinic.id)), key=lambda f: f.sort_key())
    rows = worklist.rows(found, replannable=lookups.missed_dose)
    shown = [r for r in rows if (not severity or r.severity == severity) and (not code or r.code == code)]
    counts = {s: sum(1 for r in rows if r.severity == s) for s in SEVERITIES}
    access.log_read("flags", *(r.patient_id for r in shown if r.patient_id))
    from scheduler.services import waitlist

    offers = len(waitlist.offers(clinic.id))
    return render_template(
        "frontdesk/flags.html",
        clinic=clinic,
        rows=shown,
        counts=counts,
        total=len(rows),
        offers=offers,
        first=first,
        last=last,
        severity=severity,
        code=code,
        errors=errors,
        severities=SEVERITIES,
        idle=idle,
        today=today(clinic.timezone),
        codes=sorted(ALL_CODES, key=worklist.title),
        title_of=worklist.title,
        patients=_patient_names({r.patient_id for r in shown if r.patient_id}),
        sessions=lookups.session_times({i for r in shown for i in r.session_ids}),
    )


def _patient_names(ids: set[int]) -> dict[int, str]:
    from scheduler.web.lookups import patient_names

    return patient_names(ids)


WAITING_CODES = (
    "induction_gap",
    "induction_incomplete",
    "maintenance_due",
    "maintenance_overdue",
    "follow_up_missing",
    "integration_missing",
)


@bp.get("/open-time")
@access.logged
@page("book")
def open_time():
    clinic = current_clinic()
    if clinic is None:
        return _no_clinic()
    first, problem = date_arg("date", today(clinic.timezone))
    if problem:
        flash(problem, "warning")
    days = max(1, min(14, request.args.get("days", 7, type=int) or 7))
    last = first + timedelta(days=days - 1)
    found = flag_service.for_clinic(clinic.id, first, last)
    idle = [f for f in found if f.code == "idle_chair_time"]
    waiting = [f for f in found if f.code in WAITING_CODES and f.patient_id]
    access.log_read("flags", *(f.patient_id for f in waiting))
    return render_template(
        "frontdesk/open_time.html",
        clinic=clinic,
        idle=idle,
        waiting=waiting,
        first=first,
        last=last,
        days=days,
        fix_link=fix_link,
        rooms={r.id: r for r in clinic.rooms},
        patients=_patient_names({f.patient_id for f in waiting}),
    )
