"""FHIR R4 (4.0.1) server surface at ``/fhir``: reads and searches of the scheduling resources and
booking after the IHE ITI Scheduling profile ($find, $hold, $book, $cancel).

Bearer tokens and permissions as for the API. Every answer is ``application/fhir+json``; errors are
OperationOutcome resources; no answer carries an empty array, object, string or a null (``prune``).
``_format`` other than JSON, or an Accept header that rules JSON out, is answered 406.
"""

from __future__ import annotations

from flask import Blueprint, Flask, Response, json, request
from werkzeug.exceptions import HTTPException

from scheduler.auth import authenticate_bearer
from scheduler.errors import AppError, handle_errors

PREFIX = "/fhir"
bp = Blueprint("fhir", __name__, url_prefix=PREFIX)

FHIR_VERSION = "4.0.1"
FHIR_JSON = "application/fhir+json"
JSON_FORMATS = {"json", FHIR_JSON, "application/json", "application/json+fhir"}
ISSUE_CODES = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    406: "not-supported",
    409: "conflict",
    410: "deleted",
    412: "conflict",
    415: "not-supported",
    413: "too-costly",
    422: "processing",
    503: "transient",
}
PUBLIC_ENDPOINTS = {"fhir.metadata"}


class NotAcceptable(AppError):
    status = 406
    code = "not_acceptable"


def prune(value):
    """FHIR's JSON rules: no nulls, no empty strings, arrays or objects (recursively)."""
    if isinstance(value, dict):
        out = {k: prune(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v not in (None, "", [], {})}
    if isinstance(value, list):
        items = [prune(v) for v in value]
        return [v for v in items if v not in (None, "", [], {})]
    return value


def fhir_response(resource: dict, status: int = 200, headers: dict | None = None) -> Response:
    response = Response(json.dumps(prune(resource)), status=status, mimetype=FHIR_JSON, headers=headers)
    return response


def outcome(status: int, message: str, *, field: str | None = None, code: str | None = None) -> Response:
    issue: dict[str, str | list[str]] = {
        "severity": "error",
        "code": code or ISSUE_CODES.get(status, "exception"),
        "diagnostics": message,
    }
    if field:
        issue["expression"] = [field]
    return fhir_response({"resourceType": "OperationOutcome", "issue": [issue]}, status)


def operation_outcome(err: AppError) -> Response:
    response = outcome(err.status, err.message, field=err.field)
    if err.details and "allow" in err.details:
        response.headers["Allow"] = err.details["allow"]
    return response


def _accepts_json() -> bool:
    accept = request.accept_mimetypes
    if not request.headers.get("Accept"):
        return True
    return any(accept[m] for m in (FHIR_JSON, "application/json", "application/json+fhir"))


def check_format() -> None:
    wanted = request.args.get("_format")
    if wanted is not None:
        if wanted.split(";")[0].strip().replace(" ", "+") not in JSON_FORMATS:  # an unescaped + reads as a space
            raise NotAcceptable(
                f"_format {wanted!r} is not supported: this server speaks JSON only ({FHIR_JSON}).", field="_format"
            )
    elif not _accepts_json():
        raise NotAcceptable(
            f"Accept {request.headers.get('Accept')!r} rules out JSON: this server answers {FHIR_JSON} only.",
            field="Accept",
        )


@bp.before_request
def _before():
    check_format()
    if request.endpoint not in PUBLIC_ENDPOINTS:
        authenticate_bearer()


@bp.after_request
def _media_type(response: Response) -> Response:
    """Every answer is FHIR JSON (also an Idempotency-Key replay, stored as plain JSON)."""
    if response.mimetype in ("application/json", FHIR_JSON):
        response.mimetype = FHIR_JSON
    return response


# The product's and the database's errors as OperationOutcome (the mapping is scheduler.errors.answer).
handle_errors(bp, operation_outcome)


def http_error(exc: HTTPException) -> Response:
    """Routing errors under /fhir (unknown resource type or id, wrong method) as OperationOutcome."""
    response = outcome(exc.code or 500, exc.description or exc.name)
    allow = exc.get_response().headers.get("Allow")
    if allow:
        response.headers["Allow"] = allow
    return response


def base_url() -> str:
    return request.host_url.rstrip("/") + PREFIX


def init_app(app: Flask) -> None:
    from scheduler.fhir import (  # noqa: F401
        appointments,
        capability,
        care_plans,
        directory,
        operations,
        schedules,
        slots,
    )

    app.register_blueprint(bp)
