"""The lifecycle table holds every status change a session may make."""

from __future__ import annotations

import pytest

from scheduler.domain.lifecycle import ATTENDANCE, RESCHEDULABLE, TRANSITIONS, allows, restored_status
from scheduler.domain.vocabulary import SESSION_STATUSES

# action -> the statuses it may start from (what the HTTP tests of the actions hold the service to)
EXPECTED = {
    "check_in": {"proposed", "booked"},
    "complete": {"booked", "checked_in"},
    "no_show": {"proposed", "booked"},
    "cancel": {"proposed", "booked", "checked_in"},
    "reinstate": {"cancelled"},
}


def test_every_action_and_status_is_known():
    assert set(TRANSITIONS) == set(EXPECTED)
    assert set(ATTENDANCE) <= set(TRANSITIONS)
    named = {s for t in TRANSITIONS.values() for s in (*t.sources, t.target) if s is not None}
    assert named <= set(SESSION_STATUSES)
    assert set(RESCHEDULABLE) <= set(SESSION_STATUSES)


@pytest.mark.parametrize("action", sorted(EXPECTED))
@pytest.mark.parametrize("status", SESSION_STATUSES)
def test_allows(action, status):
    assert allows(action, status) is (status in EXPECTED[action])


@pytest.mark.parametrize(
    ("recorded", "restored"),
    [
        ("proposed", "proposed"),
        ("booked", "booked"),
        ("checked_in", "checked_in"),
        ("completed", "booked"),
        (None, "booked"),
    ],
)
def test_a_reinstated_session_gets_back_a_status_it_could_be_cancelled_from(recorded, restored):
    assert restored_status(recorded) == restored
