"""The public page behind a message's link: no sign-in, no cookie; the signed token in the URL is
the only key. It shows the patient's first name and the session's time, place and instructions, and
offers what the link may do once: confirm (with who drives them home), cancel with a reason, ask to
reschedule, or accept a waitlist offer."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from scheduler.db import rollback
from scheduler.errors import AppError, handle_errors
from scheduler.services import patient_actions, patient_links

bp = Blueprint("public", __name__, url_prefix="/p")


@bp.after_request
def _private(response):
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"  # the token must not leak to other sites
    response.headers["X-Robots-Tag"] = "noindex"
    return response


def _problem(err: AppError):
    return render_template("public/problem.html", message=err.message, status=err.status), err.status


handle_errors(bp, _problem)  # the mapping is scheduler.errors.answer; the patient sees this page


@bp.get("/<token>")
def show(token: str):
    link = patient_links.resolve(token)
    return render_template("public/link.html", token=token, view=patient_actions.view(link), error=None, form={})


@bp.post("/<token>")
def act(token: str):
    link = patient_links.resolve(token)
    form = {k: request.form.get(k, "")[:500] for k in ("action", "reason", "note", "ride_home_by")}
    try:
        patient_actions.act(link, form["action"], form)
    except AppError as exc:
        if exc.status not in (400, 422):
            raise
        rollback()
        link = patient_links.resolve(token)
        return render_template(
            "public/link.html", token=token, view=patient_actions.view(link), error=exc, form=form
        ), exc.status
    return render_template("public/link.html", token=token, view=patient_actions.view(link), error=None, form={})
