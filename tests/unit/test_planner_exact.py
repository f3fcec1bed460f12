"""The planner against an exhaustive search on many small random clinics.

Each example is a small clinic (irregular opening hours, closures, clinicians with their own hours, time
off and capacity, other patients' bookings and the patient's own: an evaluation, doses outside any course,
which the plan's doses keep the minimum gap from) on a coarse one-hour grid, closed after
a short horizon, and a small random protocol (2-3 doses, an evaluation, integration after every dose or
after dose 1 then every second). The exhaustive search below knows nothing of the planner: it lists
every free (start, room, clinician) from :mod:`scheduler.domain.calendar` and tries every sequence of
dose days and times. Whenever it finds a plan meeting every hard rule, the planner must return one (judged
by the flag engine, not by the planner's own word), with as few sessions outside the preferences and a
last dose no later; whenever the planner returns a rule-abiding plan, the exhaustive search finds one too.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scheduler.domain.calendar import is_open, is_staff_available, staff_concurrency
from scheduler.domain.flags import CONFLICT_CODES, CourseFacts, FlagContext, patient_flags
from scheduler.domain.intervals import Interval
from scheduler.domain.planning import PlanningError, plan_course
from scheduler.domain.protocols import DoseSpec, EvaluationSpec, Induction, IntegrationSpec, Protocol, Stage
from scheduler.domain.timezones import NonexistentLocalTime, iter_days, local_date, to_utc
from scheduler.domain.values import Clinic, Closure, Patient, Preferences, Room, Session, StaffMember, by_id

START = date(2024, 3, 4)  # a Monday (New York changes to summer time on 10 March)
HORIZON = 11  # the clinic is closed from START + HORIZON on: every plan lies before
HARD = (CONFLICT_CODES - {"dosing_hold"}) | {"integration_missing", "induction_gap"}
ZONES = ["America/New_York", "Europe/London", "UTC"]
PATIENT = Patient(1, "M1", "Pat", ride_home_arranged=True)


@st.composite
def small_protocols(draw) -> Protocol:
    count = draw(st.integers(2, 3))
    min_gap = draw(st.integers(1, 2))
    max_gap = min_gap + draw(st.integers(0, 2))
    tolerance = max_gap + draw(st.integers(0, 2))  # gaps past max_gap up to it: tolerated, guidance
    window = draw(st.integers(min_gap * (count - 1), max_gap * (count - 1)))
    stages = [
        Stage(
            count=count,
            min_gap_days=min_gap,
            max_gap_days=max_gap,
            window_days=window,
            interruption_tolerance_days=tolerance,
        )
    ]
    if draw(st.booleans()):  # a taper-like stage whose window counts from the course's first dose
        n = draw(st.integers(1, 2))
        stages.append(
            Stage(
                count=n,
                min_gap_days=1,
                max_gap_days=draw(st.integers(1, 3)),
                window_days=draw(st.integers(max(1, n - 1), 3)),
                anchor="course",
                offset_days=draw(st.integers((count - 1) * min_gap + 1, (count - 1) * max_gap + 2)),
                interruption_tolerance_days=draw(st.sampled_from([None, 4])),
            )
        )
    evaluation = None
    if draw(st.booleans()):
        evaluation = EvaluationSpec(
            duration_minutes=60,
            capability="consult",
            role="prescriber",
            valid_days=draw(st.integers(2, 6)),
            min_days_before_first_dose=1,
        )
    pattern = draw(st.sampled_from(["every", "first-then-every-2", "none"]))
    integration = None
    if pattern != "none":
        integration = IntegrationSpec(
            duration_minutes=60,
            capability="therapy",
            role="therapist",
            within_hours=draw(st.sampled_from([20, 30, 48, 72])),
            after_doses=() if pattern == "every" else (1,),
            then_every=1 if pattern == "every" else 2,
        )
    return Protocol(
        key="small",
        name="Small",
        source="test",
        induction=Induction(tuple(stages)),
        dose=DoseSpec(duration_minutes=draw(st.sampled_from([60, 120])), capability="iv", role="nurse", route="iv"),
        evaluation=evaluation,
        integration=integration,
    )


def _at(d: date, hour: int, tz: str) -> datetime | None:
    try:
        return to_utc(d, time(hour), tz)
    except NonexistentLocalTime:
        return None


@st.composite
def clinics(draw):
    tz = draw(st.sampled_from(ZONES))
    hours = {}
    for wd in range(7):
        if draw(st.integers(0, 9)) < 8:
            o = draw(st.integers(7, 10))
            hours[wd] = [(time(o), time(o + draw(st.integers(2, 5))))]
    closures = [Closure(START + timedelta(days=HORIZON), START + timedelta(days=400), reason="end of the test")]
    for _ in range(draw(st.integers(0, 2))):
        s = START + timedelta(days=draw(st.integers(0, HORIZON - 1)))
        if draw(st.booleans()):
            closures.append(Closure(s, s + timedelta(days=draw(st.integers(0, 2)))))
        else:
            closures.append(Closure(s, s, from_time=time(draw(st.integers(7, 10))), until_time=time(12)))
    clinic = Clinic(1, tz, hours, tuple(closures))
    caps = ["iv", "therapy", "consult"]
    rooms = [
        Room(i, f"R{i}", tuple(draw(st.sets(st.sampled_from(caps), min_size=2, max_size=3))))
        for i in range(1, draw(st.integers(1, 3)) + 1)
    ]
    staff = []
    roles = ["nurse", "therapist", "prescriber", *draw(st.lists(st.sampled_from(["nurse", "therapist"]), max_size=2))]
    for i, role in enumerate(roles, start=1):
        own = None
        if draw(st.integers(0, 2)) == 0:
            own = {
                wd: [(time(draw(st.integers(7, 10))), time(draw(st.integers(11, 14))))]
                for wd in draw(st.sets(st.integers(0, 6), min_size=3))
            }
        off = ()
        if draw(st.booleans()):
            a = _at(START + timedelta(days=draw(st.integers(0, HORIZON))), draw(st.integers(0, 12)), tz)
            if a is not None:
                off = ((a, a + timedelta(hours=draw(st.integers(1, 72)))),)
        staff.append(StaffMember(i, f"S{i}", role, capacity=draw(st.integers(1, 2)), hours=own, time_off=off))
    existing = []
    for k in range(draw(st.integers(0, 14))):
        a = _at(START + timedelta(days=draw(st.integers(0, HORIZON))), draw(st.integers(7, 13)), tz)
        if a is None:
            continue
        mine = draw(st.integers(0, 9)) == 0
        # the patient's own: an evaluation elsewhere, or a dose outside any course (spaced by this course's
        # stage, as the planner spaces; another course's later dose is judged by that course's own stage,
        # which bench/planner.py covers with a course of the same protocol)
        kind, course = draw(st.sampled_from([("evaluation", None), ("dose", None)])) if mine else ("evaluation", None)
        existing.append(
            Session(
                100 + k,
                PATIENT.id if mine else 50 + k,
                a,
                a + timedelta(hours=draw(st.integers(1, 3))),
                draw(st.sampled_from([r.id for r in rooms] + [99])),
                kind=kind,
                course_id=course,
                phase="induction" if course else None,
                status=draw(st.sampled_from(["booked", "booked", "cancelled"])),
                clinic_id=1 if not mine else 2,
                staff_member_id=draw(st.sampled_from([None] + [m.id for m in staff])),
            )
        )
    prefs = None
    if draw(st.booleans()):
        prefs = Preferences(weekdays=frozenset(draw(st.sets(st.integers(0, 6), min_size=2, max_size=6))))
    return clinic, rooms, staff, existing, prefs


# ---------------------------------------------------------------- the exhaustive search


def free_starts(spec, clinic, rooms, staff, existing, prefs):
    """Every (start, end, inside the preferences) on the grid where some suitable room and clinician are free."""
    tz = clinic.timezone
    live = [s for s in existing if s.live]
    out = []
    for d in iter_days(START, START + timedelta(days=HORIZON)):
        for hour in range(24):
            a = _at(d, hour, tz)
            if a is None:
                continue
            iv = Interval(a, a + spec.duration)
            if not is_open(clinic, iv):
                continue
            if any(s.patient_id == PATIENT.id and s.interval.overlaps(iv) for s in live):
                continue
            room_ok = any(
                spec.capability in r.capabilities
                and not any(s.room_id == r.id and s.interval.overlaps(iv) for s in live)
                for r in rooms
            )
            staff_ok = any(
                m.role == spec.role
                and is_staff_available(m, clinic, iv)
                and staff_concurrency(m.id, iv, live) < m.capacity
                for m in staff
            )
            if room_ok and staff_ok:
                inside = prefs is None or prefs.weekdays is None or d.weekday() in prefs.weekdays
                out.append((a, iv.end, inside, d))
    return out


def exhaustive(protocol, clinic, rooms, staff, existing, prefs):
    """(fewest doses past a stage's usual gap, then fewest sessions outside the preferences, then the
    earliest last dose day) over every plan that meets every hard rule, or None when there is none.
    Hard: each gap within the stage's tolerance; each stage inside its window, from its first dose or,
    anchored to the course, ``offset_days``..``offset_days + window_days`` after the first dose; each
    dose day its stage's minimum gap from the patient's other doses (outside any course, another course)."""
    stage_of = [st for st in protocol.induction.stages for _ in range(st.count)]
    starts_stage = {
        sum(st.count for st in protocol.induction.stages[:i]) for i in range(len(protocol.induction.stages))
    }
    n = len(stage_of)
    doses = free_starts(protocol.dose, clinic, rooms, staff, existing, prefs)
    theirs = [
        local_date(s.starts_at, clinic.timezone)
        for s in existing
        if s.patient_id == PATIENT.id and s.kind == "dose" and s.live
    ]
    integ = protocol.integration
    ints = free_starts(integ, clinic, rooms, staff, existing, prefs) if integ else []
    ev = protocol.evaluation
    evals = free_starts(ev, clinic, rooms, staff, existing, prefs) if ev else []
    best = None

    def integration_cost(dose, cap_start, chosen):
        """0/1 sessions outside preferences of the best integration for ``dose``, None if none fits."""
        lo = dose[1] + timedelta(hours=integ.min_hours_after)
        hi = dose[1] + timedelta(hours=integ.within_hours)
        if cap_start is not None:
            hi = min(hi, cap_start)
        cost = None
        for a, e, inside, _d in ints:
            if lo <= a <= hi and not any(a < x[1] and x[0] < e for x in chosen):
                cost = 0 if inside else 1 if cost is None else cost
                if cost == 0:
                    break
        return cost

    def finish(chosen):
        nonlocal best
        first_day = chosen[0][3]
        cost = sum(0 if c[2] else 1 for c in chosen)
        if ev is not None:
            options = [
                0 if e[2] else 1
                for e in evals
                if e[1] <= chosen[0][0] and 1 <= (first_day - e[3]).days <= ev.valid_days
            ]
            if not options:
                return
            cost += min(options)
        if integ is not None:
            needing = [k for k in range(n) if integ.applies_to(k + 1)]
            for i, k in enumerate(needing):
                cap = chosen[needing[i + 1]][0] if i + 1 < len(needing) else None
                c = integration_cost(chosen[k], cap, chosen)
                if c is None:
                    return
                cost += c
        past_cadence = sum(1 for k in range(1, n) if (chosen[k][3] - chosen[k - 1][3]).days > stage_of[k].max_gap_days)
        key = (past_cadence, cost, chosen[-1][3])
        if best is None or key < best:
            best = key

    def extend(chosen, stage_first):
        k = len(chosen)
        if k == n:
            finish(chosen)
            return
        stage = stage_of[k]
        tolerance = stage.interruption_tolerance_days or stage.max_gap_days
        for dose in doses:
            if any(abs((dose[3] - o).days) < stage.min_gap_days for o in theirs):
                continue
            first = dose[3] if k in starts_stage else stage_first
            if chosen:
                gap = (dose[3] - chosen[-1][3]).days
                if not stage.min_gap_days <= gap <= tolerance:
                    continue
            if stage.anchor == "course":
                opens = chosen[0][3] + timedelta(days=stage.offset_days)
                if not opens <= dose[3] <= opens + timedelta(days=stage.window_days):
                    continue
            elif (dose[3] - first).days > stage.window_days:
                continue
            extend([*chosen, dose], first)

    extend([], None)
    return best


# ---------------------------------------------------------------- the planner, judged by the flags


def judge(protocol, plan, clinic, rooms, staff, existing):
    sessions = [
        s.as_session(id=1000 + i, patient_id=PATIENT.id, clinic_id=1, course_id=1) for i, s in enumerate(plan.sessions)
    ]
    ctx = FlagContext(
        clinic=clinic,
        protocols={"small": protocol},
        rooms=by_id(rooms),
        staff=by_id(staff),
        patients=by_id([PATIENT]),
        courses=by_id([CourseFacts(id=1, patient_id=PATIENT.id, protocol_key="small", start_on=START, clinic_id=1)]),
    )
    as_of = datetime.combine(START - timedelta(days=1), time(12), tzinfo=UTC)
    mine = {s.id for s in sessions}
    flags = patient_flags(
        ctx, PATIENT.id, sessions + [s for s in existing if s.patient_id == PATIENT.id], as_of=as_of, others=existing
    )
    return [f for f in flags if f.code in HARD and set(f.session_ids) & mine]


def misses(plan) -> int:
    outside = {i for p in plan.problems if p.code == "preference_not_met" for i in p.sessions}
    return len(outside)


def past_cadence(plan) -> int:
    return len({i for p in plan.problems if p.code == "protocol_guidance_not_met" for i in p.sessions})


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(small_protocols(), clinics())
def test_planner_finds_a_valid_plan_whenever_the_exhaustive_search_does(protocol, world):
    clinic, rooms, staff, existing, prefs = world
    truth = exhaustive(protocol, clinic, rooms, staff, existing, prefs)
    try:
        plan = plan_course(
            protocol, clinic, rooms, staff, PATIENT, existing, START, prefs, grid_minutes=60, include_maintenance=False
        )
    except PlanningError:
        assert truth is None
        return
    broken = judge(protocol, plan, clinic, rooms, staff, existing)
    errors = [p for p in plan.problems if p.severity == "error"]
    if truth is None:
        assert broken or errors, "the planner met every rule where the exhaustive search found no plan"
        return
    assert broken == [] and errors == [], [f.message for f in broken] + [p.message for p in errors]
    doses = [s for s in plan.sessions if s.kind == "dose"]
    assert (past_cadence(plan), misses(plan), local_date(doses[-1].starts_at, clinic.timezone)) == truth
