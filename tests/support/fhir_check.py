"""Every FHIR answer the tests see is checked by validators the product did not write: HL7's R4
JSON schema (fhir.schema.json, shipped by an npm package: tests/js) and the fhir.resources 6.x (R4)
models, plus FHIR's JSON rules (no null, no empty string, array or object) and the media type."""

from __future__ import annotations

import copy
import json
from functools import lru_cache

from jsonschema import Draft6Validator

from tests.support.js import FHIR_SCHEMA, need

FHIR_JSON = "application/fhir+json"


@lru_cache(maxsize=1)
def _schema() -> dict:
    return json.loads(need(FHIR_SCHEMA).read_text())


@lru_cache(maxsize=64)
def _validator(resource_type: str) -> Draft6Validator:
    schema = _schema()
    assert resource_type in schema["definitions"], f"{resource_type} is not an R4 resource"
    return Draft6Validator({"$ref": f"#/definitions/{resource_type}", "definitions": schema["definitions"]})


def empties(value, path="$") -> list[str]:
    if value is None or value == "" or value == [] or value == {}:
        return [path]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in empties(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in empties(v, f"{path}[{i}]")]
    return []


def validate(resource: dict) -> dict:
    """Raises AssertionError naming every problem; answers the resource."""
    from fhir.resources import construct_fhir_element

    assert isinstance(resource, dict) and "resourceType" in resource, resource
    for entry in resource.get("entry", []) if resource["resourceType"] == "Bundle" else []:
        if "resource" in entry:
            validate(entry["resource"])  # names the entry's own problems first
    problems = empties(resource)
    assert not problems, f"empty values (FHIR JSON forbids them) at {problems}"
    errors = sorted(_validator(resource["resourceType"]).iter_errors(resource), key=lambda e: list(e.path))
    assert not errors, "HL7 R4 JSON schema: " + "; ".join(
        f"{'/'.join(map(str, e.absolute_path))}: {e.message[:300]}" for e in errors[:5]
    )
    construct_fhir_element(resource["resourceType"], copy.deepcopy(resource))  # pydantic ValidationError if not R4
    return resource


class Fhir:
    """The test client for /fhir: every answer's media type and body validated."""

    def __init__(self, api, role: str = "front_desk"):
        self.api = api.as_(role) if role else api.as_(None)

    def as_(self, role):
        other = Fhir.__new__(Fhir)
        other.api = self.api.as_(role)
        return other

    def call(self, method: str, url: str, expect: int | None = 200, **kw):
        answer = self.api._call(method, url, **kw)
        assert answer.mimetype == FHIR_JSON, (url, answer.status_code, answer.mimetype, answer.data[:300])
        body = answer.get_json()
        if expect is not None:
            assert answer.status_code == expect, (method, url, answer.status_code, body)
        validate(body)
        if answer.status_code >= 400:
            assert body["resourceType"] == "OperationOutcome", body
        answer.resource = body
        return answer

    def get(self, url: str, expect: int | None = 200, **kw):
        return self.call("GET", url, expect, **kw)

    def post(self, url: str, expect: int | None = 200, **kw):
        return self.call("POST", url, expect, **kw)

    def put(self, url: str, expect: int | None = 200, **kw):
        return self.call("PUT", url, expect, **kw)
