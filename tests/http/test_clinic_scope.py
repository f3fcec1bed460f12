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

from datetime import datetime, time, timedelta

import pytest
from sqlalchemy import select

from scheduler.auth import PERMISSIONS
from scheduler.db import db_session
from scheduler.models import User
from tests.support import routes as r
from tests.support import scope
from tests.support.scope import DAY, MARKER, NY


@pytest.fixture
def world(sqlite_app):
    return scope.two_clinics(sqlite_app)


@pytest.fixture
def world_both(app):
    """The same on SQLite and PostgreSQL (the patient rule is SQL: EXISTS over sessions and courses)."""
    return scope.two_clinics(app)


# Not clinic-bound: the same for everyone. A feed's URL is its secret and shows what its creator may
# see, whoever fetches it (test_a_feed_shows_what_its_creator_may_see).
SHARED_ROUTES = {
    "/api/v1/protocols/<key>",
    "/fhir/OperationDefinition/<name>",
    "/api/v1/feeds/<token>.ics",
    "/reports/<name>.csv",  # the clinic is a query parameter (checked with the lists)
    "/p/<token>",
}  # a patient's own link: the token is the secret


def _query(c: dict) -> str:
    return (
        f"clinic_id={c['clinic']}&patient={c['mrn']}&patient_id={c['patient']}&schedule=Schedule/room-{c['room']}"
        f"&start={DAY - timedelta(days=8)}&end={DAY + timedelta(days=11)}&date={DAY}&q=Pat&actor=Location/{c['room']}"
    )


def test_another_clinics_entity_is_404_on_every_route_for_every_role(world):
    w, callers = world, scope.callers(world)
    checked, unfilled, failures = 0, [], []
    for route in r.routes(w["app"]):
        if route.rule in SHARED_ROUTES or not route.params or route.endpoint == "signin.sign_out":
            continue
        for role in r.ROLES:
            if route.permission is not None and route.permission not in PERMISSIONS[role]:
                continue
            other, own = scope.route_url(route, w["b"]), scope.route_url(route, w["a"])
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
    w, callers = world, scope.callers(world)
    seen_by_network = 0
    failures = []
    for route in r.routes(w["app"]):
        if route.method != "GET" or route.rule in SHARED_ROUTES or route.endpoint == "signin.sign_out":
            continue
        url = scope.route_url(route, w["a"])
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
    desk, admin = scope.callers(w)["front_desk"], scope.callers(w)["admin"]
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
    desk = scope.callers(w)["front_desk"]
    get = lambda url: desk.client.get(url, headers={"Authorization": f"Bearer {desk.token}"})  # noqa: E731
    assert get(f"/api/v1/patients/{w['lone']}").status_code == 200  # no course or session yet: visible
    assert get(f"/api/v1/patients/{w['a']['patient']}").status_code == 200
    assert get(f"/api/v1/patients/{w['b']['patient']}").status_code == 404
    assert [p["id"] for p in get("/api/v1/patients?q=Pat").json["patients"]] == [w["a"]["patient"]]
    # Booked at clinic B (by a network admin): now only clinic B's users see the patient.
    network = scope.callers(w)["network"]
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
    network = scope.callers(w)["network"]
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
    callers = scope.callers(w)
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
    callers = scope.callers(w)
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
