"""Sign-in: password check with throttling and lockout per account and per client address.

The counts live in ``sign_in_throttle`` rows, read and written in the request's transaction (rows
locked FOR UPDATE on PostgreSQL; SQLite serialises every write transaction), so all workers and all
app instances on one database share them. An unknown email is checked against a dummy argon2 hash,
so it costs as long as a wrong password and timing tells nobody which emails have accounts.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite

from scheduler.auth import hash_password, verify_password
from scheduler.db import db_session
from scheduler.domain.sign_in import Count, ThrottlePolicy, after_failure, wait_seconds
from scheduler.errors import TooManyAttempts
from scheduler.models import SignInThrottle, User, utcnow
from scheduler.services import audit


@cache
def dummy_hash() -> str:
    """An argon2 hash of a random password, made with the same parameters as real ones."""
    import secrets

    return hash_password(secrets.token_urlsafe(24))


def _subjects(email: str, address: str | None) -> list[tuple[str, str]]:
    subjects = [("account", email.strip().lower()[:200])]
    if address:
        subjects.append(("address", address[:200]))
    return subjects


def _count(row: SignInThrottle) -> Count:
    return Count(failures=row.failures, last_failure_at=row.last_failure_at, locked_until=row.locked_until)


def _rows(subjects: list[tuple[str, str]], *, for_update: bool) -> list[SignInThrottle]:
    found = []
    for scope, subject in subjects:
        query = select(SignInThrottle).where(SignInThrottle.scope == scope, SignInThrottle.subject == subject)
        row = db_session.scalar(query.with_for_update() if for_update else query)
        if row is not None:
            found.append(row)
    return found


def refuse_if_throttled(email: str, address: str | None, policy: ThrottlePolicy, now: datetime) -> None:
    """429 ``too_many_attempts`` with the wait when the account or the address must wait."""
    wait = max(
        (wait_seconds(_count(row), now, policy) for row in _rows(_subjects(email, address), for_update=False)),
        default=0,
    )
    if wait > 0:
        minutes = -(-wait // 60)
        when = f"{wait} seconds" if wait < 60 else f"{minutes} minute{'s' if minutes > 1 else ''}"
        raise TooManyAttempts(f"Too many failed sign-ins: try again in {when}.", retry_after=wait)


def _insert_missing(scope: str, subject: str) -> None:
    dialect = postgresql if db_session.get_bind().dialect.name == "postgresql" else sqlite
    db_session.execute(
        dialect.insert(SignInThrottle)
        .values(scope=scope, subject=subject, failures=0)
        .on_conflict_do_nothing(index_elements=["scope", "subject"])
    )


def record_failure(email: str, address: str | None, policy: ThrottlePolicy, now: datetime) -> None:
    subjects = _subjects(email, address)
    for scope, subject in subjects:
        _insert_missing(scope, subject)
    for row in _rows(subjects, for_update=True):
        counted = after_failure(_count(row), now, policy)
        was_locked = row.locked_until is not None and row.locked_until > now
        row.failures, row.last_failure_at, row.locked_until = (
            counted.failures,
            counted.last_failure_at,
            counted.locked_until,
        )
        if counted.locked_until is not None and not was_locked:
            audit.record(
                None,
                "sign_in.lock",
                row,
                actor="system",
                reason=f"{counted.failures} failed sign-ins; locked for {policy.lock_minutes} minutes",
            )
    db_session.flush()


def _forget_account(email: str) -> None:
    for row in _rows(_subjects(email, None), for_update=True):
        row.failures, row.last_failure_at, row.locked_until = 0, None, None


def authenticate(email: str, password: str, address: str | None, policy: ThrottlePolicy) -> User | None:
    """The active user with this email and password, or None (the failure counted); raises
    TooManyAttempts (nothing checked) while the account or the address must wait."""
    now = utcnow()
    refuse_if_throttled(email, address, policy, now)
    user = db_session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    stored = user.password_hash if user is not None and user.active else None
    # the same argon2 work whether or not the email has an account
    matched = verify_password(stored if stored is not None else dummy_hash(), password) and stored is not None
    if not matched:
        record_failure(email, address, policy, utcnow())  # the wait runs from the answer, not the question
        return None
    _forget_account(email)
    return user
