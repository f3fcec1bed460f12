"""``Idempotency-Key``: a booking retried with the same key books once and gets the same answer.

The key is claimed by inserting a row (unique per user and key) *inside the request's own
transaction*, before the booking runs; the answer is stored in that row before the commit. So the
key, the booking and the stored answer commit together or not at all:

* a retry after success finds the row and gets the stored answer (header ``Idempotent-Replayed``);
* a retry after a refusal (4xx: nothing was written, the row rolled back too) runs again;
* two concurrent retries: on PostgreSQL the second INSERT waits on the first's uncommitted unique
  key, then fails (23505) and reads the committed answer — or, if the first was rolled back, books.
  On SQLite write transactions are serialised (BEGIN IMMEDIATE), so the second simply sees the row.
  A row that exists without an answer (only possible if a request died mid-way on a database that
  let it commit) is answered 409 ``in_progress``. Never two bookings.
* the same key with another body or another URL is refused with 422 ``idempotency_key_reused``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from functools import wraps

from flask import Response, g, jsonify, make_response, request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from scheduler.db import db_session
from scheduler.errors import Conflict, UnprocessableError, ValidationError
from scheduler.models import IdempotencyKey, utcnow

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 200


def _request_hash() -> str:
    body = request.get_json(silent=True)
    canonical = (
        json.dumps(body, sort_keys=True, separators=(",", ":")) if body is not None else request.get_data(as_text=True)
    )
    return hashlib.sha256(f"{request.method} {request.path}\n{canonical}".encode()).hexdigest()


def _key() -> str | None:
    key = request.headers.get(HEADER)
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise ValidationError(f"{HEADER} must be 1 to {MAX_KEY_LENGTH} printable characters.", field=HEADER)
    return key


def _replay(row: IdempotencyKey, digest: str) -> Response:
    if row.request_hash != digest:
        raise UnprocessableError(
            f"This {HEADER} was already used for a different request ({row.method} {row.path}); "
            "use a new key for a new booking.",
            field=HEADER,
            code="idempotency_key_reused",
        )
    if row.status_code is None:
        raise Conflict(
            "A request with this Idempotency-Key is still being processed; retry shortly.",
            field=HEADER,
            code="in_progress",
        )
    response = jsonify(row.response_body)
    response.status_code = row.status_code
    response.headers[REPLAYED_HEADER] = "true"
    return response


def _existing(user_id: int, key: str) -> IdempotencyKey | None:
    return db_session.scalar(select(IdempotencyKey).where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key))


def idempotent(view: Callable) -> Callable:
    """Route decorator (below ``@require``): honour the ``Idempotency-Key`` header."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        key = _key()
        if key is None:
            return view(*args, **kwargs)
        user_id = g.user.id
        digest = _request_hash()
        row = _existing(user_id, key)
        if row is not None:
            return _replay(row, digest)
        row = IdempotencyKey(user_id=user_id, key=key, method=request.method, path=request.path, request_hash=digest)
        try:
            with db_session.begin_nested():
                db_session.add(row)
                db_session.flush()
        except IntegrityError:  # a concurrent request with the same key committed first
            db_session.expire_all()
            other = _existing(user_id, key)
            if other is None:
                raise Conflict(
                    "A request with this Idempotency-Key is still being processed; retry shortly.",
                    field=HEADER,
                    code="in_progress",
                ) from None
            return _replay(other, digest)
        response = make_response(view(*args, **kwargs))
        if response.status_code < 400:
            row.status_code = response.status_code
            row.response_body = response.get_json(silent=True)
            row.completed_at = utcnow()
            db_session.flush()
        return response

    wrapper.idempotent = True  # type: ignore[attr-defined]  # read by the OpenAPI document
    return wrapper
