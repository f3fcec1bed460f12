"""Request limits, checked once for every route (API, FHIR and pages) before any view runs.

- Size: a body over ``MAX_CONTENT_LENGTH`` (default 1 MiB) is refused with 413 before it is read
  (a body without a Content-Length is cut off by Werkzeug's limited stream at the same size).
- JSON: nested deeper than ``MAX_JSON_DEPTH`` (default 32) is a 400 naming the place, never a
  RecursionError.
- Text no database stores and no browser sends on purpose: a NUL byte (PostgreSQL refuses it) or a
  lone surrogate (cannot be encoded as UTF-8) anywhere in a JSON body, a form or the query string is
  a 400 naming the field. FHIR operation bodies are the exception: each is checked against its
  documented schema (scheduler/fhir/parameters.py), whose strings refuse NUL bytes where the server
  reads them; the rest of such a body (extensions, unknown parameters) is ignored, never stored.
- Bounds and readers shared by the API and the pages: integers the database holds, the one set of
  date bounds, dates ``YYYY-MM-DD`` and local times ``HH:MM``.
- API and FHIR filters: a query parameter given with an empty value (``?status=``) is a 400 naming
  it (an empty filter is a client bug, not "no filter"), except free-text searches (``?q=``, see
  ``EMPTY_ALLOWED``). Pages keep accepting empty form values.
"""

from __future__ import annotations

import re
from datetime import date, time
from typing import Any

from flask import Flask, current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

from scheduler.domain.vocabulary import FIRST_YEAR, LAST_YEAR
from scheduler.errors import AppError, ValidationError

_BAD_TEXT = re.compile("[\x00\ud800-\udfff]")
_API_PREFIXES = ("/api/", "/fhir/")
# Free-text searches, where empty means "no text" (GET /patients?q= lists the patients seen lately).
EMPTY_ALLOWED = frozenset({"q"})


class PayloadTooLarge(AppError):
    status = 413
    code = "too_large"


def _limit() -> int:
    return int(current_app.config["MAX_CONTENT_LENGTH"])


def too_large() -> PayloadTooLarge:
    return PayloadTooLarge(f"The request body is larger than the limit of {_limit()} bytes.", field="body")


def check_text(value: str, field: str) -> None:
    match = _BAD_TEXT.search(value)
    if match is None:
        return
    what = "a NUL byte" if match.group() == "\x00" else "an invalid character (a lone UTF-16 surrogate)"
    raise ValidationError(f"{field or 'body'} contains {what}.", field=field or "body")


def check_json(value: Any, field: str = "", depth: int = 0, *, text: bool = True) -> None:
    """Walk a parsed JSON value: depth, and (``text``) every key and string."""
    if depth > current_app.config["MAX_JSON_DEPTH"]:
        raise ValidationError(
            f"The JSON body is nested deeper than {current_app.config['MAX_JSON_DEPTH']} "
            f"levels (at {field or 'the top'}).",
            field=field or "body",
        )
    if isinstance(value, str) and text:
        check_text(value, field)
    elif isinstance(value, dict):
        for key, item in value.items():
            where = f"{field}.{key}" if field else str(key)
            if text:
                check_text(str(key), where)
            check_json(item, where, depth + 1, text=text)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            check_json(item, f"{field}[{i}]", depth + 1, text=text)


def _check_body() -> None:
    length = request.content_length
    if length is not None and length > _limit():
        raise too_large()
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    if request.is_json:
        try:
            body = request.get_json(silent=True)
        except RecursionError:
            raise ValidationError(
                f"The JSON body is nested deeper than {current_app.config['MAX_JSON_DEPTH']} levels.", field="body"
            ) from None
        check_json(body, text=not request.path.startswith("/fhir/"))
    elif request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        for name, value in request.form.items(multi=True):
            check_text(name, name)
            check_text(value, name)


def _check_query() -> None:
    api = request.path.startswith(_API_PREFIXES)
    for name, value in request.args.items(multi=True):
        check_text(name, name)
        check_text(value, name)
        if api and value == "" and name not in EMPTY_ALLOWED:
            raise ValidationError(f"{name} is empty; leave the parameter out or give it a value.", field=name)


def guard() -> None:
    _check_query()
    _check_body()


def _app_guard() -> None:
    """Every request, except those of blueprints that run ``guard`` themselves (the pages run it
    after loading the signed-in user, so the 400 page knows who is asking)."""
    blueprint = current_app.blueprints.get(request.blueprint or "")
    if not getattr(blueprint, "runs_input_guard", False):
        guard()


def guard_blueprint(bp) -> None:
    bp.runs_input_guard = True
    bp.before_request(guard)


def init_app(app: Flask) -> None:
    app.before_request(_app_guard)

    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(exc):  # the stream reached the limit without a Content-Length (or a form part did)
        if not request.path.startswith(_API_PREFIXES):
            return exc
        from scheduler.errors import error_response_for

        return error_response_for(too_large())


# Integers the database's integer columns hold: an id or count beyond is out of range (400/404).
INT_MIN, INT_MAX = -(2**31), 2**31 - 1


def within_bounds(value, field: str):
    """The one set of date bounds of every endpoint and page (years FIRST_YEAR..LAST_YEAR)."""
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValidationError(f"{field} must fall between {FIRST_YEAR} and {LAST_YEAR}.", field=field)
    return value


def parse_date(value: Any, field: str) -> date:
    if not isinstance(value, str):
        raise ValidationError(f"{field} must be a date YYYY-MM-DD.", field=field)
    try:
        if len(value) != 10:
            raise ValueError
        parsed = date.fromisoformat(value)
    except ValueError:
        raise ValidationError(f"{field} must be a date YYYY-MM-DD, not {value!r}.", field=field) from None
    return within_bounds(parsed, field)


def parse_time(value: Any, field: str) -> time:
    if not isinstance(value, str):
        raise ValidationError(f"{field} must be a local time HH:MM.", field=field)
    try:
        parsed = time.fromisoformat(value)
    except ValueError:
        raise ValidationError(f"{field} must be a local time HH:MM, not {value!r}.", field=field) from None
    if parsed.tzinfo is not None:
        raise ValidationError(f"{field} is a local time of the clinic; leave out the offset.", field=field)
    return parsed
