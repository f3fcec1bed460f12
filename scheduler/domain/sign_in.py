"""Sign-in throttling as plain rules: how long an account or an address must wait, and what a
failure does to its count. Applied per account and per client address by services/sign_in.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from math import ceil


@dataclass(frozen=True)
class ThrottlePolicy:
    delay_after: int = 5  # failures before each further attempt must wait
    lock_after: int = 10  # failures that lock the account or address
    lock_minutes: int = 15  # how long a lock lasts; also how long a failure is remembered

    @property
    def lock(self) -> timedelta:
        return timedelta(minutes=self.lock_minutes)


@dataclass(frozen=True)
class Count:
    failures: int
    last_failure_at: datetime | None
    locked_until: datetime | None


def delay_for(failures: int, policy: ThrottlePolicy) -> timedelta:
    """The wait after ``failures`` failures: none up to ``delay_after``, then 1, 2, 4, 8… seconds."""
    if failures < policy.delay_after:
        return timedelta(0)
    return min(timedelta(seconds=2 ** (failures - policy.delay_after)), policy.lock)


def is_stale(count: Count, now: datetime, policy: ThrottlePolicy) -> bool:
    """Forgotten: the last failure is older than the lock period, or a lock has run out."""
    if count.locked_until is not None:
        return count.locked_until <= now
    return count.last_failure_at is None or now - count.last_failure_at >= policy.lock


def wait_seconds(count: Count, now: datetime, policy: ThrottlePolicy) -> int:
    """Whole seconds before the next attempt may be checked (0: now)."""
    if is_stale(count, now, policy):
        return 0
    if count.locked_until is not None:
        until = count.locked_until
    elif count.last_failure_at is None:  # never failed (is_stale said so already)
        return 0
    else:
        until = count.last_failure_at + delay_for(count.failures, policy)
    return max(0, ceil((until - now).total_seconds()))


def after_failure(count: Count, now: datetime, policy: ThrottlePolicy) -> Count:
    """The count once one more failure is recorded; the one reaching ``lock_after`` locks."""
    failures = 1 if is_stale(count, now, policy) else count.failures + 1
    locked_until = now + policy.lock if failures >= policy.lock_after else None
    return Count(failures=failures, last_failure_at=now, locked_until=locked_until)


PASSWORD_LENGTH = (12, 200)  # characters: a passphrase, not a PIN


def password_problem(password: object) -> str | None:
    """Why ``password`` cannot be a new password (None: it can)."""
    low, high = PASSWORD_LENGTH
    if not isinstance(password, str):
        return "must be a string"
    if not low <= len(password) <= high:
        return f"must be {low} to {high} characters"
    return None
