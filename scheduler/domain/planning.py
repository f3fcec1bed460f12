"""Plan a patient's course from a protocol: proposed sessions plus what could not be met.

Search is day by day on a local-time slot grid (15 minutes by default). Each session is looked for
first where every rule and preference holds; then without the weekday/time preferences
(``preference_not_met``); then on later dates (the broken rule reported with its flag code, DESIGN §3);
then without the protocol's weekday/per-week guidance; then without a clinician (``staff_unavailable``).
Nothing is dropped silently: a session that still cannot be placed raises :class:`PlanningError`.

Candidate times are local wall-clock times converted with :func:`timezones.to_utc`, so a 09:00 course
stays at 09:00 across a DST change; nonexistent local times are skipped, ambiguous ones are the first
occurrence. Day rules count local calendar days; the integration rule counts real hours.
"""
from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from scheduler.domain.calendar import max_concurrency, open_intervals, staff_available_intervals
from scheduler.domain.intervals import Interval
from scheduler.domain.maintenance import dates_nearest_target, due_window
from scheduler.domain.protocols import DoseSpec, Protocol, SessionSpec, Stage
from scheduler.domain.timezones import (
    NonexistentLocalTime, iter_days, local_date, local_time, to_utc, to_utc_lenient,
)
from scheduler.domain.values import Clinic, Patient, Preferences, Room, Session, StaffMember
from scheduler.domain.vocabulary import LIVE_STATUSES, MAX_SESSION_DURATION

DAY = timedelta(days=1)
KIND_ORDER = {"evaluation": 0, "preparation": 1, "dose": 2, "integration": 3, "follow_up": 4}
EXTEND_DAYS = 60  # how far past a rule's window the planner looks before giving up


class PlanningError(ValueError):
    """The planner cannot propose a session at all (e.g. the clinic has no rooms)."""

    def __init__(self, code: str, message: str):
        self.code = code
        self.message = message
        super().__init__(message)


@dataclass(frozen=True)
class ProposedSession:
    kind: str
    phase: str | None
    sequence: int
    route: str | None
    starts_at: datetime
    ends_at: datetime
    room_id: int | None
    staff_member_id: int | None
    label: str

    @property
    def interval(self) -> Interval:
        return Interval(self.starts_at, self.ends_at)

    def to_dict(self) -> dict:
        return {"kind": self.kind, "phase": self.phase, "sequence": self.sequence, "route": self.route,
                "starts_at": self.starts_at.isoformat(), "ends_at": self.ends_at.isoformat(),
                "room_id": self.room_id, "staff_member_id": self.staff_member_id, "label": self.label}


@dataclass(frozen=True)
class Problem:
    """Something the plan breaks. ``sessions``: indexes into ``Plan.sessions``."""
    code: str
    message: str
    sessions: tuple[int, ...] = ()
    severity: str = "error"

    def to_dict(self) -> dict:
        return {"code": self.code, "message": self.message, "sessions": list(self.sessions),
                "severity": self.severity}


@dataclass(frozen=True)
class Plan:
    protocol_key: str
    sessions: tuple[ProposedSession, ...]
    problems: tuple[Problem, ...] = ()

    @property
    def codes(self) -> set[str]:
        return {p.code for p in self.problems}

    def of_kind(self, kind: str) -> list[ProposedSession]:
        return [s for s in self.sessions if s.kind == kind]


@dataclass(frozen=True)
class Slot:
    starts_at: datetime
    ends_at: datetime
    room_id: int | None
    staff_member_id: int | None
    relaxed: frozenset[str] = frozenset()  # "preferences", "window", "guidance", "room", "staff"


# ---------------------------------------------------------------- the slot search


class _Index:
    """Per-resource sorted intervals with fast overlap lookup (sessions are at most 12 h long)."""

    def __init__(self) -> None:
        self.by_key: dict[object, list[tuple[datetime, datetime]]] = {}

    def add(self, key: object, start: datetime, end: datetime) -> None:
        insort(self.by_key.setdefault(key, []), (start, end))

    def remove(self, key: object, start: datetime, end: datetime) -> None:
        items = self.by_key.get(key, [])
        i = bisect_left(items, (start, end))
        if i < len(items) and items[i] == (start, end):
            del items[i]

    def overlapping(self, key: object, start: datetime, end: datetime) -> list[Interval]:
        items = self.by_key.get(key)
        if not items:
            return []
        i = bisect_left(items, (start - MAX_SESSION_DURATION,))
        out = []
        while i < len(items) and items[i][0] < end:
            s, e = items[i]
            if start < e:  # and s < end: the one overlap predicate, half-open
                out.append(Interval(s, e))
            i += 1
        return out

    def free(self, key: object, start: datetime, end: datetime) -> bool:
        return not self.overlapping(key, start, end)


class SlotFinder:
    """Finds free slots for one patient at one clinic, remembering what it has already proposed."""

    def __init__(self, clinic: Clinic, rooms: Sequence[Room], staff: Sequence[StaffMember], patient: Patient,
                 existing_sessions: Iterable[Session], preferences: Preferences | None = None,
                 grid_minutes: int = 15):
        if grid_minutes < 1 or grid_minutes > 60:
            raise ValueError("grid_minutes must be 1..60")
        self.clinic = clinic
        self.tz = clinic.timezone
        self.rooms = sorted((r for r in rooms if r.active), key=lambda r: r.id)
        self.staff = sorted((s for s in staff if s.active), key=lambda s: s.id)
        self.staff_by_id = {s.id: s for s in self.staff}
        self.patient = patient
        self.prefs = preferences or Preferences()
        self.grid = grid_minutes
        self.room_busy = _Index()
        self.patient_busy = _Index()
        self.staff_busy = _Index()
        for s in existing_sessions:
            if s.status in LIVE_STATUSES:
                self.reserve(s.starts_at, s.ends_at, s.room_id, s.staff_member_id, s.patient_id)
        self._open: dict[date, list[Interval]] = {}
        self._candidates: dict[date, list[tuple[time, datetime]]] = {}
        self._staff_hours: dict[tuple[int, date], list[Interval]] = {}

    # -- bookkeeping
    def reserve(self, start: datetime, end: datetime, room_id: int | None, staff_id: int | None,
                patient_id: int | None = None) -> None:
        if room_id is not None:
            self.room_busy.add(room_id, start, end)
        if staff_id is not None:
            self.staff_busy.add(staff_id, start, end)
        self.patient_busy.add(self.patient.id if patient_id is None else patient_id, start, end)

    def release(self, start: datetime, end: datetime, room_id: int | None, staff_id: int | None,
                patient_id: int | None = None) -> None:
        """Undo :meth:`reserve` (a session about to be moved)."""
        if room_id is not None:
            self.room_busy.remove(room_id, start, end)
        if staff_id is not None:
            self.staff_busy.remove(staff_id, start, end)
        self.patient_busy.remove(self.patient.id if patient_id is None else patient_id, start, end)

    def open_on(self, d: date) -> list[Interval]:
        if d not in self._open:
            self._open[d] = open_intervals(self.clinic, d)
        return self._open[d]

    def candidates_on(self, d: date) -> list[tuple[time, datetime]]:
        """(local time, UTC instant) of every grid point inside the clinic's open time on ``d``."""
        if d not in self._candidates:
            out: list[tuple[time, datetime]] = []
            for iv in self.open_on(d):
                lt = local_time(iv.start, self.tz) if local_date(iv.start, self.tz) == d else time(0)
                minute = -(-(lt.hour * 60 + lt.minute) // self.grid) * self.grid
                while minute < 24 * 60:
                    t = time(minute // 60, minute % 60)
                    minute += self.grid
                    try:
                        instant = to_utc(d, t, self.tz)
                    except NonexistentLocalTime:
                        continue
                    if instant >= iv.end:
                        break
                    if instant >= iv.start:
                        out.append((t, instant))
            self._candidates[d] = out
        return self._candidates[d]

    def staff_hours(self, staff: StaffMember, d: date) -> list[Interval]:
        key = (staff.id, d)
        if key not in self._staff_hours:
            self._staff_hours[key] = staff_available_intervals(staff, self.clinic, d)
        return self._staff_hours[key]

    # -- checks
    def is_open(self, d: date, start: datetime, end: datetime) -> bool:
        return any(iv.start <= start and end <= iv.end for iv in self.open_on(d))

    def staff_ok(self, staff: StaffMember, d: date, start: datetime, end: datetime) -> bool:
        if not any(iv.start <= start and end <= iv.end for iv in self.staff_hours(staff, d)):
            return False
        busy = self.staff_busy.overlapping(staff.id, start, end)
        return len(busy) < staff.capacity or max_concurrency(busy, Interval(start, end)) < staff.capacity

    def _ordered(self, items: list, preferred: Sequence[int | None]) -> list:
        rank: dict[int, int] = {}
        for pid in preferred:
            if pid is not None:
                rank.setdefault(pid, len(rank))
        return sorted(items, key=lambda x: (rank.get(x.id, len(rank)), x.id))

    def resources(self, spec: SessionSpec, d: date, start: datetime, end: datetime, *, room_hint=None,
                  staff_hint=None, any_room: bool = False, no_staff: bool = False):
        """(room_id, staff_id) for the interval or None. ``any_room``: ignore capability (no suitable
        room exists); ``no_staff``: no clinician needed (none can be found)."""
        rooms = self.rooms if any_room else [r for r in self.rooms if spec.capability in r.capabilities]
        room = next((r for r in self._ordered(rooms, (self.prefs.room_id, room_hint))
                     if self.room_busy.free(r.id, start, end)), None)
        if room is None:
            return None
        if no_staff:
            return room.id, None
        staff = [s for s in self.staff if s.role == spec.role]
        for s in self._ordered(staff, (self.prefs.staff_member_id, staff_hint)):
            if self.staff_ok(s, d, start, end):
                return room.id, s.id
        return None

    def has_room_for(self, capability: str) -> bool:
        return any(capability in r.capabilities for r in self.rooms)

    def has_staff_for(self, role: str) -> bool:
        return any(s.role == role for s in self.staff)

    # -- search
    def search(self, spec: SessionSpec, dates: Iterable[date], *, count: int = 1, step: timedelta = timedelta(0),
               not_before: datetime | None = None, latest_start: datetime | None = None,
               use_prefs: bool = True, any_room: bool = False, no_staff: bool = False,
               time_hint: time | None = None, room_hint: int | None = None,
               staff_hint: int | None = None) -> list[Slot] | None:
        """The first day (in the order given) with ``count`` sessions ``step`` apart start-to-start that
        all fit; within a day the earliest fitting time (``time_hint`` tried first)."""
        dur = spec.duration
        prefs = self.prefs if use_prefs else Preferences()
        span = step * (count - 1) + dur
        for d in dates:
            if prefs.weekdays is not None and d.weekday() not in prefs.weekdays:
                continue
            cands = self.candidates_on(d)
            if not cands:
                continue
            if time_hint is not None:
                cands = sorted(cands, key=lambda c: (c[0] != time_hint, c[1]))
            lo = to_utc_floor(d, prefs.earliest, self.tz) if prefs.earliest else None
            hi = to_utc_floor(d, prefs.latest, self.tz) if prefs.latest else None
            for _t, start in cands:
                if not_before is not None and start < not_before:
                    continue
                if latest_start is not None and start > latest_start:
                    continue
                if lo is not None and start < lo:
                    continue
                if hi is not None and start + span > hi:
                    continue
                slots = self._fit_series(spec, d, start, count, step, any_room, no_staff, room_hint, staff_hint)
                if slots is not None:
                    return slots
        return None

    def _fit_series(self, spec, d, start, count, step, any_room, no_staff, room_hint, staff_hint):
        slots: list[Slot] = []
        for k in range(count):
            s = start + step * k
            e = s + spec.duration
            if not self.is_open(d, s, e) or not self.patient_busy.free(self.patient.id, s, e):
                return None
            got = self.resources(spec, d, s, e, room_hint=room_hint, staff_hint=staff_hint,
                                 any_room=any_room, no_staff=no_staff)
            if got is None:
                return None
            room_hint, staff_hint = got
            slots.append(Slot(s, e, got[0], got[1]))
        return slots

    def ladder(self, spec: SessionSpec, strict: Sequence[date], extended: Sequence[date], *,
               guided: Callable[[date], bool] | None = None, count: int = 1, step: timedelta = timedelta(0),
               not_before: datetime | None = None, latest_start: datetime | None = None, **hints) -> list[Slot]:
        """Search with progressively fewer rules; the slots carry which rules were relaxed."""
        any_room = not self.has_room_for(spec.capability)
        if any_room and not self.rooms:
            raise PlanningError("no_rooms", "the clinic has no active rooms")
        base = {"count": count, "step": step, "not_before": not_before, "any_room": any_room, **hints}
        g = guided or (lambda d: True)
        nobody = not self.has_staff_for(spec.role)
        attempts = [
            (frozenset(), [d for d in strict if g(d)], True, latest_start, False),
            (frozenset({"preferences"}), [d for d in strict if g(d)], False, latest_start, False),
            (frozenset({"window"}), [d for d in extended if g(d)], True, None, False),
            (frozenset({"window", "preferences"}), [d for d in extended if g(d)], False, None, False),
            (frozenset({"window", "preferences", "guidance"}), list(strict) + list(extended), False, None, False),
            (frozenset({"window", "preferences", "guidance", "staff"}), list(strict) + list(extended), False,
             None, True),
        ]
        if self.prefs.weekdays is None and self.prefs.earliest is None and self.prefs.latest is None:
            # without time preferences the "relax preferences" steps would repeat the search before them
            attempts = [a for a in attempts if a[2] or "guidance" in a[0]]
        if nobody:  # nobody with the role at all: plan without a clinician from the start
            attempts = [(r | {"staff"}, d, u, lt, True) for r, d, u, lt, _ in attempts]
        for relaxed, dates, use_prefs, latest, no_staff in attempts:
            found = self.search(spec, dates, use_prefs=use_prefs, latest_start=latest, no_staff=no_staff, **base)
            if found:
                extra = set(relaxed)
                if any_room:
                    extra.add("room")
                for s in found:
                    self.reserve(s.starts_at, s.ends_at, s.room_id, s.staff_member_id)
                return [Slot(s.starts_at, s.ends_at, s.room_id, s.staff_member_id, frozenset(extra)) for s in found]
        raise PlanningError("no_slot", f"no free {spec.capability} room and {spec.role} in the clinic's open "
                            f"hours between {strict[0] if strict else extended[0]} and "
                            f"{(extended or strict)[-1]}")


def to_utc_floor(d: date, t: time, tz: str) -> datetime:
    """A preference bound as an instant (a nonexistent time is moved past the gap)."""
    return to_utc_lenient(d, t, tz)


def date_range(first: date, last: date) -> list[date]:
    return list(iter_days(first, last))


# ---------------------------------------------------------------- course planning


class _Builder:
    def __init__(self, protocol: Protocol, finder: SlotFinder):
        self.protocol = protocol
        self.finder = finder
        self.entries: list[ProposedSession] = []
        self.problems: list[tuple[str, str, tuple[int, ...], str]] = []  # entries indexes, remapped later

    def add(self, kind: str, spec: SessionSpec, slots: list[Slot], *, phase=None, sequence: int, label: str,
            route=None) -> list[int]:
        ids = []
        for k, s in enumerate(slots):
            seq = sequence + k
            lab = label if len(slots) == 1 else f"{label} ({k + 1} of {len(slots)} that day)"
            self.entries.append(ProposedSession(kind, phase, seq, route, s.starts_at, s.ends_at, s.room_id,
                                                s.staff_member_id, lab))
            ids.append(len(self.entries) - 1)
        relaxed = slots[0].relaxed
        what = label[0].lower() + label[1:]
        if "preferences" in relaxed:
            self.problem("preference_not_met", f"No time matching the course's preferred days and times was free "
                         f"for the {what}; proposed outside them.", ids, "info")
        if "guidance" in relaxed:
            self.problem("protocol_guidance_not_met", f"The {what} breaks the protocol's weekday or per-week "
                         "guidance: no other free day was found.", ids, "warning")
        if "room" in relaxed:
            self.problem("room_unsuitable", f"The clinic has no active room with the '{spec.capability}' "
                         f"capability for the {what}; proposed in an unsuitable room.", ids)
        if "staff" in relaxed:
            self.problem("staff_unavailable", f"No {spec.role} is available for the {what}; "
                         "proposed without a clinician.", ids)
        return ids

    def snapshot(self) -> tuple:
        f = self.finder
        return (list(self.entries), list(self.problems),
                [{k: list(v) for k, v in ix.by_key.items()} for ix in (f.room_busy, f.patient_busy, f.staff_busy)])

    def restore(self, snap: tuple) -> None:
        entries, problems, indexes = snap
        self.entries[:] = entries
        self.problems[:] = problems
        for ix, saved in zip((self.finder.room_busy, self.finder.patient_busy, self.finder.staff_busy), indexes):
            ix.by_key = {k: list(v) for k, v in saved.items()}

    def problem(self, code: str, message: str, ids: Iterable[int] = (), severity: str = "error") -> None:
        self.problems.append((code, message, tuple(ids), severity))

    def build(self) -> Plan:
        order = sorted(range(len(self.entries)),
                       key=lambda i: (self.entries[i].starts_at, KIND_ORDER[self.entries[i].kind],
                                      self.entries[i].sequence))
        new_index = {old: new for new, old in enumerate(order)}
        problems = tuple(Problem(code, msg, tuple(sorted(new_index[i] for i in ids)), sev)
                         for code, msg, ids, sev in self.problems)
        return Plan(self.protocol.key, tuple(self.entries[i] for i in order), problems)


def _stage_ranges(lo: date, hi: date) -> tuple[list[date], list[date]]:
    strict = date_range(lo, hi)
    ext_start = max(lo, hi + DAY)
    return strict, date_range(ext_start, ext_start + timedelta(days=EXTEND_DAYS))


def plan_course(protocol: Protocol, clinic: Clinic, rooms: Sequence[Room], staff: Sequence[StaffMember],
                patient: Patient, existing_sessions: Iterable[Session], start_on: date,
                preferences: Preferences | None = None, has_valid_evaluation_on: date | None = None, *,
                include_maintenance: bool = True, grid_minutes: int = 15) -> Plan:
    """Propose every session of a course starting on local date ``start_on``.

    ``existing_sessions``: the live (and other) sessions of the clinic's rooms and staff and of the
    patient anywhere in the period; the plan overlaps none of the live ones. ``has_valid_evaluation_on``:
    date of the patient's last evaluation, if any; a new one is proposed when it cannot cover the first
    dose. Raises :class:`PlanningError` when a session cannot be proposed at all.
    """
    finder = SlotFinder(clinic, rooms, staff, patient, existing_sessions, preferences, grid_minutes)
    b = _Builder(protocol, finder)
    tz = clinic.timezone
    prev_day: date | None = None
    prev_end: datetime | None = None

    # evaluation
    eval_day = None
    ev = protocol.evaluation
    if ev is not None:
        if has_valid_evaluation_on is not None and start_on <= has_valid_evaluation_on + timedelta(days=ev.valid_days):
            eval_day = has_valid_evaluation_on
        else:
            strict, ext = _stage_ranges(start_on, start_on + timedelta(days=13))
            slots = finder.ladder(ev, strict, ext)
            b.add("evaluation", ev, slots, sequence=1, label="Evaluation")
            eval_day, prev_end = local_date(slots[0].starts_at, tz), slots[0].ends_at
        prev_day = eval_day

    # preparation
    prep = protocol.preparation
    if prep is not None:
        for i in range(1, prep.planned_count + 1):
            lo = max(start_on, prev_day + timedelta(days=prep.min_gap_days)) if prev_day else start_on
            strict, ext = _stage_ranges(lo, lo + timedelta(days=13))
            slots = finder.ladder(prep, strict, ext, not_before=prev_end)
            b.add("preparation", prep, slots, sequence=i, label=f"Preparation {i} of {prep.planned_count}")
            prev_day, prev_end = local_date(slots[0].starts_at, tz), slots[0].ends_at

    # induction doses
    first_lo = start_on
    if ev is not None and eval_day is not None:
        first_lo = max(first_lo, eval_day + timedelta(days=ev.min_days_before_first_dose))
    if prep is not None and prep.planned_count and prev_day is not None:
        first_lo = max(first_lo, prev_day + timedelta(days=prep.min_gap_days))
    dose_slots = _plan_induction(b, protocol, protocol.dose, first_lo, eval_day, prev_end)

    # integration
    integ = protocol.integration
    if integ is not None:
        for seq, slot in enumerate(dose_slots, start=1):
            if not integ.applies_to(seq):
                continue
            nb = slot.ends_at + timedelta(hours=integ.min_hours_after)
            latest = slot.ends_at + timedelta(hours=integ.within_hours)
            strict, ext = _stage_ranges(local_date(nb, tz), local_date(latest, tz))
            slots = finder.ladder(integ, strict, ext, not_before=nb, latest_start=latest)
            ids = b.add("integration", integ, slots, sequence=seq, label=f"Integration after dose {seq}")
            if "window" in slots[0].relaxed:
                b.problem("integration_missing", f"No integration session could be placed within "
                          f"{integ.within_hours} h after dose {seq}; proposed later.", ids)

    last = dose_slots[-1]
    last_day = local_date(last.starts_at, tz)
    fu = protocol.follow_up
    if fu is not None:
        strict, ext = _stage_ranges(last_day + timedelta(days=fu.min_days_after),
                                    last_day + timedelta(days=fu.max_days_after))
        slots = finder.ladder(fu, strict, ext, not_before=last.ends_at)
        ids = b.add("follow_up", fu, slots, sequence=1, label="Follow-up visit")
        if "window" in slots[0].relaxed:
            b.problem("follow_up_missing", f"No follow-up visit could be placed {fu.min_days_after}-"
                      f"{fu.max_days_after} days after the last induction dose; proposed later.", ids)

    if include_maintenance and protocol.maintenance is not None:
        _plan_maintenance(b, protocol, last_day, 1, last.ends_at)
    return b.build()


def _dose_problems(b: _Builder, spec: DoseSpec, ids: list[int]) -> None:
    patient = b.finder.patient
    if patient.dosing_hold_reason is not None:
        b.problem("dosing_hold", f"Dosing is on hold for this patient: {patient.dosing_hold_reason}", ids)
    if spec.ride_home_required and not patient.ride_home_arranged:
        b.problem("ride_home_missing", "The patient must not drive after this dose and has no ride home "
                  "arranged.", ids, "warning")


class _Unclean(Exception):
    """A shifted stage attempt broke a rule: abandon it early."""


SHIFT_INVARIANT = {"dosing_hold", "ride_home_missing", "room_unsuitable", "staff_unavailable"}
FIRST_DAY_SHIFT = 7  # how many days the course's first dose may slide to let a stage fit its rules


def _plan_induction(b: _Builder, protocol: Protocol, spec: DoseSpec, first_lo: date, eval_day: date | None,
                    not_before: datetime | None) -> list[Slot]:
    """Every induction dose, stage by stage. When a stage would break its gaps or window (a weekend
    inside five consecutive days, a closure), its first day is slid forward a few days and the stage
    planned again; the first clean attempt wins, otherwise the unshifted one with its problems."""
    all_slots: list[Slot] = []
    prev_day: date | None = None
    hints: dict = {}
    seq = 1
    for stage in protocol.induction.stages:
        max_shift = FIRST_DAY_SHIFT if prev_day is None else stage.max_gap_days - stage.min_gap_days
        saved = b.snapshot()
        first_try = None
        for shift in range(max_shift + 1):
            try:
                result = _plan_stage(b, protocol, spec, stage, seq, prev_day, first_lo, eval_day, not_before,
                                     hints, shift)
            except (PlanningError, _Unclean):
                if not shift:
                    raise
                b.restore(saved)
                continue
            new_codes = {code for code, *_ in b.problems[len(saved[1]):]} - SHIFT_INVARIANT
            if not new_codes:
                break
            if first_try is None:
                first_try = (b.snapshot(), result)
            b.restore(saved)
        else:
            b.restore(first_try[0])
            result = first_try[1]
        slots, prev_day, hints = result
        all_slots.extend(slots)
        seq += stage.count
    return all_slots


def _plan_stage(b: _Builder, protocol: Protocol, spec: DoseSpec, stage: Stage, seq: int, prev_day: date | None,
                first_lo: date, eval_day: date | None, not_before: datetime | None, hints: dict, shift: int):
    finder = b.finder
    tz = finder.tz
    total = protocol.induction.total_doses
    ev = protocol.evaluation
    stage_first: date | None = None
    stage_days: list[date] = []
    out: list[Slot] = []
    before = {p[0] for p in b.problems}
    step = spec.duration + timedelta(minutes=stage.minutes_between_doses)
    for j in range(stage.days):
        if prev_day is None:
            lo = first_lo
            hi = eval_day + timedelta(days=ev.valid_days) if eval_day and ev else lo + timedelta(days=27)
            hi = min(hi, lo + timedelta(days=27)) if hi >= lo else hi
        else:
            lo = prev_day + timedelta(days=stage.min_gap_days)
            hi = prev_day + timedelta(days=stage.max_gap_days)
        if stage_first is not None:
            remaining = stage.days - j - 1
            hi = min(hi, stage_first + timedelta(days=stage.window_days - remaining * stage.min_gap_days))
        strict, ext = _stage_ranges(lo, hi)
        if j == 0 and shift:  # a shifted attempt starts on exactly that day or not at all
            strict, ext = [lo + timedelta(days=shift)], []
        guided = _guidance(stage, stage_first, stage_days)
        slots = finder.ladder(spec, strict, ext, guided=guided, count=stage.doses_per_day, step=step,
                              not_before=not_before if prev_day is None else None, **hints)
        day = local_date(slots[0].starts_at, tz)
        ids = b.add("dose", spec, slots, phase="induction", sequence=seq, label=f"Induction dose {seq} of {total}",
                    route=spec.route)
        _dose_problems(b, spec, ids)
        if prev_day is None and eval_day is not None and ev is not None \
                and day > eval_day + timedelta(days=ev.valid_days):
            b.problem("evaluation_expired", f"The first dose ({day}) is more than {ev.valid_days} days after "
                      f"the evaluation ({eval_day}).", ids)
        if prev_day is not None and (day - prev_day).days > stage.max_gap_days:
            b.problem("induction_gap", f"Dose {seq} is {(day - prev_day).days} days after the previous dose; "
                      f"the protocol allows at most {stage.max_gap_days}.", ids)
        if stage_first is not None and (day - stage_first).days > stage.window_days:
            b.problem("induction_window_exceeded", f"Dose {seq} falls {(day - stage_first).days} days after "
                      f"the first dose of its stage; the protocol allows {stage.window_days}.", ids)
        if stage_first is None:
            stage_first = day
            if "time_hint" not in hints:
                hints = {"time_hint": local_time(slots[0].starts_at, tz)}
        hints = {**hints, "room_hint": slots[0].room_id, "staff_hint": slots[0].staff_member_id}
        if shift and {p[0] for p in b.problems} - SHIFT_INVARIANT - before:
            raise _Unclean  # a shifted attempt is only worth finishing when it breaks nothing
        stage_days.append(day)
        prev_day = day
        out.extend(slots)
        seq += len(slots)
    return out, prev_day, hints


def _guidance(stage: Stage, stage_first: date | None, stage_days: list[date]) -> Callable[[date], bool]:
    def ok(d: date) -> bool:
        if stage.weekdays is not None and d.weekday() not in stage.weekdays:
            return False
        if stage.per_week_max is not None and stage_first is not None:
            week = (d - stage_first).days // 7
            done = sum(1 for x in stage_days if (x - stage_first).days // 7 == week) * stage.doses_per_day
            if done + stage.doses_per_day > stage.per_week_max:
                return False
        return True
    return ok


def _plan_maintenance(b: _Builder, protocol: Protocol, last_dose_on: date, sequence: int,
                      not_before: datetime | None) -> list[Slot]:
    rule = protocol.maintenance
    window = due_window(last_dose_on, rule)
    ext = date_range(window.latest + DAY, window.latest + timedelta(days=EXTEND_DAYS))
    slots = b.finder.ladder(rule.dose, dates_nearest_target(window), ext, not_before=not_before)
    ids = b.add("dose", rule.dose, slots, phase="maintenance", sequence=sequence,
                label=f"Maintenance dose {sequence}", route=rule.dose.route)
    _dose_problems(b, rule.dose, ids)
    if "window" in slots[0].relaxed:
        b.problem("maintenance_overdue", f"No maintenance dose could be placed by {window.latest}; "
                  "proposed later.", ids)
    return slots


def plan_maintenance_dose(protocol: Protocol, clinic: Clinic, rooms: Sequence[Room], staff: Sequence[StaffMember],
                          patient: Patient, existing_sessions: Iterable[Session], last_dose_on: date,
                          preferences: Preferences | None = None, *, sequence: int = 1,
                          grid_minutes: int = 15) -> Plan:
    """One maintenance dose as near the target of its due window as the calendar allows."""
    if protocol.maintenance is None:
        raise PlanningError("no_maintenance", f"protocol {protocol.key!r} has no maintenance phase")
    finder = SlotFinder(clinic, rooms, staff, patient, existing_sessions, preferences, grid_minutes)
    b = _Builder(protocol, finder)
    _plan_maintenance(b, protocol, last_dose_on, sequence, None)
    return b.build()
