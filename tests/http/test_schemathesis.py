"""The OpenAPI contract both ways, by schemathesis (WSGI, no network), on SQLite and PostgreSQL:
every documented operation of the API and of /fhir (the document describes /fhir with its own
server, so it is loaded as a second schema) gets generated requests, valid and invalid, checked by
**all** of schemathesis' checks (no 5xx, documented status codes, content types, headers and
response schemas; schema-valid data accepted, invalid data rejected; auth not ignored; 405s with
Allow; ...). Then two stateful runs follow the document's links: the API's (a created entity's id
into the operations on it) and the FHIR booking chain ($find -> $hold -> $book -> read, $cancel or
a status update), the latter from a $find for the seeded clinic's patient so that the chain has
proposals to hold and book.

Any finding fails the build. Deterministic (derandomized) and bounded by examples, not by the clock:
every operation runs, EXAMPLES per operation and mode (SCHEMATHESIS_EXAMPLES overrides it for a
deeper run by hand). Measured on the shared 2-core machine: see the README (Tests).
"""

from __future__ import annotations

import copy
import os
import time
from datetime import datetime, timedelta

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS
from schemathesis.config import SchemathesisConfig

from tests.support import builders

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", 2))
# The API's links are one step deep (created -> operations on it); the FHIR chain is three
# ($find -> $hold -> $book -> cancel), so it needs more runs to be walked (measured: 8 runs of 5 steps
# hold and book at least once).
STATEFUL = {"API": {"max_examples": 3, "stateful_step_count": 4}, "FHIR": {"max_examples": 8, "stateful_step_count": 5}}
# A schema-valid request may still break a rule the schema cannot state (an end before a start, a
# double booking, a local time that does not exist, no such patient): the documented answers for
# those are 404, 409 and 422. A 400 for a schema-valid request is a finding (the schema is looser
# than the server).
CONFIG = {"checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", "401", "403", "404", "409", "422"]}}}
SETTINGS = {"deadline": None, "derandomize": True, "database": None, "suppress_health_check": list(HealthCheck)}


def _schemas(app, document: dict):
    api_doc = {**document, "paths": {p: item for p, item in document["paths"].items() if "servers" not in item}}
    fhir_doc = {
        **document,
        "servers": [{"url": "/fhir"}],
        "paths": {
            p: {k: v for k, v in item.items() if k != "servers"}
            for p, item in document["paths"].items()
            if "servers" in item
        },
    }
    assert fhir_doc["paths"], "the document describes /fhir"
    for doc in (api_doc, fhir_doc):
        schema = schemathesis.openapi.from_dict(copy.deepcopy(doc), config=SchemathesisConfig.from_dict(CONFIG))
        schema.app = app
        yield schema


def _authenticate(schema, token: str) -> None:
    @schema.auth()
    class Bearer:  # noqa: F841 - registered on the schema
        def get(self, case, context):
            return token

        def set(self, case, data, context):
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


def _fhir_hooks(schema, seeded: dict) -> None:
    """What OpenAPI cannot state, stated here: FHIR's update takes the URL's id in the body (a
    different one is 400 by the specification), so valid updates carry it; and, in the stateful run
    only (``seeded["on"]``), $find asks for the seeded patient's follow-up at the seeded clinic."""

    @schema.hook("map_case")
    def map_case(context, case):  # noqa: F841 - registered on the schema
        op = case.operation
        positive = case.meta is None or case.meta.generation.mode == GenerationMode.POSITIVE
        if (
            op.method.upper() == "PUT"
            and op.path == "/Appointment/{ident}"
            and positive
            and isinstance(case.body, dict)
            and case.path_parameters
        ):
            case.body = {**case.body, "id": case.path_parameters["ident"]}
        if seeded.get("on") and op.path == "/Appointment/$find" and positive:
            if op.method.upper() == "GET":
                case.query = dict(seeded["query"])
            else:
                case.body = {
                    "resourceType": "Parameters",
                    "parameter": [
                        {"name": n, "valueString" if n == "service-type" else "valueDate": v}
                        for n, v in seeded["query"].items()
                        if n in ("service-type", "start", "end")
                    ]
                    + [
                        {"name": "patient", "valueReference": {"reference": seeded["query"]["patient"]}},
                        {"name": "location", "valueReference": {"reference": seeded["query"]["location"]}},
                    ],
                }
        return case


def _seed_follow_up_clinic() -> dict:
    """The world plus a consult room and a prescriber: follow-ups (30 min) have free slots."""
    from scheduler.db import db_session
    from scheduler.models import Clinic

    w = builders.small_clinic(commit=False)
    clinic = db_session.get(Clinic, w.clinic.id)
    builders.room(clinic, name="Consult-1", capabilities=("consult",))
    builders.staff(clinic, name="Dr Rao", role="prescriber")
    db_session.commit()
    tomorrow = (datetime.now(builders.NY) + timedelta(days=1)).date()
    return {
        "patient": f"Patient/{w.patient.id}",
        "service-type": "urn:scheduler:session-kind|follow_up",
        "location": f"Location/clinic-{w.clinic.id}",
        "start": tomorrow.isoformat(),
        "end": (tomorrow + timedelta(days=1)).isoformat(),
    }


def _per_operation(operations, checks) -> dict[tuple[str, str, str], str]:
    found = {}
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=EXAMPLES, phases=[Phase.explicit, Phase.generate], **SETTINGS)
            def exercise(case):
                case.call_and_validate(checks=checks)

            try:
                exercise()
            except Unsatisfiable:
                continue  # nothing invalid to generate (e.g. GET /health has no inputs)
            except BaseException as exc:  # noqa: BLE001 - schemathesis raises a FailureGroup
                if isinstance(exc, KeyboardInterrupt):
                    raise
                found[(mode.value, operation.method.upper(), operation.path)] = str(exc)
    return found


def _stateful(schema, name: str) -> dict[tuple[str, str, str], str]:
    try:
        schema.as_state_machine().run(settings=settings(**STATEFUL[name], **SETTINGS))
    except BaseException as exc:  # noqa: BLE001
        if isinstance(exc, KeyboardInterrupt):
            raise
        return {("stateful", name, ""): str(exc)}
    return {}


def _fhir_writes() -> int:
    """Holds placed, booked or released and sessions booked so far (the FHIR chain's writes)."""
    from sqlalchemy import func, or_, select

    from scheduler.db import db_session
    from scheduler.models import AuditEvent

    count = db_session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(or_(AuditEvent.entity_type == "appointment_hold", AuditEvent.action == "session.book"))
    )
    db_session.remove()
    return count


def test_contract_holds_both_ways(api, app):
    seeded = {"query": _seed_follow_up_clinic()}
    token = api.token("admin")  # the role that reaches most routes
    app.config["PROPAGATE_EXCEPTIONS"] = False  # a crash must show up as the 500 a client would see
    document = api.as_(None).get("/api/v1/openapi.json").json
    api_schema, fhir_schema = _schemas(app, document)
    checks = CHECKS.get_all()  # after loading: the OpenAPI checks register then
    assert len(checks) >= 14, [c.__name__ for c in checks]
    for schema in (api_schema, fhir_schema):
        _authenticate(schema, token)
    _fhir_hooks(fhir_schema, seeded)
    operations = [r.ok() for schema in (api_schema, fhir_schema) for r in schema.get_all_operations()]
    assert len(operations) >= 80 and any(op.path == "/Appointment/$book" for op in operations)
    started = time.monotonic()
    found = _per_operation(operations, checks)
    middle = time.monotonic()
    found |= _stateful(api_schema, "API")
    seeded["on"] = True
    before = _fhir_writes()
    found |= _stateful(fhir_schema, "FHIR")
    chained = _fhir_writes() - before
    print(
        f"schemathesis: {len(operations)} operations x {EXAMPLES} examples x 2 modes in {middle - started:.0f} s, "
        f"stateful API + FHIR in {time.monotonic() - middle:.0f} s"
    )
    assert not found, f"{len(found)} findings:\n\n" + "\n\n".join(
        f"{' '.join(k)}: {v[:3000]}" for k, v in found.items()
    )
    assert chained > 0, "the stateful FHIR run held or booked nothing: the links did not chain"
