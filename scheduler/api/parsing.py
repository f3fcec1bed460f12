"""Request parsing: every field checked, every problem a ValidationError naming the field."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from datetime import date, datetime, time
from typing import Any, Literal, overload
from zoneinfo import ZoneInfo, available_timezones

from flask import request

from scheduler.domain.vocabulary import WEEKDAYS
from scheduler.errors import UnprocessableError, ValidationError

# Shared with the pages (scheduler.limits); the API modules read them as parsing.parse_date etc.
from scheduler.limits import INT_MAX, INT_MIN, parse_date, parse_time, within_bounds  # noqa: F401

_MISSING = object()
# The range of the database's integer columns (ids, counts): larger numbers are refused, not sent.


def json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if body is None:
        raise ValidationError("The request body must be a JSON object (Content-Type: application/json).", field="body")
    if not isinstance(body, dict):
        raise ValidationError("The request body must be a JSON object.", field="body")
    return body


def reject_unknown(body: dict, allowed: Iterable[str]) -> None:
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise ValidationError(f"Unknown field {unknown[0]!r}.", field=unknown[0])


def get(body: dict, field: str, *, required: bool = True, default: Any = None) -> Any:
    value = body.get(field, _MISSING)
    if value is _MISSING or value is None:
        if required:
            raise ValidationError(f"{field} is required.", field=field)
        return default
    return value


@overload
def string(
    body: dict, field: str, *, required: Literal[True] = ..., max_length: int = ..., default: str | None = ...
) -> str: ...
@overload
def string(body: dict, field: str, *, required: bool = ..., max_length: int = ..., default: str) -> str: ...
@overload
def string(
    body: dict, field: str, *, required: bool = ..., max_length: int = ..., default: str | None = ...
) -> str | None: ...
def string(
    body: dict, field: str, *, required: bool = True, max_length: int = 200, default: str | None = None
) -> str | None:
    value = get(body, field, required=required, default=_MISSING)
    if value is _MISSING:
        return default
    if not isinstance(value, str):
        raise ValidationError(f"{field} must be a string.", field=field)
    value = value.strip()
    if required and not value:
        raise ValidationError(f"{field} must not be empty.", field=field)
    if len(value) > max_length:
        raise ValidationError(f"{field} must be at most {max_length} characters.", field=field)
    return value


@overload
def integer(
    body: dict,
    field: str,
    *,
    required: Literal[True] = ...,
    minimum: int | None = ...,
    maximum: int | None = ...,
    default: int | None = ...,
) -> int: ...
@overload
def integer(
    body: dict, field: str, *, required: bool = ..., minimum: int | None = ..., maximum: int | None = ..., default: int
) -> int: ...
@overload
def integer(
    body: dict,
    field: str,
    *,
    required: bool = ...,
    minimum: int | None = ...,
    maximum: int | None = ...,
    default: int | None = ...,
) -> int | None: ...
def integer(
    body: dict,
    field: str,
    *,
    required: bool = True,
    minimum: int | None = None,
    maximum: int | None = None,
    default: int | None = None,
) -> int | None:
    value = get(body, field, required=required, default=_MISSING)
    if value is _MISSING:
        return default
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        value = int(value)  # JSON's 3600.0 is the integer 3600 (as JSON Schema's "integer" says)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"{field} must be an integer.", field=field)
    if not INT_MIN <= value <= INT_MAX:  # beyond the database's integer columns
        raise ValidationError(f"{field} is out of range.", field=field)
    if minimum is not None and value < minimum:
        raise ValidationError(f"{field} must be at least {minimum}.", field=field)
    if maximum is not None and value > maximum:
        raise ValidationError(f"{field} must be at most {maximum}.", field=field)
    return value


def boolean(body: dict, field: str, *, default: bool = False) -> bool:
    value = get(body, field, required=False, default=default)
    if not isinstance(value, bool):
        raise ValidationError(f"{field} must be true or false.", field=field)
    return value


@overload
def choice(
    body: dict, field: str, choices: Iterable[str], *, required: Literal[True] = ..., default: str | None = ...
) -> str: ...
@overload
def choice(body: dict, field: str, choices: Iterable[str], *, required: bool = ..., default: str) -> str: ...
@overload
def choice(
    body: dict, field: str, choices: Iterable[str], *, required: bool = ..., default: str | None = ...
) -> str | None: ...
def choice(
    body: dict, field: str, choices: Iterable[str], *, required: bool = True, default: str | None = None
) -> str | None:
    value = string(body, field, required=required, max_length=64, default=default)
    choices = tuple(choices)
    if value is not None and value not in choices:
        raise ValidationError(f"{field} must be one of: {', '.join(choices)}.", field=field)
    return value


def parse_instant(value: Any, field: str) -> datetime:
    """An ISO 8601 instant; the offset is required (a wall-clock time alone is ambiguous)."""
    if not isinstance(value, str):
        raise ValidationError(f"{field} must be an ISO 8601 date-time with offset.", field=field)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00") if value.endswith("Z") else value)
    except ValueError:
        raise ValidationError(
            f"{field} must be an ISO 8601 date-time with offset, not {value!r}.", field=field
        ) from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ValidationError(f"{field} needs a UTC offset, e.g. 2026-03-02T09:00:00-05:00.", field=field)
    return within_bounds(parsed, field)


@overload
def date_field(body: dict, field: str, *, required: Literal[True] = ...) -> date: ...
@overload
def date_field(body: dict, field: str, *, required: bool) -> date | None: ...
def date_field(body: dict, field: str, *, required: bool = True) -> date | None:
    value = get(body, field, required=required)
    return None if value is None else parse_date(value, field)


def timezone_field(body: dict, field: str, *, required: bool = True, default: str | None = None) -> str:
    name = string(body, field, required=required, max_length=64, default=default)
    if name is None:
        raise ValidationError(f"{field} is required.", field=field)
    if name not in available_timezones():
        raise ValidationError(f"{field} must be an IANA time zone such as America/New_York, not {name!r}.", field=field)
    ZoneInfo(name)  # loads
    return name


def weekly_hours(value: Any, field: str) -> dict[int, list[tuple[time, time]]]:
    """``{"mon": [["08:00", "18:00"]], ...}`` → {0: [(08:00, 18:00)]}; intervals must not overlap."""
    if not isinstance(value, dict):
        raise ValidationError(f"{field} must be an object keyed by weekday (mon…sun).", field=field)
    result: dict[int, list[tuple[time, time]]] = {}
    for day, intervals in value.items():
        if day not in WEEKDAYS:
            raise ValidationError(f"{field}.{day}: weekdays are {', '.join(WEEKDAYS)}.", field=f"{field}.{day}")
        if not isinstance(intervals, list):
            raise ValidationError(f"{field}.{day} must be a list of [open, close] pairs.", field=f"{field}.{day}")
        parsed: list[tuple[time, time]] = []
        for i, pair in enumerate(intervals):
            where = f"{field}.{day}[{i}]"
            if not isinstance(pair, list) or len(pair) != 2:
                raise ValidationError(f'{where} must be a pair ["HH:MM", "HH:MM"].', field=where)
            start, end = parse_time(pair[0], where), parse_time(pair[1], where)
            if not start < end:
                raise UnprocessableError(
                    f"{where}: the hours end ({pair[1]}) before they start ({pair[0]}).", field=where
                )
            parsed.append((start, end))
        parsed.sort()
        for (_, prev_end), (next_start, _) in itertools.pairwise(parsed):
            if next_start < prev_end:
                raise UnprocessableError(f"{field}.{day}: intervals overlap.", field=f"{field}.{day}")
        result[WEEKDAYS.index(day)] = parsed
    return result


@overload
def query_int(name: str, *, required: Literal[True]) -> int: ...
@overload
def query_int(name: str, *, required: bool = ...) -> int | None: ...
def query_int(name: str, *, required: bool = False) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        if required:
            raise ValidationError(f"{name} is required.", field=name)
        return None
    if not re.fullmatch(r"-?\d{1,12}(?:\.0+)?", raw.strip()):  # 3600.0 is the integer 3600
        raise ValidationError(f"{name} must be an integer.", field=name)
    value = int(raw.strip().split(".")[0])
    if not INT_MIN <= value <= INT_MAX:
        raise ValidationError(f"{name} is out of range.", field=name)
    return value


@overload
def query_date(name: str, *, required: Literal[True]) -> date: ...
@overload
def query_date(name: str, *, required: bool = ...) -> date | None: ...
def query_date(name: str, *, required: bool = False) -> date | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        if required:
            raise ValidationError(f"{name} is required.", field=name)
        return None
    return parse_date(raw, name)


def get_or_404(model, ident: Any, what: str | None = None):
    """The entity with this id, in the user's clinics, or 404 (``services.scope.get``)."""
    from scheduler.services import scope

    return scope.get(model, ident, what)
