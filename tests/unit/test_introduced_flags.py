"""The write gate of the rule book (``flags.introduced_flags``): the error flags a change would bring
that were not there before. Appear/disappear cases on the clean course of test_flags."""

from __future__ import annotations

from dataclasses import replace

import pytest

from scheduler.domain.flags import apply_changes, introduced_flags
from tests.support.flag_scenarios import BEN, IV_ROOM, NURSE, at, ben, build, session, with_auth


def _gate(sc, *changes):
    return introduced_flags(sc.ctx(), list(changes), sc.sessions, as_of=sc.as_of)


def _moved(sc, sid, d, h, m=0):
    s = sc.sid(sid)
    start = at(d, h, m)
    return replace(s, starts_at=start, ends_at=start + (s.ends_at - s.starts_at))


@pytest.mark.parametrize(
    "sid, d, h, code",
    [
        (22, 5, 13, "integration_missing"),  # integration of dose 2 the day before dose 2
        (13, 7, 9, "doses_too_close"),  # dose 3 the day after dose 2
        (16, 27, 9, "induction_gap"),  # dose 6 eleven days after dose 5 …
        (11, 2, 12, "dose_before_evaluation"),  # dose 1 on the evaluation's day
        (12, 7, 7, "outside_clinic_hours"),
    ],
)
def test_a_move_that_breaks_a_rule_introduces_its_error(sid, d, h, code):
    sc = build()
    assert _gate(sc, replace(sc.sid(sid))) == []  # the same session unchanged: nothing new
    found = _gate(sc, _moved(sc, sid, d, h))
    assert code in {f.code for f in found}
    assert all(f.severity == "error" for f in found)


def test_a_flag_already_there_is_not_introduced():
    sc = build()
    sc.move(22, 5, 13)  # integration_missing for dose 2 is there before the change
    assert "integration_missing" in sc.codes()
    assert "integration_missing" not in {f.code for f in _gate(sc, _moved(sc, 22, 5, 14))}
    # … and the repair introduces nothing
    assert _gate(sc, _moved(sc, 22, 6, 13)) == []


def test_a_new_session_gets_a_negative_id_and_moves_keep_theirs():
    sc = build()
    dose = session(None, 7, 12, 120, IV_ROOM, staff=NURSE, seq=7)
    found = _gate(sc, dose)
    assert {f.code for f in found} >= {"doses_too_close"}
    assert all(-1 in f.session_ids for f in found if f.code == "doses_too_close")
    after, placed = apply_changes(sc.sessions, [dose, _moved(sc, 22, 6, 14)])
    assert [p.id for p in placed] == [-1, 22] and len(after) == len(sc.sessions) + 1


def test_moving_a_dose_with_its_integration_session_introduces_nothing():
    sc = build()
    dose, integ = _moved(sc, 16, 17, 9), _moved(sc, 26, 17, 13)
    assert "integration_missing" in {f.code for f in _gate(sc, dose)}
    assert _gate(sc, dose, integ) == []


def test_other_patients_clashes_count_only_when_the_change_takes_part():
    sc = build()
    sc.add(ben(90, 18, 9, staff=NURSE))  # Ben with Ana's nurse on another day
    assert _gate(sc, _moved(sc, 16, 18, 9)) != []  # onto Ben's time with the same nurse, a free chair …
    assert "staff_over_capacity" in {f.code for f in _gate(sc, _moved(sc, 16, 18, 9))}
    assert _gate(sc, replace(sc.sid(90), patient_id=BEN)) == []


def test_new_doses_use_units_together():
    """Two new doses with one unit left: the gate counts both (the second exceeds), not each alone."""
    sc = with_auth(build(), units=7)  # six doses booked, one unit left
    seventh = session(None, 27, 9, 120, IV_ROOM, staff=NURSE, seq=7)
    eighth = session(None, 30, 9, 120, IV_ROOM, staff=NURSE, seq=8)
    assert "authorization_exceeded" not in {f.code for f in _gate(sc, seventh)}
    found = [f for f in _gate(sc, seventh, eighth) if f.code == "authorization_exceeded"]
    assert [f.session_ids for f in found] == [(-2,)]
    # cancelling a booked dose in the same change gives its unit back
    cancelled = replace(sc.sid(16), status="cancelled")
    assert "authorization_exceeded" not in {f.code for f in _gate(sc, seventh, eighth, cancelled)}
