"""The exact search for the course's core: evaluation and preparation, every induction dose and its
integration session, placed together so that every hard rule holds whenever that is possible.

A best-first (A*) search over *dose days*. A node is the course after its j-th dose day: that day, the
first day of its stage (and of the course, when a later stage's window is anchored to it) and the doses
already in the stage's current week (for the window and the guidance), when the next dose may start at the earliest (the end of the last session placed, or the
first day the minimum gap allows, whichever is later) and an integration session still owed. From a node
every day the spacing rules allow (up to the interruption tolerance; a gap past the stage's usual
cadence counts as guidance broken) is tried; on each day every free time (from the slot search of
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
from itertools import pairwise

from scheduler.domain.planning import rules
from scheduler.domain.planning.slots import SlotFinder, Span
from scheduler.domain.protocols import Protocol, SessionSpec, Stage
from scheduler.domain.timezones import day_start_utc, local_date

FIRST_DOSE_HORIZON_DAYS = 35  # the first induction dose falls within this many days of start_on
MAX_EXPANSIONS = 200_000  # a safety net far above what a real calendar needs (then: the least-bad plan)
PRE_SEARCH_DAYS = 60  # how far the evaluation and preparation look for a free day

# ExactPlanner._ahead's answers depend on the preferred weekdays and the stage's gaps, window and doses
# a day only, never on the calendar: kept across plans, one table per (weekdays, those numbers).
_AHEAD_MEMOS: dict[tuple, dict[tuple[int, int, int], int | None]] = {}
_AHEAD_MEMOS_MAX = 512  # distinct (weekdays, stage shape) pairs kept; then the tables start anew


@dataclass(frozen=True)
class Placed:
    """One session of the exact plan: ``guidance`` / ``preferences`` say which soft rule it misses."""

    kind: str
    spec: SessionSpec
    slots: tuple[Span, ...]  # (course._plan_exact makes them the plan's slots)
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
        self._inside: dict[tuple, tuple[list[datetime], list]] = {}
        self._runs: dict[tuple, _Run] = {}

    def on(self, spec: SessionSpec, d: date, count: int = 1, step: timedelta = timedelta(0)):
        key = (id(spec), d, count, step)
        got = self._cache.get(key)
        if got is None:
            opts = self.finder.options(spec, d, count=count, step=step)
            got = ([o[0] for o in opts], opts)
            self._cache[key] = got
        return got

    def _on_inside(self, spec: SessionSpec, d: date):
        """The options of :meth:`on` (one session) that lie inside the preferences."""
        key = (id(spec), d)
        got = self._inside.get(key)
        if got is None:
            opts = [o for o in self.on(spec, d)[1] if o[2]]
            got = self._inside[key] = ([o[0] for o in opts], opts)
        return got

    def earliest(self, spec: SessionSpec, lo: datetime, hi: datetime | None, days, *, inside: bool):
        """The earliest option starting in ``[lo, hi]`` on ``days`` (ascending), inside the
        preferences when ``inside``. A day's options ascend and lie before the next day's, so the
        first one from ``lo`` on decides (None when it starts after ``hi``)."""
        for d in days:
            opened = self.finder.open_on(d)
            if not opened:
                continue
            if hi is not None and opened[0].start > hi:
                return None
            starts, opts = self._on_inside(spec, d) if inside else self.on(spec, d)
            i = bisect_left(starts, lo)
            if i < len(opts):
                o = opts[i]
                return None if hi is not None and o[0] > hi else o
        return None

    def earliest_pair(self, spec: SessionSpec, lo: datetime, hi: datetime | None, days):
        """The earliest option in the window, and the earliest inside the preferences when that differs."""
        days = days if isinstance(days, list) else list(days)
        first = self.earliest(spec, lo, hi, days, inside=False)
        if first is None or first[2]:
            return [first] if first else []
        pref = self.earliest(spec, lo, hi, days, inside=True)
        return [first, pref] if pref else [first]

    def earliest_pair_from(self, spec: SessionSpec, lo: datetime, hi: datetime, first_day: date, ndays: int):
        """:meth:`earliest_pair` on the ``ndays`` days from ``first_day``, each answer one bisection in
        those days' options joined into one ascending list (:class:`_Run`)."""
        first = self._earliest_run(spec, lo, hi, first_day, ndays, False)
        if first is None or first[2]:
            return [first] if first else []
        pref = self._earliest_run(spec, lo, hi, first_day, ndays, True)
        return [first, pref] if pref else [first]

    def _earliest_run(self, spec: SessionSpec, lo: datetime, hi: datetime, first_day: date, ndays: int, inside: bool):
        """:meth:`earliest` over ``first_day`` and the ``ndays - 1`` days after it. The days' options ascend
        and each day's lie before the next day's, so the first option from ``lo`` on in the joined list
        is the one :meth:`earliest` finds day by day; a day is joined only when a look-up reaches it (and
        not when it opens after ``hi``, where :meth:`earliest` stops too)."""
        if ndays <= 0:
            return None
        key = (id(spec), first_day, inside)
        run = self._runs.get(key)
        if run is None:
            run = self._runs[key] = _Run()
        starts = run.starts
        while True:
            limit = run.ends[ndays - 1] if len(run.ends) >= ndays else len(starts)
            i = bisect_left(starts, lo, 0, limit)
            if i < limit:
                o = run.opts[i]
                return None if o[0] > hi else o
            k = len(run.ends)
            if k >= ndays or not run.ascending:
                break
            d = first_day + timedelta(days=k)
            opened = self.finder.open_on(d)
            if opened and opened[0].start > hi:
                return None
            if opened:
                day_starts, day_opts = self._on_inside(spec, d) if inside else self.on(spec, d)
                if day_starts and (
                    (starts and starts[-1] >= day_starts[0]) or any(a >= b for a, b in pairwise(day_starts))
                ):
                    run.ascending = False  # (not on a real grid): asked day by day below
                    break
                starts.extend(day_starts)
                run.opts.extend(day_opts)
            run.ends.append(len(starts))
        if run.ascending:
            return None
        days = [first_day + timedelta(days=k) for k in range(ndays)]
        return self.earliest(spec, lo, hi, days, inside=inside)


class _Run:
    """The options of one kind of session on consecutive days from one day on, joined in one list:
    ``ends[k]`` how many of them lie on the first ``k + 1`` days joined so far."""

    __slots__ = ("ascending", "ends", "opts", "starts")

    def __init__(self) -> None:
        self.starts: list[datetime] = []
        self.opts: list = []
        self.ends: list[int] = []
        self.ascending = True


def _misses_ahead(memo: dict, pref: frozenset[int], st: Stage, left: int, offset: int, wd: int) -> int | None:
    """:meth:`ExactPlanner.misses_ahead`'s recursion over the stage's next gaps (``memo``: the table
    of this weekday set and stage shape)."""
    if left == 0:
        return 0
    key = (left, offset, wd)
    if key in memo:
        return memo[key]
    best = None
    for gap in range(st.min_gap_days, st.max_gap_days + 1):
        if offset + gap + (left - 1) * st.min_gap_days > st.window_days:
            break
        w = (wd + gap) % 7
        rest = _misses_ahead(memo, pref, st, left - 1, offset + gap, w)
        if rest is not None:
            cost = rest + (0 if w in pref else st.doses_per_day)
            if best is None or cost < best:
                best = cost
    memo[key] = best
    return best


def _days(first: date, last: date):
    d = first
    while d <= last:
        yield d
        d += timedelta(days=1)


@dataclass
class _Group:
    """Options of one dose day that leave the course in the same state: ``first`` the earliest,
    ``by_time`` one per time of day (for a steady time), all with ``miss`` sessions outside preferences."""

    ff_key: datetime | None
    owed: tuple | None
    miss: int
    first: tuple
    by_time: dict


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
    parent: _Node | None
    course_first: date | None = None  # the first dose day (the origin of windows anchored to the course)


class ExactPlanner:
    def __init__(
        self,
        protocol: Protocol,
        finder: SlotFinder,
        start_on: date,
        first_lo: date,
        has_valid_evaluation_on: date | None,
        not_before: datetime | None = None,
    ):
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
        self._integrations: dict[tuple[date, datetime], tuple[list, datetime, datetime]] = {}
        self.pref_days = finder.prefs.weekdays
        self._ahead_memo: dict[int, dict] = {}  # stage index -> its table in _AHEAD_MEMOS
        self._lb: dict = {}
        self.anchored = protocol.induction.anchored  # some stage's window counts from the first dose
        self.expansions = 0

    # ------------------------------------------------------------ helpers
    def day_start(self, d: date) -> datetime:
        got = self._day_start.get(d)
        if got is None:
            got = self._day_start[d] = day_start_utc(d, self.tz)
        return got

    def misses_ahead(self, j: int, d: date, origin: date) -> int:
        """A lower bound of the doses outside the preferred weekdays among the rest of the stage after
        dose day ``j`` on ``d``: the fewest any sequence of days could have that keeps the stage's
        cadence and window (``origin``: the day its window counts from), whatever the calendar (so the
        search need not try every start to learn that a daily protocol cannot keep to three weekdays).
        A gap past the cadence (up to the interruption tolerance) breaks guidance, which the cost
        compares first, so leaving those gaps out keeps the bound below every cheaper completion."""
        if self.pref_days is None:
            return 0
        dd = self.days[j]
        got = self._ahead(self.pref_days, dd.stage_index, dd.stage, dd.left_in_stage, (d - origin).days, d.weekday())
        return got if got is not None else 0

    def _ahead(self, pref: frozenset[int], si: int, st: Stage, left: int, offset: int, wd: int) -> int | None:
        memo = self._ahead_memo.get(si)
        if memo is None:
            shape = (pref, st.min_gap_days, st.max_gap_days, st.window_days, st.doses_per_day)
            memo = _AHEAD_MEMOS.get(shape)
            if memo is None:
                if len(_AHEAD_MEMOS) >= _AHEAD_MEMOS_MAX:
                    _AHEAD_MEMOS.clear()
                memo = _AHEAD_MEMOS[shape] = {}
            self._ahead_memo[si] = memo
        return _misses_ahead(memo, pref, st, left, offset, wd)

    def lower_bound_last_day(self, j: int, d: date, course_first: date) -> date:
        """The earliest the last dose day can be after dose day ``j`` on ``d`` (guided weekdays, the
        openings of the stages anchored to the course that began on ``course_first``)."""
        key = (j, d, course_first if self.anchored else None)
        got = self._lb.get(key)
        if got is not None:
            return got
        for dd in self.days[j + 1 :]:
            d = d + timedelta(days=dd.stage.min_gap_days)
            opens = rules.stage_opens_on(dd.stage, course_first) if dd.first_in_stage else None
            if opens is not None and opens > d:
                d = opens
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
            if prep is not None and last_prep is not None and rules.preparation_before(prep, last_prep) > first_day:
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
    def outcomes(self, j: int, d: date, free_from: datetime | None, pending) -> list[_Group]:
        """Ways to hold dose day ``j`` on ``d``, grouped by what the rest of the course sees of them
        (when the next dose may start, the integration still owed); each group keeps its fewest
        sessions outside the preferences and the options that reach it."""
        dd = self.days[j]
        spec = self.p.dose
        step = spec.duration + timedelta(minutes=dd.stage.minutes_between_doses)
        nxt = self.days[j + 1] if j + 1 < len(self.days) else None
        last_seq = dd.sequences[-1]
        needs = rules.needs_integration(self.p, last_seq)
        next_needs = nxt is not None and rules.needs_integration(self.p, nxt.sequences[0])
        may_owe = needs and nxt is not None and len(nxt.sequences) == 1 and not next_needs
        # An integration owed to the next day names its dose: outcomes that may owe one are this
        # dose's own (shared by days of the same shape otherwise).
        owner = last_seq if may_owe else None
        shape = (id(dd.stage), step, needs, next_needs, nxt.stage.min_gap_days if nxt else None, owner)
        cacheable = free_from is None and pending is None
        if cacheable:
            got = self._outcomes.get((shape, d))
            if got is not None:
                return got
        starts, opts = self.opts.on(spec, d, dd.stage.doses_per_day, step)
        i = bisect_left(starts, free_from) if free_from is not None else 0
        integ = self.p.integration
        floor = self.day_start(d + timedelta(days=nxt.stage.min_gap_days)) if nxt is not None else None
        groups: dict = {}

        def add(o, it, owed, ff, miss):
            ff_key = ff if floor is None or ff > floor else None
            key = (ff_key, owed)
            g = groups.get(key)
            if g is None or miss < g.miss:
                groups[key] = _Group(ff_key, owed, miss, (o, it, ff), {o[3]: (o, it, ff)})
            elif miss == g.miss and o[3] not in g.by_time:
                g.by_time[o[3]] = (o, it, ff)

        # the days an integration window of ``within_hours`` after a session on ``d`` can reach (a day
        # too many at most: its options all start too late)
        span_days = (timedelta(hours=integ.within_hours) if integ is not None else timedelta(0)).days + 2
        spaced = self.finder.spaced if self.finder.other_doses else None
        pair = self.opts.earliest_pair_from
        for o in opts[i:]:
            dose_slots = o[1]
            if spaced is not None and not all(spaced(dd.stage, x.starts_at, x.ends_at) for x in dose_slots):
                continue  # too close to one of the patient's doses of another course or outside any course
            end = dose_slots[-1].ends_at
            miss = 0 if o[2] else len(dose_slots)
            if pending is not None and integ is not None:  # (owed only when the protocol has integration)
                lo, hi, _seq = pending
                for it in pair(integ, max(lo, end), hi, d, (hi - end).days + 2):
                    add(o, it, None, it[1][-1].ends_at, miss + (0 if it[2] else 1))
            elif needs and integ is not None:
                # the integration of a dose ending at ``end`` on ``d``: the same for every dose day
                # (and day shape) that tries this time
                its = self._integrations.get((d, end))
                if its is None:
                    lo, hi = rules.integration_window(integ, end)
                    its = self._integrations[(d, end)] = (pair(integ, lo, hi, d, span_days), lo, hi)
                lo, hi = its[1], its[2]
                for it in its[0]:
                    add(o, it, None, it[1][-1].ends_at, miss + (0 if it[2] else 1))
                if may_owe:
                    add(o, None, (lo, hi, last_seq), end, miss)
            else:
                add(o, None, None, end, miss)
        out = list(groups.values())
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
        root = _Node(-1, None, None, (0, 0), self.not_before, None, (0, 0, 0), None, (), None, None)
        self._queue_day(heap, root, self.first_lo, self.start_on + timedelta(days=FIRST_DOSE_HORIZON_DAYS))
        while heap:
            entry = heapq.heappop(heap)
            if entry[2] == 1:  # a candidate day of a node
                _p, _t, _k, node, d = entry
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

    def _queue_day(self, heap, node: _Node, first: date, last: date) -> None:
        """Each candidate day is queued with a bound of what it costs; it is tried (its free times read)
        only when taken from the queue."""
        j = node.j + 1
        dd = self.days[j]
        n = len(dd.sequences)
        opens = rules.stage_opens_on(dd.stage, node.course_first) if dd.first_in_stage else None
        if opens is not None and opens > first:
            first = opens
        for d in _days(first, last):
            # what a dose on ``d`` costs for sure: a weekday outside the stage's guidance or the
            # preferences, a gap past the stage's cadence
            wd = d.weekday()
            course_first = node.course_first or d
            guide = (
                0
                if (dd.stage.weekdays is None or wd in dd.stage.weekdays) and rules.cadence_ok(dd.stage, node.day, d)
                else n
            )
            miss = 0 if self.pref_days is None or wd in self.pref_days else n
            origin = rules.window_origin(dd.stage, d if dd.first_in_stage else node.stage_first, course_first)
            assert origin is not None  # the course's first day is known, and so is the stage's
            ahead = self.misses_ahead(j, d, origin)
            prio = (
                node.cost[0] + guide,
                node.cost[1] + miss + ahead,
                self.lower_bound_last_day(j, d, course_first).toordinal(),
                0.0,
                node.cost[2],
                -j,
            )
            heapq.heappush(heap, (prio, next(self._tick), 1, node, d))

    def _day(self, node: _Node, d: date, heap, closed) -> None:
        j = node.j + 1
        dd = self.days[j]
        st = dd.stage
        pre = None
        if node.day is None:
            pre = self.pre_chain(d)
            if pre is None:
                return
        course_first = node.course_first or d
        stage_first = d if dd.first_in_stage else node.stage_first
        if not rules.within_stage_window(st, stage_first, course_first, d, dd.left_in_stage):
            return
        origin = rules.window_origin(st, stage_first, course_first)
        assert origin is not None  # the course's first day is known, and so is the stage's
        week_idx = (d - origin).days // 7
        if dd.first_in_stage:
            in_week = 0
            guided = rules.guidance_ok(st, origin if st.anchored_to_course else None, d, 0)
        else:
            in_week = node.week[1] if node.week[0] == week_idx else 0
            guided = rules.guidance_ok(st, origin, d, in_week)
        guided = guided and rules.cadence_ok(st, node.day, d)
        free_from = node.free_from
        if free_from is not None and free_from <= self.day_start(d):
            free_from = None
        week = (week_idx, in_week + st.doses_per_day) if st.per_week_max is not None else (0, 0)
        self._push_day(node, j, d, free_from, pre, stage_first, course_first, origin, week, guided, heap, closed)

    def _push_day(
        self, node, j, d, free_from, pre, stage_first, course_first, origin, week, guided, heap, closed
    ) -> None:
        dd = self.days[j]
        last = j == len(self.days) - 1
        base_miss = pre[0] if pre else 0
        lb_day = self.lower_bound_last_day(j, d, course_first).toordinal()
        g0 = node.cost[0] + (0 if guided else len(dd.sequences))
        ahead = self.misses_ahead(j, d, origin)
        int_seq = node.pending[2] if node.pending is not None else dd.sequences[-1]
        anchor_key = course_first if self.anchored else None
        for grp in self.outcomes(j, d, free_from, node.pending):
            key = (j, d, stage_first, anchor_key, week, grp.ff_key, grp.owed)
            if key in closed:
                continue
            steady = grp.by_time.get(node.last_time) if node.last_time is not None else None
            o, integ, ff = steady or grp.first
            changes = 0 if node.last_time is None or steady is not None else 1
            g = (g0, node.cost[1] + grp.miss + base_miss, node.cost[2] + changes)
            prio = (g[0], g[1] + ahead, lb_day, ff.timestamp() if last else 0.0, g[2], -j)
            placed = list(pre[1]) if pre else []
            placed.append(Placed("dose", self.p.dose, o[1], dd.sequences[0], not o[2], not guided))
            if integ is not None:
                assert self.p.integration is not None  # an integration option comes from its spec
                placed.append(Placed("integration", self.p.integration, integ[1], int_seq, not integ[2]))
            child = _Node(j, d, stage_first, week, ff, grp.owed, g, o[3], tuple(placed), node, course_first)
            heapq.heappush(heap, (prio, next(self._tick), 0, key, child))

    @staticmethod
    def _unwind(node: _Node | None) -> list[Placed]:
        chunks = []
        while node is not None:
            chunks.append(node.placed)
            node = node.parent
        return [p for chunk in reversed(chunks) for p in chunk]
