"""The pages as a signed-in user sees them through the Flask client, and the page tests' fixtures
(registered for the whole suite by ``pytest_plugins`` in tests/conftest.py):

- ``Web(app)``: a client that signs in with a password and sends the CSRF token with every form;
- ``signed_in(app, role)``: a plain test client already signed in; ``is_signed_in(client)``: whether
  its cookie still opens a signed-in page;
- fixtures ``site`` (the SQLite app with ``builders.clinic_with_users()``), ``desk`` and ``clinician``;
- page builders: ``new_patient(web)`` (the new-patient form), ``plan(web, patient_id, start)`` (the
  plan form) and ``induction_doses(patient_id)`` (what they booked).
"""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import select

from scheduler.db import db_session
from scheduler.models import TreatmentSession
from tests.support.builders import PASSWORD, clinic_with_users, email

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Web:
    def __init__(self, app):
        self.client = app.test_client()

    def csrf(self) -> str:
        with self.client.session_transaction() as s:
            if "csrf_token" not in s:
                s["csrf_token"] = "t" * 43
            return s["csrf_token"]

    def sign_in(self, role: str):
        page = self.client.get("/sign-in")
        token = CSRF.search(page.text).group(1)
        return self.client.post("/sign-in", data={"email": email(role), "password": PASSWORD, "csrf_token": token})

    def get(self, url, **kw):
        return self.client.get(url, **kw)

    def post(self, url, data=None, *, token=True, **kw):
        data = dict(data or {})
        if token:
            data.setdefault("csrf_token", self.csrf())
        return self.client.post(url, data=data, **kw)


def signed_in(app, role="front_desk", password=PASSWORD):
    """A test client signed in as ``email(role)`` through the sign-in form."""
    client = app.test_client()
    token = CSRF.search(client.get("/sign-in").text).group(1)
    answer = client.post("/sign-in", data={"email": email(role), "password": password, "csrf_token": token})
    assert answer.status_code == 302, answer.text
    return client


def is_signed_in(client) -> bool:
    """Whether ``client``'s cookie still opens a signed-in page."""
    return client.get("/patients").status_code == 200


@pytest.fixture
def site(sqlite_app):
    clinic, rooms, users = clinic_with_users()
    return {"app": sqlite_app, "clinic": clinic, "rooms": rooms, "users": users}


@pytest.fixture
def desk(site):
    web = Web(site["app"])
    assert web.sign_in("front_desk").status_code == 302
    return web


@pytest.fixture
def clinician(site):
    web = Web(site["app"])
    assert web.sign_in("clinician").status_code == 302
    return web


def new_patient(web, mrn="MRN-77", name="Jordan Rivera") -> int:
    """A patient created with the new-patient form: its id."""
    r = web.post("/patients/new", {"mrn": mrn, "name": name, "birth_date": "1985-04-12", "ride_home_arranged": "on"})
    assert r.status_code == 302, r.text
    return int(r.headers["Location"].rstrip("/").split("/")[-1])


def plan(web, patient_id: int, start: date, weekdays=("mon", "thu"), action="confirm"):
    """The plan form for ketamine-iv from ``start`` on ``weekdays`` (09:00-17:00): the answer."""
    return web.post(
        f"/patients/{patient_id}/plan",
        {
            "protocol": "ketamine-iv",
            "start_on": start.isoformat(),
            "weekdays": list(weekdays),
            "earliest": "09:00",
            "latest": "17:00",
            "action": action,
        },
    )


def induction_doses(patient_id: int) -> list[TreatmentSession]:
    """The patient's induction doses as stored (read in a fresh ORM session), earliest first."""
    db_session.remove()
    return list(
        db_session.scalars(
            select(TreatmentSession)
            .where(
                TreatmentSession.patient_id == patient_id,
                TreatmentSession.kind == "dose",
                TreatmentSession.phase == "induction",
            )
            .order_by(TreatmentSession.starts_at)
        )
    )
