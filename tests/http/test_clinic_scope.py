"""Clinic scoping: a user limited to clinic A, in each role, on every route (enumerated from the URL
map, as the role tests do, so a route added later is covered or this test says which id it cannot
fill). Another clinic's entity — clinic, room, staff member, session, course, waitlist entry, feed,
a patient seen only at clinic B, a user limited to B — answers 404 (a page: the 404 page); the same
route with clinic A's entity does not. Lists, searches, feeds and FHIR searches never show clinic B
("Zeta"): its name, rooms, staff and patients are all called Zeta, and a network admin (no clinics)
does see them, so the check can fail.

Patients (not clinic-bound rows) are visible when the user may see a clinic where they have a course
or a session, or when they have none yet.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from scheduler.auth import PERMISSIONS, issue_token
from scheduler.db import db_session
from scheduler.models import ApiToken, Course, User, WaitlistOffer
from scheduler.services import booking, feeds, waitlist
from scheduler.services import sessions as session_service
from tests.support import builders
from tests.support import routes as r

NY = ZoneInfo("America/New_York")
EVERY_DAY = {d: [(time(8), time(18))] for d in range(7)}
MARKER = "Zeta"
DAY = date.today() + timedelta(days=28)  # booking in the past is refused


def _clinic(name: str, tag: str, mrn: str) -> dict:
    clinic = builders.clinic(name=name, hours=EVERY_DAY)
    room = builders.room(clinic, name=f"{tag} Room")
    nurse = builders.staff(clinic, name=f"Nurse {tag}")
    patient = builders.patient(mrn=mrn, name=f"Pat {tag}")
    db_session.flush()
    course = Course(patient_id=patient.id, clinic_id=clinic.id, protocol_key="ketamine-iv", start_on=DAY)
    db_session.add(course)
    db_session.flush()
    starts = datetime.combine(DAY, time(9), tzinfo=NY)
    session = session_service.book(
        None,
        booking.SessionRequest(
            clinic_id=clinic.id,
            patient_id=patient.id,
            room_id=room.id,
            staff_member_id=nurse.id,
            kind="dose",
            starts_at=starts,
            ends_at=starts + timedelta(hours=2),
            course_id=course.id,
        ),
        check_flags=False,
    )[0]
    db_session.flush()
    from scheduler.services import directory

    directory.add_closure(
        None, clinic, starts_on=DAY + timedelta(days=30), ends_on=DAY + timedelta(days=30), reason=f"{tag} holiday"
    )
    entry = waitlist.add(
        None,
        patient=patient,
        clinic=clinic,
        kind="dose",
        protocol=None,
        earliest_on=DAY,
        latest_on=DAY + timedelta(days=60),
        preferences={},
    )
    db_session.flush()
    offer = WaitlistOffer(
        entry_id=entry.id,
        clinic_id=clinic.id,
        room_id=room.id,
        staff_member_id=nurse.id,
        starts_at=starts + timedelta(days=1),
        ends_at=starts + timedelta(days=1, hours=2),
    )
    db_session.add(offer)
    db_session.flush()
    return {
        "clinic": clinic.id,
        "room": room.id,
        "staff": nurse.id,
        "patient": patient.id,
        "mrn": mrn,
        "session": session.id,
        "course": course.id,
        "entry": entry.id,
        "offer": offer.id,
    }


def _user(email: str, role: str, clinic_ids: list[int], staff_id: int | None = None):
    user = r.user(email, role, staff_member_id=staff_id)
    user.limit_to_clinics(clinic_ids)
    db_session.flush()
    token = issue_token(user)
    return user.id, token


@pytest.fixture
def world(sqlite_app):
    return _world(sqlite_app)


@pytest.fixture
def world_both(app):
    """The same on SQLite and PostgreSQL (the patient rule is SQL: EXISTS over sessions and courses)."""
    return _world(app)


def _world(app):
    a = _clinic("Alpha Clinic", "Alpha", "MRN-A1")
    b = _clinic(f"{MARKER} Clinic", MARKER, "MRN-B1")
    lone = builders.patient(mrn="MRN-NEW", name="Newly Registered")
    db_session.flush()
    users = {}
    for role in r.ROLES:
        users[role] = _user(f"{role}-a@scope.test", role, [a["clinic"]], a["staff"] if role == "clinician" else None)
    users["network"] = _user("network@scope.test", "admin", [])
    b_user, _ = _user("desk-b@scope.test", "front_desk", [b["clinic"]])
    a_user_token = db_session.scalars(select(ApiToken.id).where(ApiToken.user_id == users["front_desk"][0])).first()
    b_user_token = db_session.scalars(select(ApiToken.id).where(ApiToken.user_id == b_user)).first()
    feed_a, token_a = feeds.create(users["front_desk"][0], "room", a["room"])
    feed_b, token_b = feeds.create(b_user, "room", b["room"])
    db_session.commit()
    a.update(user=users["front_desk"][0], token=a_user_token, feed=feed_a.id, feed_token=token_a)
    b.update(user=b_user, token=b_user_token, feed=feed_b.id, feed_token=token_b)
    return {"a": a, "b": b, "lone": lone.id, "users": users, "app": app}


# A route's integer parameter -> the entity of each clinic it names.
INT_PARAMS = {
    "clinic_id": "clinic",
    "room_id": "room",
    "staff_id": "staff",
    "patient_id": "patient",
    "session_id": "session",
    "user_id": "user",
    "token_id": "token",
    "feed_id": "feed",
    "course_id": "course",
    "entry_id": "entry",
    "offer_id": "offer",
    # a payer authorization belongs to the patient in the same URL (checked through it)
    "authorization_id": "session",
}
# Not clinic-bound: the same for everyone. A feed's URL is its secret and shows what its creator may
# see, whoever fetches it (test_a_feed_shows_what_its_creator_may_see).
SHARED_ROUTES = {
    "/api/v1/protocols/<key>",
    "/fhir/OperationDefinition/<name>",
    "/api/v1/feeds/<token>.ics",
    "/reports/<name>.csv",  # the clinic is a query parameter (checked with the lists)
    "/p/<token>",
}  # a patient's own link: the token is the secret


def _free_hour() -> str:
    """The day after DAY, 10:00-11:00 New York: a free hour of each clinic's room (FHIR slot id)."""
    start = datetime.combine(DAY + timedelta(days=1), time(10), tzinfo=NY)
    return f"{int(start.timestamp())}-{int(start.timestamp()) + 3600}"


def _fhir_ident(rule: str, c: dict) -> str:
    kind = rule.split("/")[2]
    return {
        "Appointment": str(c["session"]),
        "CarePlan": str(c["course"]),
        "Location": str(c["room"]),
        "Patient": str(c["patient"]),
        "Practitioner": str(c["staff"]),
        "Schedule": f"room-{c['room']}",
        "Slot": f"room-{c['room']}-{_free_hour()}",
    }[kind]


def _url(route: r.Route, c: dict) -> str | None:
    values = {
        "token": c["feed_token"],
        "action": "check_in",
        "ident": _fhir_ident(route.rule, c) if route.area == "fhir" and "<ident>" in route.rule else "x",
    }
    for conv, name in route.params:
        if conv == "int":
            if name not in INT_PARAMS:
                return None
            values[name] = c[INT_PARAMS[name]]
    return route.url(values)


def _query(c: dict) -> str:
    return (
        f"clinic_id={c['clinic']}&patient={c['mrn']}&patient_id={c['patient']}&schedule=Schedule/room-{c['room']}"
        f"&start={DAY - timedelta(days=8)}&end={DAY + timedelta(days=11)}&date={DAY}&q=Pat&actor=Location/{c['room']}"
    )


class Caller:
    """The API and FHIR with a bearer token, the pages signed in, as one user."""

    def __init__(self, app, email: str, token: str):
        self.client = app.test_client()
        self.token = token
        self.pages = r.Pages(app, email)

    def call(self, route: r.Route, url: str, **kwargs):
        if route.area == "page":
            return self.pages.open(route.method, url, data={}, **kwargs)
        return self.client.open(
            url,
            method=route.method,
            json={} if route.method != "GET" else None,
            headers={"Authorization": f"Bearer {self.token}"},
            **kwargs,
        )


def _callers(w) -> dict[str, Caller]:
    emails = {role: f"{role}-a@scope.test" for role in r.ROLES} | {"network": "network@scope.test"}
    return {who: Caller(w["app"], emails[who], w["users"][who][1]) for who in emails}


def test_another_clinics_entity_is_404_on_every_route_for_every_role(world):
    w, callers = world, _callers(world)
    checked, unfilled, failures = 0, [], []
    for route in r.routes(w["app"]):
        if route.rule in SHARED_ROUTES or not route.params or route.endpoint == "signin.sign_out":
            continue
        for role in r.ROLES:
            if route.permission is not None and route.permission not in PERMISSIONS[role]:
                continue
            other, own = _url(route, w["b"]), _url(route, w["a"])
            if other is None:
                unfilled.append(str(route))
                continue
            answer = callers[role].call(route, other)
            checked += 1
            # As for an id that does not exist: 404 (a few page forms redirect with a message instead).
            missing = callers[role].call(
                route, route.url({"token": "x", "action": "check_in", "ident": "999999"}, ids=999999)
            )
            if answer.status_code != missing.status_code or answer.status_code not in (404, 302):
                failures.append(
                    f"{role} {route} with clinic B's entity: {answer.status_code} (an unknown id: "
                    f"{missing.status_code}) {answer.get_data(as_text=True)[:160]!r}"
                )
            if route.method == "GET":
                mine = callers[role].call(route, own)
                if mine.status_code in (403, 404):
                    failures.append(f"{role} {route} with clinic A's own entity: {mine.status_code}")
    assert not unfilled, f"add the id of these routes to INT_PARAMS: {sorted(set(unfilled))}"
    assert checked > 50
    assert not failures, "\n".join(failures)


def test_no_list_search_feed_or_fhir_search_shows_another_clinic(world):
    w, callers = world, _callers(world)
    seen_by_network = 0
    failures = []
    for route in r.routes(w["app"]):
        if route.method != "GET" or route.rule in SHARED_ROUTES or route.endpoint == "signin.sign_out":
            continue
        url = _url(route, w["a"])
        if url is None:
            continue
        for who in [*r.ROLES, "network"]:
            role = "admin" if who == "network" else who
            if route.permission is not None and route.permission not in PERMISSIONS[role]:
                continue
            for query in (_query(w["a"]) + "&per_page=200", ""):
                answer = callers[who].call(route, f"{url}?{query}" if query else url)
                text = answer.get_data().decode("utf-8", "replace")
                if who == "network":
                    seen_by_network += MARKER in text
                elif MARKER in text:
                    failures.append(
                        f"{who} {route}?{query}: shows clinic B ({answer.status_code}) "
                        f"…{text[max(0, text.find(MARKER) - 80) : text.find(MARKER) + 40]!r}…"
                    )
        # Asking for clinic B by id in the query string: 404 (or nothing of B).
        if "clinic_id" not in route.rule:
            for role in r.ROLES:
                if route.permission is not None and route.permission not in PERMISSIONS[role]:
                    continue
                answer = callers[role].call(route, f"{url}?{_query(w['b'])}")
                if answer.status_code != 404 and MARKER in answer.get_data().decode("utf-8", "replace"):
                    failures.append(f"{role} {route}?clinic B: {answer.status_code} shows clinic B")
    assert seen_by_network >= 8, seen_by_network  # the marker is there to be seen
    assert not failures, "\n".join(failures)


def test_writes_naming_another_clinic_in_the_body_are_404(world):
    w = world
    b, a = w["b"], w["a"]
    desk, admin = _callers(w)["front_desk"], _callers(w)["admin"]
    post = lambda caller, url, body: caller.client.post(  # noqa: E731
        url, json=body, headers={"Authorization": f"Bearer {caller.token}"}
    )
    start = (datetime.combine(DAY + timedelta(days=7), time(9), tzinfo=NY)).isoformat()
    cases = [
        (
            desk,
            "/api/v1/sessions",
            {
                "patient_id": a["patient"],
                "room_id": b["room"],
                "kind": "dose",
                "starts_at": start,
                "duration_minutes": 60,
            },
        ),
        (
            desk,
            "/api/v1/sessions",
            {
                "patient_id": b["patient"],
                "room_id": a["room"],
                "kind": "dose",
                "starts_at": start,
                "duration_minutes": 60,
            },
        ),
        (
            desk,
            f"/api/v1/patients/{w['lone']}/courses",
            {
                "protocol": "ketamine-iv",
                "clinic_id": b["clinic"],
                "start_on": str(DAY + timedelta(days=7)),
                "dry_run": True,
            },
        ),
        (desk, "/api/v1/feeds", {"kind": "room", "id": b["room"]}),
        (desk, "/api/v1/feeds", {"kind": "patient", "id": b["patient"]}),
        (
            desk,
            "/api/v1/waitlist",
            {
                "patient_id": w["lone"],
                "clinic_id": b["clinic"],
                "kind": "dose",
                "earliest_on": "2026-04-01",
                "latest_on": "2026-04-30",
            },
        ),
        (admin, "/api/v1/rooms", {"clinic_id": b["clinic"], "name": "New", "capabilities": ["iv"]}),
        (admin, "/api/v1/staff", {"clinic_id": b["clinic"], "name": "New", "role": "nurse"}),
        (admin, "/api/v1/users", {"email": "new-b@scope.test", "role": "front_desk", "clinic_ids": [b["clinic"]]}),
    ]
    for caller, url, body in cases:
        answer = post(caller, url, body)
        assert answer.status_code == 404, (url, body, answer.json)
    # A limited admin cannot make a network admin (no clinics) nor widen a user to clinic B.
    answer = post(admin, "/api/v1/users", {"email": "net@scope.test", "role": "admin"})
    assert answer.status_code == 400 and answer.json["error"]["field"] == "clinic_ids"
    made = post(admin, "/api/v1/users", {"email": "a2@scope.test", "role": "front_desk", "clinic_ids": [a["clinic"]]})
    assert made.status_code == 201 and made.json["clinic_ids"] == [a["clinic"]]
    widened = admin.client.patch(
        f"/api/v1/users/{made.json['id']}",
        json={"clinic_ids": [a["clinic"], b["clinic"]]},
        headers={"Authorization": f"Bearer {admin.token}"},
    )
    assert widened.status_code == 404
    # The same writes at clinic A work (the 404s above are about the clinic, not the body).
    assert post(desk, "/api/v1/feeds", {"kind": "room", "id": a["room"]}).status_code == 201
    assert (
        post(admin, "/api/v1/rooms", {"clinic_id": a["clinic"], "name": "New", "capabilities": ["iv"]}).status_code
        == 201
    )


def test_a_patient_is_visible_until_seen_only_at_another_clinic(world_both):
    w = world_both
    desk = _callers(w)["front_desk"]
    get = lambda url: desk.client.get(url, headers={"Authorization": f"Bearer {desk.token}"})  # noqa: E731
    assert get(f"/api/v1/patients/{w['lone']}").status_code == 200  # no course or session yet: visible
    assert get(f"/api/v1/patients/{w['a']['patient']}").status_code == 200
    assert get(f"/api/v1/patients/{w['b']['patient']}").status_code == 404
    assert [p["id"] for p in get("/api/v1/patients?q=Pat").json["patients"]] == [w["a"]["patient"]]
    # Booked at clinic B (by a network admin): now only clinic B's users see the patient.
    network = _callers(w)["network"]
    start = datetime.combine(DAY + timedelta(days=3), time(9), tzinfo=NY).isoformat()
    booked = network.client.post(
        "/api/v1/sessions",
        headers={"Authorization": f"Bearer {network.token}"},
        json={
            "patient_id": w["lone"],
            "room_id": w["b"]["room"],
            "kind": "evaluation",
            "starts_at": start,
            "duration_minutes": 60,
        },
    )
    assert booked.status_code == 201, booked.json
    assert get(f"/api/v1/patients/{w['lone']}").status_code == 404
    assert desk.pages.open("GET", f"/patients/{w['lone']}").status_code == 404


def test_user_clinics_through_the_api_and_the_cli(world, sqlite_app):
    w = world
    network = _callers(w)["network"]
    auth = {"Authorization": f"Bearer {network.token}"}
    made = network.client.post(
        "/api/v1/users",
        headers=auth,
        json={"email": "two@scope.test", "role": "clinician", "clinic_ids": [w["b"]["clinic"], w["a"]["clinic"]]},
    )
    assert made.status_code == 201 and made.json["clinic_ids"] == sorted([w["a"]["clinic"], w["b"]["clinic"]])
    changed = network.client.patch(f"/api/v1/users/{made.json['id']}", headers=auth, json={"clinic_ids": []})
    assert changed.status_code == 200 and changed.json["clinic_ids"] == []
    assert (
        network.client.patch(f"/api/v1/users/{made.json['id']}", headers=auth, json={"clinic_ids": [999999]}).json[
            "error"
        ]["field"]
        == "clinic_ids"
    )
    trail = network.client.get("/api/v1/audit?entity_type=app_user&per_page=200", headers=auth).json["events"]
    assert [e["after"]["clinic_ids"] for e in trail if e["action"] == "user.clinics"] == [[]]
    runner = sqlite_app.test_cli_runner()
    out = runner.invoke(
        args=["user", "add", "cli@scope.test", "--role", "front_desk", "--clinic", str(w["a"]["clinic"])]
    )
    assert out.exit_code == 0, out.output
    db_session.remove()
    assert db_session.scalar(select(User).where(User.email == "cli@scope.test")).clinic_ids == [w["a"]["clinic"]]
    bad = runner.invoke(args=["user", "add", "cli2@scope.test", "--role", "front_desk", "--clinic", "999999"])
    assert bad.exit_code != 0 and "999999" in bad.output


def test_a_feed_shows_what_its_creator_may_see(world):
    w = world
    callers = _callers(w)
    network, desk = callers["network"], callers["front_desk"]
    start = datetime.combine(DAY + timedelta(days=2), time(9), tzinfo=NY).isoformat()
    booked = network.client.post(
        "/api/v1/sessions",
        headers={"Authorization": f"Bearer {network.token}"},
        json={
            "patient_id": w["a"]["patient"],
            "room_id": w["b"]["room"],
            "kind": "integration",
            "starts_at": start,
            "duration_minutes": 60,
        },
    )
    assert booked.status_code == 201, booked.json
    texts = {}
    for who, caller in (("desk", desk), ("network", network)):
        feed = caller.client.post(
            "/api/v1/feeds",
            headers={"Authorization": f"Bearer {caller.token}"},
            json={"kind": "patient", "id": w["a"]["patient"]},
        )
        assert feed.status_code == 201, feed.json
        texts[who] = caller.client.get(feed.json["url"].replace("http://localhost", "")).get_data(as_text=True)
    assert "Alpha Room" in texts["desk"] and MARKER not in texts["desk"]
    assert "Alpha Room" in texts["network"] and f"{MARKER} Room" in texts["network"]


def test_a_patient_seen_at_both_clinics_shows_only_the_users_clinic(world_both):
    w = world_both
    callers = _callers(w)
    network = callers["network"]
    start = datetime.combine(DAY + timedelta(days=2), time(9), tzinfo=NY).isoformat()
    booked = network.client.post(
        "/api/v1/sessions",
        headers={"Authorization": f"Bearer {network.token}"},
        json={
            "patient_id": w["a"]["patient"],
            "room_id": w["b"]["room"],
            "kind": "integration",
            "starts_at": start,
            "duration_minutes": 60,
        },
    )
    assert booked.status_code == 201, booked.json
    pid, b_session = w["a"]["patient"], booked.json["id"]
    clinician, desk = callers["clinician"], callers["front_desk"]

    def get(caller, url):
        answer = caller.client.get(url, headers={"Authorization": f"Bearer {caller.token}"})
        assert answer.status_code == 200, (url, answer.get_data(as_text=True)[:300])
        return answer.json

    seen = [x["id"] for x in get(clinician, f"/api/v1/patients/{pid}/timeline")["sessions"]]
    assert seen == [w["a"]["session"]]
    assert {c["clinic_id"] for c in get(desk, f"/api/v1/patients/{pid}/courses")["courses"]} == {w["a"]["clinic"]}
    entries = get(desk, f"/fhir/Appointment?patient=Patient/{pid}").get("entry", [])
    assert [e["resource"]["id"] for e in entries] == [str(w["a"]["session"])]
    for caller, url in ((desk, f"/patients/{pid}"), (clinician, f"/patients/{pid}/timeline")):
        page = caller.pages.open("GET", url)
        assert page.status_code == 200 and MARKER not in page.get_data(as_text=True), url
    timeline = network.client.get(
        f"/api/v1/patients/{pid}/timeline", headers={"Authorization": f"Bearer {network.token}"}
    ).json
    assert {s["id"] for s in timeline["sessions"]} == {w["a"]["session"], b_session}  # a network admin: both
