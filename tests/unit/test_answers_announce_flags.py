"""Issue 9 part 6: for random calendars, applying any answer of plan, suggest or re-plan raises no error
flag the answer did not announce.

Each answer is applied to the sessions as a booking would (the plan booked as a course, a suggestion's
move with its dependents, a re-plan's new sessions and moves); the patient's error flags after, computed
by the flag engine from scratch (``patient_flags``), are compared with those before. A flag that is new
must be announced: by a problem of the plan or the re-plan (same code); a suggestion announces none.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scheduler.domain.flags import CourseFacts, FlagContext, patient_flags
from scheduler.domain.planning import PlanningError, SlotFinder, date_range, plan_course
from scheduler.domain.replanning import replan_after_missed_dose
from scheduler.domain.suggesting import suggest
from scheduler.domain.timezones import local_date, local_time
from scheduler.domain.values import Session, by_id
from tests.support.plan_scenarios import PROTOCOLS, START, scenarios

COURSE = 500
NOW = datetime.combine(START - timedelta(days=3), time(12), tzinfo=UTC)


def _errors(ctx, patient_id, sessions, as_of) -> set[tuple]:
    return {
        (f.code, f.course_id, tuple(sorted(f.session_ids)))
        for f in patient_flags(
            ctx,
            patient_id,
            [s for s in sessions if s.patient_id == patient_id],
            as_of=as_of,
            others=[s for s in sessions if s.patient_id != patient_id],
        )
        if f.severity == "error"
    }


def _new_error_codes(ctx, patient_id, before, after, as_of) -> set[str]:
    return {code for code, *_ in _errors(ctx, patient_id, after, as_of) - _errors(ctx, patient_id, before, as_of)}


def _context(scenario):
    key, clinic, rooms, staff, patient, _existing, _prefs = scenario
    ctx = FlagContext(
        clinic=clinic,
        protocols=PROTOCOLS,
        rooms=by_id(rooms),
        staff=by_id(staff),
        patients=by_id([patient]),
        courses=by_id([CourseFacts(COURSE, patient.id, key, "planned", clinic_id=clinic.id)]),
    )
    return ctx


def _book(plan, patient, clinic) -> list[Session]:
    return [
        Session(
            1000 + i,
            patient.id,
            ps.starts_at,
            ps.ends_at,
            ps.room_id,
            kind=ps.kind,
            clinic_id=clinic.id,
            course_id=COURSE,
            phase=ps.phase,
            sequence=ps.sequence,
            route=ps.route,
            staff_member_id=ps.staff_member_id,
        )
        for i, ps in enumerate(plan.sessions)
    ]


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(scenarios(), st.integers(0, 2**32 - 1))
def test_applying_an_answer_raises_only_announced_error_flags(scenario, seed):
    key, clinic, rooms, staff, patient, existing, prefs = scenario
    protocol = PROTOCOLS[key]
    # The patient's own random sessions are visits, not doses: a loose dose is spaced against the course
    # (doses_too_close across courses), which the planner leaves to the course answer's ``flags``.
    existing = [
        replace(s, clinic_id=clinic.id, kind="follow_up" if s.patient_id == patient.id else s.kind) for s in existing
    ]
    ctx = _context(scenario)
    rnd = random.Random(seed)

    # plan: booking the whole course
    try:
        plan = plan_course(protocol, clinic, rooms, staff, patient, existing, START, prefs)
    except PlanningError:
        return
    booked = _book(plan, patient, clinic)
    state = existing + booked
    announced = {p.code for p in plan.problems}
    assert _new_error_codes(ctx, patient.id, existing, state, NOW) <= announced

    # suggest: moving one of the course's sessions (with its dependents)
    target = rnd.choice(booked)
    others = [s for s in state if s.id != target.id]
    finder = SlotFinder(clinic, rooms, staff, patient, others)
    first = local_date(target.starts_at, clinic.timezone) - timedelta(days=3)
    spec = protocol.spec_for(target.kind, target.phase)
    spec = (
        replace(spec, duration_minutes=int((target.ends_at - target.starts_at).total_seconds() // 60))
        if hasattr(spec, "duration_minutes")
        else spec
    )
    for s in suggest(
        ctx,
        state,
        finder,
        spec,
        target,
        date_range(first, first + timedelta(days=9)),
        now=NOW,
        time_hint=local_time(target.starts_at, clinic.timezone),
        room_hint=target.room_id,
    ):
        moved = replace(
            target, starts_at=s.starts_at, ends_at=s.ends_at, room_id=s.room_id, staff_member_id=s.staff_member_id
        )
        changed = {moved.id: moved, **{d.id: d for d in s.dependents}}
        after = [changed.get(x.id, x) for x in state]
        assert _new_error_codes(ctx, patient.id, state, after, NOW) == set(), (s, target)

    # re-plan: an induction dose cancelled (ahead of time, or missed and noticed later)
    doses = [s for s in booked if s.kind == "dose" and s.phase == "induction"]
    missed = rnd.choice(doses)
    cancelled = [replace(s, status="cancelled") if s.id == missed.id else s for s in state]
    now = missed.starts_at + timedelta(hours=rnd.choice([-30, -2, 3, 30]))
    course = [s for s in cancelled if s.course_id == COURSE]
    r = replan_after_missed_dose(
        protocol,
        clinic,
        rooms,
        staff,
        patient,
        course,
        [s for s in cancelled if s.course_id != COURSE],
        missed.id,
        now,
        prefs,
    )
    moves = {m.session_id: m for m in r.moves}
    after = [
        replace(
            s,
            starts_at=moves[s.id].starts_at,
            ends_at=moves[s.id].ends_at,
            room_id=moves[s.id].room_id,
            staff_member_id=moves[s.id].staff_member_id,
        )
        if s.id in moves
        else s
        for s in cancelled
    ]
    after += [
        Session(
            5000 + i,
            patient.id,
            ps.starts_at,
            ps.ends_at,
            ps.room_id,
            kind=ps.kind,
            clinic_id=clinic.id,
            course_id=COURSE,
            phase=ps.phase,
            sequence=ps.sequence,
            route=ps.route,
            staff_member_id=ps.staff_member_id,
        )
        for i, ps in enumerate(r.new_sessions)
    ]
    announced = {p.code for p in r.problems} | ({r.reason.code} if r.reason else set())
    new = _new_error_codes(ctx, patient.id, cancelled, after, now)
    assert new <= announced, (new, r)
    if r.ok:
        assert new == set()
