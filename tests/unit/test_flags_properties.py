"""The sweeps behind double booking and capacity agree with brute force over random sessions."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from hypothesis import example, given, settings
from hypothesis import strategies as st

from scheduler.domain.flags import FlagContext, resource_flags
from scheduler.domain.intervals import overlaps
from scheduler.domain.values import Clinic, Patient, Room, Session, StaffMember, by_id

BASE = datetime(2026, 3, 4, 13, 0, tzinfo=UTC)  # 08:00 in New York
CLINIC = Clinic(id=1, timezone="America/New_York", hours={d: [(time(0), time(0))] for d in range(7)})

session_st = st.builds(
    lambda start, length, room, patient, staff, status: (start, length, room, patient, staff, status),
    st.integers(0, 48),
    st.integers(1, 12),
    st.integers(1, 3),
    st.integers(1, 3),
    st.integers(1, 2),
    st.sampled_from(["booked", "booked", "completed", "cancelled", "no_show"]),
)


def make(rows) -> list[Session]:
    out = []
    for i, (start, length, room, patient, staff, status) in enumerate(rows, start=1):
        s = BASE + timedelta(minutes=15 * start)
        out.append(
            Session(
                id=i,
                patient_id=patient,
                starts_at=s,
                ends_at=s + timedelta(minutes=15 * length),
                room_id=room,
                kind="evaluation",
                status=status,
                clinic_id=1,
                staff_member_id=staff,
            )
        )
    return out


def ctx(capacity: int) -> FlagContext:
    return FlagContext(
        clinic=CLINIC,
        rooms=by_id([Room(i, f"R{i}", ("consult",)) for i in (1, 2, 3)]),
        staff=by_id([StaffMember(i, f"S{i}", capacity=capacity) for i in (1, 2)]),
        patients=by_id([Patient(i, name=f"P{i}") for i in (1, 2, 3)]),
    )


@settings(max_examples=150, deadline=None)
@given(st.lists(session_st, max_size=12), st.integers(1, 3))
def test_double_booking_and_capacity_match_brute_force(rows, capacity):
    sessions = make(rows)
    live = [s for s in sessions if s.live]
    flags = resource_flags(ctx(capacity), live, None)
    pairs = {
        code: {f.session_ids for f in flags if f.code == code}
        for code in ("room_double_booked", "patient_double_booked")
    }
    for code, attr in (("room_double_booked", "room_id"), ("patient_double_booked", "patient_id")):
        expected = {
            (a.id, b.id)
            for a in live
            for b in live
            if a.id < b.id
            and getattr(a, attr) == getattr(b, attr)
            and overlaps(a.starts_at, a.ends_at, b.starts_at, b.ends_at)
        }
        assert pairs[code] == expected
    over = {f.staff_member_id for f in flags if f.code == "staff_over_capacity"}
    for staff in (1, 2):
        mine = [s for s in live if s.staff_member_id == staff]
        peak = max((sum(1 for o in mine if o.starts_at <= s.starts_at < o.ends_at) for s in mine), default=0)
        assert (staff in over) is (peak > capacity)
    in_flags = {i for f in flags if f.code == "staff_over_capacity" for i in f.session_ids}
    assert in_flags <= {s.id for s in live}


@settings(max_examples=200, deadline=None)
@given(st.lists(session_st, max_size=14), st.integers(1, 3), st.sets(st.integers(1, 14), max_size=4))
# one clinician over capacity twice, the second time starting as the first ends: one merged excess
@example(
    [(0, 4, 1, 1, 1, "booked"), (0, 4, 2, 2, 1, "booked"), (4, 4, 1, 1, 1, "booked"), (4, 4, 2, 2, 1, "booked")], 1, {1}
)
def test_a_scope_only_leaves_out_the_flags_naming_none_of_it(rows, capacity, scope):
    """The pairwise and capacity rules read only the sessions that can meet the scope's; the flags
    are those of the whole set that name a session of the scope, unchanged."""
    live = [s for s in make(rows) if s.live]
    everything = resource_flags(ctx(capacity), live, None)
    assert set(resource_flags(ctx(capacity), live, scope)) == {
        f for f in everything if any(i in scope for i in f.session_ids)
    }
