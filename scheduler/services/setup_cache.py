"""A clinic's setup — its zone, weekly hours, closures, rooms, and staff with their hours and time off —
read once per process and kept under the clinic's ``setup_version``.

The setup changes rarely and every booking, board and plan needs it. Every ORM flush that writes one
of those rows raises ``clinic.setup_version`` in the same transaction (``_raise_versions``), so a
reader in any process that finds the stored version equal to its cached one holds the committed
setup: the version is read first, the rows after it, and a setup this transaction has itself changed
is never cached (it might roll back). A cache hit costs one indexed primary-key read per request.
Bulk writes that bypass the ORM (none in the product; the bench generator fills fresh clinics, whose
versions start at random values) would have to raise the version themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import bindparam, event, select, update
from sqlalchemy.orm import Session as OrmSession

from scheduler.db import db_session, read
from scheduler.domain import values as v
from scheduler.domain.intervals import Interval
from scheduler.domain.timezones import local_date
from scheduler.errors import NotFound
from scheduler.models import Clinic, Closure, OpeningHours, Room, StaffMember, TimeOff, WorkingHours

_WRITTEN = "setup_cache.written"  # ORM session info: clinic ids whose setup this transaction changed
# ORM session info: the count of this transaction's setup writes (never rolled back with a savepoint),
# and the setups it read after writing them, each with the version and that count it was read at.
_WRITES = "setup_cache.writes"
_UNCOMMITTED = "setup_cache.uncommitted"


@dataclass(frozen=True)
class Setup:
    """One clinic's setup as plain values, whatever the window (closures and time off all of them)."""

    version: int
    clinic_id: int
    name: str
    timezone: str
    reminder_hours: dict | None
    rems_certification_id: str | None
    hours: v.WeeklyHours
    closures: tuple[v.Closure, ...]
    rooms: tuple[v.Room, ...]  # by name, id
    staff: tuple[v.StaffMember, ...]  # by name, id; time off left out (see staff_values)
    time_off: dict  # staff id -> (Interval, ...)
    # clinic_value's values by the closures they hold (values are frozen, so they can be shared)
    # (not an init field: a Setup made by dataclasses.replace starts with a memo of its own)
    _clinic_values: dict[tuple[v.Closure, ...], v.Clinic] = field(
        default_factory=dict, init=False, compare=False, repr=False
    )

    def clinic_value(self, window: Interval | None = None) -> v.Clinic:
        """The clinic with the closures touching ``window`` (all when None), as ``inputs.clinic_value``;
        one value per choice of closures, made once (``_clinic_values``)."""
        closures = self.closures
        if window is not None:
            first = local_date(window.start, self.timezone) - timedelta(days=1)
            last = local_date(window.end, self.timezone) + timedelta(days=1)
            closures = tuple(c for c in closures if c.ends_on >= first and c.starts_on <= last)
        if (found := self._clinic_values.get(closures)) is not None:
            return found
        value = v.Clinic(
            id=self.clinic_id,
            timezone=self.timezone,
            name=self.name,
            closures=closures,
            hours=self.hours,
            rems_certification_id=self.rems_certification_id,
        )
        if len(self._clinic_values) < 64:  # a few choices of closures are met again and again
            self._clinic_values[closures] = value
        return value

    def staff_values(self, window: Interval) -> tuple[v.StaffMember, ...]:
        """The clinicians with the time off touching ``window`` (those with none there: the values of
        ``staff`` as they are, which hold no time off)."""
        out = []
        for m in self.staff:
            away = tuple(t for t in self.time_off.get(m.id, ()) if t.overlaps(window))
            out.append(
                m
                if not away
                else v.StaffMember(
                    id=m.id,
                    name=m.name,
                    role=m.role,
                    capacity=m.capacity,
                    active=m.active,
                    hours=m.hours,
                    time_off=away,
                )
            )
        return tuple(out)

    def room(self, room_id: int | None) -> v.Room | None:
        return next((r for r in self.rooms if r.id == room_id), None)

    def staff_member(self, staff_id: int | None) -> v.StaffMember | None:
        return next((m for m in self.staff if m.id == staff_id), None)


_cache: dict[int, Setup] = {}


def _weekly(rows) -> dict:
    out: dict[int, list] = {}
    for weekday, start, end in rows:
        out.setdefault(weekday, []).append((start, end))
    return out


def _load(clinic_id: int, version: int) -> Setup:
    name, tz, reminders, rems = db_session.execute(
        select(Clinic.name, Clinic.timezone, Clinic.reminder_hours, Clinic.rems_certification_id).where(
            Clinic.id == clinic_id
        )
    ).one()
    hours = v.weekly_hours(
        _weekly(
            db_session.execute(
                select(OpeningHours.weekday, OpeningHours.start_time, OpeningHours.end_time)
                .where(OpeningHours.clinic_id == clinic_id)
                .order_by(OpeningHours.weekday, OpeningHours.start_time)
            )
        )
    )
    closures = tuple(
        v.Closure(starts_on=a, ends_on=b, from_time=f, until_time=u, reason=r, id=i)
        for i, a, b, f, u, r in db_session.execute(
            select(
                Closure.id, Closure.starts_on, Closure.ends_on, Closure.from_time, Closure.until_time, Closure.reason
            )
            .where(Closure.clinic_id == clinic_id)
            .order_by(Closure.starts_on, Closure.id)
        )
    )
    rooms = tuple(
        v.Room(id=i, name=n, capabilities=tuple(caps or ()), active=active)
        for i, n, caps, active in db_session.execute(
            select(Room.id, Room.name, Room.capabilities, Room.active)
            .where(Room.clinic_id == clinic_id)
            .order_by(Room.name, Room.id)
        )
    )
    members = db_session.execute(
        select(StaffMember.id, StaffMember.name, StaffMember.role, StaffMember.capacity, StaffMember.active)
        .where(StaffMember.clinic_id == clinic_id)
        .order_by(StaffMember.name, StaffMember.id)
    ).all()
    working: dict[int, list] = {}
    away: dict[int, list] = {}
    if members:
        for staff_id, weekday, start, end in db_session.execute(
            select(WorkingHours.staff_member_id, WorkingHours.weekday, WorkingHours.start_time, WorkingHours.end_time)
            .join(StaffMember, StaffMember.id == WorkingHours.staff_member_id)
            .where(StaffMember.clinic_id == clinic_id)
            .order_by(WorkingHours.staff_member_id, WorkingHours.weekday, WorkingHours.start_time)
        ):
            working.setdefault(staff_id, []).append((weekday, start, end))
        for staff_id, away_from, away_until in db_session.execute(
            select(TimeOff.staff_member_id, TimeOff.starts_at, TimeOff.ends_at)
            .join(StaffMember, StaffMember.id == TimeOff.staff_member_id)
            .where(StaffMember.clinic_id == clinic_id)
            .order_by(TimeOff.starts_at, TimeOff.id)
        ):
            away.setdefault(staff_id, []).append(Interval(away_from, away_until))
    staff = tuple(
        v.StaffMember(
            id=i,
            name=n,
            role=role,
            capacity=cap,
            active=active,
            hours=v.weekly_hours(_weekly(working[i])) if i in working else None,
        )
        for i, n, role, cap, active in members
    )
    return Setup(
        version=version,
        clinic_id=clinic_id,
        name=name,
        timezone=tz,
        reminder_hours=reminders,
        rems_certification_id=rems,
        hours=hours,
        closures=closures,
        rooms=rooms,
        staff=staff,
        time_off={k: tuple(x) for k, x in away.items()},
    )


_MEMO = "setup_cache.memo"  # ORM session info: the setups this transaction has met (read once each)
KEEP = "setup_cache.keep"  # ORM session info: rows held until the transaction ends (inputs.patient_row)


def _memo() -> dict:
    return db_session.info.setdefault(_MEMO, {})


def _resolve(clinic_id: int, version: int) -> Setup:
    if clinic_id in db_session.info.get(_WRITTEN, ()):
        return _resolve_uncommitted(clinic_id, version)
    cached = _cache.get(clinic_id)
    if cached is not None and cached.version == version:
        return cached
    loaded = _load(clinic_id, version)
    _cache[clinic_id] = loaded
    return loaded


def _resolve_uncommitted(clinic_id: int, version: int) -> Setup:
    """A setup this transaction changed: never in the process cache, but read again only after the
    transaction writes it again. Each write (a flush) raises the version and the count of writes; a
    savepoint rolled back lowers the version but not the count, so no earlier read is taken for the
    state the rollback restored."""
    writes = db_session.info.get(_WRITES, 0)
    mine = db_session.info.setdefault(_UNCOMMITTED, {})
    held = mine.get(clinic_id)
    if held is not None and held[0] == (version, writes):
        return held[1]
    loaded = _load(clinic_id, version)
    mine[clinic_id] = ((version, writes), loaded)
    return loaded


# Read on every request that needs a setup: built once (no expression to build, a memoized cache key).
_VERSION = select(Clinic.setup_version).where(Clinic.id == bindparam("clinic_id"))
_ROOM_VERSION = (
    select(Room.clinic_id, Clinic.setup_version)
    .join(Clinic, Clinic.id == Room.clinic_id)
    .where(Room.id == bindparam("room_id"))
)


def _remembered(clinic_id: int) -> Setup | None:
    """The setup this transaction already resolved, unless it has changed it since."""
    if clinic_id in db_session.info.get(_WRITTEN, ()):
        return None
    return _memo().get(clinic_id)


def _remember(clinic_id: int, version: int | None) -> Setup:
    """The clinic's setup at ``version`` (NotFound: None, no such clinic), kept for the transaction."""
    if version is None:
        raise NotFound(f"No clinic with id {clinic_id}.", field="clinic_id")
    found = _memo()[clinic_id] = _resolve(clinic_id, version)
    return found


def setup(clinic_id: int) -> Setup:
    """The clinic's setup (NotFound when there is no such clinic; scope is the caller's)."""
    if (found := _remembered(clinic_id)) is not None:
        return found
    version = read(_VERSION, {"clinic_id": clinic_id}).scalar() if isinstance(clinic_id, int) else None
    return _remember(clinic_id, version)


_VERSIONS = select(Clinic.id, Clinic.setup_version).where(Clinic.id.in_(bindparam("clinic_ids", expanding=True)))


def setups(clinic_ids) -> dict[int, Setup]:
    """``setup`` of several clinics, their versions read in one statement (NotFound for a missing one)."""
    out = {i: found for i in clinic_ids if (found := _remembered(i)) is not None}
    wanted = sorted({i for i in clinic_ids if i not in out})
    if not wanted:
        return out
    versions = dict(read(_VERSIONS, {"clinic_ids": wanted}).all())
    for clinic_id in wanted:
        out[clinic_id] = _remember(clinic_id, versions.get(clinic_id))
    return out


def setup_of_room(
    room_id: int, *, known: bool = False, version: tuple[int, int] | None = None
) -> tuple[Setup, v.Room] | None:
    """The setup of the room's clinic and the room, from one primary-key read (None: no such room).
    ``known``: the caller read the room's ``(clinic_id, setup_version)`` in this transaction already
    (``version``; None when there is no such room): no statement here."""
    if not known:
        row = read(_ROOM_VERSION, {"room_id": room_id}).first() if isinstance(room_id, int) else None
        version = (row.clinic_id, row.setup_version) if row is not None else None
    if version is None:
        return None
    clinic_id, setup_version = version
    found = _remember(clinic_id, setup_version)
    room = found.room(room_id)
    return (found, room) if room is not None else None


# ---- raising the version ---------------------------------------------------------------------------


def _clinic_of(orm_session: OrmSession, obj) -> int | None:
    if isinstance(obj, Clinic):
        return obj.id
    if isinstance(obj, (OpeningHours, Closure, Room, StaffMember)):
        return obj.clinic_id
    if isinstance(obj, (WorkingHours, TimeOff)):
        member = obj.staff_member if "staff_member" in obj.__dict__ else None
        if member is None and obj.staff_member_id is not None:
            member = orm_session.get(StaffMember, obj.staff_member_id)
        return member.clinic_id if member is not None else None
    return None


_SETUP_TYPES = (Clinic, OpeningHours, Closure, Room, StaffMember, WorkingHours, TimeOff)


@event.listens_for(OrmSession, "before_flush")
def _raise_versions(orm_session: OrmSession, _context, _instances) -> None:
    touched = [o for o in (*orm_session.new, *orm_session.dirty, *orm_session.deleted) if isinstance(o, _SETUP_TYPES)]
    if not touched:
        return
    with orm_session.no_autoflush:
        ids = set()
        for obj in touched:
            if obj in orm_session.dirty and not orm_session.is_modified(obj):
                continue
            clinic_id = _clinic_of(orm_session, obj)
            if clinic_id is not None:
                ids.add(clinic_id)
    if ids:
        orm_session.info.setdefault(_WRITTEN, set()).update(ids)
        orm_session.info[_WRITES] = orm_session.info.get(_WRITES, 0) + 1
        orm_session.execute(
            update(Clinic)
            .where(Clinic.id.in_(sorted(ids)))
            .values(setup_version=Clinic.setup_version + 1)
            .execution_options(synchronize_session=False)
        )


@event.listens_for(OrmSession, "after_commit")
@event.listens_for(OrmSession, "after_soft_rollback")
def _forget_written(orm_session: OrmSession, *_args) -> None:
    """The transaction is over: what it wrote is committed or gone, the next one reads the versions anew."""
    orm_session.info.pop(_MEMO, None)
    orm_session.info.pop(KEEP, None)
    if not orm_session.in_transaction():
        for key in (_WRITTEN, _WRITES, _UNCOMMITTED):
            orm_session.info.pop(key, None)


def clear() -> None:
    """Drop every cached setup (tests)."""
    _cache.clear()
