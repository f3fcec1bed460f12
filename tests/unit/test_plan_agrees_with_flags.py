"""What the planner proposes, booked as is, raises no flag: planner and flag rules agree.

For every shipped protocol and several weekday preferences, the plan is turned into booked sessions and
judged by the flags engine as of the day before the course starts (so nothing is "due" yet).
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from scheduler.domain.flags import CourseFacts, FlagContext, patient_flags
from scheduler.domain.rules.course import spacing_stages
from scheduler.domain.timezones import local_date, to_utc
from scheduler.domain.values import Preferences, Session, by_id
from tests.support.plan_world import PATIENT, PROTOCOLS, ROOMS, STAFF, START, TZ, busy_clinic, make_clinic, plan

PREFERENCES = [
    None,
    Preferences(weekdays=frozenset({0, 2, 4})),  # Mon/Wed/Fri: integration must precede the next dose
    Preferences(weekdays=frozenset({0, 3}), earliest=time(9), latest=time(15)),
]


def _as_sessions(p, course_id: int = 1) -> list[Session]:
    return [
        Session(
            id=i + 1,
            patient_id=PATIENT.id,
            starts_at=s.starts_at,
            ends_at=s.ends_at,
            room_id=s.room_id,
            kind=s.kind,
            status="booked",
            clinic_id=1,
            course_id=course_id,
            phase=s.phase,
            sequence=s.sequence,
            route=s.route,
            staff_member_id=s.staff_member_id,
        )
        for i, s in enumerate(p.sessions)
    ]


# TMS runs on consecutive weekdays: a Mon/Wed/Fri or Mon/Thu preference cannot be met, and the planner
# says so (preference_not_met plus the induction codes it then breaks); judged separately below.
IMPOSSIBLE = {
    ("tms-daily", 1),
    ("tms-daily", 2),
    ("tms-daily-taper", 1),
    ("tms-daily-taper", 2),
    ("tms-accelerated", 1),
    ("tms-accelerated", 2),
}


def _flags(key, p, clinic, existing=()):
    ctx = FlagContext(
        clinic=clinic,
        protocols=PROTOCOLS,
        rooms=by_id(ROOMS),
        staff=by_id(STAFF),
        patients=by_id([PATIENT]),
        courses=by_id([CourseFacts(id=1, patient_id=PATIENT.id, protocol_key=key, start_on=START, clinic_id=1)]),
    )
    as_of = datetime.combine(START - timedelta(days=1), time(12), tzinfo=UTC)
    return patient_flags(ctx, PATIENT.id, _as_sessions(p), as_of=as_of, others=list(existing))


@pytest.mark.parametrize("pref_index", range(len(PREFERENCES)), ids=["any", "mon-wed-fri", "mon-thu-9-15"])
@pytest.mark.parametrize("key", sorted(PROTOCOLS))
def test_a_booked_plan_raises_no_flag(key, pref_index):
    p = plan(key, prefs=PREFERENCES[pref_index])
    flags = _flags(key, p, make_clinic())
    if (key, pref_index) in IMPOSSIBLE:
        assert "preference_not_met" in p.codes
        # whatever the booked plan breaks, the planner reported it beforehand
        assert {f.code for f in flags} <= p.codes
        return
    assert p.problems == ()
    assert [(f.code, f.message) for f in flags] == []


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("key", ["ketamine-iv", "ketamine-lozenge-kap"])
def test_in_a_busy_clinic_every_flag_was_announced_by_the_planner(key, seed):
    """Other patients fill rooms and clinicians; what the booked plan breaks, the plan said beforehand
    (e.g. an integration session pushed past the next dose would be integration_missing)."""
    existing = busy_clinic(n=400, seed=seed)
    p = plan(key, existing=existing, prefs=PREFERENCES[1])
    flags = _flags(key, p, make_clinic(), existing)
    assert {f.code for f in flags} <= p.codes, [f.message for f in flags]


def test_integration_is_placed_with_its_dose_not_after_the_next_one():
    """Therapy rooms are full between dose 2 and dose 3 of the first plan but free right after dose 3
    (still within 72 h of dose 2). An integration session there would count for dose 3, leaving dose 2
    without one. The old planner fixed the doses first and then reported integration_missing; placing
    each dose together with its integration session, the planner finds a plan meeting every rule."""
    prefs = PREFERENCES[1]
    first = plan("ketamine-iv", prefs=prefs)
    doses = first.of_kind("dose")
    dose2, dose3 = doses[1], doses[2]
    therapy_rooms = [r.id for r in ROOMS if "therapy" in r.capabilities]
    blockers = [
        Session(
            id=9000 + i,
            patient_id=900 + i,
            starts_at=dose2.ends_at - timedelta(hours=1),
            ends_at=dose3.starts_at + timedelta(minutes=30),
            room_id=room,
            kind="integration",
            status="booked",
            clinic_id=1,
        )
        for i, room in enumerate(therapy_rooms)
    ]
    p = plan("ketamine-iv", prefs=prefs, existing=blockers)
    flags = _flags("ketamine-iv", p, make_clinic(), blockers)
    assert [f.code for f in flags] == []
    assert "integration_missing" not in p.codes and not [x for x in p.problems if x.severity == "error"]
    new_doses = p.of_kind("dose")
    integration2 = next(s for s in p.of_kind("integration") if s.sequence == 2)
    assert new_doses[1].ends_at <= integration2.starts_at and integration2.ends_at <= new_doses[2].starts_at


def test_a_later_dose_of_another_protocols_course_is_spaced_as_that_course_judges_it():
    """The patient has an esketamine course (3 days between its first doses) with a dose on Wednesday
    13 March; ketamine-iv needs 2. The rule book judges a pair of doses of two courses by the later
    dose's own course, so a ketamine dose on Monday the 11th is too close by the esketamine course's
    rule. Given the other course's stages, the planner keeps 3 days before that dose and 2 after it."""
    esk_day = START + timedelta(days=9)
    at = to_utc(esk_day, time(8), TZ)
    other = Session(
        9100, PATIENT.id, at, at + timedelta(hours=2), 99, kind="dose", clinic_id=2, course_id=2, phase="induction"
    )
    courses = [
        CourseFacts(id=1, patient_id=PATIENT.id, protocol_key="ketamine-iv", start_on=START, clinic_id=1),
        CourseFacts(id=2, patient_id=PATIENT.id, protocol_key="esketamine-trd", start_on=esk_day, clinic_id=2),
    ]

    def too_close(p) -> list[str]:
        ctx = FlagContext(
            clinic=make_clinic(),
            protocols=PROTOCOLS,
            rooms=by_id(ROOMS),
            staff=by_id(STAFF),
            patients=by_id([PATIENT]),
            courses=by_id(courses),
        )
        as_of = datetime.combine(START - timedelta(days=1), time(12), tzinfo=UTC)
        flags = patient_flags(ctx, PATIENT.id, [*_as_sessions(p), other], as_of=as_of)
        return [f.message for f in flags if f.code == "doses_too_close"]

    def gaps(p) -> list[int]:
        return [(local_date(s.starts_at, TZ) - esk_day).days for s in p.of_kind("dose")]

    stages = spacing_stages([other], {2: PROTOCOLS["esketamine-trd"]})
    p = plan("ketamine-iv", existing=[other], dose_stages=stages)
    assert too_close(p) == []
    assert all(g <= -3 or g >= 2 for g in gaps(p)), gaps(p)
    # spaced by ketamine's own 2 days (as before), a dose lands 2 days before and the rule book flags it
    unaware = plan("ketamine-iv", existing=[other])
    assert -2 in gaps(unaware) and too_close(unaware)
