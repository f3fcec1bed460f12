"""The signed-in user's own account page: change the password (which ends every session of the
user, in every browser, this one included) or sign out everywhere."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for

from scheduler.auth import verify_password
from scheduler.domain.sign_in import password_problem
from scheduler.services import accounts
from scheduler.web import security
from scheduler.web.signin import bp


@bp.route("/account", methods=["GET", "POST"])
@security.page("change_password")
def account():
    if request.method == "GET":
        return render_template("auth/account.html", errors={})
    if request.form.get("action") == "sign_out_everywhere":
        security.sign_out()  # ends every cookie of the user (the session epoch moves on)
        flash("You are signed out in every browser.", "success")
        return redirect(url_for("signin.sign_in"))
    current = request.form.get("current_password") or ""
    new = request.form.get("new_password") or ""
    errors: dict[str, str] = {}
    if g.user.password_hash is not None and not verify_password(g.user.password_hash, current):
        errors["current_password"] = "That is not your current password."
    problem = password_problem(new)
    if problem:
        errors["new_password"] = f"The new password {problem}."
    elif new != (request.form.get("repeat_password") or ""):
        errors["repeat_password"] = "The two new passwords differ."
    if errors:
        return render_template("auth/account.html", errors=errors), 400
    accounts.change_password(g.user.id, g.user, new)  # the epoch moves on: every session ends
    security.end_this_session()
    flash("Your password is changed and you are signed out everywhere: sign in with the new password.", "success")
    return redirect(url_for("signin.sign_in"))
