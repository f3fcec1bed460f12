"""The API as a client sees it: the Flask test client with a bearer token per role."""

from __future__ import annotations

from scheduler.db import db_session


class Api:
    """The Flask test client with a bearer token for a role: ``api.as_("front_desk").post(...)``."""

    def __init__(self, app):
        self.app = app
        self.client = app.test_client()
        self.tokens: dict[str, str] = {}
        self.users: dict[str, int] = {}
        self.role = "admin"

    def token(self, role: str) -> str:
        if role not in self.tokens:
            from scheduler.auth import issue_token
            from scheduler.models import User

            user = User(email=f"{role}@clinic.test", role=role)
            db_session.add(user)
            db_session.flush()
            self.tokens[role] = issue_token(user)
            self.users[role] = user.id
            db_session.commit()
        return self.tokens[role]

    def as_(self, role: str) -> Api:
        other = Api.__new__(Api)
        other.__dict__.update(self.__dict__)
        other.role = role
        return other

    def _call(self, method: str, url: str, **kwargs):
        headers = dict(kwargs.pop("headers", {}) or {})
        if self.role is not None:
            headers.setdefault("Authorization", f"Bearer {self.token(self.role)}")
        return self.client.open(url, method=method, headers=headers, **kwargs)

    def get(self, url, **kw):
        return self._call("GET", url, **kw)

    def post(self, url, **kw):
        return self._call("POST", url, **kw)

    def patch(self, url, **kw):
        return self._call("PATCH", url, **kw)

    def put(self, url, **kw):
        return self._call("PUT", url, **kw)

    def delete(self, url, **kw):
        return self._call("DELETE", url, **kw)
