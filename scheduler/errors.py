"""Errors the product raises on purpose, and the one place they become HTTP answers.

Every answer has the shape ``{"error": {"code", "message", "field"?, "conflicts"?}}``.
Services and domain code raise these; routes never build error responses by hand.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app, jsonify, request
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


class AppError(Exception):
    status = 400
    code = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        code: str | None = None,
        conflicts: list[dict[str, Any]] | None = None,
        details: dict[str, Any] | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.field = field
        self.conflicts = conflicts
        self.details = details
        if code:
            self.code = code

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field is not None:
            body["field"] = self.field
        if self.conflicts is not None:
            body["conflicts"] = self.conflicts
        if self.details is not None:
            body.update(self.details)
        return {"error": body}


class ValidationError(AppError):
    """The request is malformed: a missing field, a wrong type, an unparseable value."""

    status = 400
    code = "invalid"


class UnprocessableError(AppError):
    """Well-formed, but breaks a rule (a local time that does not exist, a plan that cannot be met)."""

    status = 422
    code = "unprocessable"


class Unauthorized(AppError):
    status = 401
    code = "unauthorized"


class Forbidden(AppError):
    status = 403
    code = "forbidden"


class NotFound(AppError):
    status = 404
    code = "not_found"


class Conflict(AppError):
    """A double booking, a duplicate key, a stale write."""

    status = 409
    code = "conflict"


class TooManyAttempts(AppError):
    """Sign-in throttled or locked: answered 429 with ``Retry-After``."""

    status = 429
    code = "too_many_attempts"

    def __init__(self, message: str, *, retry_after: int):
        super().__init__(message, details={"retry_after": retry_after})
        self.retry_after = retry_after


# SQLSTATEs that mean "someone else got there first": exclusion violation, unique violation,
# deadlock between two conflicting inserters, serialization failure.
CONFLICT_SQLSTATES = {
    "23P01": "double_booked",
    "23505": "duplicate",
    "40P01": "concurrent_write",
    "40001": "concurrent_write",
}


def sqlstate(exc: DBAPIError) -> str | None:
    orig = getattr(exc, "orig", None)
    return getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)


def unavailable_error(exc: Exception) -> AppError | None:
    """An unavailable database as the product's 503, or None when ``exc`` is something else."""
    from flask import current_app

    from scheduler import dbfaults

    if dbfaults.is_unavailable(exc):
        return dbfaults.unavailable(exc, int(current_app.config["DATABASE_RETRY_AFTER"]))
    return None


def as_app_error(exc: Exception) -> AppError:
    """Any exception as the product's error (503 for an unavailable database, a 500 for the
    unexpected, logged)."""
    if not isinstance(exc, AppError) and (mapped := unavailable_error(exc)) is not None:
        exc = mapped
    if isinstance(exc, AppError):
        err = exc
    elif isinstance(exc, DBAPIError) and (code := CONFLICT_SQLSTATES.get(sqlstate(exc) or "")) is not None:
        err = Conflict("The change clashes with another change made at the same time; reload and retry.", code=code)
    elif isinstance(exc, IntegrityError):
        err = Conflict("The change breaks a database rule: " + str(exc.orig).splitlines()[0], code="integrity")
    else:
        log.exception("unhandled error on %s %s", request.method, request.path)
        err = AppError("Something went wrong on our side; nothing was saved.", code="internal")
        err.status = 500
    return err


def json_answer(err: AppError):
    """The API's rendering of an error: ``{"error": {...}}`` with its status."""
    response = jsonify(err.to_dict())
    response.status_code = err.status
    return response


def _render_for_path(err: AppError):
    if request.path.startswith("/fhir/") or request.path == "/fhir":
        from scheduler.fhir import operation_outcome

        return operation_outcome(err)
    return json_answer(err)


def answer(exc: Exception, render: Callable[[AppError], Any] | None = None):
    """The one error mapping: roll the request back, map ``exc`` to the product's error
    (:func:`as_app_error`), render it (the API's JSON, FHIR's OperationOutcome, a page) and add
    ``Retry-After`` when the error has one."""
    from scheduler.db import rollback

    rollback()
    err = as_app_error(exc)
    response = current_app.make_response((render or _render_for_path)(err))
    if retry_after := getattr(err, "retry_after", None):
        response.headers["Retry-After"] = str(retry_after)
    return response


def error_response_for(exc: Exception):
    """The answer for ``exc`` by the request's path (API JSON, or OperationOutcome under /fhir)."""
    return answer(exc)


def handle_errors(target, render: Callable[[AppError], Any]) -> None:
    """Register :func:`answer` with ``render`` for the product's and the database's errors on an app
    or a blueprint (each surface renders; the mapping is this module's)."""

    def handler(exc: Exception):
        return answer(exc, render)

    for kind in (AppError, SQLAlchemyError):
        target.register_error_handler(kind, handler)


def init_app(app: Flask) -> None:
    handle_errors(app, _render_for_path)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        if request.path.startswith("/fhir/"):
            from scheduler.fhir import http_error

            return http_error(exc)
        if not request.path.startswith("/api/"):
            return exc
        body = {
            "error": {"code": (exc.name or "error").lower().replace(" ", "_"), "message": exc.description or exc.name}
        }
        response = jsonify(body)
        response.status_code = exc.code or 500
        allow = exc.get_response().headers.get("Allow")  # a 405 names the methods allowed
        if allow:
            response.headers["Allow"] = allow
        return response
