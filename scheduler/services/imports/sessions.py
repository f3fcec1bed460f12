"""Import sessions, matched by ``external_id``: past ones as history, future ones through the rule book.

A row whose session started before now (or that is cancelled or a no-show) is history: it is written
with its status after the shape and double-booking checks only (the past is what it was). A future
``booked``/``proposed`` row goes through the rule book every booking goes through (``domain.flags.candidate_flags``,
over a context loaded once for the file: ``imports.future``): double bookings, slot holds and
error-severity flags refuse the row, warnings are reported. Every flag
becomes a problem on the row, in the column it is about. A second import of the same file finds
every ``external_id`` and changes nothing; a row whose status moved on (booked → completed) updates
the status; other changes to an imported session are refused (reschedule it in the scheduler).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from sqlalchemy import select

from scheduler.db import db_session
from scheduler.domain import imports as cells
from scheduler.domain.imports import ImportReport, Problem, RowOutcome
from scheduler.domain.intervals import overlaps
from scheduler.domain.timezones import NonexistentLocalTime, local_date, local_time, to_utc, wall_clock
from scheduler.domain.vocabulary import (
    DEAD_STATUSES,
    LIVE_STATUSES,
    MAX_SESSION_DURATION,
    PHASES,
    SESSION_KINDS,
    SESSION_STATUSES,
)
from scheduler.models import Clinic, Course, Room, StaffMember, TreatmentSession, utcnow
from scheduler.protocols_registry import protocols
from scheduler.services import audit, booking, scope
from scheduler.services.imports.future import FutureChecker
from scheduler.services.imports.patients import CHUNK, existing_by_mrn
from scheduler.services.windows import overlapping

# The column a flag (or refusal) code is about.
FLAG_COLUMNS = {
    "room_double_booked": "room",
    "room_unsuitable": "room",
    "patient_double_booked": "mrn",
    "dosing_hold": "mrn",
    "ride_home_missing": "mrn",
    "staff_over_capacity": "staff",
    "staff_unavailable": "staff",
    "course_active": "protocol",
}
FINISHED = ("checked_in", "completed", "no_show")
CANCELLED_REASON = "cancelled in the system it was imported from"


def _key(name: str) -> str:
    return " ".join(name.split()).casefold()


@dataclass
class Lookups:
    clinics: dict[str, list[Clinic]]
    rooms: dict[tuple[int, str], Room]
    staff: dict[tuple[int, str], list[StaffMember]]
    patients: dict
    sessions: dict[str, TreatmentSession]
    courses: dict[tuple[int, str], Course] = field(default_factory=dict)

    @classmethod
    def load(cls, rows) -> Lookups:
        clinics: dict[str, list[Clinic]] = {}
        for c in db_session.scalars(select(Clinic).where(scope.clinic_clause(Clinic.id)).order_by(Clinic.id)):
            clinics.setdefault(_key(c.name), []).append(c)
        rooms = {(r.clinic_id, _key(r.name)): r for r in db_session.scalars(select(Room))}
        staff: dict[tuple[int, str], list[StaffMember]] = {}
        for m in db_session.scalars(select(StaffMember).order_by(StaffMember.id)):
            staff.setdefault((m.clinic_id, _key(m.name)), []).append(m)
        patients = existing_by_mrn(sorted({r["mrn"] for _, r in rows if r.get("mrn")}))
        ids = sorted({r["external_id"] for _, r in rows if r.get("external_id")})
        existing: dict[str, TreatmentSession] = {}
        for i in range(0, len(ids), CHUNK):
            for s in db_session.scalars(
                select(TreatmentSession).where(TreatmentSession.external_id.in_(ids[i : i + CHUNK]))
            ):
                if s.external_id is not None:  # always: it is one of ``ids``
                    existing[s.external_id] = s
        courses: dict[tuple[int, str], Course] = {}
        patient_ids = sorted(p.id for p in patients.values())
        for i in range(0, len(patient_ids), CHUNK):
            for course in db_session.scalars(
                select(Course)
                .where(Course.patient_id.in_(patient_ids[i : i + CHUNK]))
                .order_by(Course.start_on, Course.id)
            ):
                courses[(course.patient_id, course.protocol_key)] = course  # the latest of that protocol wins
        return cls(clinics, rooms, staff, patients, existing, courses)


@dataclass
class Row:
    external_id: str
    patient_id: int
    clinic: Clinic
    kind: str
    starts_at: datetime
    ends_at: datetime
    room_id: int
    staff_member_id: int | None
    status: str
    protocol: str | None
    phase: str | None
    sequence: int | None


def _instant(line: int, column: str, cell: str, tz: str, problems: list[Problem]) -> datetime | None:
    try:
        day, at = cells.local_datetime(cell)
        return to_utc(day, at, tz)
    except cells.CellError as exc:
        problems.append(Problem(line, column, str(exc), code="invalid"))
    except NonexistentLocalTime as exc:
        problems.append(Problem(line, column, str(exc), code="nonexistent_local_time"))
    return None


def _parse(line: int, row: dict[str, str], known: Lookups, problems: list[Problem], now: datetime) -> Row | None:
    def need(column: str) -> str | None:
        cell = row.get(column, "")
        if cell == "":
            problems.append(Problem(line, column, "a value is required", code="required"))
            return None
        return cell

    def check(column: str, parse, cell: str):
        try:
            return parse(cell)
        except cells.CellError as exc:
            problems.append(Problem(line, column, str(exc), code="invalid"))
            return None

    external_id = need("external_id")
    if external_id is not None:
        check("external_id", lambda c: cells.text(c, max_length=100), external_id)
    mrn = need("mrn")
    patient = known.patients.get(mrn) if mrn else None
    if mrn and patient is None:
        problems.append(
            Problem(line, "mrn", f"no patient has MRN {mrn} (import the patients first)", code="unknown_patient")
        )
    clinic = None
    if (name := need("clinic")) is not None:
        found = known.clinics.get(_key(name), [])
        if len(found) != 1:
            names = sorted(c[0].name for c in known.clinics.values())
            problems.append(
                Problem(
                    line,
                    "clinic",
                    f"{'several clinics are' if found else 'no clinic is'} named "
                    f"{name!r} (clinics: {', '.join(names) or 'none yet'})",
                    code="unknown_clinic",
                )
            )
        else:
            clinic = found[0]
    kind = need("kind")
    if kind is not None:
        kind = check("kind", lambda c: cells.choice(c, SESSION_KINDS), kind)
    starts_at = ends_at = None
    start_cell, end_cell = need("start"), need("end")
    if clinic is not None:
        if start_cell is not None:
            starts_at = _instant(line, "start", start_cell, clinic.timezone, problems)
        if end_cell is not None:
            ends_at = _instant(line, "end", end_cell, clinic.timezone, problems)
    if starts_at and ends_at:
        if ends_at <= starts_at:
            problems.append(Problem(line, "end", f"{end_cell} is not after the start {start_cell}", code="invalid"))
        elif ends_at - starts_at > MAX_SESSION_DURATION:
            problems.append(Problem(line, "end", f"a session lasts at most {MAX_SESSION_DURATION}", code="invalid"))
    room = None
    if (room_name := need("room")) is not None and clinic is not None:
        room = known.rooms.get((clinic.id, _key(room_name)))
        if room is None:
            problems.append(
                Problem(line, "room", f"{clinic.name} has no room named {room_name!r}", code="unknown_room")
            )
    staff_id = None
    if (staff_name := row.get("staff", "")) and clinic is not None:
        found_staff = known.staff.get((clinic.id, _key(staff_name)), [])
        if len(found_staff) != 1:
            problems.append(
                Problem(
                    line,
                    "staff",
                    f"{clinic.name} has {'several staff members' if found_staff else 'no staff member'} "
                    f"named {staff_name!r}",
                    code="unknown_staff",
                )
            )
        else:
            staff_id = found_staff[0].id
    status = check("status", lambda c: cells.choice(c, SESSION_STATUSES), row.get("status") or "booked")
    if status in FINISHED and starts_at is not None and starts_at > now:
        problems.append(
            Problem(line, "status", f"a session that has not started yet cannot be {status}", code="invalid")
        )
    protocol = row.get("protocol") or None
    if protocol is not None and protocol not in protocols():
        problems.append(
            Problem(
                line,
                "protocol",
                f"{protocol!r} is not a protocol here ({', '.join(sorted(protocols()))})",
                code="unknown_protocol",
            )
        )
    phase = row.get("phase") or None
    if phase is not None:
        phase = check("phase", lambda c: cells.choice(c, PHASES), phase)
        if phase and kind and kind != "dose":
            problems.append(Problem(line, "phase", "only doses have a phase", code="invalid"))
    elif kind == "dose":
        phase = "induction"
    sequence = row.get("sequence") or None
    if sequence is not None:
        sequence = check("sequence", cells.whole_number, sequence)
    if any(p.severity == "error" for p in problems):
        return None
    if (
        external_id is None
        or patient is None
        or clinic is None
        or kind is None
        or starts_at is None
        or ends_at is None
        or room is None
    ):  # never: a missing or unreadable required cell is an error above
        raise ValueError(f"Line {line}: a required cell is missing but no error says so.")
    return Row(
        external_id, patient.id, clinic, kind, starts_at, ends_at, room.id, staff_id, status, protocol, phase, sequence
    )


def _course(actor_id: int | None, row: Row, known: Lookups, reason: str) -> Course | None:
    if row.protocol is None:
        return None
    course = known.courses.get((row.patient_id, row.protocol))
    first_day = local_date(row.starts_at, row.clinic.timezone)
    if course is None:
        course = Course(
            patient_id=row.patient_id,
            clinic_id=row.clinic.id,
            protocol_key=row.protocol,
            start_on=first_day,
            preferences={},
            status="planned",
        )
        db_session.add(course)
        audit.record(actor_id, "course.create", course, reason=reason)
        known.courses[(row.patient_id, row.protocol)] = course
    elif first_day < course.start_on and course.id is not None:
        course.start_on = first_day
    return course


def _route(row: Row) -> str | None:
    if row.kind != "dose" or row.protocol is None:
        return None
    spec = protocols()[row.protocol].spec_for("dose", row.phase)
    return getattr(spec, "route", None)


def _request(row: Row, course: Course | None) -> booking.SessionRequest:
    return booking.SessionRequest(
        clinic_id=row.clinic.id,
        patient_id=row.patient_id,
        room_id=row.room_id,
        kind=row.kind,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        staff_member_id=row.staff_member_id,
        course_id=course.id if course else None,
        phase=row.phase,
        sequence=row.sequence,
        route=_route(row),
    )


class Occupancy:
    """The live sessions holding the file's rooms and patients over its span, plus the rows taken so
    far, indexed by (resource, UTC start date): the double-booking check of history rows without a
    query per row (``intervals.overlaps``, the predicate ``conflicts.overlap_clause`` asks in SQL)."""

    def __init__(self) -> None:
        self.index: dict[tuple[str, int, date], list[tuple[datetime, datetime, str]]] = defaultdict(list)

    @classmethod
    def load(cls, rows: list[Row]) -> Occupancy:
        occ = cls()
        if not rows:
            return occ
        start, end = min(r.starts_at for r in rows), max(r.ends_at for r in rows)
        TS = TreatmentSession
        for resource, ids in (
            ("room", sorted({r.room_id for r in rows})),
            ("patient", sorted({r.patient_id for r in rows})),
        ):
            column = TS.room_id if resource == "room" else TS.patient_id
            for i in range(0, len(ids), CHUNK):
                query = (
                    select(TS.id, TS.room_id, TS.patient_id, TS.kind, TS.starts_at, TS.ends_at, Clinic.timezone)
                    .join(Clinic, Clinic.id == TS.clinic_id)
                    .where(
                        column.in_(ids[i : i + CHUNK]),
                        TS.status.in_(LIVE_STATUSES),
                        overlapping(TS.starts_at, TS.ends_at, start, end),
                    )
                )
                for sid, room_id, patient_id, kind, s, e, tz in db_session.execute(query):
                    label = f"session {sid} ({kind}, {wall_clock(s, tz)}–{local_time(e, tz):%H:%M})"
                    occ._put(resource, room_id if resource == "room" else patient_id, s, e, label)
        return occ

    def _put(self, field: str, ident: int, s: datetime, e: datetime, label: str) -> None:
        self.index[(field, ident, s.date())].append((s, e, label))

    def add(self, row: Row, label: str) -> None:
        self._put("room", row.room_id, row.starts_at, row.ends_at, label)
        self._put("patient", row.patient_id, row.starts_at, row.ends_at, label)

    def clash(self, field: str, ident: int, s: datetime, e: datetime) -> str | None:
        day, last = (s - MAX_SESSION_DURATION).date(), e.date()
        while day <= last:
            for a, b, label in self.index.get((field, ident, day), ()):
                if overlaps(a, b, s, e):
                    return label
            day += timedelta(days=1)
        return None


def _history(
    row: Row, course: Course | None, line: int, problems: list[Problem], taken: Occupancy
) -> TreatmentSession | None:
    """A past (or cancelled) session as it was: only its shape and double bookings are checked."""
    if row.status not in DEAD_STATUSES:
        for resource, ident, column in (("room", row.room_id, "room"), ("patient", row.patient_id, "mrn")):
            other = taken.clash(resource, ident, row.starts_at, row.ends_at)
            if other:
                problems.append(
                    Problem(
                        line,
                        column,
                        f"The session clashes with {other}: the {resource} is already booked.",
                        code=f"{resource}_double_booked",
                    )
                )
                return None
    session = booking.new_session(_request(row, course), row.status)
    session.external_id = row.external_id
    if row.status == "cancelled":
        session.cancel_reason = CANCELLED_REASON
    db_session.add(session)
    return session


def _future(
    row: Row, course: Course | None, line: int, problems: list[Problem], taken: Occupancy, checker: FutureChecker
) -> TreatmentSession | None:
    """A future session through the rule book: a double booking, a slot hold or an error flag
    refuses the row; warnings are reported on it."""
    for resource, ident, column in (("room", row.room_id, "room"), ("patient", row.patient_id, "mrn")):
        other = taken.clash(resource, ident, row.starts_at, row.ends_at)
        if other:
            problems.append(
                Problem(
                    line,
                    column,
                    f"The session clashes with {other}: the {resource} is already booked.",
                    code=f"{resource}_double_booked",
                )
            )
            return None
    req = _request(row, course)
    candidate = req.as_session()
    hold = checker.hold_on(candidate)
    if hold is not None:
        hold_id = -hold.id if hold.id is not None else None  # holds.as_sessions: a hold's id, negated
        problems.append(
            Problem(
                line,
                "room" if hold.room_id == row.room_id else "mrn",
                f"The slot is held for a booking in progress (hold {hold_id}, "
                f"{wall_clock(hold.starts_at, row.clinic.timezone)}–"
                f"{local_time(hold.ends_at, row.clinic.timezone):%H:%M}).",
                code="slot_held",
            )
        )
        return None
    found = checker.flags(candidate, course)
    problems.extend(
        Problem(line, FLAG_COLUMNS.get(f.code, "start"), f.message, severity=f.severity, code=f.code) for f in found
    )
    if any(f.severity == "error" for f in found):
        return None
    checker.taken(replace(candidate, id=-line))
    session = booking.new_session(req, row.status)
    session.external_id = row.external_id
    db_session.add(session)
    return session


def _compare(
    actor_id: int | None,
    row: Row,
    existing: TreatmentSession,
    known: Lookups,
    line: int,
    problems: list[Problem],
    reason: str,
) -> str:
    """``unchanged``, ``update`` (the status moved on) or ``refused`` (anything else differs)."""
    course = db_session.get(Course, existing.course_id) if existing.course_id else None
    differs = [
        column
        for column, same in (
            ("mrn", existing.patient_id == row.patient_id),
            ("clinic", existing.clinic_id == row.clinic.id),
            ("kind", existing.kind == row.kind),
            ("start", existing.starts_at == row.starts_at),
            ("end", existing.ends_at == row.ends_at),
            ("room", existing.room_id == row.room_id),
            ("staff", existing.staff_member_id == row.staff_member_id),
            ("protocol", (course.protocol_key if course else None) == row.protocol),
            ("phase", existing.phase == row.phase),
            ("sequence", row.sequence is None or existing.sequence == row.sequence),
        )
        if not same
    ]
    for column in differs:
        problems.append(
            Problem(
                line,
                column,
                f"session {existing.external_id} was imported before (id {existing.id}) "
                f"with another {column}; the import does not change it (reschedule "
                "or correct it in the scheduler)",
                code="changed",
            )
        )
    if differs:
        return "refused"
    if existing.status == row.status:
        return "unchanged"
    if existing.status in ("completed", *DEAD_STATUSES):
        problems.append(
            Problem(
                line,
                "status",
                f"session {existing.external_id} is already {existing.status}",
                code="invalid_transition",
            )
        )
        return "refused"
    before = audit.snapshot(existing)
    existing.status = row.status
    if row.status == "cancelled":
        existing.cancel_reason = CANCELLED_REASON
    db_session.flush()
    audit.record(actor_id, "session.update", existing, before=before, reason=reason)
    return "update"


def _take(
    outcome: RowOutcome,
    row: Row,
    session: TreatmentSession | None,
    known: Lookups,
    taken: Occupancy,
    written: list,
    created: list,
    courses: set[int],
) -> None:
    if session is None:
        return
    if session.status not in DEAD_STATUSES:
        taken.add(row, f"line {outcome.line} ({row.external_id})")
    known.sessions[row.external_id] = session
    if session.course_id is not None:
        courses.add(session.course_id)
    outcome.action = "create"
    written.append(session)
    created.append((outcome, session))


def import_rows(
    actor_id: int | None,
    rows: list[tuple[int, dict[str, str]]],
    report: ImportReport,
    *,
    reason: str,
    now: datetime | None = None,
) -> None:
    now = now or utcnow()
    known = Lookups.load(rows)
    first_line: dict[str, int] = {}
    parsed: list[tuple[RowOutcome, Row]] = []
    for line, cells_of_row in rows:
        problems: list[Problem] = []
        key = cells_of_row.get("external_id", "")
        outcome = RowOutcome(line=line, key=key, action="refused", problems=problems)
        report.rows.append(outcome)
        if key and key in first_line:
            problems.append(
                Problem(line, "external_id", f"{key} is also on line {first_line[key]} of this file", code="duplicate")
            )
        first_line.setdefault(key, line)
        row = _parse(line, cells_of_row, known, problems, now)
        if row is not None and not problems:
            parsed.append((outcome, row))
    taken = Occupancy.load([row for _, row in parsed if row.external_id not in known.sessions])
    written: list[TreatmentSession] = []
    created: list[tuple[RowOutcome, TreatmentSession]] = []
    courses: set[int] = set()
    later: list[tuple[RowOutcome, Row]] = []
    # History first (and rows seen before), then the future ones against a context that holds it.
    for outcome, row in parsed:
        existing = known.sessions.get(row.external_id)
        if existing is not None:
            outcome.action = _compare(actor_id, row, existing, known, outcome.line, outcome.problems, reason)
            outcome.entity_id = existing.id
        elif row.starts_at < now or row.status in DEAD_STATUSES:
            _take(
                outcome,
                row,
                _history(row, _course(actor_id, row, known, reason), outcome.line, outcome.problems, taken),
                known,
                taken,
                written,
                created,
                courses,
            )
        else:
            later.append((outcome, row))
    if later:
        db_session.flush()
        checker = FutureChecker([row for _, row in later], [row.patient_id for _, row in later], now)
        for outcome, row in later:
            course = _course(actor_id, row, known, reason)
            _take(
                outcome,
                row,
                _future(row, course, outcome.line, outcome.problems, taken, checker),
                known,
                taken,
                written,
                created,
                courses,
            )
    db_session.flush()
    for outcome, session in created:
        outcome.entity_id = session.id
    # One audit event per session written, in one flush.
    db_session.add_all(
        [
            audit.event(actor_id, "session.book", s.__tablename__, s.id, after=audit.snapshot(s), reason=reason)
            for s in written
        ]
    )
    from scheduler.services.courses import advance

    for course_id in sorted(courses):
        advance(actor_id, course_id)
    db_session.flush()
