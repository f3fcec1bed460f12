"""Users and API tokens (admin): passwords hashed with argon2, tokens stored hashed, revocable."""

from __future__ import annotations

import re

from flask import g, request
from sqlalchemy import select

from scheduler.api import bp, serialize
from scheduler.api import parsing as p
from scheduler.auth import can, require, verify_password
from scheduler.db import db_session
from scheduler.domain.sign_in import password_problem
from scheduler.domain.vocabulary import USER_ROLES
from scheduler.errors import Forbidden, NotFound, ValidationError
from scheduler.models import ApiToken, StaffMember, User
from scheduler.services import accounts, scope

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def user_json(u: User) -> dict:
    return {
        "id": u.id,
        "email": u.email,
        "role": u.role,
        "staff_member_id": u.staff_member_id,
        "clinic_ids": u.clinic_ids,
        "active": u.active,
        "has_password": u.password_hash is not None,
        "created_at": serialize.instant(u.created_at),
    }


def token_json(t: ApiToken) -> dict:
    return {
        "id": t.id,
        "user_id": t.user_id,
        "label": t.label,
        "created_at": serialize.instant(t.created_at),
        "revoked_at": serialize.instant(t.revoked_at),
    }


def optional_body() -> dict:
    """The JSON object of a request whose body may be left out entirely."""
    if not request.get_data():
        return {}
    return p.json_body()


def check_password(password: object, field: str) -> str:
    problem = password_problem(password)
    if problem:
        raise ValidationError(f"{field} {problem}.", field=field)
    assert isinstance(password, str)
    return password


@bp.post("/users")
@require("manage_users")
def create_user():
    body = p.json_body()
    p.reject_unknown(body, {"email", "role", "password", "staff_member_id", "clinic_ids"})
    email = p.string(body, "email")
    if not EMAIL.match(email):
        raise ValidationError("email must be an email address.", field="email")
    role = p.choice(body, "role", USER_ROLES)
    password = p.get(body, "password", required=False)
    if password is not None:
        check_password(password, "password")
    staff_id = p.integer(body, "staff_member_id", required=False, minimum=1)
    if staff_id is not None:
        p.get_or_404(StaffMember, staff_id, "staff member")
    clinic_ids = scope.grantable(_clinic_ids(body))
    user = accounts.create_user(
        g.user.id, email=email, role=role, password=password, staff_member_id=staff_id, clinic_ids=clinic_ids
    )
    return user_json(user), 201


def _clinic_ids(body: dict) -> list[int]:
    value = p.get(body, "clinic_ids", required=False, default=[])
    if not isinstance(value, list) or len(value) > 1000:
        raise ValidationError("clinic_ids must be a list of clinic ids ([] for every clinic).", field="clinic_ids")
    return [p.integer({"clinic_ids": v}, "clinic_ids", minimum=1) for v in value]


def _user(user_id: int) -> User:
    user = p.get_or_404(User, user_id, "user")
    if not scope.may_manage_user(user):
        raise NotFound(f"No user with id {user_id}.")
    return user


@bp.patch("/users/<int:user_id>")
@require("manage_users")
def update_user(user_id: int):
    """Change the clinics a user is limited to (``[]``: every clinic, network admins only)."""
    user = _user(user_id)
    body = p.json_body()
    p.reject_unknown(body, {"clinic_ids"})
    if "clinic_ids" not in body:
        raise ValidationError("clinic_ids is required.", field="clinic_ids")
    accounts.set_clinics(g.user.id, user, scope.grantable(_clinic_ids(body)))
    return user_json(user)


@bp.get("/users")
@require("manage_users")
def list_users():
    users = [u for u in db_session.scalars(select(User).order_by(User.email)) if scope.may_manage_user(u)]
    return {"users": [user_json(u) for u in users]}


@bp.post("/users/<int:user_id>/tokens")
@require("manage_users")
def create_token(user_id: int):
    user = _user(user_id)
    body = optional_body()  # the label is optional, so is the body
    p.reject_unknown(body, {"label"})
    row, token = accounts.create_token(
        g.user.id, user, label=p.string(body, "label", required=False, max_length=100) or ""
    )
    return {**token_json(row), "token": token}, 201


@bp.get("/users/<int:user_id>/tokens")
@require("manage_users")
def list_tokens(user_id: int):
    _user(user_id)
    rows = db_session.scalars(select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id))
    return {"tokens": [token_json(t) for t in rows]}


@bp.post("/tokens/<int:token_id>/revoke")
@require("manage_users")
def revoke_token(token_id: int):
    row = p.get_or_404(ApiToken, token_id, "API token")
    if not scope.may_manage_user(db_session.get(User, row.user_id)):
        raise NotFound(f"No API token with id {token_id}.")
    body = optional_body()
    p.reject_unknown(body, {"reason"})
    accounts.revoke(g.user.id, row, reason=p.string(body, "reason", required=False, max_length=500))
    return token_json(row)


@bp.post("/users/<int:user_id>/password")
@require("change_password")
def change_password(user_id: int):
    """The user (who confirms the current password) or an admin sets a new one; every page session
    of the user ends."""
    user = p.get_or_404(User, user_id, "user")
    own = user.id == g.user.id
    if not own and not scope.may_manage_user(user):
        raise NotFound(f"No user with id {user_id}.")
    if not own and not can("manage_users"):
        raise Forbidden("Only the user or an admin may change a password (manage_users).")
    body = p.json_body()
    p.reject_unknown(body, {"password", "current_password"})
    password = check_password(p.get(body, "password"), "password")
    if own and user.password_hash is not None:
        current = p.get(body, "current_password", required=False)
        if not isinstance(current, str) or not verify_password(user.password_hash, current):
            raise ValidationError("current_password does not match your password.", field="current_password")
    accounts.change_password(g.user.id, user, password)
    return user_json(user)
