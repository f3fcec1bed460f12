"""Session sign-in, CSRF tokens and the ``@page(permission)`` guard for the web blueprints."""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Callable
from functools import wraps

from flask import Blueprint, Flask, abort, current_app, flash, g, redirect, render_template, request, session, url_for

from scheduler import limits
from scheduler.auth import can
from scheduler.db import db_session
from scheduler.errors import AppError, handle_errors
from scheduler.models import User
from scheduler.services import scope

CSRF_FIELD = "csrf_token"


def csrf_token() -> str:
    """The session's CSRF token (made on first use); every form posts it back."""
    token = session.get(CSRF_FIELD)
    if not token:
        token = session[CSRF_FIELD] = secrets.token_urlsafe(32)
    return token


def _check_csrf() -> None:
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    sent = request.form.get(CSRF_FIELD) or request.headers.get("X-CSRF-Token") or ""
    expected = session.get(CSRF_FIELD) or ""
    if not expected or not hmac.compare_digest(sent, expected):
        abort(400, description="The form expired or did not come from this site; reload the page and retry.")


def _now() -> int:
    return int(time.time())


def session_problem(user: User | None, now: int) -> str | None:
    """Why the signed cookie no longer signs anyone in (None: it still does)."""
    if user is None or not user.active:
        return "The account is no longer active."
    if session.get("epoch") != user.session_epoch:
        return "You were signed out (signed out elsewhere, or the password was changed)."
    idle = current_app.config["SESSION_IDLE_MINUTES"] * 60
    if now - int(session.get("seen_at", 0)) > idle:
        return f"You were signed out after {current_app.config['SESSION_IDLE_MINUTES']} minutes without activity."
    if now - int(session.get("signed_in_at", 0)) > current_app.config["SESSION_MAX_HOURS"] * 3600:
        return f"You were signed out: sessions last {current_app.config['SESSION_MAX_HOURS']} hours at most."
    return None


def _load_user() -> None:
    """The user of the session cookie, if it is still valid: the user's current session epoch (not
    signed out since, password unchanged), used within the idle timeout and the absolute lifetime."""
    g.user = None  # never trust a value left on g (tests share one app context)
    user_id = session.get("user_id")
    if user_id is None:
        return
    now = _now()
    user = db_session.get(User, user_id)
    problem = session_problem(user, now)
    if problem:
        session.clear()
        flash(problem, "info")
        return
    if now - int(session["seen_at"]) >= SEEN_AT_RESOLUTION:
        session["seen_at"] = now
    g.user = user
    assert user is not None  # session_problem refuses a user that is gone
    scope.limit_to(user.clinic_ids)  # the clinics the pages show (scheduler/services/scope.py)


SEEN_AT_RESOLUTION = 15  # seconds: how often the cookie's last-seen time is refreshed


def sign_in(user: User) -> None:
    session.clear()  # a fresh session (and CSRF token) on every sign-in: no fixation
    now = _now()
    session["user_id"] = user.id
    session["epoch"] = user.session_epoch
    session["signed_in_at"] = session["seen_at"] = now
    session.permanent = False
    csrf_token()


def end_this_session() -> None:
    """Forget this browser's session (the user's epoch has already moved on)."""
    session.clear()


def sign_out() -> None:
    """End this cookie and every other one of the user (all browsers): the epoch moves on."""
    user = g.get("user")
    if user is not None:
        from scheduler.services import accounts

        accounts.end_page_sessions(user.id, user, action="user.sign_out")
    session.clear()


def page(permission: str | None = None) -> Callable:
    """View decorator: signed in (else redirect to sign-in) and, when given, granted ``permission``."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            user = g.get("user")
            if user is None:
                return redirect(url_for("signin.sign_in", next=request.full_path.rstrip("?")))
            if permission and not can(permission, user):
                return render_template(
                    "error.html",
                    status=403,
                    title="Not available to your role",
                    message="Your role does not give access to this page.",
                ), 403
            return view(*args, **kwargs)

        wrapper.permission = permission  # type: ignore[attr-defined]  # read by the role tests
        return wrapper

    return decorator


TITLES = {403: "Not allowed", 404: "Not found", 409: "Conflict", 429: "Please wait", 503: "Please retry shortly"}


def html_error(err: AppError):
    """A page's rendering of an error (the mapping is scheduler.errors.answer)."""
    return render_template(
        "error.html", status=err.status, title=TITLES.get(err.status, "Problem"), message=err.message
    ), err.status


def protect(bp: Blueprint) -> None:
    """Every request to ``bp``: user from the session cookie, CSRF on writes, HTML error pages."""
    bp.before_request(_load_user)
    limits.guard_blueprint(bp)  # size, NUL bytes, lone surrogates: a 400 page naming the field
    bp.before_request(_check_csrf)
    handle_errors(bp, html_error)
    bp.register_error_handler(400, _bad_request)


def _bad_request(exc):
    return render_template(
        "error.html", status=400, title="Please retry", message=getattr(exc, "description", "Bad request")
    ), 400


def init_app(app: Flask) -> None:
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.jinja_env.globals["can"] = lambda permission: can(permission, g.get("user"))
