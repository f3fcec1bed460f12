"""The request bodies of the FHIR operations as JSON Schemas, stated once: the OpenAPI document
publishes them (scheduler/fhir/openapi.py) and the operations validate every body against them
before reading it, so the document and the server cannot disagree about what is well-formed.

A well-formed body can still break a rule (no such patient: 404; a slot taken: 409; an end before
its start, a window too long, no course to say which protocol: 422).

* ``Parameters.parameter`` entries: ``name`` and exactly one ``value[x]`` of the kinds the parameter
  takes (or ``resource``); unknown names are allowed (ignored, or refused under
  ``Prefer: handling=strict``), known ones must be well-formed; required ones must be present.
* ``appointment`` ($hold, $book): an Appointment with the session kind in ``serviceType``, ``start``
  and ``end`` with offsets and Patient and Location actors, as ``$find`` proposes it (``$book`` also
  takes the held ``hold-<n>``, identified by its id).
"""

from __future__ import annotations

from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
from jsonschema.exceptions import best_match  # type: ignore[import-untyped]

from scheduler.domain.vocabulary import SESSION_KINDS
from scheduler.errors import ValidationError
from scheduler.fhir.appointments import KIND_SYSTEM
from scheduler.fhir.search import MRN_SYSTEM

CANCEL_REASON_MAX = 500
_DAY = r"20\d\d-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])"  # a day the calendar lacks (02-30): 422
_TIME = r"([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,6})?(Z|[+-](0\d|1[0-3]):[0-5]\d)"
DATE = {"type": "string", "pattern": rf"^{_DAY}$"}
INSTANT = {"type": "string", "pattern": rf"^{_DAY}T{_TIME}$"}
DATE_OR_INSTANT = {"type": "string", "pattern": rf"^{_DAY}(T{_TIME})?$"}
KIND = {"type": "string", "enum": [f"{KIND_SYSTEM}|{k}" for k in SESSION_KINDS]}


def reference(kinds: str) -> dict:
    return {
        "type": "object",
        "required": ["reference"],
        "properties": {"reference": {"type": "string", "pattern": rf"^({kinds})/\d{{1,9}}$"}},
    }


LOCATION = {"type": "string", "pattern": r"^Location/(clinic-)?\d{1,9}$"}
PATIENT = {"type": "string", "pattern": rf"^(Patient/\d{{1,9}}|{MRN_SYSTEM}\|[^\s|,]([^|,]{{0,62}}[^\s|,])?)$"}
# GET Appointment/$find: the parameters as a query (each at most once).
FIND_QUERY: dict[str, dict] = {
    "start": DATE_OR_INSTANT,
    "end": DATE_OR_INSTANT,
    "service-type": KIND,
    "location": LOCATION,
    "patient": PATIENT,
}
FIND_QUERY_REQUIRED = ("service-type", "patient")
# name -> {value[x] key: schema}; "resource" for a resource parameter. valueString: as in the query.
FIND_VALUES: dict[str, dict[str, dict]] = {
    "start": {"valueDate": DATE, "valueDateTime": DATE_OR_INSTANT, "valueString": DATE_OR_INSTANT},
    "end": {"valueDate": DATE, "valueDateTime": DATE_OR_INSTANT, "valueString": DATE_OR_INSTANT},
    "service-type": {
        "valueString": KIND,
        "valueCoding": {
            "type": "object",
            "required": ["system", "code"],
            "properties": {"system": {"const": KIND_SYSTEM}, "code": {"enum": list(SESSION_KINDS)}},
        },
    },
    "location": {
        "valueReference": {"type": "object", "required": ["reference"], "properties": {"reference": LOCATION}},
        "valueString": LOCATION,
    },
    "patient": {
        "valueReference": reference("Patient"),
        "valueString": PATIENT,
        "valueIdentifier": {
            "type": "object",
            "required": ["system", "value"],
            "properties": {
                "system": {"const": MRN_SYSTEM},
                "value": {"type": "string", "pattern": r"^[^\s|,][^|,]{0,62}[^\s|,]$|^[^\s|,]$"},
            },
        },
    },
}
_ACTORS = {
    "type": "array",
    "minItems": 1,
    "items": {"type": "object", "properties": {"actor": reference("Patient|Practitioner|Location")}},
    "allOf": [
        {"contains": {"type": "object", "required": ["actor"], "properties": {"actor": reference(kind)}}}
        for kind in ("Patient", "Location")
    ],
}
PROPOSED = {
    "type": "object",
    "required": ["resourceType", "serviceType", "start", "end", "participant"],
    "properties": {
        "resourceType": {"const": "Appointment"},
        "status": {"enum": ["proposed"]},
        "serviceType": {
            "type": "array",
            "minItems": 1,
            "contains": {
                "type": "object",
                "required": ["coding"],
                "properties": {"coding": {"type": "array", "contains": FIND_VALUES["service-type"]["valueCoding"]}},
            },
        },
        "start": INSTANT,
        "end": INSTANT,
        "participant": _ACTORS,
    },
}
HELD = {
    "type": "object",
    "required": ["resourceType", "id"],
    "properties": {
        "resourceType": {"const": "Appointment"},
        "id": {"type": "string", "pattern": r"^hold-[1-9]\d{0,8}$"},
    },
}
NO_NUL = r"^[^\x00]*$"
REASON = {"type": "string", "minLength": 1, "maxLength": CANCEL_REASON_MAX, "pattern": r"^[^\x00]*[^\x00\s][^\x00]*$"}


def parameters(values: dict[str, dict[str, dict]], required: tuple[str, ...] = ()) -> dict:
    entries = [
        {
            "type": "object",
            "required": ["name", key],
            "additionalProperties": False,
            "properties": {"name": {"const": name}, key: schema},
        }
        for name, kinds in values.items()
        for key, schema in kinds.items()
    ]
    other = {
        "type": "object",
        "required": ["name"],
        "properties": {"name": {"type": "string", "minLength": 1, "not": {"enum": list(values)}}},
    }
    params: dict = {"type": "array", "items": {"anyOf": [*entries, other]}}
    if required:
        params["minItems"] = len(required)
        params["allOf"] = [
            {"contains": {"type": "object", "required": ["name"], "properties": {"name": {"const": name}}}}
            for name in required
        ]
    return {
        "type": "object",
        "required": ["resourceType", *(["parameter"] if required else [])],
        "properties": {"resourceType": {"const": "Parameters"}, "parameter": params},
    }


FIND = parameters(FIND_VALUES, required=("service-type", "patient"))


def _one_appointment(*resources: dict) -> dict:
    """$hold and $book take one parameter, ``appointment`` (FHIR max 1; no other parameters)."""
    entries = [
        {
            "type": "object",
            "required": ["name", "resource"],
            "additionalProperties": False,
            "properties": {"name": {"const": "appointment"}, "resource": r},
        }
        for r in resources
    ]
    return {
        "type": "object",
        "required": ["resourceType", "parameter"],
        "properties": {
            "resourceType": {"const": "Parameters"},
            "parameter": {"type": "array", "minItems": 1, "maxItems": 1, "items": {"anyOf": entries}},
        },
    }


HOLD = _one_appointment(PROPOSED)
BOOK = _one_appointment({**PROPOSED, "not": {"required": ["id"]}}, HELD)  # a proposed one (no id) or the held one
CANCEL = parameters({"reason": {"valueString": REASON}})
UPDATE = {
    "type": "object",
    "required": ["resourceType", "id", "status"],
    "properties": {
        "resourceType": {"const": "Appointment"},
        "id": {"type": "string", "description": "The URL's id (FHIR update: a different one is 400)"},
        "status": {
            "type": "string",
            "enum": [
                "proposed",
                "pending",
                "booked",
                "arrived",
                "fulfilled",
                "cancelled",
                "noshow",
                "entered-in-error",
                "checked-in",
                "waitlist",
            ],
        },
        "cancelationReason": {
            "type": "object",
            "properties": {"text": {"type": "string", "maxLength": CANCEL_REASON_MAX, "pattern": NO_NUL}},
        },
    },
}


def _where(path, what: str) -> str:
    out = what
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _explain_entry(entry, where: str, branches: list[dict]) -> tuple[str, str]:
    """A known parameter that matches none of its forms: which value[x] it takes, or what is wrong
    with the one given."""
    name = entry.get("name") if isinstance(entry, dict) else None
    forms = {
        k: s["properties"][k]
        for s in branches
        if s["properties"]["name"].get("const") == name
        for k in s["required"]
        if k != "name"
    }
    if not isinstance(entry, dict) or not forms:
        return where, "each parameter is an object with a name (and a value[x] or resource)"
    given = [k for k in entry if k != "name"]
    if len(given) != 1 or given[0] not in forms:
        return where, f"{name!r} takes exactly one of {', '.join(forms)} (and nothing else but name)"
    key = given[0]
    inner = best_match(Draft202012Validator(forms[key]).iter_errors(entry[key]))
    return _where([key, *inner.absolute_path], where), f"{name!r}: {inner.message}"


_VALIDATORS: dict[int, Draft202012Validator] = {}


def check(body, schema: dict, what: str = "Parameters") -> None:
    """400 naming the part of ``body`` the schema refuses and why."""
    validator = _VALIDATORS.get(id(schema))
    if validator is None:
        validator = _VALIDATORS[id(schema)] = Draft202012Validator(schema)
    errors = list(validator.iter_errors(body))
    if not errors:
        return
    deepest = max(len(e.absolute_path) for e in errors)  # a bad entry before "a required one is missing"
    err = best_match(e for e in errors if len(e.absolute_path) == deepest)
    path = list(err.absolute_path)
    where, message = _where(path, what), err.message
    items = schema.get("properties", {}).get("parameter", {}).get("items", {}).get("anyOf")
    if items and len(path) >= 2 and path[0] == "parameter" and isinstance(body["parameter"], list):
        where, message = _explain_entry(body["parameter"][path[1]], _where(path[:2], what), items)
    elif items and path == ["parameter"] and err.validator == "contains":
        given = {e.get("name") for e in body["parameter"] if isinstance(e, dict)}
        wanted = [c["contains"]["properties"]["name"]["const"] for c in schema["properties"]["parameter"]["allOf"]]
        message = f"the parameter {next((n for n in wanted if n not in given), wanted[0])!r} is required"
    message = " ".join(message.split())
    message = message if len(message) <= 300 else message[:300] + "..."
    raise ValidationError(f"{where}: {message}.", field=where)
