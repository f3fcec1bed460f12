"""Issue 9's holes in the rule book: induction_incomplete at once, doses too close across courses,
attendance_unrecorded (appear / disappear on the clean scenario of test_flags)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from scheduler.domain.flags import CourseFacts, FlagContext, candidate_flags, clinic_flags
from scheduler.domain.values import Clinic, by_id
from tests.support.flag_scenarios import (
    ANA,
    COURSE,
    IV_ROOM_2,
    NURSE_2,
    PROTOCOLS,
    TZ,
    Scenario,
    as_of,
    at,
    build,
    march,
    session,
)

OTHER = 200


def with_other_course(sc: Scenario, status: str = "active") -> Scenario:
    def ctx() -> FlagContext:
        clinic = Clinic(id=1, timezone=TZ, hours=sc.hours, closures=sc.closures, name="Midtown")
        return FlagContext(
            clinic=clinic,
            protocols=PROTOCOLS,
            rooms=sc.rooms,
            staff=sc.staff,
            patients=sc.patients,
            courses=by_id(
                [
                    CourseFacts(COURSE, ANA, "ketamine-iv", status=sc.course_status),
                    CourseFacts(OTHER, ANA, "ketamine-im", status=status),
                ]
            ),
        )

    sc.ctx = ctx
    return sc


@pytest.mark.parametrize("status", ["cancelled", "no_show"])
def test_losing_a_future_induction_dose_raises_induction_incomplete_at_once(status):
    # now is 2 Mar, before the course: dose 3 (9 Mar) is cancelled; doses 4-6 are still ahead
    sc = build().edit(13, status=status)
    flags = [f for f in sc.flags() if f.code == "induction_incomplete"]
    assert len(flags) == 1
    f = flags[0]
    assert "5 of 6 induction doses booked" in f.message and f.session_ids == (13,)
    assert f.fix.startswith("Re-plan") and f.severity == "warning"
    # a replacement dose booked: gone
    replaced = sc.add(session(17, 10, 9, 120, IV_ROOM_2, staff=NURSE_2, seq=3))
    assert "induction_incomplete" not in replaced.codes()
    # a stopped course raises no gap
    stopped = build().edit(13, status=status)
    stopped.course_status = "stopped"
    assert "induction_incomplete" not in stopped.codes()


def test_doses_too_close_across_courses():
    # a second course's dose one day after dose 6 (16 Mar) of the first course
    clash = session(51, 17, 9, 90, IV_ROOM_2, course=OTHER, staff=NURSE_2, seq=1, route="im")
    sc = with_other_course(build().add(clash))
    too_close = [f for f in sc.flags() if f.code == "doses_too_close"]
    assert [f.session_ids for f in too_close] == [(16, 51)]
    assert too_close[0].course_id == OTHER and "another course" in too_close[0].message
    assert too_close[0].severity == "error"
    # the same dose two days later is far enough (ketamine-im needs 2 days)
    ok = with_other_course(build().add(replace(clash, starts_at=at(18, 9), ends_at=at(18, 10, 30))))
    assert [f for f in ok.flags() if f.code == "doses_too_close" and 51 in f.session_ids] == []
    # a cancelled dose of the other course is no dose
    gone = with_other_course(build().add(replace(clash, status="cancelled")))
    assert not [f for f in gone.flags() if f.code == "doses_too_close"]
    # the candidate check (booking the other course's dose) sees it too
    assert "doses_too_close" in {f.code for f in candidate_flags(sc.ctx(), clash, sc.sessions)}


def test_a_dose_outside_any_course_is_spaced_by_the_open_course():
    loose = session(61, 17, 9, 120, IV_ROOM_2, course=None, staff=NURSE_2)  # the day after dose 6 (16 Mar)
    sc = build().add(loose)
    too_close = [f for f in sc.flags() if f.code == "doses_too_close"]
    assert [f.session_ids for f in too_close] == [(16, 61)] and "outside any course" in too_close[0].message
    later = build().add(replace(loose, starts_at=at(18, 9), ends_at=at(18, 11)))
    assert not [f for f in later.flags() if f.code == "doses_too_close"]
    # a completed course does not space loose doses
    done = build().add(loose)
    done.course_status = "completed"
    assert not [f for f in done.flags() if f.code == "doses_too_close" and 61 in f.session_ids]


def test_attendance_unrecorded_names_each_past_session_until_recorded():
    sc = as_of(build(), march(4))  # 12:00 on 4 Mar: the evaluation (2 Mar) and dose 1 (09:00-11:00) ended
    flags = [f for f in sc.flags() if f.code == "attendance_unrecorded"]
    assert [f.session_ids for f in flags] == [(1,), (11,)]
    assert flags[1].severity == "warning" and "mark it completed or no-show" in flags[1].message
    assert "Wed 4 Mar 09:00" in flags[1].message
    checked_in = as_of(build().edit(1, status="completed").edit(11, status="checked_in"), march(4))
    assert [f.session_ids for f in checked_in.flags() if f.code == "attendance_unrecorded"] == [(11,)]
    no_show = as_of(build().edit(1, status="completed").edit(11, status="no_show"), march(4))
    assert "attendance_unrecorded" not in no_show.codes()
    # on the clinic's worklist for that day, not on the next
    day = clinic_flags(sc.ctx(), march(4), march(4), sc.sessions, as_of=sc.as_of, idle_chairs=False)
    assert [f.session_ids for f in day if f.code == "attendance_unrecorded"] == [(11,)]
    later = clinic_flags(sc.ctx(), march(5), march(5), sc.sessions, as_of=sc.as_of, idle_chairs=False)
    assert "attendance_unrecorded" not in {f.code for f in later}


def test_the_candidate_check_spaces_a_dose_against_every_course():
    # a loose dose the day after dose 6: refused like any too-close dose
    loose = session(None, 17, 9, 120, IV_ROOM_2, course=None, staff=NURSE_2)
    sc = build()
    assert "doses_too_close" in {f.code for f in candidate_flags(sc.ctx(), loose, sc.sessions)}
    # a dose of the first course moved to the day before the other course's dose (the later one is theirs)
    theirs = session(51, 18, 9, 90, IV_ROOM_2, course=OTHER, staff=NURSE_2, seq=1, route="im")
    sc = with_other_course(build().add(theirs))
    moved = replace(sc.sid(16), starts_at=at(17, 9), ends_at=at(17, 11))
    assert "doses_too_close" in {f.code for f in candidate_flags(sc.ctx(), moved, sc.sessions)}
    assert "doses_too_close" not in {f.code for f in candidate_flags(sc.ctx(), sc.sid(16), sc.sessions)}


def test_an_evaluation_booked_in_another_course_counts_for_this_one():
    # the evaluation (2 Mar) belongs to an earlier, stopped course of the patient: still the patient's evaluation
    sc = with_other_course(build().edit(1, course_id=OTHER), status="stopped")
    assert "dose_before_evaluation" not in sc.codes()
    assert (
        "dose_before_evaluation"
        in with_other_course(build().edit(1, course_id=OTHER, status="cancelled"), status="stopped").codes()
    )
