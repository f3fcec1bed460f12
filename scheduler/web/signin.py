"""Sign in and out with email and password (session cookie); the home page sends each role on."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for

from scheduler.auth import can
from scheduler.db import keep_writes_on_refusal
from scheduler.domain.sign_in import ThrottlePolicy
from scheduler.errors import TooManyAttempts
from scheduler.models import User
from scheduler.services import sign_in as sign_in_service
from scheduler.web import security

bp = Blueprint("signin", __name__, template_folder="templates", static_folder="static", static_url_path="/static/web")
security.protect(bp)


def _safe_next(target: str | None) -> str | None:
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def throttle_policy() -> ThrottlePolicy:
    c = current_app.config
    return ThrottlePolicy(
        delay_after=c["SIGN_IN_DELAY_AFTER"], lock_after=c["SIGN_IN_LOCK_AFTER"], lock_minutes=c["SIGN_IN_LOCK_MINUTES"]
    )


def home_for(user: User) -> str:
    if can("book", user):
        return url_for("frontdesk.day_board")
    if can("read_clinical", user):
        return url_for("clinician.my_day")
    return url_for("frontdesk.patients")


@bp.get("/")
def home():
    if g.user is None:
        return redirect(url_for("signin.sign_in"))
    return redirect(home_for(g.user))


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    errors: dict[str, str] = {}
    email = ""
    if request.method == "POST":
        email = (request.form.get("email") or "").strip()
        password = request.form.get("password") or ""
        if not email:
            errors["email"] = "Enter your email address."
        if not password:
            errors["password"] = "Enter your password."
        if not errors:
            keep_writes_on_refusal()  # a failure is counted even though the answer is 401
            try:
                user = sign_in_service.authenticate(email, password, request.remote_addr, throttle_policy())
            except TooManyAttempts as exc:
                return (
                    render_template("auth/sign_in.html", errors={}, email=email, refusal=exc),
                    429,
                    {"Retry-After": str(exc.retry_after)},
                )
            if user is not None:
                security.sign_in(user)
                flash(f"Signed in as {user.email}.", "success")
                return redirect(_safe_next(request.args.get("next")) or home_for(user))
            errors["password"] = "That email and password do not match an active account."
        return render_template("auth/sign_in.html", errors=errors, email=email), 401 if errors else 200
    if g.user is not None:
        return redirect(home_for(g.user))
    return render_template("auth/sign_in.html", errors=errors, email=email)


@bp.post("/sign-out")
def sign_out():
    security.sign_out()
    flash("You are signed out.", "success")
    return redirect(url_for("signin.sign_in"))
