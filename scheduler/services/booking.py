"""The guarded writes of a booking — the writes that must never double-book (``services.sessions``
books, cancels and performs the session actions through them).

PostgreSQL: a plain INSERT guarded by the exclusion constraints; the Python check beforehand only
names the clash nicely. A racing writer that slips past the check hits the constraint (SQLSTATE
23P01, or 40P01 when two conflicting inserters deadlock) inside a savepoint, which becomes the same
409. SQLite: the write transaction began with BEGIN IMMEDIATE, so the check and the insert run
serialised and the check is authoritative.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy import Table, bindparam, cast, func, literal_column, select, union_all
from sqlalchemy import insert as sa_insert
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.sql.schema import ScalarElementColumnDefault

from scheduler.db import db_session
from scheduler.domain.timezones import local_time, wall_clock
from scheduler.domain.values import Session
from scheduler.domain.vocabulary import MAX_SESSION_DURATION
from scheduler.errors import CONFLICT_SQLSTATES, Conflict, UnprocessableError, sqlstate
from scheduler.models import AuditEvent, Clinic, Message, TreatmentSession, utcnow
from scheduler.services import audit, outbox
from scheduler.services.conflicts import clashes_among, describe, find_clashes


@dataclass(frozen=True)
class SessionRequest:
    clinic_id: int
    patient_id: int
    room_id: int
    kind: str
    starts_at: datetime
    ends_at: datetime
    staff_member_id: int | None = None
    course_id: int | None = None
    phase: str | None = None
    sequence: int | None = None
    route: str | None = None
    dose_mg: Decimal | None = None
    notes: str | None = None
    override_reason: str | None = None

    def as_session(self, id: int | None = None) -> Session:
        """The booking it asks for as the domain's session (what the rule book judges)."""
        return Session(
            id=id,
            patient_id=self.patient_id,
            starts_at=self.starts_at,
            ends_at=self.ends_at,
            room_id=self.room_id,
            kind=self.kind,
            status="booked",
            clinic_id=self.clinic_id,
            course_id=self.course_id,
            phase=self.phase,
            sequence=self.sequence,
            route=self.route,
            staff_member_id=self.staff_member_id,
            override_reason=self.override_reason,
        )


class Placed(Protocol):
    """A session the planner or the slot search placed: a proposal, a move, a moved session."""

    @property
    def kind(self) -> str: ...
    @property
    def room_id(self) -> int | None: ...


def placed_room(placed: Placed) -> int:
    """The room the planner or the slot search placed a session in: they place none without a room
    (``SlotFinder.resources``); the domain's ``room_id`` is Optional only as a domain Session's may be."""
    if placed.room_id is None:
        raise ValueError(f"A {placed.kind} session was placed without a room.")
    return placed.room_id


def refuse_double_booking(clashes, what: str = "The session") -> None:
    if not clashes:
        return
    resource, first = clashes[0]
    noun = "room" if resource == "room" else "patient"
    tz = db_session.get_one(Clinic, first.clinic_id).timezone
    raise Conflict(
        f"{what} clashes with session {first.id} ({first.kind}, {wall_clock(first.starts_at, tz)}–"
        f"{local_time(first.ends_at, tz):%H:%M}): the {noun} is already booked.",
        code=f"{noun}_double_booked",
        conflicts=describe(clashes),
    )


def refuse_clashes(
    *,
    room_id: int | None,
    patient_id: int | None,
    starts_at: datetime,
    ends_at: datetime,
    exclude_ids: tuple[int, ...] = (),
    what: str = "The session",
    among=None,
    held=None,
) -> None:
    """409 naming the clashing session when the room or the patient is already booked, or held
    through FHIR $hold for a booking in progress (``holds.refuse_held``). ``among``: sessions already
    loaded that hold every live session of the room and the patient around the time (the write
    gate's): the clash is found in them instead of by a query. ``held``: likewise the live holds on
    the room and the patient around the time (``flags.gate_context``): the holds are read again
    only to name one that is in the way."""
    clashes = (
        find_clashes(
            room_id=room_id, patient_id=patient_id, starts_at=starts_at, ends_at=ends_at, exclude_ids=exclude_ids
        )
        if among is None
        else clashes_among(
            among, room_id=room_id, patient_id=patient_id, starts_at=starts_at, ends_at=ends_at, exclude_ids=exclude_ids
        )
    )
    refuse_double_booking(clashes, what)
    from scheduler.services.holds import held_among, refuse_held

    if held is not None and not held_among(
        held, room_id=room_id, patient_id=patient_id, starts_at=starts_at, ends_at=ends_at
    ):
        return
    refuse_held(room_id=room_id, patient_id=patient_id, starts_at=starts_at, ends_at=ends_at, what=what)


def check_shape(starts_at: datetime, ends_at: datetime) -> None:
    if not starts_at < ends_at:
        raise UnprocessableError("The session must end after it starts.", field="ends_at")
    if ends_at - starts_at > MAX_SESSION_DURATION:
        raise UnprocessableError(f"A session lasts at most {MAX_SESSION_DURATION}.", field="ends_at")


def flush_guarded(sessions: list[TreatmentSession], *, savepoint: bool = True) -> None:
    """Add and flush new sessions inside a savepoint; a concurrent double booking caught by the
    database (PostgreSQL's exclusion constraints) becomes the same 409 as the check before it.
    ``savepoint=False``: the transaction holds nothing else worth keeping; on such a clash it is
    rolled back (the 409 then names the clash from a fresh read)."""
    try:
        if savepoint:
            with db_session.begin_nested():
                db_session.add_all(sessions)
                db_session.flush()
        else:
            db_session.add_all(sessions)
            db_session.flush()
    except DBAPIError as exc:
        if sqlstate(exc) not in CONFLICT_SQLSTATES:
            raise
        if not savepoint:
            db_session.rollback()
        for s in sessions:
            refuse_clashes(room_id=s.room_id, patient_id=s.patient_id, starts_at=s.starts_at, ends_at=s.ends_at)
        raise Conflict(
            "Another booking for this room or patient was made at the same time; reload and choose again.",
            code="concurrent_write",
        ) from exc


def flush_update_guarded(session: TreatmentSession) -> None:
    """Flush a change that makes ``session`` hold its room and patient again (a reinstatement)
    inside a savepoint: a concurrent booking of the slot caught by PostgreSQL's exclusion
    constraints becomes the same 409 as the check before it; a concurrent change of the session
    itself (its version) becomes 409 ``stale``."""
    from sqlalchemy.orm.exc import StaleDataError

    session_id, room_id, patient_id = session.id, session.room_id, session.patient_id
    starts_at, ends_at = session.starts_at, session.ends_at
    try:
        with db_session.begin_nested():
            db_session.flush()
    except StaleDataError as exc:
        raise Conflict(
            f"Session {session_id} was changed by someone else at the same time; reload it.",
            code="stale",
            field="version",
        ) from exc
    except DBAPIError as exc:
        if sqlstate(exc) not in CONFLICT_SQLSTATES:
            raise
        refuse_clashes(
            room_id=room_id,
            patient_id=patient_id,
            starts_at=starts_at,
            ends_at=ends_at,
            exclude_ids=(session_id,),
            what="The cancelled session's slot",
        )
        raise Conflict(
            "Another booking for this room or patient was made at the same time; reload and choose again.",
            code="concurrent_write",
        ) from exc


def new_session(req: SessionRequest, status: str = "booked") -> TreatmentSession:
    return TreatmentSession(
        clinic_id=req.clinic_id,
        patient_id=req.patient_id,
        room_id=req.room_id,
        staff_member_id=req.staff_member_id,
        course_id=req.course_id,
        kind=req.kind,
        phase=req.phase,
        sequence=req.sequence,
        route=req.route,
        dose_mg=req.dose_mg,
        starts_at=req.starts_at,
        ends_at=req.ends_at,
        status=status,
        notes=req.notes,
        override_reason=req.override_reason,
    )


def insert(
    actor_id: int | None, req: SessionRequest, *, status: str = "booked", savepoint: bool = True
) -> TreatmentSession:
    """Write a session whose shape and clashes the caller has just checked (guarded, audited;
    ``savepoint`` as for ``flush_guarded``). Without a savepoint (an API booking, the
    transaction's only work) the row and its audit event are written by Core statements instead of
    the ORM's unit of work (``_insert_audited``)."""
    session = new_session(req, status)
    if not savepoint:
        return _insert_audited(actor_id, session, reason=req.override_reason)
    flush_guarded([session], savepoint=savepoint)
    audit.write(actor_id, "session.book", session, reason=req.override_reason)
    return session


_TS = typing.cast(Table, TreatmentSession.__table__)
_AUDIT = typing.cast(Table, AuditEvent.__table__)
_MESSAGE = typing.cast(Table, Message.__table__)
_WRITTEN = tuple(c.key for c in _TS.columns if c.key != "id")  # every column but the id, given explicitly
# a booking's messages: every column an outbox row starts with but its session's id
_MESSAGE_WRITTEN = (
    "kind",
    "channel",
    "recipient",
    "patient_id",
    "offer_id",
    "due_at",
    "status",
    "attempts",
    "created_at",
)
_STATEMENTS: dict[int, Any] = {}


def _audited_insert_pg(messages: int = 0):
    """One statement: the session's INSERT … RETURNING its id as a CTE, the audit event's INSERT
    selecting from it (the event's ``after`` gets the new id by ``jsonb_set``) and, for
    ``messages`` > 0, the INSERT of that many outbox rows selecting the session's id from it (a
    further CTE: ``m{i}_{column}`` parameters, one row each); returns the id."""
    if (found := _STATEMENTS.get(messages)) is not None:
        return found
    A, M = _AUDIT, _MESSAGE
    booked = (
        sa_insert(_TS)
        .values({k: bindparam(f"s_{k}", type_=_TS.c[k].type) for k in _WRITTEN})
        .returning(_TS.c.id)
        .cte("booked")
    )
    after = cast(
        func.jsonb_set(
            cast(bindparam("a_after", type_=A.c.after.type), JSONB),
            literal_column("'{id}'"),
            func.to_jsonb(booked.c.id),
        ),
        A.c.after.type,
    )
    given = ("at", "actor_id", "actor", "action", "entity_type", "before", "reason")
    rows = select(*(bindparam(f"a_{k}", type_=A.c[k].type) for k in given), booked.c.id, after)
    statement = sa_insert(A).from_select([*given, "entity_id", "after"], rows).returning(A.c.entity_id)
    if messages:
        each = [
            select(*(bindparam(f"m{i}_{k}", type_=M.c[k].type) for k in _MESSAGE_WRITTEN), booked.c.id)
            for i in range(messages)
        ]
        chosen = each[0] if messages == 1 else union_all(*each)
        reminded = sa_insert(M).from_select([*_MESSAGE_WRITTEN, "session_id"], chosen).cte("reminded")
        statement = statement.add_cte(reminded)
    _STATEMENTS[messages] = statement
    return statement


_INSERT_SESSION = sa_insert(_TS).returning(_TS.c.id)  # SQLite: the row, then its event and its messages
_INSERT_MESSAGE = sa_insert(_MESSAGE)


# a message's attribute -> its column ("to" is the column "recipient"), and the columns' own defaults
_MESSAGE_COLUMN = {a.key: a.columns[0].key for a in Message.__mapper__.column_attrs}
_MESSAGE_DEFAULTS = {
    c.key: c.default.arg for c in _MESSAGE.columns if isinstance(c.default, ScalarElementColumnDefault)
}


def _message_rows(session: TreatmentSession, now: datetime) -> list[dict[str, Any]]:
    """The outbox rows the session's booking writes (``outbox.booking_values``), as the message
    table's column values (its defaults, created ``now``) but the session's id."""
    return [
        {
            **_MESSAGE_DEFAULTS,
            "created_at": now,
            **{_MESSAGE_COLUMN[k]: value for k, value in values.items() if k != "session_id"},
        }
        for values in outbox.booking_values(session, now)
    ]


def _insert_audited(actor_id: int | None, session: TreatmentSession, *, reason: str | None) -> TreatmentSession:
    """Write a new session, its ``session.book`` audit event and the outbox rows its booking writes
    (its reminders, worked out beforehand by the outbox's rules) by Core statements (one on
    PostgreSQL, three on SQLite), then attach the object to the ORM session as the persistent row it
    now is (every column set: nothing is read back) and tell the outbox it was booked with its
    messages. A clash caught by the exclusion constraints rolls the transaction back and becomes the
    same 409 as the check before it (``flush_guarded`` without a savepoint)."""
    now = utcnow()
    session.version, session.created_at, session.updated_at = 1, now, now
    for key in _WRITTEN:  # every attribute loaded, so that nothing is expired once attached
        if key not in session.__dict__:
            setattr(session, key, None)
    values = {k: session.__dict__[k] for k in _WRITTEN}
    event = audit.created_values(actor_id, "session.book", session, reason=reason)  # after["id"]: None until written
    messages = _message_rows(session, now)
    if db_session.new or db_session.dirty:
        db_session.flush()
    connection = db_session.connection()
    try:
        if connection.dialect.name == "postgresql":
            params = {f"s_{k}": v for k, v in values.items()}
            params.update({f"a_{k}": v for k, v in event.items() if k != "entity_id"})
            for i, row in enumerate(messages):
                params.update({f"m{i}_{k}": v for k, v in row.items()})
            new_id = connection.execute(_audited_insert_pg(len(messages)), params).scalar_one()
        else:
            new_id = connection.execute(_INSERT_SESSION, values).scalar_one()
            event["entity_id"] = new_id
            event["after"] = {**event["after"], "id": new_id}
            connection.execute(audit.INSERT_EVENT, event)
            if messages:
                connection.execute(_INSERT_MESSAGE, [{**row, "session_id": new_id} for row in messages])
    except DBAPIError as exc:
        if sqlstate(exc) not in CONFLICT_SQLSTATES:
            raise
        db_session.rollback()
        refuse_clashes(
            room_id=session.room_id,
            patient_id=session.patient_id,
            starts_at=session.starts_at,
            ends_at=session.ends_at,
        )
        raise Conflict(
            "Another booking for this room or patient was made at the same time; reload and choose again.",
            code="concurrent_write",
        ) from exc
    session.id = new_id
    make_transient_to_detached(session)
    db_session.add(session)
    outbox.booked(session, written=True)
    return session
