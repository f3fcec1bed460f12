import itertools
from dataclasses import replace
from datetime import date, time, timedelta

import pytest

from scheduler.domain.replanning import replan_after_missed_dose
from scheduler.domain.timezones import to_utc
from scheduler.domain.values import Closure, Session
from tests.support.replan_world import (
    PATIENT,
    PROTOCOLS,
    ROOMS,
    STAFF,
    TZ,
    booked_course,
    cancel,
    clinic,
    day,
)


def apply(sessions, result):
    moved = {m.session_id: m for m in result.moves}
    out = [
        replace(s, starts_at=moved[s.id].starts_at, ends_at=moved[s.id].ends_at) if s.id in moved else s
        for s in sessions
        if s.status not in ("cancelled", "no_show")
    ]
    return out + [
        Session(None, PATIENT.id, n.starts_at, n.ends_at, n.room_id, kind=n.kind, phase=n.phase, sequence=n.sequence)
        for n in result.new_sessions
    ]


def assert_rules(sessions, protocol):
    stage = protocol.induction.stages[0]
    doses = sorted((s for s in sessions if s.kind == "dose" and s.phase == "induction"), key=lambda s: s.sequence)
    assert [d.sequence for d in doses] == list(range(1, 7))
    days = [day(d.starts_at) for d in doses]
    assert all(stage.min_gap_days <= (b - a).days <= stage.max_gap_days for a, b in itertools.pairwise(days))
    assert (days[-1] - days[0]).days <= stage.window_days
    assert days == sorted(days)
    for a in sessions:
        for b in sessions:
            if a is not b:
                assert not a.interval.overlaps(b.interval)


@pytest.mark.parametrize(
    "seq, now_offset, expect_moves",
    [
        (3, timedelta(hours=-1), False),  # cancelled ahead of time: the same slot is free again
        (3, timedelta(days=1, hours=8), True),  # no-show noticed next day: later doses shift
        (6, timedelta(hours=3), False),  # last dose: just a later day
        (1, timedelta(hours=-20), False),
    ],
)
def test_replacement_keeps_rules(seq, now_offset, expect_moves):
    sessions, missed = cancel(booked_course(), seq)
    now = missed.starts_at + now_offset
    r = replan_after_missed_dose(
        PROTOCOLS["ketamine-iv"], clinic(), ROOMS, STAFF, PATIENT, sessions, [], missed.id, now
    )
    assert r.ok and r.reason is None, r
    rep = r.new_sessions[0]
    assert rep.kind == "dose" and rep.sequence == seq and rep.starts_at >= now
    assert any(m.kind == "dose" for m in r.moves) is expect_moves
    after = apply(sessions, r)
    assert_rules(after, PROTOCOLS["ketamine-iv"])
    integ = [s for s in after if s.kind == "integration" and s.sequence == seq]
    assert len(integ) == 1 and integ[0].starts_at >= rep.ends_at
    assert integ[0].starts_at - rep.ends_at <= timedelta(hours=72)


def test_moves_only_what_must_move():
    sessions, missed = cancel(booked_course(), 3)
    r = replan_after_missed_dose(
        PROTOCOLS["ketamine-iv"],
        clinic(),
        ROOMS,
        STAFF,
        PATIENT,
        sessions,
        [],
        missed.id,
        missed.starts_at + timedelta(days=1, hours=8),
    )
    moved_doses = [m.sequence for m in r.moves if m.kind == "dose"]
    assert moved_doses == sorted(moved_doses) and 3 not in moved_doses
    for m in r.moves:
        assert m.starts_at > m.old_starts_at


def test_cannot_keep_window_says_why():
    c = clinic([Closure(date(2024, 3, 12), date(2024, 3, 29), reason="Renovation")])
    sessions, missed = cancel(booked_course(c=clinic()), 3)
    r = replan_after_missed_dose(
        PROTOCOLS["ketamine-iv"],
        c,
        ROOMS,
        STAFF,
        PATIENT,
        sessions,
        [],
        missed.id,
        missed.starts_at + timedelta(hours=10),
    )
    assert not r.ok and r.reason.code in ("induction_window_exceeded", "induction_gap")
    assert r.new_sessions  # a best-effort proposal is still given


@pytest.mark.parametrize(
    "mutate, code",
    [
        (lambda s, m: (s, 999), "unknown_session"),
        (lambda s, m: (s, next(x.id for x in s if x.kind == "evaluation")), "not_missed"),  # live: nothing to re-plan
    ],
)
def test_refusals(mutate, code):
    sessions, missed = cancel(booked_course(), 2)
    sessions, sid = mutate(sessions, missed)
    r = replan_after_missed_dose(
        PROTOCOLS["ketamine-iv"], clinic(), ROOMS, STAFF, PATIENT, sessions, [], sid, missed.starts_at
    )
    assert not r.ok and r.reason.code == code


def test_refused_when_live_or_on_hold():
    sessions = booked_course()
    dose = next(s for s in sessions if s.kind == "dose")
    r = replan_after_missed_dose(
        PROTOCOLS["ketamine-iv"], clinic(), ROOMS, STAFF, PATIENT, sessions, [], dose.id, dose.starts_at
    )
    assert r.reason.code == "not_missed"
    sessions, missed = cancel(sessions, 2, "no_show")
    held = replace(PATIENT, dosing_hold_reason="acute mania")
    r = replan_after_missed_dose(
        PROTOCOLS["ketamine-iv"], clinic(), ROOMS, STAFF, held, sessions, [], missed.id, missed.starts_at
    )
    assert r.reason.code == "dosing_hold"


def test_other_bookings_respected():
    sessions, missed = cancel(booked_course(), 4)
    now = missed.starts_at + timedelta(hours=3)
    # someone else takes the IV room on every day of the next two weeks 08:00-16:00
    others = [
        Session(
            500 + i,
            99,
            to_utc(day(now) + timedelta(days=i), time(8), TZ),
            to_utc(day(now) + timedelta(days=i), time(16), TZ),
            1,
        )
        for i in range(14)
    ]
    r = replan_after_missed_dose(
        PROTOCOLS["ketamine-iv"], clinic(), ROOMS, STAFF, PATIENT, sessions, others, missed.id, now
    )
    rep = r.new_sessions[0]
    assert all(not o.interval.overlaps(rep.interval) for o in others)
    for m in r.moves:
        assert all(not (o.room_id == m.room_id and o.starts_at < m.ends_at and m.starts_at < o.ends_at) for o in others)
