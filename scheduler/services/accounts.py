"""Users and their API tokens: create, issue, revoke — each audited, nothing deleted."""

from __future__ import annotations

from sqlalchemy import select

from scheduler.auth import hash_password, issue_token, revoke_token
from scheduler.db import db_session
from scheduler.errors import Conflict
from scheduler.models import ApiToken, User
from scheduler.services import audit


def create_user(
    actor_id: int | None,
    *,
    email: str,
    role: str,
    password: str | None = None,
    staff_member_id: int | None = None,
    clinic_ids: list[int] | None = None,
) -> User:
    email = email.lower()
    if db_session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict(f"A user with email {email} already exists.", field="email", code="duplicate")
    user = User(
        email=email,
        role=role,
        staff_member_id=staff_member_id,
        password_hash=hash_password(password) if password else None,
    )
    user.limit_to_clinics(clinic_ids)
    db_session.add(user)
    db_session.flush()
    audit.record(actor_id, "user.create", user, after={**audit.snapshot(user), "clinic_ids": user.clinic_ids})
    return user


def set_clinics(actor_id: int | None, user: User, clinic_ids: list[int]) -> User:
    """Limit ``user`` to ``clinic_ids`` (none: every clinic), audited with before and after."""
    before = {**audit.snapshot(user), "clinic_ids": user.clinic_ids}
    user.limit_to_clinics(clinic_ids)
    db_session.flush()
    audit.record(
        actor_id, "user.clinics", user, before=before, after={**audit.snapshot(user), "clinic_ids": user.clinic_ids}
    )
    return user


def create_token(actor_id: int | None, user: User, *, label: str = "") -> tuple[ApiToken, str]:
    """A new token for ``user``: the row and the clear token (shown once, stored hashed)."""
    token = issue_token(user, label=label)
    row = db_session.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc()).limit(1)
    ).one()
    audit.record(actor_id, "api_token.issue", row)
    return row, token


def revoke(actor_id: int | None, row: ApiToken, *, reason: str | None = None) -> ApiToken:
    before = audit.snapshot(row)
    if not revoke_token(row):
        raise Conflict(f"Token {row.id} is already revoked.", code="already_revoked")
    audit.record(actor_id, "api_token.revoke", row, before=before, reason=reason)
    return row


def end_page_sessions(actor_id: int | None, user: User, *, action: str, reason: str | None = None) -> User:
    """End every page session of ``user`` (each cookie carries the epoch it was made in)."""
    before = audit.snapshot(user)
    user.session_epoch += 1
    audit.record(actor_id, action, user, before=before, reason=reason)
    return user


def change_password(actor_id: int | None, user: User, password: str) -> User:
    """A new password (argon2) ends every page session of the user."""
    user.password_hash = hash_password(password)
    return end_page_sessions(actor_id, user, action="user.password_change")
