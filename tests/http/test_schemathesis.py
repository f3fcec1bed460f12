"""A bounded schemathesis run from the OpenAPI document against the Flask app (WSGI, SQLite).

Every documented operation gets a few generated requests, valid (positive) and invalid (negative),
with an admin's token (the role that reaches most routes). No answer may be a 5xx, use an
undocumented status code, or break its response schema. Deterministic (derandomized), small
``max_examples``: a smoke test of the whole surface, not a fuzzing campaign.
"""
from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from tests.support import world

CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
EXAMPLES = 3


def test_generated_requests_get_no_5xx_and_conform_to_the_document(sqlite_api, sqlite_app):
    world.build()
    token = sqlite_api.token("admin")
    sqlite_app.config["PROPAGATE_EXCEPTIONS"] = False  # a crash must show up as the 500 a client would see
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", sqlite_app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 45
    failures: list[str] = []
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        for operation in operations:
            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                      phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
            def exercise(case):
                response = case.call(headers={"Authorization": f"Bearer {token}"})
                case.validate_response(response, checks=CHECKS)

            try:
                exercise()
            except Unsatisfiable:
                continue  # nothing invalid to generate (e.g. GET /health has no inputs)
            except Exception as exc:  # noqa: BLE001 - collect every operation's failure, then report
                failures.append(f"{mode.value} {operation.method.upper()} {operation.path}: {exc}"[:1500])
    assert not failures, "\n\n".join(failures)
