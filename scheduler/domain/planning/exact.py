"""The exact search for the course's core: evaluation and preparation, every induction dose and its
integration session, placed together so that every hard rule holds whenever that is possible.

A best-first (A*) search over *dose days*. A node is the course after its j-th dose day: that day, the
first day of its stage and the doses already in the stage's current week (for the window and the
guidance), when the next dose may start at the earliest (the end of the last session placed, or the
first day the minimum gap allows, whichever is later) and an integration session still owed. From a node
every day the spacing rules allow is tried; on each day every free time (from the slot search of
:mod:`.slots`) is tried, the dose carrying its integration session: the earliest free one in its window
(and the earliest inside the preferences, when that differs), or, when the next dose needs none, owed
until after that dose. Sessions of the plan on different days never compete for a room or a clinician,
and on one day they cannot overlap (one patient), so a day's free times depend only on the existing
calendar and are computed once.

The cost, compared lexicographically: sessions breaking the protocol's weekday/per-week guidance, then
sessions outside the course's preferred days and times, then the day of the last dose, then the end of
the last induction session, then how often a dose's time of day differs from the one before it. The
bound (the last dose no earlier than every remaining gap at its minimum, on guided weekdays) never
overestimates and never decreases along a path, so the first complete node taken from the queue is the
best plan. The time-of-day term is a tie-break of that order (not part of a node's identity), so it is
minimised only among plans the rest of the order cannot tell apart.

The first dose may fall on any day from the earliest the evaluation and preparation allow to
``FIRST_DOSE_HORIZON_DAYS`` after ``start_on``. :func:`search` returns None when no plan meets every
hard rule in that horizon; the caller then proposes the least-bad plan and names the broken rules.
"""
from __future__ import annotations

import heapq
from bisect import bisect_left
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import count as counter

from scheduler.domain.planning import rules
from scheduler.domain.planning.results import Slot
from scheduler.domain.planning.slots import SlotFinder
from scheduler.domain.protocols import Protocol, SessionSpec, Stage
from scheduler.domain.timezones import day_start_utc, local_date, local_time

FIRST_DOSE_HORIZON_DAYS = 35  # the first induction dose falls within this many days of start_on
MAX_EXPANSIONS = 200_000      # a safety net far above what a real calendar needs (then: the least-bad plan)
PRE_SEARCH_DAYS = 60          # how far the evaluation and preparation look for a free day


@dataclass(frozen=True)
class Placed:
    """One session of the exact plan: ``guidance`` / ``preferences`` say which soft rule it misses."""
    kind: str
    spec: SessionSpec
    slots: tuple[Slot, ...]
    sequence: int
    outside_preferences: bool = False
    breaks_guidance: bool = False


@dataclass(frozen=True)
class DoseDay:
    stage_index: int
    stage: Stage
    first_in_stage: bool
    sequences: tuple[int, ...]
    left_in_stage: int  # dose days of the stage after this one


def dose_days(protocol: Protocol) -> list[DoseDay]:
    out, seq = [], 1
    for si, st in enumerate(protocol.induction.stages):
        for j in range(st.days):
            out.append(DoseDay(si, st, j == 0, tuple(range(seq, seq + st.doses_per_day)), st.days - j - 1))
            seq += st.doses_per_day
    return out


class DayOptions:
    """The free times of each day for each kind of session, computed once per day from the calendar."""

    def __init__(self, finder: SlotFinder):
        self.finder = finder
        self._cache: dict[tuple, tuple[list[datetime], list]] = {}

    def on(self, spec: SessionSpec, d: date, count: int = 1, step: timedelta = timedelta(0)):
        key = (id(spec), d, count, step)
        got = self._cache.get(key)
        if got is None:
            opts = self.finder.options(spec, d, count=count, step=step)
            got = ([o[0] for o in opts], opts)
            self._cache[key] = got
        return got

    def earliest(self, spec: SessionSpec, lo: datetime, hi: datetime | None, days, *, inside: bool):
        """The earliest option starting in ``[lo, hi]`` on ``days`` (in order), inside the preferences
        when ``inside``."""
        for d in days:
            starts, opts = self.on(spec, d)
            i = bisect_left(starts, lo)
            while i < len(opts):
                o = opts[i]
                if hi is not None and o[0] > hi:
                    return None
                if o[2] or not inside:
                    return o
                i += 1
        return None

    def earliest_pair(self, spec: SessionSpec, lo: datetime, hi: datetime | None, days):
        """The earliest option in the window, and the earliest inside the preferences when that differs."""
        days = list(days)
        first = self.earliest(spec, lo, hi, days, inside=False)
        if first is None or first[2]:
            return [first] if first else []
        pref = self.earliest(spec, lo, hi, days, inside=True)
        return [first, pref] if pref else [first]


def _days(first: date, last: date):
    d = first
    while d <= last:
        yield d
        d += timedelta(days=1)


@dataclass
class _Node:
    j: int
    day: date | None
    stage_first: date | None
    week: tuple[int, int]
    free_from: datetime | None
    pending: tuple[datetime, datetime, int] | None  # (earliest start, latest start, dose sequence)
    cost: tuple[int, int, int]  # guidance breaks, sessions outside preferences, time-of-day changes
    last_time: object
    placed: tuple[Placed, ...]
    parent: "_Node | None"


class ExactPlanner:
    def __init__(self, protocol: Protocol, finder: SlotFinder, start_on: date, first_lo: date,
                 has_valid_evaluation_on: date | None, not_before: datetime | None = None):
        self.p = protocol
        self.finder = finder
        self.tz = finder.tz
        self.opts = DayOptions(finder)
        self.start_on = start_on
        self.first_lo = first_lo
        self.old_eval = has_valid_evaluation_on
        self.not_before = not_before
        self.days = dose_days(protocol)
        self._pre_cache: dict[tuple, list] = {}
        self._day_start: dict[date, datetime] = {}
        self._outcomes: dict = {}
        self._lb: dict = {}
        self.expansions = 0

    # ------------------------------------------------------------ helpers
    def day_start(self, d: date) -> datetime:
        got = self._day_start.get(d)
        if got is None:
            got = self._day_start[d] = day_start_utc(d, self.tz)
        return got

    def _days_until(self, d: date, hi: datetime) -> list[date]:
        out = []
        while self.day_start(d) <= hi:
            out.append(d)
            d += timedelta(days=1)
        return out

    def lower_bound_last_day(self, j: int, d: date) -> date:
        """The earliest the last dose day can be after dose day ``j`` on ``d`` (guided weekdays)."""
        key = (j, d)
        got = self._lb.get(key)
        if got is not None:
            return got
        for dd in self.days[j + 1:]:
            d = d + timedelta(days=dd.stage.min_gap_days)
            wk = dd.stage.weekdays
            while wk is not None and d.weekday() not in wk:
                d += timedelta(days=1)
        self._lb[key] = d
        return d

    # ------------------------------------------------------------ before the first dose
    def pre_chain(self, first_day: date):
        """(sessions outside preferences, placed sessions) of the evaluation and preparation that let the
        first dose fall on ``first_day``, or None when they cannot."""
        p = self.p
        ev, prep = p.evaluation, p.preparation
        reuse = ev is not None and self.old_eval is not None and rules.evaluation_covers(ev, self.old_eval, first_day)
        lo = self.start_on
        if ev is not None and not reuse:
            lo = max(lo, first_day - timedelta(days=ev.valid_days))
        key = (lo, reuse)
        if key not in self._pre_cache:
            self._pre_cache[key] = [c for c in (self._chain(lo, reuse, True), self._chain(lo, reuse, False)) if c]
        best = None
        for misses, placed, last_prep, eval_day in self._pre_cache[key]:
            if ev is not None and (eval_day is None or not rules.evaluation_covers(ev, eval_day, first_day)):
                continue
            if last_prep is not None and rules.preparation_before(prep, last_prep) > first_day:
                continue
            if best is None or misses < best[0]:
                best = (misses, placed)
        return best

    def _chain(self, lo: date, reuse: bool, inside: bool):
        p = self.p
        placed: list[Placed] = []
        misses = 0
        prev_day: date | None = None
        prev_end = self.not_before
        eval_day = self.old_eval if reuse else None
        if p.evaluation is not None and not reuse:
            o = self._first_free(p.evaluation, lo, prev_end, inside)
            if o is None:
                return None
            placed.append(Placed("evaluation", p.evaluation, o[1], 1, not o[2]))
            misses += 0 if o[2] else 1
            eval_day = prev_day = local_date(o[0], self.tz)
            prev_end = o[1][-1].ends_at
        elif reuse:
            prev_day = self.old_eval
        prep = p.preparation
        if prep is not None:
            for i in range(1, prep.planned_count + 1):
                plo = max(lo, rules.preparation_before(prep, prev_day)) if prev_day else lo
                o = self._first_free(prep, plo, prev_end, inside)
                if o is None:
                    return None
                placed.append(Placed("preparation", prep, o[1], i, not o[2]))
                misses += 0 if o[2] else 1
                prev_day, prev_end = local_date(o[0], self.tz), o[1][-1].ends_at
        last_prep = prev_day if prep is not None and prep.planned_count else None
        return misses, tuple(placed), last_prep, eval_day

    def _first_free(self, spec, lo: date, not_before: datetime | None, inside: bool):
        start = not_before if not_before is not None else self.day_start(lo)
        start = max(start, self.day_start(lo))
        o = self.opts.earliest(spec, start, None, _days(lo, lo + timedelta(days=PRE_SEARCH_DAYS)), inside=inside)
        if o is None and inside:
            return self.opts.earliest(spec, start, None, _days(lo, lo + timedelta(days=PRE_SEARCH_DAYS)), inside=False)
        return o

    # ------------------------------------------------------------ a dose day and its integration
    def outcomes(self, j: int, d: date, free_from: datetime | None, pending):
        """Ways to hold dose day ``j`` on ``d``: (dose option, the integration option placed after it (for
        the owed one when ``pending``, else for this day's dose) or None, the integration now owed (its
        window and dose sequence) or None, when the next dose may start, sessions outside preferences)."""
        dd = self.days[j]
        spec = self.p.dose
        step = spec.duration + timedelta(minutes=dd.stage.minutes_between_doses)
        shape = (dd.stage.doses_per_day, step, rules.needs_integration(self.p, dd.sequences[-1]),
                 j + 1 < len(self.days) and rules.needs_integration(self.p, self.days[j + 1].sequences[0]))
        cacheable = free_from is None and pending is None
        if cacheable and (shape, d) in self._outcomes:
            return self._outcomes[(shape, d)]
        starts, opts = self.opts.on(spec, d, dd.stage.doses_per_day, step)
        i = bisect_left(starts, free_from) if free_from is not None else 0
        integ = self.p.integration
        last_seq = dd.sequences[-1]
        needs = rules.needs_integration(self.p, last_seq)
        nxt = self.days[j + 1] if j + 1 < len(self.days) else None
        may_owe = (needs and nxt is not None and len(nxt.sequences) == 1
                   and not rules.needs_integration(self.p, nxt.sequences[0]))
        out = []
        for o in opts[i:]:
            dose_slots = o[1]
            end = dose_slots[-1].ends_at
            miss = 0 if o[2] else len(dose_slots)
            if pending is not None:
                lo, hi, _seq = pending
                for it in self.opts.earliest_pair(integ, max(lo, end), hi, self._days_until(d, hi)):
                    out.append((o, it, None, it[1][-1].ends_at, miss + (0 if it[2] else 1)))
            elif needs:
                lo, hi = rules.integration_window(integ, end)
                for it in self.opts.earliest_pair(integ, lo, hi, self._days_until(d, hi)):
                    out.append((o, it, None, it[1][-1].ends_at, miss + (0 if it[2] else 1)))
                if may_owe:
                    out.append((o, None, (lo, hi, last_seq), end, miss))
            else:
                out.append((o, None, None, end, miss))
        if cacheable:
            self._outcomes[(shape, d)] = out
        return out

    # ------------------------------------------------------------ the search
    def search(self) -> list[Placed] | None:
        if len(self.days) > 1 and any(len(dd.sequences) > 1 for dd in self.days) and self.p.integration is not None:
            return None  # integration between doses of one day: not a shipped shape; least-bad planner
        n = len(self.days)
        self._tick = counter()
        heap: list = []
        closed: set = set()
        root = _Node(-1, None, None, (0, 0), self.not_before, None, (0, 0, 0), None, (), None)
        self._queue_day(heap, root, self.first_lo, self.start_on + timedelta(days=FIRST_DOSE_HORIZON_DAYS))
        while heap:
            entry = heapq.heappop(heap)
            if entry[2] == 1:  # the next candidate day of a node
                _p, _t, _k, node, d, last = entry
                self._queue_day(heap, node, d + timedelta(days=1), last)
                self._day(node, d, heap, closed)
                continue
            _p, _t, _k, key, node = entry
            if key in closed:
                continue
            closed.add(key)
            if node.j == n - 1 and node.pending is None:
                return self._unwind(node)
            self.expansions += 1
            if self.expansions > MAX_EXPANSIONS:
                return None
            if node.j + 1 < n:
                self._queue_day(heap, node, *rules.next_dose_days(self.days[node.j + 1].stage, node.day))
        return None

    def _queue_day(self, heap, node: _Node, d: date, last: date) -> None:
        """Candidate days are tried lazily, in the order of their bound."""
        if d > last:
            return
        j = node.j + 1
        prio = (node.cost[0], node.cost[1], self.lower_bound_last_day(j, d).toordinal(), 0.0, node.cost[2], -j)
        heapq.heappush(heap, (prio, next(self._tick), 1, node, d, last))

    def _day(self, node: _Node, d: date, heap, closed) -> None:
        j = node.j + 1
        dd = self.days[j]
        st = dd.stage
        pre = None
        if node.day is None:
            pre = self.pre_chain(d)
            if pre is None:
                return
        if dd.first_in_stage:
            if not rules.within_stage_window(st, d, d, dd.left_in_stage):
                return
            stage_first, week_idx, in_week = d, 0, 0
            guided = rules.guidance_ok(st, None, d, 0)
        else:
            stage_first = node.stage_first
            if not rules.within_stage_window(st, stage_first, d, dd.left_in_stage):
                return
            week_idx = (d - stage_first).days // 7
            in_week = node.week[1] if node.week[0] == week_idx else 0
            guided = rules.guidance_ok(st, stage_first, d, in_week)
        free_from = node.free_from
        if free_from is not None and free_from <= self.day_start(d):
            free_from = None
        week = (week_idx, in_week + st.doses_per_day) if st.per_week_max is not None else (0, 0)
        self._push_day(node, j, d, free_from, pre, stage_first, week, guided, heap, closed)

    def _push_day(self, node, j, d, free_from, pre, stage_first, week, guided, heap, closed) -> None:
        dd = self.days[j]
        n = len(self.days)
        nxt = self.days[j + 1] if j + 1 < n else None
        base_miss = pre[0] if pre else 0
        lb_day = self.lower_bound_last_day(j, d)
        best: dict = {}
        for o, integ, owed, ff, miss in self.outcomes(j, d, free_from, node.pending):
            if nxt is not None:
                floor = self.day_start(d + timedelta(days=nxt.stage.min_gap_days))
                ff_key = ff if ff > floor else None
            else:
                ff_key = ff
            key = (j, d, stage_first, week, ff_key, owed)
            if key in closed:
                continue
            t = o[3]
            changes = 0 if node.last_time is None or node.last_time == t else 1
            g = (node.cost[0] + (0 if guided else len(dd.sequences)), node.cost[1] + miss + base_miss,
                 node.cost[2] + changes)
            end_key = ff.timestamp() if j == n - 1 else 0.0
            prio = (g[0], g[1], lb_day.toordinal(), end_key, g[2], -j)
            old = best.get(key)
            if old is not None and old[0] <= prio:
                continue
            best[key] = (prio, o, integ, owed, ff, g, t)
        int_seq = node.pending[2] if node.pending is not None else dd.sequences[-1]
        for key, (prio, o, integ, owed, ff, g, t) in best.items():
            placed = list(pre[1]) if pre else []
            placed.append(Placed("dose", self.p.dose, o[1], dd.sequences[0], not o[2], not guided))
            if integ is not None:
                placed.append(Placed("integration", self.p.integration, integ[1], int_seq, not integ[2]))
            child = _Node(j, d, key[2], key[3], ff, owed, g, t, tuple(placed), node)
            heapq.heappush(heap, (prio, next(self._tick), 0, key, child))

    @staticmethod
    def _unwind(node: _Node) -> list[Placed]:
        chunks = []
        while node is not None:
            chunks.append(node.placed)
            node = node.parent
        return [p for chunk in reversed(chunks) for p in chunk]
