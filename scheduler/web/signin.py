"""Sign in and out with email and password (session cookie); the home page sends each role on."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from sqlalchemy import func, select

from scheduler.auth import can, verify_password
from scheduler.db import db_session
from scheduler.models import User
from scheduler.web import security

bp = Blueprint("signin", __name__, template_folder="templates", static_folder="static",
               static_url_path="/static/web")
security.protect(bp)


def _safe_next(target: str | None) -> str | None:
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


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
            user = db_session.scalar(select(User).where(func.lower(User.email) == email.lower()))
            # verify_password runs for unknown emails too (against nothing) so timing reveals little
            if user is not None and user.active and verify_password(user.password_hash, password):
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
