"""The slot search: free times for one patient on the clinic's local-time grid, rule by rule relaxed.

Candidate times are local wall-clock times converted with :func:`timezones.to_utc`, so a 09:00 course
stays at 09:00 across a DST change; nonexistent local times are skipped, ambiguous ones are the first
occurrence.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from itertools import pairwise, starmap
from operator import sub
from typing import NamedTuple

from scheduler.domain.calendar import max_concurrency, open_intervals, staff_available_intervals
from scheduler.domain.intervals import Interval, merge, overlaps, subtract
from scheduler.domain.planning.results import PlanningError, Slot
from scheduler.domain.protocols import SessionSpec, Stage
from scheduler.domain.rules.rems import CHECK_SPACING, check_times, prescriber_on_site
from scheduler.domain.rules.resources import room_suits, staff_suits
from scheduler.domain.rules.spacing import too_close_across
from scheduler.domain.timezones import NonexistentLocalTime, iter_days, local_date, local_time, to_utc, to_utc_lenient
from scheduler.domain.values import Clinic, Patient, Preferences, Room, Session, StaffMember
from scheduler.domain.vocabulary import LIVE_STATUSES, MAX_SESSION_DURATION

DAY = timedelta(days=1)
EXTEND_DAYS = 60  # how far past a rule's window the planner looks before giving up
_TIMES = [time(m // 60, m % 60) for m in range(24 * 60)]  # the local time of each minute of a day


class Span(NamedTuple):
    """Where one session of a day's option (:meth:`SlotFinder.options`) would go: a plain tuple, not a
    :class:`Slot` (a day holds dozens of options, few of which a plan takes)."""

    starts_at: datetime
    ends_at: datetime
    room_id: int | None
    staff_member_id: int | None


class _Index:
    """Per-resource sorted intervals with fast overlap lookup (sessions are at most 12 h long)."""

    def __init__(self) -> None:
        self.by_key: dict[object, list[tuple[datetime, datetime]]] = {}
        self.longest = MAX_SESSION_DURATION

    def add(self, key: object, start: datetime, end: datetime) -> None:
        insort(self.by_key.setdefault(key, []), (start, end))
        if end - start > self.longest:  # (a session is at most 12 h; imported data may not be)
            self.longest = end - start

    def add_all(self, spans: dict[object, list[tuple[datetime, datetime]]]) -> None:
        """:meth:`add` of every ``(start, end)`` of each key: one sort per key instead of an insort each."""
        for key, items in spans.items():
            held = self.by_key.setdefault(key, [])
            held.extend(items)
            held.sort()
            longest = -min(starmap(sub, items))  # the longest end - start
            if longest > self.longest:
                self.longest = longest

    def remove(self, key: object, start: datetime, end: datetime) -> None:
        items = self.by_key.get(key, [])
        i = bisect_left(items, (start, end))
        if i < len(items) and items[i] == (start, end):
            del items[i]

    def overlapping(self, key: object, start: datetime, end: datetime) -> list[Interval]:
        items = self.by_key.get(key)
        if not items:
            return []
        i = bisect_left(items, (start - self.longest,))
        out = []
        while i < len(items) and items[i][0] < end:
            s, e = items[i]
            if overlaps(s, e, start, end):  # (s < end holds already: the loop's bound)
                out.append(Interval(s, e))
            i += 1
        return out

    def free(self, key: object, start: datetime, end: datetime) -> bool:
        return not self.overlapping(key, start, end)


class _FreeTime:
    """Disjoint sorted intervals with a fast "does [a, b) lie inside one of them" test."""

    def __init__(self, intervals: list[Interval]):
        self.intervals = intervals
        self.starts = [iv.start for iv in intervals]

    def holds(self, a: datetime, b: datetime) -> bool:
        i = bisect_right(self.starts, a) - 1
        return i >= 0 and b <= self.intervals[i].end


def _fit_ranges(free: list[Interval], starts: list[datetime], duration: timedelta) -> Iterator[tuple[int, int]]:
    """The index ranges ``[i, j)`` of the ascending ``starts`` where ``[start, start + duration)``
    lies inside one of the disjoint ``free`` intervals: two bisections per interval."""
    for iv in free:
        last = iv.end - duration
        if last < iv.start:
            continue
        i, j = bisect_left(starts, iv.start), bisect_right(starts, last)
        if i < j:
            yield i, j


def _fits(free: list[Interval], starts: list[datetime], duration: timedelta, ascending: bool = True) -> bytearray:
    """For each of ``starts``, whether ``[start, start + duration)`` lies inside one of the disjoint
    ``free`` intervals (1) or not (0); two bisections per interval when ``starts`` ascend."""
    if not ascending:
        free_time = _FreeTime(free)
        return bytearray(free_time.holds(a, a + duration) for a in starts)
    out = bytearray(len(starts))
    for i, j in _fit_ranges(free, starts, duration):
        out[i:j] = b"\x01" * (j - i)
    return out


def _first_fit(
    free_by_id: list[tuple[int, list[Interval]]], starts: list[datetime], duration: timedelta, ascending: bool
) -> list[int | None]:
    """For each of ``starts``, the id of the first resource (in the order given) whose ``free``
    intervals hold ``[start, start + duration)``, None when none does: each resource's ranges
    (:func:`_fit_ranges`) written over the later ones' instead of a look at every start."""
    out: list[int | None] = [None] * len(starts)
    for rid, free in reversed(free_by_id):
        if ascending:
            for i, j in _fit_ranges(free, starts, duration):
                out[i:j] = [rid] * (j - i)
        else:
            for x, fit in enumerate(_fits(free, starts, duration, False)):
                if fit:
                    out[x] = rid
    return out


def saturated(busy: list[Interval], capacity: int) -> list[Interval]:
    """Where at least ``capacity`` of the ``busy`` intervals run at once (a clinician with no room left)."""
    if capacity <= 1:
        return merge(busy)
    events = sorted([(iv.start, 1) for iv in busy] + [(iv.end, -1) for iv in busy], key=lambda e: (e[0], e[1]))
    out, depth, since = [], 0, None
    for at, step in events:
        depth += step
        if step > 0 and depth == capacity:
            since = at
        elif step < 0 and depth == capacity - 1 and since is not None:
            if since < at:
                out.append(Interval(since, at))
            since = None
    return merge(out)


class SlotFinder:
    """Finds free slots for one patient at one clinic, remembering what it has already proposed."""

    def __init__(
        self,
        clinic: Clinic,
        rooms: Sequence[Room],
        staff: Sequence[StaffMember],
        patient: Patient,
        existing_sessions: Iterable[Session],
        preferences: Preferences | None = None,
        grid_minutes: int = 15,
        not_before: datetime | None = None,
        dose_stages: Mapping[int, Stage] | None = None,
    ):
        """``not_before``: no slot starts before this instant (now, for a plan of the future).
        ``dose_stages``: by session id, the stage of each of the patient's doses in other courses
        (``rules.course.spacing_stages``): a planned dose before such a dose keeps that stage's gap,
        as that course's rules judge the pair; without it (or for a dose outside any course) the
        planned dose's own stage."""
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
        self.not_before = not_before
        self.room_busy = _Index()
        self.patient_busy = _Index()
        self.staff_busy = _Index()
        # A nurse's blood-pressure checks, each held as CHECK_SPACING centred on its instant (two
        # overlap exactly when the checks are less than CHECK_SPACING apart): see use_checks.
        self.check_busy = _Index()
        self._live_doses: list[Session] = []
        # the patient's own live doses (other courses, outside any course): a planned dose keeps the
        # protocol's minimum gap from them too (rules.spacing.too_close_across)
        self.other_doses: list[tuple[date, datetime, datetime, Stage | None]] = []
        stages = dose_stages or {}
        by_room: dict[object, list[tuple[datetime, datetime]]] = {}
        by_staff: dict[object, list[tuple[datetime, datetime]]] = {}
        # Of the patients' sessions only the planned patient's are ever asked about (other patients'
        # lists would be held and sorted for nothing).
        mine: list[tuple[datetime, datetime]] = []
        me = patient.id
        for s in existing_sessions:
            if s.status in LIVE_STATUSES:  # held as reserve() holds them, sorted once below
                span = (s.starts_at, s.ends_at)
                if (room_id := s.room_id) is not None:
                    by_room.setdefault(room_id, []).append(span)
                if (staff_id := s.staff_member_id) is not None:
                    by_staff.setdefault(staff_id, []).append(span)
                    if s.kind == "dose":
                        self._live_doses.append(s)
                if (patient_id := s.patient_id) is None or patient_id == me:
                    mine.append(span)
                    if patient_id is not None and s.kind == "dose":
                        day = local_date(s.starts_at, self.tz)
                        self.other_doses.append((day, s.starts_at, s.ends_at, stages.get(s.id) if s.id else None))
        self.other_doses.sort(key=lambda o: o[:3])
        self.room_busy.add_all(by_room)
        self.staff_busy.add_all(by_staff)
        self.patient_busy.add_all({me: mine} if mine else {})
        self._open: dict[date, list[Interval]] = {}
        self._candidates: dict[date, list[tuple[time, datetime]]] = {}
        self._starts: dict[date, tuple[list[datetime], bool]] = {}
        self._staff_hours: dict[tuple[int, date], list[Interval]] = {}
        self._suits: dict[tuple[str, str], tuple[list[Room], list[StaffMember]]] = {}
        self._preferred: dict[date, tuple[datetime | None, datetime | None]] = {}

    # -- bookkeeping
    def _held(self, room_id: int | None, staff_id: int | None, patient_id: int | None) -> list[tuple[_Index, int]]:
        """(index, key) of every resource a session holds (the planned patient when none is given)."""
        held = [(self.room_busy, room_id), (self.staff_busy, staff_id)]
        return [(ix, key) for ix, key in held if key is not None] + [
            (self.patient_busy, self.patient.id if patient_id is None else patient_id)
        ]

    def reserve(
        self, start: datetime, end: datetime, room_id: int | None, staff_id: int | None, patient_id: int | None = None
    ) -> None:
        for ix, key in self._held(room_id, staff_id, patient_id):
            ix.add(key, start, end)

    def release(
        self, start: datetime, end: datetime, room_id: int | None, staff_id: int | None, patient_id: int | None = None
    ) -> None:
        """Undo :meth:`reserve` (a session about to be moved)."""
        for ix, key in self._held(room_id, staff_id, patient_id):
            ix.remove(key, start, end)

    def use_checks(self, route: str | None, checks) -> None:
        """Hold the timed checks (``checks``: the protocol's dose block) of every live dose by
        ``route`` with a nurse, so that a proposed dose's checks stay CHECK_SPACING from them (the
        rule book's ``bp_checks_too_close``)."""
        if not checks:
            return
        for s in self._live_doses:
            if s.route == route:
                for t in check_times(checks, s.starts_at, s.ends_at):
                    self.check_busy.add(s.staff_member_id, t - CHECK_SPACING / 2, t + CHECK_SPACING / 2)

    def checks_free(self, spec: SessionSpec, staff_id: int, start: datetime, end: datetime) -> bool:
        """The dose's checks (if any) keep CHECK_SPACING from the nurse's other checks."""
        checks = getattr(spec, "checks", ())
        if not checks or not self.check_busy.by_key.get(staff_id):
            return True
        half = CHECK_SPACING / 2
        return all(self.check_busy.free(staff_id, t - half, t + half) for t in check_times(checks, start, end))

    def prescriber_ok(self, spec: SessionSpec, start: datetime, end: datetime) -> bool:
        """A REMS dose needs a prescriber on site for its whole span (the rule book's predicate)."""
        return not getattr(spec, "rems", False) or prescriber_on_site(self.clinic, self.staff, Interval(start, end))

    def open_on(self, d: date) -> list[Interval]:
        if d not in self._open:
            self._open[d] = open_intervals(self.clinic, d)
        return self._open[d]

    def candidates_on(self, d: date) -> list[tuple[time, datetime]]:
        """(local time, UTC instant) of every grid point inside the clinic's open time on ``d``."""
        if d not in self._candidates:
            out: list[tuple[time, datetime]] = []
            opened = self.open_on(d)
            if opened:
                midnight = to_utc_lenient(d, time(0), self.tz)
                # a day without a change of UTC offset: the grid is plain arithmetic from midnight
                steady = to_utc_lenient(d + DAY, time(0), self.tz) - midnight == DAY
            step = timedelta(minutes=self.grid)
            for iv in opened:
                lt = local_time(iv.start, self.tz) if local_date(iv.start, self.tz) == d else time(0)
                minute = -(-(lt.hour * 60 + lt.minute) // self.grid) * self.grid
                if steady:  # the instants step by the grid from midnight
                    instant = midnight + timedelta(minutes=minute)
                    while minute < 24 * 60 and instant < iv.end:
                        if instant >= iv.start:
                            out.append((_TIMES[minute], instant))
                        minute += self.grid
                        instant += step
                    continue
                while minute < 24 * 60:
                    t = _TIMES[minute]
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
    def spaced(self, stage: Stage | None, start: datetime, end: datetime) -> bool:
        """Whether a dose of ``stage`` at ``[start, end)`` keeps the minimum gap from each of the
        patient's other live doses, before or after it (the rule book's cross-course spacing)."""
        if stage is None or not self.other_doses:
            return True
        day = local_date(start, self.tz)
        for o_day, o_start, o_end, o_stage in self.other_doses:
            if o_start <= start:  # the planned dose is the later one: its own stage judges
                if (day - o_day).days <= stage.min_gap_days and too_close_across(stage, o_day, o_end, day, start):
                    return False
            else:  # the other dose is later: its course's stage judges (a dose outside any course: ours)
                later = o_stage or stage
                if (o_day - day).days <= later.min_gap_days and too_close_across(later, day, end, o_day, o_start):
                    return False
        return True

    def is_open(self, d: date, start: datetime, end: datetime) -> bool:
        return any(iv.contains(Interval(start, end)) for iv in self.open_on(d))

    def staff_ok(self, staff: StaffMember, d: date, start: datetime, end: datetime) -> bool:
        if not any(iv.contains(Interval(start, end)) for iv in self.staff_hours(staff, d)):
            return False
        busy = self.staff_busy.overlapping(staff.id, start, end)
        return len(busy) < staff.capacity or max_concurrency(busy, Interval(start, end)) < staff.capacity

    def _ordered(self, items: list, preferred: Sequence[int | None]) -> list:
        rank: dict[int, int] = {}
        for pid in preferred:
            if pid is not None:
                rank.setdefault(pid, len(rank))
        return sorted(items, key=lambda x: (rank.get(x.id, len(rank)), x.id))

    def resources(
        self,
        spec: SessionSpec,
        d: date,
        start: datetime,
        end: datetime,
        *,
        room_hint=None,
        staff_hint=None,
        any_room: bool = False,
        no_staff: bool = False,
    ):
        """(room_id, staff_id) for the interval or None. ``any_room``: ignore capability (no suitable
        room exists); ``no_staff``: no clinician needed (none can be found)."""
        rooms = self.rooms if any_room else [r for r in self.rooms if spec.capability in r.capabilities]
        room = next(
            (r for r in self._ordered(rooms, (self.prefs.room_id, room_hint)) if self.room_busy.free(r.id, start, end)),
            None,
        )
        if room is None:
            return None
        if no_staff:
            return room.id, None
        if not self.prescriber_ok(spec, start, end):
            return None
        staff = [s for s in self.staff if s.role == spec.role]
        for s in self._ordered(staff, (self.prefs.staff_member_id, staff_hint)):
            if self.staff_ok(s, d, start, end) and self.checks_free(spec, s.id, start, end):
                return room.id, s.id
        return None

    def has_room_for(self, capability: str) -> bool:
        return any(capability in r.capabilities for r in self.rooms)

    def has_staff_for(self, role: str) -> bool:
        return any(s.role == role for s in self.staff)

    # -- search
    def search(
        self,
        spec: SessionSpec,
        dates: Iterable[date],
        *,
        count: int = 1,
        step: timedelta = timedelta(0),
        not_before: datetime | None = None,
        latest_start: datetime | None = None,
        use_prefs: bool = True,
        any_room: bool = False,
        no_staff: bool = False,
        time_hint: time | None = None,
        room_hint: int | None = None,
        staff_hint: int | None = None,
        spacing: Stage | None = None,
    ) -> list[Slot] | None:
        """The first day (in the order given) with ``count`` sessions ``step`` apart start-to-start that
        all fit; within a day the earliest fitting time (``time_hint`` tried first). ``spacing``: the
        stage whose minimum gap a dose keeps from the patient's other doses."""
        dur = spec.duration
        prefs = self.prefs if use_prefs else Preferences()
        span = step * (count - 1) + dur
        if self.not_before is not None and (not_before is None or not_before < self.not_before):
            not_before = self.not_before
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
                if slots is not None and all(self.spaced(spacing, x.starts_at, x.ends_at) for x in slots):
                    return slots
        return None

    def options(
        self, spec: SessionSpec, d: date, *, count: int = 1, step: timedelta = timedelta(0)
    ) -> list[tuple[datetime, tuple[Span, ...], bool, time]]:
        """Every grid start on local date ``d`` where ``count`` sessions ``step`` apart fit the calendar
        (clinic open, the patient free, a suitable free room and an available clinician with room in
        their capacity), earliest first, each with whether it lies within the course's preferred weekdays
        and times. Preferences do not filter here: the exact planner weighs them. Rooms and clinicians
        are chosen as :meth:`resources` does (the preferred one first, then by id).

        Each resource's free time is turned once into the grid starts it can hold (:func:`_fits`, two
        bisections per free interval) instead of being asked again at every grid start."""
        cands = self.candidates_on(d)
        if not cands:
            return []
        opened = self.open_on(d)
        lo_day, hi_day = opened[0].start, opened[-1].end
        suitable_rooms, suitable_staff = self._suitable(spec)
        rooms = [
            (r.id, subtract(opened, self._busy_within(self.room_busy, r.id, lo_day, hi_day))) for r in suitable_rooms
        ]
        staff = []
        for m in suitable_staff:
            hours = self.staff_hours(m, d)
            if hours:
                busy = self._busy_within(self.staff_busy, m.id, lo_day, hi_day)
                staff.append((m.id, subtract(hours, saturated(busy, m.capacity))))
        if not rooms or not staff:
            return []
        patient = subtract(opened, self._busy_within(self.patient_busy, self.patient.id, lo_day, hi_day))
        dur = spec.duration
        base, ascending = self._grid_starts(d)
        span = step * (count - 1) + dur
        prefs = self.prefs
        day_ok = prefs.weekdays is None or d.weekday() in prefs.weekdays
        lo, hi = self._preferred_times(d)
        checked = bool(getattr(spec, "checks", ())) and bool(self.check_busy.by_key)
        rems = bool(getattr(spec, "rems", False))
        out: list[tuple[datetime, tuple[Span, ...], bool, time]] = []
        floor = self.not_before
        if count == 1 and not rems and not checked:
            # (the loop below for one session: the first fitting room and clinician at each start)
            patient_fits = _fits(patient, base, dur, ascending)
            room_at = _first_fit(rooms, base, dur, ascending)
            for x, member in enumerate(_first_fit(staff, base, dur, ascending)):
                if member is None or not patient_fits[x]:
                    continue
                room = room_at[x]
                if room is None:
                    continue
                t, start = cands[x]
                if floor is not None and start < floor:
                    continue
                end = start + dur
                inside = day_ok and (lo is None or start >= lo) and (hi is None or end <= hi)
                out.append((start, (Span(start, end, room, member),), inside, t))
            return out
        # per session k of the series: (its starts, the patient's fits, each room's, each clinician's)
        series = []
        for k in range(count):
            starts = base if k == 0 else [a + step * k for a in base]
            series.append(
                (
                    starts,
                    _fits(patient, starts, dur, ascending),
                    [(rid, _fits(free, starts, dur, ascending)) for rid, free in rooms],
                    [(sid, _fits(free, starts, dur, ascending)) for sid, free in staff],
                )
            )
        for x, (t, start) in enumerate(cands):
            if floor is not None and start < floor:
                continue
            slots = []
            for starts, patient_fits, room_fits, staff_fits in series:
                if not patient_fits[x]:
                    break
                room = None
                for rid, fits in room_fits:
                    if fits[x]:
                        room = rid
                        break
                if room is None:
                    break
                a = starts[x]
                b = a + dur
                if rems and not self.prescriber_ok(spec, a, b):
                    break
                member = None
                for sid, fits in staff_fits:
                    if fits[x] and (not checked or self.checks_free(spec, sid, a, b)):
                        member = sid
                        break
                if member is None:
                    break
                slots.append(Span(a, b, room, member))
            else:
                inside = day_ok and (lo is None or start >= lo) and (hi is None or start + span <= hi)
                out.append((start, tuple(slots), inside, t))
        return out

    def _preferred_times(self, d: date) -> tuple[datetime | None, datetime | None]:
        """The preferences' earliest start and latest end on ``d`` as instants (None: no bound)."""
        got = self._preferred.get(d)
        if got is None:
            prefs = self.prefs
            got = self._preferred[d] = (
                to_utc_floor(d, prefs.earliest, self.tz) if prefs.earliest else None,
                to_utc_floor(d, prefs.latest, self.tz) if prefs.latest else None,
            )
        return got

    def _suitable(self, spec: SessionSpec) -> tuple[list[Room], list[StaffMember]]:
        """The rooms and clinicians that suit ``spec``, in the order :meth:`options` tries them."""
        key = (spec.capability, spec.role)
        got = self._suits.get(key)
        if got is None:
            got = self._suits[key] = (
                self._ordered([r for r in self.rooms if room_suits(r, spec.capability)], (self.prefs.room_id,)),
                self._ordered([m for m in self.staff if staff_suits(m, spec.role)], (self.prefs.staff_member_id,)),
            )
        return got

    def _grid_starts(self, d: date) -> tuple[list[datetime], bool]:
        """The instants of :meth:`candidates_on`, in its order, and whether they ascend (they do on
        a real grid; :func:`_fits` stays exact when not)."""
        got = self._starts.get(d)
        if got is None:
            starts = [instant for _t, instant in self.candidates_on(d)]
            got = self._starts[d] = (starts, all(a < b for a, b in pairwise(starts)))
        return got

    @staticmethod
    def _busy_within(index: _Index, key: object, lo: datetime, hi: datetime) -> list[Interval]:
        return index.overlapping(key, lo, hi)

    def _fit_series(self, spec, d, start, count, step, any_room, no_staff, room_hint, staff_hint):
        slots: list[Slot] = []
        for k in range(count):
            s = start + step * k
            e = s + spec.duration
            if not self.is_open(d, s, e) or not self.patient_busy.free(self.patient.id, s, e):
                return None
            got = self.resources(
                spec, d, s, e, room_hint=room_hint, staff_hint=staff_hint, any_room=any_room, no_staff=no_staff
            )
            if got is None:
                return None
            room_hint, staff_hint = got
            slots.append(Slot(s, e, got[0], got[1]))
        return slots

    def ladder(
        self,
        spec: SessionSpec,
        strict: Sequence[date],
        extended: Sequence[date],
        *,
        guided: Callable[[date], bool] | None = None,
        count: int = 1,
        step: timedelta = timedelta(0),
        not_before: datetime | None = None,
        latest_start: datetime | None = None,
        spacing: Stage | None = None,
        **hints,
    ) -> list[Slot]:
        """Search with progressively fewer rules; the slots carry which rules were relaxed. ``spacing``
        (a dose): the stage whose minimum gap it keeps from the patient's other doses, in every attempt
        but the last (which gives it up, as ``spacing``)."""
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
            (
                frozenset({"window", "preferences", "guidance", "staff"}),
                list(strict) + list(extended),
                False,
                None,
                True,
            ),
        ]
        if self.prefs.weekdays is None and self.prefs.earliest is None and self.prefs.latest is None:
            # without time preferences the "relax preferences" steps would repeat the search before them
            attempts = [a for a in attempts if a[2] or "guidance" in a[0]]
        if nobody:  # nobody with the role at all: plan without a clinician from the start
            attempts = [(r | {"staff"}, d, u, lt, True) for r, d, u, lt, _ in attempts]
        steps: list[tuple[frozenset[str], list[date], bool, datetime | None, bool, Stage | None]]
        if spacing is not None and self.other_doses:
            r0, d0, u0, lt0, ns0 = attempts[-1]
            steps = [(r, d, u, lt, ns, spacing) for r, d, u, lt, ns in attempts] + [
                (r0 | {"spacing"}, d0, u0, lt0, ns0, None)
            ]
        else:
            steps = [(r, d, u, lt, ns, None) for r, d, u, lt, ns in attempts]
        for relaxed, dates, use_prefs, latest, no_staff, spaced_by in steps:
            found = self.search(
                spec, dates, use_prefs=use_prefs, latest_start=latest, no_staff=no_staff, spacing=spaced_by, **base
            )
            if found:
                extra = set(relaxed)
                if any_room:
                    extra.add("room")
                for s in found:
                    self.reserve(s.starts_at, s.ends_at, s.room_id, s.staff_member_id)
                return [Slot(s.starts_at, s.ends_at, s.room_id, s.staff_member_id, frozenset(extra)) for s in found]
        raise PlanningError(
            "no_slot",
            f"no free {spec.capability} room and {spec.role} in the clinic's open "
            f"hours between {strict[0] if strict else extended[0]} and "
            f"{(extended or strict)[-1]}",
        )


def to_utc_floor(d: date, t: time, tz: str) -> datetime:
    """A preference bound as an instant (a nonexistent time is moved past the gap)."""
    return to_utc_lenient(d, t, tz)


def date_range(first: date, last: date) -> list[date]:
    return list(iter_days(first, last))


def extended_from(first: date) -> list[date]:
    """Where a search goes on once a rule's window is given up: ``first`` and EXTEND_DAYS days more."""
    return date_range(first, first + timedelta(days=EXTEND_DAYS))


def extended_after(last: date) -> list[date]:
    """The EXTEND_DAYS days after a window that ends on ``last``."""
    return date_range(last + DAY, last + timedelta(days=EXTEND_DAYS))
