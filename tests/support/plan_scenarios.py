"""Hypothesis scenarios for the planner: a random clinic (zone, open days and hours, closures), rooms,
staff, patient, other sessions and preferences, and a protocol key (``scenarios()``)."""

from __future__ import annotations

import random
from datetime import date, time, timedelta

from hypothesis import strategies as st

from scheduler.domain.protocols import load_protocols
from scheduler.domain.timezones import NonexistentLocalTime, to_utc
from scheduler.domain.values import Clinic, Closure, Patient, Preferences, Room, Session, StaffMember
from scheduler.domain.vocabulary import CAPABILITIES, SESSION_STATUSES

PROTOCOLS = load_protocols()
ZONES = ["America/New_York", "Europe/London", "Australia/Sydney", "Asia/Kolkata", "UTC"]
START = date(2024, 3, 4)


@st.composite
def scenarios(draw):
    tz = draw(st.sampled_from(ZONES))
    open_days = draw(st.sets(st.integers(0, 6), min_size=3, max_size=7))
    hours = {}
    for d in open_days:
        o = draw(st.integers(6, 10))
        c = draw(st.integers(15, 21))
        hours[d] = [(time(o), time(c))]
    closures = []
    for _ in range(draw(st.integers(0, 3))):
        s = START + timedelta(days=draw(st.integers(0, 60)))
        e = s + timedelta(days=draw(st.integers(0, 4)))
        if draw(st.booleans()):
            closures.append(Closure(s, e, reason="holiday"))
        else:
            closures.append(Closure(s, s, from_time=time(12), until_time=time(draw(st.integers(13, 16)))))
    clinic = Clinic(1, tz, hours, tuple(closures))
    rooms = [
        Room(
            i,
            f"R{i}",
            tuple(draw(st.sets(st.sampled_from(CAPABILITIES), min_size=1, max_size=4))),
            active=draw(st.booleans()) or i == 1,
        )
        for i in range(1, draw(st.integers(1, 5)) + 1)
    ]
    staff = [
        StaffMember(i, f"S{i}", role, capacity=draw(st.integers(1, 3)))
        for i, role in enumerate(
            ["prescriber", "nurse", "therapist", *draw(st.lists(st.sampled_from(["nurse", "therapist"]), max_size=2))],
            start=1,
        )
    ]
    patient = Patient(1, "M", "P", ride_home_arranged=draw(st.booleans()))
    # bulk bookings from a drawn seed: cheap to generate, still reproducible from the example
    rnd = random.Random(draw(st.integers(0, 2**32 - 1)))
    existing = []
    for i in range(draw(st.integers(0, 150))):
        d = START + timedelta(days=rnd.randint(-2, 70))
        try:
            s = to_utc(d, time(rnd.randint(6, 19), rnd.choice([0, 15, 30, 45])), tz)
        except NonexistentLocalTime:
            continue
        existing.append(
            Session(
                i + 1,
                rnd.choice([1, 2, 3, 4]),
                s,
                s + timedelta(minutes=rnd.choice([30, 60, 120])),
                rnd.choice([r.id for r in rooms] + [99]),
                staff_member_id=rnd.choice([None] + [m.id for m in staff]),
                status=rnd.choice(SESSION_STATUSES),
            )
        )
    prefs = draw(
        st.one_of(
            st.none(),
            st.builds(
                Preferences,
                weekdays=st.one_of(st.none(), st.frozensets(st.integers(0, 6), min_size=2)),
                earliest=st.one_of(st.none(), st.just(time(9))),
                latest=st.none(),
            ),
        )
    )
    key = draw(st.sampled_from(sorted(PROTOCOLS)))
    return key, clinic, rooms, staff, patient, existing, prefs
