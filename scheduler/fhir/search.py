"""FHIR search as the specification has it: declared parameters (the CapabilityStatement lists
exactly these), ``date`` prefixes, references, tokens, ``_count`` with paging links, and
``Prefer: handling=strict`` refusing unknown parameters (lenient: ignored, and left out of the
self link, which shows the parameters actually used)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from urllib.parse import urlencode

from flask import request

from scheduler.domain.timezones import day_bounds_utc
from scheduler.errors import UnprocessableError, ValidationError
from scheduler.fhir import base_url

DEFAULT_COUNT, MAX_COUNT, MAX_OFFSET = 50, 200, 100_000
RESULT_PARAMS = ("_count", "_offset", "_format")
PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le")
FIRST_YEAR, LAST_YEAR = 1900, 2200
MRN_SYSTEM = "urn:scheduler:mrn"


@dataclass(frozen=True)
class Param:
    name: str
    type: str  # FHIR SearchParamType: date, reference, token
    documentation: str
    definition: str | None = None


# resource type -> its search parameters; the CapabilityStatement is built from this table.
SEARCHES: dict[str, list[Param]] = {}


def searchable(resource: str, params: list[Param]) -> None:
    SEARCHES[resource] = params


def strict() -> bool:
    prefer = request.headers.get("Prefer", "")
    return any(part.strip().lower() == "handling=strict" for part in prefer.split(";") + prefer.split(","))


@dataclass
class Query:
    """The search's parameters actually used: ``values[name]`` is one entry per occurrence."""

    resource: str
    values: dict[str, list[str]] = field(default_factory=dict)
    count: int = DEFAULT_COUNT
    offset: int = 0

    def one(self, name: str) -> str | None:
        got = self.values.get(name, [])
        if len(got) > 1:
            raise ValidationError(f"{name} may be given once.", field=name)
        return got[0] if got else None

    def self_link(self, offset: int | None = None) -> str:
        pairs = [(name, v) for name, vals in self.values.items() for v in vals]
        pairs.append(("_count", str(self.count)))
        if offset if offset is not None else self.offset:
            pairs.append(("_offset", str(offset if offset is not None else self.offset)))
        return f"{base_url()}/{self.resource}?{urlencode(pairs)}"


def parse(resource: str) -> Query:
    known = {p.name for p in SEARCHES[resource]}
    known |= {f"{p.name}:identifier" for p in SEARCHES[resource] if p.name == "patient"}
    query = Query(resource)
    for name in request.args:
        values = request.args.getlist(name)
        if name in known:
            cleaned = [v.strip() for v in values]
            if any(not v for v in cleaned):
                raise ValidationError(f"{name} is empty.", field=name)
            query.values[name] = cleaned
        elif name not in RESULT_PARAMS and strict():
            raise ValidationError(
                f"Unknown or unsupported search parameter {name!r} for {resource} "
                f"(Prefer: handling=strict). Supported: {', '.join(sorted(known))}.",
                field=name,
            )
    query.count = _bounded_int("_count", DEFAULT_COUNT, 0, MAX_COUNT)
    query.offset = _bounded_int("_offset", 0, 0, MAX_OFFSET)
    return query


def _bounded_int(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not re.fullmatch(r"\d{1,7}", raw.strip()) or not low <= int(raw) <= high:
        raise ValidationError(f"{name} must be a whole number from {low} to {high}.", field=name)
    return int(raw)


def bundle(query: Query, total: int, entries: list[dict]) -> dict:
    """A searchset Bundle with self/first/previous/next links."""
    links = [{"relation": "self", "url": query.self_link()}, {"relation": "first", "url": query.self_link(0)}]
    if query.offset > 0:
        links.append({"relation": "previous", "url": query.self_link(max(0, query.offset - max(query.count, 1)))})
    if query.count and query.offset + query.count < total:
        links.append({"relation": "next", "url": query.self_link(query.offset + query.count)})
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": total,
        "link": links,
        "entry": [{**e, "search": {"mode": "match"}} for e in entries],
    }


# --- date --------------------------------------------------------------------------------------

_DATE = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")


@dataclass(frozen=True)
class DateTest:
    """``date=ge2026-12-10``: a prefix and the value's range [lo, hi) (dates: in the clinic's zone)."""

    prefix: str
    value: str
    name: str

    def bounds(self, tz: str) -> tuple[datetime, datetime]:
        m = _DATE.fullmatch(self.value)
        if m:
            year, month, day = int(m[1]), int(m[2] or 1), int(m[3] or 1)
            try:
                first = date(year, month, day)
            except ValueError:
                if month > 12 or day > 31:
                    raise ValidationError(f"{self.name}: {self.value!r} is not a date.", field=self.name) from None
                # well-formed, but a day the calendar lacks (2026-02-30): a rule, not malformed input
                raise UnprocessableError(
                    f"{self.name}: {self.value!r} is not a day of the calendar.", field=self.name
                ) from None
            if m[3]:
                last = first
            elif m[2]:
                last = (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
            else:
                last = date(year, 12, 31)
            return day_bounds_utc(first, tz)[0], day_bounds_utc(last, tz)[1]
        moment = _instant(self.value, self.name)
        return moment, moment + timedelta(seconds=1)

    def holds(self, start: datetime, tz: str) -> bool:
        lo, hi = self.bounds(tz)
        return {
            "eq": lo <= start < hi,
            "ne": not lo <= start < hi,
            "ge": start >= lo,
            "gt": start >= hi,
            "le": start < hi,
            "lt": start < lo,
        }[self.prefix]

    def sql(self, column, tz: str):
        from sqlalchemy import not_

        lo, hi = self.bounds(tz)
        return {
            "eq": (column >= lo) & (column < hi),
            "ne": not_((column >= lo) & (column < hi)),
            "ge": column >= lo,
            "gt": column >= hi,
            "le": column < hi,
            "lt": column < lo,
        }[self.prefix]


def _instant(value: str, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.utcoffset() is None or "T" not in value:
        raise ValidationError(
            f"{name}: {value!r} must be a date (YYYY, YYYY-MM, YYYY-MM-DD) or a dateTime with "
            "an offset, optionally after a prefix eq, ne, gt, lt, ge, le.",
            field=name,
        )
    return moment


def date_tests(query: Query, name: str) -> list[DateTest]:
    tests = []
    for raw in query.values.get(name, []):
        if "," in raw:
            raise ValidationError(f"{name}: give one value per parameter (repeat {name} for a range).", field=name)
        prefix, value = (raw[:2], raw[2:]) if raw[:2].isalpha() else ("eq", raw)
        if prefix not in PREFIXES:
            raise ValidationError(f"{name}: prefix {prefix!r} is not supported (eq, ne, gt, lt, ge, le).", field=name)
        test = DateTest(prefix, value, name)
        lo, _ = test.bounds("UTC")
        if not FIRST_YEAR <= lo.year <= LAST_YEAR:
            raise ValidationError(f"{name}: years run from {FIRST_YEAR} to {LAST_YEAR}.", field=name)
        tests.append(test)
    return tests


# --- references and tokens ---------------------------------------------------------------------


def reference_ids(raw: str, name: str, types: tuple[str, ...]) -> list[tuple[str, str]]:
    """``Patient/19``, ``19`` (when one type), a full URL ``.../fhir/Patient/19``; comma-separated:
    any of them. Answers (type, id) pairs."""
    out = []
    for part in raw.split(","):
        part = part.strip()
        tail = part.rsplit("/fhir/", 1)[-1] if "://" in part else part
        kind, slash, ident = tail.rpartition("/")
        if not slash:
            if len(types) != 1:
                raise ValidationError(f"{name}: give the type, e.g. {types[0]}/{tail}.", field=name)
            kind = types[0]
        if kind not in types:
            raise ValidationError(f"{name}: a reference to {' or '.join(types)}, not {kind!r}.", field=name)
        if not re.fullmatch(r"[A-Za-z0-9\-.]{1,64}", ident):
            raise ValidationError(f"{name}: {ident!r} is not a FHIR id.", field=name)
        out.append((kind, ident))
    return out


def and_all(clauses):
    from sqlalchemy import and_, true

    return and_(true(), *clauses)


def numeric(ident: str) -> int | None:
    """Our ids are integers; any other FHIR id matches nothing."""
    return int(ident) if ident.isdigit() and len(ident) <= 9 else None


def identifier_values(raw: str, name: str, system: str = MRN_SYSTEM) -> list[str]:
    """Tokens ``system|value`` or ``|value``-less ``value``; the system must be ours."""
    out = []
    for part in raw.split(","):
        sys_, bar, value = part.strip().rpartition("|")
        if bar and sys_ and sys_ != system:
            raise ValidationError(f"{name}: only the identifier system {system} is known.", field=name)
        if not value:
            raise ValidationError(f"{name}: the identifier's value is missing.", field=name)
        out.append(value)
    return out


def tokens(raw: str, name: str, allowed: dict[str, object]) -> list[object]:
    out = []
    for part in raw.split(","):
        code = part.strip().rpartition("|")[2]
        if code not in allowed:
            raise ValidationError(f"{name}: {code!r} is not one of {', '.join(allowed)}.", field=name)
        out.append(allowed[code])
    return out
