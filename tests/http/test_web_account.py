"""The account page: a user changes their own password (the current one confirmed, the new one by
the rule book's length, typed twice), which ends every session of the user in every browser, this
one included, and is audited; or signs out everywhere."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from scheduler.db import db_session
from scheduler.models import AuditEvent
from tests.support.builders import PASSWORD, clinic_with_users
from tests.support.pages import CSRF, is_signed_in, signed_in

NEW = "a brand new passphrase"


@pytest.fixture
def users(sqlite_app):
    return {role: user.id for role, user in clinic_with_users()[2].items()}


def _post(client, **form):
    token = CSRF.search(client.get("/account").text).group(1)
    return client.post("/account", data={"csrf_token": token, **form})


@pytest.mark.parametrize(
    "form, field",
    [
        ({"current_password": "wrong password!", "new_password": NEW, "repeat_password": NEW}, "current_password"),
        ({"current_password": PASSWORD, "new_password": "short", "repeat_password": "short"}, "new_password"),
        ({"current_password": PASSWORD, "new_password": NEW, "repeat_password": NEW + "x"}, "repeat_password"),
    ],
)
def test_a_refused_change_names_the_field_and_changes_nothing(sqlite_app, users, form, field):
    desk = signed_in(sqlite_app)
    answer = _post(desk, action="change_password", **form)
    assert answer.status_code == 400
    assert f'id="{field}-error"' in answer.text or f'aria-describedby="{field}-error"' in answer.text, answer.text
    assert is_signed_in(desk)
    assert is_signed_in(signed_in(sqlite_app))  # the old password still works
    db_session.remove()
    assert db_session.scalars(select(AuditEvent).where(AuditEvent.action == "user.password_change")).first() is None


def test_changing_ones_password_signs_out_every_browser(sqlite_app, users):
    here, elsewhere, colleague = signed_in(sqlite_app), signed_in(sqlite_app), signed_in(sqlite_app, "clinician")
    answer = _post(here, action="change_password", current_password=PASSWORD, new_password=NEW, repeat_password=NEW)
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/sign-in")
    assert "signed out everywhere" in here.get("/sign-in").text
    assert not is_signed_in(here) and not is_signed_in(elsewhere)
    assert is_signed_in(colleague)  # another user's sessions are theirs
    assert is_signed_in(signed_in(sqlite_app, password=NEW))
    db_session.remove()
    event = db_session.scalars(select(AuditEvent).where(AuditEvent.action == "user.password_change")).one()
    assert event.actor_id == users["front_desk"] and event.entity_id == users["front_desk"]


def test_sign_out_everywhere(sqlite_app, users):
    here, elsewhere = signed_in(sqlite_app), signed_in(sqlite_app)
    assert _post(here, action="sign_out_everywhere").status_code == 302
    assert not is_signed_in(here) and not is_signed_in(elsewhere)
    assert is_signed_in(signed_in(sqlite_app))  # the password is unchanged


def test_the_page_needs_a_session_and_a_form_token(sqlite_app, users):
    anonymous = sqlite_app.test_client()
    assert anonymous.get("/account").headers["Location"].startswith("/sign-in")
    desk = signed_in(sqlite_app)
    forged = desk.post("/account", data={"action": "sign_out_everywhere"})
    assert forged.status_code == 400 and is_signed_in(desk)
