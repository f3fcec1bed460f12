"""Who is asking: bearer tokens for the API, and what each role may do.

Tokens are 256 random bits shown once; only their SHA-256 is stored, so a database leak does not
leak usable tokens and a lookup stays one indexed query. Passwords (for the pages) use argon2.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import Flask, g, request
from sqlalchemy import bindparam, select

from scheduler.db import db_session, read
from scheduler.errors import Forbidden, Unauthorized
from scheduler.models import ApiToken, User, UserClinic
from scheduler.services import scope

# What each role may do: the one role table of the product. Routes ask for a permission, never
# for a role (``@require("book")``); the OpenAPI document and the role tests read it from here.
#   manage_clinic   clinics, closures, rooms, staff, time off, protocols
#   manage_users    users and their API tokens
#   read_audit      the audit trail
#   read_messages   the outbox of messages to patients (addresses, delivery state)
#   read_schedule   clinics, rooms, staff, patients' demographics, sessions, day board, flags, feeds
#   book            book, reschedule, cancel, check in, complete, no-show; courses
#   manage_patients patients' demographics
#   read_clinical   assessments, clinical notes (never the front desk)
#   write_clinical  record assessments and notes, place and lift dosing holds
#   import_data     import patients and sessions from CSV, restore an export
#   export_data     export everything (clinical content only to roles with read_clinical)
#   read_reports    the Reports page and /reports (aggregates, no patient is named)
#   change_password change one's own password (manage_users: anyone's)
# The admin keeps front-desk rights (small clinics run with an admin at the desk) but, like the
# front desk, never reads assessments or clinical notes.
PERMISSIONS: dict[str, frozenset[str]] = {
    "admin": frozenset(
        {
            "manage_clinic",
            "manage_users",
            "read_audit",
            "read_schedule",
            "book",
            "manage_patients",
            "import_data",
            "export_data",
            "read_reports",
            "read_messages",
            "change_password",
        }
    ),
    "front_desk": frozenset({"read_schedule", "book", "manage_patients", "change_password"}),
    "clinician": frozenset({"read_schedule", "read_clinical", "write_clinical", "read_reports", "change_password"}),
}

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(user: User, label: str = "") -> str:
    """Create a token for ``user`` (added to the session, not committed) and return it in clear."""
    token = secrets.token_urlsafe(32)
    db_session.add(ApiToken(user_id=user.id, token_hash=token_digest(token), label=label))
    db_session.flush()
    return token


def revoke_token(token_row: ApiToken) -> bool:
    """Mark a token revoked (kept, never deleted). False when it already was."""
    if token_row.revoked_at is not None:
        return False
    from scheduler.models import utcnow

    token_row.revoked_at = utcnow()
    db_session.flush()
    return True


def roles_with(permission: str) -> list[str]:
    return sorted(role for role, perms in PERMISSIONS.items() if permission in perms)


@dataclass(frozen=True)
class Principal:
    """Who a bearer token speaks for, as plain values: what the API asks of the signed-in user (its
    id, role and clinics). The pages sign in with the ORM ``User`` instead (``web.security``)."""

    id: int
    role: str
    active: bool
    clinic_ids: tuple[int, ...]


# One statement, built once: the token's state, the user and the user's clinics (one row per clinic).
_BY_TOKEN = (
    select(User.id, User.role, User.active, ApiToken.revoked_at, UserClinic.clinic_id)
    .join(ApiToken, ApiToken.user_id == User.id)
    .outerjoin(UserClinic, UserClinic.user_id == User.id)
    .where(ApiToken.token_hash == bindparam("digest"))
    .order_by(UserClinic.clinic_id)
)


# What a token's look-up reads: (user id, role, active, the token's revoked_at, the user's clinic ids).
TokenRow = tuple[int, str, bool, object, tuple[int, ...]]


def principal_of(found: TokenRow | None) -> Principal | None:
    """The active user of an unrevoked token, from what its look-up read (None: no such token)."""
    if found is None:
        return None
    user_id, role, active, revoked_at, clinic_ids = found
    if revoked_at is not None or not active:
        return None
    return Principal(user_id, role, active, clinic_ids)


def token_row(digest: str) -> TokenRow | None:
    """The token's look-up on its own (one statement)."""
    rows = read(_BY_TOKEN, {"digest": digest}).all()
    if not rows:
        return None
    user_id, role, active, revoked_at, _ = rows[0]
    return user_id, role, active, revoked_at, tuple(r.clinic_id for r in rows if r.clinic_id is not None)


def user_for_token(token: str, lookup: Callable[[str], TokenRow | None] = token_row) -> Principal | None:
    """The active user of an unrevoked token (read on every request: a revocation or a deactivation
    counts at once). ``lookup``: reads the token's row by its digest, maybe with more in the same
    statement (a booking or a course plan reads its patient with it: ``api.with_token``)."""
    return principal_of(lookup(token_digest(token)))


def current_user() -> User | Principal | None:
    return g.get("user")


def authenticate_bearer(lookup: Callable[[str], TokenRow | None] = token_row) -> Principal:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Send 'Authorization: Bearer <token>' (tokens come from 'scheduler user add').")
    user = user_for_token(token.strip(), lookup)
    if user is None:
        raise Unauthorized("The API token is unknown or revoked.")
    g.user = user
    scope.limit_to(user.clinic_ids)
    return user


def can(permission: str, user: User | Principal | None = None) -> bool:
    user = user or current_user()
    return user is not None and permission in PERMISSIONS.get(user.role, frozenset())


def require(permission: str) -> Callable:
    """Route decorator: the signed-in user's role must grant ``permission``."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            user = current_user()
            if user is None:
                raise Unauthorized("Sign in first.")
            if not can(permission, user):
                raise Forbidden(f"The {user.role} role may not do this ({permission}).")
            return view(*args, **kwargs)

        wrapper.permission = permission  # type: ignore[attr-defined]  # read by the OpenAPI document and the role tests
        return wrapper

    return decorator


def init_app(app: Flask) -> None:
    app.extensions["scheduler.permissions"] = PERMISSIONS

    @app.before_request
    def _reset_clinic_scope():  # each request narrows it again once it knows the user
        scope.limit_to(None)

    @app.teardown_request
    def _drop_clinic_scope(_exc=None):  # and none outlives it (a test client's caller shares the context)
        scope.limit_to(None)
