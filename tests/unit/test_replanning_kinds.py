"""Re-planning a cancelled integration, follow-up, evaluation or preparation session: a replacement inside
that session's window (from the rule book), or ok False saying why, in the same shape as a dose."""

from dataclasses import replace
from datetime import timedelta

import pytest

from scheduler.domain.replanning import replan_after_missed_dose
from scheduler.domain.rules import follow_up_days, integration_window
from scheduler.domain.timezones import local_date
from tests.support.replan_world import PATIENT, PROTOCOLS, ROOMS, STAFF, TZ, booked_course, clinic

LOZENGE_ROOMS = [*ROOMS, type(ROOMS[0])(3, "KAP", ("lozenge", "therapy"))]


def _cancel(sessions, kind, sequence=None, status="cancelled"):
    target = next(s for s in sessions if s.kind == kind and (sequence is None or s.sequence == sequence))
    return [replace(s, status=status) if s.id == target.id else s for s in sessions], target


def _replan(sessions, missed, now, key="ketamine-iv", rooms=ROOMS):
    return replan_after_missed_dose(PROTOCOLS[key], clinic(), rooms, STAFF, PATIENT, sessions, [], missed.id, now)


def _dose(sessions, seq):
    return next(s for s in sessions if s.kind == "dose" and s.phase == "induction" and s.sequence == seq)


def _no_overlap(sessions, new):
    assert not any(s.live and s.interval.overlaps(new.interval) for s in sessions)


@pytest.mark.parametrize("status", ["cancelled", "no_show"])
def test_integration_is_replaced_inside_its_window(status):
    sessions, missed = _cancel(booked_course(), "integration", 3, status)
    now = missed.starts_at - timedelta(hours=1) if status == "cancelled" else missed.ends_at + timedelta(minutes=5)
    r = _replan(sessions, missed, now)
    assert r.ok and r.reason is None and r.moves == () and r.problems == ()
    new = r.new_sessions[0]
    assert (new.kind, new.sequence) == ("integration", 3) and new.starts_at >= now
    lo, hi = integration_window(
        PROTOCOLS["ketamine-iv"].integration, _dose(sessions, 3).ends_at, _dose(sessions, 4).starts_at
    )
    assert lo <= new.starts_at <= hi
    assert new.room_id == 2 and new.staff_member_id == 3  # a therapy room and the therapist
    _no_overlap(sessions, new)


def test_integration_after_its_window_says_why_and_still_proposes():
    sessions, missed = _cancel(booked_course(), "integration", 2, "no_show")
    now = _dose(sessions, 3).starts_at + timedelta(hours=1)  # the next dose has begun: the window is gone
    r = _replan(sessions, missed, now)
    assert not r.ok and r.reason.code == "integration_missing" and "has passed" in r.reason.message
    assert r.new_sessions and r.new_sessions[0].starts_at >= now
    assert [p.code for p in r.problems] == ["integration_missing"] and r.problems[0].severity == "error"


def test_integration_whose_dose_was_lost_too():
    sessions, _ = _cancel(booked_course(), "dose", 1)
    sessions, missed = _cancel(sessions, "integration", 1)
    r = _replan(sessions, missed, missed.starts_at - timedelta(days=2))
    assert not r.ok and r.reason.code == "no_window" and "re-plan that dose first" in r.reason.message
    assert r.new_sessions == ()


def test_follow_up_is_replaced_in_its_days_after_the_last_dose():
    sessions, missed = _cancel(booked_course(), "follow_up")
    now = missed.starts_at - timedelta(hours=2)
    r = _replan(sessions, missed, now)
    assert r.ok, r.reason
    new = r.new_sessions[0]
    lo, hi = follow_up_days(PROTOCOLS["ketamine-iv"].follow_up, local_date(_dose(sessions, 6).starts_at, TZ))
    assert new.kind == "follow_up" and lo <= local_date(new.starts_at, TZ) <= hi and new.starts_at >= now
    _no_overlap(sessions, new)


def test_follow_up_needs_the_whole_induction():
    sessions, _ = _cancel(booked_course(), "dose", 6)
    sessions, missed = _cancel(sessions, "follow_up")
    r = _replan(sessions, missed, missed.starts_at - timedelta(days=10))
    assert not r.ok and r.reason.code == "no_window" and "5 of 6" in r.reason.message


def test_evaluation_is_replaced_before_the_first_dose():
    sessions, missed = _cancel(booked_course(), "evaluation")
    first = _dose(sessions, 1)
    now = missed.starts_at - timedelta(days=1)
    r = _replan(sessions, missed, now)
    assert r.ok, r.reason
    new = r.new_sessions[0]
    spec = PROTOCOLS["ketamine-iv"].evaluation
    assert new.kind == "evaluation" and now <= new.starts_at and new.ends_at <= first.starts_at
    days_before = (local_date(first.starts_at, TZ) - local_date(new.starts_at, TZ)).days
    assert spec.min_days_before_first_dose <= days_before <= spec.valid_days


def test_evaluation_too_late_for_the_first_dose_says_so():
    sessions, missed = _cancel(booked_course(), "evaluation")
    first = _dose(sessions, 1)
    r = _replan(sessions, missed, first.starts_at - timedelta(hours=2))  # the first dose is this morning
    assert not r.ok and r.reason.code == "dose_before_evaluation"
    assert r.new_sessions[0].starts_at > first.starts_at - timedelta(hours=2)


def test_preparation_is_replaced_between_the_evaluation_and_the_first_dose():
    sessions = booked_course("ketamine-lozenge-kap")
    sessions, missed = _cancel(sessions, "preparation", 2)
    r = _replan(sessions, missed, missed.starts_at - timedelta(hours=3), "ketamine-lozenge-kap", LOZENGE_ROOMS)
    assert r.ok, r.reason
    new = r.new_sessions[0]
    prep1 = next(s for s in sessions if s.kind == "preparation" and s.sequence == 1)
    first = _dose(sessions, 1)
    assert (new.kind, new.sequence) == ("preparation", 2)
    assert local_date(prep1.starts_at, TZ) < local_date(new.starts_at, TZ) < local_date(first.starts_at, TZ)


def test_a_live_session_is_not_re_planned():
    sessions = booked_course()
    follow_up = next(s for s in sessions if s.kind == "follow_up")
    r = _replan(sessions, follow_up, follow_up.starts_at - timedelta(days=3))
    assert not r.ok and r.reason.code == "not_missed"
