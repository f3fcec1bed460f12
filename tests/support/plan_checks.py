"""Shared checker: does a plan satisfy its protocol and overlap nothing live? (used by planner tests)"""

import itertools
from datetime import timedelta

from scheduler.domain.calendar import is_open, is_staff_available, max_concurrency
from scheduler.domain.intervals import Interval
from scheduler.domain.maintenance import due_window
from scheduler.domain.timezones import local_date


def check_plan(plan, protocol, clinic, rooms, staff, patient, existing, preferences=None):
    tz = clinic.timezone
    codes = plan.codes
    rooms_by_id = {r.id: r for r in rooms}
    staff_by_id = {s.id: s for s in staff}
    live = [s for s in existing if s.live]
    sessions = list(plan.sessions)
    assert sessions == sorted(sessions, key=lambda s: s.starts_at)
    spec_of = {
        "evaluation": protocol.evaluation,
        "preparation": protocol.preparation,
        "dose": protocol.dose,
        "integration": protocol.integration,
        "follow_up": protocol.follow_up,
    }
    for i, s in enumerate(sessions):
        spec = spec_of[s.kind] if s.phase != "maintenance" else protocol.maintenance.dose
        assert s.ends_at - s.starts_at == spec.duration
        assert is_open(clinic, s.interval), (s.label, s.starts_at)
        room = rooms_by_id[s.room_id]
        assert room.active
        if spec.capability not in room.capabilities:
            assert "room_unsuitable" in codes
        if s.staff_member_id is None:
            assert "staff_unavailable" in codes
        else:
            member = staff_by_id[s.staff_member_id]
            assert member.role == spec.role and is_staff_available(member, clinic, s.interval)
        for e in live:
            if e.interval.overlaps(s.interval):
                assert e.room_id != s.room_id, (s.label, e)
                assert e.patient_id != patient.id, (s.label, e)
        for j, o in enumerate(sessions):
            if j != i and o.interval.overlaps(s.interval):
                assert o.room_id != s.room_id
                raise AssertionError(f"patient double booked: {s.label} / {o.label}")
    for member in staff:
        mine = [s.interval for s in sessions if s.staff_member_id == member.id]
        mine += [e.interval for e in live if e.staff_member_id == member.id]
        for s in sessions:
            if s.staff_member_id == member.id:
                assert max_concurrency([iv for iv in mine if iv.overlaps(s.interval)], s.interval) <= member.capacity
    if preferences is not None and "preference_not_met" not in codes:
        for s in sessions:
            if preferences.weekdays is not None:
                assert local_date(s.starts_at, tz).weekday() in preferences.weekdays

    doses = [s for s in sessions if s.kind == "dose" and s.phase == "induction"]
    assert [d.sequence for d in doses] == list(range(1, protocol.induction.total_doses + 1))
    day = lambda s: local_date(s.starts_at, tz)  # noqa: E731
    n = 0
    prev = None
    for stage in protocol.induction.stages:
        stage_doses = doses[n : n + stage.count]
        n += stage.count
        days = sorted({day(d) for d in stage_doses})
        assert len(days) == stage.days
        for dd in days:
            same = [d for d in stage_doses if day(d) == dd]
            assert len(same) == stage.doses_per_day
            for a, b in itertools.pairwise(same):
                assert b.starts_at - a.ends_at == timedelta(minutes=stage.minutes_between_doses)
        for dd in days:
            if prev is not None:
                gap = (dd - prev).days
                assert gap >= stage.min_gap_days
                tolerance = stage.interruption_tolerance_days or stage.max_gap_days
                if gap > tolerance:
                    assert "induction_gap" in codes
                elif gap > stage.max_gap_days:  # tolerated, but past the usual cadence
                    assert "protocol_guidance_not_met" in codes
            prev = dd
        if stage.anchor == "course":  # its days count from the course's first dose
            opens = day(doses[0]) + timedelta(days=stage.offset_days)
            if days[0] < opens or days[-1] > opens + timedelta(days=stage.window_days):
                assert "induction_window_exceeded" in codes
        elif (days[-1] - days[0]).days > stage.window_days:
            assert "induction_window_exceeded" in codes
        if stage.weekdays and "protocol_guidance_not_met" not in codes:
            assert all(dd.weekday() in stage.weekdays for dd in days)
    first = doses[0]
    if protocol.evaluation is not None:
        evs = plan.of_kind("evaluation")
        if evs:
            assert evs[0].ends_at <= first.starts_at
            if (day(first) - day(evs[0])).days > protocol.evaluation.valid_days:
                assert "evaluation_expired" in codes
    if protocol.preparation is not None:
        preps = plan.of_kind("preparation")
        assert len(preps) == protocol.preparation.planned_count
        assert all(p.ends_at <= first.starts_at for p in preps)
    integ = protocol.integration
    if integ is not None:
        ints = {s.sequence: s for s in plan.of_kind("integration")}
        wanted = [d.sequence for d in doses if integ.applies_to(d.sequence)]
        assert sorted(ints) == wanted
        for d in doses:
            if d.sequence in ints:
                it = ints[d.sequence]
                assert it.starts_at >= d.ends_at
                if it.starts_at - d.ends_at > timedelta(hours=integ.within_hours):
                    assert "integration_missing" in codes
    last_day = day(doses[-1])
    if protocol.follow_up is not None:
        (fu,) = plan.of_kind("follow_up")
        gap = (day(fu) - last_day).days
        assert gap >= protocol.follow_up.min_days_after
        if gap > protocol.follow_up.max_days_after:
            assert "follow_up_missing" in codes
    maint = [s for s in sessions if s.phase == "maintenance"]
    if protocol.maintenance is not None:
        assert len(maint) == 1
        w = due_window(last_day, protocol.maintenance)
        assert day(maint[0]) >= w.earliest
        if day(maint[0]) > w.latest:
            assert "maintenance_overdue" in codes
    if patient.dosing_hold_reason:
        assert "dosing_hold" in codes
    return True


def iv(a, b):
    return Interval(a, b)
