"""Re-planning a course after a dose was cancelled or missed.

:func:`replan_after_missed_dose` proposes a replacement dose (same sequence number) that keeps the course
within its rules. It first looks for a day that fits between the previous and the next dose without
touching anything else; only when there is none does it take the earliest rule-abiding day and move the
later doses that would then be too close (each as near its old local time, room and clinician as the
calendar allows), together with their integration sessions and the follow-up visit when those no longer
fit. The front desk applies the new sessions and the moves in one step.

When the rules cannot be met (the window is already lost, the patient is on a dosing hold) ``ok`` is
False and ``reason`` says why; a best-effort proposal is still returned when one exists. The answer is
judged by the rule book before it is returned: any error flag applying it would introduce is in its
``problems`` (and the answer is then not ``ok``).

Every rule comes from the rule book (:mod:`scheduler.domain.rules`): the days a dose may take
(``next_dose_days``, ``latest_day_for``, ``gap_code``), the stage window (``stage_last_day``), the
integration window (``integration_window``: a session counts for the latest dose before it), the
follow-up window (``follow_up_days``) and the dosing hold (``on_dosing_hold``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from scheduler.domain.flags import HARD_CONFLICT_CODES, CourseFacts, FlagContext, introduced_flags
from scheduler.domain.planning import (
    EXTEND_DAYS,
    PlanningError,
    Problem,
    ProposedSession,
    Slot,
    SlotFinder,
    date_range,
    extended_after,
    extended_from,
)
from scheduler.domain.protocols import Protocol, SessionSpec, Stage
from scheduler.domain.rules import (
    first_dose_days,
    follow_up_days,
    gap_code,
    integration_window,
    latest_day_for,
    next_dose_days,
    on_dosing_hold,
    stage_last_day,
    stage_of_dose,
    stage_opens_on,
    within_window,
)
from scheduler.domain.timezones import local_date, local_time
from scheduler.domain.values import Clinic, Patient, Preferences, Room, Session, StaffMember, by_id
from scheduler.domain.vocabulary import LIVE_STATUSES


@dataclass(frozen=True)
class Reason:
    """Why the course cannot stay within its rules: a stable ``code`` and a sentence."""

    code: str
    message: str


@dataclass(frozen=True)
class Move:
    """Move existing session ``session_id`` to a new time, room and clinician."""

    session_id: int
    kind: str
    sequence: int | None
    starts_at: datetime
    ends_at: datetime
    room_id: int | None
    staff_member_id: int | None
    old_starts_at: datetime

    def to_dict(self) -> dict:
        return {
            "session_id": self.session_id,
            "kind": self.kind,
            "sequence": self.sequence,
            "starts_at": self.starts_at.isoformat(),
            "ends_at": self.ends_at.isoformat(),
            "room_id": self.room_id,
            "staff_member_id": self.staff_member_id,
            "old_starts_at": self.old_starts_at.isoformat(),
        }


@dataclass(frozen=True)
class Replan:
    ok: bool
    new_sessions: tuple[ProposedSession, ...] = ()
    moves: tuple[Move, ...] = ()
    problems: tuple[Problem, ...] = ()  # ``sessions`` index into new_sessions
    reason: Reason | None = None


def _fail(code: str, message: str) -> Replan:
    return Replan(ok=False, reason=Reason(code, message))


def replan_after_missed_dose(
    protocol: Protocol,
    clinic: Clinic,
    rooms: Sequence[Room],
    staff: Sequence[StaffMember],
    patient: Patient,
    course_sessions: Iterable[Session],
    other_sessions: Iterable[Session],
    missed_session_id: int,
    now: datetime,
    preferences: Preferences | None = None,
    *,
    grid_minutes: int = 15,
) -> Replan:
    """Replacement for the cancelled / no-show dose ``missed_session_id`` of a course.

    ``course_sessions``: every session of the course (any status, including the missed one);
    ``other_sessions``: the live sessions of the clinic's rooms and staff and the patient's other sessions
    in the period. Nothing is proposed before ``now``.

    The phases, in order (each reserves what it places in the slot finder, so the next one sees it):
    which re-plan applies (not a missed session, another kind, a dosing hold, maintenance); the missed
    dose among its neighbours (:func:`_neighbours`); the days its replacement may take
    (:func:`_replacement_days`); the replacement itself (:func:`_place_replacement`); the later doses it
    pushes (:func:`_cascade`); their integration sessions (:func:`_integration_sessions`); the follow-up
    visit (:func:`_move_follow_up`). The rule book then judges the whole answer.
    """
    course = list(course_sessions)
    other_sessions = list(other_sessions)
    missed = next((s for s in course if s.id == missed_session_id), None)
    if missed is None:
        return _fail("unknown_session", f"session {missed_session_id} is not part of this course")
    if missed.status in LIVE_STATUSES:
        return _fail(
            "not_missed", f"session {missed_session_id} is {missed.status}; cancel it or mark it a no-show first"
        )
    if missed.kind != "dose":  # integration, follow-up, evaluation, preparation: inside its own window
        from scheduler.domain.replanning_kinds import replan_other_kind

        live = [s for s in course if s.status in LIVE_STATUSES]
        finder = SlotFinder(clinic, rooms, staff, patient, [*other_sessions, *live], preferences, grid_minutes)
        return replan_other_kind(protocol, finder, course, missed, now)
    if on_dosing_hold(patient):
        return _fail("dosing_hold", "a clinician has put this patient's dosing on hold")
    tz = clinic.timezone
    live = [s for s in course if s.status in LIVE_STATUSES and s.id != missed.id]
    finder = SlotFinder(clinic, rooms, staff, patient, [*other_sessions, *live], preferences, grid_minutes)
    finder.use_checks(protocol.dose.route, protocol.dose.checks)
    today = local_date(now, tz)

    judge = _Judge(protocol, clinic, rooms, staff, patient, course, other_sessions, missed, now)
    if missed.phase == "maintenance" or not missed.sequence:
        spec = protocol.spec_for("dose", "maintenance")
        return judge(_simple_replacement(finder, spec, missed, today, now))

    try:
        around = _neighbours(protocol, live, missed.sequence, tz)
    except ValueError as exc:
        return _fail("not_in_protocol", str(exc))
    days = _replacement_days(protocol, around, missed, live, other_sessions, today, tz)
    try:
        placed = _place_replacement(finder, protocol, around, days, missed, now, tz)
        pushed = _cascade(finder, protocol, around, placed.slot, now, tz)
        dose_moved = {around.seq: (placed.slot.starts_at, placed.slot.ends_at), **pushed.dose_moved}
        integration = _integration_sessions(finder, protocol, live, around.doses, dose_moved, 1, tz)
    except _NoSlot as exc:
        return _fail("no_slot", exc.message)

    problems = [*placed.problems, *pushed.problems]
    reason = placed.reason
    if reason is None and pushed.problems:
        reason = Reason("induction_gap", pushed.problems[0].message)
    _check_window(protocol, tz, around.doses, dose_moved, problems)
    if reason is None and any(p.code == "induction_window_exceeded" for p in problems):
        reason = Reason(
            "induction_window_exceeded", next(p.message for p in problems if p.code == "induction_window_exceeded")
        )
    moves = [*pushed.moves, *integration.moves]
    problems += integration.problems
    _move_follow_up(protocol, finder, tz, live, around.doses, dose_moved, moves, problems, now)
    return judge(
        Replan(
            ok=reason is None,
            new_sessions=(placed.replacement, *integration.new_sessions),
            moves=tuple(moves),
            problems=tuple(problems),
            reason=reason,
        )
    )


class _NoSlot(Exception):
    """A phase found no slot at all for a session it has to place (the re-plan answers ``no_slot``)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _seq(dose: Session) -> int:
    """The sequence number of a live induction dose (:func:`_neighbours` keeps only those with one)."""
    assert dose.sequence is not None
    return dose.sequence


def _stored_id(s: Session) -> int:
    """The id of a session of the course (stored ones: the course is read from the database)."""
    assert s.id is not None
    return s.id


@dataclass(frozen=True)
class _Neighbours:
    """The missed induction dose ``seq`` among the course's live induction doses."""

    seq: int
    stage: Stage
    stage_start_seq: int  # the sequence number of its stage's first dose
    doses: list[Session]  # the live induction doses, by sequence
    before: list[Session]
    after: list[Session]
    prev_day: date | None  # the local day of the dose before it
    stage_first: date | None  # the local day of its stage's first dose (None: it is that dose)
    course_first: date | None  # the local day of dose 1


def _neighbours(protocol: Protocol, live: list[Session], seq: int, tz: str) -> _Neighbours:
    """Raises ValueError when ``seq`` is not an induction dose of ``protocol``."""
    stage_index, stage = protocol.induction.stage_of(seq)
    doses = sorted(
        (s for s in live if s.kind == "dose" and s.phase == "induction" and s.sequence),
        key=_seq,
    )
    before = [s for s in doses if _seq(s) < seq]
    after = [s for s in doses if _seq(s) > seq]
    stage_start_seq = protocol.induction.first_sequence(stage_index)
    stage_first = next((local_date(s.starts_at, tz) for s in doses if s.sequence == stage_start_seq), None)
    return _Neighbours(
        seq=seq,
        stage=stage,
        stage_start_seq=stage_start_seq,
        doses=doses,
        before=before,
        after=after,
        prev_day=local_date(before[-1].starts_at, tz) if before else None,
        stage_first=None if seq == stage_start_seq else stage_first,
        course_first=next((local_date(s.starts_at, tz) for s in doses if s.sequence == 1), None),
    )


@dataclass(frozen=True)
class _Days:
    """The days the replacement may take by the rules: ``lo``..``hi`` inclusive; ``windowed`` when a
    stage window (not only the gaps) bounds them."""

    lo: date
    hi: date
    windowed: bool


def _replacement_days(
    protocol: Protocol,
    around: _Neighbours,
    missed: Session,
    live: list[Session],
    other_sessions: list[Session],
    today: date,
    tz: str,
) -> _Days:
    stage = around.stage
    prev_day = around.prev_day
    if prev_day is None:
        lo = today
        hi = next_dose_days(stage, lo)[1]  # a first dose: searched as far as one gap from today
        evaluations = [
            local_date(s.starts_at, tz)
            for s in [*live, *other_sessions]
            if s.kind == "evaluation" and s.status in LIVE_STATUSES and s.patient_id == missed.patient_id
        ]
        if protocol.evaluation is not None and evaluations:
            first_ok, _ = first_dose_days(
                protocol.evaluation,
                max(d for d in evaluations if d <= hi) if any(d <= hi for d in evaluations) else max(evaluations),
            )
            lo = max(lo, first_ok)
            hi = max(hi, lo)
    else:
        same_day = stage.doses_per_day > 1
        earliest, hi = next_dose_days(stage, prev_day)
        lo = max(today, prev_day if same_day else earliest)
    opens = stage_opens_on(stage, around.course_first)
    if opens is not None and lo < opens:
        lo, hi = opens, max(hi, opens)
    windowed = around.stage_first is not None or opens is not None
    if windowed:
        remaining = (
            sum(1 for s in around.after if _seq(s) < around.stage_start_seq + stage.count) // stage.doses_per_day
        )
        hi = min(hi, latest_day_for(stage, around.stage_first, remaining, around.course_first))
    return _Days(lo, hi, windowed)


@dataclass(frozen=True)
class _Placed:
    slot: Slot
    replacement: ProposedSession
    problems: list[Problem]
    reason: Reason | None


def _place_replacement(
    finder: SlotFinder,
    protocol: Protocol,
    around: _Neighbours,
    days: _Days,
    missed: Session,
    now: datetime,
    tz: str,
) -> _Placed:
    """The replacement dose: on a day between its neighbours when one is free (nothing else moves),
    else on the earliest day the rules allow (later doses move), else the best slot beyond the rules."""
    spec = protocol.dose
    seq = around.seq
    hints = _hints(missed, tz)
    nxt = around.after[0] if around.after and not around.stage.doses_per_day > 1 else None
    no_move_hi = (
        min(days.hi, local_date(nxt.starts_at, tz) - timedelta(days=_gap_rule(protocol, _seq(nxt)).min_gap_days))
        if nxt
        else days.hi
    )  # the latest day the next dose is not doses_too_close after
    slot = _search(finder, spec, date_range(days.lo, no_move_hi), now, hints)
    if slot is None:
        slot = _search(finder, spec, date_range(days.lo, days.hi), now, hints)
    problems: list[Problem] = []
    reason = None
    if slot is None:
        try:
            found = finder.ladder(spec, [], extended_from(days.lo), not_before=now, **hints)
        except PlanningError as exc:
            raise _NoSlot(exc.message) from exc
        slot = found[0]
        reason = Reason(
            "induction_window_exceeded" if days.windowed else "induction_gap",
            f"No free {spec.capability} slot keeps dose {seq} within the protocol's gaps and window "
            f"(latest allowed {days.hi}); the best replacement is on {local_date(slot.starts_at, tz)}.",
        )
        problems.append(Problem(reason.code, reason.message, (0,)))
    else:
        finder.reserve(slot.starts_at, slot.ends_at, slot.room_id, slot.staff_member_id)
    replacement = ProposedSession(
        "dose",
        "induction",
        seq,
        spec.route,
        slot.starts_at,
        slot.ends_at,
        slot.room_id,
        slot.staff_member_id,
        f"Replacement for induction dose {seq}",
    )
    return _Placed(slot, replacement, problems, reason)


@dataclass(frozen=True)
class _Pushed:
    moves: list[Move]
    problems: list[Problem]  # induction_gap, one per dose moved beyond its gap
    dose_moved: dict[int, tuple[datetime, datetime]]  # sequence -> new start and end


def _cascade(
    finder: SlotFinder, protocol: Protocol, around: _Neighbours, slot: Slot, now: datetime, tz: str
) -> _Pushed:
    """The later doses that are now too close to the one before them, moved forward in turn."""
    spec = protocol.dose
    moves: list[Move] = []
    problems: list[Problem] = []
    dose_moved: dict[int, tuple[datetime, datetime]] = {}
    placed_day = local_date(slot.starts_at, tz)
    for s in around.after:
        rule = _gap_rule(protocol, _seq(s))
        if around.stage.doses_per_day > 1:
            break
        day = local_date(s.starts_at, tz)
        if gap_code(rule, placed_day, day) != "doses_too_close":
            break
        finder.release(s.starts_at, s.ends_at, s.room_id, s.staff_member_id)
        new_lo, new_hi = next_dose_days(rule, placed_day)
        h = _hints(s, tz)
        moved = _search(finder, spec, date_range(new_lo, new_hi), now, h)
        if moved is None:
            try:
                moved = finder.ladder(spec, [], extended_from(new_lo), **h)[0]
            except PlanningError as exc:
                raise _NoSlot(exc.message) from exc
            problems.append(
                Problem(
                    "induction_gap",
                    f"Dose {s.sequence} had to move to {local_date(moved.starts_at, tz)}, beyond the protocol's gap.",
                )
            )
        else:
            finder.reserve(moved.starts_at, moved.ends_at, moved.room_id, moved.staff_member_id)
        moves.append(
            Move(
                _stored_id(s),
                "dose",
                s.sequence,
                moved.starts_at,
                moved.ends_at,
                moved.room_id,
                moved.staff_member_id,
                s.starts_at,
            )
        )
        dose_moved[_seq(s)] = (moved.starts_at, moved.ends_at)
        placed_day = local_date(moved.starts_at, tz)
    return _Pushed(moves, problems, dose_moved)


@dataclass(frozen=True)
class _Integration:
    new_sessions: list[ProposedSession]
    moves: list[Move]
    problems: list[Problem]


def _integration_sessions(
    finder: SlotFinder,
    protocol: Protocol,
    live: list[Session],
    doses: list[Session],
    dose_moved: dict[int, tuple[datetime, datetime]],
    new_before: int,
    tz: str,
) -> _Integration:
    """The integration sessions of the replacement and of the moved doses: an existing one still in
    its window stays, one out of it moves, a missing one is proposed (``new_before``: how many new
    sessions the answer already has, for the problems' indexes)."""
    new_sessions: list[ProposedSession] = []
    moves: list[Move] = []
    problems: list[Problem] = []
    integ = protocol.integration
    if integ is None:
        return _Integration(new_sessions, moves, problems)
    starts = {_seq(s): s.starts_at for s in doses}
    starts.update({q: v[0] for q, v in dose_moved.items()})
    for dseq, (ds, de) in sorted(dose_moved.items()):
        if not integ.applies_to(dseq):
            continue
        existing = next((s for s in live if s.kind == "integration" and s.sequence == dseq), None)
        # an integration session after the next dose that needs one counts for that dose
        nxt_start = min((t for q, t in starts.items() if q > dseq and integ.applies_to(q) and t > ds), default=None)
        nb, latest = integration_window(integ, de, nxt_start)
        if existing is not None and existing.status != "booked" and existing.status != "proposed":
            continue
        if existing is not None and nb <= existing.starts_at <= latest:
            continue
        if existing is not None:
            finder.release(existing.starts_at, existing.ends_at, existing.room_id, existing.staff_member_id)
        try:
            got = finder.ladder(
                integ,
                date_range(local_date(nb, tz), local_date(latest, tz)),
                extended_after(local_date(latest, tz)),
                not_before=nb,
                latest_start=latest,
            )[0]
        except PlanningError as exc:
            raise _NoSlot(exc.message) from exc
        if existing is not None:
            moves.append(
                Move(
                    _stored_id(existing),
                    "integration",
                    dseq,
                    got.starts_at,
                    got.ends_at,
                    got.room_id,
                    got.staff_member_id,
                    existing.starts_at,
                )
            )
        else:
            new_sessions.append(
                ProposedSession(
                    "integration",
                    None,
                    dseq,
                    None,
                    got.starts_at,
                    got.ends_at,
                    got.room_id,
                    got.staff_member_id,
                    f"Integration after dose {dseq}",
                )
            )
        if "window" in got.relaxed:
            problems.append(
                Problem(
                    "integration_missing",
                    f"No integration within {integ.within_hours} h after dose {dseq}; proposed later.",
                    (new_before + len(new_sessions) - 1,) if existing is None else (),
                )
            )
    return _Integration(new_sessions, moves, problems)


class _Judge:
    """The rule book on a re-plan's answer: every error flag that applying it would introduce
    (:func:`scheduler.domain.flags.introduced_flags`) is announced in ``problems`` (``sessions``
    index the new sessions), and an answer that introduces one is not ``ok``."""

    def __init__(self, protocol, clinic, rooms, staff, patient, course, others, missed, now):
        facts = (
            CourseFacts(
                id=missed.course_id,
                patient_id=missed.patient_id,
                protocol_key=protocol.key,
                status="active",
                clinic_id=clinic.id,
            )
            if missed.course_id is not None
            else None
        )
        self.ctx = FlagContext(
            clinic=clinic,
            protocols={protocol.key: protocol},
            rooms=by_id(rooms),
            staff=by_id(staff),
            patients=by_id([patient]),
            courses=by_id([facts] if facts else []),
        )
        self.pool = [*course, *others]
        self.missed, self.now = missed, now
        self.by_id = {s.id: s for s in course}

    def changes(self, r: Replan) -> list[Session]:
        m = self.missed
        new = [
            ps.as_session(id=None, patient_id=m.patient_id, clinic_id=m.clinic_id, course_id=m.course_id)
            for ps in r.new_sessions
        ]
        moved = [
            replace(
                self.by_id[mv.session_id],
                starts_at=mv.starts_at,
                ends_at=mv.ends_at,
                room_id=mv.room_id,
                staff_member_id=mv.staff_member_id,
            )
            for mv in r.moves
            if mv.session_id in self.by_id
        ]
        return new + moved

    def __call__(self, r: Replan) -> Replan:
        if not r.new_sessions and not r.moves:
            return r
        found = [
            f
            for f in introduced_flags(self.ctx, self.changes(r), self.pool, as_of=self.now)
            if f.code not in HARD_CONFLICT_CODES
        ]
        said = {p.code for p in r.problems}
        extra = tuple(
            Problem(
                f.code,
                f.message,
                tuple(sorted(-i - 1 for i in f.session_ids if i < 0 and -i - 1 < len(r.new_sessions))),
            )
            for f in found
            if f.code not in said
        )
        if not found and not extra:
            return r
        reason = r.reason or Reason(found[0].code, found[0].message)
        return replace(r, ok=False, problems=r.problems + extra, reason=reason)


def _hints(s: Session, tz: str) -> dict:
    """Search hints that keep a moved or replaced session near its old local time, room and clinician."""
    return {"time_hint": local_time(s.starts_at, tz), "room_hint": s.room_id, "staff_hint": s.staff_member_id}


def _gap_rule(protocol: Protocol, sequence: int):
    return stage_of_dose(protocol, sequence)[1]


def _search(finder: SlotFinder, spec: SessionSpec, dates: list[date], now: datetime, hints: dict) -> Slot | None:
    if not dates:
        return None
    any_room = not finder.has_room_for(spec.capability)
    for use_prefs in (True, False):
        got = finder.search(spec, dates, not_before=now, use_prefs=use_prefs, any_room=any_room, **hints)
        if got:
            return got[0]
    return None


def _check_window(
    protocol: Protocol,
    tz: str,
    doses: list[Session],
    moved: dict[int, tuple[datetime, datetime]],
    problems: list[Problem],
) -> None:
    day_of = {s.sequence: local_date(s.starts_at, tz) for s in doses}
    day_of.update({q: local_date(v[0], tz) for q, v in moved.items()})
    first_seq = 1
    for st in protocol.induction.stages:
        last_seq = first_seq + st.count - 1
        if st.anchored_to_course:
            days = [day_of[q] for q in range(first_seq, last_seq + 1) if q in day_of]
            if 1 in day_of and days and not all(within_window(st, None, day_of[1], d) for d in days):
                problems.append(
                    Problem(
                        "induction_window_exceeded",
                        f"Doses {first_seq}-{last_seq} would fall "
                        f"outside days {st.offset_days}-{st.offset_days + st.window_days} of the "
                        "course.",
                    )
                )
        elif first_seq in day_of:
            days = [day_of[q] for q in range(first_seq, last_seq + 1) if q in day_of]
            span = (max(days) - day_of[first_seq]).days
            if max(days) > stage_last_day(st, day_of[first_seq]):
                problems.append(
                    Problem(
                        "induction_window_exceeded",
                        f"Doses {first_seq}-{last_seq} would span {span} days; the protocol allows {st.window_days}.",
                    )
                )
        first_seq = last_seq + 1


def _move_follow_up(protocol, finder, tz, live, doses, dose_moved, moves, problems, now) -> None:
    fu = protocol.follow_up
    visit = next((s for s in live if s.kind == "follow_up" and s.status in ("booked", "proposed")), None)
    if fu is None or visit is None or not dose_moved:
        return
    ends = {s.sequence: s.starts_at for s in doses}
    ends.update({q: v[0] for q, v in dose_moved.items()})
    last_day = local_date(max(ends.values()), tz)
    lo, hi = follow_up_days(fu, last_day)
    if lo <= local_date(visit.starts_at, tz) <= hi:
        return
    finder.release(visit.starts_at, visit.ends_at, visit.room_id, visit.staff_member_id)
    got = finder.ladder(fu, date_range(lo, hi), extended_after(hi), not_before=now, **_hints(visit, tz))[0]
    moves.append(
        Move(
            visit.id,
            "follow_up",
            visit.sequence,
            got.starts_at,
            got.ends_at,
            got.room_id,
            got.staff_member_id,
            visit.starts_at,
        )
    )
    if "window" in got.relaxed:
        problems.append(Problem("follow_up_missing", "No follow-up visit fits its window after the moved doses."))


def _simple_replacement(finder: SlotFinder, spec, missed: Session, today: date, now: datetime) -> Replan:
    tz = finder.tz
    try:
        got = finder.ladder(
            spec,
            date_range(today, today + timedelta(days=14)),
            date_range(today + timedelta(days=15), today + timedelta(days=EXTEND_DAYS)),
            not_before=now,
            **_hints(missed, tz),
        )[0]
    except PlanningError as exc:
        return _fail("no_slot", exc.message)
    s = ProposedSession(
        "dose",
        missed.phase,
        missed.sequence or 1,
        spec.route,
        got.starts_at,
        got.ends_at,
        got.room_id,
        got.staff_member_id,
        f"Replacement for maintenance dose {missed.sequence or 1}",
    )
    return Replan(ok=True, new_sessions=(s,))
