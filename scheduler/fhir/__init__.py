"""FHIR R4 read-only export at ``/fhir``: Appointment (by patient MRN) and Slot (free time).

Bearer tokens as for the API (``read_schedule``). Errors are FHIR OperationOutcome resources.
"""
from __future__ import annotations

from flask import Blueprint, Flask, jsonify, request

from scheduler.auth import authenticate_bearer
from scheduler.errors import AppError

bp = Blueprint("fhir", __name__, url_prefix="/fhir")

FHIR_JSON = "application/fhir+json"
ISSUE_CODES = {400: "invalid", 401: "login", 403: "forbidden", 404: "not-found", 409: "conflict",
               422: "processing"}


def fhir_response(resource: dict, status: int = 200):
    response = jsonify(resource)
    response.status_code = status
    response.mimetype = FHIR_JSON
    return response


def operation_outcome(err: AppError):
    issue = {"severity": "error", "code": ISSUE_CODES.get(err.status, "exception"), "diagnostics": err.message}
    if err.field:
        issue["expression"] = [err.field]
    return fhir_response({"resourceType": "OperationOutcome", "issue": [issue]}, err.status)


@bp.before_request
def _authenticate():
    authenticate_bearer()


@bp.errorhandler(AppError)
def _app_error(err: AppError):
    from scheduler.db import db_session

    db_session.rollback()
    return operation_outcome(err)


def base_url() -> str:
    return request.host_url.rstrip("/") + bp.url_prefix


def init_app(app: Flask) -> None:
    from scheduler.fhir import appointments, slots  # noqa: F401  (register routes)

    app.register_blueprint(bp)
