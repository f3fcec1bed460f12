"""Sign-in throttling rules: the wait after each failure, the lock, and when failures are forgotten."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from scheduler.domain.sign_in import Count, ThrottlePolicy, after_failure, delay_for, wait_seconds

NOW = datetime(2026, 3, 9, 14, 0, tzinfo=UTC)
POLICY = ThrottlePolicy()


@pytest.mark.parametrize("failures, seconds", [(0, 0), (4, 0), (5, 1), (6, 2), (7, 4), (8, 8), (9, 16), (30, 900)])
def test_delay_grows_after_five_failures(failures, seconds):
    assert delay_for(failures, POLICY) == timedelta(seconds=seconds)


NO_FAILURES = Count(0, None, None)


def _fail(times: int, start: Count = NO_FAILURES, step: timedelta = timedelta(seconds=20)) -> Count:
    count, at = start, NOW
    for _ in range(times):
        count = after_failure(count, at, POLICY)
        at += step
    return count


@pytest.mark.parametrize(
    "failures, since, wait",
    [
        (4, timedelta(0), 0),  # below the threshold: no wait
        (5, timedelta(0), 1),
        (5, timedelta(seconds=1), 0),  # waited the second
        (9, timedelta(seconds=3), 13),
        (9, timedelta(minutes=15), 0),  # forgotten after the lock period
    ],
)
def test_wait_after_failures(failures, since, wait):
    count = Count(failures, NOW, None)
    assert wait_seconds(count, NOW + since, POLICY) == wait


def test_the_tenth_failure_locks_for_fifteen_minutes():
    count = _fail(9)
    assert count.locked_until is None
    locked = after_failure(count, NOW, POLICY)
    assert locked.failures == 10 and locked.locked_until == NOW + timedelta(minutes=15)
    assert wait_seconds(locked, NOW, POLICY) == 900
    assert wait_seconds(locked, NOW + timedelta(minutes=14, seconds=59), POLICY) == 1
    assert wait_seconds(locked, NOW + timedelta(minutes=15), POLICY) == 0


def test_a_failure_after_the_lock_ran_out_starts_counting_again():
    locked = Count(10, NOW, NOW + timedelta(minutes=15))
    again = after_failure(locked, NOW + timedelta(minutes=16), POLICY)
    assert again == Count(1, NOW + timedelta(minutes=16), None)


def test_stale_failures_are_forgotten():
    assert after_failure(Count(8, NOW, None), NOW + timedelta(minutes=15), POLICY).failures == 1
    assert after_failure(Count(8, NOW, None), NOW + timedelta(minutes=14), POLICY).failures == 9


def test_policy_is_configurable():
    strict = ThrottlePolicy(delay_after=1, lock_after=3, lock_minutes=60)
    count = Count(0, None, None)
    for _ in range(3):
        count = after_failure(count, NOW, strict)
    assert count.locked_until == NOW + timedelta(hours=1)
