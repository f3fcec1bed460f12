"""Every route of the app, enumerated from ``app.url_map`` (so a route added tomorrow is covered
without touching the tests that use this), with its path filled from real ids, and signed-in clients
for the API (bearer tokens) and the pages (a password sign-in, CSRF token included in every form)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from scheduler.auth import PERMISSIONS
from scheduler.db import db_session
from scheduler.models import User
from tests.support.builders import password_hash

ROLES = sorted(PERMISSIONS)
PASSWORD = "fuzz-and-scope-password"
_PARAM = re.compile(r"<(?:(?P<conv>[a-z_]+)(?:\([^)]*\))?:)?(?P<name>[a-z_]+)>")


@dataclass(frozen=True)
class Route:
    method: str
    rule: str
    endpoint: str
    permission: str | None

    @property
    def area(self) -> str:
        return "api" if self.rule.startswith("/api/") else "fhir" if self.rule.startswith("/fhir/") else "page"

    @property
    def params(self) -> list[tuple[str, str]]:
        return [(m["conv"] or "default", m["name"]) for m in _PARAM.finditer(self.rule)]

    def url(self, values: dict[str, object], *, ids: object = None) -> str:
        """The path with each parameter from ``values`` (``ids``, when given, for every integer one)."""

        def fill(match: re.Match) -> str:
            conv, name = match["conv"] or "default", match["name"]
            if conv == "int" and ids is not None:
                return str(ids)
            if conv == "any":
                return re.search(r"\(([a-z_]+)", match.group()).group(1)
            return str(values.get(name, "x"))

        return _PARAM.sub(fill, self.rule)

    def __str__(self) -> str:
        return f"{self.method} {self.rule}"


def routes(app) -> list[Route]:
    out = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.endpoint.endswith(".static"):
            continue
        view = app.view_functions[rule.endpoint]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            out.append(Route(method, rule.rule, rule.endpoint, getattr(view, "permission", None)))
    # Signing out last: it ends the client's session for the routes after it.
    return sorted(out, key=lambda r: (r.endpoint == "signin.sign_out", r.rule, r.method))


def role_for(permission: str | None) -> str:
    """A role granted ``permission`` (admin for public routes)."""
    if permission is None:
        return "admin"
    return next(role for role in ROLES if permission in PERMISSIONS[role])


def user(email: str, role: str, **fields) -> User:
    row = User(email=email, role=role, password_hash=password_hash(PASSWORD), **fields)
    db_session.add(row)
    db_session.flush()
    return row


class Pages:
    """A browser-like client signed in to the pages as one user."""

    def __init__(self, app, email: str):
        self.client = app.test_client()
        page = self.client.get("/sign-in")
        self.token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        answer = self.client.post("/sign-in", data={"email": email, "password": PASSWORD, "csrf_token": self.token})
        assert answer.status_code == 302, answer.text[:500]
        with self.client.session_transaction() as s:
            self.token = s.get("csrf_token", self.token)

    def open(self, method: str, url: str, **kwargs):
        if method != "GET" and "data" in kwargs and isinstance(kwargs["data"], dict):
            kwargs["data"] = {"csrf_token": self.token, **kwargs["data"]}
        headers = dict(kwargs.pop("headers", {}) or {})
        if method != "GET":
            headers.setdefault("X-CSRF-Token", self.token)
        return self.client.open(url, method=method, headers=headers, **kwargs)
