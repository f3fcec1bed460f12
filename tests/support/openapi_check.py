"""Validate real API answers against the OpenAPI document's response schemas (jsonschema 2020-12)."""

from __future__ import annotations

import re

from jsonschema import Draft202012Validator

PREFIX = "/api/v1"


class OpenApiChecker:
    def __init__(self, document: dict):
        self.doc = document
        self.patterns = [
            (re.compile("^" + re.sub(r"\\\{[a-z_]+\\\}", "[^/]+", re.escape(path)) + "$"), path)
            for path in document["paths"]
        ]

    def operation(self, method: str, url: str) -> tuple[str, dict]:
        path = url.split("?", 1)[0].removeprefix(PREFIX)
        matches = [tpl for rx, tpl in self.patterns if rx.match(path)]
        # The most literal template wins (/feeds/{id}/revoke over /feeds/{token}.ics).
        matches.sort(key=lambda t: t.count("{"))
        for tpl in matches:
            if method.lower() in self.doc["paths"][tpl]:
                return tpl, self.doc["paths"][tpl][method.lower()]
        raise AssertionError(f"{method} {path} is not in the OpenAPI document")

    def schema_for(self, method: str, url: str, status: int, content_type: str = "application/json") -> dict | None:
        tpl, op = self.operation(method, url)
        response = op["responses"].get(str(status))
        assert response is not None, f"{method} {tpl} answered {status}, which is not documented"
        content = response.get("content", {}).get(content_type)
        return None if content is None else content["schema"]

    def errors(self, method: str, url: str, status: int, body) -> list[str]:
        schema = self.schema_for(method, url, status)
        if schema is None:
            return []
        root = {**schema, "components": self.doc["components"]}
        return [
            f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in Draft202012Validator(root).iter_errors(body)
        ]

    def check(self, method: str, url: str, response) -> None:
        problems = self.errors(method, url, response.status_code, response.get_json())
        assert not problems, f"{method} {url} → {response.status_code} breaks its schema: {problems}"
